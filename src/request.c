/*
 * request.c — libfcgi glue.
 */
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "points.h"
#include "request.h"

static void	request_load(struct request *);
static void	request_new_id(char *, size_t);
static bool	head_add(char *, size_t *, size_t, const char *, size_t);
static void	request_serve_one(struct request *, request_handler, void *);
static int	request_read_fcgx(void *, char *, int);

bool
request_lib_init(void)
{
	return FCGX_Init() == 0;
}

int
request_listen(const char *spec, int backlog, int mode)
{
	const char *path = spec;
	int fd;

	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	/* libfcgi: a spec with ':' is host:port, anything else a path. */
	if ((fd = FCGX_OpenSocket(path, backlog)) < 0)
		return -1;
	if (path[0] == '/' || strncmp(spec, "unix:", 5) == 0) {
		if (chmod(path, (mode_t)mode) != 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

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

static void
request_load(struct request *r)
{
	FCGX_ParamArray env = r->fcgx.envp;
	const char *id;
	char *uri;

	r->method = FCGX_GetParam("REQUEST_METHOD", env);
	r->path = FCGX_GetParam("DOCUMENT_URI", env);
	r->query = FCGX_GetParam("QUERY_STRING", env);
	r->content_type = FCGX_GetParam("CONTENT_TYPE", env);
	r->authorization = FCGX_GetParam("HTTP_AUTHORIZATION", env);
	if (r->path == NULL && (uri = FCGX_GetParam("REQUEST_URI", env))) {
		/* Without DOCUMENT_URI route on the raw path: cut the query
		 * in place (the params are this request's own memory). */
		char *q = strchr(uri, '?');

		if (q != NULL)
			*q = '\0';
		r->path = uri;
	}
	id = FCGX_GetParam("HTTP_X_REQUEST_ID", env);
	if (request_id_valid(id))
		memcpy(r->request_id, id, strlen(id) + 1);	/* <= 128 */
	else
		request_new_id(r->request_id, sizeof(r->request_id));

	request_take_body(r, FCGX_GetParam("CONTENT_LENGTH", env),
	    request_read_fcgx, r->fcgx.in);
}

static int
request_read_fcgx(void *stream, char *buf, int n)
{
	return FCGX_GetStr(buf, n, stream);
}

void
request_take_body(struct request *r, const char *content_length,
    request_reader reader, void *src)
{
	long want;
	int got;

	/* The cap holds whatever CONTENT_LENGTH says: read one byte past
	 * it to know whether the body is over. */
	r->body_len = 0;
	r->body_too_large = false;
	r->body[0] = '\0';
	want = content_length != NULL ? strtol(content_length, NULL, 10) : 0;
	if (want > VALIDATE_BODY_MAX) {
		r->body_too_large = true;
		return;
	}
	got = reader(src, r->body, VALIDATE_BODY_MAX + 1);
	if (got > VALIDATE_BODY_MAX)
		r->body_too_large = true;
	else if (got > 0)
		r->body_len = (size_t)got;
	r->body[r->body_len] = '\0';
}

static void
request_serve_one(struct request *r, request_handler handler, void *ctx)
{
	request_load(r);
	handler(ctx, r);
	FCGX_Finish_r(&r->fcgx);
}

void
request_serve(int listen_fd, volatile sig_atomic_t *stop,
    request_handler handler, void *ctx)
{
	struct request *r;
	sigset_t term;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_error("out of memory");
		return;
	}
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigaddset(&term, SIGALRM);	/* pool.c's repeat of a stop */
	sigprocmask(SIG_BLOCK, &term, NULL);
	/* Fail the accept on EINTR so a stop signal ends the wait. */
	FCGX_InitRequest(&r->fcgx, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!*stop) {
		int rc;

		sigprocmask(SIG_UNBLOCK, &term, NULL);
		/* A signal that arrived while blocked is handled just above;
		 * one that lands between here and accept() is repeated (by the
		 * pool master, or by pool.c's alarm) until this worker exits. */
		rc = *stop ? -1 : FCGX_Accept_r(&r->fcgx);
		sigprocmask(SIG_BLOCK, &term, NULL);
		if (rc < 0) {
			if (!*stop && errno != EINTR) {
				log_error("accept failed: %s", strerror(errno));
				usleep(100000);
			}
			continue;
		}
		request_serve_one(r, handler, ctx);
	}
	/*
	 * Stopping: serve the connections already queued on the socket
	 * instead of letting close() reset them, while poll() says one is
	 * there.  (Not O_NONBLOCK: the listening socket's flags are shared
	 * with the other workers, which may not be stopping.)  If another
	 * worker takes the last one first, the master's repeated SIGTERM
	 * ends this accept().
	 */
	while (poll(&(struct pollfd){ .fd = listen_fd, .events = POLLIN }, 1,
	    0) > 0) {
		int rc;

		sigprocmask(SIG_UNBLOCK, &term, NULL);
		rc = FCGX_Accept_r(&r->fcgx);
		sigprocmask(SIG_BLOCK, &term, NULL);
		if (rc < 0)
			break;
		request_serve_one(r, handler, ctx);
	}
	FCGX_Free(&r->fcgx, 0);
	free(r);
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
request_respond(struct request *r, int status, const char *reason,
    const char *extra_headers, const struct jsonw *body)
{
	char head[512], num[CLP_INT_TEXT_MAX];
	size_t len = 0;

	/* Built by hand: snprintf was a sixth of a worker's instructions. */
	if (!(HEAD_LIT("Status: ") &&
	    head_add(head, &len, sizeof(head), num,
	    (size_t)clp_int_format(status, num, sizeof(num))) &&
	    HEAD_LIT(" ") && HEAD_STR(reason) &&
	    HEAD_LIT("\r\nContent-Type: application/json\r\nX-Request-Id: ") &&
	    HEAD_STR(r->request_id) && HEAD_LIT("\r\nContent-Length: ") &&
	    head_add(head, &len, sizeof(head), num,
	    (size_t)clp_int_format((int64_t)body->len, num, sizeof(num))) &&
	    HEAD_LIT("\r\n") &&
	    (extra_headers == NULL || HEAD_STR(extra_headers)) &&
	    HEAD_LIT("\r\n"))) {
		log_error("response head too long");
		return;
	}
	FCGX_PutStr(head, (int)len, r->fcgx.out);
	FCGX_PutStr(body->data, (int)body->len, r->fcgx.out);
}
