/*
 * test_token.c — bearer tokens: secrets, libcrypt hashes, parsing the
 * Authorization header, constant-time equality (SPEC §2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"

static bool
is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void
test_new_secret(void **state)
{
	char a[TOKEN_SECRET_LEN + 1 + 8], b[TOKEN_SECRET_LEN + 1 + 8];
	size_t i;

	(void)state;
	memset(a, '#', sizeof(a));
	memset(b, '#', sizeof(b));
	assert_true(token_new_secret(a));
	assert_true(token_new_secret(b));
	assert_int_equal(TOKEN_SECRET_LEN, 43);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strlen(b), 43);
	for (i = 0; i < 43; i++) {
		if (!is_b64url(a[i]) || !is_b64url(b[i]))
			fail_msg("byte %zu is not base64url: %s / %s", i, a,
			    b);
	}
	/* 32 bytes = 256 bits: the last character carries 4 bits only, so
	 * its low two bits are zero (canonical base64url). */
	assert_int_equal(strchr("AEIMQUYcgkosw048", a[42]) != NULL, 1);
	assert_string_not_equal(a, b);
	/* Nothing past the NUL is written. */
	assert_int_equal(a[44], '#');
}

/*
 * 2,000 secrets: every position takes every one of its symbols, each about
 * 2000/64 = 31 times.  Counted per position, so a position stuck on one
 * value (or a few) fails even when the others cover the alphabet.  The
 * bounds are far out in the tails: a given symbol is missing from a position
 * with probability (63/64)^2000 < 1e-13, and a count outside 5 .. 80 (for a
 * mean of 31.25) happens with odds below 1e-5 over all 2,688 counts.
 */
#define SPREAD_SECRETS	2000
#define SPREAD_MIN	5
#define SPREAD_MAX	80

static void
test_new_secret_spread(void **state)
{
	static unsigned seen[TOKEN_SECRET_LEN][256];
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	char s[TOKEN_SECRET_LEN + 1];
	const char *alphabet;
	unsigned n;
	size_t i, j, k, symbols;

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < SPREAD_SECRETS; i++) {
		assert_true(token_new_secret(s));
		for (j = 0; j < TOKEN_SECRET_LEN; j++)
			seen[j][(unsigned char)s[j]]++;
	}
	for (j = 0; j < TOKEN_SECRET_LEN; j++) {
		/* The last character carries 4 bits: 16 symbols. */
		alphabet = j < TOKEN_SECRET_LEN - 1 ? b64url :
		    "AEIMQUYcgkosw048";
		symbols = strlen(alphabet);
		n = 0;
		for (k = 0; k < symbols; k++) {
			unsigned c = seen[j][(unsigned char)alphabet[k]];
			unsigned lo = SPREAD_MIN * 64 / symbols;
			unsigned hi = SPREAD_MAX * 64 / symbols;

			if (c < lo || c > hi)
				fail_msg("position %zu: '%c' drawn %u times of "
				    "%d, want %u .. %u", j, alphabet[k], c,
				    SPREAD_SECRETS, lo, hi);
			n += c;
		}
		/* Nothing outside the position's alphabet. */
		assert_int_equal(n, SPREAD_SECRETS);
	}
}

/* The setting a stored hash is proved with: all before its last '$'. */
static void
setting_of(const char *hash, char *setting, size_t size)
{
	const char *last = strrchr(hash, '$');

	assert_non_null(last);
	assert_true((size_t)(last - hash) < size);
	memcpy(setting, hash, (size_t)(last - hash));
	setting[last - hash] = '\0';
}

