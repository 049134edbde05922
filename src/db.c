/*
 * db.c — libpq connection, prepared statements, reconnect, SQLSTATE mapping.
 *
 * A lost connection is noticed when a call fails; the call is then retried
 * once on a new connection if retrying cannot change the outcome (every
 * API function is safe to repeat except create_app and delete_app, whose
 * second run would answer app_name_taken / app_not_found).  While the
 * database stays down, reconnects are spaced by a back-off of at most
 * DB_BACKOFF_MAX_MS and requests in between get 503 at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "points.h"

#define DB_BACKOFF_MIN_MS	50
#define DB_BACKOFF_MAX_MS	1000
#define DB_CONNECT_TIMEOUT	"2"		/* seconds */
#define DB_STATEMENT_TIMEOUT	"SET statement_timeout = '5s'"

enum db_stmt {
	DB_HEALTH,
	DB_AUTH_LOOKUP,
	DB_AUTHORIZE,
	DB_BALANCE,
	DB_RECORD_ORDER,
	DB_RETURN_ORDER,
	DB_CREATE_APP,
	DB_LIST_APPS,
	DB_SET_LEVEL,
	DB_DELETE_APP,
	DB_ROTATE_TOKEN,
	DB__STMT_COUNT
};

static const struct {
	const char	*name;
	const char	*sql;
	int		 nparams;
	bool		 retry_safe;
} db_stmts[DB__STMT_COUNT] = {
	[DB_HEALTH] = { "health", "SELECT 1", 0, true },
	[DB_AUTH_LOOKUP] = { "auth_lookup",
	    "SELECT token_hash FROM clp_api.auth_lookup($1)", 1, true },
	[DB_AUTHORIZE] = { "authorize",
	    "SELECT clp_api.authorize($1, $2, $3)", 3, true },
	[DB_BALANCE] = { "balance",
	    "SELECT user_id, balance_hundredths, orders, returned_orders"
	    " FROM clp_api.balance($1, $2, $3)", 3, true },
	[DB_RECORD_ORDER] = { "record_order",
	    "SELECT order_id, user_id, points_hundredths, replayed"
	    " FROM clp_api.record_order($1, $2, $3, $4, $5, $6)", 6, true },
	[DB_RETURN_ORDER] = { "return_order",
	    "SELECT order_id, user_id, points_revoked_hundredths, replayed"
	    " FROM clp_api.return_order($1, $2, $3)", 3, true },
	[DB_CREATE_APP] = { "create_app",
	    "SELECT app_id, application_name, access_level, created_at"
	    " FROM clp_api.create_app($1, $2, $3, $4, $5)", 5, false },
	[DB_LIST_APPS] = { "list_apps",
	    "SELECT app_id, application_name, access_level, created_at"
	    " FROM clp_api.list_apps($1, $2)", 2, true },
	[DB_SET_LEVEL] = { "set_level",
	    "SELECT app_id, application_name, access_level"
	    " FROM clp_api.set_level($1, $2, $3, $4)", 4, true },
	[DB_DELETE_APP] = { "delete_app",
	    "SELECT app_id, deleted FROM clp_api.delete_app($1, $2, $3)", 3,
	    false },
	[DB_ROTATE_TOKEN] = { "rotate_token",
	    "SELECT app_id FROM clp_api.rotate_token($1, $2, $3, $4)", 4,
	    true },
};

static int64_t		now_ms(void);
static void		db_notice(void *, const char *);
static void		db_drop(struct db *);
static bool		db_ensure(struct db *);
static bool		db_connection_lost(const struct db *, const PGresult *);
static enum clp_err	db_exec(struct db *, enum db_stmt, const char *const *,
			    PGresult **);
static enum clp_err	db_classify(struct db *, const PGresult *,
			    const char *);
static bool		get_i64(const PGresult *, int, const char *,
			    int64_t *);
static bool		get_str(const PGresult *, int, const char *, char *,
			    size_t);
static bool		get_app(const PGresult *, int, struct db_app *);
static enum clp_err	db_order_row(struct db *, enum db_stmt,
			    const char *const *, const char *,
			    struct db_order *);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * libpq prints notices (e.g. FATAL: terminating connection due to
 * administrator command) raw on stderr; keep the log one JSON object per
 * line.  A server notice names no parameter values.
 */
static void
db_notice(void *arg, const char *message)
{
	size_t len = strlen(message);

	(void)arg;
	if (len > 0 && message[len - 1] == '\n')
		len--;
	log_warn("database notice: %.*s", (int)len, message);
}

