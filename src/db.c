/*
 * db.c — libpq connections, prepared statements, pipelined batches spread
 * over the connections, reconnect, SQLSTATE mapping.
 *
 * A lost connection is noticed when a call fails; the call is then retried
 * once on a new connection if its statement says retrying cannot change
 * the outcome (ops.c: every API function but create_app and delete_app,
 * whose second run would answer app_name_taken / app_not_found).  While the
 * database stays down, reconnects are spaced by a back-off of at most
 * DB_BACKOFF_MAX_MS and requests in between get 503 at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "points.h"

#define DB_BACKOFF_MIN_MS	50
#define DB_BACKOFF_MAX_MS	1000
#define DB_CONNECT_TIMEOUT	"2"		/* seconds */
#define DB_STATEMENT_TIMEOUT	"SET statement_timeout = '5s'"

/* One connection's share of a batch, in the order it is sent. */
struct db_pipe {
	size_t		 index;		/* in db->conns */
	PGconn		*conn;
	struct db_job	*order[DB_BATCH_MAX];
	bool		 sync_after[DB_BATCH_MAX];
	size_t		 count;
	bool		 lost;
};

static void		db_notice(void *, const char *);
static bool		db_role_too_strong(PGconn *);
static void		db_drop(struct db *, size_t);
static bool		db_connect_one(struct db *, size_t);
static bool		db_ensure(struct db *, size_t);
static bool		db_connection_lost(PGconn *, const PGresult *);
static size_t		db_plan(struct db *, struct db_job *const *, size_t,
			    struct db_pipe *);
static bool		db_send(struct db_pipe *);
static bool		db_receive(struct db_pipe *);
static enum clp_err	db_classify(struct db_job *, const PGresult *);
static bool		get_str(const PGresult *, int, const char *, char *,
			    size_t);

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
db_init(struct db *db, const char *conninfo, enum db_role role,
    const struct db_stmt *const *stmts, size_t n)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo != NULL ? conninfo : "";
	db->role = role;
	db->stmts = stmts;
	db->nstmts = n;
	db->nconns = 1;
	db->backoff_ms = DB_BACKOFF_MIN_MS;
}

void
db_set_connections(struct db *db, size_t n)
{
	db->nconns = n < 1 ? 1 : n > DB_CONNS_MAX ? DB_CONNS_MAX : n;
}

void
db_set_setup(struct db *db, bool (*setup)(PGconn *))
{
	db->setup = setup;
}

static void
db_drop(struct db *db, size_t i)
{
	if (db->conns[i] != NULL)
		PQfinish(db->conns[i]);
	db->conns[i] = NULL;
}

void
db_close(struct db *db)
{
	size_t i;

	for (i = 0; i < DB_CONNS_MAX; i++)
		db_drop(db, i);
}

bool
db_connect(struct db *db)
{
	size_t i;

	for (i = 0; i < db->nconns; i++)
		if (!db_connect_one(db, i))
			return false;	/* the back-off now spaces the rest */
	return true;
}

/* Opens connection i: the role check, the settings, every statement, the
 * setup. */
static bool
db_connect_one(struct db *db, size_t i)
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
	PGconn *conn;
	bool ok = false;
	size_t k;

	db_drop(db, i);
	db->role_refused = false;
	conn = db->conns[i] = PQconnectdbParams(keys, values, 1);
	if (conn != NULL)
		PQsetNoticeProcessor(conn, db_notice, NULL);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		log_warn("database connection failed: %s", conn ?
		    PQerrorMessage(conn) : "out of memory");
		goto out;
	}
	if (db->role == DB_ROLE_SERVICE &&
	    (db->role_refused = db_role_too_strong(conn)))
		goto out;
	res = PQexec(conn, DB_STATEMENT_TIMEOUT);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto fail;
	for (k = 0; k < db->nstmts; k++) {
		PQclear(res);
		res = PQprepare(conn, db->stmts[k]->name, db->stmts[k]->sql,
		    db->stmts[k]->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			goto fail;
	}
	if (db->setup != NULL && !db->setup(conn))
		goto out;
	ok = true;
	goto out;
fail:
	log_error("database setup failed: %s",
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
	    PQerrorMessage(conn));
out:
	PQclear(res);
	if (ok) {
		db->backoff_ms = DB_BACKOFF_MIN_MS;
		db->retry_at_ms = 0;
	} else {
		metrics_db_error(METRICS_DB_CONNECT);
		db_drop(db, i);
		db->retry_at_ms = monotime_ms() + db->backoff_ms;
		db->backoff_ms = db->backoff_ms * 2 > DB_BACKOFF_MAX_MS ?
		    DB_BACKOFF_MAX_MS : db->backoff_ms * 2;
	}
	return ok;
}

