/*
 * test_db.c — db_run()'s pipeline, with the operation table's statements
 * (ops.c), against libpq wrapped at link time
 * (-Wl,--wrap, see the Makefile): each test scripts the results libpq
 * hands back, with libpq's own status codes, and checks what was sent
 * (statements and Syncs, in order) and what each job ends with.  The cases
 * a real server makes hard to produce on cue: a failed read inside a read
 * group, a commit that fails, the connection lost mid-batch, and an extra
 * result after a write's rows, and with several connections: the writes
 * spread over them, a commit failing on one, one of them lost.
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

/* A scripted result: libpq's status and, for an error, its SQLSTATE. */
struct fake_res {
	ExecStatusType	 status;
	const char	*sqlstate;
};

static struct fake_res	rows_ok = { PGRES_TUPLES_OK, NULL };
static struct fake_res	sync_ok = { PGRES_PIPELINE_SYNC, NULL };
static struct fake_res	aborted = { PGRES_PIPELINE_ABORTED, NULL };
static struct fake_res	refused = { PGRES_FATAL_ERROR, "CLA01" };
static struct fake_res	serialization = { PGRES_FATAL_ERROR, "40001" };

#define END	NULL		/* the end of one query's results */
#define SCRIPT_MAX	64

/* One fake connection's script: what it answers, what it was sent. */
struct fake_conn {
	struct fake_res	*results[SCRIPT_MAX];
	size_t		 nresults, next;
	/* After this many results the connection is bad (0: never). */
	size_t		 lost_after;
	char		 sent[512];	/* "balance record_order | ..." */
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
	(void)n, (void)values, (void)lengths, (void)formats;
	(void)result_format;
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
	(void)res;
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
	job_for(&jobs[1], OP_BALANCE);
	job_for(&jobs[2], OP_BALANCE);
	job_for(&jobs[3], OP_RETURN_ORDER);
	script_on(&fakes[0], 0,
	    &rows_ok, END, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 4);
	assert_string_equal(fakes[0].sent,
	    "balance balance | record_order | return_order |");
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
	job_for(&jobs[0], OP_BALANCE);
	job_for(&jobs[1], OP_BALANCE);
	job_for(&jobs[2], OP_BALANCE);
	script_on(&fakes[0], 0,
	    &rows_ok, END, &refused, END, &aborted, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 3);
	assert_string_equal(fakes[0].sent,
	    "balance balance balance | balance |");
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
	job_for(&jobs[3], OP_RECORD_ORDER);
	script_on(&fakes[0], 0, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	script_on(&fakes[1], 0, &rows_ok, END, &sync_ok,
	    &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 4);
	assert_string_equal(fakes[0].sent, "balance | return_order |");
	assert_string_equal(fakes[1].sent, "record_order | record_order |");
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
	job_for(&jobs[1], OP_RECORD_ORDER);
	script_on(&fakes[0], 0, &rows_ok, END, &serialization, END, END);
	script_on(&fakes[1], 0, &rows_ok, END, &sync_ok, END, END);
	db_run(&db, ptrs, 2);
	assert_true(jobs[0].done);
	assert_null(jobs[0].res);
	assert_int_equal(jobs[0].err, error_from_sqlstate("40001"));
	expect_ok(&jobs[1]);
	assert_int_equal(fakes[0].sends + fakes[1].sends, 2);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
