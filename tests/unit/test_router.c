/*
 * test_router.c — the route table against SPEC §4: op, level (ops.c), accepted
 * fields, 404 / 405 with Allow, and path ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "router.h"
#include "validate.h"

#define B(f)	FIELD_BIT(FIELD_##f)

static struct route_match	m;
static struct input		in;

static void
match(const char *method, const char *path)
{
	memset(&in, 0, sizeof(in));
	router_match(method, path, &m, &in);
}

static void
expect_route(const char *method, const char *path, enum op op,
    const char *level, unsigned body_fields, unsigned query_fields)
{
	match(method, path);
	if (m.err != CLP_OK || m.route == NULL || m.bad_id != CLP_OK)
		fail_msg("%s %s: got %s, want a route", method, path,
		    error_info(m.err != CLP_OK ? m.err : m.bad_id)->code);
	assert_string_equal(m.route->method, method);
	if (m.route->op != op)
		fail_msg("%s %s: op %d, want %d", method, path,
		    (int)m.route->op, (int)op);
	/* The level is the operation's (ops.c), the same on every route. */
	if (level == NULL)
		assert_null(ops_get(m.route->op)->level);
	else {
		assert_non_null(ops_get(m.route->op)->level);
		assert_string_equal(ops_get(m.route->op)->level, level);
	}
	if (m.route->body_fields != body_fields)
		fail_msg("%s %s: body fields %#x, want %#x", method, path,
		    m.route->body_fields, body_fields);
	if (m.route->query_fields != query_fields)
		fail_msg("%s %s: query fields %#x, want %#x", method, path,
		    m.route->query_fields, query_fields);
}

static void
expect_err(const char *method, const char *path, enum clp_err err)
{
	match(method, path);
	if (m.err != err)
		fail_msg("%s %s: got %s, want %s", method, path,
		    error_info(m.err)->code, error_info(err)->code);
}

/* A known route whose {id} is malformed: the route, its 404 kept for last. */
static void
expect_bad_id(const char *method, const char *path, enum clp_err err)
{
	match(method, path);
	if (m.err != CLP_OK || m.route == NULL)
		fail_msg("%s %s: got %s, want the route", method, path,
		    error_info(m.err)->code);
	if (m.bad_id != err)
		fail_msg("%s %s: bad id %s, want %s", method, path,
		    error_info(m.bad_id)->code, error_info(err)->code);
	assert_int_equal(in.present & FIELD_BIT(m.route->path_field), 0);
}

static void
expect_405(const char *method, const char *path, const char *allow)
{
	expect_err(method, path, CLP_ERR_METHOD_NOT_ALLOWED);
	assert_null(m.route);
	assert_non_null(m.allow);
	if (strcmp(m.allow, allow) != 0)
		fail_msg("%s %s: Allow \"%s\", want \"%s\"", method, path,
		    m.allow, allow);
}

static void
test_level_strings(void **state)
{
	(void)state;
	assert_string_equal(LEVEL_MASTER, "MasterApp");
	assert_string_equal(LEVEL_READ, "Can_Read");
	assert_string_equal(LEVEL_MODIFY, "Can_Modify_Orders");
}

static void
test_health(void **state)
{
	(void)state;
	expect_route("GET", "/healthz", OP_HEALTH, NULL, 0, 0);
	assert_int_equal(m.route->path_field, FIELD__COUNT);
}

static void
test_balance(void **state)
{
	(void)state;
	expect_route("GET", "/v1/balance", OP_BALANCE, LEVEL_READ, 0,
	    B(USER_ID));
	assert_int_equal(m.route->path_field, FIELD__COUNT);
	expect_route("GET", "/v1/customers/42/balance", OP_BALANCE,
	    LEVEL_READ, 0, 0);
	assert_int_equal(m.route->path_field, FIELD_USER_ID);
	assert_int_equal(in.user_id, 42);
	assert_true(in.present & B(USER_ID));
	assert_int_equal(m.id_len, 2);
	assert_memory_equal(m.id, "42", 2);
	expect_route("GET", "/v1/customers/9223372036854775807/balance",
	    OP_BALANCE, LEVEL_READ, 0, 0);
	assert_int_equal(in.user_id, INT64_MAX);
	/* SPEC §8: the history pages, limit and cursor in the query. */
	expect_route("GET", "/v1/customers/42/orders", OP_CUSTOMER_ORDERS,
	    LEVEL_READ, 0, B(LIMIT) | B(CURSOR));
	assert_int_equal(in.user_id, 42);
	expect_route("GET", "/v1/customers/43/ledger", OP_CUSTOMER_LEDGER,
	    LEVEL_READ, 0, B(LIMIT) | B(CURSOR));
	assert_int_equal(in.user_id, 43);
	expect_405("DELETE", "/v1/customers/42/orders", "GET");
	expect_405("POST", "/v1/customers/42/ledger", "GET");
	expect_bad_id("GET", "/v1/customers/0/orders", CLP_ERR_NOT_FOUND);
	expect_bad_id("GET", "/v1/customers/x/ledger", CLP_ERR_NOT_FOUND);
}

