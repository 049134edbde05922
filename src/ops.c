/*
 * ops.c — the operation table (see ops.h): per operation its statement,
 * its level, its parameters and its answer.  Each SQL function is one
 * prepared call whose arguments start with the caller's app id and proof
 * (sql/README.md).
 */
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "jsonw.h"
#include "ops.h"
#include "token.h"

#define OPS_TIME_MAX	32	/* "2026-11-23T21:42:48Z" */
/* SPEC §8: a page without limit holds 50 rows. */
#define OPS_PAGE_DEFAULT	50
#define OPS_LEVEL_MAX	32

/* An application as the apps endpoints answer it. */
struct ops_app {
	char	app_id[VALIDATE_APP_ID_MAX + 1];
	char	application_name[VALIDATE_NAME_MAX_BYTES + 1];
	char	access_level[OPS_LEVEL_MAX];
	char	created_at[OPS_TIME_MAX];	/* "" when not selected */
};

static void		bind_caller(struct db_job *, const struct op_args *);
static bool		get_app(const struct db_job *, int, struct ops_app *);
static void		write_app(struct buf *, const struct ops_app *);
static void		write_token(struct buf *, const char *, const char *);
static enum clp_err	answer_order(const struct db_job *, const char *,
			    const char *, bool, struct buf *, int *);
static bool		write_nullable(struct buf *, const struct db_job *, int,
			    const char *, const char *, bool);
static enum clp_err	answer_page(const struct db_job *,
			    const struct op_args *, const char *,
			    bool (*)(struct buf *, const struct db_job *, int),
			    struct buf *);
static bool		write_order_row(struct buf *, const struct db_job *,
			    int);
static bool		write_ledger_row(struct buf *, const struct db_job *,
			    int);

