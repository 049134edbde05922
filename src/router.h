/*
 * router.h — the route table: method + path to an operation (ops.h: its
 * level, statement and answer) and the input this route accepts.  Unknown path: not_found;
 * known path, other method: method_not_allowed and the Allow list.
 */
#ifndef CLP_ROUTER_H
#define CLP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "ops.h"
#include "validate.h"

struct route {
	const char	*method;
	enum op		 op;		/* its level, statement and answer */
	unsigned	 body_fields;	/* 0: the route takes no body */
	unsigned	 query_fields;
	enum field	 path_field;	/* the {id} in the path, if any */
};

struct route_match {
	const struct route	*route;
	enum clp_err		 err;		/* not_found / method_not_allowed */
	/* A malformed {id}: the resource's not-found error, which SPEC §3
	 * ranks last, after 401, 403 and validation (CLP_OK: no such id). */
	enum clp_err		 bad_id;
	const char		*allow;		/* for 405 */
	const char		*id;		/* the {id} segment, not NUL-ended */
	size_t			 id_len;
};

/*
 * Matches method and path (no query string).  On success m->route is set
 * and err is CLP_OK; the {id} is stored into in, or, when malformed, left
 * out and reported in bad_id for the caller to answer in its turn.
 */
void	router_match(const char *method, const char *path,
	    struct route_match *m, struct input *in);

#endif
