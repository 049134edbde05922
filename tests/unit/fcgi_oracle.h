/*
 * fcgi_oracle.h — the FastCGI name-value length, for the checks of
 * tests/unit/test_fcgi.c and fuzz/fuzz_fcgi.c, written from the FastCGI 1.0
 * specification (section 3.4, Name-Value Pairs) rather than from
 * src/fcgi.c, so that a slip in one is not copied into the other:
 *
 *   a length of 0..127 is one byte, nameLengthB0, whose high bit is 0;
 *   a longer one is four bytes, nameLengthB3..nameLengthB0, most
 *   significant first, with the high bit of B3 set as the marker:
 *   ((B3 & 0x7f) << 24) + (B2 << 16) + (B1 << 8) + B0.
 *
 * fcgi.c masks and shifts the four bytes in one expression; here they are
 * accumulated one at a time in base 256 and the marker, known to be set,
 * is subtracted from the total.
 */
#ifndef CLP_FCGI_ORACLE_H
#define CLP_FCGI_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

/* The marker of the four-byte form, as a value of the whole length. */
#define ORACLE_LONG_MARKER	((size_t)0x80 * 256 * 256 * 256)

static inline bool
oracle_pair_length(const unsigned char **p, const unsigned char *end,
    size_t *len)
{
	size_t width, total, i;

	if (*p >= end)
		return false;
	width = **p >= 128 ? 4 : 1;
	if ((size_t)(end - *p) < width)
		return false;
	total = 0;
	for (i = 0; i < width; i++)
		total = total * 256 + (*p)[i];
	if (width == 4)
		total -= ORACLE_LONG_MARKER;
	*len = total;
	*p += width;
	return true;
}

#endif
