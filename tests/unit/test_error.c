/*
 * test_error.c — the error table against SPEC §2–§4, the SQLSTATE mapping,
 * and request_id_valid() (SPEC §3, X-Request-Id).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "request.h"

static void
test_table_complete(void **state)
{
	int e;

	(void)state;
	for (e = 1; e < CLP_ERR__COUNT; e++) {
		const struct error_info *i = error_info((enum clp_err)e);

		assert_non_null(i);
		if (i->code == NULL || *i->code == '\0')
			fail_msg("error %d has no code", e);
		if (i->message == NULL || *i->message == '\0')
			fail_msg("error %d (%s) has no message", e, i->code);
		if (i->reason == NULL || *i->reason == '\0')
			fail_msg("error %d (%s) has no reason", e, i->code);
		if (i->status < 400 || i->status > 599)
			fail_msg("error %d (%s) has status %d", e, i->code,
			    i->status);
		/* Codes are lower_snake_case. */
		if (strspn(i->code, "abcdefghijklmnopqrstuvwxyz_") !=
		    strlen(i->code))
			fail_msg("error %d code \"%s\"", e, i->code);
	}
}

static void
test_codes_unique(void **state)
{
	int a, b;

	(void)state;
	for (a = 0; a < CLP_ERR__COUNT; a++)
		for (b = a + 1; b < CLP_ERR__COUNT; b++) {
			const struct error_info *x = error_info(a);
			const struct error_info *y = error_info(b);

			if (strcmp(x->code, y->code) == 0)
				fail_msg("errors %d and %d share code %s", a,
				    b, x->code);
			if (x->sqlstate != NULL && y->sqlstate != NULL &&
			    strcmp(x->sqlstate, y->sqlstate) == 0)
				fail_msg("errors %d and %d share SQLSTATE %s",
				    a, b, x->sqlstate);
		}
}

static void
test_spec_statuses(void **state)
{
	static const struct {
		enum clp_err	 e;
		const char	*code;
		int		 status;
		const char	*reason;
	} spec[] = {
		{ CLP_ERR_NOT_FOUND, "not_found", 404, "Not Found" },
		{ CLP_ERR_METHOD_NOT_ALLOWED, "method_not_allowed", 405,
		    "Method Not Allowed" },
		{ CLP_ERR_UNAUTHORIZED, "unauthorized", 401, "Unauthorized" },
		{ CLP_ERR_FORBIDDEN, "forbidden", 403, "Forbidden" },
		{ CLP_ERR_PAYLOAD_TOO_LARGE, "payload_too_large", 413,
		    "Payload Too Large" },
		{ CLP_ERR_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
		    415, "Unsupported Media Type" },
		{ CLP_ERR_MALFORMED_JSON, "malformed_json", 400,
		    "Bad Request" },
		{ CLP_ERR_INVALID_FIELD, "invalid_field", 422,
		    "Unprocessable Entity" },
		{ CLP_ERR_MISSING_FIELD, "missing_field", 422,
		    "Unprocessable Entity" },
		{ CLP_ERR_UNKNOWN_FIELD, "unknown_field", 422,
		    "Unprocessable Entity" },
		{ CLP_ERR_ORDER_NOT_FOUND, "order_not_found", 404,
		    "Not Found" },
		{ CLP_ERR_APP_NOT_FOUND, "app_not_found", 404, "Not Found" },
		{ CLP_ERR_ORDER_EXISTS, "order_exists", 409, "Conflict" },
		{ CLP_ERR_ORDER_ALREADY_DELETED, "order_already_deleted", 409,
		    "Conflict" },
		{ CLP_ERR_APP_NAME_TAKEN, "app_name_taken", 409, "Conflict" },
		{ CLP_ERR_MASTER_APP_IMMUTABLE, "master_app_immutable", 409,
		    "Conflict" },
		{ CLP_ERR_MASTER_EXISTS, "master_exists", 409, "Conflict" },
		{ CLP_ERR_UNAVAILABLE, "unavailable", 503,
		    "Service Unavailable" },
		{ CLP_ERR_INTERNAL, "internal", 500,
		    "Internal Server Error" },
	};
	size_t i;

	(void)state;
	/* Every error of the enum is in this list. */
	assert_int_equal(sizeof(spec) / sizeof(spec[0]), CLP_ERR__COUNT - 1);
	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		const struct error_info *e = error_info(spec[i].e);

		assert_string_equal(e->code, spec[i].code);
		if (e->status != spec[i].status)
			fail_msg("%s: status %d, want %d", e->code, e->status,
			    spec[i].status);
		assert_string_equal(e->reason, spec[i].reason);
	}
	/* Out-of-range values do not read past the table. */
	assert_string_equal(error_info(CLP_ERR__COUNT)->code, "internal");
	assert_string_equal(error_info((enum clp_err)-1)->code, "internal");
	assert_string_equal(error_info((enum clp_err)1000)->code, "internal");
}

