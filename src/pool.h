/*
 * pool.h — a pre-forking supervisor.  The master forks the workers,
 * restarts any that dies (backing off when they die right after start),
 * and on SIGTERM/SIGINT asks them to stop, waits for in-flight requests to
 * finish, and exits 0.  It knows nothing of HTTP, JSON or SQL.
 */
#ifndef CLP_POOL_H
#define CLP_POOL_H

#include <signal.h>

/* Runs in a worker until *stop is set; the worker then exits 0. */
typedef void (*pool_worker_fn)(void *arg, volatile sig_atomic_t *stop);

#define POOL_MAX_WORKERS	256

struct pool_options {
	int		 workers;
	pool_worker_fn	 fn;
	void		*arg;
	int		 grace_seconds;	/* then SIGKILL the stragglers */
	/* Called by the master when a stop begins, before the workers are
	 * told: e.g. remove the socket path so nothing new can connect while
	 * the workers drain what is queued.  May be NULL. */
	void		(*on_stop)(void *arg);
};

/* The master's loop; returns the process exit status. */
int	pool_run(const struct pool_options *);
/* One worker in this process (spawned by spawn-fcgi): same signals. */
int	pool_run_single(pool_worker_fn, void *arg);

#endif