static void
test_orders(void **state)
{
	(void)state;
	expect_route("POST", "/v1/orders", OP_RECORD_ORDER, LEVEL_MODIFY,
	    B(USER_ID) | B(ORDER_ID) | B(TOTAL_COST) | B(COMPLETED_AT), 0);
	expect_route("DELETE", "/v1/orders", OP_RETURN_ORDER, LEVEL_MODIFY,
	    B(ORDER_ID), 0);
	expect_route("DELETE", "/v1/orders/7", OP_RETURN_ORDER, LEVEL_MODIFY,
	    0, 0);
	assert_int_equal(m.route->path_field, FIELD_ORDER_ID);
	assert_int_equal(in.order_id, 7);
	assert_true(in.present & B(ORDER_ID));
	expect_route("DELETE", "/v1/orders/9223372036854775807",
	    OP_RETURN_ORDER, LEVEL_MODIFY, 0, 0);
	assert_int_equal(in.order_id, INT64_MAX);
}

static void
test_apps(void **state)
{
	char path[128], id64[65];

	(void)state;
	expect_route("GET", "/v1/apps", OP_LIST_APPS, LEVEL_MASTER, 0, 0);
	expect_route("POST", "/v1/apps", OP_CREATE_APP, LEVEL_MASTER,
	    B(APPLICATION_NAME) | B(ACCESS_LEVEL), 0);
	expect_route("PUT", "/v1/apps", OP_SET_LEVEL, LEVEL_MASTER,
	    B(APP_ID) | B(NEW_ACCESS_LEVEL), 0);
	expect_route("DELETE", "/v1/apps", OP_DELETE_APP, LEVEL_MASTER,
	    B(APP_ID), 0);
	expect_route("PUT", "/v1/apps/abc", OP_SET_LEVEL, LEVEL_MASTER,
	    B(NEW_ACCESS_LEVEL), 0);
	assert_int_equal(m.route->path_field, FIELD_APP_ID);
	assert_string_equal(in.app_id, "abc");
	assert_true(in.present & B(APP_ID));
	expect_route("DELETE", "/v1/apps/abc", OP_DELETE_APP, LEVEL_MASTER,
	    0, 0);
	assert_string_equal(in.app_id, "abc");
	expect_route("POST", "/v1/apps/abc/token", OP_ROTATE_TOKEN,
	    LEVEL_MASTER, 0, 0);
	assert_int_equal(m.route->path_field, FIELD_APP_ID);
	assert_string_equal(in.app_id, "abc");
	assert_int_equal(m.id_len, 3);
	assert_memory_equal(m.id, "abc", 3);

	memset(id64, 'z', 64);
	id64[64] = '\0';
	snprintf(path, sizeof(path), "/v1/apps/%s", id64);
	expect_route("DELETE", path, OP_DELETE_APP, LEVEL_MASTER, 0, 0);
	assert_string_equal(in.app_id, id64);
	snprintf(path, sizeof(path), "/v1/apps/%s/token", id64);
	expect_route("POST", path, OP_ROTATE_TOKEN, LEVEL_MASTER, 0, 0);
	assert_string_equal(in.app_id, id64);
}

static void
test_not_found(void **state)
{
	static const char *const paths[] = {
		"/", "", "/v1", "/v1/", "/v1/balance/", "/v2/balance",
		"/v1/orders/", "/v1/apps/x/token/extra", "/v1/apps/",
		"/v1/apps/x/", "/v1/apps/x/token/", "/v1/apps/x/tokens",
		"/v1/apps//token", "/v1/customers/42", "/v1/customers/42/",
		"/v1/customers//balance", "/v1/customers/42/balance/",
		"/v1/customers/1/2/balance", "/healthz/", "/healthz2",
		"/HEALTHZ", "/V1/balance", "v1/balance", "//v1/balance",
		"/v1/balanc", "/v1/balancex", "/v1/orders/7/x",
		"/v1/order", "/v1/ordersx", "/v1/balance?user_id=1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		expect_err("GET", paths[i], CLP_ERR_NOT_FOUND);
		assert_null(m.route);
		expect_err("DELETE", paths[i], CLP_ERR_NOT_FOUND);
		assert_null(m.route);
	}
	expect_err(NULL, "/healthz", CLP_ERR_NOT_FOUND);
	expect_err("GET", NULL, CLP_ERR_NOT_FOUND);
}

