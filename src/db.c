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

#include "buf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "points.h"

#define DB_BACKOFF_MIN_MS	50
#define DB_BACKOFF_MAX_MS	1000
#define DB_CONNECT_TIMEOUT	"2"		/* seconds */
#define DB_STATEMENT_TIMEOUT	"SET statement_timeout = '5s'"

/* The most parameters of a batch statement's arrays, all of them. */
#define DB_ARRAYS_MAX	(1024 * 1024)

/* One statement sent: a job's own, or its batch form for count jobs. */
struct db_call {
	const struct db_stmt *stmt;
	size_t		 first;		/* in the pipe's order */
	size_t		 count;
	bool		 sync_after;
};

/* One connection's share of a batch, in the order it is sent. */
struct db_pipe {
	size_t		 index;		/* in db->conns */
	PGconn		*conn;
	struct db_job	*order[DB_BATCH_MAX];
	size_t		 count;
	struct db_call	 calls[DB_BATCH_MAX];
	size_t		 ncalls;
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
static bool		db_in_batch(const struct db_stmt *,
			    const struct db_stmt *const *, const size_t *,
			    size_t);
static void		db_add_job(struct db_pipe *, struct db_job *, bool);
static void		db_add_batch(struct db_pipe *, struct db_job *const *,
			    size_t, const struct db_stmt *);
static void		db_add_call(struct db_pipe *, const struct db_stmt *,
			    size_t, bool);
static bool		db_send_batch(struct db_pipe *, const struct db_call *);
static bool		db_send(struct db_pipe *);
static bool		db_batch_rows(struct db_pipe *, const struct db_call *,
			    const PGresult *);
static bool		db_receive(struct db_pipe *);
static enum clp_err	db_classify(struct db_job *, const PGresult *);
static enum clp_err	db_classify_state(struct db_job *, const char *,
			    const char *, const char *);
static bool		get_str(const PGresult *, int, const char *, char *,
			    size_t);
static const char	*get_value(const PGresult *, int, const char *);

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
		if (db->stmts[k]->batch == NULL)
			continue;
		PQclear(res);
		res = PQprepare(conn, db->stmts[k]->batch->name,
		    db->stmts[k]->batch->sql, db->stmts[k]->batch->nparams,
		    NULL);
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
	return db_classify_state(job,
	    PQresultErrorField(res, PG_DIAG_SQLSTATE),
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
	    PQresultErrorField(res, PG_DIAG_COLUMN_NAME));
}

/* A call's error from its SQLSTATE, primary message and column. */
static enum clp_err
db_classify_state(struct db_job *job, const char *state, const char *message,
    const char *column)
{
	const char *what = job->stmt->name;
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
		    state ? state : "none", message ? message : "");
	} else if (err == CLP_ERR_INVALID_FIELD) {
		snprintf(job->field, sizeof(job->field), "%s",
		    column ? column : "");
	}
	return err;
}

/*
 * Shares out every job not yet done over the connections that are up, as
 * many as it needs (pipes, one each; returns how many): the read-only ones
 * together on the first, in one transaction (one Sync); the writes of a
 * statement with a batch form, if more than one, as one call of it with a
 * Sync; every other write with a Sync of its own; the writes' calls dealt
 * round the connections starting after the reads' one, so that as many
 * commits as connections are in flight at once and share WAL flushes.
 */
static size_t
db_plan(struct db *db, struct db_job *const *jobs, size_t n,
    struct db_pipe *pipes)
{
	const struct db_stmt *batched[DB_BATCH_MAX];
	size_t count[DB_BATCH_MAX];
	const struct db_stmt *stmt;
	size_t i, g, ngroups = 0, npipes = 0, next, want = 0;
	bool reads = false;

