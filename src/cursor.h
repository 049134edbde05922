/*
 * cursor.h — SPEC §8's next_cursor: where the next page of a customer's
 * orders or ledger starts, made and checked here with the database's key.
 *
 * A cursor is the base64url text (67 characters) of 50 bytes: version 1,
 * the list's letter ('o' orders, 'l' ledger), the customer's user_id and
 * the position (the last row's key, big-endian like the two before), then
 * the HMAC-SHA256 of those 18 bytes under the key sql/011 drew for the
 * database.  The database keeps the key as its two padded forms (K xor
 * ipad, K xor opad), and the worker reads them when it connects
 * (clp_api.cursor_key): the HMAC is then two SHA-256 calls, about a
 * microsecond, where checking it in PL/pgSQL cost a page about 20.
 */
#ifndef CLP_CURSOR_H
#define CLP_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURSOR_LEN	67	/* characters, without the NUL */
#define CURSOR_PAD_LEN	64	/* bytes of each padded key */

#define CURSOR_LIST_ORDERS	'o'
#define CURSOR_LIST_LEDGER	'l'

/* Takes the key's padded forms; false, and the key unchanged, unless both
 * are CURSOR_PAD_LEN bytes. */
bool	cursor_set_key(const unsigned char *inner_pad, size_t inner_len,
	    const unsigned char *outer_pad, size_t outer_len);
bool	cursor_has_key(void);
/* The cursor of a position in a customer's list; false without a key. */
bool	cursor_make(char list, int64_t user_id, int64_t position,
	    char out[CURSOR_LEN + 1]);
/* The position in text, if it is a cursor made here for this list and
 * customer; false otherwise, and without a key. */
bool	cursor_read(char list, int64_t user_id, const char *text,
	    int64_t *position);

#endif
