/*
 * test_db.c — db_run()'s pipeline, with the operation table's statements
 * (ops.c), against libpq wrapped at link time
 * (-Wl,--wrap, see the Makefile): each test scripts the results libpq
 * hands back, with libpq's own status codes, and checks what was sent
 * (statements and Syncs, in order) and what each job ends with.  The cases
 * a real server makes hard to produce on cue: a failed read inside a read
 * group, a commit that fails, the connection lost mid-batch, and an extra
 * result after a write's rows, and with several connections: the writes
 * spread over them, a commit failing on one, one of them lost.  A batch
 * call's rows are real PGresults (libpq builds them client-side), each
 * shared out to its job: rows out of order, a call's own error, rows not
 * one per call, and a batch's commit failed or lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "ops.h"

/* A scripted result: libpq's status and, for an error, its SQLSTATE;
 * for a batch call, its rows. */
struct fake_res {
	ExecStatusType	 status;
	const char	*sqlstate;
	PGresult	*rows;
};

static struct fake_res	rows_ok = { PGRES_TUPLES_OK, NULL, NULL };
static struct fake_res	sync_ok = { PGRES_PIPELINE_SYNC, NULL, NULL };
static struct fake_res	aborted = { PGRES_PIPELINE_ABORTED, NULL, NULL };
static struct fake_res	refused = { PGRES_FATAL_ERROR, "CLA01", NULL };
static struct fake_res	serialization = { PGRES_FATAL_ERROR, "40001", NULL };
/* Its rows: per test. */
static struct fake_res	batch = { PGRES_TUPLES_OK, NULL, NULL };

static const struct fake_res *const all_fakes[] = { &rows_ok, &sync_ok,
	&aborted, &refused, &serialization, &batch };

static bool
is_fake(const PGresult *res)
{
	size_t i;

	for (i = 0; i < sizeof(all_fakes) / sizeof(all_fakes[0]); i++)
		if (res == (const PGresult *)all_fakes[i])
			return true;
	return false;
}

/* The rows a fake stands for, or the real result itself. */
static const PGresult *
real(const PGresult *res)
{
	return is_fake(res) ? ((const struct fake_res *)res)->rows : res;
}

#define END	NULL		/* the end of one query's results */
#define SCRIPT_MAX	64

/* One fake connection's script: what it answers, what it was sent. */
struct fake_conn {
	struct fake_res	*results[SCRIPT_MAX];
	size_t		 nresults, next;
	/* After this many results the connection is bad (0: never). */
	size_t		 lost_after;
	char		 sent[512];	/* "balance record_order | ..." */
	char		 first_param[256];	/* of the last call sent */
	int		 sends, syncs;
	/* Calls sent on every connection when this one's first result was
	 * asked for: -1 until then. */
	int		 sends_before_read;
};

#define FAKE_CONNS	2
static struct fake_conn	fakes[FAKE_CONNS];
static int		all_sends;

static void
script_on(struct fake_conn *f, size_t lost_after, ...)
{
	va_list ap;
	struct fake_res *r;
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	f->lost_after = lost_after;
	f->sends_before_read = -1;
	va_start(ap, lost_after);
	/* The list ends with two ENDs in a row. */
	for (;;) {
		r = va_arg(ap, struct fake_res *);
		if (r == END && n > 0 && f->results[n - 1] == END)
			break;
		assert_true(n < SCRIPT_MAX);
		f->results[n++] = r;
	}
	va_end(ap);
	f->nresults = n - 1;
}

static struct fake_conn *
fake(const PGconn *conn)
{
	return (struct fake_conn *)(uintptr_t)conn;
}

static void
sent(struct fake_conn *f, const char *what)
{
	size_t len = strlen(f->sent);

	snprintf(f->sent + len, sizeof(f->sent) - len, "%s%s",
	    len > 0 ? " " : "", what);
}

/* The wrapped libpq: only what db_run() and db_connect() call. */
ConnStatusType	__wrap_PQstatus(const PGconn *);
int		__wrap_PQenterPipelineMode(PGconn *);
int		__wrap_PQexitPipelineMode(PGconn *);
int		__wrap_PQsendQueryPrepared(PGconn *, const char *, int,
		    const char *const *, const int *, const int *, int);
