/*
 * jsonw.c — bounded output buffer and JSON writers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "points.h"
#include "utf8.h"

static bool	jsonw_reserve(struct jsonw *, size_t);

void
jsonw_init(struct jsonw *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void
jsonw_init_sensitive(struct jsonw *w, size_t max)
{
	jsonw_init(w, max);
	w->sensitive = true;
}

void
jsonw_init_fixed(struct jsonw *w, char *storage, size_t size)
{
	jsonw_init(w, size);
	w->data = storage;
	w->cap = size;
}

void
jsonw_free(struct jsonw *w)
{
	bool sensitive = w->sensitive;

	if (sensitive && w->data != NULL)
		explicit_bzero(w->data, w->cap);
	free(w->data);
	jsonw_init(w, w->max);
	w->sensitive = sensitive;
}

void
jsonw_reset(struct jsonw *w)
{
	if (w->sensitive && w->len > 0)
		explicit_bzero(w->data, w->len);
	w->len = 0;
	w->failed = false;
}

void
jsonw_reset_keep(struct jsonw *w, size_t keep)
{
	if (w->cap > keep)
		jsonw_free(w);
	jsonw_reset(w);
}

bool
jsonw_failed(const struct jsonw *w)
{
	return w->failed;
}

static bool
jsonw_reserve(struct jsonw *w, size_t extra)
{
	size_t need, cap;
	char *data;

	if (w->failed)
		return false;
	if (extra > w->max || w->len > w->max - extra) {
		w->failed = true;
		return false;
	}
	need = w->len + extra;
	if (need <= w->cap)
		return true;
	cap = w->cap ? w->cap : 1024;
	while (cap < need)
		cap *= 2;
	if (cap > w->max)
		cap = w->max;
	if (!w->sensitive)
		data = realloc(w->data, cap);
	else if ((data = malloc(cap)) != NULL && w->data != NULL) {
		/* realloc would leave the old bytes in freed memory. */
		memcpy(data, w->data, w->len);
		explicit_bzero(w->data, w->cap);
		free(w->data);
	}
	if (data == NULL) {
		w->failed = true;
		return false;
	}
	w->data = data;
	w->cap = cap;
	return true;
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t len)
{
	if (len == 0 || !jsonw_reserve(w, len))
		return;
	memcpy(w->data + w->len, s, len);
	w->len += len;
}

void
jsonw_lit(struct jsonw *w, const char *s)
{
	jsonw_raw(w, s, strlen(s));
}

void
jsonw_str(struct jsonw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run = 0, n;
	char esc[6];
	uint32_t cp;

	jsonw_raw(w, "\"", 1);
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
		jsonw_raw(w, s + run, i - run);
		jsonw_raw(w, rep, replen);
		run = ++i;
	}
	jsonw_raw(w, s + run, len - run);
	jsonw_raw(w, "\"", 1);
}

void
jsonw_cstr(struct jsonw *w, const char *s)
{
	jsonw_str(w, s, strlen(s));
}

void
jsonw_i64(struct jsonw *w, int64_t v)
{
	char buf[CLP_INT_TEXT_MAX];
	int n = clp_int_format(v, buf, sizeof(buf));

	jsonw_raw(w, buf, (size_t)n);
}

void
jsonw_points(struct jsonw *w, int64_t hundredths)
{
	char buf[CLP_POINTS_TEXT_MAX];
	int n = clp_points_format(hundredths, buf, sizeof(buf));

	jsonw_raw(w, buf, (size_t)n);
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	if (!w->failed && w->len > 0 && w->data[w->len - 1] != '{')
		jsonw_raw(w, ",", 1);
	jsonw_cstr(w, key);
	jsonw_raw(w, ":", 1);
}
