/*
 * utf8.h — decoding one UTF-8 sequence strictly: no overlongs, no
 * surrogates, nothing above U+10FFFF.  Shared by input validation and the
 * JSON writer, which must never emit invalid UTF-8.
 */
#ifndef CLP_UTF8_H
#define CLP_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length (1-4) of the valid sequence at s (len bytes available) and
 * its code point in *cp; 0 if the bytes there are not valid UTF-8.
 */
size_t	utf8_decode(const char *s, size_t len, uint32_t *cp);

#endif
