/*
 * metrics.c — the shared counters and their text format (see metrics.h).
 *
 * One struct for every worker rather than a slot per worker summed at
 * scrape time: a slot would have to be found again by a restarted worker
 * and handed over, and a shared line costs a cache-line transfer per
 * increment, which at a few increments a request is far below a request's
 * own cost (bench/callgrind.sh, docs/PERFORMANCE.md).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>

#include "metrics.h"

#define METRICS_ROUTES		(OP__COUNT + 1)
#define METRICS_LINE_MAX	256

/* The SPEC's statuses (§3, §4); anything else is "other", the last. */
static const int	metrics_statuses[] = {
	200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503
};
#define METRICS_STATUSES \
	(sizeof(metrics_statuses) / sizeof(metrics_statuses[0]) + 1)

/* Latency bucket bounds: a warm read takes well under a millisecond, a
 * write a few, and 10 s is nginx's read timeout (clp-server.conf).  The
 * last bucket, +Inf, is implied. */
static const struct {
	int64_t		 usec;
	const char	*le;
} metrics_buckets[] = {
	{ 250, "0.00025" }, { 500, "0.0005" }, { 1000, "0.001" },
	{ 2500, "0.0025" }, { 5000, "0.005" }, { 10000, "0.01" },
	{ 25000, "0.025" }, { 50000, "0.05" }, { 100000, "0.1" },
	{ 250000, "0.25" }, { 500000, "0.5" }, { 1000000, "1" },
	{ 2500000, "2.5" }, { 10000000, "10" },
};
#define METRICS_BUCKETS \
	(sizeof(metrics_buckets) / sizeof(metrics_buckets[0]) + 1)

static const char	*metrics_db_error_kinds[METRICS_DB__COUNT] = {
	[METRICS_DB_CONNECT] = "connect",
	[METRICS_DB_LOST] = "lost",
	[METRICS_DB_STATEMENT] = "statement",
};

struct metrics {
	_Atomic uint64_t	requests[METRICS_ROUTES][METRICS_STATUSES];
	/* Per bucket, not cumulative: one increment a request.  The
	 * count is their sum, so a scrape's count and buckets agree. */
	_Atomic uint64_t	latency[METRICS_ROUTES][METRICS_BUCKETS];
	_Atomic uint64_t	latency_usec[METRICS_ROUTES];
	_Atomic uint64_t	db_errors[METRICS_DB__COUNT];
	_Atomic uint64_t	db_reconnects;
	_Atomic uint64_t	auth_hits;
	_Atomic uint64_t	auth_misses;
	_Atomic uint64_t	workers_alive;
	_Atomic uint64_t	worker_restarts;
};

static struct metrics	 metrics_private;
static struct metrics	*metrics = &metrics_private;

