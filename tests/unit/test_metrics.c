/*
 * test_metrics.c — the counters and their Prometheus text: each family's
 * HELP and TYPE, the fixed labels, the histogram's cumulative buckets, and
 * counts that a forked process adds to (the workers) seen by its parent.
 * The counters are the process's own and only grow, so each test reads
 * what its calls added.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

#define NONE	UINT64_MAX	/* no such series */

/* A series' value in a fresh rendering, e.g.
 * value("clp_workers_alive"); NONE if it is not there. */
static uint64_t
value(const char *series)
{
	struct buf out;
	char want[256];
	const char *at;
	uint64_t v = NONE;

	buf_init(&out, 1 << 20);
	metrics_render(&out);
	buf_add(&out, "", 1);
	assert_false(buf_failed(&out));
	snprintf(want, sizeof(want), "\n%s ", series);
	if ((at = strstr(buf_data(&out), want)) != NULL)
		v = strtoull(at + strlen(want), NULL, 10);
	buf_free(&out);
	return v;
}

/* The text of a series' value (the histogram's sum is a decimal). */
static void
assert_text(const char *series, const char *want)
{
	struct buf out;
	char line[256];

	buf_init(&out, 1 << 20);
	metrics_render(&out);
	buf_add(&out, "", 1);
	snprintf(line, sizeof(line), "\n%s %s\n", series, want);
	if (strstr(buf_data(&out), line) == NULL)
		fail_msg("no line \"%s %s\"", series, want);
	buf_free(&out);
}

static void
test_families_have_help_and_type(void **state)
{
	static const char *families[][2] = {
		{ "clp_requests_total", "counter" },
		{ "clp_request_duration_seconds", "histogram" },
		{ "clp_db_errors_total", "counter" },
		{ "clp_db_reconnects_total", "counter" },
		{ "clp_workers_alive", "gauge" },
		{ "clp_worker_restarts_total", "counter" },
		{ "clp_token_cache_hits_total", "counter" },
		{ "clp_token_cache_misses_total", "counter" },
	};
	struct buf out;
	char line[128];
	size_t i;

	(void)state;
	buf_init(&out, 1 << 20);
	metrics_render(&out);
	buf_add(&out, "", 1);
	assert_false(buf_failed(&out));
	assert_int_equal(strncmp(buf_data(&out), "# HELP ", 7), 0);
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(line, sizeof(line), "# HELP %s ", families[i][0]);
		assert_non_null(strstr(buf_data(&out), line));
		snprintf(line, sizeof(line), "\n# TYPE %s %s\n", families[i][0],
		    families[i][1]);
		assert_non_null(strstr(buf_data(&out), line));
	}
	assert_int_equal(buf_data(&out)[buf_len(&out) - 2], '\n');
	buf_free(&out);
}

/* Every route and status from the start (a series that appears late
 * loses its first increase to rate()); the auth steps are no route. */
static void
test_fixed_labels(void **state)
{
	(void)state;
	assert_int_not_equal(value("clp_requests_total{route=\"balance\","
	    "status=\"200\"}"), NONE);
	assert_int_not_equal(value("clp_requests_total{route=\"none\","
	    "status=\"other\"}"), NONE);
	assert_int_not_equal(value("clp_requests_total{route=\"rotate_token\","
	    "status=\"503\"}"), NONE);
	assert_int_not_equal(value("clp_db_errors_total{kind=\"statement\"}"),
	    NONE);
	assert_int_equal(value("clp_requests_total{route=\"auth_lookup\","
	    "status=\"200\"}"), NONE);
	assert_int_equal(value("clp_requests_total{route=\"authorize\","
	    "status=\"200\"}"), NONE);
}

static void
test_request_counts(void **state)
{
	const char *ok = "clp_requests_total{route=\"balance\",status=\"200\"}";
	const char *teapot = "clp_requests_total{route=\"balance\","
	    "status=\"other\"}";
	const char *none = "clp_requests_total{route=\"none\","
	    "status=\"405\"}";
	uint64_t ok0 = value(ok), teapot0 = value(teapot), none0 = value(none);

	(void)state;
	metrics_request(OP_BALANCE, 200, 10);
	metrics_request(OP_BALANCE, 200, 10);
	metrics_request(OP_BALANCE, 418, 10);
	metrics_request(METRICS_NO_ROUTE, 405, 10);
	metrics_request(METRICS_NO_ROUTE + 7, 405, 10);	/* out of range */
	assert_int_equal(value(ok) - ok0, 2);
	assert_int_equal(value(teapot) - teapot0, 1);
	assert_int_equal(value(none) - none0, 2);
}

