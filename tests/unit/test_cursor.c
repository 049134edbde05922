/*
 * test_cursor.c — base64url without padding (b64url.c) and SPEC §8's
 * history cursors (cursor.c): the bytes sql/011 made, and nothing else
 * read back.
 *
 * The cursor key is one static per process and cmocka runs the tests in
 * main()'s order in this one process: the two tests without a key come
 * first; every later test sets the key it needs in its setup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64url.h"
#include "cursor.h"

#define SIGNED_LEN	18	/* version, list, user_id, position */
#define MAC_LEN		32
#define CURSOR_BYTES	(SIGNED_LEN + MAC_LEN)

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The golden key: 32 bytes 0x00 .. 0x1f. */
static unsigned char key_a[32];
/* Another key, of a full block (K' = K, no zero padding). */
static unsigned char key_b[64];

/* RFC 2104's padded forms, as sql/011 keeps them (clp.hmac_pad). */
static bool
set_key(const unsigned char *key, size_t len)
{
	unsigned char inner[CURSOR_PAD_LEN], outer[CURSOR_PAD_LEN];
	size_t i;

	assert_true(len <= CURSOR_PAD_LEN);
	for (i = 0; i < CURSOR_PAD_LEN; i++) {
		unsigned char k = i < len ? key[i] : 0;

		inner[i] = k ^ 0x36;
		outer[i] = k ^ 0x5c;
	}
	return cursor_set_key(inner, sizeof(inner), outer, sizeof(outer));
}

static int
setup_key_a(void **state)
{
	(void)state;
	assert_true(set_key(key_a, sizeof(key_a)));
	return 0;
}

/* The 18 signed bytes, built here independently of cursor.c. */
static void
signed_bytes(unsigned char *out, unsigned version, char list,
    int64_t user_id, int64_t position)
{
	int i;

	out[0] = (unsigned char)version;
	out[1] = (unsigned char)list;
	for (i = 0; i < 8; i++) {
		out[2 + i] = (unsigned char)((uint64_t)user_id >> (56 - 8 * i));
		out[10 + i] =
		    (unsigned char)((uint64_t)position >> (56 - 8 * i));
	}
}

/* The oracle: OpenSSL's own HMAC over the raw key. */
static void
oracle_mac(const unsigned char *key, size_t key_len,
    const unsigned char *msg, unsigned char *mac)
{
	unsigned int mac_len = 0;

	assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, msg, SIGNED_LEN,
	    mac, &mac_len));
	assert_int_equal(mac_len, MAC_LEN);
}

/* A cursor signed by the oracle, with any version byte. */
static void
oracle_cursor(unsigned version, char list, int64_t user_id,
    int64_t position, char out[CURSOR_LEN + 1])
{
	unsigned char bytes[CURSOR_BYTES];
	char text[B64URL_SIZE(CURSOR_BYTES)];

	signed_bytes(bytes, version, list, user_id, position);
	oracle_mac(key_a, sizeof(key_a), bytes, bytes + SIGNED_LEN);
	assert_int_equal(b64url_encode(bytes, sizeof(bytes), text),
	    CURSOR_LEN);
	memcpy(out, text, CURSOR_LEN + 1);
}

static bool
read_fails(char list, int64_t user_id, const char *text)
{
	int64_t position = -12345;
	bool ok = cursor_read(list, user_id, text, &position);

	/* A refused cursor leaves the position alone. */
	return !ok && position == -12345;
}

/* ---- without a key: these two run first ---- */

static void
test_no_key(void **state)
{
	char out[CURSOR_LEN + 1] = "";
	int64_t position = 0;

	(void)state;
	assert_false(cursor_has_key());
	assert_false(cursor_make(CURSOR_LIST_ORDERS, 42, 5, out));
	/* The golden cursor (test_golden) is refused without the key. */
	assert_false(cursor_read(CURSOR_LIST_ORDERS, 42,
	    "AW8AAAAAAAAAKgAAAAAAAAAFVRe_dQMGUGKFohzWDF41bxAHvjR89DQuK6eHgV_ADOQ",
	    &position));
}

