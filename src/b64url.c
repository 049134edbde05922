/*
 * b64url.c — base64url without padding: OpenSSL's standard base64 with
 * '+' and '/' swapped for '-' and '_' and the '=' cut.
 */
#include <string.h>

#include <openssl/evp.h>

#include "b64url.h"

size_t
b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t len = B64URL_LEN(n), i;

	(void)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	for (i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	out[len] = '\0';
	return len;
}

bool
b64url_decode(const char *text, size_t len, unsigned char *out, size_t n)
{
	static const char alphabet[] = B64URL_ALPHABET;
	char padded[B64URL_SIZE(B64URL_DECODE_MAX)] = "", again[sizeof(padded)];
	unsigned char bytes[B64URL_DECODE_MAX + 2];
	size_t i;

	if (n > B64URL_DECODE_MAX || len != B64URL_LEN(n))
		return false;
	for (i = 0; i < len; i++) {
		if (memchr(alphabet, text[i], sizeof(alphabet) - 1) == NULL)
			return false;
		padded[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' :
		    text[i];
	}
	for (; i % 4 != 0; i++)
		padded[i] = '=';
	/* EVP_DecodeBlock() counts the padding's zero bytes in its length
	 * and ignores the unused bits: the text must be the one encoding
	 * of the bytes it gives. */
	if (EVP_DecodeBlock(bytes, (const unsigned char *)padded, (int)i) < 0)
		return false;
	b64url_encode(bytes, n, again);
	if (memcmp(again, text, len) != 0)
		return false;
	memcpy(out, bytes, n);
	return true;
}
