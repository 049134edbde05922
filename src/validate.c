/*
 * validate.c — whitelisted, typed input.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "b64url.h"
#include "utf8.h"
#include "validate.h"

#define COMPLETED_AT_MAX	INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define QUERY_PART_MAX		256

enum field_kind { KIND_ID64, KIND_COST, KIND_TIME, KIND_APP_ID, KIND_NAME,
    KIND_LEVEL, KIND_LIMIT, KIND_CURSOR };

static const struct {
	const char	*name;
	enum field_kind	 kind;
} field_table[FIELD__COUNT] = {
	[FIELD_USER_ID] =		{ "user_id", KIND_ID64 },
	[FIELD_ORDER_ID] =		{ "order_id", KIND_ID64 },
	[FIELD_TOTAL_COST] =		{ "total_cost", KIND_COST },
	[FIELD_COMPLETED_AT] =		{ "completed_at", KIND_TIME },
	[FIELD_APP_ID] =		{ "app_id", KIND_APP_ID },
	[FIELD_APPLICATION_NAME] =	{ "application_name", KIND_NAME },
	[FIELD_ACCESS_LEVEL] =		{ "access_level", KIND_LEVEL },
	[FIELD_NEW_ACCESS_LEVEL] =	{ "new_access_level", KIND_LEVEL },
	[FIELD_LIMIT] =			{ "limit", KIND_LIMIT },
	[FIELD_CURSOR] =		{ "cursor", KIND_CURSOR },
};

/* The levels a request may name; MasterApp is never one of them. */
static const char *const assignable_levels[] = { "Can_Read",
    "Can_Modify_Orders", "Can_Redeem_Points" };

static struct json_tokener	*validate_tok;

static int		 field_lookup(const char *, size_t, unsigned);
static void		 set_bad_field(struct input *, const char *, size_t);
static int64_t		*int_slot(struct input *, enum field);
static bool		 int_in_range(enum field, int64_t);
static enum clp_err	 store_json_value(struct input *, enum field,
			    struct json_object *);
static enum clp_err	 store_string(struct input *, enum field, const char *,
			    size_t);
static bool		 json_get_int64_exact(struct json_object *, int64_t *);
static int		 hex_value(char);
static size_t		 percent_decode(const char *, size_t, char *, size_t,
			    bool *);
static enum clp_err	 store_query_value(struct input *, enum field,
			    const char *, size_t);
static enum clp_err	 require_fields(struct input *, unsigned);
static bool		 json_prescan(const char *, size_t, const char **,
			    size_t *);
static size_t		 json_scalar_len(const char *, size_t);
static int		 hex4(const char *);

const char *
validate_field_name(enum field f)
{
	return field_table[f].name;
}

static int
field_lookup(const char *name, size_t len, unsigned fields)
{
	int f;

	for (f = 0; f < FIELD__COUNT; f++) {
		if ((fields & FIELD_BIT(f)) &&
		    strlen(field_table[f].name) == len &&
		    memcmp(field_table[f].name, name, len) == 0)
			return f;
	}
	return -1;
}

