/*
 * handlers.c — validated input → one db_* call → JSON body.
 */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "router.h"

/* The apps list is the largest body; this bounds it (about 20,000 apps). */
#define HANDLERS_BODY_MAX	(4u * 1024 * 1024)

struct call {
	struct service		*svc;
	struct request		*req;
	const struct route	*route;
	struct db_caller	 caller;
	struct input		 in;
	struct token		 token;
};

static void		respond_error(struct call *, enum clp_err,
			    const char *, const char *);
static void		respond_ok(struct call *, int, const char *);
static enum clp_err	validate_input(struct call *);
static enum clp_err	run_op(struct call *, int *, const char **);
static void		write_app(struct jsonw *, const struct db_app *, bool);
static bool		list_app_cb(void *, const struct db_app *);
static void		write_token(struct jsonw *, const char *, const char *);
static enum clp_err	make_token(struct call *, char *, size_t, char *,
			    size_t);
static void		handle_health(struct call *);

bool
handlers_init(struct service *svc, const char *conninfo)
{
	memset(svc, 0, sizeof(*svc));
	jsonw_init(&svc->out, HANDLERS_BODY_MAX);
	db_init(&svc->db, conninfo);
	return auth_init(&svc->auth);
}

void
handlers_cleanup(struct service *svc)
{
	db_close(&svc->db);
	auth_cleanup(&svc->auth);
	jsonw_free(&svc->out);
}

static void
respond_error(struct call *c, enum clp_err err, const char *field,
    const char *allow)
{
	const struct error_info *e = error_info(err);
	struct jsonw *w = &c->svc->out;
	const char *headers = NULL;
	char allow_header[96];

	if (err == CLP_ERR_UNAUTHORIZED)
		headers = "WWW-Authenticate: Bearer\r\n";
	else if (err == CLP_ERR_UNAVAILABLE)
		headers = "Retry-After: 1\r\n";
	else if (err == CLP_ERR_METHOD_NOT_ALLOWED && allow != NULL &&
	    (size_t)snprintf(allow_header, sizeof(allow_header),
	    "Allow: %s\r\n", allow) < sizeof(allow_header))
		headers = allow_header;
	if (err == CLP_ERR_INTERNAL)
		log_msg(LOG_LEVEL_ERROR, c->req->request_id,
		    "internal error answered");

	handlers_error_body(w, err, field);
	request_respond(c->req, e->status, e->reason, headers, w);
}

void
handlers_error_body(struct jsonw *w, enum clp_err err, const char *field)
{
	const struct error_info *e = error_info(err);

	jsonw_reset(w);
	jsonw_lit(w, "{\"error\":{");
	jsonw_key(w, "code");
	jsonw_cstr(w, e->code);
	jsonw_key(w, "message");
	jsonw_cstr(w, e->message);
	if (field != NULL) {
		jsonw_key(w, "field");
		jsonw_cstr(w, field);
	}
	jsonw_lit(w, "}}");
}

static void
respond_ok(struct call *c, int status, const char *reason)
{
	if (jsonw_failed(&c->svc->out)) {
		respond_error(c, CLP_ERR_INTERNAL, NULL, NULL);
		return;
	}
	request_respond(c->req, status, reason, NULL, &c->svc->out);
}

/* 413, 415, 400, 422 — in the SPEC's order. */
static enum clp_err
validate_input(struct call *c)
{
	const struct route *rt = c->route;
	struct request *r = c->req;
	enum clp_err err;

	if (rt->body_fields != 0) {
		if (r->body_too_large)
			return CLP_ERR_PAYLOAD_TOO_LARGE;
		if ((r->body_len > 0 || r->content_type != NULL) &&
		    !validate_content_type(r->content_type))
			return CLP_ERR_UNSUPPORTED_MEDIA_TYPE;
		err = validate_body(r->body, r->body_len, rt->body_fields,
		    &c->in);
		if (err != CLP_OK)
			return err;
	}
	return validate_query(r->query, rt->query_fields, &c->in);
}