void
db_init(struct db *db, const char *conninfo)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo != NULL ? conninfo : "";
	db->backoff_ms = DB_BACKOFF_MIN_MS;
}

static void
db_drop(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
}

void
db_close(struct db *db)
{
	db_drop(db);
}

bool
db_connect(struct db *db)
{
	/* Defaults first: with expand_dbname, later keywords (the caller's
	 * conninfo) override earlier ones. */
	/* Over TCP, a peer that vanished (no RST) must not hang a worker
	 * for the kernel's default two hours: keepalives and a user timeout
	 * give up within about ten seconds, like nginx's read timeout.
	 * They are ignored on a unix socket. */
	const char *keys[] = { "connect_timeout", "application_name",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "tcp_user_timeout", "dbname", NULL };
	const char *values[] = { DB_CONNECT_TIMEOUT, "clp-worker", "5", "2",
	    "3", "10000", db->conninfo, NULL };
	PGresult *res = NULL;
	bool ok = false;
	int i;

	db_drop(db);
	db->conn = PQconnectdbParams(keys, values, 1);
	if (db->conn != NULL)
		PQsetNoticeProcessor(db->conn, db_notice, NULL);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		log_warn("database connection failed: %s", db->conn ?
		    PQerrorMessage(db->conn) : "out of memory");
		goto out;
	}
	res = PQexec(db->conn, DB_STATEMENT_TIMEOUT);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto fail;
	for (i = 0; i < DB__STMT_COUNT; i++) {
		PQclear(res);
		res = PQprepare(db->conn, db_stmts[i].name, db_stmts[i].sql,
		    db_stmts[i].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			goto fail;
	}
	ok = true;
	goto out;
fail:
	log_error("database setup failed: %s",
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
	    PQerrorMessage(db->conn));
out:
	PQclear(res);
	if (ok) {
		db->backoff_ms = DB_BACKOFF_MIN_MS;
		db->retry_at_ms = 0;
	} else {
		db_drop(db);
		db->retry_at_ms = now_ms() + db->backoff_ms;
		db->backoff_ms = db->backoff_ms * 2 > DB_BACKOFF_MAX_MS ?
		    DB_BACKOFF_MAX_MS : db->backoff_ms * 2;
	}
	return ok;
}

/* A usable connection, reconnecting unless the back-off says wait. */
static bool
db_ensure(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return true;
	if (now_ms() < db->retry_at_ms)
		return false;
	return db_connect(db);
}

static bool
db_connection_lost(const struct db *db, const PGresult *res)
{
	const char *state;

	if (res == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return true;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* No SQLSTATE: libpq's own failure. Class 08: connection exception;
	 * 57P01..57P03: the server is shutting down or starting. */
	return state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0;
}

static enum clp_err
db_classify(struct db *db, const PGresult *res, const char *what)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *column;
	enum clp_err err;

	if (state != NULL && strcmp(state, "57014") == 0) {
		log_error("%s: statement timeout", what);
		return CLP_ERR_UNAVAILABLE;
	}
	err = error_from_sqlstate(state);
	if (err == CLP_ERR_INTERNAL) {
		/* The primary message names no parameter values. */
		log_error("%s failed: SQLSTATE %s: %s", what,
		    state ? state : "none",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "");
	} else if (err == CLP_ERR_INVALID_FIELD) {
		column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
		snprintf(db->field, sizeof(db->field), "%s",
		    column ? column : "");
	}
	return err;
}

static enum clp_err
db_exec(struct db *db, enum db_stmt stmt, const char *const *params,
    PGresult **out)
{
	PGresult *res = NULL;
	ExecStatusType status;
	int attempt;

	*out = NULL;
	db->field[0] = '\0';
	for (attempt = 0; attempt < 2; attempt++) {
		if (!db_ensure(db))
			return CLP_ERR_UNAVAILABLE;
		res = PQexecPrepared(db->conn, db_stmts[stmt].name,
		    db_stmts[stmt].nparams, params, NULL, NULL, 0);
		status = PQresultStatus(res);
		if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
			*out = res;
			return CLP_OK;
		}
		if (!db_connection_lost(db, res)) {
			enum clp_err err = db_classify(db, res,
			    db_stmts[stmt].name);

			PQclear(res);
			return err;
		}
		PQclear(res);
		log_warn("%s: database connection lost", db_stmts[stmt].name);
		db_drop(db);
		if (!db_stmts[stmt].retry_safe)
			break;
	}
	return CLP_ERR_UNAVAILABLE;
}

