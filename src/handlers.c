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

static void		respond_error(struct service *, struct handlers_call *,
			    enum clp_err, const char *, const char *);
static void		finish(struct service *, struct handlers_call *,
			    enum clp_err, const char *, const char *, int,
			    const char *);
static enum clp_err	validate_input(struct handlers_call *);
static bool		authenticated(struct service *,
			    struct handlers_call *);
static void		note_proof(struct service *,
			    const struct handlers_call *);
static enum clp_err	op_submit(struct handlers_call *);
static enum clp_err	op_finish(struct service *, struct handlers_call *,
			    int *, const char **);
static void		write_app(struct jsonw *, const struct db_app *, bool);
static bool		list_app_cb(void *, const struct db_app *);
static void		write_token(struct jsonw *, const char *, const char *);
static enum clp_err	make_token(struct handlers_call *);
static void		finish_health(struct service *,
			    struct handlers_call *);

void
handlers_init(struct service *svc, const char *conninfo)
{
	memset(svc, 0, sizeof(*svc));
	jsonw_init(&svc->out, HANDLERS_BODY_MAX);
	db_init(&svc->db, conninfo, DB_ROLE_SERVICE);
	auth_init(&svc->auth);
}

void
handlers_cleanup(struct service *svc)
{
	db_close(&svc->db);
	auth_cleanup(&svc->auth);
	jsonw_free(&svc->out);
}

