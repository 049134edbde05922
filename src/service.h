/*
 * service.h — one request from its parsed parameters to its response
 * bytes: route, bearer token, the auth cache, validation (the SPEC's order
 * of errors, kept here in one place), the operation's database call, and
 * the answer; and the batch: every waiting request's call sent together
 * (db_run: one pipelined round trip over the worker's database
 * connections), then each resumed.  server.c hands
 * requests in and knows neither the database nor the operations.
 */
#ifndef CLP_SERVICE_H
#define CLP_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "buf.h"
#include "error.h"
#include "request.h"
#include "validate.h"

/* The most calls service_run_batch() takes at once. */
#define SERVICE_BATCH_MAX	64

/* What a worker keeps across requests (service.c's). */
struct service;
/* One request while it is being answered (service.c's). */
struct service_call;

/*
 * Connects at once, with db_connections connections (their writes' commits
 * run together, see db_run); while the database is down, requests answer
 * 503.  read_conninfo (NULL or "": none) is a streaming replica of it for
 * the reads that allow one (ops.h, replica_ok), on one connection; while it
 * is down they run on the primary.
 */
struct service		*service_new(const char *conninfo,
			    size_t db_connections, const char *read_conninfo);
void			 service_free(struct service *);
struct service_call	*service_call_new(void);
void			 service_call_free(struct service_call *);

/*
 * Starts answering req.  True: the call waits on the database; give it
 * to service_run_batch().  False: the response is written.
 */
bool	service_begin(struct service *, struct service_call *,
	    struct request *req);
/* Runs the waiting calls' database work together until each is answered
 * (n <= SERVICE_BATCH_MAX). */
void	service_run_batch(struct service *, struct service_call *const *,
	    size_t n);

/*
 * The pure step, before any database call (also what the fuzzer runs):
 * route, 401 for a missing or malformed token, the auth cache, then, once
 * the caller's proof is known, 413, 415, 400 and 422.  CLP_OK: the call's
 * next database call is decided (see service_next()); else the error to
 * answer (allow: the Allow list of a 405).
 */
enum service_next {
	SERVICE_NEXT_AUTH_LOOKUP,	/* the token is not cached */
	SERVICE_NEXT_AUTHORIZE,		/* a validation error waits on the
					 * caller's level (401/403 first) */
	SERVICE_NEXT_OP			/* the endpoint's own call */
};
enum clp_err	service_prepare(struct auth *, struct service_call *,
		    struct request *req, const char **allow);
enum service_next service_next(const struct service_call *);
/* The validated input and, when validation failed, the error waiting
 * for the caller's level (CLP_OK: none). */
const struct input *service_input(const struct service_call *);
enum clp_err	service_invalid(const struct service_call *);
/* 413, 415, 400, 422 — in the SPEC's order — for a route's fields. */
enum clp_err	service_validate(const struct request *, unsigned body_fields,
		    unsigned query_fields, struct input *);
/* The SPEC's error body, {"error":{"code","message"[,"field"]}}, into w. */
void	service_error_body(struct buf *w, enum clp_err, const char *field);

#endif