static bool
get_i64(const PGresult *res, int row, const char *col, int64_t *out)
{
	int c = PQfnumber(res, col);
	char *end;

	if (c < 0 || PQgetisnull(res, row, c))
		return false;
	*out = strtoll(PQgetvalue(res, row, c), &end, 10);
	return *end == '\0';
}

static bool
get_str(const PGresult *res, int row, const char *col, char *out,
    size_t size)
{
	int c = PQfnumber(res, col);

	if (c < 0 || PQgetisnull(res, row, c) ||
	    (size_t)PQgetlength(res, row, c) >= size)
		return false;
	memcpy(out, PQgetvalue(res, row, c),
	    (size_t)PQgetlength(res, row, c) + 1);
	return true;
}

static bool
get_app(const PGresult *res, int row, struct db_app *app)
{
	memset(app, 0, sizeof(*app));
	return get_str(res, row, "app_id", app->app_id, sizeof(app->app_id)) &&
	    get_str(res, row, "application_name", app->application_name,
	    sizeof(app->application_name)) &&
	    get_str(res, row, "access_level", app->access_level,
	    sizeof(app->access_level)) &&
	    (PQfnumber(res, "created_at") < 0 ||
	    get_str(res, row, "created_at", app->created_at,
	    sizeof(app->created_at)));
}

enum clp_err
db_health(struct db *db)
{
	PGresult *res;
	enum clp_err err = db_exec(db, DB_HEALTH, NULL, &res);

	PQclear(res);
	return err;
}

enum clp_err
db_auth_lookup(struct db *db, const char *app_id, char *hash, size_t size)
{
	const char *params[] = { app_id };
	PGresult *res;
	enum clp_err err;

	if ((err = db_exec(db, DB_AUTH_LOOKUP, params, &res)) != CLP_OK)
		goto out;
	err = CLP_ERR_UNAUTHORIZED;
	if (PQntuples(res) == 1 && get_str(res, 0, "token_hash", hash, size))
		err = CLP_OK;
out:
	PQclear(res);
	return err;
}

enum clp_err
db_authorize(struct db *db, const struct db_caller *c, const char *level)
{
	const char *params[] = { c->app_id, c->token_hash, level };
	PGresult *res;
	enum clp_err err = db_exec(db, DB_AUTHORIZE, params, &res);

	PQclear(res);
	return err;
}

enum clp_err
db_balance(struct db *db, const struct db_caller *c, int64_t user_id,
    struct db_balance *out)
{
	char user[CLP_INT_TEXT_MAX];
	const char *params[] = { c->app_id, c->token_hash, user };
	PGresult *res;
	enum clp_err err;

	clp_int_format(user_id, user, sizeof(user));
	if ((err = db_exec(db, DB_BALANCE, params, &res)) != CLP_OK)
		goto out;
	err = CLP_ERR_INTERNAL;
	if (PQntuples(res) == 1 &&
	    get_i64(res, 0, "user_id", &out->user_id) &&
	    get_i64(res, 0, "balance_hundredths", &out->balance) &&
	    get_i64(res, 0, "orders", &out->orders) &&
	    get_i64(res, 0, "returned_orders", &out->returned_orders))
		err = CLP_OK;
out:
	PQclear(res);
	return err;
}

/* record_order and return_order answer rows of the same shape. */
static enum clp_err
db_order_row(struct db *db, enum db_stmt stmt, const char *const *params,
    const char *points_col, struct db_order *out)
{
	PGresult *res;
	enum clp_err err;
	int c;

	if ((err = db_exec(db, stmt, params, &res)) != CLP_OK)
		goto out;
	err = CLP_ERR_INTERNAL;
	c = PQfnumber(res, "replayed");
	if (PQntuples(res) == 1 && c >= 0 && !PQgetisnull(res, 0, c) &&
	    get_i64(res, 0, "order_id", &out->order_id) &&
	    get_i64(res, 0, "user_id", &out->user_id) &&
	    get_i64(res, 0, points_col, &out->points)) {
		out->replayed = PQgetvalue(res, 0, c)[0] == 't';
		err = CLP_OK;
	}
out:
	PQclear(res);
	return err;
}