	/* The statements whose jobs go as one call, and how many calls the
	 * batch needs: one for the reads, one per batch of writes, one per
	 * other write.  A batch of reads touches one connection. */
	for (i = 0; i < n; i++) {
		if (jobs[i]->done)
			continue;
		stmt = jobs[i]->stmt;
		if (stmt->read_only) {
			reads = true;
			continue;
		}
		if (stmt->batch != NULL) {
			for (g = 0; g < ngroups && batched[g] != stmt; g++)
				;
			if (g == ngroups) {
				batched[ngroups] = stmt;
				count[ngroups++] = 0;
			}
			count[g]++;
		}
		if (stmt->batch == NULL || count[g] == 1)
			want++;
	}
	want += reads;
	for (i = 0; i < db->nconns && npipes < want; i++) {
		if (!db_ensure(db, i))
			continue;
		pipes[npipes].index = i;
		pipes[npipes].conn = db->conns[i];
		pipes[npipes].count = 0;
		pipes[npipes].ncalls = 0;
		pipes[npipes].lost = false;
		npipes++;
	}
	if (npipes == 0)
		return 0;
	/* A full pipe leaves a job undone: the next round takes it. */
	for (i = 0; i < n; i++)
		if (jobs[i]->stmt->read_only)
			db_add_job(&pipes[0], jobs[i], false);
	if (pipes[0].ncalls > 0)
		pipes[0].calls[pipes[0].ncalls - 1].sync_after = true;
	next = reads ? 1 : 0;
	for (g = 0; g < ngroups; g++)
		if (count[g] > 1)
			db_add_batch(&pipes[next++ % npipes], jobs, n,
			    batched[g]);
	for (i = 0; i < n; i++)
		if (!jobs[i]->stmt->read_only &&
		    !db_in_batch(jobs[i]->stmt, batched, count, ngroups))
			db_add_job(&pipes[next++ % npipes], jobs[i], true);
	return npipes;
}

/* Whether stmt's jobs go as one call (more than one of them). */
static bool
db_in_batch(const struct db_stmt *stmt, const struct db_stmt *const *batched,
    const size_t *count, size_t ngroups)
{
	size_t g;

	for (g = 0; g < ngroups; g++)
		if (batched[g] == stmt)
			return count[g] > 1;
	return false;
}

/* A job not yet done, as a call of its own. */
static void
db_add_job(struct db_pipe *p, struct db_job *job, bool sync_after)
{
	if (job->done || p->count == DB_BATCH_MAX)
		return;
	p->order[p->count++] = job;
	db_add_call(p, job->stmt, p->count - 1, sync_after);
}

/* The jobs of stmt not yet done, as one call of its batch form, with a
 * Sync. */
static void
db_add_batch(struct db_pipe *p, struct db_job *const *jobs, size_t n,
    const struct db_stmt *stmt)
{
	size_t i, first = p->count;

	for (i = 0; i < n && p->count < DB_BATCH_MAX; i++)
		if (!jobs[i]->done && jobs[i]->stmt == stmt)
			p->order[p->count++] = jobs[i];
	if (p->count > first)
		db_add_call(p, stmt->batch, first, true);
}

/* The jobs of p from first on, as one call of stmt. */
static void
db_add_call(struct db_pipe *p, const struct db_stmt *stmt, size_t first,
    bool sync_after)
{
	struct db_call *call = &p->calls[p->ncalls++];

	call->stmt = stmt;
	call->first = first;
	call->count = p->count - first;
	call->sync_after = sync_after;
}

/*
 * Sends a batch call: each parameter an array of the jobs' values, as
 * quoted elements (NULL for none).  True if the connection failed.
 */
