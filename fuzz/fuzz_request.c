/*
 * fuzz_request.c — libFuzzer target over everything a worker does with a
 * request before it talks to the database: the FastCGI parameters as
 * request.c reads them (method, path, query string, Content-Type,
 * Content-Length and the 16 KiB body cap, Authorization, X-Request-Id),
 * and the worker's own step from there (service_prepare(): the router,
 * bearer-token parsing, the auth cache, Content-Type, JSON body and query
 * string validation in the SPEC's order), and the error body service.c
 * writes from the result.  A well-formed token is cached first, so its
 * request reaches validation without a database.
 *
 * Besides the sanitizers, a few oracles abort on wrong answers:
 *   - a validated input holds every field the route lists, in range;
 *   - the error body (with the echoed bad field) is valid JSON in UTF-8;
 *   - validate_body() says malformed_json exactly when the body is not an
 *     RFC 8259 JSON object (checked by a small independent validator here,
 *     which also refuses lone surrogate escapes as the SPEC's choice);
 *   - a parsed bearer token is 1..128 printable characters;
 *   - a cursor accepted for a page is the one cursor.c makes of its list,
 *     customer and position (the fuzzer's key is the empty key, with
 *     which fuzz/corpus/customer-orders-page's cursor was made).
 * Set CLP_FUZZ_ORACLES=0 in the environment to keep only the sanitizers,
 * or CLP_FUZZ_SKIP to a comma-separated list of oracles to skip, to keep
 * fuzzing past a known bug (fuzz/README.md):
 *   utf8     the error body's UTF-8 check
 *   numbers  json-c's leniency on numbers (01, 1., -01, -.5) in the JSON
 *            check
 *
 * Input framing (see fuzz/README.md):
 *   byte 0   method: m < 0xf0 picks methods[m % N]; otherwise the method
 *            is the first NUL-terminated field below
 *   byte 1   NULL mask: bit i set makes parameter i absent (NULL)
 *   then NUL-terminated fields: [method], path, query, authorization,
 *            content type, x-request-id, content length; the rest is the
 *            body (it may hold NULs).  Missing fields are absent.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "auth.h"
#include "ops.h"
#include "service.h"
#include "buf.h"
#include "cursor.h"
#include "jsonw.h"
#include "points.h"
#include "request.h"
#include "router.h"
#include "token.h"
#include "validate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

#define CHECK(cond, what) do {						\
	if (oracles && !(cond)) {					\
		fprintf(stderr, "fuzz_request: oracle failed: %s (%s:%d)\n", \
		    what, __FILE__, __LINE__);				\
		abort();						\
	}								\
} while (0)

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE",
    "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get", "" };
#define NMETHODS	(sizeof(methods) / sizeof(methods[0]))

enum param { P_PATH, P_QUERY, P_AUTH, P_CTYPE, P_REQID, P_CLEN, P__COUNT };

static bool		 oracles = true;
static bool		 check_utf8 = true;
static bool		 lax_numbers = false;
static struct buf	 out;
static struct request	*req;
static struct auth	 auth;
static struct service_call *call;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char inner_pad[CURSOR_PAD_LEN], outer_pad[CURSOR_PAD_LEN];
	const char *o = getenv("CLP_FUZZ_ORACLES");

	(void)argc;
	(void)argv;
	oracles = o == NULL || strcmp(o, "0") != 0;
	if ((o = getenv("CLP_FUZZ_SKIP")) != NULL) {
		check_utf8 = strstr(o, "utf8") == NULL;
		lax_numbers = strstr(o, "numbers") != NULL;
	}
	buf_init(&out, 4u * 1024 * 1024);
	/* One request struct across inputs, as a worker keeps one. */
	req = calloc(1, sizeof(*req));
	call = service_call_new();
	auth_init(&auth);
	/* HMAC's padded forms of the empty key (RFC 2104). */
	memset(inner_pad, 0x36, sizeof(inner_pad));
	memset(outer_pad, 0x5c, sizeof(outer_pad));
	return req == NULL || call == NULL || !cursor_set_key(inner_pad,
	    sizeof(inner_pad), outer_pad, sizeof(outer_pad));
}

/* ---- an independent RFC 8259 validator (the oracle for validate_body) */

struct jv {
	const unsigned char	*s;
	size_t			 len, i;
	int			 depth, max_depth;
	bool			 lax;	/* leading zeros, "1." */
};