static void
test_set_key_lengths(void **state)
{
	unsigned char pad[CURSOR_PAD_LEN + 1];
	char out[CURSOR_LEN + 1];

	(void)state;
	memset(pad, 0x36, sizeof(pad));
	assert_false(cursor_set_key(pad, 63, pad, 64));
	assert_false(cursor_set_key(pad, 64, pad, 63));
	assert_false(cursor_set_key(pad, 65, pad, 65));
	assert_false(cursor_set_key(pad, 0, pad, 0));
	assert_false(cursor_has_key());

	/* A refused key leaves the one set before in place. */
	assert_true(set_key(key_a, sizeof(key_a)));
	assert_true(cursor_has_key());
	assert_false(cursor_set_key(pad, 64, pad, 65));
	assert_false(cursor_set_key(pad, 32, pad, 64));
	assert_true(cursor_make(CURSOR_LIST_ORDERS, 42, 5, out));
	assert_string_equal(out,
	    "AW8AAAAAAAAAKgAAAAAAAAAFVRe_dQMGUGKFohzWDF41bxAHvjR89DQuK6eHgV_ADOQ");
}

/* ---- b64url ---- */

struct vector {
	const char	*bytes;
	size_t		 n;
	const char	*text;
};

/* RFC 4648 §10's vectors, URL alphabet, no padding; then both of the URL
 * alphabet's own characters. */
static const struct vector vectors[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\xfb\xff", 2, "-_8" },
	{ "\xff\xff\xff", 3, "____" },
	{ "\xfb\xef\xbe", 3, "----" },
};

static void
test_b64url_encode_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		char out[B64URL_SIZE(6) + 1];

		memset(out, '#', sizeof(out));
		assert_int_equal(b64url_encode((const unsigned char *)v->bytes,
		    v->n, out), strlen(v->text));
		assert_string_equal(out, v->text);
		assert_int_equal(B64URL_LEN(v->n), strlen(v->text));
		/* Nothing written past the size the header promises. */
		assert_int_equal(out[B64URL_SIZE(v->n)], '#');
	}
}

static void
test_b64url_decode_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		unsigned char out[8];

		memset(out, 0xaa, sizeof(out));
		assert_true(b64url_decode(v->text, strlen(v->text), out, v->n));
		assert_memory_equal(out, v->bytes, v->n);
		/* Exactly n bytes written. */
		assert_int_equal(out[v->n], 0xaa);
	}
}

/* Every length up to a 64-byte text, every byte value somewhere. */
static void
test_b64url_round_trip(void **state)
{
	unsigned char in[64], out[64];
	char text[B64URL_SIZE(64)];
	size_t n, i;

	(void)state;
	for (n = 0; n <= sizeof(in); n++) {
		for (i = 0; i < n; i++)
			in[i] = (unsigned char)(n * 37 + i * 101);
		assert_int_equal(b64url_encode(in, n, text), B64URL_LEN(n));
		assert_int_equal(strlen(text), B64URL_LEN(n));
		assert_true(b64url_decode(text, strlen(text), out, n));
		assert_memory_equal(out, in, n);
	}
}

/* A text b64url_decode() must refuse, for n bytes; len counts a NUL
 * inside the text. */
struct refusal {
	const char	*text;
	size_t		 len;
	size_t		 n;
};

#define REFUSE(text, n)	{ text, sizeof(text) - 1, n }

static void
refuse_all(const struct refusal *refusals, size_t count)
{
	unsigned char out[8];
	size_t i;

	for (i = 0; i < count; i++) {
		memset(out, 0xaa, sizeof(out));
		if (b64url_decode(refusals[i].text, refusals[i].len, out,
		    refusals[i].n))
			fail_msg("decoded refusal %zu", i);
		/* Nothing written either. */
		assert_int_equal(out[0], 0xaa);
	}
}

static void
test_b64url_decode_lengths(void **state)
{
	static const struct refusal refusals[] = {
		/* "Zm9v" is 3 bytes: one character short or long is not. */
		REFUSE("Zm9", 3), REFUSE("Zm9vA", 3),
		REFUSE("Zm9vYmF", 6), REFUSE("Zm9vYmFyA", 6),
		REFUSE("Z", 1), REFUSE("ZgA", 1), REFUSE("", 1),
		/* Nor is the right text asked for the wrong count of bytes. */
		REFUSE("Zm9v", 2), REFUSE("Zm9v", 4),
		/* Nor padding, even where base64 would have it. */
		REFUSE("Zg==", 1),
	};

	(void)state;
	refuse_all(refusals, sizeof(refusals) / sizeof(refusals[0]));
}

