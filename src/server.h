/*
 * server.h — one worker's event loop: the listening socket and every
 * FastCGI connection the web server keeps open to this worker, in one
 * epoll set.  Each pass reads what is ready, starts every complete
 * request, has the service run all their database calls together (one
 * pipelined round trip), and writes all the answers.  A worker thus crosses to
 * PostgreSQL and back once per batch of requests rather than once per
 * request, which is where the time went (docs/PERFORMANCE.md).
 *
 * Stop signals stay blocked and arrive through a signalfd in the same
 * epoll set, so a request that was started is always answered and a stop
 * is seen at the next pass however busy the worker is.  On a stop the
 * worker accepts what is queued, stops listening, answers every request
 * already sent to it, closes each connection as it falls idle, and
 * returns.
 */
#ifndef CLP_SERVER_H
#define CLP_SERVER_H

#include <signal.h>

#include "service.h"

/*
 * What a FastCGI peer may hold of a worker.  A connection with nothing
 * under way is closed after idle_ms; one stopped in the middle of a
 * request or record (or not taking its answer) after record_ms.  Past
 * max_conns the worker stops accepting until one closes (the others
 * accept meanwhile).  The idle limit must stay above the web server's own
 * for kept-alive connections (nginx: upstream keepalive_timeout, 60 s by
 * default), so that the web server, not the worker, closes them: a
 * connection closed by the worker as nginx reuses it costs a retry, or a
 * 502 where nginx may not retry (/v1/apps).
 */
struct server_limits {
	int	idle_ms;
	int	record_ms;
	int	max_conns;
};

#define SERVER_IDLE_TIMEOUT_S	75
#define SERVER_RECORD_TIMEOUT_S	10
#define SERVER_MAX_CONNS	1024

/* Opens "unix:/path", "/path" or "host:port"; -1 on failure. */
int	server_listen(const char *spec, int backlog, int mode);
/* Serves listen_fd until *stop is set and every connection is done. */
void	server_run(int listen_fd, volatile sig_atomic_t *stop,
	    struct service *, const struct server_limits *);

#endif
