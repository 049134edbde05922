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

#include "db.h"
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
 * CLP_OK with *hash set to the stored hash the token matched (valid until
 * the next auth call), CLP_ERR_UNAUTHORIZED, or CLP_ERR_UNAVAILABLE.
 */
enum clp_err	auth_verify(struct auth *, struct db *, const struct token *,
		    const char **hash);
/* Drops what the cache holds for an app (the database refused it). */
void		auth_forget(struct auth *, const char *app_id);

#endif