/* Text far longer than any it decodes: refused before it is copied into
 * the decoder's fixed buffer (an overflow shows under ASan or valgrind). */
static void
test_b64url_decode_long(void **state)
{
	char text[1024];
	unsigned char out[64];

	(void)state;
	memset(text, 'A', sizeof(text));
	assert_false(b64url_decode(text, sizeof(text), out, 64));
	assert_false(b64url_decode(text, sizeof(text), out, 3));
	assert_true(b64url_decode(text, B64URL_LEN(64), out, 64));
}

static void
test_b64url_decode_alphabet(void **state)
{
	static const struct refusal refusals[] = {
		/* "Zm9vYmFy" (6 bytes) with its 4th character swapped. */
		REFUSE("Zm9+YmFy", 6), REFUSE("Zm9/YmFy", 6),
		REFUSE("Zm9=YmFy", 6), REFUSE("Zm9 YmFy", 6),
		REFUSE("Zm9\0YmFy", 6), REFUSE("Zm9\x80YmFy", 6),
		REFUSE("Zm9\xffYmFy", 6), REFUSE("Zm9.YmFy", 6),
		REFUSE("Zm9\nYmFy", 6), REFUSE("Zm9\tYmFy", 6),
		/* Standard base64's characters for 0xfb 0xff ("-_8"). */
		REFUSE("+/8", 2),
		/* Whitespace, which OpenSSL's decoder skips at either end:
		 * trailing, it would leave bytes 3..5 unwritten. */
		REFUSE(" Zm9", 3), REFUSE("Zm9v    ", 6),
		REFUSE("Zm9v\n\n\n\n", 6), REFUSE("Zm9v\r\n\r\n", 6),
	};

	(void)state;
	refuse_all(refusals, sizeof(refusals) / sizeof(refusals[0]));
}

/* Only the text the encoder makes ("Zg" for "f", "Zm8" for "fo"): the last
 * character's unused bits (4 for 1 byte, 2 for 2 bytes) are zero. */
static void
test_b64url_decode_unused_bits(void **state)
{
	static const struct refusal refusals[] = {
		REFUSE("Zh", 1), REFUSE("Zi", 1), REFUSE("Zj", 1),
		REFUSE("Zk", 1), REFUSE("Zo", 1), REFUSE("Zv", 1),
		REFUSE("Zm9", 2), REFUSE("Zm-", 2), REFUSE("Zm_", 2),
	};

	(void)state;
	refuse_all(refusals, sizeof(refusals) / sizeof(refusals[0]));
}

/* ---- cursors, key_a set by the setup ---- */

/*
 * The bytes sql/011's clp.cursor_make() made, computed outside C:
 *
 * python3 -c "import hmac,hashlib,base64;K=bytes(range(32));m=b'\x01o'+(42).to_bytes(8,'big')+(5).to_bytes(8,'big');print(base64.urlsafe_b64encode(m+hmac.new(K,m,hashlib.sha256).digest()).rstrip(b'=').decode())"
 *
 * and the same with m=b'\x01l'+(7).to_bytes(8,'big')+(2**63-1).to_bytes(8,'big'),
 * and with m=b'\x01o'+(2**63-1).to_bytes(8,'big')+(-1).to_bytes(8,'big',signed=True).
 * sql/011's own bodies (hmac_pad, cursor_payload, hmac_sha256, cursor_make),
 * run inline in psql under the same key, gave the same three texts.
 */
static const struct {
	char		 list;
	int64_t		 user_id;
	int64_t		 position;
	const char	*cursor;
} golden[] = {
	{ 'o', 42, 5,
	  "AW8AAAAAAAAAKgAAAAAAAAAFVRe_dQMGUGKFohzWDF41bxAHvjR89DQuK6eHgV_ADOQ" },
	{ 'l', 7, INT64_MAX,
	  "AWwAAAAAAAAAB3__________4gZquGHdrOzV10JC15DVlL_UdgsIPt-PYAHuX9Mfz9w" },
	{ 'o', INT64_MAX, -1,
	  "AW9_____________________SXOmVp4oj-8HOi3QQu-WPdviaR8J-xnLxJkT9MOkS1A" },
};

