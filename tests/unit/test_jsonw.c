/*
 * test_jsonw.c — the bounded JSON writer: escaping, numbers, keys and the
 * ceiling.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "jsonw.h"

/* The buffer's bytes as a string (it is not NUL-terminated). */
static void
assert_buf(const struct buf *w, const char *want, size_t wantlen)
{
	assert_false(buf_failed(w));
	assert_int_equal(w->len, wantlen);
	if (wantlen > 0)
		assert_memory_equal(w->data, want, wantlen);
}
#define ASSERT_BUF(w, lit)	assert_buf((w), (lit), sizeof(lit) - 1)

static int
setup_writer(void **state)
{
	static struct buf w;

	buf_init(&w, 65536);
	*state = &w;
	return 0;
}

static int
teardown_writer(void **state)
{
	buf_free(*state);
	return 0;
}

static void
test_escape_specials(void **state)
{
	struct buf *w = *state;

	jsonw_cstr(w, "a\"b\\c\nd\re\tf/");
	ASSERT_BUF(w, "\"a\\\"b\\\\c\\nd\\re\\tf/\"");
}

static void
test_escape_empty(void **state)
{
	struct buf *w = *state;

	jsonw_cstr(w, "");
	ASSERT_BUF(w, "\"\"");
	buf_reset(w);
	jsonw_str(w, "ignored", 0);
	ASSERT_BUF(w, "\"\"");
}

static void
test_escape_c0_and_del(void **state)
{
	struct buf *w = *state;
	char in[2];
	char want[16];
	int c;

	for (c = 0; c < 0x20; c++) {
		buf_reset(w);
		in[0] = (char)c;
		jsonw_str(w, in, 1);
		switch (c) {
		case '\n': strcpy(want, "\"\\n\""); break;
		case '\r': strcpy(want, "\"\\r\""); break;
		case '\t': strcpy(want, "\"\\t\""); break;
		default:
			/* Lower-case hex, as JSON allows either. */
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		}
		assert_buf(w, want, strlen(want));
	}
	buf_reset(w);
	jsonw_cstr(w, "\x7f");
	ASSERT_BUF(w, "\"\\u007f\"");
	buf_reset(w);
	jsonw_cstr(w, "a\x01\x1f" "b");
	ASSERT_BUF(w, "\"a\\u0001\\u001fb\"");
}

static void
test_escape_embedded_nul(void **state)
{
	struct buf *w = *state;

	jsonw_str(w, "a\0b", 3);
	ASSERT_BUF(w, "\"a\\u0000b\"");
	buf_reset(w);
	jsonw_str(w, "\0", 1);
	ASSERT_BUF(w, "\"\\u0000\"");
}

static void
test_utf8_passes_through(void **state)
{
	struct buf *w = *state;

	/* é, 日, U+1F600 and a C1 control (U+0085) are copied as bytes. */
	jsonw_cstr(w, "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xc2\x85");
	ASSERT_BUF(w, "\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xc2\x85\"");
}

static void
test_raw_and_lit(void **state)
{
	struct buf *w = *state;

	jsonw_lit(w, "{");
	buf_add(w, "true}xyz", 5);
	ASSERT_BUF(w, "{true}");
}

static void
test_i64(void **state)
{
	struct buf *w = *state;

	jsonw_i64(w, 0);
	jsonw_lit(w, ",");
	jsonw_i64(w, -1);
	jsonw_lit(w, ",");
	jsonw_i64(w, INT64_MAX);
	jsonw_lit(w, ",");
	jsonw_i64(w, INT64_MIN);
	ASSERT_BUF(w, "0,-1,9223372036854775807,-9223372036854775808");
}

static void
test_points(void **state)
{
	struct buf *w = *state;

	jsonw_points(w, 0);
	jsonw_lit(w, " ");
	jsonw_points(w, 5);
	jsonw_lit(w, " ");
	jsonw_points(w, 1235);
	jsonw_lit(w, " ");
	jsonw_points(w, -5);
	jsonw_lit(w, " ");
	jsonw_points(w, -100);
	jsonw_lit(w, " ");
	jsonw_points(w, INT64_MAX);
	jsonw_lit(w, " ");
	jsonw_points(w, INT64_MIN);
	ASSERT_BUF(w, "0.00 0.05 12.35 -0.05 -1.00 92233720368547758.07 "
	    "-92233720368547758.08");
}

static void
test_key_commas(void **state)
{
	struct buf *w = *state;

	jsonw_lit(w, "{");
	jsonw_key(w, "a");
	jsonw_i64(w, 1);
	jsonw_key(w, "b");
	jsonw_lit(w, "{");
	jsonw_key(w, "c");
	jsonw_cstr(w, "x");
	jsonw_key(w, "d");
	jsonw_lit(w, "true");
	jsonw_lit(w, "}");
	jsonw_key(w, "e\"q");
	jsonw_points(w, 475);
	jsonw_lit(w, "}");
	ASSERT_BUF(w, "{\"a\":1,\"b\":{\"c\":\"x\",\"d\":true},"
	    "\"e\\\"q\":4.75}");
}