/*
 * SPEC §6: the workers' role may only execute the API's functions.  A
 * superuser, a role that bypasses row security or one holding any privilege
 * on a table (outside the system catalogues, which every role reads) could
 * change balances without the API's checks: refuse to work as it.  An
 * unanswered check counts as refused too.
 */
static bool
db_role_too_strong(PGconn *conn)
{
	static const char sql[] =
	    "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS ("
	    " SELECT FROM pg_catalog.pg_class c"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE n.nspname <> 'information_schema'"
	    " AND n.nspname !~ '^pg_'"
	    " AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
	    " AND pg_catalog.has_table_privilege(c.oid,"
	    " 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'))"
	    " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user";
	PGresult *res = PQexec(conn, sql);
	bool strong = PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "f") != 0;

	PQclear(res);
	if (strong)
		log_error("refusing to work as database role %s: a superuser, "
		    "or a role with privileges on tables; the workers must log "
		    "in as clp_service (CLP_SERVICE_DATABASE_URL, docs/"
		    "DEPLOYING.md)", PQuser(conn));
	return strong;
}

/* Connection i usable, reconnecting unless the back-off says wait. */
static bool
db_ensure(struct db *db, size_t i)
{
	if (db->conns[i] != NULL && PQstatus(db->conns[i]) == CONNECTION_OK)
		return true;
	if (monotime_ms() < db->retry_at_ms)
		return false;
	if (!db_connect_one(db, i))
		return false;
	/* A worker's first connections are service_new()'s: one made here
	 * follows a failure or a loss. */
	metrics_db_reconnect();
	return true;
}

static bool
db_connection_lost(PGconn *conn, const PGresult *res)
{
	const char *state;

	if (res == NULL || PQstatus(conn) != CONNECTION_OK)
		return true;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* No SQLSTATE: libpq's own failure. Class 08: connection exception;
	 * 57P01..57P03: the server is shutting down or starting. */
	return state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0;
}

static enum clp_err
db_classify(struct db_job *job, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *what = job->stmt->name;
	const char *column;
	enum clp_err err;

	if (state != NULL && strcmp(state, "57014") == 0) {
		metrics_db_error(METRICS_DB_STATEMENT);
		log_msg(LOG_LEVEL_ERROR, job->request_id,
		    "%s: statement timeout", what);
		return CLP_ERR_UNAVAILABLE;
	}
	err = error_from_sqlstate(state);
	if (err == CLP_ERR_INTERNAL) {
		metrics_db_error(METRICS_DB_STATEMENT);
		/* The primary message names no parameter values. */
		log_msg(LOG_LEVEL_ERROR, job->request_id,
		    "%s failed: SQLSTATE %s: %s", what,
		    state ? state : "none",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "");
	} else if (err == CLP_ERR_INVALID_FIELD) {
		column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
		snprintf(job->field, sizeof(job->field), "%s",
		    column ? column : "");
	}
	return err;
}

/*
 * Shares out every job not yet done over the connections that are up, as
 * many as it needs (pipes, one each; returns how many): the read-only ones
 * together on the first, in one transaction (one Sync); each write with a
 * Sync of its own, dealt round the connections starting after the reads'
 * one, so that as many commits as connections are in flight at once and
 * share WAL flushes.
 */
static size_t
db_plan(struct db *db, struct db_job *const *jobs, size_t n,
    struct db_pipe *pipes)
{
	struct db_pipe *p;
	size_t i, npipes = 0, next, want = 0;
	bool reads = false;
	int pass;