static void
test_golden(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		char out[CURSOR_LEN + 1];
		int64_t position = 0;

		memset(out, '#', sizeof(out));
		assert_true(cursor_make(golden[i].list, golden[i].user_id,
		    golden[i].position, out));
		assert_int_equal(strlen(out), CURSOR_LEN);
		assert_string_equal(out, golden[i].cursor);
		assert_true(cursor_read(golden[i].list, golden[i].user_id,
		    golden[i].cursor, &position));
		assert_int_equal(position, golden[i].position);
	}
}

/* SplitMix64: the same "random" users and positions on every run. */
static uint64_t
next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* cursor.c's two SHA-256 calls over the pads against OpenSSL's HMAC, under
 * a short key and a full-block one. */
static void
test_oracle(void **state)
{
	static const struct {
		const unsigned char	*key;
		size_t			 len;
	} keys[] = { { key_a, sizeof(key_a) }, { key_b, sizeof(key_b) } };
	uint64_t seed = 20261201;
	size_t k, i;

	(void)state;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		assert_true(set_key(keys[k].key, keys[k].len));
		for (i = 0; i < 200; i++) {
			char list = i % 2 ? CURSOR_LIST_LEDGER :
			    CURSOR_LIST_ORDERS;
			int64_t user_id = (int64_t)next_random(&seed);
			int64_t position = (int64_t)next_random(&seed);
			unsigned char bytes[CURSOR_BYTES], mac[MAC_LEN];
			unsigned char want[SIGNED_LEN];
			char out[CURSOR_LEN + 1];
			int64_t back = 0;

			assert_true(cursor_make(list, user_id, position, out));
			assert_true(b64url_decode(out, strlen(out), bytes,
			    sizeof(bytes)));
			signed_bytes(want, 1, list, user_id, position);
			assert_memory_equal(bytes, want, SIGNED_LEN);
			oracle_mac(keys[k].key, keys[k].len, want, mac);
			assert_memory_equal(bytes + SIGNED_LEN, mac, MAC_LEN);
			assert_true(cursor_read(list, user_id, out, &back));
			assert_int_equal(back, position);
		}
	}
}

static void
test_round_trip(void **state)
{
	static const int64_t positions[] = { 0, 1, 255, 256, INT64_MAX,
		INT64_MAX - 1, -1, INT64_MIN };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
		char out[CURSOR_LEN + 1];
		int64_t position = 12345;

		assert_true(cursor_make(CURSOR_LIST_LEDGER, 1, positions[i],
		    out));
		assert_true(cursor_read(CURSOR_LIST_LEDGER, 1, out, &position));
		assert_int_equal(position, positions[i]);
	}
}

/* A cursor names its customer and list: any byte of either differs. */
static void
test_other_user_or_list(void **state)
{
	static const int64_t others[] = { 43, 41, 42 + ((int64_t)1 << 8),
		42 + ((int64_t)1 << 56), -42, 0 };
	char out[CURSOR_LEN + 1];
	int64_t position = 0;
	size_t i;

	(void)state;
	assert_true(cursor_make(CURSOR_LIST_ORDERS, 42, 5, out));
	assert_true(cursor_read(CURSOR_LIST_ORDERS, 42, out, &position));
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (!read_fails(CURSOR_LIST_ORDERS, others[i], out))
			fail_msg("read as user %lld", (long long)others[i]);
	}
	assert_true(read_fails(CURSOR_LIST_LEDGER, 42, out));
	assert_true(read_fails('p', 42, out));
}

/* Every character edited to the next in the alphabet, and every edit of
 * the last character's two unused bits alone. */
static void
test_edits(void **state)
{
	char out[CURSOR_LEN + 1], edit[CURSOR_LEN + 1];
	const char *at;
	size_t i, v;
	unsigned bits;

	(void)state;
	assert_true(cursor_make(CURSOR_LIST_ORDERS, 42, 5, out));
	for (i = 0; i < CURSOR_LEN; i++) {
		memcpy(edit, out, sizeof(edit));
		at = strchr(alphabet, out[i]);
		assert_non_null(at);
		edit[i] = alphabet[((size_t)(at - alphabet) + 1) % 64];
		if (!read_fails(CURSOR_LIST_ORDERS, 42, edit))
			fail_msg("edit at %zu read: %s", i, edit);
	}

	/* 50 bytes are 400 bits, 67 characters 402: the last character's
	 * low two bits carry nothing and must be zero. */
	at = strchr(alphabet, out[CURSOR_LEN - 1]);
	assert_non_null(at);
	v = (size_t)(at - alphabet);
	assert_int_equal(v & 3, 0);
	for (bits = 1; bits <= 3; bits++) {
		memcpy(edit, out, sizeof(edit));
		edit[CURSOR_LEN - 1] = alphabet[v | bits];
		if (!read_fails(CURSOR_LIST_ORDERS, 42, edit))
			fail_msg("unused bits %u read: %s", bits, edit);
	}
}

