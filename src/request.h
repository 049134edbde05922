/*
 * request.h — one FastCGI request: its parameters, its body (read up to
 * the 16 KiB cap), its request id, and writing the response into its
 * connection's output.  The records themselves are fcgi.c's; the
 * connections server.c's.  It knows nothing of routes or SQL.
 */
#ifndef CLP_REQUEST_H
#define CLP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "fcgi.h"
#include "jsonw.h"
#include "validate.h"

#define REQUEST_ID_MAX	128

struct request {
	struct fcgi_stream	*fcgi;	/* the connection's records */
	struct jsonw		*out;	/* the connection's bytes to send */
	const char		*method;
	const char		*path;	/* normalised by nginx, no query */
	const char		*query;
	const char		*content_type;
	const char		*authorization;
	char			 request_id[REQUEST_ID_MAX + 1];
	bool			 body_too_large;
	size_t			 body_len;
	char			 body[VALIDATE_BODY_MAX + 1];
};

/* Opens "unix:/path", "/path" or "host:port"; -1 on failure. */
int	request_listen(const char *spec, int backlog, int mode);
/* Takes the parameters and body of the complete request in r->fcgi. */
void	request_load(struct request *);
/*
 * Writes the response: status, Content-Type: application/json,
 * X-Request-Id, extra_headers (each ending in CRLF, or NULL) and body.
 */
void	request_respond(struct request *, int status, const char *reason,
	    const char *extra_headers, const struct jsonw *body);
/* Reads up to n bytes into buf; the count, or < 0 on error. */
typedef int (*request_reader)(void *src, char *buf, int n);

/*
 * The body with its 16 KiB cap: nothing is read when CONTENT_LENGTH is
 * over it, else up to one byte past it.  Sets body, body_len and
 * body_too_large.  (request.c reads from the FastCGI stream, the fuzzer
 * from memory.)
 */
void	request_take_body(struct request *, const char *content_length,
	    request_reader reader, void *src);
/* A valid caller-given X-Request-Id (SPEC §3)? */
bool	request_id_valid(const char *id);

#endif
