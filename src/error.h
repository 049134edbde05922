/*
 * error.h — the one error table: every error code of SPEC §3–§4 with its
 * HTTP status, its message for people, and the SQLSTATE the SQL API raises
 * for it (sql/README.md lists the same codes).
 */
#ifndef CLP_ERROR_H
#define CLP_ERROR_H

enum clp_err {
	CLP_OK = 0,
	CLP_ERR_NOT_FOUND,
	CLP_ERR_METHOD_NOT_ALLOWED,
	CLP_ERR_UNAUTHORIZED,
	CLP_ERR_FORBIDDEN,
	CLP_ERR_PAYLOAD_TOO_LARGE,
	CLP_ERR_UNSUPPORTED_MEDIA_TYPE,
	CLP_ERR_MALFORMED_JSON,
	CLP_ERR_INVALID_FIELD,
	CLP_ERR_MISSING_FIELD,
	CLP_ERR_UNKNOWN_FIELD,
	CLP_ERR_ORDER_NOT_FOUND,
	CLP_ERR_APP_NOT_FOUND,
	CLP_ERR_ORDER_EXISTS,
	CLP_ERR_ORDER_ALREADY_DELETED,
	CLP_ERR_APP_NAME_TAKEN,
	CLP_ERR_MASTER_APP_IMMUTABLE,
	CLP_ERR_MASTER_EXISTS,
	CLP_ERR_UNAVAILABLE,
	CLP_ERR_INTERNAL,
	CLP_ERR__COUNT
};

struct error_info {
	const char	*code;		/* SPEC error code */
	int		 status;	/* HTTP status */
	const char	*reason;	/* HTTP reason phrase */
	const char	*sqlstate;	/* raised by the SQL API, or NULL */
	const char	*message;	/* for people */
};

const struct error_info	*error_info(enum clp_err);
/* The error for a SQLSTATE the API raised; CLP_ERR_INTERNAL if unknown. */
enum clp_err		 error_from_sqlstate(const char *sqlstate);

#endif