static void
write_app(struct jsonw *w, const struct db_app *app, bool with_time)
{
	jsonw_key(w, "app_id");
	jsonw_cstr(w, app->app_id);
	jsonw_key(w, "application_name");
	jsonw_cstr(w, app->application_name);
	jsonw_key(w, "access_level");
	jsonw_cstr(w, app->access_level);
	if (with_time) {
		jsonw_key(w, "created_at");
		jsonw_cstr(w, app->created_at);
	}
}

/* "token":"<app_id>.<secret>" — the one place a token is written. */
static void
write_token(struct jsonw *w, const char *app_id, const char *secret)
{
	char token[TOKEN_MAX + 1];
	int n = snprintf(token, sizeof(token), "%s.%s", app_id, secret);

	jsonw_key(w, "token");
	if (n < 0 || (size_t)n >= sizeof(token))
		w->failed = true;
	else
		jsonw_str(w, token, (size_t)n);
	explicit_bzero(token, sizeof(token));
}

static bool
list_app_cb(void *ctx, const struct db_app *app)
{
	struct jsonw *w = ctx;

	if (w->data[w->len - 1] != '[')
		jsonw_lit(w, ",");
	jsonw_lit(w, "{");
	write_app(w, app, true);
	jsonw_lit(w, "}");
	return !jsonw_failed(w);
}

/* A new secret and its hash, for create_app and rotate_token. */
static enum clp_err
make_token(struct call *c, char *secret, size_t secret_size, char *hash,
    size_t hash_size)
{
	if (secret_size <= TOKEN_SECRET_LEN || !token_new_secret(secret) ||
	    !token_hash(secret, hash, hash_size)) {
		log_msg(LOG_LEVEL_ERROR, c->req->request_id,
		    "token generation failed");
		return CLP_ERR_INTERNAL;
	}
	return CLP_OK;
}

/* The operation itself; on success the body is in svc->out. */
static enum clp_err
run_op(struct call *c, int *status, const char **reason)
{
	struct jsonw *w = &c->svc->out;
	struct db *db = &c->svc->db;
	struct input *in = &c->in;
	char secret[TOKEN_SECRET_LEN + 1], hash[TOKEN_HASH_MAX];
	struct db_balance bal;
	struct db_order ord;
	struct db_app app;
	enum clp_err err;

	*status = 200;
	*reason = "OK";
	jsonw_reset(w);
	switch (c->route->op) {
	case OP_BALANCE:
		if ((err = db_balance(db, &c->caller, in->user_id, &bal)))
			return err;
		jsonw_lit(w, "{");
		jsonw_key(w, "user_id");
		jsonw_i64(w, bal.user_id);
		jsonw_key(w, "balance");
		jsonw_points(w, bal.balance);
		jsonw_key(w, "orders");
		jsonw_i64(w, bal.orders);
		jsonw_key(w, "returned_orders");
		jsonw_i64(w, bal.returned_orders);
		jsonw_lit(w, "}");
		return CLP_OK;
	case OP_RECORD_ORDER:
	case OP_RETURN_ORDER:
		err = c->route->op == OP_RECORD_ORDER ?
		    db_record_order(db, &c->caller, in, &ord) :
		    db_return_order(db, &c->caller, in->order_id, &ord);
		if (err != CLP_OK)
			return err;
		if (c->route->op == OP_RECORD_ORDER && !ord.replayed) {
			*status = 201;
			*reason = "Created";
		}
		jsonw_lit(w, "{");
		jsonw_key(w, "order_id");
		jsonw_i64(w, ord.order_id);
		jsonw_key(w, "user_id");
		jsonw_i64(w, ord.user_id);
		jsonw_key(w, c->route->op == OP_RECORD_ORDER ? "points" :
		    "points_revoked");
		jsonw_points(w, ord.points);
		if (ord.replayed) {
			jsonw_key(w, "replayed");
			jsonw_lit(w, "true");
		}
		jsonw_lit(w, "}");
		return CLP_OK;
	case OP_CREATE_APP:
		if ((err = make_token(c, secret, sizeof(secret), hash,
		    sizeof(hash))) != CLP_OK)
			return err;
		if ((err = db_create_app(db, &c->caller, in->application_name,
		    in->access_level, hash, &app)) != CLP_OK)
			goto out;
		*status = 201;
		*reason = "Created";
		jsonw_lit(w, "{");
		write_app(w, &app, false);
		write_token(w, app.app_id, secret);
		jsonw_key(w, "created_at");
		jsonw_cstr(w, app.created_at);
		jsonw_lit(w, "}");
		goto out;
	case OP_LIST_APPS:
		jsonw_lit(w, "{\"apps\":[");
		if ((err = db_list_apps(db, &c->caller, list_app_cb, w)))
			return err;
		jsonw_lit(w, "]}");
		return CLP_OK;
	case OP_SET_LEVEL:
		if ((err = db_set_level(db, &c->caller, in->app_id,
		    in->access_level, &app)) != CLP_OK)
			return err;
		jsonw_lit(w, "{");
		write_app(w, &app, false);
		jsonw_lit(w, "}");
		return CLP_OK;
	case OP_DELETE_APP:
		if ((err = db_delete_app(db, &c->caller, in->app_id)))
			return err;
		jsonw_lit(w, "{");
		jsonw_key(w, "app_id");
		jsonw_cstr(w, in->app_id);
		jsonw_key(w, "deleted");
		jsonw_lit(w, "true}");
		return CLP_OK;
	case OP_ROTATE_TOKEN:
		if ((err = make_token(c, secret, sizeof(secret), hash,
		    sizeof(hash))) != CLP_OK)
			return err;
		if ((err = db_rotate_token(db, &c->caller, in->app_id, hash)))
			goto out;
		/* Our own cached secret for that app is now stale. */
		auth_forget(&c->svc->auth, in->app_id);
		jsonw_lit(w, "{");
		jsonw_key(w, "app_id");
		jsonw_cstr(w, in->app_id);
		write_token(w, in->app_id, secret);
		jsonw_lit(w, "}");
		goto out;
	default:
		return CLP_ERR_INTERNAL;
	}
out:
	explicit_bzero(secret, sizeof(secret));
	return err;
}

