/*
 * cursor.c — history cursors (cursor.h): 18 bytes and their HMAC, as
 * base64url.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "cursor.h"

#define CURSOR_VERSION		1
#define CURSOR_SIGNED		18	/* version, list, user_id, position */
#define CURSOR_MAC		32	/* SHA-256 */
#define CURSOR_BYTES		(CURSOR_SIGNED + CURSOR_MAC)

/* One key per process, read from the database on every connection. */
static struct {
	bool		set;
	unsigned char	inner_pad[CURSOR_PAD_LEN];
	unsigned char	outer_pad[CURSOR_PAD_LEN];
} cursor_key;

static void	cursor_signed(unsigned char *, char, int64_t, int64_t);
static bool	cursor_mac(const unsigned char *, unsigned char *);

bool
cursor_set_key(const unsigned char *inner_pad, size_t inner_len,
    const unsigned char *outer_pad, size_t outer_len)
{
	if (inner_len != CURSOR_PAD_LEN || outer_len != CURSOR_PAD_LEN)
		return false;
	memcpy(cursor_key.inner_pad, inner_pad, CURSOR_PAD_LEN);
	memcpy(cursor_key.outer_pad, outer_pad, CURSOR_PAD_LEN);
	cursor_key.set = true;
	return true;
}

bool
cursor_has_key(void)
{
	return cursor_key.set;
}

/* Version, list, then user_id and position big-endian (int8send). */
static void
cursor_signed(unsigned char *out, char list, int64_t user_id,
    int64_t position)
{
	uint64_t u = (uint64_t)user_id, p = (uint64_t)position;
	int i;

	out[0] = CURSOR_VERSION;
	out[1] = (unsigned char)list;
	for (i = 0; i < 8; i++) {
		out[2 + i] = (unsigned char)(u >> (56 - 8 * i));
		out[10 + i] = (unsigned char)(p >> (56 - 8 * i));
	}
}

/* HMAC-SHA256 (RFC 2104) of the signed bytes: H(K^opad || H(K^ipad || m)). */
static bool
cursor_mac(const unsigned char *signed_bytes, unsigned char *mac)
{
	unsigned char inner[CURSOR_PAD_LEN + CURSOR_SIGNED];
	unsigned char outer[CURSOR_PAD_LEN + CURSOR_MAC];
	bool ok;

	memcpy(inner, cursor_key.inner_pad, CURSOR_PAD_LEN);
	memcpy(inner + CURSOR_PAD_LEN, signed_bytes, CURSOR_SIGNED);
	memcpy(outer, cursor_key.outer_pad, CURSOR_PAD_LEN);
	ok = cursor_key.set &&
	    EVP_Digest(inner, sizeof(inner), outer + CURSOR_PAD_LEN, NULL,
	    EVP_sha256(), NULL) == 1 &&
	    EVP_Digest(outer, sizeof(outer), mac, NULL, EVP_sha256(),
	    NULL) == 1;
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(outer, sizeof(outer));
	return ok;
}

bool
cursor_make(char list, int64_t user_id, int64_t position,
    char out[CURSOR_LEN + 1])
{
	unsigned char bytes[CURSOR_BYTES];
	char text[B64URL_SIZE(CURSOR_BYTES)];

	cursor_signed(bytes, list, user_id, position);
	if (!cursor_mac(bytes, bytes + CURSOR_SIGNED))
		return false;
	b64url_encode(bytes, sizeof(bytes), text);
	memcpy(out, text, CURSOR_LEN + 1);
	return true;
}

bool
cursor_read(char list, int64_t user_id, const char *text, int64_t *position)
{
	unsigned char bytes[CURSOR_BYTES], expect[CURSOR_SIGNED];
	unsigned char mac[CURSOR_MAC];
	uint64_t p = 0;
	int i;

	if (!b64url_decode(text, strlen(text), bytes, sizeof(bytes)))
		return false;
	/* The position is not yet known: compare all but its bytes. */
	cursor_signed(expect, list, user_id, 0);
	if (memcmp(bytes, expect, 10) != 0 || !cursor_mac(bytes, mac) ||
	    CRYPTO_memcmp(mac, bytes + CURSOR_SIGNED, CURSOR_MAC) != 0)
		return false;
	for (i = 0; i < 8; i++)
		p = p << 8 | bytes[10 + i];
	*position = (int64_t)p;
	return true;
}