static void		bind_health(struct db_job *, const struct op_args *);
static enum clp_err	answer_health(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_auth_lookup(struct db_job *,
			    const struct op_args *);
static void		bind_authorize(struct db_job *,
			    const struct op_args *);
static void		bind_balance(struct db_job *, const struct op_args *);
static enum clp_err	answer_balance(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_record_order(struct db_job *,
			    const struct op_args *);
static enum clp_err	answer_record_order(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_return_order(struct db_job *,
			    const struct op_args *);
static enum clp_err	answer_return_order(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_create_app(struct db_job *,
			    const struct op_args *);
static enum clp_err	answer_create_app(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_list_apps(struct db_job *, const struct op_args *);
static enum clp_err	answer_list_apps(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_set_level(struct db_job *, const struct op_args *);
static enum clp_err	answer_set_level(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_app_id(struct db_job *, const struct op_args *);
static enum clp_err	answer_delete_app(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_rotate_token(struct db_job *,
			    const struct op_args *);
static enum clp_err	answer_rotate_token(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static void		bind_history(struct db_job *, const struct op_args *);
static enum clp_err	answer_customer_orders(const struct db_job *,
			    const struct op_args *, struct buf *, int *);
static enum clp_err	answer_customer_ledger(const struct db_job *,
			    const struct op_args *, struct buf *, int *);

/*
 * A pass's orders, and its returns, go to the database as one call each
 * (sql/015): one commit for many.
 */
static const struct db_stmt record_orders = { "record_orders",
    "SELECT i, order_id, user_id, points_hundredths, replayed, error_state,"
    " error_message, error_column"
    " FROM clp_api.record_orders($1, $2, $3, $4, $5, $6)", 6, true, false,
    NULL };
static const struct db_stmt return_orders = { "return_orders",
    "SELECT i, order_id, user_id, points_revoked_hundredths, replayed,"
    " error_state, error_message, error_column"
    " FROM clp_api.return_orders($1, $2, $3)", 3, true, false, NULL };

/*
 * Reads may share one transaction in a batch; a write has its own, or its
 * batch's.  Safe
 * to repeat after a lost connection: all but create_app and delete_app,
 * whose second run would answer app_name_taken / app_not_found (an order
 * replays, a rotation accepts its own repeat, sql/007).  A replica may
 * answer the customer reads (the last column); writes and the apps
 * endpoints (the caller's own rows) always go to the primary.
 */
static const struct op_def ops[OP__COUNT] = {
	[OP_HEALTH] = { { "health", "SELECT 1", 0, true, true, NULL },
	    NULL, false, false, bind_health, answer_health, false, 0 },
	[OP_AUTH_LOOKUP] = { { "auth_lookup",
	    "SELECT token_setting FROM clp_api.auth_lookup($1)", 1, true,
	    true, NULL }, NULL, false, false, bind_auth_lookup, NULL, false,
	    0 },
	[OP_AUTHORIZE] = { { "authorize",
	    "SELECT clp_api.authorize($1, $2, $3)", 3, true, true, NULL },
	    NULL, false, false, bind_authorize, NULL, false, 0 },
	[OP_BALANCE] = { { "balance",
	    "SELECT user_id, balance_hundredths, orders, returned_orders"
	    " FROM clp_api.balance($1, $2, $3)", 3, true, true, NULL },
	    LEVEL_READ, false, false, bind_balance, answer_balance, true, 0 },
	[OP_RECORD_ORDER] = { { "record_order",
	    "SELECT order_id, user_id, points_hundredths, replayed"
	    " FROM clp_api.record_order($1, $2, $3, $4, $5, $6)", 6, true,
	    false, &record_orders }, LEVEL_MODIFY, false, false,
	    bind_record_order, answer_record_order, false, 0 },
	[OP_RETURN_ORDER] = { { "return_order",
	    "SELECT order_id, user_id, points_revoked_hundredths, replayed"
	    " FROM clp_api.return_order($1, $2, $3)", 3, true, false,
	    &return_orders }, LEVEL_MODIFY, false, false, bind_return_order,
	    answer_return_order, false, 0 },
	[OP_CREATE_APP] = { { "create_app",
	    "SELECT app_id, application_name, access_level, created_at"
	    " FROM clp_api.create_app($1, $2, $3, $4, $5)", 5, false,
	    false, NULL }, LEVEL_MASTER, true, false, bind_create_app,
	    answer_create_app, false, 0 },
	[OP_LIST_APPS] = { { "list_apps",
	    "SELECT app_id, application_name, access_level, created_at"
	    " FROM clp_api.list_apps($1, $2)", 2, true, true, NULL },
	    LEVEL_MASTER, false, false, bind_list_apps, answer_list_apps,
	    false, 0 },
	[OP_SET_LEVEL] = { { "set_level",
	    "SELECT app_id, application_name, access_level"
	    " FROM clp_api.set_level($1, $2, $3, $4)", 4, true, false,
	    NULL },
	    LEVEL_MASTER, false, false, bind_set_level, answer_set_level,
	    false, 0 },
	[OP_DELETE_APP] = { { "delete_app",
	    "SELECT app_id, deleted FROM clp_api.delete_app($1, $2, $3)", 3,
	    false, false, NULL }, LEVEL_MASTER, false, false, bind_app_id,
	    answer_delete_app, false, 0 },
	[OP_ROTATE_TOKEN] = { { "rotate_token",
	    "SELECT app_id FROM clp_api.rotate_token($1, $2, $3, $4)", 4,
	    true, false, NULL }, LEVEL_MASTER, true, true, bind_rotate_token,
	    answer_rotate_token, false, 0 },
	[OP_CUSTOMER_ORDERS] = { { "customer_orders",
	    "SELECT order_id, total_cost, completed_at, points_hundredths,"
	    " recorded_at, returned_at, next_position"
	    " FROM clp_api.customer_orders($1, $2, $3, $4, $5)", 5, true,
	    true, NULL }, LEVEL_READ, false, false, bind_history,
	    answer_customer_orders, true, CURSOR_LIST_ORDERS },
	[OP_CUSTOMER_LEDGER] = { { "customer_ledger",
	    "SELECT entry_id, kind, order_id, redemption_id, hundredths,"
	    " balance_after_hundredths, app_id, created_at, next_position"
	    " FROM clp_api.customer_ledger($1, $2, $3, $4, $5)", 5, true,
	    true, NULL }, LEVEL_READ, false, false, bind_history,
	    answer_customer_ledger, true, CURSOR_LIST_LEDGER },
};

const struct op_def *
ops_get(enum op op)
{
	return &ops[op];
}

enum clp_err
ops_auth_setting(const struct db_job *job, char *setting, size_t size)
{
	enum clp_err err = db_result(job);

	if (err != CLP_OK)
		return err;
	return db_get_str(job, 0, "token_setting", setting, size) ? CLP_OK :
	    CLP_ERR_INTERNAL;
}

/* ---- shared pieces ---- */

static void
bind_caller(struct db_job *job, const struct op_args *a)
{
	job->params[0] = a->app_id;
	job->params[1] = a->proof;
}

static bool
get_app(const struct db_job *job, int row, struct ops_app *app)
{
	memset(app, 0, sizeof(*app));
	return db_get_str(job, row, "app_id", app->app_id,
	    sizeof(app->app_id)) &&
	    db_get_str(job, row, "application_name", app->application_name,
	    sizeof(app->application_name)) &&
	    db_get_str(job, row, "access_level", app->access_level,
	    sizeof(app->access_level)) &&
	    (!db_has_col(job, "created_at") ||
	    db_get_str(job, row, "created_at", app->created_at,
	    sizeof(app->created_at)));
}

/* The app's keys, without braces or created_at. */
static void
write_app(struct buf *w, const struct ops_app *app)
{
	jsonw_key(w, "app_id");
	jsonw_cstr(w, app->app_id);
	jsonw_key(w, "application_name");
	jsonw_cstr(w, app->application_name);
	jsonw_key(w, "access_level");
	jsonw_cstr(w, app->access_level);
}

/* "token":"<app_id>.<secret>" — the one place a token is written. */
static void
write_token(struct buf *w, const char *app_id, const char *secret)
{
	char token[TOKEN_MAX + 1];
	int n = snprintf(token, sizeof(token), "%s.%s", app_id, secret);

	jsonw_key(w, "token");
	if (n < 0 || (size_t)n >= sizeof(token))
		buf_fail(w);
	else
		jsonw_str(w, token, (size_t)n);
	explicit_bzero(token, sizeof(token));
}

/*
 * record_order and return_order: the same row, one name apart.  A new
 * order (creates) is 201 on its first run; its replay is 200 with
 * "replayed": true, so the client is told the truth either way.
 */
static enum clp_err
answer_order(const struct db_job *job, const char *points_col,
    const char *points_key, bool creates, struct buf *w, int *status)
{
	int64_t order_id, user_id, points;
	bool replayed;
	enum clp_err err = db_result(job);

	if (err != CLP_OK)
		return err;
	if (!db_get_bool(job, 0, "replayed", &replayed) ||
	    !db_get_i64(job, 0, "order_id", &order_id) ||
	    !db_get_i64(job, 0, "user_id", &user_id) ||
	    !db_get_i64(job, 0, points_col, &points))
		return CLP_ERR_INTERNAL;
	if (creates && !replayed)
		*status = 201;
	jsonw_lit(w, "{");
	jsonw_key(w, "order_id");
	jsonw_i64(w, order_id);
	jsonw_key(w, "user_id");
	jsonw_i64(w, user_id);
	jsonw_key(w, points_key);
	jsonw_points(w, points);
	if (replayed) {
		jsonw_key(w, "replayed");
		jsonw_lit(w, "true");
	}
	jsonw_lit(w, "}");
	return CLP_OK;
}

/* ---- one pair per operation ---- */

static void
bind_health(struct db_job *job, const struct op_args *a)
{
	(void)job;
	(void)a;
}

/* The health check answers for the database itself: never an error. */
static enum clp_err
answer_health(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	(void)a;
	if (job->err == CLP_OK) {
		jsonw_lit(w, "{\"status\":\"ok\"}");
	} else {
		*status = 503;
		jsonw_lit(w, "{\"status\":\"unavailable\"}");
	}
	return CLP_OK;
}

static void
bind_auth_lookup(struct db_job *job, const struct op_args *a)
{
	job->params[0] = a->app_id;
}

static void
bind_authorize(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
	job->params[2] = a->level;
}

static void
bind_balance(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
	job->params[2] = db_job_int(job, 0, a->in->user_id);
}

static enum clp_err
answer_balance(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	int64_t user_id, balance, orders, returned;
	enum clp_err err = db_result(job);

	(void)a;
	(void)status;
	if (err != CLP_OK)
		return err;
	if (!db_get_i64(job, 0, "user_id", &user_id) ||
	    !db_get_i64(job, 0, "balance_hundredths", &balance) ||
	    !db_get_i64(job, 0, "orders", &orders) ||
	    !db_get_i64(job, 0, "returned_orders", &returned))
		return CLP_ERR_INTERNAL;
	jsonw_lit(w, "{");
	jsonw_key(w, "user_id");
	jsonw_i64(w, user_id);
	jsonw_key(w, "balance");
	jsonw_points(w, balance);
	jsonw_key(w, "orders");
	jsonw_i64(w, orders);
	jsonw_key(w, "returned_orders");
	jsonw_i64(w, returned);
	jsonw_lit(w, "}");
	return CLP_OK;
}

static void
bind_record_order(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
	job->params[2] = db_job_int(job, 0, a->in->user_id);
	job->params[3] = db_job_int(job, 1, a->in->order_id);
	job->params[4] = db_job_int(job, 2, a->in->total_cost);
	job->params[5] = db_job_int(job, 3, a->in->completed_at);
}

static enum clp_err
answer_record_order(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	(void)a;
	return answer_order(job, "points_hundredths", "points", true, w,
	    status);
}

static void
bind_return_order(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
	job->params[2] = db_job_int(job, 0, a->in->order_id);
}

static enum clp_err
answer_return_order(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	(void)a;
	return answer_order(job, "points_revoked_hundredths",
	    "points_revoked", false, w, status);
}

static void
bind_create_app(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
	job->params[2] = a->in->application_name;
	job->params[3] = a->in->access_level;
	job->params[4] = a->new_hash;
}

static enum clp_err
answer_create_app(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	struct ops_app app;
	enum clp_err err = db_result(job);

	if (err != CLP_OK)
		return err;
	if (!get_app(job, 0, &app))
		return CLP_ERR_INTERNAL;
	*status = 201;
	jsonw_lit(w, "{");
	write_app(w, &app);
	write_token(w, app.app_id, a->secret);
	jsonw_key(w, "created_at");
	jsonw_cstr(w, app.created_at);
	jsonw_lit(w, "}");
	return CLP_OK;
}

static void
bind_list_apps(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
}

static enum clp_err
answer_list_apps(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	struct ops_app app;
	int i;

	(void)a;
	(void)status;
	if (job->err != CLP_OK)
		return job->err;
	jsonw_lit(w, "{\"apps\":[");
	for (i = 0; i < db_rows(job); i++) {
		if (!get_app(job, i, &app))
			return CLP_ERR_INTERNAL;
		jsonw_elem(w);
		jsonw_lit(w, "{");
		write_app(w, &app);
		jsonw_key(w, "created_at");
		jsonw_cstr(w, app.created_at);
		jsonw_lit(w, "}");
		if (buf_failed(w))
			return CLP_ERR_INTERNAL;
	}
	jsonw_lit(w, "]}");
	return CLP_OK;
}

static void
bind_set_level(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
	job->params[2] = a->in->app_id;
	job->params[3] = a->in->access_level;
}

static enum clp_err
answer_set_level(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	struct ops_app app;
	enum clp_err err = db_result(job);

	(void)a;
	(void)status;
	if (err != CLP_OK)
		return err;
	if (!get_app(job, 0, &app))
		return CLP_ERR_INTERNAL;
	jsonw_lit(w, "{");
	write_app(w, &app);
	jsonw_lit(w, "}");
	return CLP_OK;
}

/* delete_app: the caller and the app's id. */
static void
bind_app_id(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
	job->params[2] = a->in->app_id;
}

static enum clp_err
answer_delete_app(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	enum clp_err err = db_result(job);

	(void)status;
	if (err != CLP_OK)
		return err;
	jsonw_lit(w, "{");
	jsonw_key(w, "app_id");
	jsonw_cstr(w, a->in->app_id);
	jsonw_key(w, "deleted");
	jsonw_lit(w, "true}");
	return CLP_OK;
}

static void
bind_rotate_token(struct db_job *job, const struct op_args *a)
{
	bind_app_id(job, a);
	job->params[3] = a->new_hash;
}

static enum clp_err
answer_rotate_token(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	enum clp_err err = db_result(job);

	(void)status;
	if (err != CLP_OK)
		return err;
	jsonw_lit(w, "{");
	jsonw_key(w, "app_id");
	jsonw_cstr(w, a->in->app_id);
	write_token(w, a->in->app_id, a->secret);
	jsonw_lit(w, "}");
	return CLP_OK;
}

/*
 * SPEC §8's pages: the customer, a limit (50 unless given) and the
 * position in the cursor the previous page gave (NULL: the first page),
 * which service.c has checked.
 */
static void
bind_history(struct db_job *job, const struct op_args *a)
{
	bind_caller(job, a);
	job->params[2] = db_job_int(job, 0, a->in->user_id);
	job->params[3] = db_job_int(job, 1,
	    a->in->present & FIELD_BIT(FIELD_LIMIT) ? a->in->limit :
	    OPS_PAGE_DEFAULT);
	job->params[4] = a->in->present & FIELD_BIT(FIELD_CURSOR) ?
	    db_job_int(job, 2, a->in->position) : NULL;
}

/* "key": the column as a string or an integer, or null when it is NULL. */
static bool
write_nullable(struct buf *w, const struct db_job *job, int row,
    const char *col, const char *key, bool integer)
{
	char text[OPS_TIME_MAX];
	int64_t v;

	jsonw_key(w, key);
	if (db_is_null(job, row, col)) {
		jsonw_lit(w, "null");
		return true;
	}
	if (integer) {
		if (!db_get_i64(job, row, col, &v))
			return false;
		jsonw_i64(w, v);
		return true;
	}
	if (!db_get_str(job, row, col, text, sizeof(text)))
		return false;
	jsonw_cstr(w, text);
	return true;
}

/*
 * {"user_id":N,"<list>":[rows],"next_cursor":...}: the rows newest first,
 * the cursor made from the last row's next_position (set only when a next
 * page exists).
 */
static enum clp_err
answer_page(const struct db_job *job, const struct op_args *a,
    const char *list, bool (*write_row)(struct buf *, const struct db_job *,
    int), struct buf *w)
{
	char cursor[CURSOR_LEN + 1];
	int64_t position;
	int i, rows;

	if (job->err != CLP_OK)
		return job->err;
	rows = db_rows(job);
	jsonw_lit(w, "{");
	jsonw_key(w, "user_id");
	jsonw_i64(w, a->in->user_id);
	jsonw_key(w, list);
	jsonw_lit(w, "[");
	for (i = 0; i < rows; i++) {
		jsonw_elem(w);
		jsonw_lit(w, "{");
		if (!write_row(w, job, i))
			return CLP_ERR_INTERNAL;
		jsonw_lit(w, "}");
	}
	jsonw_lit(w, "]");
	jsonw_key(w, "next_cursor");
	if (rows > 0 && !db_is_null(job, rows - 1, "next_position")) {
		if (!db_get_i64(job, rows - 1, "next_position", &position) ||
		    !cursor_make(a->cursor_list, a->in->user_id, position,
		    cursor))
			return CLP_ERR_INTERNAL;
		jsonw_cstr(w, cursor);
	} else {
		jsonw_lit(w, "null");
	}
	jsonw_lit(w, "}");
	return buf_failed(w) ? CLP_ERR_INTERNAL : CLP_OK;
}

static bool
write_order_row(struct buf *w, const struct db_job *job, int row)
{
	int64_t points;

	if (!write_nullable(w, job, row, "order_id", "order_id", true) ||
	    !write_nullable(w, job, row, "total_cost", "total_cost", true) ||
	    !write_nullable(w, job, row, "completed_at", "completed_at",
	    true) ||
	    !db_get_i64(job, row, "points_hundredths", &points))
		return false;
	jsonw_key(w, "points");
	jsonw_points(w, points);
	return write_nullable(w, job, row, "recorded_at", "recorded_at",
	    false) &&
	    write_nullable(w, job, row, "returned_at", "returned_at", false);
}

static enum clp_err
answer_customer_orders(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	(void)status;
	return answer_page(job, a, "orders", write_order_row, w);
}

static bool
write_ledger_row(struct buf *w, const struct db_job *job, int row)
{
	char kind[OPS_LEVEL_MAX], app_id[VALIDATE_APP_ID_MAX + 1];
	int64_t points, balance_after;

	if (!write_nullable(w, job, row, "entry_id", "entry_id", true) ||
	    !db_get_str(job, row, "kind", kind, sizeof(kind)) ||
	    !db_get_i64(job, row, "hundredths", &points) ||
	    !db_get_i64(job, row, "balance_after_hundredths",
	    &balance_after) ||
	    !db_get_str(job, row, "app_id", app_id, sizeof(app_id)))
		return false;
	jsonw_key(w, "kind");
	jsonw_cstr(w, kind);
	if (!write_nullable(w, job, row, "order_id", "order_id", true) ||
	    !write_nullable(w, job, row, "redemption_id", "redemption_id",
	    true))
		return false;
	jsonw_key(w, "points");
	jsonw_points(w, points);
	jsonw_key(w, "balance_after");
	jsonw_points(w, balance_after);
	jsonw_key(w, "app_id");
	jsonw_cstr(w, app_id);
	return write_nullable(w, job, row, "created_at", "created_at", false);
}

static enum clp_err
answer_customer_ledger(const struct db_job *job, const struct op_args *a,
    struct buf *w, int *status)
{
	(void)status;
	return answer_page(job, a, "entries", write_ledger_row, w);
}
