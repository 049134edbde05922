/*
 * fcgi_oracle.h — the FastCGI name-value length, decoded independently of
 * src/fcgi.c, for the checks of tests/unit/test_fcgi.c and
 * fuzz/fuzz_fcgi.c: one byte below 128, else four with the high bit set.
 */
#ifndef CLP_FCGI_ORACLE_H
#define CLP_FCGI_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

static inline bool
oracle_pair_length(const unsigned char **p, const unsigned char *end,
    size_t *len)
{
	if (*p >= end)
		return false;
	if (**p < 0x80) {
		*len = *(*p)++;
		return true;
	}
	if (end - *p < 4)
		return false;
	*len = (size_t)((*p)[0] & 0x7f) << 24 | (size_t)(*p)[1] << 16 |
	    (size_t)(*p)[2] << 8 | (*p)[3];
	*p += 4;
	return true;
}

#endif