int		__wrap_PQpipelineSync(PGconn *);
PGresult	*__wrap_PQgetResult(PGconn *);
ExecStatusType	__wrap_PQresultStatus(const PGresult *);
char		*__wrap_PQresultErrorField(const PGresult *, int);
void		__wrap_PQclear(PGresult *);
void		__wrap_PQfinish(PGconn *);
PGconn		*__wrap_PQconnectdbParams(const char *const *,
		    const char *const *, int);
int		__wrap_PQntuples(const PGresult *);
int		__wrap_PQnfields(const PGresult *);
int		__wrap_PQfnumber(const PGresult *, const char *);
char		*__wrap_PQgetvalue(const PGresult *, int, int);
int		__wrap_PQgetisnull(const PGresult *, int, int);
int		__wrap_PQgetlength(const PGresult *, int, int);
PGresult	*__wrap_PQcopyResult(const PGresult *, int);
void		__real_PQclear(PGresult *);
int		__real_PQntuples(const PGresult *);
int		__real_PQnfields(const PGresult *);
int		__real_PQfnumber(const PGresult *, const char *);
char		*__real_PQgetvalue(const PGresult *, int, int);
int		__real_PQgetisnull(const PGresult *, int, int);
int		__real_PQgetlength(const PGresult *, int, int);
PGresult	*__real_PQcopyResult(const PGresult *, int);

ConnStatusType
__wrap_PQstatus(const PGconn *conn)
{
	if (conn == NULL || (fake(conn)->lost_after > 0 &&
	    fake(conn)->next >= fake(conn)->lost_after))
		return CONNECTION_BAD;
	return CONNECTION_OK;
}

int
__wrap_PQenterPipelineMode(PGconn *conn)
{
	(void)conn;
	return 1;
}

int
__wrap_PQexitPipelineMode(PGconn *conn)
{
	(void)conn;
	return 1;
}

int
__wrap_PQsendQueryPrepared(PGconn *conn, const char *name, int n,
    const char *const *values, const int *lengths, const int *formats,
    int result_format)
{
	(void)lengths, (void)formats, (void)result_format;
	snprintf(fake(conn)->first_param, sizeof(fake(conn)->first_param),
	    "%s", n > 0 && values[0] != NULL ? values[0] : "");
	sent(fake(conn), name);
	fake(conn)->sends++;
	all_sends++;
	return 1;
}

int
__wrap_PQpipelineSync(PGconn *conn)
{
	sent(fake(conn), "|");
	fake(conn)->syncs++;
	return 1;
}

PGresult *
__wrap_PQgetResult(PGconn *conn)
{
	struct fake_conn *f = fake(conn);

	if (f->sends_before_read < 0)
		f->sends_before_read = all_sends;
	if (f->next >= f->nresults ||
	    (f->lost_after > 0 && f->next >= f->lost_after))
		return NULL;
	return (PGresult *)f->results[f->next++];
}

ExecStatusType
__wrap_PQresultStatus(const PGresult *res)
{
	/* libpq: a NULL result is a fatal error. */
	return res == NULL ? PGRES_FATAL_ERROR :
	    ((const struct fake_res *)res)->status;
}

char *
__wrap_PQresultErrorField(const PGresult *res, int field)
{
	if (res == NULL || field != PG_DIAG_SQLSTATE)
		return NULL;
	return (char *)(uintptr_t)((const struct fake_res *)res)->sqlstate;
}

void
__wrap_PQclear(PGresult *res)
{
	if (!is_fake(res))
		__real_PQclear(res);	/* a job's copy of its batch row */
}

int
__wrap_PQntuples(const PGresult *res)
{
	return __real_PQntuples(real(res));
}

int
__wrap_PQnfields(const PGresult *res)
{
	return __real_PQnfields(real(res));
}

int
__wrap_PQfnumber(const PGresult *res, const char *name)
{
	return __real_PQfnumber(real(res), name);
}

char *
__wrap_PQgetvalue(const PGresult *res, int row, int col)
{
	return __real_PQgetvalue(real(res), row, col);
}