/* le is "less than or equal", buckets are cumulative, count is +Inf's. */
static void
test_histogram(void **state)
{
	(void)state;
	metrics_request(OP_CREATE_APP, 201, 250);	/* on the bound */
	metrics_request(OP_CREATE_APP, 201, 251);
	metrics_request(OP_CREATE_APP, 409, 3000000);
	metrics_request(OP_CREATE_APP, 201, 20000000);	/* past 10 s */
	metrics_request(OP_CREATE_APP, 201, -5);	/* a clock step */
	assert_int_equal(value("clp_request_duration_seconds_bucket{route="
	    "\"create_app\",le=\"0.00025\"}"), 2);
	assert_int_equal(value("clp_request_duration_seconds_bucket{route="
	    "\"create_app\",le=\"0.0005\"}"), 3);
	assert_int_equal(value("clp_request_duration_seconds_bucket{route="
	    "\"create_app\",le=\"2.5\"}"), 3);
	assert_int_equal(value("clp_request_duration_seconds_bucket{route="
	    "\"create_app\",le=\"10\"}"), 4);
	assert_int_equal(value("clp_request_duration_seconds_bucket{route="
	    "\"create_app\",le=\"+Inf\"}"), 5);
	assert_int_equal(value("clp_request_duration_seconds_count{route="
	    "\"create_app\"}"), 5);
	assert_text("clp_request_duration_seconds_sum{route=\"create_app\"}",
	    "23.000501");
	assert_text("clp_request_duration_seconds_sum{route=\"set_level\"}",
	    "0.000000");
}

static void
test_other_counters(void **state)
{
	const char *lost = "clp_db_errors_total{kind=\"lost\"}";
	uint64_t lost0 = value(lost);
	uint64_t hits0 = value("clp_token_cache_hits_total");
	uint64_t misses0 = value("clp_token_cache_misses_total");
	uint64_t reconnects0 = value("clp_db_reconnects_total");
	uint64_t alive0 = value("clp_workers_alive");
	uint64_t restarts0 = value("clp_worker_restarts_total");

	(void)state;
	metrics_db_error(METRICS_DB_LOST);
	metrics_auth_cache(true);
	metrics_auth_cache(true);
	metrics_auth_cache(false);
	metrics_db_reconnect();
	metrics_worker_started(false);
	metrics_worker_started(false);
	metrics_worker_exited();
	metrics_worker_started(true);
	assert_int_equal(value(lost) - lost0, 1);
	assert_int_equal(value("clp_token_cache_hits_total") - hits0, 2);
	assert_int_equal(value("clp_token_cache_misses_total") - misses0, 1);
	assert_int_equal(value("clp_db_reconnects_total") - reconnects0, 1);
	assert_int_equal(value("clp_workers_alive") - alive0, 2);
	assert_int_equal(value("clp_worker_restarts_total") - restarts0, 1);
}

/* A rendering that does not fit its buffer fails it, whole. */
static void
test_ceiling(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 512);
	metrics_render(&out);
	assert_true(buf_failed(&out));
	buf_free(&out);
}

/* What the workers do: children of the process that mapped the counters
 * add to the counters it reads, from the same place each time. */
static void
add_in_children(int children, int each)
{
	pid_t pid;
	int i, j, status;

	for (i = 0; i < children; i++) {
		if ((pid = fork()) == 0) {
			for (j = 0; j < each; j++)
				metrics_request(OP_RETURN_ORDER, 404, 100);
			_exit(0);
		}
		assert_true(pid > 0);
	}
	for (i = 0; i < children; i++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

static void
test_shared_across_fork(void **state)
{
	const char *series = "clp_requests_total{route=\"return_order\","
	    "status=\"404\"}";
	uint64_t before;

	(void)state;
	/* Before metrics_init() the counters are private: lost with the
	 * child. */
	before = value(series);
	add_in_children(1, 5);
	assert_int_equal(value(series), before);

	assert_true(metrics_init());
	assert_int_equal(value(series), 0);	/* a fresh mapping */
	add_in_children(3, 1000);
	assert_int_equal(value(series), 3000);
	/* A later child (a restarted worker) adds to the totals. */
	add_in_children(1, 1);
	assert_int_equal(value(series), 3001);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families_have_help_and_type),
		cmocka_unit_test(test_fixed_labels),
		cmocka_unit_test(test_request_counts),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_other_counters),
		cmocka_unit_test(test_ceiling),
		cmocka_unit_test(test_shared_across_fork),	/* last */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