/* Copies a field name for the error body, cut at a UTF-8 boundary. */
static void
set_bad_field(struct input *in, const char *name, size_t len)
{
	if (len > VALIDATE_FIELD_ECHO_MAX) {
		len = VALIDATE_FIELD_ECHO_MAX;
		while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(in->bad_field, name, len);
	in->bad_field[len] = '\0';
}

static int64_t *
int_slot(struct input *in, enum field f)
{
	switch (f) {
	case FIELD_USER_ID:	return &in->user_id;
	case FIELD_ORDER_ID:	return &in->order_id;
	case FIELD_TOTAL_COST:	return &in->total_cost;
	case FIELD_COMPLETED_AT: return &in->completed_at;
	case FIELD_LIMIT:	return &in->limit;
	default:		return NULL;
	}
}

static bool
int_in_range(enum field f, int64_t v)
{
	switch (field_table[f].kind) {
	case KIND_ID64:	return v >= 1;
	case KIND_COST:	return v >= 0 && v <= INT32_MAX;
	case KIND_TIME:	return v >= 0 && v <= COMPLETED_AT_MAX;
	case KIND_LIMIT: return v >= 1 && v <= VALIDATE_LIMIT_MAX;
	default:	return false;
	}
}

/*
 * json-c keeps integers above INT64_MAX as uint64 (clamping anything past
 * UINT64_MAX) and json_object_get_int64() then answers INT64_MAX: read the
 * unsigned value too so 9223372036854775808 is not taken for the maximum.
 */
static bool
json_get_int64_exact(struct json_object *v, int64_t *out)
{
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
		return false;
	i = json_object_get_int64(v);
	if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return false;
	*out = i;
	return true;
}

static enum clp_err
store_string(struct input *in, enum field f, const char *s, size_t len)
{
	size_t chars, i;
	bool control;

	switch (field_table[f].kind) {
	case KIND_APP_ID:
		if (!validate_app_id(s, len))
			return CLP_ERR_INVALID_FIELD;
		memcpy(in->app_id, s, len);
		in->app_id[len] = '\0';
		return CLP_OK;
	case KIND_NAME:
		if (len > VALIDATE_NAME_MAX_BYTES ||
		    !validate_utf8(s, len, &chars, &control) || control ||
		    chars < 1 || chars > VALIDATE_NAME_MAX_CHARS)
			return CLP_ERR_INVALID_FIELD;
		memcpy(in->application_name, s, len);
		in->application_name[len] = '\0';
		return CLP_OK;
	case KIND_LEVEL:
		for (i = 0; i < sizeof(assignable_levels) /
		    sizeof(assignable_levels[0]); i++) {
			if (strlen(assignable_levels[i]) == len &&
			    memcmp(assignable_levels[i], s, len) == 0) {
				in->access_level = assignable_levels[i];
				return CLP_OK;
			}
		}
		return CLP_ERR_INVALID_FIELD;
	case KIND_CURSOR:
		/* base64url, as cursor.c makes them; service.c judges the
		 * rest once the path's user_id is known. */
		if (len < 1 || len > VALIDATE_CURSOR_MAX ||
		    strspn(s, B64URL_ALPHABET) < len)
			return CLP_ERR_INVALID_FIELD;
		memcpy(in->cursor, s, len);
		in->cursor[len] = '\0';
		return CLP_OK;
	default:
		return CLP_ERR_INVALID_FIELD;
	}
}

static enum clp_err
store_json_value(struct input *in, enum field f, struct json_object *v)
{
	int64_t *slot = int_slot(in, f), i;

	if (slot != NULL) {
		if (!json_get_int64_exact(v, &i) || !int_in_range(f, i))
			return CLP_ERR_INVALID_FIELD;
		*slot = i;
		return CLP_OK;
	}
	if (!json_object_is_type(v, json_type_string))
		return CLP_ERR_INVALID_FIELD;
	return store_string(in, f, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v));
}

/* After every given field checked out: the first declared one missing
 * (all but the optional ones). */
static enum clp_err
require_fields(struct input *in, unsigned fields)
{
	int f;

	fields &= ~VALIDATE_OPTIONAL;
	for (f = 0; f < FIELD__COUNT; f++) {
		if ((fields & FIELD_BIT(f)) && !(in->present & FIELD_BIT(f))) {
			set_bad_field(in, field_table[f].name,
			    strlen(field_table[f].name));
			return CLP_ERR_MISSING_FIELD;
		}
	}
	return CLP_OK;
}

bool
validate_content_type(const char *ct)
{
	static const char media[] = "application/json";
	const char *p, *end;
	size_t len;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	len = strlen(media);
	if (strncasecmp(ct, media, len) != 0)
		return false;
	p = ct + len;
	/* Parameters: only charset=utf-8 (optionally quoted) is accepted. */
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p != ';')
			return false;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ";");
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		len = (size_t)(end - p);
		if (!((len == 13 && strncasecmp(p, "charset=utf-8", 13) == 0) ||
		    (len == 15 && strncasecmp(p, "charset=\"utf-8\"", 15) == 0)))
			return false;
		p += strcspn(p, ";");
	}
	return true;
}

