/*
 * db.h — the worker's one PostgreSQL connection and the typed calls of the
 * SQL API (sql/, schema clp_api).  Each call is one prepared statement.
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
#include "token.h"
#include "validate.h"

#define DB_TIME_MAX	32	/* "2026-11-23T21:42:48Z" */
#define DB_LEVEL_MAX	32
#define DB_FIELD_MAX	64

enum db_role {
	DB_ROLE_ADMIN,		/* init-master: the migrating admin */
	DB_ROLE_SERVICE		/* the workers: may only execute the API */
};

struct db {
	PGconn		*conn;
	const char	*conninfo;
	enum db_role	 role;
	/* The last connection was refused for its role's privileges. */
	bool		 role_refused;
	int64_t		 retry_at_ms;	/* no reconnect attempt before this */
	int		 backoff_ms;
};

/* Who is calling: the app id and its proof, crypt(secret, setting). */
struct db_caller {
	const char	*app_id;
	const char	*token_hash;
};

#define DB_PARAMS_MAX	6
#define DB_BATCH_MAX	64	/* jobs db_run() sends in one pipeline */
#define DB_INTS_MAX	4

/*
 * One call of the SQL API: set up by a db_job_*() function, run by
 * db_run() with others, read by a db_result_*() function, then released
 * by db_job_clear().  The parameters point at the caller's strings, which
 * must stay put until db_run() returns.
 */
struct db_job {
	int		 stmt;		/* db.c's statement table */
	const char	*params[DB_PARAMS_MAX];
	char		 ints[DB_INTS_MAX][CLP_INT_TEXT_MAX];
	bool		 sent;
	bool		 done;
	PGresult	*res;		/* the rows, when err is CLP_OK */
	enum clp_err	 err;
	/* The field named by a CLV01 (invalid_field) error. */
	char		 field[DB_FIELD_MAX];
};

struct db_balance {
	int64_t	user_id;
	int64_t	balance;	/* hundredths */
	int64_t	orders;
	int64_t	returned_orders;
};

struct db_order {
	int64_t	order_id;
	int64_t	user_id;
	int64_t	points;		/* hundredths awarded, or revoked */
	bool	replayed;
};

struct db_app {
	char	app_id[VALIDATE_APP_ID_MAX + 1];
	char	application_name[VALIDATE_NAME_MAX_BYTES + 1];
	char	access_level[DB_LEVEL_MAX];
	char	created_at[DB_TIME_MAX];
};

typedef bool (*db_app_cb)(void *ctx, const struct db_app *app);

/* conninfo: a libpq connection string or URL; NULL or "" uses PG* vars. */
void		db_init(struct db *, const char *conninfo, enum db_role);
void		db_close(struct db *);
/*
 * Connects and prepares every statement; false if the database is down or,
 * for DB_ROLE_SERVICE, if the login could do more than execute the API
 * (a superuser, or any privilege on a table: role_refused, logged).
 */
bool		db_connect(struct db *);

/*
 * Runs the jobs on the one connection, sent together as a libpq pipeline:
 * one round trip for all.  Each job that writes is its own transaction
 * (its own Sync), so its error or lock touches no other; the read-only
 * ones share one, and a read's error only makes the reads after it go
 * again.  If the connection is lost, the jobs that never reached the
 * server and those safe to repeat are run once more on a new connection;
 * the others answer CLP_ERR_UNAVAILABLE.  More than DB_BATCH_MAX jobs take
 * more round trips.
 */
void		db_run(struct db *, struct db_job *const *jobs, size_t n);
void		db_job_clear(struct db_job *);

void		db_job_health(struct db_job *);
void		db_job_auth_lookup(struct db_job *, const char *app_id);
void		db_job_authorize(struct db_job *, const struct db_caller *,
		    const char *level);
void		db_job_balance(struct db_job *, const struct db_caller *,
		    int64_t user_id);
void		db_job_record_order(struct db_job *, const struct db_caller *,
		    const struct input *);
void		db_job_return_order(struct db_job *, const struct db_caller *,
		    int64_t order_id);
void		db_job_create_app(struct db_job *, const struct db_caller *,
		    const char *name, const char *level,
		    const char *new_hash);
void		db_job_list_apps(struct db_job *, const struct db_caller *);
void		db_job_set_level(struct db_job *, const struct db_caller *,
		    const char *app_id, const char *level);
void		db_job_delete_app(struct db_job *, const struct db_caller *,
		    const char *app_id);
void		db_job_rotate_token(struct db_job *, const struct db_caller *,
		    const char *app_id, const char *new_hash);

/*
 * The outcome of a job that has run: the job's error, or CLP_OK with the
 * row read into out, or CLP_ERR_INTERNAL if the row is not what the SQL
 * API promises.
 */
enum clp_err	db_result(const struct db_job *);	/* one row, unread */
/* The setting to prove an app's token with (a decoy for an unknown app). */
enum clp_err	db_result_auth_lookup(const struct db_job *, char *setting,
		    size_t size);
enum clp_err	db_result_balance(const struct db_job *, struct db_balance *);
/* record_order and return_order. */
enum clp_err	db_result_order(const struct db_job *, struct db_order *);
/* create_app and set_level. */
enum clp_err	db_result_app(const struct db_job *, struct db_app *);
/* list_apps: cb for each application; CLP_ERR_INTERNAL if cb fails. */
enum clp_err	db_result_apps(const struct db_job *, db_app_cb cb,
		    void *ctx);

/*
 * Creates the master application (run by the migrating admin, not by
 * clp_service).  app_id NULL lets the database choose; the id is copied
 * into app_id_out.  CLP_ERR_MASTER_EXISTS if there is one.
 */
enum clp_err	db_create_master(struct db *, const char *token_hash,
		    const char *app_id, char *app_id_out, size_t size);

#endif
