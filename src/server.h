/*
 * server.h — one worker's event loop: the listening socket and every
 * FastCGI connection the web server keeps open to this worker, in one
 * epoll set.  Each pass reads what is ready, starts every complete
 * request, runs all their database calls together (db_run: one pipelined
 * round trip), and writes all the answers.  A worker thus crosses to
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

#include "handlers.h"

/* Serves listen_fd until *stop is set and every connection is done. */
void	server_run(int listen_fd, volatile sig_atomic_t *stop,
	    struct service *);

#endif
