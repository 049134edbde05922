/*
 * handlers.h — one request, end to end: route, authenticate, validate,
 * one database call, the JSON response.  The SPEC's order of errors
 * (route, 401, 403, 413, 415, 400, 422, then the endpoint's own) is kept
 * here, in one place.
 */
#ifndef CLP_HANDLERS_H
#define CLP_HANDLERS_H

#include <stdbool.h>

#include "auth.h"
#include "db.h"
#include "jsonw.h"
#include "request.h"

/* What a worker keeps across requests. */
struct service {
	struct db	db;
	struct auth	auth;
	struct jsonw	out;	/* one response body at a time */
};

enum handlers_step {
	HANDLERS_STEP_AUTH,	/* the app's hash setting (a token not cached) */
	HANDLERS_STEP_AUTHORIZE,/* the caller's level, for a validation error */
	HANDLERS_STEP_OP,	/* the endpoint's own call */
	HANDLERS_STEP_HEALTH
};

/*
 * One request while it is being answered.  Its database calls are made
 * by the caller of handlers_begin()/handlers_resume() (server.c), which
 * runs the jobs of every request it has in hand together (db_run).
 */
struct handlers_call {
	struct request		*req;
	const struct route	*route;
	enum handlers_step	 step;
	struct db_caller	 caller;
	struct input		 in;
	struct token		 token;
	char			 proof[TOKEN_HASH_MAX];	/* crypt(secret, setting) */
	bool			 proof_cached;	/* from the cache, not computed */
	/* A new token's secret and hash (create_app, rotate_token). */
	char			 secret[TOKEN_SECRET_LEN + 1];
	char			 new_hash[TOKEN_HASH_MAX];
	/* A malformed path id's 404, answered after 401, 403 and 422. */
	enum clp_err		 bad_id;
	/* The error waiting for the caller's level (validation, bad_id). */
	enum clp_err		 invalid;
	struct db_job		 job;
};

void	handlers_init(struct service *, const char *conninfo);
void	handlers_cleanup(struct service *);
/*
 * Starts answering req.  True: call->job waits to be run (db_run), then
 * call handlers_resume().  False: the response is written.
 */
bool	handlers_begin(struct service *, struct handlers_call *,
	    struct request *req);
/* Goes on after call->job has run; true and false as handlers_begin(). */
bool	handlers_resume(struct service *, struct handlers_call *);
/* The SPEC's error body, {"error":{"code","message"[,"field"]}}, into w. */
void	handlers_error_body(struct jsonw *w, enum clp_err, const char *field);

#endif