static void
handle_health(struct call *c)
{
	struct jsonw *w = &c->svc->out;
	bool up = db_health(&c->svc->db) == CLP_OK;

	jsonw_reset(w);
	jsonw_lit(w, up ? "{\"status\":\"ok\"}" :
	    "{\"status\":\"unavailable\"}");
	if (up)
		request_respond(c->req, 200, "OK", NULL, w);
	else
		request_respond(c->req, 503, "Service Unavailable",
		    "Retry-After: 1\r\n", w);
}

void
handlers_handle(void *ctx, struct request *req)
{
	struct call c;
	struct route_match m;
	const char *hash, *field = NULL, *reason = "OK", *allow = NULL;
	enum clp_err err;
	int status = 200;

	memset(&c, 0, sizeof(c));
	c.svc = ctx;
	c.req = req;

	router_match(req->method, req->path, &m, &c.in);
	if ((err = m.err) != CLP_OK) {
		allow = m.allow;
		goto out;
	}
	c.route = m.route;
	if (c.route->op == OP_HEALTH) {
		handle_health(&c);
		return;
	}

	if (!token_parse_bearer(req->authorization, &c.token)) {
		err = CLP_ERR_UNAUTHORIZED;
		goto out;
	}
	if ((err = auth_verify(&c.svc->auth, &c.svc->db, &c.token, &hash)))
		goto out;
	c.caller.app_id = c.token.app_id;
	c.caller.token_hash = hash;

	if ((err = validate_input(&c)) != CLP_OK) {
		/* 401 and 403 outrank every validation error, and only the
		 * database knows the caller's level right now. */
		enum clp_err auth_err = db_authorize(&c.svc->db, &c.caller,
		    c.route->level);

		if (auth_err != CLP_OK)
			err = auth_err;
		else if (error_info(err)->status == 422)
			field = c.in.bad_field;	/* may be "" (a key "") */
	} else if ((err = run_op(&c, &status, &reason)) ==
	    CLP_ERR_INVALID_FIELD) {
		field = c.svc->db.field;
	}
	if (err == CLP_ERR_UNAUTHORIZED)
		auth_forget(&c.svc->auth, c.caller.app_id);
out:
	if (err != CLP_OK)
		respond_error(&c, err, field, allow);
	else
		respond_ok(&c, status, reason);
	explicit_bzero(&c.token, sizeof(c.token));
}
