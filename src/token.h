/*
 * token.h — bearer tokens: making them, hashing them for storage, checking
 * one against a stored hash, and taking an Authorization header apart.
 *
 * A token is "<app_id>.<secret>": the app id in the clear lets a worker
 * fetch that one application's hash setting; the secret is 32 bytes from
 * getrandom(2), base64url-encoded (43 characters).  Only a libcrypt hash of
 * the secret is stored.
 */
#ifndef CLP_TOKEN_H
#define CLP_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "validate.h"

#define TOKEN_MAX		128	/* SPEC §2 */
#define TOKEN_SECRET_BYTES	32	/* 256 bits */
#define TOKEN_SECRET_LEN	43	/* base64url of 32 bytes, no padding */
#define TOKEN_HASH_MAX		128	/* yescrypt gives 73 characters */

struct token {
	char	app_id[VALIDATE_APP_ID_MAX + 1];
	char	secret[TOKEN_MAX + 1];
	size_t	secret_len;
};

/* A new secret from getrandom(2); false if the kernel refused. */
bool	token_new_secret(char secret[TOKEN_SECRET_LEN + 1]);
/* The libcrypt hash stored for a secret; false on failure. */
bool	token_hash(const char *secret, char *hash, size_t size);
/*
 * The proof of a secret: crypt(secret, setting), where setting is the
 * stored hash's method, cost and salt (clp_api.auth_lookup).  The database
 * compares it with the stored hash.  False if libcrypt refuses the setting.
 */
bool	token_prove(const char *secret, const char *setting, char *proof,
	    size_t size);
/*
 * Parses "Bearer <app_id>.<secret>" (scheme case-insensitive).  The token
 * must be 1..128 printable ASCII characters without spaces.
 */
bool	token_parse_bearer(const char *authorization, struct token *t);
/* Parses a bare "<app_id>.<secret>": no whitespace anywhere. */
bool	token_parse(const char *s, size_t len, struct token *t);
/* Constant-time equality of two byte strings of possibly different lengths. */
bool	token_equal(const char *a, size_t alen, const char *b, size_t blen);
/* Frees libcrypt's work area (for leak checkers at exit). */
void	token_cleanup(void);

#endif