/* Array elements: a comma before each but the first, at any depth. */
static void
test_elem_commas(void **state)
{
	struct buf *w = *state;

	jsonw_lit(w, "{\"a\":[");
	jsonw_elem(w);
	jsonw_i64(w, 1);
	jsonw_elem(w);
	jsonw_lit(w, "[");
	jsonw_elem(w);
	jsonw_lit(w, "{}");
	jsonw_elem(w);
	jsonw_cstr(w, "x");
	jsonw_lit(w, "]]}");
	ASSERT_BUF(w, "{\"a\":[1,[{},\"x\"]]}");
}

/* A length known late is patched in; a cut of a sensitive buffer wipes
 * what it takes back. */
static void
test_patch_and_truncate(void **state)
{
	struct buf w;

	(void)state;
	buf_init_sensitive(&w, 64);
	buf_add(&w, "len=??;secret", 13);
	buf_patch(&w, 4, "42", 2);
	assert_memory_equal(buf_data(&w), "len=42;secret", 13);
	buf_truncate(&w, 7);
	assert_int_equal(buf_len(&w), 7);
	assert_memory_equal(buf_data(&w) + 7, "\0\0\0\0\0\0", 6);
	assert_int_equal(buf_last(&w), ';');
	buf_truncate(&w, 20);		/* never longer */
	assert_int_equal(buf_len(&w), 7);
	buf_free(&w);
}

static void
test_key_on_empty_buffer(void **state)
{
	struct buf *w = *state;

	/* No previous byte: no comma (and no read before the data). */
	jsonw_key(w, "k");
	ASSERT_BUF(w, "\"k\":");
}

static void
test_ceiling(void **state)
{
	struct buf w;

	(void)state;
	buf_init(&w, 8);
	jsonw_lit(&w, "12345678");		/* exactly max: fine */
	assert_false(buf_failed(&w));
	assert_int_equal(w.len, 8);
	assert_memory_equal(w.data, "12345678", 8);
	jsonw_lit(&w, "9");			/* one past: failed */
	assert_true(buf_failed(&w));
	assert_int_equal(w.len, 8);
	/* Every later append is a no-op, even one that would fit. */
	buf_reset(&w);
	assert_false(buf_failed(&w));
	assert_int_equal(w.len, 0);
	jsonw_lit(&w, "abc");
	jsonw_lit(&w, "defghij");		/* 10 > 8 */
	assert_true(buf_failed(&w));
	assert_int_equal(w.len, 3);
	jsonw_lit(&w, "d");
	jsonw_cstr(&w, "");
	jsonw_i64(&w, 1);
	jsonw_points(&w, 1);
	jsonw_key(&w, "k");
	buf_add(&w, "", 0);
	assert_true(buf_failed(&w));
	assert_int_equal(w.len, 3);
	assert_memory_equal(w.data, "abc", 3);
	/* Reset clears the failure and keeps working. */
	buf_reset(&w);
	assert_false(buf_failed(&w));
	jsonw_cstr(&w, "ok");
	assert_buf(&w, "\"ok\"", 4);
	assert_true(w.cap <= 8);
	buf_free(&w);
}

static void
test_ceiling_escape_growth(void **state)
{
	struct buf w;

	(void)state;
	/* 3 input bytes, but escaped they need 2 + 3*6 = 20 bytes. */
	buf_init(&w, 19);
	jsonw_str(&w, "\x01\x02\x03", 3);
	assert_true(buf_failed(&w));
	assert_true(w.len <= 19);
	buf_free(&w);

	buf_init(&w, 20);
	jsonw_str(&w, "\x01\x02\x03", 3);
	assert_buf(&w, "\"\\u0001\\u0002\\u0003\"", 20);
	buf_free(&w);
}

static void
test_ceiling_zero(void **state)
{
	struct buf w;

	(void)state;
	buf_init(&w, 0);
	jsonw_lit(&w, "x");
	assert_true(buf_failed(&w));
	assert_int_equal(w.len, 0);
	buf_free(&w);
}

static void
test_grows_to_max(void **state)
{
	struct buf w;
	char chunk[1000];
	size_t i;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	buf_init(&w, 100000);
	for (i = 0; i < 100; i++)
		buf_add(&w, chunk, sizeof(chunk));
	assert_false(buf_failed(&w));
	assert_int_equal(w.len, 100000);
	assert_true(w.cap >= w.len && w.cap <= w.max);
	for (i = 0; i < w.len; i++)
		if (w.data[i] != 'a')
			fail_msg("byte %zu is %d", i, w.data[i]);
	buf_add(&w, "b", 1);
	assert_true(buf_failed(&w));
	assert_int_equal(w.len, 100000);
	buf_free(&w);
	assert_null(w.data);
	assert_int_equal(w.len, 0);
}