static void	jv_ws(struct jv *);
static bool	jv_value(struct jv *);

static void
jv_ws(struct jv *v)
{
	while (v->i < v->len && (v->s[v->i] == ' ' || v->s[v->i] == '\t' ||
	    v->s[v->i] == '\n' || v->s[v->i] == '\r'))
		v->i++;
}

static int
jv_hex4(struct jv *v)
{
	int x = 0, k, d;

	if (v->len - v->i < 4)
		return -1;
	for (k = 0; k < 4; k++) {
		unsigned char c = v->s[v->i + k];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		x = x << 4 | d;
	}
	v->i += 4;
	return x;
}

/* One UTF-8 sequence at v->i (already known to be >= 0x80). */
static bool
jv_utf8(struct jv *v)
{
	size_t cps;
	bool ctl;
	size_t n;
	unsigned char c = v->s[v->i];

	n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (v->len - v->i < n || !validate_utf8((const char *)v->s + v->i, n,
	    &cps, &ctl) || cps != 1)
		return false;
	v->i += n;
	return true;
}

static bool
jv_string(struct jv *v)
{
	int u, lo;

	v->i++;		/* the opening quote */
	while (v->i < v->len) {
		unsigned char c = v->s[v->i];

		if (c == '"') {
			v->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c >= 0x80) {
			if (!jv_utf8(v))
				return false;
			continue;
		}
		v->i++;
		if (c != '\\')
			continue;
		if (v->i >= v->len)
			return false;
		c = v->s[v->i++];
		if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
			continue;
		if (c != 'u' || (u = jv_hex4(v)) < 0)
			return false;
		if (u >= 0xdc00 && u <= 0xdfff)
			return false;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (v->len - v->i < 2 || v->s[v->i] != '\\' ||
			    v->s[v->i + 1] != 'u')
				return false;
			v->i += 2;
			if ((lo = jv_hex4(v)) < 0 || lo < 0xdc00 || lo > 0xdfff)
				return false;
		}
	}
	return false;
}

static bool
jv_digits(struct jv *v)
{
	size_t start = v->i;

	while (v->i < v->len && v->s[v->i] >= '0' && v->s[v->i] <= '9')
		v->i++;
	return v->i > start;
}

static bool
jv_number(struct jv *v)
{
	size_t start;

	if (v->s[v->i] == '-')
		v->i++;
	if (v->lax) {
		/* json-c's grammar: 01, 1., -.5 */
		start = v->i;
		jv_digits(v);
		if (v->i < v->len && v->s[v->i] == '.') {
			v->i++;
			jv_digits(v);
		}
		if (v->i == start || (v->i == start + 1 &&
		    v->s[start] == '.'))
			return false;
	} else if (v->i < v->len && v->s[v->i] == '0') {
		v->i++;
	} else if (!jv_digits(v)) {
		return false;
	}
	if (!v->lax && v->i < v->len && v->s[v->i] == '.') {
		v->i++;
		if (!jv_digits(v))
			return false;
	}
	if (v->i < v->len && (v->s[v->i] == 'e' || v->s[v->i] == 'E')) {
		v->i++;
		if (v->i < v->len && (v->s[v->i] == '+' || v->s[v->i] == '-'))
			v->i++;
		if (!jv_digits(v))
			return false;
	}
	return true;
}

static bool
jv_container(struct jv *v, unsigned char close)
{
	bool first = true;

	if (++v->depth > v->max_depth)
		v->max_depth = v->depth;
	if (v->depth > 1000)
		return false;
	v->i++;
	jv_ws(v);
	if (v->i < v->len && v->s[v->i] == close) {
		v->i++;
		v->depth--;
		return true;
	}
	for (;;) {
		if (!first) {
			jv_ws(v);
			if (v->i >= v->len)
				return false;
			if (v->s[v->i] == close) {
				v->i++;
				v->depth--;
				return true;
			}
			if (v->s[v->i] != ',')
				return false;
			v->i++;
		}
		first = false;
		jv_ws(v);
		if (close == '}') {
			if (v->i >= v->len || v->s[v->i] != '"' ||
			    !jv_string(v))
				return false;
			jv_ws(v);
			if (v->i >= v->len || v->s[v->i] != ':')
				return false;
			v->i++;
			jv_ws(v);
		}
		if (!jv_value(v))
			return false;
	}
}