static void
test_method_not_allowed(void **state)
{
	(void)state;
	expect_405("POST", "/v1/balance", "GET");
	expect_405("DELETE", "/v1/balance", "GET");
	expect_405("PUT", "/v1/customers/42/balance", "GET");
	expect_405("GET", "/v1/orders", "POST, DELETE");
	expect_405("PUT", "/v1/orders", "POST, DELETE");
	expect_405("PATCH", "/v1/orders", "POST, DELETE");
	expect_405("GET", "/v1/orders/7", "DELETE");
	expect_405("POST", "/v1/orders/7", "DELETE");
	expect_405("PATCH", "/v1/apps", "GET, POST, PUT, DELETE");
	expect_405("HEAD", "/v1/apps", "GET, POST, PUT, DELETE");
	expect_405("GET", "/v1/apps/abc", "PUT, DELETE");
	expect_405("POST", "/v1/apps/abc", "PUT, DELETE");
	expect_405("GET", "/v1/apps/abc/token", "POST");
	expect_405("DELETE", "/v1/apps/abc/token", "POST");
	expect_405("POST", "/healthz", "GET");
	expect_405("HEAD", "/healthz", "GET");
	/* Methods are case-sensitive (RFC 9110). */
	expect_405("get", "/healthz", "GET");
	expect_405("", "/healthz", "GET");
	/* The route is judged before the id: 405 even with a bad id. */
	expect_405("GET", "/v1/orders/abc", "DELETE");
	expect_405("POST", "/v1/customers/x/balance", "GET");
}

static void
test_malformed_ids(void **state)
{
	static const char *const bad_orders[] = {
		"/v1/orders/abc", "/v1/orders/0", "/v1/orders/-1",
		"/v1/orders/+1", "/v1/orders/1.0", "/v1/orders/1e3",
		"/v1/orders/9223372036854775808",
		"/v1/orders/99999999999999999999", "/v1/orders/%31",
	};
	static const char *const bad_customers[] = {
		"/v1/customers/x/balance", "/v1/customers/0/balance",
		"/v1/customers/-5/balance",
		"/v1/customers/9223372036854775808/balance",
	};
	char path[160], id65[66];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_orders) / sizeof(bad_orders[0]); i++)
		expect_bad_id("DELETE", bad_orders[i], CLP_ERR_ORDER_NOT_FOUND);
	for (i = 0; i < sizeof(bad_customers) / sizeof(bad_customers[0]);
	    i++)
		expect_bad_id("GET", bad_customers[i], CLP_ERR_NOT_FOUND);

	memset(id65, 'z', 65);
	id65[65] = '\0';
	snprintf(path, sizeof(path), "/v1/apps/%s", id65);
	expect_bad_id("PUT", path, CLP_ERR_APP_NOT_FOUND);
	expect_bad_id("DELETE", path, CLP_ERR_APP_NOT_FOUND);
	snprintf(path, sizeof(path), "/v1/apps/%s/token", id65);
	expect_bad_id("POST", path, CLP_ERR_APP_NOT_FOUND);
	/* Non-printable bytes in an app id. */
	expect_bad_id("DELETE", "/v1/apps/a\x7f" "b", CLP_ERR_APP_NOT_FOUND);
	expect_bad_id("DELETE", "/v1/apps/\xc3\xa9", CLP_ERR_APP_NOT_FOUND);
	expect_bad_id("POST", "/v1/apps/a\tb/token", CLP_ERR_APP_NOT_FOUND);
}

static void
test_match_reset(void **state)
{
	(void)state;
	/* A failed match leaves no route behind from an earlier one. */
	match("GET", "/healthz");
	assert_non_null(m.route);
	router_match("GET", "/nope", &m, &in);
	assert_null(m.route);
	assert_int_equal(m.err, CLP_ERR_NOT_FOUND);
	assert_null(m.allow);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_strings),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_orders),
		cmocka_unit_test(test_apps),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_malformed_ids),
		cmocka_unit_test(test_match_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