static void
test_empty_append_fresh(void **state)
{
	struct buf w;

	(void)state;
	/*
	 * A zero-length append to a writer that has allocated nothing yet
	 * is a no-op; it must not compute NULL + 0 or memcpy() to NULL
	 * (undefined behaviour: UBSan stops here in the sanitize build).
	 * Kept last in the list, since UBSan ends the process.
	 */
	buf_init(&w, 64);
	buf_add(&w, "", 0);
	jsonw_lit(&w, "");
	assert_false(buf_failed(&w));
	assert_int_equal(w.len, 0);
	jsonw_lit(&w, "x");
	assert_buf(&w, "x", 1);
	buf_free(&w);
}

static void
test_fixed_never_grows(void **state)
{
	char storage[16 + 4];
	struct buf w;

	(void)state;
	memset(storage, '#', sizeof(storage));
	buf_init_fixed(&w, storage, 16);
	assert_ptr_equal(w.data, storage);
	jsonw_lit(&w, "0123456789");
	jsonw_cstr(&w, "abc");			/* 10 + 5 = 15 */
	assert_false(buf_failed(&w));
	assert_ptr_equal(w.data, storage);
	jsonw_lit(&w, "XY");			/* 17 > 16 */
	assert_true(buf_failed(&w));
	assert_ptr_equal(w.data, storage);
	assert_int_equal(w.cap, 16);
	assert_int_equal(w.len, 15);
	assert_memory_equal(storage, "0123456789\"abc\"", 15);
	/* Nothing past the caller's storage was touched. */
	assert_memory_equal(storage + 16, "####", 4);
	buf_reset(&w);
	assert_false(buf_failed(&w));
	assert_ptr_equal(w.data, storage);
	jsonw_lit(&w, "0123456789abcdef");	/* exactly 16 */
	assert_false(buf_failed(&w));
	assert_ptr_equal(w.data, storage);
	assert_memory_equal(storage + 16, "####", 4);
	/* No buf_free(): the storage is the caller's. */
}

static void
test_invalid_utf8_replaced(void **state)
{
	struct buf w;

	(void)state;
	buf_init(&w, 256);
	/* A lone high byte, an overlong, a surrogate, then valid text. */
	jsonw_str(&w, "a\xff" "b\xc0\x80" "c\xed\xa0\x80" "\xc3\xa9", 11);
	assert_false(buf_failed(&w));
	assert_int_equal(w.len, strlen("\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffd\xc3\xa9\""));
	assert_memory_equal(w.data,
	    "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffd\xc3\xa9\"", w.len);
	buf_free(&w);
}

/*
 * A sensitive buffer keeps its bytes as it grows (copied, not realloc'd)
 * and wipes them when emptied; it stays sensitive after being freed.
 */
static void
test_sensitive(void **state)
{
	struct buf w;
	char chunk[700], *data;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)('a' + i % 26);
	buf_init_sensitive(&w, 8192);
	for (i = 0; i < 5; i++)			/* 1024 -> 2048 -> 4096 */
		buf_add(&w, chunk, sizeof(chunk));
	assert_false(buf_failed(&w));
	assert_int_equal(w.cap, 4096);
	for (i = 0; i < 5; i++)
		assert_memory_equal(w.data + i * sizeof(chunk), chunk,
		    sizeof(chunk));
	data = w.data;
	buf_reset(&w);
	assert_ptr_equal(w.data, data);
	for (i = 0; i < 5 * sizeof(chunk); i++)
		assert_int_equal(data[i], 0);
	jsonw_lit(&w, "again");
	buf_free(&w);
	assert_null(w.data);
	assert_true(w.sensitive);
	buf_free(&w);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup_writer, \
		    teardown_writer)
	const struct CMUnitTest tests[] = {
		T(test_invalid_utf8_replaced),
		T(test_escape_specials),
		T(test_escape_empty),
		T(test_escape_c0_and_del),
		T(test_escape_embedded_nul),
		T(test_utf8_passes_through),
		T(test_raw_and_lit),
		T(test_i64),
		T(test_points),
		T(test_key_commas),
		T(test_key_on_empty_buffer),
		T(test_elem_commas),
		cmocka_unit_test(test_patch_and_truncate),
		cmocka_unit_test(test_ceiling),
		cmocka_unit_test(test_ceiling_escape_growth),
		cmocka_unit_test(test_ceiling_zero),
		cmocka_unit_test(test_grows_to_max),
		cmocka_unit_test(test_fixed_never_grows),
		cmocka_unit_test(test_sensitive),
		cmocka_unit_test(test_empty_append_fresh),	/* last */
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