	/* As many connections as the batch can use, and no more: one for
	 * the reads, one per write.  A batch of reads touches one. */
	for (i = 0; i < n; i++) {
		if (jobs[i]->done)
			continue;
		if (jobs[i]->stmt->read_only)
			reads = true;
		else
			want++;
	}
	want += reads;
	for (i = 0; i < db->nconns && npipes < want; i++) {
		if (!db_ensure(db, i))
			continue;
		pipes[npipes].index = i;
		pipes[npipes].conn = db->conns[i];
		pipes[npipes].count = 0;
		pipes[npipes].lost = false;
		npipes++;
	}
	if (npipes == 0)
		return 0;
	for (pass = 0, next = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (jobs[i]->done ||
			    jobs[i]->stmt->read_only != (pass == 0))
				continue;
			p = &pipes[pass == 0 ? 0 : next++ % npipes];
			if (p->count == DB_BATCH_MAX)
				continue;	/* the next pass takes it */
			p->sync_after[p->count] = pass == 1;
			p->order[p->count++] = jobs[i];
		}
		if (pass == 0 && pipes[0].count > 0) {
			pipes[0].sync_after[pipes[0].count - 1] = true;
			next = 1;	/* the end of the reads */
		}
	}
	return npipes;
}

/* Sends a pipe's jobs; true if the connection failed on the way. */
static bool
db_send(struct db_pipe *p)
{
	struct db_job *job;
	size_t k;

	if (p->count == 0)
		return false;
	if (PQenterPipelineMode(p->conn) != 1)
		return true;
	for (k = 0; k < p->count; k++) {
		job = p->order[k];
		if (PQsendQueryPrepared(p->conn, job->stmt->name,
		    job->stmt->nparams, job->params, NULL, NULL, 0) != 1)
			return true;
		job->sent = true;
		if (p->sync_after[k] && PQpipelineSync(p->conn) != 1)
			return true;
	}
	return false;
}

/*
 * Reads a sent pipe's results in order.  A read that fails aborts the rest
 * of its group: those are left undone, to be sent again.  True if the
 * connection was lost on the way; the jobs without an answer are then
 * left undone.
 */
static bool
db_receive(struct db_pipe *p)
{
	PGconn *conn = p->conn;
	struct db_job *job;
	PGresult *res;
	ExecStatusType status;
	size_t k;
	bool committing;

	if (p->count == 0)
		return false;
	for (k = 0; k < p->count; k++) {
		job = p->order[k];
		res = PQgetResult(conn);
		status = PQresultStatus(res);
		committing = false;
		if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
			/* A write is done only once its Sync (its commit)
			 * has come back too. */
			job->res = res;
			job->err = CLP_OK;
			job->done = job->stmt->read_only;
			committing = !job->done;
		} else if (status == PGRES_PIPELINE_ABORTED) {
			PQclear(res);
			job->sent = false;	/* it never ran */
		} else if (db_connection_lost(conn, res)) {
			PQclear(res);
			return true;
		} else {
			job->err = db_classify(job, res);
			job->done = true;
			PQclear(res);
		}
		/* The end of this job's results, then maybe a Sync.  One call
		 * gives one result: anything more means the protocol is not
		 * where we think, so the job's rows are no answer (a write is
		 * never reported done from them) and the connection goes. */
		if ((res = PQgetResult(conn)) != NULL) {
			PQclear(res);
			PQclear(job->res);
			job->res = NULL;
			job->err = CLP_ERR_INTERNAL;
			job->done = true;
			log_msg(LOG_LEVEL_ERROR, job->request_id,
			    "%s: an unexpected extra result", job->stmt->name);
			return true;
		}
		if (!p->sync_after[k])
			continue;
		res = PQgetResult(conn);
		status = PQresultStatus(res);
		if (status == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			if (committing)
				job->done = true;
			continue;
		}
		/* The commit failed, or the connection went before it was
		 * confirmed: a write's rows already read do not count. */
		if (committing) {
			PQclear(job->res);
			job->res = NULL;
			job->err = CLP_ERR_UNAVAILABLE;
			if (status == PGRES_FATAL_ERROR &&
			    !db_connection_lost(conn, res)) {
				job->err = db_classify(job, res);
				job->done = true;
			}
		}
		PQclear(res);
		return true;	/* the protocol state is unknown: drop it */
	}
	return PQexitPipelineMode(conn) != 1;
}

