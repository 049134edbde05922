/*
 * router.h — the route table: method + path to an operation, with the
 * level it needs and the input it accepts.  Unknown path: not_found;
 * known path, other method: method_not_allowed and the Allow list.
 */
#ifndef CLP_ROUTER_H
#define CLP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	OP__COUNT
};

/* Access levels, as the SPEC and the database spell them. */
#define LEVEL_MASTER	"MasterApp"
#define LEVEL_READ	"Can_Read"
#define LEVEL_MODIFY	"Can_Modify_Orders"

struct route {
	const char	*method;
	enum op		 op;
	const char	*level;		/* NULL: no authentication */
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
