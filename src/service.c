/*
 * service.c — a request end to end (see service.h): the SPEC's order of
 * errors, then the operation's row (ops.c) bound, run and answered.
 *
 * With a replica (CLP_READ_DATABASE_URL), a read its row marks replica_ok
 * runs there, and the primary runs authorize for the same caller in the
 * same batch: a replica replays the primary's changes with a delay, and
 * only the primary knows that an app was deleted, rotated or re-levelled a
 * moment ago (SPEC §2: at once).  The replica's rows are the answer only if
 * the primary accepted the caller.  A read the replica could not answer
 * (down: 503 from db.c) or refused (401/403: an app it has not seen yet)
 * runs on the primary instead, in the same batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "db.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "ops.h"
#include "router.h"
#include "service.h"

/* The apps list is the largest body; this bounds it (about 20,000 apps). */
#define SERVICE_BODY_MAX	(4u * 1024 * 1024)

struct service {
	struct db		 db;
	struct db		 replica;	/* the reads' (replica_ok) */
	bool			 has_replica;
	struct auth		 auth;
	struct buf		 out;	/* one response body at a time */
	const struct db_stmt	*stmts[OP__COUNT];
};

struct service_call {
	struct request		*req;
	const struct route	*route;
	const struct op_def	*op;
	enum service_next	 next;
	struct input		 in;
	struct token		 token;
	char			 proof[TOKEN_HASH_MAX];	/* crypt(secret, setting) */
	bool			 proof_cached;	/* from the cache, not computed */
	/* The database accepted the proof: the access log may name the app. */
	bool			 caller_known;
	/* A new token's secret and hash (create_app, rotate_token). */
	char			 secret[TOKEN_SECRET_LEN + 1];
	char			 new_hash[TOKEN_HASH_MAX];
	/* A malformed path id's 404, answered after 401, 403 and 422. */
	enum clp_err		 bad_id;
	/* The error waiting for the caller's level (validation, bad_id). */
	enum clp_err		 invalid;
	struct db_job		 job;
	int64_t			 begun_us;	/* for its latency */
	/* The read on the replica; job is then its authorize. */
	struct db_job		 read;
	bool			 on_replica;
};

static void		answer(struct service *, struct service_call *, int,
			    const char *, const char *);
static void		respond(struct service *, struct service_call *, int,
			    const char *);
static void		serve_metrics(struct service *, struct request *);
static void		finish(struct service *, struct service_call *,
			    enum clp_err, const char *, const char *);
static void		validated(struct service_call *);
static enum clp_err	read_cursor(struct service_call *);
static bool		read_cursor_key(PGconn *);
static void		call_args(const struct service_call *,
			    struct op_args *);
static void		bind_job(struct service_call *, struct db_job *,
			    const struct op_def *);
static bool		submit(struct service *, struct service_call *);
static void		run_replica_reads(struct service *,
			    struct service_call *const *, size_t);
static bool		resume(struct service *, struct service_call *);
static void		note_proof(struct service *, struct service_call *);
static enum clp_err	make_token(struct service_call *);

/*
 * Every connection, to the primary or a replica, reads the cursor key
 * (cursor.h), which sql/011 drew once for the database: a worker started
 * while the database was down has it from its first connection.
 */
static bool
read_cursor_key(PGconn *conn)
{
	PGresult *res = PQexecParams(conn,
	    "SELECT inner_pad, outer_pad FROM clp_api.cursor_key()", 0, NULL,
	    NULL, NULL, NULL, 1);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQnfields(res) == 2 &&
	    cursor_set_key((const unsigned char *)PQgetvalue(res, 0, 0),
	    (size_t)PQgetlength(res, 0, 0),
	    (const unsigned char *)PQgetvalue(res, 0, 1),
	    (size_t)PQgetlength(res, 0, 1));

	if (!ok)
		log_error("database setup failed: no cursor key: %s",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
		    "not two 64-byte pads");
	PQclear(res);
	return ok;
}

struct service *
service_new(const char *conninfo, size_t db_connections,
    const char *read_conninfo)
{
	struct service *svc = calloc(1, sizeof(*svc));
	size_t i;

	if (svc == NULL)
		return NULL;
	buf_init(&svc->out, SERVICE_BODY_MAX);
	for (i = 0; i < OP__COUNT; i++)
		svc->stmts[i] = &ops_get((enum op)i)->stmt;
	db_init(&svc->db, conninfo, DB_ROLE_SERVICE, svc->stmts, OP__COUNT);
	db_set_connections(&svc->db, db_connections);
	db_set_setup(&svc->db, read_cursor_key);
	auth_init(&svc->auth);
	/* If the database is down, requests answer 503 until it is back. */
	(void)db_connect(&svc->db);
	/* The same login rules; while it is down the reads go to the
	 * primary, and db.c's back-off spaces the reconnects. */
	svc->has_replica = read_conninfo != NULL && *read_conninfo != '\0';
	if (svc->has_replica) {
		db_init(&svc->replica, read_conninfo, DB_ROLE_SERVICE,
		    svc->stmts, OP__COUNT);
		db_set_setup(&svc->replica, read_cursor_key);
		(void)db_connect(&svc->replica);
	}
	return svc;
}

