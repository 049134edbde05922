/*
 * pool.c — pre-fork, supervise, stop gracefully.
 *
 * The master keeps its signals blocked and takes them with sigtimedwait(),
 * so it has no handlers and no races between a signal and its state.
 * Workers get plain handlers that only set a flag, for a stop that comes
 * before their loop starts; server.c then blocks the signals and reads
 * them from a signalfd among its events, so a stop is never lost between
 * a check of the flag and the wait, and never cuts a request.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "pool.h"

#define POOL_TICK_MS		200	/* the master's restart and grace checks */
#define POOL_QUICK_DEATH_MS	1000	/* dying sooner counts as a crash loop */
#define POOL_BACKOFF_MIN_MS	100
#define POOL_BACKOFF_MAX_MS	5000

struct slot {
	pid_t	pid;		/* 0: not running */
	int64_t	started_ms;
	int64_t	restart_at_ms;
	int	backoff_ms;
};

static volatile sig_atomic_t	pool_stop;

static void	pool_on_stop(int);
static void	pool_worker_signals(void);
static void	pool_spawn(const struct pool_options *, struct slot *,
		    const sigset_t *);
static void	pool_reap(struct slot *, int, bool);
static int	pool_running(const struct slot *, int);
static void	pool_signal_all(const struct slot *, int, int);

static void
pool_on_stop(int sig)
{
	(void)sig;
	pool_stop = 1;
}

/* No SA_RESTART: a stop must end whatever blocking call start-up makes. */
static void
pool_worker_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pool_on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void
pool_spawn(const struct pool_options *o, struct slot *s,
    const sigset_t *oldmask)
{
	/* Saved before the fork: a master that is PID 1 (a container without
	 * an init) must not look like a dead one to its worker. */
	pid_t master = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork failed: %s", strerror(errno));
		s->restart_at_ms = monotime_ms() + s->backoff_ms;
		return;
	}
	if (pid == 0) {
		/* A worker must not outlive its master (kill -9 included). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		pool_worker_signals();
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		/* The master died before PR_SET_PDEATHSIG took effect. */
		if (getppid() != master)
			_exit(0);
		o->fn(o->arg, &pool_stop);
		_exit(0);
	}
	/* started_ms is 0 until the slot's first worker. */
	metrics_worker_started(s->started_ms != 0);
	s->pid = pid;
	s->started_ms = monotime_ms();
	log_info("worker %d started", (int)pid);
}

static void
pool_reap(struct slot *slots, int n, bool stopping)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < n && slots[i].pid != pid; i++)
			;
		if (i == n)
			continue;
		metrics_worker_exited();
		if (WIFSIGNALED(status))
			log_warn("worker %d killed by signal %d", (int)pid,
			    WTERMSIG(status));
		else
			log_info("worker %d exited with status %d", (int)pid,
			    WEXITSTATUS(status));
		slots[i].pid = 0;
		if (stopping)
			continue;
		if (monotime_ms() - slots[i].started_ms < POOL_QUICK_DEATH_MS) {
			slots[i].restart_at_ms = monotime_ms() +
			    slots[i].backoff_ms;
			log_warn("worker died at start-up; restarting in %d ms",
			    slots[i].backoff_ms);
			slots[i].backoff_ms = slots[i].backoff_ms * 2 >
			    POOL_BACKOFF_MAX_MS ? POOL_BACKOFF_MAX_MS :
			    slots[i].backoff_ms * 2;
		} else {
			slots[i].restart_at_ms = 0;
			slots[i].backoff_ms = POOL_BACKOFF_MIN_MS;
		}
	}
}

static int
pool_running(const struct slot *slots, int n)
{
	int i, count = 0;

	for (i = 0; i < n; i++)
		count += slots[i].pid != 0;
	return count;
}

static void
pool_signal_all(const struct slot *slots, int n, int sig)
{
	int i;

	for (i = 0; i < n; i++)
		if (slots[i].pid != 0)
			kill(slots[i].pid, sig);
}

int
pool_run(const struct pool_options *o)
{
	struct slot slots[POOL_MAX_WORKERS];
	struct timespec wait;
	sigset_t set, oldmask;
	int64_t stop_deadline = 0, now;
	bool stopping = false;
	int i, sig;

	if (o->workers < 1 || o->workers > POOL_MAX_WORKERS) {
		log_error("workers must be 1..%d", POOL_MAX_WORKERS);
		return 1;
	}
	memset(slots, 0, sizeof(slots));
	for (i = 0; i < o->workers; i++)
		slots[i].backoff_ms = POOL_BACKOFF_MIN_MS;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	/* A shell starts background jobs with SIGINT ignored, and an ignored
	 * signal is discarded even while blocked: take it back so Ctrl-C on
	 * `make run` reaches sigtimedwait(). */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	log_info("master %d starting %d workers", (int)getpid(), o->workers);

	for (;;) {
		now = monotime_ms();
		if (!stopping) {
			for (i = 0; i < o->workers; i++)
				if (slots[i].pid == 0 &&
				    now >= slots[i].restart_at_ms)
					pool_spawn(o, &slots[i], &oldmask);
		} else if (pool_running(slots, o->workers) == 0) {
			break;
		} else if (now >= stop_deadline) {
			log_warn("grace period over; killing workers");
			pool_signal_all(slots, o->workers, SIGKILL);
		}

		wait.tv_sec = 0;
		wait.tv_nsec = POOL_TICK_MS * 1000000L;
		sig = sigtimedwait(&set, NULL, &wait);
		if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			stopping = true;
			stop_deadline = monotime_ms() +
			    (int64_t)o->grace_seconds * 1000;
			log_info("signal %d: stopping workers", sig);
			if (o->on_stop != NULL)
				o->on_stop(o->arg);
			pool_signal_all(slots, o->workers, SIGTERM);
		}
		pool_reap(slots, o->workers, stopping);
	}
	log_info("master %d stopped", (int)getpid());
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return 0;
}

int
pool_run_single(pool_worker_fn fn, void *arg)
{
	pool_worker_signals();
	metrics_worker_started(false);
	fn(arg, &pool_stop);
	return 0;
}
