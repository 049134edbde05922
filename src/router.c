/*
 * router.c — the route table.
 *
 * Paths have at most four segments, so a route is a pattern of literal
 * segments and at most one "{id}"; matching is a walk over a dozen rows.
 */
#include <string.h>

#include "router.h"

#define B(f)	FIELD_BIT(FIELD_##f)

struct path_pattern {
	const char		*pattern;	/* '*' stands for {id} */
	enum clp_err		 bad_id;	/* error for a malformed {id} */
	const char		*allow;		/* the methods, for 405 */
	const struct route	*routes;
	size_t			 nroutes;
};

static const struct route healthz_routes[] = {
	{ "GET", OP_HEALTH, 0, 0, FIELD__COUNT },
};
static const struct route balance_routes[] = {
	{ "GET", OP_BALANCE, 0, B(USER_ID), FIELD__COUNT },
};
static const struct route customer_balance_routes[] = {
	{ "GET", OP_BALANCE, 0, 0, FIELD_USER_ID },
};
static const struct route customer_orders_routes[] = {
	{ "GET", OP_CUSTOMER_ORDERS, 0, B(LIMIT) | B(CURSOR), FIELD_USER_ID },
};
static const struct route customer_ledger_routes[] = {
	{ "GET", OP_CUSTOMER_LEDGER, 0, B(LIMIT) | B(CURSOR), FIELD_USER_ID },
};
static const struct route orders_routes[] = {
	{ "POST", OP_RECORD_ORDER,
	    B(USER_ID) | B(ORDER_ID) | B(TOTAL_COST) | B(COMPLETED_AT), 0,
	    FIELD__COUNT },
	{ "DELETE", OP_RETURN_ORDER, B(ORDER_ID), 0, FIELD__COUNT },
};
static const struct route order_routes[] = {
	{ "DELETE", OP_RETURN_ORDER, 0, 0, FIELD_ORDER_ID },
};
static const struct route apps_routes[] = {
	{ "GET", OP_LIST_APPS, 0, 0, FIELD__COUNT },
	{ "POST", OP_CREATE_APP, B(APPLICATION_NAME) | B(ACCESS_LEVEL), 0,
	    FIELD__COUNT },
	{ "PUT", OP_SET_LEVEL, B(APP_ID) | B(NEW_ACCESS_LEVEL), 0,
	    FIELD__COUNT },
	{ "DELETE", OP_DELETE_APP, B(APP_ID), 0, FIELD__COUNT },
};
static const struct route app_routes[] = {
	{ "PUT", OP_SET_LEVEL, B(NEW_ACCESS_LEVEL), 0, FIELD_APP_ID },
	{ "DELETE", OP_DELETE_APP, 0, 0, FIELD_APP_ID },
};
static const struct route app_token_routes[] = {
	{ "POST", OP_ROTATE_TOKEN, 0, 0, FIELD_APP_ID },
};

#define ROUTES(r)	r, sizeof(r) / sizeof(r[0])
static const struct path_pattern path_table[] = {
	{ "/healthz", CLP_ERR_NOT_FOUND, "GET", ROUTES(healthz_routes) },
	{ "/v1/balance", CLP_ERR_NOT_FOUND, "GET", ROUTES(balance_routes) },
	{ "/v1/customers/*/balance", CLP_ERR_NOT_FOUND, "GET",
	    ROUTES(customer_balance_routes) },
	{ "/v1/customers/*/orders", CLP_ERR_NOT_FOUND, "GET",
	    ROUTES(customer_orders_routes) },
	{ "/v1/customers/*/ledger", CLP_ERR_NOT_FOUND, "GET",
	    ROUTES(customer_ledger_routes) },
	{ "/v1/orders", CLP_ERR_NOT_FOUND, "POST, DELETE",
	    ROUTES(orders_routes) },
	{ "/v1/orders/*", CLP_ERR_ORDER_NOT_FOUND, "DELETE",
	    ROUTES(order_routes) },
	{ "/v1/apps", CLP_ERR_NOT_FOUND, "GET, POST, PUT, DELETE",
	    ROUTES(apps_routes) },
	{ "/v1/apps/*", CLP_ERR_APP_NOT_FOUND, "PUT, DELETE",
	    ROUTES(app_routes) },
	{ "/v1/apps/*/token", CLP_ERR_APP_NOT_FOUND, "POST",
	    ROUTES(app_token_routes) },
};

static bool	pattern_match(const char *, const char *, const char **,
		    size_t *);
static bool	store_path_id(enum field, const char *, size_t,
		    struct input *);

/* '*' matches one non-empty segment. */
static bool
pattern_match(const char *pattern, const char *path, const char **id,
    size_t *id_len)
{
	while (*pattern != '\0') {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");

			if (n == 0)
				return false;
			*id = path;
			*id_len = n;
			path += n;
			pattern++;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *path == '\0';
}

static bool
store_path_id(enum field f, const char *id, size_t len, struct input *in)
{
	switch (f) {
	case FIELD_USER_ID:
		return validate_id64(id, len, &in->user_id);
	case FIELD_ORDER_ID:
		return validate_id64(id, len, &in->order_id);
	case FIELD_APP_ID:
		if (!validate_app_id(id, len))
			return false;
		memcpy(in->app_id, id, len);
		in->app_id[len] = '\0';
		return true;
	default:
		return false;
	}
}

void
router_match(const char *method, const char *path, struct route_match *m,
    struct input *in)
{
	const struct path_pattern *pp;
	size_t i, j;

	memset(m, 0, sizeof(*m));
	m->err = CLP_ERR_NOT_FOUND;
	if (method == NULL || path == NULL)
		return;
	for (i = 0; i < sizeof(path_table) / sizeof(path_table[0]); i++) {
		pp = &path_table[i];
		if (!pattern_match(pp->pattern, path, &m->id, &m->id_len))
			continue;
		for (j = 0; j < pp->nroutes; j++) {
			if (strcmp(pp->routes[j].method, method) == 0) {
				m->route = &pp->routes[j];
				break;
			}
		}
		if (m->route == NULL) {
			m->err = CLP_ERR_METHOD_NOT_ALLOWED;
			m->allow = pp->allow;
			return;
		}
		if (m->route->path_field != FIELD__COUNT) {
			if (store_path_id(m->route->path_field, m->id,
			    m->id_len, in))
				in->present |= FIELD_BIT(m->route->path_field);
			else
				m->bad_id = pp->bad_id;
		}
		m->err = CLP_OK;
		return;
	}
}