static bool
db_send_batch(struct db_pipe *p, const struct db_call *call)
{
	const char *params[DB_PARAMS_MAX];
	size_t at[DB_PARAMS_MAX];
	struct buf arrays;
	const char *v;
	size_t j, k;
	bool failed = false;

	/* The token proofs are in there: wiped once sent. */
	buf_init_sensitive(&arrays, DB_ARRAYS_MAX);
	for (j = 0; j < (size_t)call->stmt->nparams; j++) {
		at[j] = buf_len(&arrays);
		buf_add(&arrays, "{", 1);
		for (k = 0; k < call->count; k++) {
			if (k > 0)
				buf_add(&arrays, ",", 1);
			if ((v = p->order[call->first + k]->params[j]) ==
			    NULL) {
				buf_add(&arrays, "NULL", 4);
				continue;
			}
			buf_add(&arrays, "\"", 1);
			for (; *v != '\0'; v++) {
				if (*v == '"' || *v == '\\')
					buf_add(&arrays, "\\", 1);
				buf_add(&arrays, v, 1);
			}
			buf_add(&arrays, "\"", 1);
		}
		buf_add(&arrays, "}", 2);	/* with its NUL */
	}
	if (buf_failed(&arrays)) {
		/* Not the connection's fault: these jobs fail, it stays. */
		for (k = 0; k < call->count; k++) {
			p->order[call->first + k]->err = CLP_ERR_INTERNAL;
			p->order[call->first + k]->done = true;
		}
		log_error("%s: parameters over %d bytes", call->stmt->name,
		    DB_ARRAYS_MAX);
		goto out;
	}
	for (j = 0; j < (size_t)call->stmt->nparams; j++)
		params[j] = buf_data(&arrays) + at[j];
	failed = PQsendQueryPrepared(p->conn, call->stmt->name,
	    call->stmt->nparams, params, NULL, NULL, 0) != 1;
	for (k = 0; !failed && k < call->count; k++)
		p->order[call->first + k]->sent = true;
out:
	buf_free(&arrays);
	return failed;
}

/* Sends a pipe's calls; true if the connection failed on the way. */
static bool
db_send(struct db_pipe *p)
{
	const struct db_call *call;
	struct db_job *job;
	size_t c;

	if (p->ncalls == 0)
		return false;
	if (PQenterPipelineMode(p->conn) != 1)
		return true;
	for (c = 0; c < p->ncalls; c++) {
		call = &p->calls[c];
		job = p->order[call->first];
		if (call->stmt != job->stmt) {
			if (db_send_batch(p, call))
				return true;
		} else {
			if (PQsendQueryPrepared(p->conn, job->stmt->name,
			    job->stmt->nparams, job->params, NULL, NULL,
			    0) != 1)
				return true;
			job->sent = true;
		}
		if (call->sync_after && PQpipelineSync(p->conn) != 1)
			return true;
	}
	return false;
}

/*
 * A batch call's rows, shared out: each job gets its row as a result of
 * its own, as if it had run alone, or its error.  False if the rows are
 * not one per job.
 */
static bool
db_batch_rows(struct db_pipe *p, const struct db_call *call,
    const PGresult *res)
{
	struct db_job *job;
	char *v;
	int row, col, ncols = PQnfields(res), ci = PQfnumber(res, "i");
	int cstate = PQfnumber(res, "error_state");
	long i;
	char *end;

	if (ci < 0 || cstate < 0 || PQntuples(res) != (int)call->count)
		return false;
	for (row = 0; row < PQntuples(res); row++) {
		i = strtol(PQgetvalue(res, row, ci), &end, 10);
		if (*end != '\0' || i < 1 || (size_t)i > call->count)
			return false;
		job = p->order[call->first + (size_t)i - 1];
		if (job->res != NULL || job->err != CLP_ERR_UNAVAILABLE)
			return false;	/* answered twice */
		if (!PQgetisnull(res, row, cstate)) {
			job->err = db_classify_state(job,
			    PQgetvalue(res, row, cstate),
			    get_value(res, row, "error_message"),
			    get_value(res, row, "error_column"));
			continue;
		}
		if ((job->res = PQcopyResult(res, PG_COPYRES_ATTRS)) == NULL)
			return false;
		for (col = 0; col < ncols; col++) {
			v = PQgetisnull(res, row, col) ? NULL :
			    PQgetvalue(res, row, col);
			if (!PQsetvalue(job->res, 0, col, v,
			    v ? PQgetlength(res, row, col) : -1))
				return false;
		}
		job->err = CLP_OK;
	}
	return true;
}

/*
 * Reads a sent pipe's results in order.  A read that fails aborts the rest
 * of its group: those are left undone, to be sent again.  True if the
 * connection was lost on the way, or its protocol state is unknown; the
 * jobs without an answer are then left undone.
 */
