/*
 * request.h — one FastCGI request: its parameters, its body (as fcgi.c
 * keeps it, with the 16 KiB cap), its request id, and writing the
 * response into its connection's output.  The records themselves are
 * fcgi.c's; the connections server.c's.  It knows nothing of routes or
 * SQL.
 */
#ifndef CLP_REQUEST_H
#define CLP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "fcgi.h"
#include "buf.h"
#include "validate.h"

#define REQUEST_ID_MAX	128

struct request {
	struct fcgi_stream	*fcgi;	/* the connection's records */
	struct buf		*out;	/* the connection's bytes to send */
	const char		*method;
	const char		*path;	/* normalised by nginx, no query */
	const char		*query;
	const char		*content_type;
	const char		*authorization;
	char			 request_id[REQUEST_ID_MAX + 1];
	/* From the metrics listener (nginx/clp-metrics.conf), which alone
	 * sets CLP_METRICS: a client's headers arrive as HTTP_*, so no
	 * request to the API's port can pass for one. */
	bool			 metrics;
	bool			 body_too_large;
	const char		*body;	/* fcgi.c's bytes, until the answer */
	size_t			 body_len;
	/* For nginx's access log (SPEC §10), set by request_log_as(). */
	const char		*log_route;
	const char		*log_app;
};

/*
 * What nginx's access log names for this request: the route (never NULL
 * once set) and the calling app (NULL: none known).  The answer carries
 * them in X-Clp-Route / X-Clp-App, which nginx logs and hides; the strings
 * must stay put until the answer is written.
 */
void	request_log_as(struct request *, const char *route, const char *app);

/* Takes the parameters and body of the complete request in r->fcgi. */
void	request_load(struct request *);
/*
 * Writes the response: status, Content-Type: application/json,
 * X-Request-Id, extra_headers (each ending in CRLF, or NULL) and body.
 */
void	request_respond(struct request *, int status, const char *reason,
	    const char *extra_headers, const struct buf *body);
/* The same with another Content-Type (the metrics' text format). */
void	request_respond_as(struct request *, int status, const char *reason,
	    const char *content_type, const char *extra_headers,
	    const struct buf *body);
/*
 * The body with its 16 KiB cap: too large when CONTENT_LENGTH says so or
 * when data holds more than the cap (fcgi.c keeps one byte past it).
 * Points body at data, not copied.  (request.c gives the FastCGI stream's
 * body, the fuzzer its input.)
 */
void	request_set_body(struct request *, const char *content_length,
	    const char *data, size_t len);
/* A valid caller-given X-Request-Id (SPEC §3)? */
bool	request_id_valid(const char *id);

#endif