int
__wrap_PQgetisnull(const PGresult *res, int row, int col)
{
	return __real_PQgetisnull(real(res), row, col);
}

int
__wrap_PQgetlength(const PGresult *res, int row, int col)
{
	return __real_PQgetlength(real(res), row, col);
}

PGresult *
__wrap_PQcopyResult(const PGresult *res, int flags)
{
	return __real_PQcopyResult(real(res), flags);
}

/* A row's token: "-" is SQL NULL. */
static const char *
token(const char *t)
{
	return strcmp(t, "-") == 0 ? NULL : t;
}

/*
 * record_orders' rows, each "i order_id error_state error_column" ("-":
 * NULL); a row without an error has user_id 7, points 7 and replayed
 * false, one with an error has a message.
 */
static PGresult *
batch_rows(const char *const *rows, int n)
{
	static const char *const names[] = { "i", "order_id", "user_id",
	    "points_hundredths", "replayed", "error_state", "error_message",
	    "error_column" };
	PGresAttDesc attrs[8];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	char t[4][32];
	const char *v[8];
	int r, c;
	bool failed;

	assert_non_null(res);
	memset(attrs, 0, sizeof(attrs));
	for (c = 0; c < 8; c++)
		attrs[c].name = (char *)(uintptr_t)names[c];
	assert_true(PQsetResultAttrs(res, 8, attrs));
	for (r = 0; r < n; r++) {
		assert_int_equal(sscanf(rows[r], "%31s %31s %31s %31s", t[0],
		    t[1], t[2], t[3]), 4);
		failed = token(t[2]) != NULL;
		v[0] = t[0];
		v[1] = token(t[1]);
		v[2] = v[3] = failed ? NULL : "7";
		v[4] = failed ? NULL : "f";
		v[5] = token(t[2]);
		v[6] = failed ? "a message" : NULL;
		v[7] = token(t[3]);
		for (c = 0; c < 8; c++)
			assert_true(PQsetvalue(res, r, c,
			    (char *)(uintptr_t)v[c],
			    v[c] ? (int)strlen(v[c]) : -1));
	}
	return res;
}

void
__wrap_PQfinish(PGconn *conn)
{
	(void)conn;
}

PGconn *
__wrap_PQconnectdbParams(const char *const *keys, const char *const *values,
    int expand)
{
	(void)keys, (void)values, (void)expand;
	return NULL;	/* a reconnect fails: the database stays away */
}

static struct db	db;
static struct db_job	jobs[4];
static struct db_job	*ptrs[4];
static struct input	order_in = { .user_id = 1, .order_id = 2,
			    .total_cost = 3, .completed_at = 4 };
static struct op_args	args = { .app_id = "app", .proof = "proof",
			    .in = &order_in };

/* A job for an operation's statement, bound as service.c binds it. */
static void
job_for(struct db_job *job, enum op op)
{
	const struct op_def *d = ops_get(op);

	db_job_set(job, &d->stmt);
	d->bind(job, &args);
}

static int
setup(void **state)
{
	size_t i;

	(void)state;
	db_init(&db, "", DB_ROLE_SERVICE, NULL, 0);
	memset(fakes, 0, sizeof(fakes));
	all_sends = 0;
	db.conns[0] = (PGconn *)&fakes[0];
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < 4; i++)
		ptrs[i] = &jobs[i];
	return 0;
}

/* Two connections, as db_set_connections(&db, 2) and db_connect give. */
static int
setup_two(void **state)
{
	setup(state);
	db_set_connections(&db, 2);
	db.conns[1] = (PGconn *)&fakes[1];
	return 0;
}

/* The jobs' copies of their batch rows, and the batch's own rows. */
static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		db_job_clear(&jobs[i]);
	__real_PQclear(batch.rows);
	batch.rows = NULL;
	return 0;
}

static void
expect_ok(const struct db_job *job)
{
	assert_int_equal(job->err, CLP_OK);
	assert_true(job->done);
	assert_non_null(job->res);
}