static void
test_lengths(void **state)
{
	char out[CURSOR_LEN + 1], longer[CURSOR_LEN + 2];
	static const char *const pads[] = { "A", "=", "-" };
	size_t i;

	(void)state;
	assert_true(cursor_make(CURSOR_LIST_ORDERS, 42, 5, out));
	for (i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
		memcpy(longer, out, CURSOR_LEN);
		longer[CURSOR_LEN] = pads[i][0];
		longer[CURSOR_LEN + 1] = '\0';
		assert_true(read_fails(CURSOR_LIST_ORDERS, 42, longer));
	}
	out[CURSOR_LEN - 1] = '\0';
	assert_true(read_fails(CURSOR_LIST_ORDERS, 42, out));
	assert_true(read_fails(CURSOR_LIST_ORDERS, 42, ""));
}

/* Made under another key, read under key_a. */
static void
test_other_key(void **state)
{
	char out[CURSOR_LEN + 1];
	int64_t position = 0;

	(void)state;
	assert_true(set_key(key_b, sizeof(key_b)));
	assert_true(cursor_make(CURSOR_LIST_ORDERS, 42, 5, out));
	assert_true(cursor_read(CURSOR_LIST_ORDERS, 42, out, &position));
	assert_int_equal(position, 5);
	assert_true(set_key(key_a, sizeof(key_a)));
	assert_true(read_fails(CURSOR_LIST_ORDERS, 42, out));
}

/* A correct HMAC does not make another version a cursor. */
static void
test_other_version(void **state)
{
	char text[CURSOR_LEN + 1];
	int64_t position = 0;
	unsigned version;

	(void)state;
	/* The oracle's version 1 is cursor.c's: the refusals below are the
	 * version's. */
	oracle_cursor(1, CURSOR_LIST_ORDERS, 42, 5, text);
	assert_true(cursor_read(CURSOR_LIST_ORDERS, 42, text, &position));
	assert_int_equal(position, 5);
	for (version = 0; version <= 255; version++) {
		if (version == 1)
			continue;
		oracle_cursor(version, CURSOR_LIST_ORDERS, 42, 5, text);
		if (!read_fails(CURSOR_LIST_ORDERS, 42, text))
			fail_msg("version %u read", version);
	}
}

static int
group_setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(key_a); i++)
		key_a[i] = (unsigned char)i;
	for (i = 0; i < sizeof(key_b); i++)
		key_b[i] = (unsigned char)(0xa0 + i);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* No key set yet in this process: these two first. */
		cmocka_unit_test(test_no_key),
		cmocka_unit_test(test_set_key_lengths),
		cmocka_unit_test(test_b64url_encode_vectors),
		cmocka_unit_test(test_b64url_decode_vectors),
		cmocka_unit_test(test_b64url_round_trip),
		cmocka_unit_test(test_b64url_decode_lengths),
		cmocka_unit_test(test_b64url_decode_long),
		cmocka_unit_test(test_b64url_decode_alphabet),
		cmocka_unit_test(test_b64url_decode_unused_bits),
		cmocka_unit_test_setup(test_golden, setup_key_a),
		cmocka_unit_test_setup(test_oracle, setup_key_a),
		cmocka_unit_test_setup(test_round_trip, setup_key_a),
		cmocka_unit_test_setup(test_other_user_or_list, setup_key_a),
		cmocka_unit_test_setup(test_edits, setup_key_a),
		cmocka_unit_test_setup(test_lengths, setup_key_a),
		cmocka_unit_test_setup(test_other_key, setup_key_a),
		cmocka_unit_test_setup(test_other_version, setup_key_a),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