void
service_free(struct service *svc)
{
	if (svc == NULL)
		return;
	db_close(&svc->db);
	if (svc->has_replica)
		db_close(&svc->replica);
	auth_cleanup(&svc->auth);
	buf_free(&svc->out);
	free(svc);
}

struct service_call *
service_call_new(void)
{
	return calloc(1, sizeof(struct service_call));
}

void
service_call_free(struct service_call *c)
{
	if (c == NULL)
		return;
	explicit_bzero(c, sizeof(*c));
	free(c);
}

void
service_error_body(struct buf *w, enum clp_err err, const char *field)
{
	const struct error_info *e = error_info(err);

	buf_reset(w);
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

/* svc->out as the answer; every answer to a request goes here, and is
 * counted here. */
static void
answer(struct service *svc, struct service_call *c, int status,
    const char *reason, const char *headers)
{
	/* SPEC §10: nginx's access log line names the route and the app
	 * (nginx/clp-http.conf).  The app only once the database accepted
	 * its proof: a claimed id is no caller. */
	request_log_as(c->req, c->op != NULL ? c->op->stmt.name : "none",
	    c->caller_known ? c->token.app_id : NULL);
	request_respond(c->req, status, reason, headers, &svc->out);
	metrics_request(c->route != NULL ? c->route->op : METRICS_NO_ROUTE,
	    status, monotime_us() - c->begun_us);
}

/* A success: the status's reason and headers. */
static void
respond(struct service *svc, struct service_call *c, int status,
    const char *headers)
{
	const char *reason = status == 201 ? "Created" :
	    status == 503 ? "Service Unavailable" : "OK";

	if (status == 503 && headers == NULL)
		headers = "Retry-After: 1\r\n";
	answer(svc, c, status, reason, headers);
}

/* An error's answer, and the end of the call: its secrets are wiped. */
static void
finish(struct service *svc, struct service_call *c, enum clp_err err,
    const char *field, const char *allow)
{
	const struct error_info *e = error_info(err);
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
	if (err != CLP_OK) {
		service_error_body(&svc->out, err, field);
		answer(svc, c, e->status, e->reason, headers);
	}
	db_job_clear(&c->job);
	db_job_clear(&c->read);
	explicit_bzero(&c->token, sizeof(c->token));
	explicit_bzero(c->proof, sizeof(c->proof));
	explicit_bzero(c->secret, sizeof(c->secret));
}

enum clp_err
service_validate(const struct request *r, unsigned body_fields,
    unsigned query_fields, struct input *in)
{
	enum clp_err err;

	if (body_fields != 0) {
		if (r->body_too_large)
			return CLP_ERR_PAYLOAD_TOO_LARGE;
		if ((r->body_len > 0 || r->content_type != NULL) &&
		    !validate_content_type(r->content_type))
			return CLP_ERR_UNSUPPORTED_MEDIA_TYPE;
		err = validate_body(r->body, r->body_len, body_fields, in);
		if (err != CLP_OK)
			return err;
	}
	return validate_query(r->query, query_fields, in);
}

/*
 * A history page's cursor (cursor.h), once the path's user_id is known: 422
 * on cursor unless this server made it for this list and customer.  The
 * key comes with the first connection; before one, the database is down
 * and the answer is 503 whatever the cursor.
 */
static enum clp_err
read_cursor(struct service_call *c)
{
	if (!cursor_has_key())
		return CLP_ERR_UNAVAILABLE;
	if (cursor_read(c->op->cursor_list, c->in.user_id, c->in.cursor,
	    &c->in.position))
		return CLP_OK;
	snprintf(c->in.bad_field, sizeof(c->in.bad_field), "%s",
	    validate_field_name(FIELD_CURSOR));
	return CLP_ERR_INVALID_FIELD;
}

/* The caller's proof is known: validation decides the next call. */
static void
validated(struct service_call *c)
{
	c->invalid = service_validate(c->req, c->route->body_fields,
	    c->route->query_fields, &c->in);
	if (c->invalid == CLP_OK)
		c->invalid = c->bad_id;
	if (c->invalid == CLP_OK && c->in.present & FIELD_BIT(FIELD_CURSOR))
		c->invalid = read_cursor(c);
	/* 401 and 403 outrank every validation error and a malformed path
	 * id, and only the database knows the caller's level right now. */
	c->next = c->invalid != CLP_OK ? SERVICE_NEXT_AUTHORIZE :
	    SERVICE_NEXT_OP;
}

enum clp_err
service_prepare(struct auth *auth, struct service_call *c,
    struct request *req, const char **allow)
{
	struct route_match m;

	memset(c, 0, sizeof(*c));
	c->req = req;
	*allow = NULL;
	router_match(req->method, req->path, &m, &c->in);
	if (m.err != CLP_OK) {
		*allow = m.allow;
		return m.err;
	}
	c->route = m.route;
	c->op = ops_get(m.route->op);
	c->bad_id = m.bad_id;
	c->next = SERVICE_NEXT_OP;
	if (c->op->level == NULL)
		return CLP_OK;		/* no caller: the health check */
	if (!token_parse_bearer(req->authorization, &c->token))
		return CLP_ERR_UNAUTHORIZED;
	if (!auth_cached(auth, &c->token, c->proof, sizeof(c->proof))) {
		metrics_auth_cache(false);
		c->next = SERVICE_NEXT_AUTH_LOOKUP;
		return CLP_OK;
	}
	metrics_auth_cache(true);
	c->proof_cached = true;
	validated(c);
	return CLP_OK;
}

enum service_next
service_next(const struct service_call *c)
{
	return c->next;
}

const struct input *
service_input(const struct service_call *c)
{
	return &c->in;
}

enum clp_err
service_invalid(const struct service_call *c)
{
	return c->invalid;
}

static void
call_args(const struct service_call *c, struct op_args *a)
{
	a->app_id = c->token.app_id;
	a->proof = c->proof;
	a->level = c->op->level;
	a->in = &c->in;
	a->secret = c->secret;
	a->new_hash = c->new_hash;
	a->cursor_list = c->op->cursor_list;
}

/* A new secret and its hash, for create_app and rotate_token. */
static enum clp_err
make_token(struct service_call *c)
{
	if (!token_new_secret(c->secret) ||
	    !token_hash(c->secret, c->new_hash, sizeof(c->new_hash))) {
		log_msg(LOG_LEVEL_ERROR, c->req->request_id,
		    "token generation failed");
		return CLP_ERR_INTERNAL;
	}
	return CLP_OK;
}

static void
bind_job(struct service_call *c, struct db_job *job, const struct op_def *op)
{
	struct op_args a;

	call_args(c, &a);
	db_job_set(job, &op->stmt);
	job->request_id = c->req->request_id;
	op->bind(job, &a);
}

/* The next call, bound for db_run(); false if answered instead. */
static bool
submit(struct service *svc, struct service_call *c)
{
	static const enum op step_op[] = {
		[SERVICE_NEXT_AUTH_LOOKUP] = OP_AUTH_LOOKUP,
		[SERVICE_NEXT_AUTHORIZE] = OP_AUTHORIZE,
	};
	const struct op_def *op = c->next == SERVICE_NEXT_OP ? c->op :
	    ops_get(step_op[c->next]);
	enum clp_err err;

	if (op->new_token && (err = make_token(c)) != CLP_OK) {
		finish(svc, c, err, NULL, NULL);
		return false;
	}
	c->on_replica = op == c->op && op->replica_ok && svc->has_replica;
	if (c->on_replica) {
		bind_job(c, &c->read, op);
		op = ops_get(OP_AUTHORIZE);
	}
	bind_job(c, &c->job, op);
	return true;
}

/*
 * The metrics listener's only page, GET /metrics (SPEC §10).  It is
 * answered by any worker: the counters are every worker's.  Not counted
 * among the requests.
 */
static void
serve_metrics(struct service *svc, struct request *req)
{
	static const char text_format[] = "text/plain; version=0.0.4; "
	    "charset=utf-8";
	bool page = req->path != NULL && strcmp(req->path, "/metrics") == 0;
	enum clp_err err = CLP_ERR_NOT_FOUND;
	const char *headers = NULL;

	if (page && req->method != NULL && strcmp(req->method, "GET") == 0) {
		buf_reset(&svc->out);
		metrics_render(&svc->out);
		if (!buf_failed(&svc->out)) {
			request_respond_as(req, 200, "OK", text_format, NULL,
			    &svc->out);
			return;
		}
		err = CLP_ERR_INTERNAL;
	} else if (page) {
		err = CLP_ERR_METHOD_NOT_ALLOWED;
		headers = "Allow: GET\r\n";
	}
	service_error_body(&svc->out, err, NULL);
	request_respond(req, error_info(err)->status, error_info(err)->reason,
	    headers, &svc->out);
}

bool
service_begin(struct service *svc, struct service_call *c,
    struct request *req)
{
	int64_t begun_us = monotime_us();
	const char *allow;
	enum clp_err err;

	if (req->metrics) {
		serve_metrics(svc, req);
		return false;
	}
	err = service_prepare(&svc->auth, c, req, &allow);
	c->begun_us = begun_us;	/* service_prepare() clears the call */
	if (err != CLP_OK) {
		finish(svc, c, err, NULL, allow);
		return false;
	}
	return submit(svc, c);
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
note_proof(struct service *svc, struct service_call *c)
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
		c->caller_known = true;
		if (!c->proof_cached)
			auth_remember(&svc->auth, &c->token, c->proof);
		break;
	}
}

