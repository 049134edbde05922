/*
 * test_validate.c — untrusted input to typed fields (SPEC §3, §4):
 * validate_body, validate_query, validate_content_type and the scalar
 * checkers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "validate.h"

#define B(f)		FIELD_BIT(FIELD_##f)
#define ORDER_FIELDS	(B(USER_ID) | B(ORDER_ID) | B(TOTAL_COST) | \
			    B(COMPLETED_AT))
#define APP_FIELDS	(B(APPLICATION_NAME) | B(ACCESS_LEVEL))
#define SET_FIELDS	(B(APP_ID) | B(NEW_ACCESS_LEVEL))

static const char *
err_name(enum clp_err e)
{
	return error_info(e)->code;
}

#define assert_err(got, want) do {					\
	enum clp_err got_ = (got), want_ = (want);			\
	if (got_ != want_)						\
		fail_msg("got %s (%d), want %s (%d)", err_name(got_),	\
		    (int)got_, err_name(want_), (int)want_);		\
} while (0)

static enum clp_err
body_len(const char *json, size_t len, unsigned fields, struct input *in)
{
	memset(in, 0, sizeof(*in));
	return validate_body(json, len, fields, in);
}

static enum clp_err
body(const char *json, unsigned fields, struct input *in)
{
	return body_len(json, strlen(json), fields, in);
}

/* An order body with one field's value replaced by raw JSON text. */
static enum clp_err
order_with(const char *field, const char *value, struct input *in)
{
	char buf[1024];
	const char *u = "1", *o = "2", *t = "100", *c = "1700000000";

	if (strcmp(field, "user_id") == 0)
		u = value;
	else if (strcmp(field, "order_id") == 0)
		o = value;
	else if (strcmp(field, "total_cost") == 0)
		t = value;
	else if (strcmp(field, "completed_at") == 0)
		c = value;
	else
		fail_msg("no field %s", field);
	snprintf(buf, sizeof(buf), "{\"user_id\":%s,\"order_id\":%s,"
	    "\"total_cost\":%s,\"completed_at\":%s}", u, o, t, c);
	return body(buf, ORDER_FIELDS, in);
}

static void
expect_invalid(const char *field, const char *value)
{
	struct input in;
	enum clp_err e = order_with(field, value, &in);

	if (e != CLP_ERR_INVALID_FIELD)
		fail_msg("%s=%s: got %s, want invalid_field", field, value,
		    err_name(e));
	assert_string_equal(in.bad_field, field);
}

static void
expect_ok(const char *field, const char *value, int64_t want)
{
	struct input in;
	enum clp_err e = order_with(field, value, &in);
	int64_t got;

	if (e != CLP_OK)
		fail_msg("%s=%s: got %s (field %s), want ok", field, value,
		    err_name(e), in.bad_field);
	if (strcmp(field, "user_id") == 0)
		got = in.user_id;
	else if (strcmp(field, "order_id") == 0)
		got = in.order_id;
	else if (strcmp(field, "total_cost") == 0)
		got = in.total_cost;
	else
		got = in.completed_at;
	assert_int_equal(got, want);
}

/* ---------------------------------------------------------------- body */

static void
test_order_ok(void **state)
{
	struct input in;

	(void)state;
	assert_err(body("{\"user_id\":42,\"order_id\":7,\"total_cost\":1999,"
	    "\"completed_at\":1700000000}", ORDER_FIELDS, &in), CLP_OK);
	assert_int_equal(in.user_id, 42);
	assert_int_equal(in.order_id, 7);
	assert_int_equal(in.total_cost, 1999);
	assert_int_equal(in.completed_at, 1700000000);
	assert_int_equal(in.present, ORDER_FIELDS);
	/* Key order does not matter; whitespace around tokens is fine. */
	assert_err(body(" {\n \"completed_at\" : 0 , \"total_cost\":0,"
	    "\"order_id\":1,\"user_id\":1}\n", ORDER_FIELDS, &in), CLP_OK);
	assert_int_equal(in.completed_at, 0);
	assert_int_equal(in.total_cost, 0);
}

static void
test_integer_types_refused(void **state)
{
	static const char *const bad[] = {
		"1.0", "\"1\"", "true", "false", "null", "1e3", "1E3",
		"1.5", "-1", "0", "[1]", "{}", "{\"a\":1}", "10e0",
	};
	static const char *const fields[] = {
		"user_id", "order_id",
	};
	size_t i, j;

	(void)state;
	for (j = 0; j < sizeof(fields) / sizeof(fields[0]); j++)
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			expect_invalid(fields[j], bad[i]);
	/* The same non-integer types for total_cost and completed_at. */
	for (i = 0; i < 7; i++) {
		expect_invalid("total_cost", bad[i]);
		expect_invalid("completed_at", bad[i]);
	}
}

static void
test_id_range(void **state)
{
	(void)state;
	expect_ok("user_id", "1", 1);
	expect_ok("user_id", "9223372036854775807", INT64_MAX);
	expect_ok("order_id", "9223372036854775807", INT64_MAX);
	expect_invalid("user_id", "9223372036854775808");
	expect_invalid("user_id", "18446744073709551615");
	expect_invalid("user_id", "18446744073709551616");
	expect_invalid("user_id", "99999999999999999999");
	expect_invalid("user_id", "-9223372036854775808");
	expect_invalid("user_id", "-9223372036854775809");
	expect_invalid("order_id", "9223372036854775808");
	expect_invalid("order_id", "0");
}

static void
test_cost_and_time_range(void **state)
{
	(void)state;
	expect_ok("total_cost", "0", 0);
	expect_ok("total_cost", "2147483647", 2147483647);
	expect_invalid("total_cost", "2147483648");
	expect_invalid("total_cost", "-1");
	expect_invalid("total_cost", "9223372036854775808");
	expect_ok("completed_at", "0", 0);
	expect_ok("completed_at", "253402300799", INT64_C(253402300799));
	expect_invalid("completed_at", "253402300800");
	expect_invalid("completed_at", "-1");
	expect_invalid("completed_at", "9223372036854775807");
}

