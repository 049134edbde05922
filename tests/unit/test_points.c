/*
 * test_points.c — the C reference points rule against the shared vectors
 * (SPEC §5, $CLP_VECTORS) and the hundredths formatter at its edges.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "points.h"

#define VECTOR_ROWS		4756
#define MISMATCHES_SHOWN	10

/* Parses one decimal int64 field ending at ',' or end of line. */
static int
parse_field(const char **p, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(*p, &end, 10);
	if (end == *p || errno != 0)
		return -1;
	*out = (int64_t)v;
	*p = end;
	return 0;
}

static void
test_vectors(void **state)
{
	const char *path = getenv("CLP_VECTORS");
	char line[256];
	FILE *f;
	size_t lineno = 0, rows = 0, mismatches = 0;

	(void)state;
	if (path == NULL || *path == '\0')
		fail_msg("CLP_VECTORS is not set: point it at "
		    "shared/vectors/points.csv");
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot open CLP_VECTORS=%s: %s", path,
		    strerror(errno));

	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line;
		int64_t t = 0, n = 0, d = 0, want = 0, got;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			fclose(f);
			fail_msg("%s:%zu: line too long", path, lineno);
		}
		if (lineno == 1) {
			if (strncmp(line, "total_cost,orders_before,"
			    "returned_before,award_hundredths", 57) != 0) {
				fclose(f);
				fail_msg("%s: unexpected header: %s", path,
				    line);
			}
			continue;
		}
		if (line[0] == '\n' || (line[0] == '\r' && line[1] == '\n'))
			continue;
		if (parse_field(&p, &t) != 0 || *p++ != ',' ||
		    parse_field(&p, &n) != 0 || *p++ != ',' ||
		    parse_field(&p, &d) != 0 || *p++ != ',' ||
		    parse_field(&p, &want) != 0 ||
		    (*p != '\0' && *p != '\n' && *p != '\r')) {
			fclose(f);
			fail_msg("%s:%zu: unparsable row: %s", path, lineno,
			    line);
		}
		rows++;
		got = clp_points_award(t, n, d);
		if (got != want) {
			if (mismatches < MISMATCHES_SHOWN)
				print_error("%s:%zu: clp_points_award(%" PRId64
				    ", %" PRId64 ", %" PRId64 ") = %" PRId64
				    ", vector says %" PRId64 "\n", path,
				    lineno, t, n, d, got, want);
			mismatches++;
		}
	}
	fclose(f);
	if (mismatches > 0)
		fail_msg("%zu of %zu vector rows mismatch", mismatches, rows);
	assert_int_equal(rows, VECTOR_ROWS);
}

/*
 * The expected values below are literals computed outside this code, with
 * Python's unbounded integers and the SPEC's formula:
 *
 *   def award(t, n, d):
 *       k = n + 1; m = min(5 * k, 6 * k - 5 * d)
 *       return (2 * t * m + k) // (2 * k)
 *
 * and, for the ties, checked with fractions.Fraction(t * m, k): the exact
 * value before rounding is given beside each.
 */
static void
test_award_examples(void **state)
{
	(void)state;
	/* First order: 5% of the cost, in hundredths. */
	assert_int_equal(clp_points_award(100, 0, 0), 500);
	assert_int_equal(clp_points_award(0, 0, 0), 0);
	/* 1 × 0.05 = 0.05 */
	assert_int_equal(clp_points_award(1, 0, 0), 5);
	/* n = 1, d = 1: coefficient 0.7, 100 × 0.05 × 0.7 = 3.50. */
	assert_int_equal(clp_points_award(100, 1, 1), 350);
	/* A tie (3.5 hundredths) rounds up, 4.33 rounds down. */
	assert_int_equal(clp_points_award(1, 1, 1), 4);
	assert_int_equal(clp_points_award(1, 2, 1), 4);
	/* One return in four orders: coefficient 0.95 (exact 10200547323.25). */
	assert_int_equal(clp_points_award(INT32_MAX, 3, 1), 10200547323);
}

/* The extremes of every range, where the intermediates pass 2^64. */
static void
test_award_extremes(void **state)
{
	(void)state;
	/* Maximum cost, first order: 2147483647 × 5 hundredths. */
	assert_int_equal(clp_points_award(INT32_MAX, 0, 0), 10737418235);
	/* The largest counts with nothing returned: no penalty. */
	assert_int_equal(clp_points_award(INT32_MAX, INT64_MAX - 1, 0),
	    10737418235);
	assert_int_equal(clp_points_award(INT32_MAX, INT64_MAX, 0),
	    10737418235);
	/* Everything returned: m = k + 5, so t + 5t/k exactly, just above
	 * 2147483647 hundredths (coefficient 0.2). */
	assert_int_equal(clp_points_award(INT32_MAX, INT64_MAX - 1,
	    INT64_MAX - 1), 2147483647);
	assert_int_equal(clp_points_award(INT32_MAX, INT64_MAX, INT64_MAX),
	    2147483647);
	assert_int_equal(clp_points_award(1, INT64_MAX, INT64_MAX), 1);
	assert_int_equal(clp_points_award(0, INT64_MAX, INT64_MAX), 0);
	/* k = 2^63, d = 2^62: coefficient exactly 0.7, 7516192764.5, a tie
	 * that rounds up; one return more or less moves the exact value by
	 * 5t/2^63 (about 1.2e-9) below or above the tie. */
	assert_int_equal(clp_points_award(INT32_MAX, INT64_MAX,
	    INT64_C(4611686018427387904)), 7516192765);
	assert_int_equal(clp_points_award(INT32_MAX, INT64_MAX,
	    INT64_C(4611686018427387905)), 7516192764);
	assert_int_equal(clp_points_award(INT32_MAX, INT64_MAX,
	    INT64_C(4611686018427387903)), 7516192765);
	/* Just under 80% returned at the largest counts: coefficient 0.4
	 * (m = 2k + 12: exact 4294967294 + 12t/2^63). */
	assert_int_equal(clp_points_award(INT32_MAX, INT64_MAX,
	    INT64_C(7378697629483820644)), 4294967294);
}

