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
	struct jsonw	out;
};

bool	handlers_init(struct service *, const char *conninfo);
void	handlers_cleanup(struct service *);
/* A request_handler: ctx is the struct service. */
void	handlers_handle(void *ctx, struct request *);
/* The SPEC's error body, {"error":{"code","message"[,"field"]}}, into w. */
void	handlers_error_body(struct jsonw *w, enum clp_err, const char *field);

#endif
