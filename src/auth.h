/*
 * auth.h — who is calling.  Verifies a bearer token against the hash the
 * database holds for its app id, and remembers, per worker, that "this
 * token verified against this hash" in a bounded cache.  The cache never
 * decides access on its own: every API call passes the app id and that
 * hash to the database, which refuses them once the app was deleted,
 * re-levelled or its token rotated.
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
	char	hash[TOKEN_HASH_MAX];
};

struct auth {
	struct auth_entry	slots[AUTH_CACHE_SLOTS];
	/* Checked against when the app id is unknown, so that path costs
	 * the same libcrypt work as a wrong secret for a real app. */
	char			dummy_hash[TOKEN_HASH_MAX];
};

/* False if libcrypt cannot make the dummy hash (a broken install). */
bool		auth_init(struct auth *);
/* Wipes the cached secrets. */
void		auth_cleanup(struct auth *);
/*
 * A token verified earlier: copies the hash it matched into hash and
 * answers true.  False: ask the database for the app's stored hash
 * (db_job_auth_lookup) and call auth_verify with the outcome.
 */
bool		auth_cached(struct auth *, const struct token *, char *hash,
		    size_t size);
/*
 * Checks the token's secret against the stored hash the lookup found
 * (lookup: its outcome, CLP_ERR_UNAUTHORIZED for an unknown app) and
 * caches a match.  CLP_OK, CLP_ERR_UNAUTHORIZED or the lookup's error.
 */
enum clp_err	auth_verify(struct auth *, const struct token *,
		    enum clp_err lookup, const char *stored);
/* Drops what the cache holds for an app (the database refused it). */
void		auth_forget(struct auth *, const char *app_id);

#endif
