/*
 * token.c — token generation and libcrypt hashing.
 *
 * The method is yescrypt (libcrypt's and Debian's default) at its lowest
 * cost (about 3 ms here): the secret already carries 256 bits, so the slow
 * hash only has to make a stolen table useless, not to stretch a guessable
 * password; workers cache successful checks (auth.c), so the cost is paid
 * once per token per worker.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "b64url.h"
#include "token.h"

#define TOKEN_HASH_PREFIX	"$y$"
#define TOKEN_HASH_COST		1

/* crypt_rn's work area is 32 KiB: one per process, made on first use. */
static struct crypt_data	*token_crypt_data;

bool
token_new_secret(char secret[TOKEN_SECRET_LEN + 1])
{
	unsigned char raw[TOKEN_SECRET_BYTES];
	char text[B64URL_SIZE(TOKEN_SECRET_BYTES)];
	size_t got = 0, len;
	ssize_t n;

	while (got < TOKEN_SECRET_BYTES) {
		n = getrandom(raw + got, TOKEN_SECRET_BYTES - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		got += (size_t)n;
	}
	len = b64url_encode(raw, sizeof(raw), text);
	memcpy(secret, text, TOKEN_SECRET_LEN + 1);
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(text, sizeof(text));
	return len == TOKEN_SECRET_LEN;
}

bool
token_prove(const char *secret, const char *setting, char *out, size_t size)
{
	const char *h;
	bool ok;

	if (token_crypt_data == NULL &&
	    (token_crypt_data = calloc(1, sizeof(*token_crypt_data))) == NULL)
		return false;
	h = crypt_rn(secret, setting, token_crypt_data,
	    (int)sizeof(*token_crypt_data));
	/* Failure is NULL or a string starting with '*'. */
	ok = h != NULL && h[0] != '*' && strlen(h) < size;
	if (ok)
		memcpy(out, h, strlen(h) + 1);
	/* The proof is a credential and the input a secret: neither stays in
	 * the work area until the next call. */
	explicit_bzero(token_crypt_data->output,
	    sizeof(token_crypt_data->output));
	explicit_bzero(token_crypt_data->input,
	    sizeof(token_crypt_data->input));
	return ok;
}

bool
token_hash(const char *secret, char *hash, size_t size)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	/* NULL random bytes: libcrypt draws the salt from the kernel. */
	if (crypt_gensalt_rn(TOKEN_HASH_PREFIX, TOKEN_HASH_COST, NULL, 0,
	    setting, sizeof(setting)) == NULL)
		return false;
	/* A hash is the proof of the secret under a fresh setting. */
	return token_prove(secret, setting, hash, size);
}


bool
token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	/* Walk the longer string in full so time depends on lengths only. */
	size_t n = alen > blen ? alen : blen, i;
	unsigned char diff = (unsigned char)(alen != blen);

	for (i = 0; i < n; i++) {
		unsigned char x = i < alen ? (unsigned char)a[i] : 0;
		unsigned char y = i < blen ? (unsigned char)b[i] : 0;

		diff |= x ^ y;
	}
	return diff == 0;
}

bool
token_parse(const char *s, size_t len, struct token *t)
{
	const char *dot;
	size_t i, idlen;

	if (len < 3 || len > TOKEN_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] > 0x7e)
			return false;
	if ((dot = memchr(s, '.', len)) == NULL)
		return false;
	idlen = (size_t)(dot - s);
	if (idlen < 1 || idlen > VALIDATE_APP_ID_MAX || idlen + 1 >= len)
		return false;
	memcpy(t->app_id, s, idlen);
	t->app_id[idlen] = '\0';
	t->secret_len = len - idlen - 1;
	memcpy(t->secret, dot + 1, t->secret_len);
	t->secret[t->secret_len] = '\0';
	return true;
}

bool
token_parse_bearer(const char *authorization, struct token *t)
{
	const char *p = authorization;

	if (p == NULL || strncasecmp(p, "Bearer ", 7) != 0)
		return false;
	p += 7;
	while (*p == ' ')
		p++;
	/* Anything after the token, whitespace included, makes it invalid. */
	return token_parse(p, strlen(p), t);
}

void
token_cleanup(void)
{
	if (token_crypt_data != NULL) {
		explicit_bzero(token_crypt_data, sizeof(*token_crypt_data));
		free(token_crypt_data);
	}
	token_crypt_data = NULL;
}
