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
#include "token.h"
#include "validate.h"

#define DB_TIME_MAX	32	/* "2026-11-23T21:42:48Z" */
#define DB_LEVEL_MAX	32
#define DB_FIELD_MAX	64

struct db {
	PGconn		*conn;
	const char	*conninfo;
	int64_t		 retry_at_ms;	/* no reconnect attempt before this */
	int		 backoff_ms;
	/* The field named by the last CLV01 (invalid_field) error. */
	char		 field[DB_FIELD_MAX];
};

/* Who is calling: the app id and the hash its token verified against. */
struct db_caller {
	const char	*app_id;
	const char	*token_hash;
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
void		db_init(struct db *, const char *conninfo);
void		db_close(struct db *);
/* Connects and prepares every statement; false if the database is down. */
bool		db_connect(struct db *);

enum clp_err	db_health(struct db *);
/* The stored hash of a live application, or CLP_ERR_UNAUTHORIZED. */
enum clp_err	db_auth_lookup(struct db *, const char *app_id, char *hash,
		    size_t size);
enum clp_err	db_authorize(struct db *, const struct db_caller *,
		    const char *level);
enum clp_err	db_balance(struct db *, const struct db_caller *,
		    int64_t user_id, struct db_balance *);
enum clp_err	db_record_order(struct db *, const struct db_caller *,
		    const struct input *, struct db_order *);
enum clp_err	db_return_order(struct db *, const struct db_caller *,
		    int64_t order_id, struct db_order *);
enum clp_err	db_create_app(struct db *, const struct db_caller *,
		    const char *name, const char *level, const char *new_hash,
		    struct db_app *);
/* Calls cb for each application; stops with CLP_ERR_INTERNAL if cb fails. */
enum clp_err	db_list_apps(struct db *, const struct db_caller *,
		    db_app_cb cb, void *ctx);
enum clp_err	db_set_level(struct db *, const struct db_caller *,
		    const char *app_id, const char *level, struct db_app *);
enum clp_err	db_delete_app(struct db *, const struct db_caller *,
		    const char *app_id);
enum clp_err	db_rotate_token(struct db *, const struct db_caller *,
		    const char *app_id, const char *new_hash);
/*
 * Creates the master application (run by the migrating admin, not by
 * clp_service).  app_id NULL lets the database choose; the id is copied
 * into app_id_out.  CLP_ERR_MASTER_EXISTS if there is one.
 */
enum clp_err	db_create_master(struct db *, const char *token_hash,
		    const char *app_id, char *app_id_out, size_t size);

#endif