static void
test_sqlstates(void **state)
{
	static const struct {
		const char	*sqlstate;
		const char	*code;
		int		 status;
	} map[] = {
		{ "CLA01", "unauthorized", 401 },
		{ "CLA03", "forbidden", 403 },
		{ "CLV01", "invalid_field", 422 },
		{ "CLN01", "order_not_found", 404 },
		{ "CLN02", "app_not_found", 404 },
		{ "CLC01", "order_exists", 409 },
		{ "CLC02", "order_already_deleted", 409 },
		{ "CLC03", "app_name_taken", 409 },
		{ "CLC04", "master_app_immutable", 409 },
		{ "CLC05", "master_exists", 409 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		enum clp_err e = error_from_sqlstate(map[i].sqlstate);
		const struct error_info *info = error_info(e);

		if (strcmp(info->code, map[i].code) != 0)
			fail_msg("SQLSTATE %s maps to %s, want %s",
			    map[i].sqlstate, info->code, map[i].code);
		assert_int_equal(info->status, map[i].status);
		assert_non_null(info->sqlstate);
		assert_string_equal(info->sqlstate, map[i].sqlstate);
	}
}

static void
test_sqlstates_unknown(void **state)
{
	static const char *const unknown[] = {
		"", "CLA0", "CLA011", "cla01", "CLA02", "CLX99", "00000",
		"23505", "40001", "57014", "08006", "P0001", "XX000",
		" CLA01", "CLA01 ",
	};
	size_t i;

	(void)state;
	assert_int_equal(error_from_sqlstate(NULL), CLP_ERR_INTERNAL);
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		if (error_from_sqlstate(unknown[i]) != CLP_ERR_INTERNAL)
			fail_msg("SQLSTATE \"%s\" maps to %s", unknown[i],
			    error_info(error_from_sqlstate(unknown[i]))->code);
}

/* ---------------------------------------------------------- request id */

static void
test_request_id_valid(void **state)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~:+/=-";
	char id[REQUEST_ID_MAX + 8];
	size_t i;

	(void)state;
	assert_int_equal(REQUEST_ID_MAX, 128);
	assert_true(request_id_valid("a"));
	assert_true(request_id_valid("-"));
	assert_true(request_id_valid("req-123_abc.def~x:y+z/w="));
	assert_true(request_id_valid("0f3a9c2e-6b1d-4c5e-9a7f-1e2d3c4b5a69"));
	/* Every allowed character on its own. */
	for (i = 0; i < sizeof(allowed) - 1; i++) {
		id[0] = allowed[i];
		id[1] = '\0';
		if (!request_id_valid(id))
			fail_msg("request id \"%s\" refused", id);
	}
	/* 128 characters: ok; 129: refused. */
	memset(id, 'r', 128);
	id[128] = '\0';
	assert_true(request_id_valid(id));
	id[128] = 'r';
	id[129] = '\0';
	assert_false(request_id_valid(id));
}

static void
test_request_id_invalid(void **state)
{
	static const char *const bad[] = {
		"", " ", "a b", "a\"b", "\"", "a'b", "a\tb", "a\nb", "a\rb",
		"a,b", "a;b", "a<b>", "a\\b", "a%20b", "a?b", "a#b", "a&b",
		"a*b", "a@b", "a!b", "a(b)", "a[b]", "a{b}", "a|b", "a^b",
		"a`b", "a$b", "\xc3\xa9", "a\x80", "a\xff", "a\x7f", "a\x01",
		"trailing ", " leading",
	};
	int c;
	char id[3];
	size_t i;

	(void)state;
	assert_false(request_id_valid(NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (request_id_valid(bad[i]))
			fail_msg("request id \"%s\" accepted", bad[i]);
	/* Every byte outside the set, after a valid character. */
	for (c = 1; c < 256; c++) {
		id[0] = 'a';
		id[1] = (char)c;
		id[2] = '\0';
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~:+/=-", c) != NULL)
			continue;
		if (request_id_valid(id))
			fail_msg("request id with byte 0x%02x accepted", c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_codes_unique),
		cmocka_unit_test(test_spec_statuses),
		cmocka_unit_test(test_sqlstates),
		cmocka_unit_test(test_sqlstates_unknown),
		cmocka_unit_test(test_request_id_valid),
		cmocka_unit_test(test_request_id_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
