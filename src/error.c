/*
 * error.c — the error table.
 */
#include <stddef.h>
#include <string.h>

#include "error.h"

static const struct error_info error_table[CLP_ERR__COUNT] = {
	[CLP_OK] = { "ok", 200, "OK", NULL, "ok" },
	[CLP_ERR_NOT_FOUND] = { "not_found", 404, "Not Found", NULL,
	    "no such resource" },
	[CLP_ERR_METHOD_NOT_ALLOWED] = { "method_not_allowed", 405,
	    "Method Not Allowed", NULL,
	    "method not allowed on this resource" },
	[CLP_ERR_UNAUTHORIZED] = { "unauthorized", 401, "Unauthorized",
	    "CLA01", "missing or invalid bearer token" },
	[CLP_ERR_FORBIDDEN] = { "forbidden", 403, "Forbidden", "CLA03",
	    "the token's access level does not allow this operation" },
	[CLP_ERR_PAYLOAD_TOO_LARGE] = { "payload_too_large", 413,
	    "Payload Too Large", NULL, "request body is over 16 KiB" },
	[CLP_ERR_UNSUPPORTED_MEDIA_TYPE] = { "unsupported_media_type", 415,
	    "Unsupported Media Type", NULL,
	    "request body must be application/json" },
	[CLP_ERR_MALFORMED_JSON] = { "malformed_json", 400, "Bad Request",
	    NULL, "request body is not a JSON object" },
	[CLP_ERR_INVALID_FIELD] = { "invalid_field", 422,
	    "Unprocessable Entity", "CLV01", "field has an invalid value" },
	[CLP_ERR_MISSING_FIELD] = { "missing_field", 422,
	    "Unprocessable Entity", NULL, "required field is missing" },
	[CLP_ERR_UNKNOWN_FIELD] = { "unknown_field", 422,
	    "Unprocessable Entity", NULL, "field is not known here" },
	[CLP_ERR_ORDER_NOT_FOUND] = { "order_not_found", 404, "Not Found",
	    "CLN01", "no such order" },
	[CLP_ERR_APP_NOT_FOUND] = { "app_not_found", 404, "Not Found",
	    "CLN02", "no such application" },
	[CLP_ERR_ORDER_EXISTS] = { "order_exists", 409, "Conflict", "CLC01",
	    "an order with this order_id already exists" },
	[CLP_ERR_ORDER_ALREADY_DELETED] = { "order_already_deleted", 409,
	    "Conflict", "CLC02",
	    "the order was already returned by another application" },
	[CLP_ERR_APP_NAME_TAKEN] = { "app_name_taken", 409, "Conflict",
	    "CLC03", "an application with this name exists" },
	[CLP_ERR_MASTER_APP_IMMUTABLE] = { "master_app_immutable", 409,
	    "Conflict", "CLC04",
	    "the master application cannot be changed or deleted" },
	[CLP_ERR_MASTER_EXISTS] = { "master_exists", 409, "Conflict",
	    "CLC05", "the master application already exists" },
	[CLP_ERR_UNAVAILABLE] = { "unavailable", 503, "Service Unavailable",
	    NULL, "the database is unavailable; retry later" },
	[CLP_ERR_INTERNAL] = { "internal", 500, "Internal Server Error",
	    NULL, "internal error" },
};

const struct error_info *
error_info(enum clp_err err)
{
	if ((unsigned)err >= CLP_ERR__COUNT)
		err = CLP_ERR_INTERNAL;
	return &error_table[err];
}

enum clp_err
error_from_sqlstate(const char *sqlstate)
{
	size_t i;

	if (sqlstate == NULL)
		return CLP_ERR_INTERNAL;
	for (i = 0; i < CLP_ERR__COUNT; i++) {
		if (error_table[i].sqlstate != NULL &&
		    strcmp(error_table[i].sqlstate, sqlstate) == 0)
			return (enum clp_err)i;
	}
	return CLP_ERR_INTERNAL;
}