static void
test_hash_prove(void **state)
{
	char secret[TOKEN_SECRET_LEN + 1], other[TOKEN_SECRET_LEN + 1];
	char h1[TOKEN_HASH_MAX], h2[TOKEN_HASH_MAX], set1[TOKEN_HASH_MAX];
	char proof[TOKEN_HASH_MAX];

	(void)state;
	assert_true(token_new_secret(secret));
	assert_true(token_new_secret(other));
	assert_true(token_hash(secret, h1, sizeof(h1)));
	assert_true(token_hash(secret, h2, sizeof(h2)));
	/* yescrypt at the lowest cost: sql/008's decoy setting names it. */
	assert_memory_equal(h1, "$y$j75$", 7);
	assert_true(strlen(h1) < TOKEN_HASH_MAX);
	/* Salted: the same secret hashes differently each time. */
	assert_string_not_equal(h1, h2);
	/* The secret does not appear in its hash. */
	assert_null(strstr(h1, secret));

	/* The secret under the hash's setting proves to the hash itself:
	 * what the database compares (sql/008). */
	setting_of(h1, set1, sizeof(set1));
	assert_true(token_prove(secret, set1, proof, sizeof(proof)));
	assert_string_equal(proof, h1);
	/* The whole hash works as a setting too (libcrypt reads its salt). */
	assert_true(token_prove(secret, h1, proof, sizeof(proof)));
	assert_string_equal(proof, h1);
	/* Another secret, a one-character change, a truncation: another
	 * proof. */
	assert_true(token_prove(other, set1, proof, sizeof(proof)));
	assert_string_not_equal(proof, h1);
	strcpy(other, secret);
	other[10] = other[10] == 'A' ? 'B' : 'A';
	assert_true(token_prove(other, set1, proof, sizeof(proof)));
	assert_string_not_equal(proof, h1);
	memcpy(other, secret, 42);
	other[42] = '\0';
	assert_true(token_prove(other, set1, proof, sizeof(proof)));
	assert_string_not_equal(proof, h1);
	/* The proof does not fit: refused, not cut. */
	assert_false(token_prove(secret, set1, proof, 16));
}

static void
test_prove_garbage_setting(void **state)
{
	static const char *const garbage[] = {
		"", "*", "*0", "$y$", "$9$abc", "$y$j75",
	};
	char secret[TOKEN_SECRET_LEN + 1], proof[TOKEN_HASH_MAX];
	size_t i;

	(void)state;
	assert_true(token_new_secret(secret));
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		if (token_prove(secret, garbage[i], proof, sizeof(proof)))
			fail_msg("setting \"%s\" accepted", garbage[i]);
}

static void
test_hash_small_buffer(void **state)
{
	char h[16];

	(void)state;
	assert_false(token_hash("secret", h, sizeof(h)));
	assert_false(token_hash("secret", h, 0));
}

/* ------------------------------------------------------------- parsing */

static void
expect_bearer(const char *header, const char *app_id, const char *secret)
{
	struct token t;

	memset(&t, 0, sizeof(t));
	if (!token_parse_bearer(header, &t))
		fail_msg("\"%s\" refused", header);
	assert_string_equal(t.app_id, app_id);
	assert_string_equal(t.secret, secret);
	assert_int_equal(t.secret_len, strlen(secret));
}

static void
expect_no_bearer(const char *header)
{
	struct token t;

	memset(&t, 0, sizeof(t));
	if (token_parse_bearer(header, &t))
		fail_msg("\"%s\" accepted as app \"%s\", secret \"%s\"",
		    header, t.app_id, t.secret);
}

static void
test_bearer_ok(void **state)
{
	char secret[TOKEN_SECRET_LEN + 1], header[256];

	(void)state;
	expect_bearer("Bearer a.b", "a", "b");
	expect_bearer("bearer a.b", "a", "b");
	expect_bearer("BEARER a.b", "a", "b");
	expect_bearer("BeArEr a.b", "a", "b");
	/* Only the first dot splits: the secret may hold dots. */
	expect_bearer("Bearer app.x.y", "app", "x.y");
	assert_true(token_new_secret(secret));
	snprintf(header, sizeof(header), "Bearer 0f3a-app.%s", secret);
	expect_bearer(header, "0f3a-app", secret);
}

static void
test_bearer_refused(void **state)
{
	(void)state;
	expect_no_bearer(NULL);
	expect_no_bearer("");
	expect_no_bearer("Basic x");
	expect_no_bearer("Basic YTpi");
	expect_no_bearer("Bearer");
	expect_no_bearer("Bearer ");
	expect_no_bearer("Bearer   ");
	expect_no_bearer("Bearer a");
	expect_no_bearer("Bearer .b");
	expect_no_bearer("Bearer a.");
	expect_no_bearer("Bearer .");
	expect_no_bearer("Bearer ab");
	expect_no_bearer("Bearera.b");
	expect_no_bearer("Bearer\ta.b");
	expect_no_bearer("Bearer: a.b");
	expect_no_bearer("Token a.b");
	expect_no_bearer("a.b");
	expect_no_bearer("Bearer a.b ");
	expect_no_bearer("Bearer a. b");
	expect_no_bearer("Bearer a .b");
	expect_no_bearer("Bearer a.b c");
	expect_no_bearer("Bearer a.b\x01");
	expect_no_bearer("Bearer a.\x01" "b");
	expect_no_bearer("Bearer a.b\x7f");
	expect_no_bearer("Bearer a.\xc3\xa9");
	expect_no_bearer("Bearer \xc3\xa9.b");
	expect_no_bearer("Bearer a.b\x80");
}

