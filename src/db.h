/*
 * db.h — a worker's PostgreSQL connections, the statements each
 * prepares on connecting, and pipelined batches of calls of them spread
 * over the connections.  It knows no operation of the API: ops.c gives the
 * statements and reads the rows.
 * Failures come back as the SPEC's error: custom SQLSTATEs through the
 * error table, a lost connection as CLP_ERR_UNAVAILABLE, anything else as
 * CLP_ERR_INTERNAL (logged without parameters).
 */
#ifndef CLP_DB_H
#define CLP_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "error.h"
#include "points.h"

#define DB_FIELD_MAX	64

enum db_role {
	DB_ROLE_ADMIN,		/* init-master: the migrating admin */
	DB_ROLE_SERVICE		/* the workers: may only execute the API */
};

/* A prepared statement. */
struct db_stmt {
	const char	*name;
	const char	*sql;
	int		 nparams;
	/* Repeating it cannot change its outcome: run again after a lost
	 * connection. */
	bool		 retry_safe;
	bool		 read_only;	/* may share a transaction (a Sync) */
	/*
	 * A write's calls, many at once (NULL: none): a statement taking an
	 * array of each parameter, one element per call, each call in a
	 * subtransaction of its own, that answers call i (from 1) in the row
	 * whose column "i" is i: this statement's columns, or the call's
	 * error in error_state (a SQLSTATE), error_message and error_column.
	 */
	const struct db_stmt *batch;
};

/*
 * The most connections one struct db holds.  A commit waits for its WAL
 * flush; commits in flight on several connections at once share flushes
 * (PostgreSQL's group commit), one connection's commits never do.
 */
#define DB_CONNS_MAX	16

struct db {
	PGconn		*conns[DB_CONNS_MAX];	/* NULL: not connected */
	size_t		 nconns;	/* in use: 1 unless db_set_connections */
	const char	*conninfo;
	enum db_role	 role;
	const struct db_stmt *const *stmts;	/* prepared on connecting */
	size_t		 nstmts;
	/* Run on every new connection after the statements are prepared;
	 * false fails the connection (db_set_setup). */
	bool		(*setup)(PGconn *);
	/* The last connection was refused for its role's privileges. */
	bool		 role_refused;
	/* No reconnect attempt before this (one back-off for all the
	 * connections: a database that is down is tried once, not nconns
	 * times). */
	int64_t		 retry_at_ms;
	int		 backoff_ms;
};

#define DB_PARAMS_MAX	6
#define DB_BATCH_MAX	64	/* jobs db_run() sends in one pipeline */
#define DB_INTS_MAX	4

/*
 * One call of a statement: set up by db_job_set() and its parameters
 * filled in, run by db_run() with others, its rows read with db_get_*(),
 * then released by db_job_clear().  The parameters point at the caller's
 * strings, which must stay put until db_run() returns.
 */
struct db_job {
	const struct db_stmt *stmt;
	const char	*params[DB_PARAMS_MAX];
	char		 ints[DB_INTS_MAX][CLP_INT_TEXT_MAX];
	bool		 sent;
	bool		 done;
	PGresult	*res;		/* the rows, when err is CLP_OK */
	enum clp_err	 err;
	/* The field named by a CLV01 (invalid_field) error. */
	char		 field[DB_FIELD_MAX];
	/* The request's id for the job's log lines (NULL: none); set by
	 * the caller after db_job_set(). */
	const char	*request_id;
};

/*
 * conninfo: a libpq connection string or URL; NULL or "" uses PG* vars.
 * The n statements (which must outlive db) are prepared on connecting.
 */
void		db_init(struct db *, const char *conninfo, enum db_role,
		    const struct db_stmt *const *stmts, size_t n);
/* n connections (1..DB_CONNS_MAX), before db_connect(). */
void		db_set_connections(struct db *, size_t n);
/* What every new connection runs before its first call: it reads what the
 * worker keeps of the database (service.c: the cursor key). */
void		db_set_setup(struct db *, bool (*)(PGconn *));
void		db_close(struct db *);
/*
 * Opens every connection and prepares every statement on each; false if
 * one could not be opened (the database is down or, for DB_ROLE_SERVICE,
 * the login could do more than execute the API: a superuser, or any
 * privilege on a table: role_refused, logged).  db_run() opens what is
 * missing later.
 */
bool		db_connect(struct db *);

/*
 * Runs the jobs, sent together as one libpq pipeline per connection, all
 * sent before any answer is read: one round trip for all.  The writes of
 * a statement with a batch form go as one call of it, one transaction on
 * a connection of their own: one commit for all, each call's error its
 * own, and a failed commit every call's.  Any other write is its own
 * transaction (its own Sync), so its error or lock touches no other.  A
 * write is done only once its commit is confirmed; the writes are spread
 * over the connections so their commits are in flight together.  The
 * read-only jobs share one transaction on one connection, and a read's error only makes the reads after it go again.  If a
 * connection is lost, the jobs it never sent and those safe to repeat are
 * run once more (on any connection that is up); the others answer
 * CLP_ERR_UNAVAILABLE.  More than DB_BATCH_MAX jobs on one connection take
 * more round trips.
 */
void		db_run(struct db *, struct db_job *const *jobs, size_t n);
void		db_job_clear(struct db_job *);

/* A job for stmt, without parameters yet. */
void		db_job_set(struct db_job *, const struct db_stmt *stmt);
/* v as decimal text in the job's own slot (0..DB_INTS_MAX-1). */
const char	*db_job_int(struct db_job *, int slot, int64_t v);

/*
 * The outcome of a job that has run: the job's error, or CLP_OK.
 * db_result() also wants exactly one row (CLP_ERR_INTERNAL if not).
 */
enum clp_err	db_result(const struct db_job *);
int		db_rows(const struct db_job *);
/* A column of a row by name; false if absent, NULL or not as asked. */
bool		db_get_i64(const struct db_job *, int row, const char *col,
		    int64_t *out);
bool		db_get_str(const struct db_job *, int row, const char *col,
		    char *out, size_t size);
bool		db_get_bool(const struct db_job *, int row, const char *col,
		    bool *out);
/* Whether the rows have this column at all. */
bool		db_has_col(const struct db_job *, const char *col);
/* Whether a row's column is SQL NULL (an absent column counts as NULL). */
bool		db_is_null(const struct db_job *, int row, const char *col);

/*
 * Creates the master application (run by the migrating admin, not by
 * clp_service).  app_id NULL lets the database choose; the id is copied
 * into app_id_out.  CLP_ERR_MASTER_EXISTS if there is one.
 */
enum clp_err	db_create_master(struct db *, const char *token_hash,
		    const char *app_id, char *app_id_out, size_t size);

#endif
