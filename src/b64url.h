/*
 * b64url.h — base64url without padding (RFC 4648 §5), the text of tokens'
 * secrets and of history cursors, through OpenSSL's base64.
 */
#ifndef CLP_B64URL_H
#define CLP_B64URL_H

#include <stdbool.h>
#include <stddef.h>

/* The 64 characters, in the order of their values. */
#define B64URL_ALPHABET	\
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* Characters for n bytes, without the NUL. */
#define B64URL_LEN(n)	(((n) * 4 + 2) / 3)
/* What b64url_encode() needs for n bytes: OpenSSL writes the padding and a
 * NUL before they are cut. */
#define B64URL_SIZE(n)	(((n) + 2) / 3 * 4 + 1)

/* Writes the text of in[0..n) and its NUL into out, of at least
 * B64URL_SIZE(n) bytes; returns its length, B64URL_LEN(n). */
size_t	b64url_encode(const unsigned char *in, size_t n, char *out);

/* The most bytes b64url_decode() gives: a cursor's 50 fit. */
#define B64URL_DECODE_MAX	64

/*
 * Exactly n bytes (at most B64URL_DECODE_MAX) from text of exactly
 * B64URL_LEN(n) characters, and only from the text b64url_encode() makes
 * of them: the unused bits of the last character must be zero, so no two
 * texts decode to the same bytes.
 */
bool	b64url_decode(const char *text, size_t len, unsigned char *out,
	    size_t n);

#endif
