/*
 * auth.c — token proofs and their bounded, direct-mapped cache.
 *
 * A slot is chosen by the app id; a colliding app simply replaces it, and
 * whatever a slot held is wiped before it is reused or dropped.  A hit
 * needs the same app id and the same secret (compared in constant time),
 * so the cache cannot be used to guess secrets, and a stale proof in it is
 * refused by the database (CLA01) and then forgotten.
 */
#include <string.h>

#include "auth.h"

static struct auth_entry	*auth_slot(struct auth *, const char *);

void
auth_init(struct auth *a)
{
	memset(a, 0, sizeof(*a));
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
auth_cached(struct auth *a, const struct token *t, char *proof, size_t size)
{
	struct auth_entry *e = auth_slot(a, t->app_id);

	if (!e->used || strcmp(e->app_id, t->app_id) != 0 ||
	    !token_equal(e->secret, e->secret_len, t->secret, t->secret_len) ||
	    strlen(e->proof) >= size)
		return false;
	memcpy(proof, e->proof, strlen(e->proof) + 1);
	return true;
}

enum clp_err
auth_prove(const struct token *t, const char *setting, char *proof,
    size_t size)
{
	return token_prove(t->secret, setting, proof, size) ? CLP_OK :
	    CLP_ERR_UNAUTHORIZED;
}

void
auth_remember(struct auth *a, const struct token *t, const char *proof)
{
	struct auth_entry *e = auth_slot(a, t->app_id);

	if (strlen(proof) >= sizeof(e->proof))
		return;
	explicit_bzero(e, sizeof(*e));
	e->used = true;
	memcpy(e->app_id, t->app_id, sizeof(e->app_id));
	memcpy(e->secret, t->secret, t->secret_len);
	e->secret_len = t->secret_len;
	memcpy(e->proof, proof, strlen(proof) + 1);
}

void
auth_forget(struct auth *a, const char *app_id)
{
	struct auth_entry *e = auth_slot(a, app_id);

	if (e->used && strcmp(e->app_id, app_id) == 0)
		explicit_bzero(e, sizeof(*e));
}