static bool
jv_value(struct jv *v)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t k, n;

	if (v->i >= v->len)
		return false;
	switch (v->s[v->i]) {
	case '{':
		return jv_container(v, '}');
	case '[':
		return jv_container(v, ']');
	case '"':
		return jv_string(v);
	default:
		break;
	}
	for (k = 0; k < 3; k++) {
		n = strlen(lits[k]);
		if (v->len - v->i >= n && memcmp(v->s + v->i, lits[k], n) == 0) {
			v->i += n;
			return true;
		}
	}
	if (v->s[v->i] == '-' || (v->s[v->i] >= '0' && v->s[v->i] <= '9') ||
	    (v->lax && v->s[v->i] == '.'))
		return jv_number(v);
	return false;
}

/* 1: a JSON object; 0: not JSON or not an object; *depth: its nesting. */
static int
jv_is_object(const char *s, size_t len, int *depth, bool lax)
{
	struct jv v = { (const unsigned char *)s, len, 0, 0, 0, lax };
	bool good;

	jv_ws(&v);
	if (v.i >= len || s[v.i] != '{')
		return 0;
	good = jv_value(&v);
	*depth = v.max_depth;
	if (!good)
		return 0;
	jv_ws(&v);
	return v.i == len;
}

/* ---- the worker's steps ---- */

/* service_error_body(), checked to be valid UTF-8 JSON. */
static void
error_body(enum clp_err err, const char *field, const char *allow)
{
	struct json_tokener *tok;
	struct json_object *o, *eo, *fo;
	char headers[128];
	size_t cps;
	bool ctl;

	if (allow != NULL)
		snprintf(headers, sizeof(headers), "Allow: %s\r\n", allow);
	service_error_body(&out, err, field);
	CHECK(!buf_failed(&out), "error body fits");
	if (!oracles)
		return;
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    (check_utf8 ? JSON_TOKENER_VALIDATE_UTF8 : 0));
	o = json_tokener_parse_ex(tok, out.data, (int)out.len);
	CHECK(o != NULL && json_tokener_get_error(tok) == json_tokener_success,
	    "error body is valid UTF-8 JSON (field echoed as bytes?)");
	CHECK(json_object_object_get_ex(o, "error", &eo), "error key");
	/* Valid UTF-8 comes back exactly; invalid bytes as U+FFFD. */
	if (field != NULL && validate_utf8(field, strlen(field), &cps, &ctl)) {
		CHECK(json_object_object_get_ex(eo, "field", &fo) &&
		    strcmp(json_object_get_string(fo), field) == 0,
		    "field round-trips");
	}
	json_object_put(o);
	json_tokener_free(tok);
}

/* An accepted cursor is exactly the text made of what it gave. */
static void
check_cursor(const struct input *in, char list)
{
	char again[CURSOR_LEN + 1];

	CHECK(cursor_make(list, in->user_id, in->position, again) &&
	    strcmp(again, in->cursor) == 0, "a cursor read is the one made");
}

