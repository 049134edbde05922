/*
 * metrics.h — the counters of GET /metrics (SPEC §10), summed over every
 * worker.  They live in one struct in a shared anonymous mapping that the
 * pool's master makes before it forks: each worker adds to the same
 * counters, so a scrape reads the sum with no gathering step, and a
 * restarted worker finds the totals where its predecessor left them.  An
 * increment is a relaxed C11 atomic add: no lock and no system call per
 * request, and a scrape may see one request's counters half-updated
 * (Prometheus expects no more).  Until metrics_init() (unit tests,
 * init-master) the counters are a private struct, so callers never check.
 *
 * Labels are fixed sets: the route is an operation's name (ops.c) or
 * "none" for a path or method no route takes; the status one of the
 * SPEC's codes or "other".  A scrape itself is not counted.
 */
#ifndef CLP_METRICS_H
#define CLP_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ops.h"

/* The route label of a request no route took (404, 405). */
#define METRICS_NO_ROUTE	OP__COUNT

enum metrics_db_error {
	METRICS_DB_CONNECT,	/* a connection attempt failed */
	METRICS_DB_LOST,	/* a connection was lost under a batch */
	METRICS_DB_STATEMENT,	/* a call failed other than with an API error */
	METRICS_DB__COUNT
};

/* Maps the shared counters; before fork.  False (errno set) if mmap
 * failed. */
bool	metrics_init(void);
/* A request answered: route is an enum op or METRICS_NO_ROUTE, usec its
 * time in the worker from its last byte read to its answer written. */
void	metrics_request(unsigned route, int status, int64_t usec);
void	metrics_auth_cache(bool hit);
void	metrics_db_error(enum metrics_db_error);
/* A connection made again after a failure or a loss. */
void	metrics_db_reconnect(void);
/* The master's: a worker forked (restart: its slot's worker had died). */
void	metrics_worker_started(bool restart);
void	metrics_worker_exited(void);
/* The Prometheus text format (0.0.4) into out. */
void	metrics_render(struct buf *out);

#endif