static void
test_award_out_of_range(void **state)
{
	(void)state;
	assert_int_equal(clp_points_award(-1, 0, 0), -1);
	assert_int_equal(clp_points_award(INT64_MIN, 0, 0), -1);
	assert_int_equal(clp_points_award((int64_t)INT32_MAX + 1, 0, 0), -1);
	assert_int_equal(clp_points_award(INT64_MAX, 0, 0), -1);
	assert_int_equal(clp_points_award(10, 0, 1), -1);	/* d > n */
	assert_int_equal(clp_points_award(10, 5, 6), -1);
	assert_int_equal(clp_points_award(10, -1, 0), -1);
	assert_int_equal(clp_points_award(10, 0, -1), -1);
	assert_int_equal(clp_points_award(10, -5, -5), -1);
	assert_int_equal(clp_points_award(10, INT64_MIN, INT64_MIN), -1);
	/* The edges themselves are in range. */
	assert_true(clp_points_award(INT32_MAX, 0, 0) >= 0);
	assert_true(clp_points_award(0, INT64_MAX, INT64_MAX) >= 0);
}

static void
check_format(int64_t v, const char *want)
{
	char buf[CLP_POINTS_TEXT_MAX + 8];
	int n;

	memset(buf, 'X', sizeof(buf));
	n = clp_points_format(v, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void
test_format_values(void **state)
{
	(void)state;
	check_format(0, "0.00");
	check_format(5, "0.05");
	check_format(10, "0.10");
	check_format(99, "0.99");
	check_format(100, "1.00");
	check_format(1235, "12.35");
	check_format(-5, "-0.05");
	check_format(-100, "-1.00");
	check_format(-1235, "-12.35");
	check_format(INT64_MAX, "92233720368547758.07");
	check_format(INT64_MIN, "-92233720368547758.08");
	check_format(INT64_MIN + 1, "-92233720368547758.07");
}

static void
test_format_max_fits(void **state)
{
	char buf[CLP_POINTS_TEXT_MAX];

	(void)state;
	/* CLP_POINTS_TEXT_MAX is enough for the longest text. */
	assert_int_equal(clp_points_format(INT64_MIN, buf, sizeof(buf)),
	    (int)sizeof(buf) - 1);
	assert_string_equal(buf, "-92233720368547758.08");
}

static void
test_format_small_buffer(void **state)
{
	char buf[32];
	static const struct {
		int64_t		 v;
		const char	*text;
	} cases[] = {
		{ 0, "0.00" }, { 5, "0.05" }, { 1235, "12.35" },
		{ -5, "-0.05" }, { -100, "-1.00" },
		{ INT64_MAX, "92233720368547758.07" },
		{ INT64_MIN, "-92233720368547758.08" },
	};
	size_t i, need, size;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		need = strlen(cases[i].text) + 1;
		/* Exact size works... */
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(clp_points_format(cases[i].v, buf, need),
		    (int)need - 1);
		assert_string_equal(buf, cases[i].text);
		/* ...and writes nothing past it. */
		assert_int_equal(buf[need], 'X');
		/* Every smaller size is refused, touching nothing. */
		for (size = 0; size < need; size++) {
			memset(buf, 'X', sizeof(buf));
			assert_int_equal(clp_points_format(cases[i].v, buf,
			    size), -1);
			assert_int_equal(buf[size], 'X');
		}
	}
}

static void
test_int_format(void **state)
{
	char buf[CLP_INT_TEXT_MAX];

	(void)state;
	assert_int_equal(clp_int_format(0, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(clp_int_format(-7, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "-7");
	assert_int_equal(clp_int_format(1234567890, buf, sizeof(buf)), 10);
	assert_string_equal(buf, "1234567890");
	assert_int_equal(clp_int_format(INT64_MAX, buf, sizeof(buf)), 19);
	assert_string_equal(buf, "9223372036854775807");
	assert_int_equal(clp_int_format(INT64_MIN, buf, sizeof(buf)), 20);
	assert_string_equal(buf, "-9223372036854775808");
	/* Exactly enough room, then one byte short. */
	assert_int_equal(clp_int_format(100, buf, 4), 3);
	assert_string_equal(buf, "100");
	assert_int_equal(clp_int_format(100, buf, 3), -1);
	assert_int_equal(clp_int_format(-1, buf, 2), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_award_examples),
		cmocka_unit_test(test_award_extremes),
		cmocka_unit_test(test_award_out_of_range),
		cmocka_unit_test(test_format_values),
		cmocka_unit_test(test_format_max_fits),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_int_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