enum clp_err
db_record_order(struct db *db, const struct db_caller *c,
    const struct input *in, struct db_order *out)
{
	char user[CLP_INT_TEXT_MAX], order[CLP_INT_TEXT_MAX];
	char cost[CLP_INT_TEXT_MAX], at[CLP_INT_TEXT_MAX];
	const char *params[] = { c->app_id, c->token_hash, user, order, cost,
	    at };

	clp_int_format(in->user_id, user, sizeof(user));
	clp_int_format(in->order_id, order, sizeof(order));
	clp_int_format(in->total_cost, cost, sizeof(cost));
	clp_int_format(in->completed_at, at, sizeof(at));
	return db_order_row(db, DB_RECORD_ORDER, params, "points_hundredths",
	    out);
}

enum clp_err
db_return_order(struct db *db, const struct db_caller *c, int64_t order_id,
    struct db_order *out)
{
	char order[CLP_INT_TEXT_MAX];
	const char *params[] = { c->app_id, c->token_hash, order };

	clp_int_format(order_id, order, sizeof(order));
	return db_order_row(db, DB_RETURN_ORDER, params,
	    "points_revoked_hundredths", out);
}

enum clp_err
db_create_app(struct db *db, const struct db_caller *c, const char *name,
    const char *level, const char *new_hash, struct db_app *out)
{
	const char *params[] = { c->app_id, c->token_hash, name, level,
	    new_hash };
	PGresult *res;
	enum clp_err err;

	if ((err = db_exec(db, DB_CREATE_APP, params, &res)) != CLP_OK)
		goto out;
	err = PQntuples(res) == 1 && get_app(res, 0, out) ? CLP_OK :
	    CLP_ERR_INTERNAL;
out:
	PQclear(res);
	return err;
}

enum clp_err
db_list_apps(struct db *db, const struct db_caller *c, db_app_cb cb,
    void *ctx)
{
	const char *params[] = { c->app_id, c->token_hash };
	struct db_app app;
	PGresult *res;
	enum clp_err err;
	int i;

	if ((err = db_exec(db, DB_LIST_APPS, params, &res)) != CLP_OK)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if (!get_app(res, i, &app) || !cb(ctx, &app)) {
			err = CLP_ERR_INTERNAL;
			goto out;
		}
	}
out:
	PQclear(res);
	return err;
}

enum clp_err
db_set_level(struct db *db, const struct db_caller *c, const char *app_id,
    const char *level, struct db_app *out)
{
	const char *params[] = { c->app_id, c->token_hash, app_id, level };
	PGresult *res;
	enum clp_err err;

	if ((err = db_exec(db, DB_SET_LEVEL, params, &res)) != CLP_OK)
		goto out;
	err = PQntuples(res) == 1 && get_app(res, 0, out) ? CLP_OK :
	    CLP_ERR_INTERNAL;
out:
	PQclear(res);
	return err;
}

enum clp_err
db_delete_app(struct db *db, const struct db_caller *c, const char *app_id)
{
	const char *params[] = { c->app_id, c->token_hash, app_id };
	PGresult *res;
	enum clp_err err;

	if ((err = db_exec(db, DB_DELETE_APP, params, &res)) == CLP_OK &&
	    PQntuples(res) != 1)
		err = CLP_ERR_INTERNAL;
	PQclear(res);
	return err;
}

enum clp_err
db_rotate_token(struct db *db, const struct db_caller *c, const char *app_id,
    const char *new_hash)
{
	const char *params[] = { c->app_id, c->token_hash, app_id, new_hash };
	PGresult *res;
	enum clp_err err;

	if ((err = db_exec(db, DB_ROTATE_TOKEN, params, &res)) == CLP_OK &&
	    PQntuples(res) != 1)
		err = CLP_ERR_INTERNAL;
	PQclear(res);
	return err;
}

enum clp_err
db_create_master(struct db *db, const char *token_hash, const char *app_id,
    char *app_id_out, size_t size)
{
	const char *params[] = { token_hash, app_id };
	PGresult *res = NULL;
	enum clp_err err = CLP_ERR_UNAVAILABLE;

	if (!db_ensure(db))
		goto out;
	/* Not a prepared statement: run once, by the admin, not a worker. */
	res = PQexecParams(db->conn,
	    "SELECT app_id FROM clp_api.create_master($1, $2)", 2, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err = db_connection_lost(db, res) ? CLP_ERR_UNAVAILABLE :
		    db_classify(db, res, "create_master");
		goto out;
	}
	err = PQntuples(res) == 1 && get_str(res, 0, "app_id", app_id_out,
	    size) ? CLP_OK : CLP_ERR_INTERNAL;
out:
	PQclear(res);
	return err;
}