static void
test_bearer_trailing_whitespace(void **state)
{
	(void)state;
	/*
	 * The header comment says the token is printable ASCII without
	 * spaces, and a trailing space is refused; a trailing tab, CR or
	 * LF is not printable either and must be refused the same way.
	 */
	expect_no_bearer("Bearer a.b\t");
	expect_no_bearer("Bearer a.b\n");
	expect_no_bearer("Bearer a.b\r\n");
	expect_no_bearer("Bearer a.b\t ");
}

static void
test_bearer_lengths(void **state)
{
	char header[512], tok[256];
	struct token t;

	(void)state;
	/* A whole token of exactly 128 characters: ok. */
	memset(tok, 's', sizeof(tok));
	tok[0] = 'a';
	tok[1] = '.';
	tok[128] = '\0';
	snprintf(header, sizeof(header), "Bearer %s", tok);
	expect_bearer(header, "a", tok + 2);
	/* 129: refused. */
	tok[128] = 's';
	tok[129] = '\0';
	snprintf(header, sizeof(header), "Bearer %s", tok);
	expect_no_bearer(header);
	tok[200] = '\0';
	snprintf(header, sizeof(header), "Bearer %s", tok);
	expect_no_bearer(header);

	/* An app id of 64 characters: ok; of 65: refused. */
	memset(tok, 'i', 64);
	strcpy(tok + 64, ".secret");
	snprintf(header, sizeof(header), "Bearer %s", tok);
	memset(&t, 0, sizeof(t));
	assert_true(token_parse_bearer(header, &t));
	assert_int_equal(strlen(t.app_id), 64);
	assert_memory_equal(t.app_id, tok, 64);
	assert_string_equal(t.secret, "secret");
	memset(tok, 'i', 65);
	strcpy(tok + 65, ".secret");
	snprintf(header, sizeof(header), "Bearer %s", tok);
	expect_no_bearer(header);
}

static void
test_parse_bare(void **state)
{
	struct token t;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_true(token_parse("app.sec", 7, &t));
	assert_string_equal(t.app_id, "app");
	assert_string_equal(t.secret, "sec");
	assert_int_equal(t.secret_len, 3);
	/* No whitespace anywhere: the file reader trims its own newline. */
	assert_false(token_parse("app.sec\n", 8, &t));
	assert_false(token_parse("app.sec \r\n", 10, &t));
	/* len is what counts. */
	assert_true(token_parse("app.secXYZ", 7, &t));
	assert_string_equal(t.secret, "sec");
	assert_false(token_parse("", 0, &t));
	assert_false(token_parse("\n", 1, &t));
	assert_false(token_parse(" app.sec", 8, &t));
	assert_false(token_parse("app.s\0c", 7, &t));
	assert_false(token_parse("app", 3, &t));
}

/* ---------------------------------------------------------------- equal */

static void
test_token_equal(void **state)
{
	(void)state;
	assert_true(token_equal("", 0, "", 0));
	assert_true(token_equal("abc", 3, "abc", 3));
	assert_true(token_equal("abcX", 3, "abcY", 3));
	assert_false(token_equal("abc", 3, "abd", 3));
	assert_false(token_equal("abc", 3, "xbc", 3));
	assert_false(token_equal("abc", 3, "ab", 2));
	assert_false(token_equal("ab", 2, "abc", 3));
	assert_false(token_equal("", 0, "a", 1));
	assert_false(token_equal("a", 1, "", 0));
	/* A shorter string padded with NULs is still not equal. */
	assert_false(token_equal("ab\0", 3, "ab", 2));
	assert_false(token_equal("ab", 2, "ab\0", 3));
	/* Differences in high bits only. */
	assert_false(token_equal("\x80", 1, "\x00", 1));
	assert_true(token_equal("\xff\x00\x01", 3, "\xff\x00\x01", 3));
}

static int
group_teardown(void **state)
{
	(void)state;
	token_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_secret),
		cmocka_unit_test(test_new_secret_spread),
		cmocka_unit_test(test_hash_prove),
		cmocka_unit_test(test_prove_garbage_setting),
		cmocka_unit_test(test_hash_small_buffer),
		cmocka_unit_test(test_bearer_ok),
		cmocka_unit_test(test_bearer_refused),
		cmocka_unit_test(test_bearer_trailing_whitespace),
		cmocka_unit_test(test_bearer_lengths),
		cmocka_unit_test(test_parse_bare),
		cmocka_unit_test(test_token_equal),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
