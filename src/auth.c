/*
 * auth.c — token verification with a bounded, direct-mapped cache.
 *
 * A slot is chosen by the app id; a colliding app simply replaces it.  A
 * hit needs the same app id and the same secret (compared in constant
 * time), so the cache cannot be used to guess secrets, and a stale hash in
 * it is refused by the database (CLA01) and then forgotten.
 */
#include <string.h>

#include "auth.h"

static struct auth_entry	*auth_slot(struct auth *, const char *);

bool
auth_init(struct auth *a)
{
	char secret[TOKEN_SECRET_LEN + 1];
	bool ok;

	memset(a, 0, sizeof(*a));
	ok = token_new_secret(secret) &&
	    token_hash(secret, a->dummy_hash, sizeof(a->dummy_hash));
	explicit_bzero(secret, sizeof(secret));
	return ok;
}

void
auth_cleanup(struct auth *a)
{
	explicit_bzero(a, sizeof(*a));
}

static struct auth_entry *
auth_slot(struct auth *a, const char *app_id)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *app_id != '\0'; app_id++)
		h = (h ^ (unsigned char)*app_id) * 16777619u;
	return &a->slots[h % AUTH_CACHE_SLOTS];
}

bool
auth_cached(struct auth *a, const struct token *t, char *hash, size_t size)
{
	struct auth_entry *e = auth_slot(a, t->app_id);

	if (!e->used || strcmp(e->app_id, t->app_id) != 0 ||
	    !token_equal(e->secret, e->secret_len, t->secret, t->secret_len) ||
	    strlen(e->hash) >= size)
		return false;
	memcpy(hash, e->hash, strlen(e->hash) + 1);
	return true;
}

enum clp_err
auth_verify(struct auth *a, const struct token *t, enum clp_err lookup,
    const char *stored)
{
	struct auth_entry *e;

	if (lookup == CLP_ERR_UNAUTHORIZED) {
		/* Unknown app: spend the same hashing work as a known one. */
		(void)token_verify(t->secret, a->dummy_hash);
		return CLP_ERR_UNAUTHORIZED;
	}
	if (lookup != CLP_OK)
		return lookup;
	if (strlen(stored) >= sizeof(e->hash) ||
	    !token_verify(t->secret, stored))
		return CLP_ERR_UNAUTHORIZED;

	e = auth_slot(a, t->app_id);
	memset(e, 0, sizeof(*e));
	e->used = true;
	memcpy(e->app_id, t->app_id, sizeof(e->app_id));
	memcpy(e->secret, t->secret, t->secret_len);
	e->secret_len = t->secret_len;
	memcpy(e->hash, stored, strlen(stored) + 1);
	return CLP_OK;
}

void
auth_forget(struct auth *a, const char *app_id)
{
	struct auth_entry *e = auth_slot(a, app_id);

	if (e->used && strcmp(e->app_id, app_id) == 0)
		explicit_bzero(e, sizeof(*e));
}
