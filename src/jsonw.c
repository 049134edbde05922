/*
 * jsonw.c — JSON writers over a byte buffer.
 */
#include <string.h>

#include "jsonw.h"
#include "points.h"
#include "utf8.h"

void
jsonw_lit(struct buf *w, const char *s)
{
	buf_add(w, s, strlen(s));
}

void
jsonw_str(struct buf *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run = 0, n;
	char esc[6];
	uint32_t cp;

	buf_add(w, "\"", 1);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		size_t replen = 2;

		switch (c) {
		case '"':  rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0';
				esc[3] = '0'; esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				rep = esc;
				replen = 6;
			} else if (c >= 0x80) {
				/* Output is always valid UTF-8: a byte that
				 * starts no valid sequence becomes U+FFFD. */
				n = utf8_decode(s + i, len - i, &cp);
				if (n > 0) {
					i += n;
					continue;
				}
				rep = "\\ufffd";
				replen = 6;
			}
		}
		if (rep == NULL) {
			i++;
			continue;
		}
		/* Copy the plain run before this byte in one go. */
		buf_add(w, s + run, i - run);
		buf_add(w, rep, replen);
		run = ++i;
	}
	buf_add(w, s + run, len - run);
	buf_add(w, "\"", 1);
}

void
jsonw_cstr(struct buf *w, const char *s)
{
	jsonw_str(w, s, strlen(s));
}

void
jsonw_i64(struct buf *w, int64_t v)
{
	char buf[CLP_INT_TEXT_MAX];
	int n = clp_int_format(v, buf, sizeof(buf));

	buf_add(w, buf, (size_t)n);
}

void
jsonw_points(struct buf *w, int64_t hundredths)
{
	char buf[CLP_POINTS_TEXT_MAX];
	int n = clp_points_format(hundredths, buf, sizeof(buf));

	buf_add(w, buf, (size_t)n);
}

void
jsonw_key(struct buf *w, const char *key)
{
	char last = buf_last(w);

	if (last != '\0' && last != '{')
		buf_add(w, ",", 1);
	jsonw_cstr(w, key);
	buf_add(w, ":", 1);
}

void
jsonw_elem(struct buf *w)
{
	if (buf_last(w) != '[')
		buf_add(w, ",", 1);
}