static int
hex4(const char *s)
{
	int v = 0, i, d;

	for (i = 0; i < 4; i++) {
		if ((d = hex_value(s[i])) < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * The length of the JSON number (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?) or literal (true, false, null) at s, or 0 if there
 * is none.  The caller's structural checks see what follows.
 */
static size_t
json_scalar_len(const char *s, size_t len)
{
	static const char *const literals[] = { "true", "false", "null" };
	size_t i = 0, k, start;

	for (k = 0; k < 3; k++)
		if (len >= strlen(literals[k]) &&
		    memcmp(s, literals[k], strlen(literals[k])) == 0)
			return strlen(literals[k]);
	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	else
		return 0;
	if (i < len && s[i] == '.') {
		start = ++i;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
		if (i == start)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
		if (i == start)
			return 0;
	}
	/* "01" or "1x": a number is followed by a delimiter, never more. */
	if (i < len && (isalnum((unsigned char)s[i]) || s[i] == '.' ||
	    s[i] == '-' || s[i] == '+'))
		return 0;
	return i;
}

/*
 * json-c is more lenient than RFC 8259: it takes single quotes, NaN and
 * Infinity, raw control characters in strings, overlong UTF-8, and lone
 * surrogate escapes (silently made U+FFFD, so a name would not be stored
 * as given); and it cuts a key at an escaped NUL.  This pass over the raw
 * text refuses all of that before json-c sees it, and reports a top-level
 * key that holds \u0000 (*nul_key, the raw text of the key) so it can be
 * refused as unknown instead of being taken for its prefix.  Nesting past
 * VALIDATE_JSON_DEPTH levels of arrays and objects (the body's object is
 * level 1) is refused here, whatever the field.
 */
static bool
json_prescan(const char *s, size_t len, const char **nul_key,
    size_t *nul_key_len)
{
	char stack[VALIDATE_JSON_DEPTH], last = 0;
	size_t i, n, depth = 0, key_start = 0, cps;
	bool in_string = false, is_key = false, high = false, ctl;
	int v;

	*nul_key = NULL;
	if (!validate_utf8(s, len, &cps, &ctl))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (in_string) {
			if (c < 0x20)
				return false;
			if (c != '\\') {
				if (high)
					return false;	/* lone high surrogate */
				if (c == '"') {
					in_string = false;
					last = '"';
					if (*nul_key == s + key_start)
						*nul_key_len = i - key_start;
				}
				continue;
			}
			if (++i >= len)
				return false;
			if (s[i] != 'u') {
				if (high)
					return false;
				continue;	/* json-c checks the others */
			}
			if (i + 4 >= len || (v = hex4(s + i + 1)) < 0)
				return false;
			i += 4;
			if (v >= 0xdc00 && v <= 0xdfff) {
				if (!high)
					return false;	/* lone low surrogate */
				high = false;
			} else if (high) {
				return false;
			} else {
				high = v >= 0xd800 && v <= 0xdbff;
			}
			/* Only the body's own keys are names the caller
			 * gave; a key inside a value is part of that
			 * value (a known field's object is invalid). */
			if (v == 0 && is_key && depth == 1 && *nul_key == NULL)
				*nul_key = s + key_start;
			continue;
		}
		switch (c) {
		case ' ': case '\t': case '\n': case '\r':
			break;
		case '"':
			in_string = true;
			is_key = depth > 0 && stack[depth - 1] == '{' &&
			    (last == '{' || last == ',');
			key_start = i + 1;
			break;
		case '{': case '[':
			if (depth == sizeof(stack))
				return false;
			stack[depth++] = (char)c;
			last = (char)c;
			break;
		case '}': case ']':
			if (depth > 0)
				depth--;
			last = (char)c;
			break;
		case ':': case ',':
			last = (char)c;
			break;
		default:
			/* A number or a literal: json-c's strict mode still
			 * takes 00, 1., -.5 and the like. */
			if ((n = json_scalar_len(s + i, len - i)) == 0)
				return false;
			i += n - 1;
			last = 'v';
		}
	}
	return !in_string;
}

enum clp_err
validate_body(const char *body, size_t len, unsigned fields, struct input *in)
{
	struct json_object *root = NULL;
	enum clp_err err = CLP_ERR_MALFORMED_JSON;
	const char *nul_key;
	size_t end, nul_key_len = 0;
	int f;

	/* A body that starts with a BOM is not JSON here (SPEC §3). */
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		goto out;
	if (len > VALIDATE_BODY_MAX || memchr(body, '\0', len) != NULL ||
	    !json_prescan(body, len, &nul_key, &nul_key_len))
		goto out;
	if (validate_tok == NULL) {
		/* json-c counts the innermost scalar as a level too: one
		 * more, so json_prescan() alone sets the limit. */
		if ((validate_tok = json_tokener_new_ex(VALIDATE_JSON_DEPTH +
		    1)) == NULL) {
			err = CLP_ERR_INTERNAL;
			goto out;
		}
		/* No JSON_TOKENER_VALIDATE_UTF8: json_prescan() has already
		 * checked the whole body, more strictly. */
		json_tokener_set_flags(validate_tok, JSON_TOKENER_STRICT);
	}
	json_tokener_reset(validate_tok);
	root = json_tokener_parse_ex(validate_tok, body, (int)len);
	if (root == NULL ||
	    json_tokener_get_error(validate_tok) != json_tokener_success)
		goto out;
	/* Only whitespace may follow the value. */
	for (end = json_tokener_get_parse_end(validate_tok); end < len; end++)
		if (!isspace((unsigned char)body[end]))
			goto out;
	if (!json_object_is_type(root, json_type_object))
		goto out;
	if (nul_key != NULL) {
		set_bad_field(in, nul_key, nul_key_len);
		err = CLP_ERR_UNKNOWN_FIELD;
		goto out;
	}

	/* Unknown keys first: they name what the caller got wrong. */
	json_object_object_foreach(root, key, val) {
		(void)val;
		if (field_lookup(key, strlen(key), fields) < 0) {
			set_bad_field(in, key, strlen(key));
			err = CLP_ERR_UNKNOWN_FIELD;
			goto out;
		}
	}
	for (f = 0; f < FIELD__COUNT; f++) {
		struct json_object *v;

		if (!(fields & FIELD_BIT(f)) ||
		    !json_object_object_get_ex(root, field_table[f].name, &v))
			continue;
		if ((err = store_json_value(in, (enum field)f, v)) != CLP_OK) {
			set_bad_field(in, field_table[f].name,
			    strlen(field_table[f].name));
			goto out;
		}
		in->present |= FIELD_BIT(f);
	}
	err = require_fields(in, fields);
out:
	json_object_put(root);
	return err;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decodes %XX and '+' into out (at most outsize − 1 bytes, NUL-ended).
 * Returns the decoded length; *ok is false on a bad escape or overflow.
 */
static size_t
percent_decode(const char *s, size_t len, char *out, size_t outsize, bool *ok)
{
	size_t i, n = 0;
	int hi, lo;
	char c;

	*ok = false;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= len ||
			    (hi = hex_value(s[i + 1])) < 0 ||
			    (lo = hex_value(s[i + 2])) < 0)
				goto out;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (n + 1 >= outsize)
			goto out;
		out[n++] = c;
	}
	*ok = true;
out:
	out[n] = '\0';
	return n;
}

/* One decoded query value into its field. */
static enum clp_err
store_query_value(struct input *in, enum field f, const char *value,
    size_t len)
{
	int64_t *slot = int_slot(in, f), v;

	if (slot == NULL)
		return store_string(in, f, value, len);
	if (!validate_id64(value, len, &v) || !int_in_range(f, v))
		return CLP_ERR_INVALID_FIELD;
	*slot = v;
	return CLP_OK;
}

enum clp_err
validate_query(const char *query, unsigned fields, struct input *in)
{
	char key[QUERY_PART_MAX], value[QUERY_PART_MAX];
	const char *p = query != NULL ? query : "", *part_end, *eq;
	size_t keylen, valuelen = 0;
	bool key_ok, value_ok = false;
	int f;

	for (; *p != '\0'; p = *part_end != '\0' ? part_end + 1 : part_end) {
		part_end = p + strcspn(p, "&");
		if (part_end == p)
			continue;
		eq = memchr(p, '=', (size_t)(part_end - p));
		keylen = percent_decode(p, (size_t)((eq ? eq : part_end) - p),
		    key, sizeof(key), &key_ok);
		f = key_ok ? field_lookup(key, keylen, fields) : -1;
		if (f < 0) {
			set_bad_field(in, key, keylen);
			return CLP_ERR_UNKNOWN_FIELD;
		}
		if (eq != NULL)
			valuelen = percent_decode(eq + 1,
			    (size_t)(part_end - eq - 1), value, sizeof(value),
			    &value_ok);
		if (eq == NULL || !value_ok || store_query_value(in,
		    (enum field)f, value, valuelen) != CLP_OK) {
			set_bad_field(in, key, keylen);
			return CLP_ERR_INVALID_FIELD;
		}
		in->present |= FIELD_BIT(f);
	}
	return require_fields(in, fields);
}

bool
validate_id64(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* 19 digits cannot overflow uint64; check the int64 range. */
	if (v < 1 || v > (uint64_t)INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

bool
validate_app_id(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > VALIDATE_APP_ID_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

bool
validate_utf8(const char *s, size_t len, size_t *codepoints, bool *has_control)
{
	size_t i = 0, count = 0, n;
	uint32_t cp;

	*has_control = false;
	while (i < len) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0)
			return false;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			*has_control = true;
		i += n;
		count++;
	}
	*codepoints = count;
	return true;
}

void
validate_cleanup(void)
{
	if (validate_tok != NULL)
		json_tokener_free(validate_tok);
	validate_tok = NULL;
}