static void
test_missing_field(void **state)
{
	struct input in;

	(void)state;
	assert_err(body("{\"user_id\":1,\"order_id\":2,\"completed_at\":3}",
	    ORDER_FIELDS, &in), CLP_ERR_MISSING_FIELD);
	assert_string_equal(in.bad_field, "total_cost");
	assert_err(body("{\"user_id\":1,\"order_id\":2,\"total_cost\":3}",
	    ORDER_FIELDS, &in), CLP_ERR_MISSING_FIELD);
	assert_string_equal(in.bad_field, "completed_at");
	assert_err(body("{}", ORDER_FIELDS, &in), CLP_ERR_MISSING_FIELD);
	assert_string_equal(in.bad_field, "user_id");
	assert_err(body("{}", B(ORDER_ID), &in), CLP_ERR_MISSING_FIELD);
	assert_string_equal(in.bad_field, "order_id");
	assert_err(body("{\"access_level\":\"Can_Read\"}", APP_FIELDS, &in),
	    CLP_ERR_MISSING_FIELD);
	assert_string_equal(in.bad_field, "application_name");
	/* A route without body fields takes an empty object. */
	assert_err(body("{}", 0, &in), CLP_OK);
}

static void
test_unknown_field(void **state)
{
	struct input in;

	(void)state;
	assert_err(body("{\"user_id\":1,\"order_id\":2,\"total_cost\":3,"
	    "\"completed_at\":4,\"points\":5}", ORDER_FIELDS, &in),
	    CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "points");
	/* A field of another route is unknown here. */
	assert_err(body("{\"order_id\":2,\"user_id\":1}", B(ORDER_ID), &in),
	    CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "user_id");
	/* Case matters. */
	assert_err(body("{\"Order_Id\":2}", B(ORDER_ID), &in),
	    CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "Order_Id");
	assert_err(body("{\"\":1}", B(ORDER_ID), &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "");
	assert_err(body("{\"x\":1}", 0, &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "x");
}

static void
test_unknown_field_nul_in_key(void **state)
{
	struct input in;
	enum clp_err e;

	(void)state;
	/*
	 * "user_id\u0000x" is not the key user_id: it must not be read as
	 * one (json-c keeps keys as C strings, so a check on strlen(key)
	 * sees only "user_id").
	 */
	e = body("{\"order_id\\u0000junk\":7}", B(ORDER_ID), &in);
	if (e == CLP_OK)
		fail_msg("key \"order_id\\u0000junk\" taken as order_id "
		    "(= %lld)", (long long)in.order_id);
	e = body("{\"user_id\":1,\"order_id\":2,\"total_cost\":3,"
	    "\"completed_at\\u0000\":4}", ORDER_FIELDS, &in);
	if (e == CLP_OK)
		fail_msg("key \"completed_at\\u0000\" taken as completed_at");
	/* A key inside a known field's value is no field name: the value
	 * (an object) is what is wrong. */
	assert_err(body("{\"user_id\":{\"a\\u0000\":1},\"order_id\":2,"
	    "\"total_cost\":3,\"completed_at\":4}", ORDER_FIELDS, &in),
	    CLP_ERR_INVALID_FIELD);
	assert_string_equal(in.bad_field, "user_id");
	assert_err(body("{\"order_id\":[{\"\\u0000\":1}]}", B(ORDER_ID), &in),
	    CLP_ERR_INVALID_FIELD);
	assert_string_equal(in.bad_field, "order_id");
}

static void
test_unknown_field_long_key(void **state)
{
	struct input in;
	char json[1200], key[1001];
	size_t n;
	char *p;
	int i;

	(void)state;
	memset(key, 'k', 1000);
	key[1000] = '\0';
	snprintf(json, sizeof(json), "{\"%s\":1}", key);
	assert_err(body(json, B(ORDER_ID), &in), CLP_ERR_UNKNOWN_FIELD);
	assert_int_equal(strlen(in.bad_field), VALIDATE_FIELD_ECHO_MAX);
	assert_memory_equal(in.bad_field, key, VALIDATE_FIELD_ECHO_MAX);

	/* Multi-byte: "a" + 100 × U+65E5 is cut before a split character. */
	p = json;
	p += sprintf(p, "{\"a");
	for (i = 0; i < 100; i++)
		p += sprintf(p, "\xe6\x97\xa5");
	sprintf(p, "\":1}");
	assert_err(body(json, B(ORDER_ID), &in), CLP_ERR_UNKNOWN_FIELD);
	n = strlen(in.bad_field);
	assert_true(n <= VALIDATE_FIELD_ECHO_MAX);
	assert_int_equal(n, 1 + 42 * 3);
	assert_memory_equal(in.bad_field, json + 2, n);
}

static void
test_duplicate_keys_last_wins(void **state)
{
	struct input in;

	(void)state;
	assert_err(body("{\"order_id\":1,\"order_id\":2}", B(ORDER_ID), &in),
	    CLP_OK);
	assert_int_equal(in.order_id, 2);
	assert_err(body("{\"order_id\":\"x\",\"order_id\":3}", B(ORDER_ID),
	    &in), CLP_OK);
	assert_int_equal(in.order_id, 3);
	assert_err(body("{\"order_id\":3,\"order_id\":\"x\"}", B(ORDER_ID),
	    &in), CLP_ERR_INVALID_FIELD);
	assert_string_equal(in.bad_field, "order_id");
}

static void
test_not_an_object(void **state)
{
	static const char *const cases[] = {
		"[]", "1", "\"x\"", "null", "true", "[{\"order_id\":1}]",
		"0", "-1", "1.5",
	};
	struct input in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum clp_err e = body(cases[i], B(ORDER_ID), &in);

		if (e != CLP_ERR_MALFORMED_JSON)
			fail_msg("%s: got %s, want malformed_json", cases[i],
			    err_name(e));
	}
}

/* Every case must be malformed_json; lists all that are not. */
static void
expect_all_malformed(const char *const *cases, size_t n)
{
	struct input in;
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		enum clp_err e = body(cases[i], B(ORDER_ID), &in);

		if (e != CLP_ERR_MALFORMED_JSON) {
			print_error("body %s: got %s (field \"%s\"), want "
			    "malformed_json\n", cases[i], err_name(e),
			    in.bad_field);
			bad++;
		}
	}
	if (bad > 0)
		fail_msg("%zu of %zu bodies not refused as malformed_json",
		    bad, n);
}