/* Goes on after c->job has run; true and false as service_begin(). */
static bool
resume(struct service *svc, struct service_call *c)
{
	char setting[TOKEN_HASH_MAX] = "";
	const struct db_job *answered;
	const char *field = NULL;
	struct op_args a;
	enum clp_err err;
	int status = 200;

	switch (c->next) {
	case SERVICE_NEXT_AUTH_LOOKUP:
		err = ops_auth_setting(&c->job, setting, sizeof(setting));
		db_job_clear(&c->job);
		if (err == CLP_OK)
			err = auth_prove(&c->token, setting, c->proof,
			    sizeof(c->proof));
		if (err == CLP_OK) {
			validated(c);
			return submit(svc, c);
		}
		break;
	case SERVICE_NEXT_AUTHORIZE:
		if ((err = c->job.err) == CLP_OK) {
			err = c->invalid;
			if (error_info(err)->status == 422)
				field = c->in.bad_field; /* may be "" */
		}
		note_proof(svc, c);
		break;
	case SERVICE_NEXT_OP:
	default:
		call_args(c, &a);
		buf_reset(&svc->out);
		answered = c->on_replica ? &c->read : &c->job;
		/* On the replica, c->job is the primary's word on the caller
		 * (authorize): its 401, 403 or 503 outranks the rows. */
		err = c->on_replica && c->job.err != CLP_OK ? c->job.err :
		    c->op->answer(answered, &a, &svc->out, &status);
		if (err == CLP_OK && buf_failed(&svc->out))
			err = CLP_ERR_INTERNAL;
		if (err == CLP_ERR_INVALID_FIELD)
			field = answered->field;
		/* Our own cached proof for that app is now stale. */
		if (err == CLP_OK && c->op->forgets_app)
			auth_forget(&svc->auth, c->in.app_id);
		if (c->op->level != NULL)
			note_proof(svc, c);
		if (err == CLP_OK)
			respond(svc, c, status, NULL);
		break;
	}
	finish(svc, c, err, field, NULL);
	return false;
}