static void
check_input(const struct input *in, unsigned fields)
{
	size_t cps;
	bool ctl;

	CHECK((in->present & fields & ~VALIDATE_OPTIONAL) ==
	    (fields & ~VALIDATE_OPTIONAL), "every required field present");
	if (in->present & FIELD_BIT(FIELD_LIMIT))
		CHECK(in->limit >= 1 && in->limit <= VALIDATE_LIMIT_MAX,
		    "limit range");
	if (in->present & FIELD_BIT(FIELD_CURSOR))
		CHECK(strlen(in->cursor) >= 1 &&
		    strlen(in->cursor) <= VALIDATE_CURSOR_MAX &&
		    strspn(in->cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_") ==
		    strlen(in->cursor), "cursor alphabet");
	if (fields & FIELD_BIT(FIELD_USER_ID))
		CHECK(in->user_id >= 1, "user_id range");
	if (fields & FIELD_BIT(FIELD_ORDER_ID))
		CHECK(in->order_id >= 1, "order_id range");
	if (fields & FIELD_BIT(FIELD_TOTAL_COST))
		CHECK(in->total_cost >= 0 && in->total_cost <= INT32_MAX,
		    "total_cost range");
	if (fields & FIELD_BIT(FIELD_COMPLETED_AT))
		CHECK(in->completed_at >= 0 &&
		    in->completed_at <= INT64_C(253402300799),
		    "completed_at range");
	if (fields & FIELD_BIT(FIELD_APP_ID))
		CHECK(validate_app_id(in->app_id, strlen(in->app_id)),
		    "app_id printable 1..64");
	if (fields & FIELD_BIT(FIELD_APPLICATION_NAME))
		CHECK(validate_utf8(in->application_name,
		    strlen(in->application_name), &cps, &ctl) && !ctl &&
		    cps >= 1 && cps <= 30, "application_name 1..30 chars");
	if (fields & (FIELD_BIT(FIELD_ACCESS_LEVEL) |
	    FIELD_BIT(FIELD_NEW_ACCESS_LEVEL)))
		CHECK(in->access_level != NULL &&
		    (strcmp(in->access_level, "Can_Read") == 0 ||
		    strcmp(in->access_level, "Can_Modify_Orders") == 0),
		    "assignable level");
}

static void
check_body_oracle(const struct request *r, enum clp_err err)
{
	int depth = 0, obj;

	if (!oracles)
		return;
	obj = jv_is_object(r->body, r->body_len, &depth, false);
	if (err == CLP_ERR_MALFORMED_JSON) {
		/* Refusing a valid object is fine only past the limit. */
		CHECK(!obj || depth > VALIDATE_JSON_DEPTH,
		    "valid JSON object called malformed");
	} else {
		if (!obj && lax_numbers)
			obj = jv_is_object(r->body, r->body_len, &depth, true);
		CHECK(obj, "malformed JSON accepted (RFC 8259)");
		CHECK(depth <= VALIDATE_JSON_DEPTH, "nesting past the limit "
		    "accepted");
		CHECK(r->body_len < 3 ||
		    memcmp(r->body, "\xef\xbb\xbf", 3) != 0, "BOM accepted");
	}
}

static void
points(const uint8_t *data, size_t size, const struct input *in)
{
	char buf[CLP_POINTS_TEXT_MAX];
	int64_t raw[3] = { 0, 0, 0 }, award;
	int n;

	memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
	award = clp_points_award(raw[0], raw[1], raw[2]);
	CHECK(award >= -1, "award -1 or positive");
	award = clp_points_award(in->total_cost, in->user_id, in->order_id);
	n = clp_points_format(award, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n < sizeof(buf), "format fits");
	n = clp_points_format(raw[0], buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n < sizeof(buf), "format fits");
#ifdef CLP_INT_TEXT_MAX
	{
		char ibuf[CLP_INT_TEXT_MAX], want[32];
		int k;

		for (k = 0; k < 3; k++) {
			n = clp_int_format(raw[k], ibuf, sizeof(ibuf));
			snprintf(want, sizeof(want), "%lld", (long long)raw[k]);
			CHECK(n == (int)strlen(want) &&
			    memcmp(ibuf, want, (size_t)n) == 0,
			    "clp_int_format agrees with printf");
		}
	}
#endif
	buf_reset(&out);
	jsonw_points(&out, raw[1]);
	jsonw_i64(&out, raw[2]);
	CHECK(!buf_failed(&out), "points written");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *param[P__COUNT] = { NULL };
	const char *method;
	char *copy, *p, *end;
	struct route_match m;
	struct input in;
	struct token tok;
	const char *allow;
	enum clp_err err, e2;
	bool tok_ok;
	unsigned mask;
	size_t i;

	if (size < 2)
		return 0;
	/* One copy with a NUL past the end, so every field is a C string. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	mask = data[1];
	p = copy + 2;
	end = copy + size;
	if (data[0] < 0xf0) {
		method = methods[data[0] % NMETHODS];
	} else {
		method = p;
		p += strlen(p) + (p < end);
	}
	for (i = 0; i < P__COUNT && p < end; i++) {
		param[i] = (mask & (1u << i)) ? NULL : p;
		p += strlen(p) + 1;
	}
	if (p > end)
		p = end;

	memset(&in, 0, sizeof(in));
	req->method = (mask & 0x80) ? NULL : method;
	req->path = param[P_PATH];
	req->query = param[P_QUERY];
	req->authorization = param[P_AUTH];
	req->content_type = param[P_CTYPE];
	if (request_id_valid(param[P_REQID])) {
		CHECK(strlen(param[P_REQID]) <= REQUEST_ID_MAX, "id length");
		snprintf(req->request_id, sizeof(req->request_id), "%s",
		    param[P_REQID]);
	} else {
		snprintf(req->request_id, sizeof(req->request_id), "%s",
		    "0123456789abcdef0123456789abcdef");
	}
	request_set_body(req, param[P_CLEN], p, (size_t)(end - p));

	/* The router's own oracles. */
	router_match(req->method, req->path, &m, &in);
	if (m.err != CLP_OK) {
		CHECK(m.route == NULL || m.err != CLP_ERR_METHOD_NOT_ALLOWED,
		    "405 without a route");
	} else if (m.route->path_field != FIELD__COUNT) {
		CHECK(((in.present & FIELD_BIT(m.route->path_field)) != 0) ==
		    (m.bad_id == CLP_OK), "path id stored unless malformed");
	} else {
		CHECK(m.bad_id == CLP_OK, "no bad id without a path id");
	}

	/* A well-formed token is put in the cache first, so that the
	 * worker's own step goes on to validation without a database. */
	tok_ok = token_parse_bearer(req->authorization, &tok);
	if (tok_ok) {
		CHECK(tok.app_id[0] != '\0' && tok.secret_len > 0 &&
		    strlen(tok.app_id) + 1 + tok.secret_len <= TOKEN_MAX &&
		    strlen(tok.secret) == tok.secret_len,
		    "token fields");
		CHECK(validate_app_id(tok.app_id, strlen(tok.app_id)),
		    "token app id");
		auth_remember(&auth, &tok, "fuzz-proof");
	}

	/* The worker's step up to the database (service.c). */
	err = service_prepare(&auth, call, req, &allow);
	if (err != CLP_OK) {
		CHECK(err == m.err || (m.err == CLP_OK && !tok_ok &&
		    err == CLP_ERR_UNAUTHORIZED), "route, then 401");
		error_body(err, NULL, allow);
	}
	if (m.err != CLP_OK || ops_get(m.route->op)->level == NULL)
		goto done;

	/* The body validator on its own, whatever the content type. */
	if (m.route->body_fields != 0 && !req->body_too_large) {
		struct input other;

		memset(&other, 0, sizeof(other));
		e2 = validate_body(req->body, req->body_len,
		    m.route->body_fields, &other);
		check_body_oracle(req, e2);
		if (e2 == CLP_OK)
			check_input(&other, m.route->body_fields);
	}
	if (tok_ok) {
		CHECK(err == CLP_OK && service_next(call) !=
		    SERVICE_NEXT_AUTH_LOOKUP, "a cached token is not looked up");
		in = *service_input(call);
		err = service_next(call) == SERVICE_NEXT_AUTHORIZE ?
		    service_invalid(call) : CLP_OK;
		CHECK((err != CLP_OK) == (service_next(call) ==
		    SERVICE_NEXT_AUTHORIZE), "an error waits on the level");
		if (err == CLP_OK && in.present & FIELD_BIT(FIELD_CURSOR))
			check_cursor(&in, ops_get(m.route->op)->cursor_list);
	} else {
		/* The worker stops at a bad token; the fuzzer goes on so
		 * every input reaches the validators. */
		err = service_validate(req, m.route->body_fields,
		    m.route->query_fields, &in);
	}
	if (err == CLP_OK) {
		check_input(&in, m.route->body_fields);
		check_input(&in, m.route->query_fields);
	}
	CHECK(strlen(in.bad_field) <= VALIDATE_FIELD_ECHO_MAX,
	    "bad field bounded");
	if (err != CLP_OK) {
		CHECK(err == m.bad_id || err == CLP_ERR_PAYLOAD_TOO_LARGE ||
		    err == CLP_ERR_UNSUPPORTED_MEDIA_TYPE ||
		    err == CLP_ERR_MALFORMED_JSON ||
		    err == CLP_ERR_INVALID_FIELD ||
		    err == CLP_ERR_MISSING_FIELD ||
		    err == CLP_ERR_UNKNOWN_FIELD, "a validation error");
		error_body(err, in.bad_field, NULL);
	}
	buf_reset(&out);
	jsonw_str(&out, in.bad_field, sizeof(in.bad_field) - 1);
	CHECK(!buf_failed(&out), "bad field written");
	points(data, size, &in);
done:
	free(copy);
	return 0;
}
