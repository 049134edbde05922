/*
 * auth.h — who is calling.  A worker never sees an app's stored hash: it
 * asks the database for the hash's setting (clp_api.auth_lookup), computes
 * the proof crypt(secret, setting) and passes it with every API call; the
 * database compares it with the hash only its owner role can read (SPEC §2).
 * Per worker, a bounded cache remembers "this token's proof", once the
 * database has accepted it, so a known token costs no lookup and no
 * libcrypt work.  The cache never decides access on its own: the database
 * refuses a proof once the app was deleted, re-levelled or its token
 * rotated, and the entry is then forgotten.
 */
#ifndef CLP_AUTH_H
#define CLP_AUTH_H

#include <stdbool.h>

#include "error.h"
#include "token.h"

#define AUTH_CACHE_SLOTS	256

struct auth_entry {
	bool	used;
	char	app_id[VALIDATE_APP_ID_MAX + 1];
	char	secret[TOKEN_MAX + 1];
	size_t	secret_len;
	char	proof[TOKEN_HASH_MAX];
};

struct auth {
	struct auth_entry	slots[AUTH_CACHE_SLOTS];
};

void		auth_init(struct auth *);
/* Wipes the cached secrets and proofs. */
void		auth_cleanup(struct auth *);
/*
 * A token whose proof the database accepted earlier: copies the proof
 * and answers true.  False: ask the database for the setting
 * (db_job_auth_lookup) and call auth_prove.
 */
bool		auth_cached(struct auth *, const struct token *, char *proof,
		    size_t size);
/*
 * The proof of the token's secret under the setting the lookup gave.
 * CLP_OK, or CLP_ERR_UNAUTHORIZED if libcrypt refuses the setting.  The
 * same libcrypt work for an unknown app (the database gives a decoy
 * setting) as for a known one.
 */
enum clp_err	auth_prove(const struct token *, const char *setting,
		    char *proof, size_t size);
/* The database accepted this proof: cache it, wiping what the slot held. */
void		auth_remember(struct auth *, const struct token *,
		    const char *proof);
/* Drops what the cache holds for an app (the database refused it). */
void		auth_forget(struct auth *, const char *app_id);

#endif