static void	metrics_add(_Atomic uint64_t *, uint64_t);
static uint64_t	metrics_get(_Atomic uint64_t *);
static const char *metrics_route_name(unsigned);
static void	metrics_line(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	metrics_head(struct buf *, const char *, const char *,
		    const char *);
static void	metrics_scalar(struct buf *, const char *, const char *,
		    const char *, _Atomic uint64_t *);

bool
metrics_init(void)
{
	void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return false;
	metrics = p;		/* zero-filled, and atomics are plain words */
	return true;
}

/* Relaxed: the counters order nothing, they are only summed. */
static void
metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t
metrics_get(_Atomic uint64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

void
metrics_request(unsigned route, int status, int64_t usec)
{
	size_t s, b;

	if (route >= METRICS_ROUTES)
		route = METRICS_NO_ROUTE;
	for (s = 0; s < METRICS_STATUSES - 1 && metrics_statuses[s] != status;
	    s++)
		;
	if (usec < 0)
		usec = 0;	/* a clock step cannot make a request negative */
	for (b = 0; b < METRICS_BUCKETS - 1 && usec > metrics_buckets[b].usec;
	    b++)
		;
	metrics_add(&metrics->requests[route][s], 1);
	metrics_add(&metrics->latency[route][b], 1);
	metrics_add(&metrics->latency_usec[route], (uint64_t)usec);
}

void
metrics_auth_cache(bool hit)
{
	metrics_add(hit ? &metrics->auth_hits : &metrics->auth_misses, 1);
}

void
metrics_db_error(enum metrics_db_error kind)
{
	metrics_add(&metrics->db_errors[kind], 1);
}

void
metrics_db_reconnect(void)
{
	metrics_add(&metrics->db_reconnects, 1);
}

void
metrics_worker_started(bool restart)
{
	metrics_add(&metrics->workers_alive, 1);
	if (restart)
		metrics_add(&metrics->worker_restarts, 1);
}

void
metrics_worker_exited(void)
{
	atomic_fetch_sub_explicit(&metrics->workers_alive, 1,
	    memory_order_relaxed);
}

/* An operation that answers a caller has a route; the steps of
 * authentication (no answer of their own) have none and are skipped. */
static const char *
metrics_route_name(unsigned route)
{
	if (route == METRICS_NO_ROUTE)
		return "none";
	return ops_get((enum op)route)->answer != NULL ?
	    ops_get((enum op)route)->stmt.name : NULL;
}

/* One line; a line too long for its buffer fails the output (it would
 * be a bug: every label is ours). */
static void
metrics_line(struct buf *out, const char *fmt, ...)
{
	char line[METRICS_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		buf_fail(out);
		return;
	}
	buf_add(out, line, (size_t)n);
}

static void
metrics_head(struct buf *out, const char *name, const char *type,
    const char *help)
{
	metrics_line(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A series without labels, with its HELP and TYPE. */
static void
metrics_scalar(struct buf *out, const char *name, const char *type,
    const char *help, _Atomic uint64_t *counter)
{
	metrics_head(out, name, type, help);
	metrics_line(out, "%s %" PRIu64 "\n", name, metrics_get(counter));
}

void
metrics_render(struct buf *out)
{
	const char *name;
	uint64_t cumulative, usec;
	unsigned r;
	size_t s, b;

	metrics_head(out, "clp_requests_total", "counter",
	    "Requests answered by the workers, by route and status.");
	for (r = 0; r < METRICS_ROUTES; r++) {
		if ((name = metrics_route_name(r)) == NULL)
			continue;
		for (s = 0; s < METRICS_STATUSES - 1; s++)
			metrics_line(out, "clp_requests_total{route=\"%s\","
			    "status=\"%d\"} %" PRIu64 "\n", name,
			    metrics_statuses[s],
			    metrics_get(&metrics->requests[r][s]));
		metrics_line(out, "clp_requests_total{route=\"%s\","
		    "status=\"other\"} %" PRIu64 "\n", name,
		    metrics_get(&metrics->requests[r][s]));
	}

	metrics_head(out, "clp_request_duration_seconds", "histogram",
	    "Time in a worker from a request's last byte to its answer.");
	for (r = 0; r < METRICS_ROUTES; r++) {
		if ((name = metrics_route_name(r)) == NULL)
			continue;
		cumulative = 0;
		for (b = 0; b < METRICS_BUCKETS; b++) {
			cumulative += metrics_get(&metrics->latency[r][b]);
			metrics_line(out, "clp_request_duration_seconds_bucket"
			    "{route=\"%s\",le=\"%s\"} %" PRIu64 "\n", name,
			    b < METRICS_BUCKETS - 1 ? metrics_buckets[b].le :
			    "+Inf", cumulative);
		}
		usec = metrics_get(&metrics->latency_usec[r]);
		metrics_line(out, "clp_request_duration_seconds_sum"
		    "{route=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", name,
		    usec / 1000000, usec % 1000000);
		metrics_line(out, "clp_request_duration_seconds_count"
		    "{route=\"%s\"} %" PRIu64 "\n", name, cumulative);
	}

	metrics_head(out, "clp_db_errors_total", "counter",
	    "Database failures: failed connection attempts, connections lost,"
	    " calls failed other than with an API error.");
	for (s = 0; s < METRICS_DB__COUNT; s++)
		metrics_line(out, "clp_db_errors_total{kind=\"%s\"} %" PRIu64
		    "\n", metrics_db_error_kinds[s],
		    metrics_get(&metrics->db_errors[s]));
	metrics_scalar(out, "clp_db_reconnects_total", "counter",
	    "Database connections made again after a failure or a loss.",
	    &metrics->db_reconnects);
	metrics_scalar(out, "clp_workers_alive", "gauge",
	    "Worker processes running.", &metrics->workers_alive);
	metrics_scalar(out, "clp_worker_restarts_total", "counter",
	    "Workers started again after one died.",
	    &metrics->worker_restarts);
	metrics_scalar(out, "clp_token_cache_hits_total", "counter",
	    "Bearer tokens found in a worker's cache of accepted proofs.",
	    &metrics->auth_hits);
	metrics_scalar(out, "clp_token_cache_misses_total", "counter",
	    "Bearer tokens not in the cache: looked up and proved.",
	    &metrics->auth_misses);
}
