/*
 * ops.h — the operations of the SQL API, one row each: the level a caller
 * needs, the prepared statement (name, SQL, whether a repeat is safe,
 * whether it only reads), how its parameters are bound from the request,
 * and how its answer is written as JSON.  router.c maps method + path to
 * an operation; service.c runs the rows; db.c sends the statements and
 * knows no operation.  Adding an endpoint: README, "Adding an endpoint".
 */
#ifndef CLP_OPS_H
#define CLP_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "validate.h"

enum op {
	OP_HEALTH,
	OP_BALANCE,
	OP_RECORD_ORDER,
	OP_RETURN_ORDER,
	OP_CREATE_APP,
	OP_LIST_APPS,
	OP_SET_LEVEL,
	OP_DELETE_APP,
	OP_ROTATE_TOKEN,
	OP_CUSTOMER_ORDERS,
	OP_CUSTOMER_LEDGER,
	/* No route: the steps of authentication. */
	OP_AUTH_LOOKUP,		/* an app's hash setting */
	OP_AUTHORIZE,		/* the caller's level, for a validation error */
	OP__COUNT
};

/* Access levels, as the SPEC and the database spell them. */
#define LEVEL_MASTER	"MasterApp"
#define LEVEL_READ	"Can_Read"
#define LEVEL_MODIFY	"Can_Modify_Orders"

/* What a call is bound from and answered with; strings stay put until
 * the answer is written. */
struct op_args {
	const char		*app_id;	/* the caller (its token's id) */
	const char		*proof;		/* crypt(secret, setting) */
	const char		*level;		/* the level the endpoint needs */
	const struct input	*in;		/* validated fields */
	const char		*secret;	/* a new token's (new_token) */
	const char		*new_hash;	/* and its hash */
	char			 cursor_list;	/* the operation's */
};

struct op_def {
	struct db_stmt	 stmt;
	const char	*level;		/* NULL: no caller (health) */
	bool		 new_token;	/* needs a new secret and its hash */
	/* Success makes the cache's proof for in->app_id stale. */
	bool		 forgets_app;
	void		(*bind)(struct db_job *, const struct op_args *);
	/* The body into out and the status (200 unless set); or an error,
	 * the job's own or CLP_ERR_INTERNAL for rows not as promised. */
	enum clp_err	(*answer)(const struct db_job *,
			    const struct op_args *, struct buf *out,
			    int *status);
	/* A read a streaming replica may answer (CLP_READ_DATABASE_URL):
	 * its rows may lag the primary by the replay delay (SPEC §10).  The
	 * caller is still checked on the primary in the same batch. */
	bool		 replica_ok;
	/* A history list (cursor.h's letter): the cursor a request gives is
	 * checked by service.c, and the database gets its position. */
	char		 cursor_list;
};

const struct op_def	*ops_get(enum op);
/* OP_AUTH_LOOKUP's answer: the setting to prove a token with. */
enum clp_err		 ops_auth_setting(const struct db_job *,
			    char *setting, size_t size);

#endif