static void
test_malformed_syntax(void **state)
{
	static const char *const cases[] = {
		"", " ", "{", "}", "{\"order_id\":1", "{\"order_id\":}",
		"{\"order_id\":1,}", "{,\"order_id\":1}", "{order_id:1}",
		"{\"order_id\" 1}", "{\"order_id\"::1}",
		"{\"order_id\":1}x", "{\"order_id\":1}{}",
		"{\"order_id\":1} 1", "{\"order_id\":1}//",
		"{\"order_id\":1}\x0b", "{\"order_id\":1}\x0c",
		"/*c*/{\"order_id\":1}", "{\"order_id\":1/*c*/}",
		"\xef\xbb\xbf{\"order_id\":1}", "\xef\xbb\xbf",
		"{\"order_id\":0x10}", "{\"order_id\":01}",
		"{\"order_id\":+1}", "{\"order_id\":.5}",
		"{\"order_id\":'1'}",
		"{\"x\":\"\\q\"}", "{\"x\":\"\\u12\"}", "{\"x\":\"abc}",
	};

	(void)state;
	expect_all_malformed(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_malformed_single_quotes(void **state)
{
	static const char *const cases[] = {
		"{'order_id':1}", "{'x':1}",
	};

	(void)state;
	/* JSON strings use double quotes only (RFC 8259 §7). */
	expect_all_malformed(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_malformed_non_json_numbers(void **state)
{
	static const char *const cases[] = {
		"{\"order_id\":NaN}", "{\"order_id\":Infinity}",
		"{\"order_id\":-Infinity}", "{\"x\":NaN}",
		/* RFC 8259 number grammar, which json-c's strict mode misses */
		"{\"order_id\":00}", "{\"order_id\":-01}",
		"{\"order_id\":1.}", "{\"order_id\":-.5}", "{\"order_id\":.5}",
		"{\"order_id\":1e}", "{\"order_id\":1e+}", "{\"order_id\":+1}",
		"{\"order_id\":1x}", "{\"order_id\":truex}",
		"{\"order_id\":0x10}",
	};

	(void)state;
	/* Not JSON at all: 400 wins over 422 (SPEC §3 order). */
	expect_all_malformed(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_json_numbers_valid(void **state)
{
	struct input in;

	(void)state;
	/* Valid JSON numbers that are not integers are 422, not 400. */
	memset(&in, 0, sizeof(in));
	assert_int_equal(body("{\"order_id\":1.5e+3}", FIELD_BIT(FIELD_ORDER_ID),
	    &in), CLP_ERR_INVALID_FIELD);
	memset(&in, 0, sizeof(in));
	assert_int_equal(body("{\"order_id\":-0.0}", FIELD_BIT(FIELD_ORDER_ID),
	    &in), CLP_ERR_INVALID_FIELD);
	memset(&in, 0, sizeof(in));
	assert_int_equal(body("{\"order_id\":0}", FIELD_BIT(FIELD_ORDER_ID),
	    &in), CLP_ERR_INVALID_FIELD);
	memset(&in, 0, sizeof(in));
	assert_int_equal(body(" {\"order_id\" : 10 } ", FIELD_BIT(FIELD_ORDER_ID),
	    &in), CLP_OK);
	assert_int_equal(in.order_id, 10);
}

static void
test_malformed_utf8(void **state)
{
	static const char *const cases[] = {
		"{\"x\":\"\xff\"}",			/* invalid byte */
		"{\"x\":\"\xe6\x97\"}",		/* truncated */
		"{\"x\":\"\xe6\x97\"", 		/* and unterminated */
		"{\"x\":\"\xc0\x80\"}",		/* overlong */
		"{\"x\":\"\xe0\x80\xaf\"}",		/* overlong '/' */
		"{\"x\":\"\xed\xa0\x80\"}",		/* surrogate */
		"{\"x\":\"\xf4\x90\x80\x80\"}",	/* > U+10FFFF */
		"{\"x\xc0\x80\":1}",			/* in a key */
		"{\"\xed\xa0\x80\":1}",
		"{\"\xff\":1}",
	};

	(void)state;
	expect_all_malformed(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_malformed_raw_control(void **state)
{
	static const char *const cases[] = {
		"{\"x\":\"a\nb\"}", "{\"x\":\"a\tb\"}", "{\"x\":\"\x01\"}",
		"{\"x\x1f\":1}",
	};

	(void)state;
	/* RFC 8259 §7: control characters in strings must be escaped. */
	expect_all_malformed(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_unknown_field_echo_is_utf8(void **state)
{
	/*
	 * Whatever is refused, the field echoed back in the error body must
	 * be valid UTF-8, or the response itself is not valid JSON text.
	 * Raw bytes that are not UTF-8, and escapes of lone surrogates, are
	 * malformed JSON (no field echoed); keys that are UTF-8, as bytes or
	 * as escapes, come back whole.
	 */
	static const struct {
		const char	*json;
		enum clp_err	 want;
		const char	*field;		/* the echo, when one is wanted */
	} cases[] = {
		{ "{\"x\xc0\x80\":1}", CLP_ERR_MALFORMED_JSON, NULL },
		{ "{\"\xed\xa0\x80\":1}", CLP_ERR_MALFORMED_JSON, NULL },
		{ "{\"\xf4\x90\x80\x80\":1}", CLP_ERR_MALFORMED_JSON, NULL },
		{ "{\"a\xe0\x80\xaf\":1}", CLP_ERR_MALFORMED_JSON, NULL },
		{ "{\"\\ud800\":1}", CLP_ERR_MALFORMED_JSON, NULL },
		{ "{\"a\\udc00\":1}", CLP_ERR_MALFORMED_JSON, NULL },
		{ "{\"\xc3\xa9\":1}", CLP_ERR_UNKNOWN_FIELD, "\xc3\xa9" },
		{ "{\"\\u00e9\":1}", CLP_ERR_UNKNOWN_FIELD, "\xc3\xa9" },
		{ "{\"\\ud83d\\ude00\":1}", CLP_ERR_UNKNOWN_FIELD,
		    "\xf0\x9f\x98\x80" },
		{ "{\"a\xf0\x9f\x98\x80z\":1}", CLP_ERR_UNKNOWN_FIELD,
		    "a\xf0\x9f\x98\x80z" },
	};
	struct input in;
	size_t i, n, echoed = 0;
	bool ctl;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum clp_err e = body(cases[i].json, B(ORDER_ID), &in);

		if (e != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, err_name(e),
			    err_name(cases[i].want));
		if (cases[i].field == NULL)
			continue;
		if (!validate_utf8(in.bad_field, strlen(in.bad_field), &n,
		    &ctl))
			fail_msg("case %zu: %s echoes invalid UTF-8 as the "
			    "field", i, err_name(e));
		assert_string_equal(in.bad_field, cases[i].field);
		echoed++;
	}
	/* The loop checked echoes, not only refusals. */
	assert_int_equal(echoed, 4);
}

static void
test_embedded_nul(void **state)
{
	static const char a[] = "{\"order_id\":1}\0";
	static const char b[] = "{\"order_id\":\0 1}";
	static const char c[] = "\0{\"order_id\":1}";
	struct input in;

	(void)state;
	assert_err(body_len(a, sizeof(a) - 1, B(ORDER_ID), &in),
	    CLP_ERR_MALFORMED_JSON);
	assert_err(body_len(b, sizeof(b) - 1, B(ORDER_ID), &in),
	    CLP_ERR_MALFORMED_JSON);
	assert_err(body_len(c, sizeof(c) - 1, B(ORDER_ID), &in),
	    CLP_ERR_MALFORMED_JSON);
	/* The length given is what counts: a shorter len sees "{". */
	assert_err(body_len(a, 1, B(ORDER_ID), &in), CLP_ERR_MALFORMED_JSON);
}

static void
test_trailing_whitespace_ok(void **state)
{
	struct input in;

	(void)state;
	assert_err(body("{\"order_id\":9} \t\r\n ", B(ORDER_ID), &in), CLP_OK);
	assert_int_equal(in.order_id, 9);
	assert_err(body("\n\t {\"order_id\":9}", B(ORDER_ID), &in), CLP_OK);
}

static char *
nested_in(const char *key, int depth)
{
	/* {"key": + depth-1 × '[' + "1" + ']'s + '}' */
	char *s = malloc(strlen(key) + (size_t)depth * 2 + 16), *p = s;
	int i;

	assert_non_null(s);
	p += sprintf(p, "{\"%s\":", key);
	for (i = 1; i < depth; i++)
		*p++ = '[';
	*p++ = '1';
	for (i = 1; i < depth; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	return s;
}

static char *
nested(int depth)
{
	return nested_in("x", depth);
}

/*
 * README, "Choices where the SPEC is silent": a body nests at most
 * VALIDATE_JSON_DEPTH levels (its object is level 1).  Up to the limit the
 * field rules answer (a known field's array is invalid, an unknown field is
 * unknown) at every depth; past it, malformed whatever the field.
 */
static void
test_depth(void **state)
{
	struct input in;
	char *s;
	int depth;

	(void)state;
	for (depth = 2; depth <= VALIDATE_JSON_DEPTH; depth++) {
		s = nested(depth);
		if (body(s, B(ORDER_ID), &in) != CLP_ERR_UNKNOWN_FIELD)
			fail_msg("depth %d: not unknown_field", depth);
		free(s);
		s = nested_in("order_id", depth);
		if (body(s, B(ORDER_ID), &in) != CLP_ERR_INVALID_FIELD ||
		    strcmp(in.bad_field, "order_id") != 0)
			fail_msg("depth %d: not invalid_field order_id", depth);
		free(s);
	}
	/* Past the limit: malformed, never a crash. */
	for (depth = VALIDATE_JSON_DEPTH + 1; depth <= 2000;
	    depth = depth < 40 ? depth + 1 : depth * 2) {
		s = nested(depth);
		if (body(s, B(ORDER_ID), &in) != CLP_ERR_MALFORMED_JSON)
			fail_msg("depth %d not refused as malformed", depth);
		free(s);
		s = nested_in("order_id", depth);
		if (body(s, B(ORDER_ID), &in) != CLP_ERR_MALFORMED_JSON)
			fail_msg("depth %d (order_id) not malformed", depth);
		free(s);
	}
}

static void
test_many_keys(void **state)
{
	struct input in;
	char *json, *p;
	int i;

	(void)state;
	/* 1000 unknown short keys: ~9 KiB, within 16 KiB. */
	json = malloc(VALIDATE_BODY_MAX + 1);
	assert_non_null(json);
	p = json;
	*p++ = '{';
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "%s\"k%d\":0", i ? "," : "", i);
	*p++ = '}';
	*p = '\0';
	assert_true(strlen(json) <= VALIDATE_BODY_MAX);
	assert_err(body(json, ORDER_FIELDS, &in), CLP_ERR_UNKNOWN_FIELD);
	assert_int_equal(in.bad_field[0], 'k');

	/* 1000 duplicates of a known key: last wins. */
	p = json;
	*p++ = '{';
	for (i = 1; i <= 1000; i++)
		p += sprintf(p, "%s\"order_id\":%d", i > 1 ? "," : "", i);
	*p++ = '}';
	*p = '\0';
	assert_true(strlen(json) <= VALIDATE_BODY_MAX);
	assert_err(body(json, B(ORDER_ID), &in), CLP_OK);
	assert_int_equal(in.order_id, 1000);
	free(json);
}

static void
test_body_size_limit(void **state)
{
	struct input in;
	char *json;
	size_t n;

	(void)state;
	json = malloc(VALIDATE_BODY_MAX + 2);
	assert_non_null(json);
	/* Exactly 16 KiB, padded with trailing spaces: fine. */
	n = (size_t)sprintf(json, "{\"order_id\":5}");
	memset(json + n, ' ', VALIDATE_BODY_MAX - n);
	json[VALIDATE_BODY_MAX] = ' ';
	json[VALIDATE_BODY_MAX + 1] = '\0';
	assert_err(body_len(json, VALIDATE_BODY_MAX, B(ORDER_ID), &in),
	    CLP_OK);
	assert_int_equal(in.order_id, 5);
	/* One byte more is never accepted. */
	assert_int_not_equal(body_len(json, VALIDATE_BODY_MAX + 1,
	    B(ORDER_ID), &in), CLP_OK);
	free(json);
}

/* ----------------------------------------------------- application_name */

static enum clp_err
app(const char *name_json, const char *level_json, struct input *in)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "{\"application_name\":%s,"
	    "\"access_level\":%s}", name_json, level_json);
	return body(buf, APP_FIELDS, in);
}

static void
expect_name_invalid(const char *name_json)
{
	struct input in;
	enum clp_err e = app(name_json, "\"Can_Read\"", &in);

	if (e != CLP_ERR_INVALID_FIELD)
		fail_msg("application_name %s: got %s, want invalid_field",
		    name_json, err_name(e));
	assert_string_equal(in.bad_field, "application_name");
}

static void
expect_name_ok(const char *name_json, const char *stored)
{
	struct input in;
	enum clp_err e = app(name_json, "\"Can_Read\"", &in);

	if (e != CLP_OK)
		fail_msg("application_name %s: got %s (%s), want ok",
		    name_json, err_name(e), in.bad_field);
	assert_string_equal(in.application_name, stored);
}

/* n copies of unit, optionally between double quotes; free() it. */
static char *
repeat(const char *unit, int n, bool quoted)
{
	size_t ulen = strlen(unit);
	char *s = malloc(ulen * (size_t)n + 3), *p = s;
	int i;

	assert_non_null(s);
	if (quoted)
		*p++ = '"';
	for (i = 0; i < n; i++, p += ulen)
		memcpy(p, unit, ulen);
	if (quoted)
		*p++ = '"';
	*p = '\0';
	return s;
}

static void
test_name_length_in_code_points(void **state)
{
	static const char *const units[] = {
		"a", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
	};
	size_t i;
	char *json, *raw;

	(void)state;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		/* 30 code points: accepted and stored byte for byte. */
		json = repeat(units[i], 30, true);
		raw = repeat(units[i], 30, false);
		expect_name_ok(json, raw);
		free(json);
		free(raw);
		/* 31: refused, whatever the byte count. */
		json = repeat(units[i], 31, true);
		expect_name_invalid(json);
		free(json);
	}
	expect_name_ok("\"x\"", "x");
	/* 30 characters given as \u escapes. */
	json = repeat("\\u65e5", 30, true);
	raw = repeat("\xe6\x97\xa5", 30, false);
	expect_name_ok(json, raw);
	free(json);
	free(raw);
	json = repeat("\\u65e5", 31, true);
	expect_name_invalid(json);
	free(json);
	/* 30 astral characters as surrogate pairs (120 bytes stored). */
	json = repeat("\\ud83d\\ude00", 30, true);
	raw = repeat("\xf0\x9f\x98\x80", 30, false);
	expect_name_ok(json, raw);
	free(json);
	free(raw);
}

static void
test_name_refused(void **state)
{
	(void)state;
	expect_name_invalid("\"\"");
	expect_name_invalid("\"a\\u0001\"");
	expect_name_invalid("\"\\u001f\"");
	expect_name_invalid("\"a\\u007f\"");
	expect_name_invalid("\"a\x7f\"");		/* raw DEL */
	expect_name_invalid("\"a\\u0085\"");		/* C1 */
	expect_name_invalid("\"a\xc2\x85\"");		/* raw C1 */
	expect_name_invalid("\"\\u0080\"");
	expect_name_invalid("\"\\u009f\"");
	expect_name_invalid("\"a\\u0000b\"");
	expect_name_invalid("\"\\u0000\"");
	expect_name_invalid("\"a\\nb\"");
	expect_name_invalid("\"a\\tb\"");
	expect_name_invalid("1");
	expect_name_invalid("null");
	expect_name_invalid("[\"a\"]");
	expect_name_invalid("{\"a\":1}");
	expect_name_invalid("true");
}

static void
test_name_lone_surrogate(void **state)
{
	static const char *const cases[] = {
		"\"\\ud800\"", "\"a\\ud800b\"", "\"\\udc00\"",
		"\"\\ud800\\u0041\"", "\"\\udc00\\ud800\"",
	};
	struct input in;
	size_t i;

	(void)state;
	/* Either malformed JSON or an invalid field; never stored. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum clp_err e = app(cases[i], "\"Can_Read\"", &in);

		if (e != CLP_ERR_MALFORMED_JSON && e != CLP_ERR_INVALID_FIELD)
			fail_msg("application_name %s: got %s (stored as "
			    "\"%s\"), want malformed_json or invalid_field",
			    cases[i], err_name(e), in.application_name);
	}
	/* A proper pair is one character. */
	expect_name_ok("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
}

static void
test_name_kept_exactly(void **state)
{
	(void)state;
	expect_name_ok("\"  my app  \"", "  my app  ");
	expect_name_ok("\" \"", " ");
	expect_name_ok("\"a\\\"b\\\\c/\"", "a\"b\\c/");
	/* No Unicode normalisation: e + combining acute stays two. */
	expect_name_ok("\"e\xcc\x81\"", "e\xcc\x81");
	/* NBSP is not a control character. */
	expect_name_ok("\"\xc2\xa0\"", "\xc2\xa0");
}

/* -------------------------------------------------------- access level */

static void
test_access_level(void **state)
{
	static const char *const bad[] = {
		"\"MasterApp\"", "\"can_read\"", "\"CAN_READ\"", "\"\"",
		"\"Can_Read \"", "\" Can_Read\"", "\"Can_Read\\u0000\"",
		"\"Can_Modify\"", "\"Can_Modify_Orders_\"", "1", "null",
		"[\"Can_Read\"]",
	};
	struct input in;
	size_t i;

	(void)state;
	assert_err(app("\"x\"", "\"Can_Read\"", &in), CLP_OK);
	assert_non_null(in.access_level);
	assert_string_equal(in.access_level, "Can_Read");
	assert_err(app("\"x\"", "\"Can_Modify_Orders\"", &in), CLP_OK);
	assert_non_null(in.access_level);
	assert_string_equal(in.access_level, "Can_Modify_Orders");
	/* SPEC §1, §3: the level that spends points is assignable too. */
	assert_err(app("\"x\"", "\"Can_Redeem_Points\"", &in), CLP_OK);
	assert_non_null(in.access_level);
	assert_string_equal(in.access_level, "Can_Redeem_Points");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum clp_err e = app("\"x\"", bad[i], &in);

		if (e != CLP_ERR_INVALID_FIELD)
			fail_msg("access_level %s: got %s", bad[i],
			    err_name(e));
		assert_string_equal(in.bad_field, "access_level");
	}
	/* new_access_level follows the same rule. */
	assert_err(body("{\"app_id\":\"a1\",\"new_access_level\":"
	    "\"Can_Modify_Orders\"}", SET_FIELDS, &in), CLP_OK);
	assert_string_equal(in.access_level, "Can_Modify_Orders");
	assert_string_equal(in.app_id, "a1");
	assert_err(body("{\"app_id\":\"a1\",\"new_access_level\":"
	    "\"MasterApp\"}", SET_FIELDS, &in), CLP_ERR_INVALID_FIELD);
	assert_string_equal(in.bad_field, "new_access_level");
	/* access_level is not new_access_level. */
	assert_err(body("{\"app_id\":\"a1\",\"access_level\":\"Can_Read\"}",
	    SET_FIELDS, &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "access_level");
}

/* -------------------------------------------------------------- app_id */

static enum clp_err
app_id_body(const char *value_json, struct input *in)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "{\"app_id\":%s}", value_json);
	return body(buf, B(APP_ID), in);
}

static void
test_app_id(void **state)
{
	static const char *const bad[] = {
		"\"\"", "1", "null", "true", "[\"a\"]", "{}",
		"\"\xc3\xa9\"", "\"\\u00e9\"", "\"a\\u0000\"", "\"a\\tb\"",
		"\"a\\u007f\"", "\"\\n\"",
	};
	char id64[65], json[80];
	struct input in;
	size_t i;

	(void)state;
	assert_err(app_id_body("\"a\"", &in), CLP_OK);
	assert_string_equal(in.app_id, "a");
	assert_err(app_id_body("\"AZaz09-_.~!\"", &in), CLP_OK);
	assert_string_equal(in.app_id, "AZaz09-_.~!");
	memset(id64, 'x', 64);
	id64[64] = '\0';
	snprintf(json, sizeof(json), "\"%s\"", id64);
	assert_err(app_id_body(json, &in), CLP_OK);
	assert_string_equal(in.app_id, id64);
	snprintf(json, sizeof(json), "\"%sy\"", id64);
	assert_err(app_id_body(json, &in), CLP_ERR_INVALID_FIELD);
	assert_string_equal(in.bad_field, "app_id");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum clp_err e = app_id_body(bad[i], &in);

		if (e != CLP_ERR_INVALID_FIELD)
			fail_msg("app_id %s: got %s", bad[i], err_name(e));
		assert_string_equal(in.bad_field, "app_id");
	}
}

/* --------------------------------------------------------------- query */

static enum clp_err
query(const char *q, struct input *in)
{
	memset(in, 0, sizeof(*in));
	return validate_query(q, B(USER_ID), in);
}

static void
test_query_ok(void **state)
{
	struct input in;

	(void)state;
	assert_err(query("user_id=5", &in), CLP_OK);
	assert_int_equal(in.user_id, 5);
	assert_true(in.present & B(USER_ID));
	assert_err(query("user_id=%35", &in), CLP_OK);
	assert_int_equal(in.user_id, 5);
	assert_err(query("user_id=%31%32", &in), CLP_OK);
	assert_int_equal(in.user_id, 12);
	assert_err(query("user_id=5&&", &in), CLP_OK);
	assert_int_equal(in.user_id, 5);
	assert_err(query("&user_id=6", &in), CLP_OK);
	assert_int_equal(in.user_id, 6);
	assert_err(query("user_id=9223372036854775807", &in), CLP_OK);
	assert_int_equal(in.user_id, INT64_MAX);
	/* Repeated parameter: the last one wins, like a body's keys. */
	assert_err(query("user_id=5&user_id=7", &in), CLP_OK);
	assert_int_equal(in.user_id, 7);
	/* A route without query fields takes an empty query. */
	memset(&in, 0, sizeof(in));
	assert_err(validate_query(NULL, 0, &in), CLP_OK);
	assert_err(validate_query("", 0, &in), CLP_OK);
}

/* SPEC §8's page parameters: optional, limit 1..500, cursor base64url. */
static void
test_query_page(void **state)
{
	static const char *const bad_limits[] = { "limit=0", "limit=501",
	    "limit=-1", "limit=abc", "limit=1.5", "limit=", "limit",
	    "limit=99999999999999999999" };
	static const char *const bad_cursors[] = { "cursor=", "cursor=a+b",
	    "cursor=a%2Fb", "cursor=%00", "cursor=a=b" };
	const unsigned page = B(LIMIT) | B(CURSOR);
	char long_cursor[300];
	struct input in;
	size_t i;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_err(validate_query(NULL, page, &in), CLP_OK);
	assert_int_equal(in.present, 0);
	assert_err(validate_query("limit=1&cursor=AbC-_9", page, &in), CLP_OK);
	assert_int_equal(in.limit, 1);
	assert_string_equal(in.cursor, "AbC-_9");
	assert_true(in.present & B(LIMIT) && in.present & B(CURSOR));
	memset(&in, 0, sizeof(in));
	assert_err(validate_query("limit=500", page, &in), CLP_OK);
	assert_int_equal(in.limit, 500);
	for (i = 0; i < sizeof(bad_limits) / sizeof(bad_limits[0]); i++) {
		memset(&in, 0, sizeof(in));
		if (validate_query(bad_limits[i], page, &in) !=
		    CLP_ERR_INVALID_FIELD)
			fail_msg("%s accepted", bad_limits[i]);
		assert_string_equal(in.bad_field, "limit");
	}
	for (i = 0; i < sizeof(bad_cursors) / sizeof(bad_cursors[0]); i++) {
		memset(&in, 0, sizeof(in));
		if (validate_query(bad_cursors[i], page, &in) !=
		    CLP_ERR_INVALID_FIELD)
			fail_msg("%s accepted", bad_cursors[i]);
		assert_string_equal(in.bad_field, "cursor");
	}
	/* At most VALIDATE_CURSOR_MAX characters. */
	memset(&in, 0, sizeof(in));
	snprintf(long_cursor, sizeof(long_cursor), "cursor=%0*d",
	    VALIDATE_CURSOR_MAX, 0);
	assert_err(validate_query(long_cursor, page, &in), CLP_OK);
	snprintf(long_cursor, sizeof(long_cursor), "cursor=%0*d",
	    VALIDATE_CURSOR_MAX + 1, 0);
	assert_err(validate_query(long_cursor, page, &in),
	    CLP_ERR_INVALID_FIELD);
	/* Not in a body: the page fields are the query's. */
	memset(&in, 0, sizeof(in));
	assert_err(validate_query("limit=5", B(USER_ID), &in),
	    CLP_ERR_UNKNOWN_FIELD);
}

static void
test_query_missing(void **state)
{
	struct input in;

	(void)state;
	assert_err(query("", &in), CLP_ERR_MISSING_FIELD);
	assert_string_equal(in.bad_field, "user_id");
	assert_err(query(NULL, &in), CLP_ERR_MISSING_FIELD);
	assert_string_equal(in.bad_field, "user_id");
	assert_err(query("&&", &in), CLP_ERR_MISSING_FIELD);
	assert_string_equal(in.bad_field, "user_id");
}

static void
test_query_invalid(void **state)
{
	static const char *const bad[] = {
		"user_id=", "user_id", "user_id=abc", "user_id=0",
		"user_id=-1", "user_id=1.5", "user_id=9223372036854775808",
		"user_id=99999999999999999999", "user_id=%3", "user_id=%",
		"user_id=%zz", "user_id=%3g", "user_id=5%", "user_id=+5",
		"user_id=%2B5", "user_id= 5", "user_id=5 ", "user_id=5%00",
		"user_id=1e3", "user_id=0x10", "user_id==5", "user_id=5=",
		"user_id=\"5\"",
	};
	struct input in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum clp_err e = query(bad[i], &in);

		if (e != CLP_ERR_INVALID_FIELD)
			fail_msg("query %s: got %s, want invalid_field",
			    bad[i], err_name(e));
		assert_string_equal(in.bad_field, "user_id");
	}
}

static void
test_query_unknown(void **state)
{
	struct input in;
	char q[600];

	(void)state;
	assert_err(query("foo=1", &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "foo");
	assert_err(query("user_id=5&x=1", &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "x");
	assert_err(query("x&user_id=5", &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "x");
	assert_err(query("USER_ID=5", &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "USER_ID");
	assert_err(query("=5", &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "");
	assert_err(query("order_id=5", &in), CLP_ERR_UNKNOWN_FIELD);
	assert_string_equal(in.bad_field, "order_id");
	/* A long unknown key is cut to the echo limit. */
	memset(q, 'q', 500);
	strcpy(q + 500, "=1");
	assert_err(query(q, &in), CLP_ERR_UNKNOWN_FIELD);
	assert_true(strlen(in.bad_field) <= VALIDATE_FIELD_ECHO_MAX);
	assert_true(strlen(in.bad_field) > 0);
}

/* -------------------------------------------------------- content type */

static void
test_content_type(void **state)
{
	static const char *const good[] = {
		"application/json", "Application/JSON", "APPLICATION/JSON",
		"application/json; charset=utf-8",
		"application/json;charset=UTF-8",
		"application/json ; charset=utf-8",
		"application/json; charset=\"utf-8\"",
	};
	static const char *const bad[] = {
		"text/plain", "application/jsonx", "application/json-patch",
		"application/json; charset=latin1",
		"application/json; charset=utf-16",
		"application/json; charset=utf-8x", "application/json, text/plain",
		"application/json; foo=bar", "application/", "application",
		"", " ", "json", "application/x-www-form-urlencoded",
		"text/json", "multipart/form-data", "application/xml",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!validate_content_type(good[i]))
			fail_msg("content type \"%s\" refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (validate_content_type(bad[i]))
			fail_msg("content type \"%s\" accepted", bad[i]);
	assert_false(validate_content_type(NULL));
}

/* ---------------------------------------------------------------- utf8 */

static bool
utf8(const char *s, size_t len, size_t *cps, bool *ctl)
{
	*cps = (size_t)-1;
	*ctl = false;
	return validate_utf8(s, len, cps, ctl);
}

static void
test_utf8_valid(void **state)
{
	size_t n;
	bool ctl;

	(void)state;
	assert_true(utf8("", 0, &n, &ctl));
	assert_int_equal(n, 0);
	assert_false(ctl);
	assert_true(utf8("abc", 3, &n, &ctl));
	assert_int_equal(n, 3);
	assert_false(ctl);
	/* é 日 😀: 2 + 3 + 4 bytes, 3 code points. */
	assert_true(utf8("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", 9, &n, &ctl));
	assert_int_equal(n, 3);
	assert_false(ctl);
	/* Boundaries: U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF,
	 * U+D7FF, U+E000. */
	assert_true(utf8("\xc2\x80", 2, &n, &ctl));
	assert_int_equal(n, 1);
	assert_true(ctl);		/* U+0080 is C1 */
	assert_true(utf8("\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 8, &n, &ctl));
	assert_int_equal(n, 3);
	assert_false(ctl);
	assert_true(utf8("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8, &n, &ctl));
	assert_int_equal(n, 2);
	assert_true(utf8("\xed\x9f\xbf\xee\x80\x80", 6, &n, &ctl));
	assert_int_equal(n, 2);
	/* The length given is what counts, NULs included. */
	assert_true(utf8("a\0b", 3, &n, &ctl));
	assert_int_equal(n, 3);
	assert_true(ctl);
	assert_true(utf8("\xe6\x97\xa5xyz", 3, &n, &ctl));
	assert_int_equal(n, 1);
}

static void
test_utf8_controls(void **state)
{
	char s[4];
	size_t n;
	bool ctl;
	int c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		s[0] = 'a';
		s[1] = (char)c;
		assert_true(utf8(s, 2, &n, &ctl));
		assert_int_equal(n, 2);
		assert_true(ctl);
	}
	assert_true(utf8("\x7f", 1, &n, &ctl));
	assert_true(ctl);
	for (c = 0x80; c <= 0x9f; c++) {
		s[0] = (char)(0xc0 | c >> 6);
		s[1] = (char)(0x80 | (c & 0x3f));
		assert_true(utf8(s, 2, &n, &ctl));
		assert_int_equal(n, 1);
		assert_true(ctl);
	}
	/* U+00A0 and space are not controls. */
	assert_true(utf8("\xc2\xa0 ~", 4, &n, &ctl));
	assert_false(ctl);
}

static void
test_utf8_invalid(void **state)
{
	static const struct {
		const char	*s;
		size_t		 len;
	} bad[] = {
		{ "\xc0\x80", 2 },		/* overlong NUL */
		{ "\xc1\xbf", 2 },		/* overlong */
		{ "\xe0\x80\x80", 3 },		/* overlong 3-byte */
		{ "\xe0\x9f\xbf", 3 },
		{ "\xf0\x80\x80\x80", 4 },	/* overlong 4-byte */
		{ "\xf0\x8f\xbf\xbf", 4 },
		{ "\xed\xa0\x80", 3 },		/* U+D800 */
		{ "\xed\xbf\xbf", 3 },		/* U+DFFF */
		{ "\xf4\x90\x80\x80", 4 },	/* U+110000 */
		{ "\xf5\x80\x80\x80", 4 },
		{ "\xf7\xbf\xbf\xbf", 4 },
		{ "\xf8\x88\x80\x80\x80", 5 },
		{ "\xfc\x84\x80\x80\x80\x80", 6 },
		{ "\xfe", 1 }, { "\xff", 1 },
		{ "\x80", 1 }, { "\xbf", 1 },	/* lone continuation */
		{ "a\x80" "b", 3 },
		{ "\xc3", 1 },			/* truncated */
		{ "\xe6\x97", 2 },
		{ "\xf0\x9f\x98", 3 },
		{ "\xf0\x9f", 2 },
		{ "\xc3" "a", 2 },		/* bad continuation */
		{ "\xe6\x97" "a", 3 },
		{ "\xf0\x9f\x98" "a", 4 },
		{ "\xe6\xc3\xa9", 3 },
		{ "ok\xc3", 3 },
	};
	size_t i, n;
	bool ctl;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (utf8(bad[i].s, bad[i].len, &n, &ctl))
			fail_msg("invalid UTF-8 case %zu accepted", i);
}

/* ---------------------------------------------------------- id64 et al */

static void
test_id64(void **state)
{
	static const char *const bad[] = {
		"", "0", "00", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x1",
		"9223372036854775808", "9999999999999999999",
		"18446744073709551615", "18446744073709551616",
		"99999999999999999999", "123456789012345678901234", "abc",
	};
	int64_t v;
	size_t i;

	(void)state;
	v = 0;
	assert_true(validate_id64("1", 1, &v));
	assert_int_equal(v, 1);
	assert_true(validate_id64("42", 2, &v));
	assert_int_equal(v, 42);
	assert_true(validate_id64("9223372036854775807", 19, &v));
	assert_int_equal(v, INT64_MAX);
	assert_true(validate_id64("9223372036854775806", 19, &v));
	assert_int_equal(v, INT64_MAX - 1);
	/* Only len bytes are read. */
	assert_true(validate_id64("123abc", 3, &v));
	assert_int_equal(v, 123);
	assert_false(validate_id64("12\0" "3", 4, &v));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -7;
		if (validate_id64(bad[i], strlen(bad[i]), &v))
			fail_msg("id \"%s\" accepted as %lld", bad[i],
			    (long long)v);
		assert_int_equal(v, -7);	/* untouched on failure */
	}
}

static void
test_app_id_scalar(void **state)
{
	char s[70];

	(void)state;
	memset(s, 'a', sizeof(s));
	assert_true(validate_app_id(s, 1));
	assert_true(validate_app_id(s, 64));
	assert_false(validate_app_id(s, 65));
	assert_false(validate_app_id(s, 0));
	assert_true(validate_app_id("~!", 2));
	assert_false(validate_app_id("a\x7f", 2));
	assert_false(validate_app_id("a\x1f", 2));
	assert_false(validate_app_id("a\0", 2));
	assert_false(validate_app_id("\xc3\xa9", 2));
	assert_false(validate_app_id("\x80", 1));
	assert_false(validate_app_id("\xff", 1));
}

static void
test_field_names(void **state)
{
	(void)state;
	assert_string_equal(validate_field_name(FIELD_USER_ID), "user_id");
	assert_string_equal(validate_field_name(FIELD_ORDER_ID), "order_id");
	assert_string_equal(validate_field_name(FIELD_TOTAL_COST),
	    "total_cost");
	assert_string_equal(validate_field_name(FIELD_COMPLETED_AT),
	    "completed_at");
	assert_string_equal(validate_field_name(FIELD_APP_ID), "app_id");
	assert_string_equal(validate_field_name(FIELD_APPLICATION_NAME),
	    "application_name");
	assert_string_equal(validate_field_name(FIELD_ACCESS_LEVEL),
	    "access_level");
	assert_string_equal(validate_field_name(FIELD_NEW_ACCESS_LEVEL),
	    "new_access_level");
}

static int
group_teardown(void **state)
{
	(void)state;
	validate_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_ok),
		cmocka_unit_test(test_integer_types_refused),
		cmocka_unit_test(test_id_range),
		cmocka_unit_test(test_cost_and_time_range),
		cmocka_unit_test(test_missing_field),
		cmocka_unit_test(test_unknown_field),
		cmocka_unit_test(test_unknown_field_nul_in_key),
		cmocka_unit_test(test_unknown_field_long_key),
		cmocka_unit_test(test_duplicate_keys_last_wins),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_malformed_syntax),
		cmocka_unit_test(test_malformed_single_quotes),
		cmocka_unit_test(test_malformed_non_json_numbers),
		cmocka_unit_test(test_json_numbers_valid),
		cmocka_unit_test(test_malformed_utf8),
		cmocka_unit_test(test_malformed_raw_control),
		cmocka_unit_test(test_unknown_field_echo_is_utf8),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_trailing_whitespace_ok),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_body_size_limit),
		cmocka_unit_test(test_name_length_in_code_points),
		cmocka_unit_test(test_name_refused),
		cmocka_unit_test(test_name_lone_surrogate),
		cmocka_unit_test(test_name_kept_exactly),
		cmocka_unit_test(test_access_level),
		cmocka_unit_test(test_app_id),
		cmocka_unit_test(test_query_ok),
		cmocka_unit_test(test_query_page),
		cmocka_unit_test(test_query_missing),
		cmocka_unit_test(test_query_invalid),
		cmocka_unit_test(test_query_unknown),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_controls),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_id64),
		cmocka_unit_test(test_app_id_scalar),
		cmocka_unit_test(test_field_names),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
