/*
 * fcgi.h — the FastCGI responder protocol on one connection, as bytes in
 * and bytes out: a streaming parser for the records a web server sends
 * (BEGIN_REQUEST, PARAMS, STDIN, ABORT_REQUEST, GET_VALUES) and the
 * framing of a response (STDOUT records and END_REQUEST).  No system
 * calls: server.c reads and writes the sockets.
 *
 * libfcgi (whose fastcgi.h gives the record layout used here) serves one
 * connection at a time and blocks on it; this parser lets one worker keep
 * many kept-alive connections and answer all that are ready in one pass
 * (docs/PERFORMANCE.md).  One request at a time per connection: a second
 * BEGIN_REQUEST while one is open is refused with FCGI_CANT_MPX_CONN, as
 * the protocol says.
 */
#ifndef CLP_FCGI_H
#define CLP_FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* All of a request's name-value pairs; nginx's own header limit (4 × 16k)
 * stays well below it. */
#define FCGI_PARAMS_MAX		(128u * 1024)

/* The parameters the service reads (the rest are skipped). */
enum fcgi_param {
	FCGI_P_METHOD,			/* REQUEST_METHOD */
	FCGI_P_DOCUMENT_URI,		/* DOCUMENT_URI */
	FCGI_P_REQUEST_URI,		/* REQUEST_URI */
	FCGI_P_QUERY,			/* QUERY_STRING */
	FCGI_P_CONTENT_TYPE,		/* CONTENT_TYPE */
	FCGI_P_CONTENT_LENGTH,		/* CONTENT_LENGTH */
	FCGI_P_AUTHORIZATION,		/* HTTP_AUTHORIZATION */
	FCGI_P_REQUEST_ID,		/* HTTP_X_REQUEST_ID */
	FCGI_P_METRICS,			/* CLP_METRICS: nginx/clp-metrics.conf */
	FCGI_P__COUNT
};

enum fcgi_status {
	FCGI_MORE,		/* every byte taken; no complete request yet */
	FCGI_READY,		/* a request is complete: answer it */
	FCGI_BROKEN		/* a protocol error: close the connection */
};

struct fcgi_stream {
	/* The record being read. */
	unsigned char	 head[8];
	size_t		 head_len;
	unsigned	 type;
	unsigned	 id;
	size_t		 content_left;
	size_t		 padding_left;
	unsigned char	 begin[8];	/* a BEGIN_REQUEST body */
	size_t		 begin_len;
	struct buf	 mgmt;		/* a GET_VALUES body */

	/* The open request (id 0: none). */
	unsigned	 request_id;
	bool		 keep_conn;
	bool		 params_done;
	bool		 ready;
	struct buf	 params;	/* raw name-value pairs */
	struct buf	 stdin_data;	/* up to body_max + 1 bytes */
	size_t		 body_max;
	uint64_t	 stdin_total;
	/* After READY: the wanted values, NUL-terminated, or NULL.  The
	 * raw pairs and these are wiped once answered (they hold the
	 * caller's Authorization): see fcgi_respond().  The raw pairs stay
	 * until then for the fuzzer's oracle (fuzz/fuzz_fcgi.c). */
	struct buf	 values_buf;
	size_t		 value_at[FCGI_P__COUNT];	/* offset + 1, 0: none */
	char		*values[FCGI_P__COUNT];

	/* Records to send that no request asked for (GET_VALUES_RESULT,
	 * UNKNOWN_TYPE, refusals); server.c writes them out. */
	struct buf	 replies;
};

/* The FastCGI name of a wanted parameter ("REQUEST_METHOD", ...). */
const char	*fcgi_param_name(enum fcgi_param);
/* body_max: the most STDIN bytes kept (one more is kept to tell "over"). */
void		fcgi_init(struct fcgi_stream *, size_t body_max);
void		fcgi_free(struct fcgi_stream *);
/*
 * Takes bytes as they arrive.  Stops at the end of a complete request
 * (FCGI_READY) with *used set to the bytes taken; the rest belongs to
 * later records.  A web server sends nothing more on the connection until
 * the answer, so the caller may treat leftover bytes as it likes.
 */
enum fcgi_status fcgi_feed(struct fcgi_stream *, const char *data,
		    size_t len, size_t *used);
/*
 * The request body (STDIN) as kept: at most body_max + 1 bytes, so more
 * than body_max means over the cap.  Valid until the answer; NULL when
 * empty.
 */
const char	*fcgi_body(const struct fcgi_stream *, size_t *len);
/* Moves the records no request asked for (replies) to out. */
void		fcgi_take_replies(struct fcgi_stream *, struct buf *out);
/* No request or record under way on the connection. */
bool		fcgi_idle(const struct fcgi_stream *);
/*
 * Appends the answer to the open request to out: head and body as STDOUT
 * records, the empty STDOUT record and END_REQUEST; then the stream is
 * ready for the connection's next request, and the request's values are
 * wiped (values[] is cleared).  False if out overflowed.
 */
bool		fcgi_respond(struct fcgi_stream *, struct buf *out,
		    const char *head, size_t head_len, const char *body,
		    size_t body_len);
/* Whether the web server asked to keep the connection after this request
 * (FCGI_KEEP_CONN), as of the last BEGIN_REQUEST. */
bool		fcgi_keep_conn(const struct fcgi_stream *);

#endif