/* Reads first, sharing one Sync; each write after them with its own. */
static void
test_sync_placement(void **state)
{
	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);
	job_for(&jobs[1], OP_LIST_APPS);
	job_for(&jobs[2], OP_BALANCE);
	job_for(&jobs[3], OP_RETURN_ORDER);
	script_on(&fakes[0], 0,
	    &rows_ok, END, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 4);
	assert_string_equal(fakes[0].sent,
	    "list_apps balance | record_order | return_order |");
	expect_ok(&jobs[0]);
	expect_ok(&jobs[1]);
	expect_ok(&jobs[2]);
	expect_ok(&jobs[3]);
	assert_int_equal(fakes[0].next, fakes[0].nresults);
}

/*
 * A read refused inside the read group aborts the reads after it: those
 * are sent again (once), and the refusal touches no other job.
 */
static void
test_failed_read_in_group(void **state)
{
	(void)state;
	job_for(&jobs[0], OP_LIST_APPS);
	job_for(&jobs[1], OP_LIST_APPS);
	job_for(&jobs[2], OP_LIST_APPS);
	script_on(&fakes[0], 0,
	    &rows_ok, END, &refused, END, &aborted, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 3);
	assert_string_equal(fakes[0].sent,
	    "list_apps list_apps list_apps | list_apps |");
	expect_ok(&jobs[0]);
	assert_int_equal(jobs[1].err, CLP_ERR_UNAUTHORIZED);
	assert_true(jobs[1].done);
	assert_null(jobs[1].res);
	expect_ok(&jobs[2]);
}

/* A write whose rows came back but whose commit failed is no success. */
static void
test_commit_fails(void **state)
{
	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);
	script_on(&fakes[0], 0, &rows_ok, END, &serialization, END, END);
	db_run(&db, ptrs, 1);
	assert_string_equal(fakes[0].sent, "record_order |");
	assert_true(jobs[0].done);
	assert_null(jobs[0].res);
	assert_int_not_equal(jobs[0].err, CLP_OK);
	assert_int_equal(jobs[0].err, error_from_sqlstate("40001"));
}

/*
 * The connection goes mid-batch: the read already answered keeps its
 * answer; the write whose commit was never confirmed is not reported done
 * from its rows, and with the database away it is unavailable (503).
 */
static void
test_connection_lost_mid_batch(void **state)
{
	(void)state;
	job_for(&jobs[0], OP_BALANCE);
	job_for(&jobs[1], OP_RECORD_ORDER);
	/* The connection is bad from the fourth result on. */
	script_on(&fakes[0], 4, &rows_ok, END, &sync_ok, &rows_ok, END, &sync_ok,
	    END, END);
	db_run(&db, ptrs, 2);
	expect_ok(&jobs[0]);
	assert_null(jobs[1].res);
	assert_int_equal(jobs[1].err, CLP_ERR_UNAVAILABLE);
}

/* One call gives one result: an extra one is an error, never a success. */
static void
test_extra_result_after_write(void **state)
{
	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);
	script_on(&fakes[0], 0, &rows_ok, &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 1);
	assert_true(jobs[0].done);
	assert_null(jobs[0].res);
	assert_int_equal(jobs[0].err, CLP_ERR_INTERNAL);
	/* Not sent again: the first run may have committed. */
	assert_int_equal(fakes[0].sends, 1);
}

/*
 * Two connections: the reads together on the first, the writes dealt
 * round from the second, each with its own Sync; everything sent before
 * any answer is read, so the commits are in flight together.
 */