static bool
db_receive(struct db_pipe *p)
{
	PGconn *conn = p->conn;
	const struct db_call *call;
	struct db_job *job;
	PGresult *res;
	ExecStatusType status;
	enum clp_err err;
	size_t c, k;
	bool committing, batch;

	if (p->ncalls == 0)
		return false;
	for (c = 0; c < p->ncalls; c++) {
		call = &p->calls[c];
		job = p->order[call->first];
		batch = call->stmt != job->stmt;
		res = PQgetResult(conn);
		status = PQresultStatus(res);
		committing = false;
		if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
			/* A write is done only once its Sync (its commit)
			 * has come back too: its error as well, in a batch. */
			committing = !job->stmt->read_only;
			if (!batch) {
				job->res = res;
				job->err = CLP_OK;
				job->done = !committing;
			} else if (!db_batch_rows(p, call, res)) {
				PQclear(res);
				log_error("%s: not one row per call",
				    call->stmt->name);
				err = CLP_ERR_INTERNAL;
				goto fail_all;
			} else {
				PQclear(res);
			}
		} else if (status == PGRES_PIPELINE_ABORTED) {
			PQclear(res);
			for (k = 0; k < call->count; k++)
				p->order[call->first + k]->sent = false;
		} else if (db_connection_lost(conn, res)) {
			PQclear(res);
			goto lost;
		} else {
			for (k = 0; k < call->count; k++) {
				job = p->order[call->first + k];
				job->err = db_classify(job, res);
				job->done = true;
			}
			PQclear(res);
		}
		/* The end of this call's results, then maybe a Sync.  One
		 * call gives one result: anything more means the protocol is
		 * not where we think, so the rows are no answer (a write is
		 * never reported done from them) and the connection goes. */
		if ((res = PQgetResult(conn)) != NULL) {
			PQclear(res);
			log_error("%s: an unexpected extra result",
			    call->stmt->name);
			err = CLP_ERR_INTERNAL;
			goto fail_all;
		}
		if (!call->sync_after)
			continue;
		res = PQgetResult(conn);
		status = PQresultStatus(res);
		if (status == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			for (k = 0; committing && k < call->count; k++)
				p->order[call->first + k]->done = true;
			continue;
		}
		/* The commit failed, or the connection went before it was
		 * confirmed: the writes' rows already read do not count. */
		err = committing && status == PGRES_FATAL_ERROR &&
		    !db_connection_lost(conn, res) ? db_classify(job, res) :
		    CLP_ERR_UNAVAILABLE;
		PQclear(res);
		if (!committing)
			return true;
		if (err != CLP_ERR_UNAVAILABLE)
			goto fail_all;
		goto lost;
	}
	return PQexitPipelineMode(conn) != 1;
lost:
	/* What this call read is no answer: undone, to be sent again if
	 * that is safe (db_run). */
	for (k = 0; k < call->count; k++) {
		job = p->order[call->first + k];
		if (job->done)
			continue;
		PQclear(job->res);
		job->res = NULL;
		job->err = CLP_ERR_UNAVAILABLE;
	}
	return true;
fail_all:
	/* Every job of the call answers err; the connection goes. */
	for (k = 0; k < call->count; k++) {
		job = p->order[call->first + k];
		PQclear(job->res);
		job->res = NULL;
		job->err = err;
		job->done = true;
	}
	return true;
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
	const char *v = get_value(res, row, col);
	size_t len = v != NULL ? strlen(v) : 0;

	if (v == NULL || len >= size)
		return false;
	memcpy(out, v, len + 1);
	return true;
}

/* A column's text (results are text: no NUL inside); NULL if the column
 * is absent or the value NULL. */
static const char *
get_value(const PGresult *res, int row, const char *col)
{
	int c = PQfnumber(res, col);

	return c < 0 || PQgetisnull(res, row, c) ? NULL :
	    PQgetvalue(res, row, c);
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
	const char *v = get_value(job->res, row, col);
	char *end;

	if (v == NULL)
		return false;
	*out = strtoll(v, &end, 10);
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
	return get_value(job->res, row, col) == NULL;
}

bool
db_get_bool(const struct db_job *job, int row, const char *col, bool *out)
{
	const char *v = get_value(job->res, row, col);

	if (v == NULL)
		return false;
	*out = v[0] == 't';
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
