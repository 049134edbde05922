/*
 * utf8.c — one strict UTF-8 decoder.
 */
#include "utf8.h"

size_t
utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t v, min;
	size_t need, k;

	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		v = p[0] & 0x1f;
		need = 1;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		v = p[0] & 0x0f;
		need = 2;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		v = p[0] & 0x07;
		need = 3;
		min = 0x10000;
	} else {
		return 0;
	}
	if (need > len - 1)
		return 0;
	for (k = 1; k <= need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need + 1;
}