void
db_run(struct db *db, struct db_job *const *jobs, size_t n)
{
	struct db_pipe pipes[DB_CONNS_MAX];
	struct db_job *job;
	size_t i, npipes, left;
	bool dropped;
	int lost = 0;

	for (i = 0; i < n; i++) {
		jobs[i]->sent = jobs[i]->done = false;
		jobs[i]->res = NULL;
		jobs[i]->err = CLP_ERR_UNAVAILABLE;
		jobs[i]->field[0] = '\0';
	}
	/* Each pass finishes at least one job, or loses a connection. */
	while (lost < 2) {
		if ((npipes = db_plan(db, jobs, n, pipes)) == 0)
			return;
		/* Every pipe is sent before any is read: the connections'
		 * commits run, and wait for their flushes, together. */
		for (i = 0; i < npipes; i++)
			pipes[i].lost = db_send(&pipes[i]);
		for (i = 0, dropped = false; i < npipes; i++) {
			if (!pipes[i].lost && !db_receive(&pipes[i]))
				continue;
			metrics_db_error(METRICS_DB_LOST);
			log_warn("database connection lost");
			db_drop(db, pipes[i].index);
			dropped = true;
		}
		lost += dropped;
		/* A job that may have run is repeated only if that is safe. */
		for (i = 0, left = 0; i < n; i++) {
			job = jobs[i];
			if (job->done)
				continue;
			if (job->sent && !job->stmt->retry_safe)
				job->done = true;	/* unavailable */
			else
				left++;
			job->sent = false;
		}
		if (left == 0)
			return;
	}
}

void
db_job_clear(struct db_job *job)
{
	PQclear(job->res);
	job->res = NULL;
}

void
db_job_set(struct db_job *job, const struct db_stmt *stmt)
{
	memset(job->params, 0, sizeof(job->params));
	job->stmt = stmt;
	job->res = NULL;
	job->request_id = NULL;
}

const char *
db_job_int(struct db_job *job, int slot, int64_t v)
{
	clp_int_format(v, job->ints[slot], sizeof(job->ints[slot]));
	return job->ints[slot];
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

enum clp_err
db_result(const struct db_job *job)
{
	if (job->err != CLP_OK)
		return job->err;
	return PQntuples(job->res) == 1 ? CLP_OK : CLP_ERR_INTERNAL;
}

int
db_rows(const struct db_job *job)
{
	return job->err == CLP_OK ? PQntuples(job->res) : 0;
}

bool
db_get_i64(const struct db_job *job, int row, const char *col, int64_t *out)
{
	int c = PQfnumber(job->res, col);
	char *end;

	if (c < 0 || PQgetisnull(job->res, row, c))
		return false;
	*out = strtoll(PQgetvalue(job->res, row, c), &end, 10);
	return *end == '\0';
}

bool
db_get_str(const struct db_job *job, int row, const char *col, char *out,
    size_t size)
{
	return get_str(job->res, row, col, out, size);
}

bool
db_is_null(const struct db_job *job, int row, const char *col)
{
	int c = PQfnumber(job->res, col);

	return c < 0 || PQgetisnull(job->res, row, c);
}

bool
db_get_bool(const struct db_job *job, int row, const char *col, bool *out)
{
	int c = PQfnumber(job->res, col);

	if (c < 0 || PQgetisnull(job->res, row, c))
		return false;
	*out = PQgetvalue(job->res, row, c)[0] == 't';
	return true;
}

bool
db_has_col(const struct db_job *job, const char *col)
{
	return PQfnumber(job->res, col) >= 0;
}

enum clp_err
db_create_master(struct db *db, const char *token_hash, const char *app_id,
    char *app_id_out, size_t size)
{
	const char *params[] = { token_hash, app_id };
	PGresult *res = NULL;
	enum clp_err err = CLP_ERR_UNAVAILABLE;

	if (!db_ensure(db, 0))
		goto out;
	/* Not a prepared statement: run once, by the admin, not a worker. */
	res = PQexecParams(db->conns[0],
	    "SELECT app_id FROM clp_api.create_master($1, $2)", 2, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err = db_connection_lost(db->conns[0], res) ?
		    CLP_ERR_UNAVAILABLE :
		    error_from_sqlstate(PQresultErrorField(res,
		    PG_DIAG_SQLSTATE));
		goto out;
	}
	err = PQntuples(res) == 1 && get_str(res, 0, "app_id", app_id_out,
	    size) ? CLP_OK : CLP_ERR_INTERNAL;
out:
	PQclear(res);
	return err;
}
