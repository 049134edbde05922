/*
 * validate.h — untrusted input to typed fields.  Each route names the
 * fields it accepts (a bit set of enum field); everything else is refused.
 * JSON bodies are parsed with json-c and every value's type is checked
 * before it is read, so "1", 1.0, 1e3, true and null never pass as integers.
 */
#ifndef CLP_VALIDATE_H
#define CLP_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum field {
	FIELD_USER_ID,
	FIELD_ORDER_ID,
	FIELD_TOTAL_COST,
	FIELD_COMPLETED_AT,
	FIELD_APP_ID,
	FIELD_APPLICATION_NAME,
	FIELD_ACCESS_LEVEL,
	FIELD_NEW_ACCESS_LEVEL,
	FIELD_LIMIT,		/* history pages (SPEC §8): query only */
	FIELD_CURSOR,
	FIELD__COUNT
};
#define FIELD_BIT(f)		(1u << (f))
/* Fields that may be left out: a page's size and where it starts. */
#define VALIDATE_OPTIONAL	(FIELD_BIT(FIELD_LIMIT) | FIELD_BIT(FIELD_CURSOR))

#define VALIDATE_BODY_MAX	16384	/* SPEC §3: over 16 KiB is 413 */
#define VALIDATE_APP_ID_MAX	64
#define VALIDATE_NAME_MAX_CHARS	30
#define VALIDATE_NAME_MAX_BYTES	(VALIDATE_NAME_MAX_CHARS * 4)
/* Levels of arrays and objects in a body, its own object being level 1
 * (README, "Choices where the SPEC is silent"); deeper is malformed. */
#define VALIDATE_JSON_DEPTH	16
/* SPEC §8: a page holds 1 to 500 rows. */
#define VALIDATE_LIMIT_MAX	500
/* A cursor is base64url text the server made (cursor.h); this bounds what
 * is read before service.c judges it. */
#define VALIDATE_CURSOR_MAX	200
/* An unknown field's name is echoed back, cut to this many bytes. */
#define VALIDATE_FIELD_ECHO_MAX	128

struct input {
	unsigned	 present;	/* FIELD_BIT()s that were given */
	int64_t		 user_id;
	int64_t		 order_id;
	int64_t		 total_cost;
	int64_t		 completed_at;
	char		 app_id[VALIDATE_APP_ID_MAX + 1];
	char		 application_name[VALIDATE_NAME_MAX_BYTES + 1];
	const char	*access_level;	/* for access_level or new_access_level */
	int64_t		 limit;
	char		 cursor[VALIDATE_CURSOR_MAX + 1];
	int64_t		 position;	/* the cursor's, once service.c read it */
	/* The field at fault when validation fails (for the error body). */
	char		 bad_field[VALIDATE_FIELD_ECHO_MAX + 1];
};

const char	*validate_field_name(enum field);

/* Content-Type must be application/json, optionally charset=utf-8. */
bool		 validate_content_type(const char *content_type);

/*
 * Parses body as a JSON object holding exactly the fields in `fields`.
 * Returns CLP_OK, CLP_ERR_MALFORMED_JSON or a 422 error with
 * in->bad_field set.
 */
enum clp_err	 validate_body(const char *body, size_t len, unsigned fields,
		    struct input *in);

/* The same for a query string (without the '?'); NULL means empty. */
enum clp_err	 validate_query(const char *query, unsigned fields,
		    struct input *in);

/* Decimal digits only, value 1..INT64_MAX. */
bool		 validate_id64(const char *s, size_t len, int64_t *out);
/* 1..64 printable ASCII characters. */
bool		 validate_app_id(const char *s, size_t len);
/*
 * Valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF); counts code
 * points and reports whether any is a control character (C0, DEL, C1).
 */
bool		 validate_utf8(const char *s, size_t len, size_t *codepoints,
		    bool *has_control);

/* Frees the parser kept between calls (for leak checkers at exit). */
void		 validate_cleanup(void);

#endif