static void
respond_error(struct service *svc, struct handlers_call *c, enum clp_err err,
    const char *field, const char *allow)
{
	const struct error_info *e = error_info(err);
	struct jsonw *w = &svc->out;
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

/* The response, and the end of the call: its secrets are wiped. */
static void
finish(struct service *svc, struct handlers_call *c, enum clp_err err,
    const char *field, const char *allow, int status, const char *reason)
{
	if (err == CLP_OK && jsonw_failed(&svc->out))
		err = CLP_ERR_INTERNAL;
	if (err != CLP_OK)
		respond_error(svc, c, err, field, allow);
	else
		request_respond(c->req, status, reason, NULL, &svc->out);
	db_job_clear(&c->job);
	explicit_bzero(&c->token, sizeof(c->token));
	explicit_bzero(c->proof, sizeof(c->proof));
	explicit_bzero(c->secret, sizeof(c->secret));
}

/* 413, 415, 400, 422 — in the SPEC's order. */
static enum clp_err
validate_input(struct handlers_call *c)
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
make_token(struct handlers_call *c)
{
	if (!token_new_secret(c->secret) ||
	    !token_hash(c->secret, c->new_hash, sizeof(c->new_hash))) {
		log_msg(LOG_LEVEL_ERROR, c->req->request_id,
		    "token generation failed");
		return CLP_ERR_INTERNAL;
	}
	return CLP_OK;
}

/* The endpoint's call, ready for db_run(). */
static enum clp_err
op_submit(struct handlers_call *c)
{
	struct db_job *job = &c->job;
	struct input *in = &c->in;
	enum clp_err err;

	switch (c->route->op) {
	case OP_BALANCE:
		db_job_balance(job, &c->caller, in->user_id);
		return CLP_OK;
	case OP_RECORD_ORDER:
		db_job_record_order(job, &c->caller, in);
		return CLP_OK;
	case OP_RETURN_ORDER:
		db_job_return_order(job, &c->caller, in->order_id);
		return CLP_OK;
	case OP_CREATE_APP:
		if ((err = make_token(c)) == CLP_OK)
			db_job_create_app(job, &c->caller,
			    in->application_name, in->access_level,
			    c->new_hash);
		return err;
	case OP_LIST_APPS:
		db_job_list_apps(job, &c->caller);
		return CLP_OK;
	case OP_SET_LEVEL:
		db_job_set_level(job, &c->caller, in->app_id,
		    in->access_level);
		return CLP_OK;
	case OP_DELETE_APP:
		db_job_delete_app(job, &c->caller, in->app_id);
		return CLP_OK;
	case OP_ROTATE_TOKEN:
		if ((err = make_token(c)) == CLP_OK)
			db_job_rotate_token(job, &c->caller, in->app_id,
			    c->new_hash);
		return err;
	default:
		return CLP_ERR_INTERNAL;
	}
}

/* The endpoint's answer from its call's rows, into svc->out. */
static enum clp_err
op_finish(struct service *svc, struct handlers_call *c, int *status,
    const char **reason)
{
	struct jsonw *w = &svc->out;
	const struct db_job *job = &c->job;
	struct db_balance bal;
	struct db_order ord;
	struct db_app app;
	enum clp_err err;

	*status = 200;
	*reason = "OK";
	jsonw_reset(w);
	switch (c->route->op) {
	case OP_BALANCE:
		if ((err = db_result_balance(job, &bal)) != CLP_OK)
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
		if ((err = db_result_order(job, &ord)) != CLP_OK)
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
		if ((err = db_result_app(job, &app)) != CLP_OK)
			return err;
		*status = 201;
		*reason = "Created";
		jsonw_lit(w, "{");
		write_app(w, &app, false);
		write_token(w, app.app_id, c->secret);
		jsonw_key(w, "created_at");
		jsonw_cstr(w, app.created_at);
		jsonw_lit(w, "}");
		return CLP_OK;
	case OP_LIST_APPS:
		jsonw_lit(w, "{\"apps\":[");
		if ((err = db_result_apps(job, list_app_cb, w)) != CLP_OK)
			return err;
		jsonw_lit(w, "]}");
		return CLP_OK;
	case OP_SET_LEVEL:
		if ((err = db_result_app(job, &app)) != CLP_OK)
			return err;
		jsonw_lit(w, "{");
		write_app(w, &app, false);
		jsonw_lit(w, "}");
		return CLP_OK;
	case OP_DELETE_APP:
		if ((err = db_result(job)) != CLP_OK)
			return err;
		jsonw_lit(w, "{");
		jsonw_key(w, "app_id");
		jsonw_cstr(w, c->in.app_id);
		jsonw_key(w, "deleted");
		jsonw_lit(w, "true}");
		return CLP_OK;
	case OP_ROTATE_TOKEN:
		if ((err = db_result(job)) != CLP_OK)
			return err;
		/* Our own cached secret for that app is now stale. */
		auth_forget(&svc->auth, c->in.app_id);
		jsonw_lit(w, "{");
		jsonw_key(w, "app_id");
		jsonw_cstr(w, c->in.app_id);
		write_token(w, c->in.app_id, c->secret);
		jsonw_lit(w, "}");
		return CLP_OK;
	default:
		return CLP_ERR_INTERNAL;
	}
}

static void
finish_health(struct service *svc, struct handlers_call *c)
{
	struct jsonw *w = &svc->out;
	bool up = c->job.err == CLP_OK;

	jsonw_reset(w);
	jsonw_lit(w, up ? "{\"status\":\"ok\"}" :
	    "{\"status\":\"unavailable\"}");
	if (up)
		request_respond(c->req, 200, "OK", NULL, w);
	else
		request_respond(c->req, 503, "Service Unavailable",
		    "Retry-After: 1\r\n", w);
	db_job_clear(&c->job);
}

/*
 * What the database's answer says of the caller's proof.  Refused: a cached
 * proof is stale (the app was deleted or its token rotated) and is
 * forgotten; a computed one was simply wrong, and says nothing of what the
 * cache holds for that app (anyone knowing an app id could else evict it
 * at will).  Answered by the function past its caller check (a 403, a 409,
 * success): the proof is good, and a computed one is cached.  No answer
 * (503, 500): nothing is known.
 */
static void
note_proof(struct service *svc, const struct handlers_call *c)
{
	switch (c->job.err) {
	case CLP_ERR_UNAUTHORIZED:
		if (c->proof_cached)
			auth_forget(&svc->auth, c->token.app_id);
		break;
	case CLP_ERR_UNAVAILABLE:
	case CLP_ERR_INTERNAL:
		break;
	default:
		if (!c->proof_cached)
			auth_remember(&svc->auth, &c->token, c->proof);
		break;
	}
}

/* The caller's proof is ready: validate, then the endpoint's call. */
static bool
authenticated(struct service *svc, struct handlers_call *c)
{
	enum clp_err err;

	c->caller.app_id = c->token.app_id;
	c->caller.token_hash = c->proof;
	if ((c->invalid = validate_input(c)) == CLP_OK)
		c->invalid = c->bad_id;
	if (c->invalid != CLP_OK) {
		/* 401 and 403 outrank every validation error and a malformed
		 * path id, and only the database knows the caller's level
		 * right now. */
		db_job_authorize(&c->job, &c->caller, c->route->level);
		c->step = HANDLERS_STEP_AUTHORIZE;
		return true;
	}
	if ((err = op_submit(c)) != CLP_OK) {
		finish(svc, c, err, NULL, NULL, 0, NULL);
		return false;
	}
	c->step = HANDLERS_STEP_OP;
	return true;
}

bool
handlers_begin(struct service *svc, struct handlers_call *c,
    struct request *req)
{
	struct route_match m;

	memset(c, 0, sizeof(*c));
	c->req = req;
	router_match(req->method, req->path, &m, &c->in);
	if (m.err != CLP_OK) {
		finish(svc, c, m.err, NULL, m.allow, 0, NULL);
		return false;
	}
	c->route = m.route;
	c->bad_id = m.bad_id;
	if (c->route->op == OP_HEALTH) {
		db_job_health(&c->job);
		c->step = HANDLERS_STEP_HEALTH;
		return true;
	}
	if (!token_parse_bearer(req->authorization, &c->token)) {
		finish(svc, c, CLP_ERR_UNAUTHORIZED, NULL, NULL, 0, NULL);
		return false;
	}
	if (auth_cached(&svc->auth, &c->token, c->proof, sizeof(c->proof))) {
		c->proof_cached = true;
		return authenticated(svc, c);
	}
	db_job_auth_lookup(&c->job, c->token.app_id);
	c->step = HANDLERS_STEP_AUTH;
	return true;
}

bool
handlers_resume(struct service *svc, struct handlers_call *c)
{
	const char *field = NULL, *reason = NULL;
	char setting[TOKEN_HASH_MAX] = "";
	enum clp_err err;
	int status = 0;

	switch (c->step) {
	case HANDLERS_STEP_HEALTH:
		finish_health(svc, c);
		return false;
	case HANDLERS_STEP_AUTH:
		err = db_result_auth_lookup(&c->job, setting, sizeof(setting));
		db_job_clear(&c->job);
		if (err == CLP_OK)
			err = auth_prove(&c->token, setting, c->proof,
			    sizeof(c->proof));
		if (err == CLP_OK)
			return authenticated(svc, c);
		finish(svc, c, err, NULL, NULL, 0, NULL);
		return false;
	case HANDLERS_STEP_AUTHORIZE:
		if ((err = c->job.err) == CLP_OK) {
			err = c->invalid;
			if (error_info(err)->status == 422)
				field = c->in.bad_field; /* may be "" */
		}
		break;
	case HANDLERS_STEP_OP:
		if ((err = op_finish(svc, c, &status, &reason)) ==
		    CLP_ERR_INVALID_FIELD)
			field = c->job.field;
		break;
	default:
		err = CLP_ERR_INTERNAL;
		break;
	}
	note_proof(svc, c);
	finish(svc, c, err, field, NULL, status, reason);
	return false;
}
