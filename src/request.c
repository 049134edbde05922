/*
 * request.c — a FastCGI request's parameters and body, and its response.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "points.h"
#include "request.h"

static void	request_new_id(char *, size_t);
static bool	head_add(char *, size_t *, size_t, const char *, size_t);

bool
request_id_valid(const char *id)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~:+/=-";
	size_t len;

	if (id == NULL)
		return false;
	len = strlen(id);
	return len >= 1 && len <= REQUEST_ID_MAX && strspn(id, allowed) == len;
}

/*
 * 32 hex digits: a per-process random prefix and a counter.  Unique, and
 * no system call per request.
 */
static void
request_new_id(char *out, size_t size)
{
	static uint64_t prefix, counter;

	if (prefix == 0 && getrandom(&prefix, sizeof(prefix), 0) !=
	    (ssize_t)sizeof(prefix))
		prefix = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	snprintf(out, size, "%016" PRIx64 "%016" PRIx64, prefix, ++counter);
}

void
request_load(struct request *r)
{
	char **v = r->fcgi->values;
	const char *body;
	size_t body_len;
	const char *id;
	char *uri;

	r->method = v[FCGI_P_METHOD];
	r->path = v[FCGI_P_DOCUMENT_URI];
	r->query = v[FCGI_P_QUERY];
	/* nginx passes CONTENT_TYPE empty when the header is absent: the
	 * same request must get the same answer through nginx as direct. */
	r->content_type = v[FCGI_P_CONTENT_TYPE] != NULL &&
	    v[FCGI_P_CONTENT_TYPE][0] != '\0' ? v[FCGI_P_CONTENT_TYPE] : NULL;
	r->authorization = v[FCGI_P_AUTHORIZATION];
	if (r->path == NULL && (uri = v[FCGI_P_REQUEST_URI]) != NULL) {
		/* Without DOCUMENT_URI route on the raw path: cut the query
		 * in place (the values are this request's own memory). */
		char *q = strchr(uri, '?');

		if (q != NULL)
			*q = '\0';
		r->path = uri;
	}
	r->metrics = v[FCGI_P_METRICS] != NULL &&
	    strcmp(v[FCGI_P_METRICS], "1") == 0;
	id = v[FCGI_P_REQUEST_ID];
	if (request_id_valid(id))
		memcpy(r->request_id, id, strlen(id) + 1);	/* <= 128 */
	else
		request_new_id(r->request_id, sizeof(r->request_id));

	body = fcgi_body(r->fcgi, &body_len);
	request_set_body(r, v[FCGI_P_CONTENT_LENGTH], body, body_len);
}

void
request_set_body(struct request *r, const char *content_length,
    const char *data, size_t len)
{
	/* The cap holds whatever CONTENT_LENGTH says, and whatever came. */
	r->body_too_large = (content_length != NULL &&
	    strtol(content_length, NULL, 10) > VALIDATE_BODY_MAX) ||
	    len > VALIDATE_BODY_MAX;
	r->body = r->body_too_large || len == 0 ? "" : data;
	r->body_len = r->body_too_large ? 0 : len;
}

/* Appends n bytes to a bounded head; false once it would overflow. */
static bool
head_add(char *head, size_t *len, size_t size, const char *s, size_t n)
{
	if (n > size - *len)
		return false;
	memcpy(head + *len, s, n);
	*len += n;
	return true;
}

#define HEAD_LIT(s)	head_add(head, &len, sizeof(head), s, sizeof(s) - 1)
#define HEAD_STR(s)	head_add(head, &len, sizeof(head), s, strlen(s))

void
request_log_as(struct request *r, const char *route, const char *app)
{
	r->log_route = route;
	r->log_app = app;
}

void
request_respond(struct request *r, int status, const char *reason,
    const char *extra_headers, const struct buf *body)
{
	request_respond_as(r, status, reason, "application/json",
	    extra_headers, body);
}

void
request_respond_as(struct request *r, int status, const char *reason,
    const char *content_type, const char *extra_headers,
    const struct buf *body)
{
	char head[512], num[CLP_INT_TEXT_MAX];
	size_t len = 0;

	/* Built by hand: snprintf was a sixth of a worker's instructions. */
	if (!(HEAD_LIT("Status: ") &&
	    head_add(head, &len, sizeof(head), num,
	    (size_t)clp_int_format(status, num, sizeof(num))) &&
	    HEAD_LIT(" ") && HEAD_STR(reason) &&
	    HEAD_LIT("\r\nContent-Type: ") && HEAD_STR(content_type) &&
	    HEAD_LIT("\r\nX-Request-Id: ") &&
	    HEAD_STR(r->request_id) && HEAD_LIT("\r\nContent-Length: ") &&
	    head_add(head, &len, sizeof(head), num,
	    (size_t)clp_int_format((int64_t)buf_len(body), num,
	    sizeof(num))) &&
	    HEAD_LIT("\r\n") &&
	    (extra_headers == NULL || HEAD_STR(extra_headers)) &&
	    (r->log_route == NULL || (HEAD_LIT("X-Clp-Route: ") &&
	    HEAD_STR(r->log_route) && HEAD_LIT("\r\n"))) &&
	    (r->log_app == NULL || (HEAD_LIT("X-Clp-App: ") &&
	    HEAD_STR(r->log_app) && HEAD_LIT("\r\n"))) &&
	    HEAD_LIT("\r\n"))) {
		log_msg(LOG_LEVEL_ERROR, r->request_id,
		    "response head too long");
		return;
	}
	if (!fcgi_respond(r->fcgi, r->out, head, len, buf_data(body),
	    buf_len(body)))
		log_msg(LOG_LEVEL_ERROR, r->request_id,
		    "response too long for the connection's buffer");
	/* The values were the stream's request, wiped with it: no pointer
	 * to them (the Authorization above all) outlives the answer. */
	r->method = r->path = r->query = r->content_type = NULL;
	r->authorization = NULL;
	r->body = NULL;
	r->log_route = r->log_app = NULL;
}