/*
 * The replica's part of a batch: the reads of the calls on_replica, as one
 * pipeline there.  A read it did not answer goes back to being the call's
 * own job on the primary: the replica is down or unreachable (503: a
 * fallback keeps the reads answered, which a 503 would not, while the
 * primary can take them), or it refused the caller (401/403) because it
 * has not yet replayed the app's creation, rotation or new level.  Any
 * other answer stands, once the primary's authorize accepts the caller.
 */
static void
run_replica_reads(struct service *svc, struct service_call *const *calls,
    size_t n)
{
	struct db_job *reads[SERVICE_BATCH_MAX];
	struct service_call *c;
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (calls[i]->on_replica)
			reads[k++] = &calls[i]->read;
	if (k == 0)
		return;
	db_run(&svc->replica, reads, k);
	for (i = 0; i < n; i++) {
		c = calls[i];
		if (!c->on_replica)
			continue;
		switch (c->read.err) {
		case CLP_ERR_UNAVAILABLE:
		case CLP_ERR_UNAUTHORIZED:
		case CLP_ERR_FORBIDDEN:
			db_job_clear(&c->read);
			c->on_replica = false;
			bind_job(c, &c->job, c->op);
			break;
		default:
			break;
		}
	}
}

void
service_run_batch(struct service *svc, struct service_call *const *calls,
    size_t n)
{
	struct service_call *waiting[SERVICE_BATCH_MAX];
	struct db_job *jobs[SERVICE_BATCH_MAX];
	size_t i, left;

	if (n > SERVICE_BATCH_MAX)
		abort();	/* misuse: server.c's pass is smaller */
	memcpy(waiting, calls, n * sizeof(*calls));
	while (n > 0) {
		run_replica_reads(svc, waiting, n);
		for (i = 0; i < n; i++)
			jobs[i] = &waiting[i]->job;
		db_run(&svc->db, jobs, n);
		for (i = 0, left = 0; i < n; i++)
			if (resume(svc, waiting[i]))
				waiting[left++] = waiting[i];
		n = left;
	}
}