static void
test_writes_spread(void **state)
{
	(void)state;
	job_for(&jobs[0], OP_BALANCE);
	job_for(&jobs[1], OP_RECORD_ORDER);
	job_for(&jobs[2], OP_RETURN_ORDER);
	job_for(&jobs[3], OP_SET_LEVEL);
	script_on(&fakes[0], 0, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	script_on(&fakes[1], 0, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 4);
	assert_string_equal(fakes[0].sent, "balance | return_order |");
	assert_string_equal(fakes[1].sent, "record_order | set_level |");
	assert_int_equal(fakes[0].sends_before_read, 4);
	expect_ok(&jobs[0]);
	expect_ok(&jobs[1]);
	expect_ok(&jobs[2]);
	expect_ok(&jobs[3]);
	assert_int_equal(fakes[0].next, fakes[0].nresults);
	assert_int_equal(fakes[1].next, fakes[1].nresults);
}

/*
 * A commit that fails on one connection answers its own write with the
 * error and touches the one committed on the other; neither is sent again.
 */
static void
test_commit_fails_on_one_connection(void **state)
{
	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);
	job_for(&jobs[1], OP_RETURN_ORDER);
	script_on(&fakes[0], 0, &rows_ok, END, &serialization, END, END);
	script_on(&fakes[1], 0, &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 2);
	assert_true(jobs[0].done);
	assert_null(jobs[0].res);
	assert_int_equal(jobs[0].err, error_from_sqlstate("40001"));
	expect_ok(&jobs[1]);
	assert_int_equal(fakes[0].sends + fakes[1].sends, 2);
}

/* The order a batch job was answered with. */
static int64_t
order_of(const struct db_job *job)
{
	int64_t id = -1;

	expect_ok(job);
	assert_true(db_get_i64(job, 0, "order_id", &id));
	return id;
}

/*
 * Two orders go as one call of record_orders, on a connection of its own
 * with one Sync, each parameter an array of the calls' values, quoted;
 * the rows come back in the database's order (by order_id) and each job
 * gets the one whose i is its place in the call.
 */
static void
test_writes_batched(void **state)
{
	static const char *const rows[] = { "2 22 - -", "1 11 - -" };

	(void)state;
	job_for(&jobs[0], OP_BALANCE);
	job_for(&jobs[1], OP_RECORD_ORDER);
	job_for(&jobs[2], OP_RETURN_ORDER);
	job_for(&jobs[3], OP_RECORD_ORDER);
	jobs[3].params[0] = "a\"b\\c";
	batch.rows = batch_rows(rows, 2);
	script_on(&fakes[0], 0, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	script_on(&fakes[1], 0, &batch, END, &sync_ok, END, END);
	db_run(&db, ptrs, 4);
	assert_string_equal(fakes[0].sent, "balance | return_order |");
	assert_string_equal(fakes[1].sent, "record_orders |");
	assert_string_equal(fakes[1].first_param, "{\"app\",\"a\\\"b\\\\c\"}");
	expect_ok(&jobs[0]);
	assert_int_equal(order_of(&jobs[1]), 11);
	expect_ok(&jobs[2]);
	assert_int_equal(order_of(&jobs[3]), 22);
	assert_int_equal(db_rows(&jobs[3]), 1);
	assert_int_equal(fakes[1].next, fakes[1].nresults);
}

/* A call's error in its row is that job's alone; the others commit. */
static void
test_batch_call_errors(void **state)
{
	static const char *const rows[] = { "3 - CLV01 total_cost",
	    "1 11 - -", "2 - CLA01 -" };

	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);
	job_for(&jobs[1], OP_RECORD_ORDER);
	job_for(&jobs[2], OP_RECORD_ORDER);
	batch.rows = batch_rows(rows, 3);
	script_on(&fakes[0], 0, &batch, END, &sync_ok, END, END);
	db_run(&db, ptrs, 3);
	assert_string_equal(fakes[0].sent, "record_orders |");
	assert_int_equal(order_of(&jobs[0]), 11);
	assert_true(jobs[1].done);
	assert_null(jobs[1].res);
	assert_int_equal(jobs[1].err, CLP_ERR_UNAUTHORIZED);
	assert_true(jobs[2].done);
	assert_null(jobs[2].res);
	assert_int_equal(jobs[2].err, CLP_ERR_INVALID_FIELD);
	assert_string_equal(jobs[2].field, "total_cost");
}

/*
 * The batch's commit fails: every call answers the error, the ones whose
 * rows said success and the one whose row said 409 alike; none is sent
 * again.
 */
static void
test_batch_commit_fails(void **state)
{
	static const char *const rows[] = { "1 11 - -", "2 - CLC01 -" };

	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);
	job_for(&jobs[1], OP_RECORD_ORDER);
	batch.rows = batch_rows(rows, 2);
	script_on(&fakes[0], 0, &batch, END, &serialization, END, END);
	db_run(&db, ptrs, 2);
	assert_int_equal(fakes[0].sends, 1);
	assert_true(jobs[0].done);
	assert_null(jobs[0].res);
	assert_int_equal(jobs[0].err, error_from_sqlstate("40001"));
	assert_true(jobs[1].done);
	assert_null(jobs[1].res);
	assert_int_equal(jobs[1].err, error_from_sqlstate("40001"));
}

/* Rows that are not one per call (a call answered twice, one never) are
 * no answer for any; the batch is not sent again: it may have committed. */
static void
test_batch_rows_not_one_per_call(void **state)
{
	static const char *const rows[] = { "1 11 - -", "1 11 - -" };

	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);
	job_for(&jobs[1], OP_RECORD_ORDER);
	batch.rows = batch_rows(rows, 2);
	script_on(&fakes[0], 0, &batch, END, &sync_ok, END, END);
	db_run(&db, ptrs, 2);
	assert_int_equal(fakes[0].sends, 1);
	assert_true(jobs[0].done);
	assert_null(jobs[0].res);
	assert_int_equal(jobs[0].err, CLP_ERR_INTERNAL);
	assert_true(jobs[1].done);
	assert_null(jobs[1].res);
	assert_int_equal(jobs[1].err, CLP_ERR_INTERNAL);
}

/*
 * The connection goes after the batch's rows, before its commit is known:
 * the rows are no answer, and the whole batch (safe to repeat: each order
 * replays) runs again on the other connection.
 */
static void
test_batch_lost_before_commit(void **state)
{
	static const char *const rows[] = { "2 22 - -", "1 11 - -" };

	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);
	job_for(&jobs[1], OP_RECORD_ORDER);
	batch.rows = batch_rows(rows, 2);
	script_on(&fakes[0], 1, &batch, END, &sync_ok, END, END);
	script_on(&fakes[1], 0, &batch, END, &sync_ok, END, END);
	db_run(&db, ptrs, 2);
	assert_string_equal(fakes[0].sent, "record_orders |");
	assert_string_equal(fakes[1].sent, "record_orders |");
	assert_int_equal(order_of(&jobs[0]), 11);
	assert_int_equal(order_of(&jobs[1]), 22);
}

/*
 * One connection goes before its first commit is confirmed, and cannot be
 * reopened: its retry-safe write runs again on the other connection; the
 * one that is not safe to repeat (delete_app) answers unavailable, sent
 * once; the other connection's write is untouched.
 */
static void
test_one_connection_lost(void **state)
{
	(void)state;
	job_for(&jobs[0], OP_RECORD_ORDER);	/* connection 0 */
	job_for(&jobs[1], OP_RETURN_ORDER);	/* connection 1 */
	job_for(&jobs[2], OP_DELETE_APP);	/* connection 0 */
	/* Bad from the second result on: no Sync for the first write. */
	script_on(&fakes[0], 2, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	script_on(&fakes[1], 0, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 3);
	assert_string_equal(fakes[0].sent, "record_order | delete_app |");
	assert_string_equal(fakes[1].sent, "return_order | record_order |");
	expect_ok(&jobs[0]);
	expect_ok(&jobs[1]);
	assert_true(jobs[2].done);
	assert_null(jobs[2].res);
	assert_int_equal(jobs[2].err, CLP_ERR_UNAVAILABLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sync_placement, setup),
		cmocka_unit_test_setup(test_failed_read_in_group, setup),
		cmocka_unit_test_setup(test_commit_fails, setup),
		cmocka_unit_test_setup(test_connection_lost_mid_batch, setup),
		cmocka_unit_test_setup(test_extra_result_after_write, setup),
		cmocka_unit_test_setup(test_writes_spread, setup_two),
		cmocka_unit_test_setup(test_commit_fails_on_one_connection,
		    setup_two),
		cmocka_unit_test_setup(test_one_connection_lost, setup_two),
		cmocka_unit_test_setup_teardown(test_writes_batched, setup_two,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch_call_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch_commit_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_batch_rows_not_one_per_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_lost_before_commit,
		    setup_two, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
