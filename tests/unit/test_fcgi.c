/*
 * test_fcgi.c — the FastCGI responder protocol as bytes (fcgi.c): records
 * split anywhere, name-value pairs with 1- and 4-byte lengths, the wanted
 * parameters, the body cap, refusals and management records in replies,
 * protocol errors, and the framing of a response.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <fastcgi.h>

#include "fcgi.h"
#include "buf.h"
#include "request.h"
#include "fcgi_oracle.h"

#define BODY_MAX	16
#define ID		1		/* the request id most tests use */
#define BIG		(4u * 1024 * 1024)

#define STATUS_NAME(st)	((st) == FCGI_MORE ? "MORE" : \
			    (st) == FCGI_READY ? "READY" : "BROKEN")

struct fixture {
	struct fcgi_stream	s;
	struct buf		in;	/* the bytes a test feeds */
	struct buf		pairs;	/* name-value pairs being built */
	struct buf		out;	/* fcgi_respond's output */
};

/* One record read back from bytes. */
struct rec {
	unsigned		 version, type, id;
	size_t			 clen, plen;
	const unsigned char	*content;
};

static int
setup_stream(void **state)
{
	static struct fixture f;

	fcgi_init(&f.s, BODY_MAX);
	buf_init(&f.in, BIG);
	buf_init(&f.pairs, BIG);
	buf_init(&f.out, BIG);
	*state = &f;
	return 0;
}

static int
teardown_stream(void **state)
{
	struct fixture *f = *state;

	fcgi_free(&f->s);
	buf_free(&f->in);
	buf_free(&f->pairs);
	buf_free(&f->out);
	return 0;
}

/* ---- building FastCGI bytes ---- */

static void
put_head(struct buf *w, unsigned version, unsigned type, unsigned id,
    size_t clen, size_t plen)
{
	unsigned char h[FCGI_HEADER_LEN] = { (unsigned char)version,
	    (unsigned char)type, (unsigned char)(id >> 8), (unsigned char)id,
	    (unsigned char)(clen >> 8), (unsigned char)clen,
	    (unsigned char)plen, 0 };

	assert_true(clen <= FCGI_MAX_LENGTH && plen <= 255);
	buf_add(w, (const char *)h, sizeof(h));
}

/* A record with padding bytes that are not zero, so skipping them shows. */
static void
put_record(struct buf *w, unsigned type, unsigned id, const void *content,
    size_t clen, size_t plen)
{
	char junk[255];

	memset(junk, 0xa5, sizeof(junk));
	put_head(w, FCGI_VERSION_1, type, id, clen, plen);
	buf_add(w, content, clen);
	buf_add(w, junk, plen);
	assert_false(buf_failed(w));
}

static void
put_begin(struct buf *w, unsigned id, unsigned role, unsigned flags)
{
	unsigned char b[8] = { (unsigned char)(role >> 8), (unsigned char)role,
	    (unsigned char)flags, 0, 0, 0, 0, 0 };

	put_record(w, FCGI_BEGIN_REQUEST, id, b, sizeof(b), 0);
}

/* A pair's length: one byte below 128, else four with the high bit set. */
static void
put_len(struct buf *w, size_t len, bool four)
{
	unsigned char l[4] = { (unsigned char)(len >> 24 | 0x80),
	    (unsigned char)(len >> 16), (unsigned char)(len >> 8),
	    (unsigned char)len };

	if (len < 128 && !four) {
		l[0] = (unsigned char)len;
		buf_add(w, (const char *)l, 1);
	} else
		buf_add(w, (const char *)l, 4);
}

static void
put_pair(struct buf *w, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	put_len(w, nlen, false);
	put_len(w, vlen, false);
	buf_add(w, name, nlen);
	buf_add(w, value, vlen);
	assert_false(buf_failed(w));
}

static void
put_cpair(struct buf *w, const char *name, const char *value)
{
	put_pair(w, name, strlen(name), value, strlen(value));
}

/* data as records of at most chunk bytes, then the empty record. */
static void
put_stream(struct buf *w, unsigned type, unsigned id, const char *data,
    size_t len, size_t chunk)
{
	size_t n;

	for (; len > 0; data += n, len -= n) {
		n = len < chunk ? len : chunk;
		put_record(w, type, id, data, n, 0);
	}
	put_record(w, type, id, NULL, 0, 0);
}

/* Every wanted parameter, some unwanted ones and near misses. */
static void
put_usual_pairs(struct buf *w)
{
	put_cpair(w, "SERVER_SOFTWARE", "nginx");
	put_cpair(w, "REQUEST_METHOD", "POST");
	put_cpair(w, "DOCUMENT_URI", "/v1/orders");
	put_cpair(w, "REQUEST_URI", "/v1/orders?x=1");
	put_cpair(w, "QUERY_STRING", "x=1");
	put_cpair(w, "CONTENT_TYPE", "application/json");
	put_cpair(w, "CONTENT_LENGTH", "11");
	put_cpair(w, "HTTP_AUTHORIZATION", "Bearer abc.def");
	put_cpair(w, "HTTP_X_REQUEST_ID", "req-1");
	put_cpair(w, "REQUEST_METHO", "X");		/* a prefix */
	put_cpair(w, "REQUEST_METHODS", "X");		/* longer */
	put_cpair(w, "request_method", "X");		/* case */
	put_cpair(w, "HTTP_HOST", "");
	put_pair(w, "HTTP_X_RAW", 10, "a\0b", 3);	/* unwanted: a NUL is fine */
}

static void
expect_param(const struct fcgi_stream *s, enum fcgi_param p, const char *want)
{
	const char *v = s->values[p];

	if (want == NULL) {
		if (v != NULL)
			fail_msg("param %d: \"%s\", want none", (int)p, v);
		return;
	}
	if (v == NULL)
		fail_msg("param %d: none, want \"%s\"", (int)p, want);
	assert_string_equal(v, want);
	/* NUL-terminated inside values_buf. */
	assert_true(v >= s->values_buf.data &&
	    v + strlen(v) < s->values_buf.data + s->values_buf.len);
}

static void
expect_usual_values(const struct fcgi_stream *s)
{
	expect_param(s, FCGI_P_METHOD, "POST");
	expect_param(s, FCGI_P_DOCUMENT_URI, "/v1/orders");
	expect_param(s, FCGI_P_REQUEST_URI, "/v1/orders?x=1");
	expect_param(s, FCGI_P_QUERY, "x=1");
	expect_param(s, FCGI_P_CONTENT_TYPE, "application/json");
	expect_param(s, FCGI_P_CONTENT_LENGTH, "11");
	expect_param(s, FCGI_P_AUTHORIZATION, "Bearer abc.def");
	expect_param(s, FCGI_P_REQUEST_ID, "req-1");
}

/* BEGIN_REQUEST, the usual PARAMS in two records, STDIN in two records. */
static void
put_request(struct buf *w, struct buf *pairs, unsigned id,
    unsigned flags, const char *body)
{
	buf_reset(pairs);
	put_usual_pairs(pairs);
	put_begin(w, id, FCGI_RESPONDER, flags);
	put_stream(w, FCGI_PARAMS, id, pairs->data, pairs->len,
	    pairs->len / 2 + 1);
	put_stream(w, FCGI_STDIN, id, body, strlen(body), 6);
}

/* ---- feeding ---- */

static enum fcgi_status
feed(struct fixture *f, size_t *used)
{
	return fcgi_feed(&f->s, f->in.data, f->in.len, used);
}

/* The bytes one at a time until the parser says anything but MORE. */
static enum fcgi_status
feed_bytewise(struct fcgi_stream *s, const char *data, size_t len,
    size_t *used)
{
	enum fcgi_status st = FCGI_MORE;
	size_t i, n;

	for (i = 0; i < len && st == FCGI_MORE; i++) {
		st = fcgi_feed(s, data + i, 1, &n);
		if (st != FCGI_BROKEN)
			assert_int_equal(n, 1);
	}
	*used = i;
	return st;
}

static void
expect_status(enum fcgi_status got, enum fcgi_status want)
{
	if (got != want)
		fail_msg("fcgi_feed: %s, want %s", STATUS_NAME(got),
		    STATUS_NAME(want));
}

/* The whole body as fcgi_body gives it, copied out up to size bytes. */
static size_t
read_body(const struct fcgi_stream *s, char *buf, size_t size)
{
	size_t len;
	const char *body = fcgi_body(s, &len);

	if (len > size)
		len = size;
	if (len > 0)
		memcpy(buf, body, len);
	return len;
}

/* ---- reading records back ---- */

/* The record at *off; false if no whole record starts there. */
static bool
get_record(const char *buf, size_t len, size_t *off, struct rec *r)
{
	const unsigned char *h = (const unsigned char *)buf + *off;

	if (len - *off < FCGI_HEADER_LEN)
		return false;
	r->version = h[0];
	r->type = h[1];
	r->id = (unsigned)h[2] << 8 | h[3];
	r->clen = (size_t)h[4] << 8 | h[5];
	r->plen = h[6];
	if (len - *off - FCGI_HEADER_LEN < r->clen + r->plen)
		return false;
	r->content = h + FCGI_HEADER_LEN;
	*off += FCGI_HEADER_LEN + r->clen + r->plen;
	return true;
}

static void
expect_record(const char *buf, size_t len, size_t *off, unsigned type,
    unsigned id, size_t clen, struct rec *r)
{
	if (!get_record(buf, len, off, r))
		fail_msg("no whole record at byte %zu of %zu", *off, len);
	assert_int_equal(r->version, FCGI_VERSION_1);
	assert_int_equal(r->type, type);
	assert_int_equal(r->id, id);
	assert_int_equal(r->clen, clen);
}

static void
expect_end_request(const char *buf, size_t len, size_t *off, unsigned id,
    unsigned protocol_status)
{
	static const unsigned char zero[3];
	struct rec r;

	expect_record(buf, len, off, FCGI_END_REQUEST, id, 8, &r);
	/* appStatus 0, then protocolStatus, then three reserved bytes. */
	assert_memory_equal(r.content, "\0\0\0\0", 4);
	assert_int_equal(r.content[4], protocol_status);
	assert_memory_equal(r.content + 5, zero, 3);
}

/* replies holds exactly one END_REQUEST. */
static void
expect_replies_end_request(const struct fcgi_stream *s, unsigned id,
    unsigned protocol_status)
{
	size_t off = 0;

	expect_end_request(s->replies.data, s->replies.len, &off, id,
	    protocol_status);
	assert_int_equal(off, s->replies.len);
}

static void
expect_pair(const unsigned char **p, const unsigned char *end,
    const char *name, const char *value)
{
	size_t nlen = 0, vlen = 0;

	if (!oracle_pair_length(p, end, &nlen) ||
	    !oracle_pair_length(p, end, &vlen) ||
	    nlen + vlen > (size_t)(end - *p))
		fail_msg("no pair where %s was expected", name);
	if (nlen != strlen(name) || memcmp(*p, name, nlen) != 0)
		fail_msg("pair \"%.*s\", want %s", (int)nlen,
		    (const char *)*p, name);
	if (vlen != strlen(value) || memcmp(*p + nlen, value, vlen) != 0)
		fail_msg("%s = \"%.*s\", want \"%s\"", name, (int)vlen,
		    (const char *)*p + nlen, value);
	*p += nlen + vlen;
}

/*
 * The oracle itself, on lengths written out byte by byte from the FastCGI
 * 1.0 specification (section 3.4), so that neither it nor fcgi.c is the
 * other's only check.
 */
static void
test_oracle_follows_spec(void **state)
{
	static const struct {
		unsigned char	bytes[5];
		size_t		n;	/* bytes given */
		bool		ok;
		size_t		len;
		size_t		used;
	} c[] = {
		{ { 0x00 }, 1, true, 0, 1 },
		{ { 0x7f, 0xee }, 2, true, 127, 1 },
		{ { 0x80, 0x00, 0x00, 0x80 }, 4, true, 128, 4 },
		{ { 0x80, 0x00, 0x00, 0x05 }, 4, true, 5, 4 },
		{ { 0x81, 0x02, 0x03, 0x04, 0xee }, 5, true, 0x01020304, 4 },
		{ { 0xff, 0xff, 0xff, 0xff }, 4, true, 0x7fffffff, 4 },
		{ { 0x80, 0x00, 0x01 }, 3, false, 0, 0 },
		{ { 0x00 }, 0, false, 0, 0 },
	};
	const unsigned char *p;
	size_t i, len;
	bool ok;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		p = c[i].bytes;
		len = 0;
		ok = oracle_pair_length(&p, c[i].bytes + c[i].n, &len);
		if (ok != c[i].ok || (ok && (len != c[i].len ||
		    (size_t)(p - c[i].bytes) != c[i].used)))
			fail_msg("case #%zu: ok %d, length %zu, %td bytes", i,
			    ok, len, p - c[i].bytes);
	}
}

/*
 * out holds head + body as STDOUT records of at most FCGI_MAX_LENGTH bytes
 * for request id, the empty STDOUT record and END_REQUEST, nothing else.
 */
static void
expect_response(const struct buf *out, unsigned id, const char *head,
    size_t head_len, const char *body, size_t body_len)
{
	struct rec r;
	size_t off = 0, got = 0, records = 0, i;
	char want;

	assert_false(buf_failed(out));
	for (;;) {
		if (!get_record(out->data, out->len, &off, &r))
			fail_msg("no whole record at byte %zu", off);
		assert_int_equal(r.version, FCGI_VERSION_1);
		assert_int_equal(r.type, FCGI_STDOUT);
		assert_int_equal(r.id, id);
		assert_true(r.clen <= FCGI_MAX_LENGTH);
		if (r.clen == 0)
			break;
		records++;
		if (got + r.clen > head_len + body_len)
			fail_msg("STDOUT carries more than head and body");
		/* Compare what falls in the head, then in the body. */
		for (i = 0; i < r.clen; i++, got++) {
			want = got < head_len ? head[got] : body[got - head_len];
			if ((char)r.content[i] != want)
				fail_msg("STDOUT byte %zu differs", got);
		}
	}
	assert_int_equal(got, head_len + body_len);
	/* As few records as the length limit allows. */
	assert_int_equal(records, (head_len + body_len + FCGI_MAX_LENGTH - 1) /
	    FCGI_MAX_LENGTH);
	expect_end_request(out->data, out->len, &off, id,
	    FCGI_REQUEST_COMPLETE);
	assert_int_equal(off, out->len);
}

/* ---- a whole request ---- */

static void
test_request_one_chunk(void **state)
{
	struct fixture *f = *state;
	char body[64];
	size_t used;

	put_request(&f->in, &f->pairs, ID, FCGI_KEEP_CONN, "{\"a\":12345}");
	expect_status(feed(f, &used), FCGI_READY);
	assert_int_equal(used, f->in.len);
	assert_int_equal(f->s.request_id, ID);
	expect_usual_values(&f->s);
	assert_int_equal(f->s.stdin_total, 11);
	assert_int_equal(read_body(&f->s, body, sizeof(body)), 11);
	assert_memory_equal(body, "{\"a\":12345}", 11);
	assert_true(fcgi_keep_conn(&f->s));
	assert_int_equal(f->s.replies.len, 0);
}

static void
test_request_byte_at_a_time(void **state)
{
	struct fixture *f = *state;
	char body[64];
	size_t used;

	put_request(&f->in, &f->pairs, 0x1234, 0, "{\"a\":12345}");
	expect_status(feed_bytewise(&f->s, f->in.data, f->in.len, &used),
	    FCGI_READY);
	/* READY on the very last byte. */
	assert_int_equal(used, f->in.len);
	assert_int_equal(f->s.request_id, 0x1234);
	expect_usual_values(&f->s);
	assert_int_equal(f->s.stdin_total, 11);
	assert_int_equal(read_body(&f->s, body, sizeof(body)), 11);
	assert_memory_equal(body, "{\"a\":12345}", 11);
	assert_false(fcgi_keep_conn(&f->s));
}

/* Every split point of a whole request into two feeds gives the same. */
static void
test_request_any_split(void **state)
{
	struct fixture *f = *state;
	size_t cut, used;

	put_request(&f->in, &f->pairs, ID, FCGI_KEEP_CONN, "hello");
	for (cut = 0; cut <= f->in.len; cut++) {
		fcgi_free(&f->s);
		fcgi_init(&f->s, BODY_MAX);
		expect_status(fcgi_feed(&f->s, f->in.data, cut, &used),
		    cut == f->in.len ? FCGI_READY : FCGI_MORE);
		assert_int_equal(used, cut);
		if (cut < f->in.len) {
			expect_status(fcgi_feed(&f->s, f->in.data + cut,
			    f->in.len - cut, &used), FCGI_READY);
			assert_int_equal(used, f->in.len - cut);
		}
		expect_usual_values(&f->s);
		assert_int_equal(f->s.stdin_total, 5);
	}
}

static void
test_keep_conn_follows_begin_request(void **state)
{
	struct fixture *f = *state;
	size_t used;

	put_request(&f->in, &f->pairs, ID, 0, "");
	expect_status(feed(f, &used), FCGI_READY);
	assert_false(fcgi_keep_conn(&f->s));
	assert_true(fcgi_respond(&f->s, &f->out, "H", 1, "", 0));

	buf_reset(&f->in);
	put_request(&f->in, &f->pairs, ID, FCGI_KEEP_CONN, "");
	expect_status(feed(f, &used), FCGI_READY);
	assert_true(fcgi_keep_conn(&f->s));
	assert_true(fcgi_respond(&f->s, &f->out, "H", 1, "", 0));

	/* Other flag bits do not count. */
	buf_reset(&f->in);
	put_request(&f->in, &f->pairs, ID, 0xfe, "");
	expect_status(feed(f, &used), FCGI_READY);
	assert_false(fcgi_keep_conn(&f->s));
}

/* No pairs at all, no body: every value absent, body empty. */
static void
test_request_without_params_or_body(void **state)
{
	struct fixture *f = *state;
	char body[4];
	size_t used;
	int i;

	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_record(&f->in, FCGI_PARAMS, ID, NULL, 0, 0);
	put_record(&f->in, FCGI_STDIN, ID, NULL, 0, 0);
	expect_status(feed(f, &used), FCGI_READY);
	assert_int_equal(used, f->in.len);
	for (i = 0; i < FCGI_P__COUNT; i++)
		expect_param(&f->s, (enum fcgi_param)i, NULL);
	assert_int_equal(f->s.stdin_total, 0);
	assert_int_equal(read_body(&f->s, body, sizeof(body)), 0);
}

static void
test_empty_values_kept(void **state)
{
	struct fixture *f = *state;
	size_t used;

	put_cpair(&f->pairs, "QUERY_STRING", "");
	put_cpair(&f->pairs, "REQUEST_METHOD", "GET");
	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_stream(&f->in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len, 100);
	put_stream(&f->in, FCGI_STDIN, ID, NULL, 0, 100);
	expect_status(feed(f, &used), FCGI_READY);
	expect_param(&f->s, FCGI_P_QUERY, "");
	expect_param(&f->s, FCGI_P_METHOD, "GET");
	expect_param(&f->s, FCGI_P_DOCUMENT_URI, NULL);
}

/* ---- name-value pairs ---- */

static void
test_long_name_and_value(void **state)
{
	struct fixture *f = *state;
	static char name[300], value[70000];
	size_t used;

	memset(name, 'N', sizeof(name));
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	/* A 300-byte unwanted name, then a wanted one with a long value. */
	put_pair(&f->pairs, name, sizeof(name), "x", 1);
	put_pair(&f->pairs, "QUERY_STRING", 12, value, sizeof(value) - 1);
	/* A short name and value written with 4-byte lengths anyway. */
	put_len(&f->pairs, 14, true);
	put_len(&f->pairs, 3, true);
	buf_add(&f->pairs, "REQUEST_METHODGET", 17);
	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_stream(&f->in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len,
	    FCGI_MAX_LENGTH);
	put_stream(&f->in, FCGI_STDIN, ID, NULL, 0, 1);
	expect_status(feed(f, &used), FCGI_READY);
	expect_param(&f->s, FCGI_P_QUERY, value);
	expect_param(&f->s, FCGI_P_METHOD, "GET");
}

static void
test_pair_split_across_records(void **state)
{
	struct fixture *f = *state;
	size_t used, cut;

	put_cpair(&f->pairs, "HTTP_X_REQUEST_ID", "abc-123");
	put_cpair(&f->pairs, "DOCUMENT_URI", "/healthz");
	/* Every cut: inside the lengths, the name or the value. */
	for (cut = 1; cut < f->pairs.len; cut++) {
		fcgi_free(&f->s);
		fcgi_init(&f->s, BODY_MAX);
		buf_reset(&f->in);
		put_begin(&f->in, ID, FCGI_RESPONDER, 0);
		put_record(&f->in, FCGI_PARAMS, ID, f->pairs.data, cut, 0);
		put_record(&f->in, FCGI_PARAMS, ID, f->pairs.data + cut,
		    f->pairs.len - cut, 3);
		put_record(&f->in, FCGI_PARAMS, ID, NULL, 0, 0);
		put_record(&f->in, FCGI_STDIN, ID, NULL, 0, 0);
		expect_status(feed(f, &used), FCGI_READY);
		expect_param(&f->s, FCGI_P_REQUEST_ID, "abc-123");
		expect_param(&f->s, FCGI_P_DOCUMENT_URI, "/healthz");
	}
}

/* Padding after every kind of record, also on empty ones. */
static void
test_padding_skipped(void **state)
{
	struct fixture *f = *state;
	unsigned char begin[8] = { 0, FCGI_RESPONDER, FCGI_KEEP_CONN };
	char body[8];
	size_t used;

	put_cpair(&f->pairs, "REQUEST_METHOD", "PUT");
	put_record(&f->in, FCGI_BEGIN_REQUEST, ID, begin, 8, 255);
	put_record(&f->in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len, 7);
	put_record(&f->in, FCGI_PARAMS, ID, NULL, 0, 1);
	put_record(&f->in, FCGI_STDIN, ID, "abc", 3, 5);
	put_record(&f->in, FCGI_STDIN, ID, NULL, 0, 8);
	/* READY only once the last padding byte is in. */
	expect_status(fcgi_feed(&f->s, f->in.data, f->in.len - 1, &used),
	    FCGI_MORE);
	assert_int_equal(used, f->in.len - 1);
	expect_status(fcgi_feed(&f->s, f->in.data + used, 1, &used),
	    FCGI_READY);
	assert_int_equal(used, 1);
	expect_param(&f->s, FCGI_P_METHOD, "PUT");
	assert_true(fcgi_keep_conn(&f->s));
	assert_int_equal(read_body(&f->s, body, sizeof(body)), 3);
	assert_memory_equal(body, "abc", 3);
}

static void
test_duplicate_param_first_wins(void **state)
{
	struct fixture *f = *state;
	size_t used;

	put_cpair(&f->pairs, "REQUEST_METHOD", "GET");
	put_cpair(&f->pairs, "CONTENT_LENGTH", "5");
	put_cpair(&f->pairs, "REQUEST_METHOD", "DELETE");
	put_cpair(&f->pairs, "CONTENT_LENGTH", "99999");
	/* A later duplicate is not looked at, even with a NUL. */
	put_pair(&f->pairs, "REQUEST_METHOD", 14, "P\0ST", 4);
	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_stream(&f->in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len, 100);
	put_stream(&f->in, FCGI_STDIN, ID, NULL, 0, 1);
	expect_status(feed(f, &used), FCGI_READY);
	expect_param(&f->s, FCGI_P_METHOD, "GET");
	expect_param(&f->s, FCGI_P_CONTENT_LENGTH, "5");
}

static void
test_nul_in_wanted_value_broken(void **state)
{
	struct fixture *f = *state;
	size_t used;

	put_pair(&f->pairs, "HTTP_AUTHORIZATION", 18, "Bearer a\0.b", 11);
	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_stream(&f->in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len, 100);
	put_stream(&f->in, FCGI_STDIN, ID, NULL, 0, 1);
	expect_status(feed(f, &used), FCGI_BROKEN);
}

static void
test_nul_at_end_of_wanted_value_broken(void **state)
{
	struct fixture *f = *state;
	size_t used;

	put_pair(&f->pairs, "REQUEST_METHOD", 14, "GET\0", 4);
	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_stream(&f->in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len, 100);
	expect_status(feed(f, &used), FCGI_BROKEN);
}

/* Pairs that end before their lengths say: the request is refused. */
static void
test_pair_lengths_past_end_broken(void **state)
{
	static const char *const bad[] = {
		"\x0e\x04REQUEST_METHODGET",		/* value one short */
		"\x0f\x03REQUEST_METHODGET",		/* name past the end */
		"\x0e",					/* no value length */
		"\x0e\x80\x00\x00",			/* 4-byte length cut */
		"\x80\x00\x00",				/* 4-byte length cut */
		"\xff\xff\xff\xff\x00",			/* 2^31 - 1 */
		"\x01\x01" "ab" "\x01",		/* a trailing byte */
		/* 2^24 + 14, 2^16 + 14: a decoder that drops B3 or B2 sees 14 */
		"\x81\x00\x00\x0e\x03REQUEST_METHODGET",
		"\x80\x01\x00\x0e\x03REQUEST_METHODGET",
	};
	static const size_t len[] = { 19, 19, 1, 4, 3, 5, 5, 22, 22 };
	struct fixture *f = *state;
	size_t i, used;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fcgi_free(&f->s);
		fcgi_init(&f->s, BODY_MAX);
		buf_reset(&f->in);
		put_begin(&f->in, ID, FCGI_RESPONDER, 0);
		put_stream(&f->in, FCGI_PARAMS, ID, bad[i], len[i], 100);
		put_stream(&f->in, FCGI_STDIN, ID, NULL, 0, 1);
		if (feed(f, &used) != FCGI_BROKEN)
			fail_msg("pairs #%zu were taken", i);
	}
}

/* All pairs together: FCGI_PARAMS_MAX bytes are taken, one more is not. */
static void
test_params_limit(void **state)
{
	struct fixture *f = *state;
	static char value[FCGI_PARAMS_MAX];
	size_t used, vlen;
	int over;

	memset(value, 'q', sizeof(value));
	for (over = 0; over <= 1; over++) {
		fcgi_free(&f->s);
		fcgi_init(&f->s, BODY_MAX);
		buf_reset(&f->in);
		buf_reset(&f->pairs);
		/* 1 + 4 length bytes, then "X". */
		vlen = FCGI_PARAMS_MAX - 6 + (size_t)over;
		put_pair(&f->pairs, "X", 1, value, vlen);
		assert_int_equal(f->pairs.len, FCGI_PARAMS_MAX + (size_t)over);
		put_begin(&f->in, ID, FCGI_RESPONDER, 0);
		put_stream(&f->in, FCGI_PARAMS, ID, f->pairs.data,
		    f->pairs.len, FCGI_MAX_LENGTH);
		put_stream(&f->in, FCGI_STDIN, ID, NULL, 0, 1);
		expect_status(feed(f, &used), over ? FCGI_BROKEN : FCGI_READY);
	}
}

/* ---- the body ---- */

static void
test_body_over_max(void **state)
{
	struct fixture *f = *state;
	char sent[40], got[64];
	size_t used, i;

	for (i = 0; i < sizeof(sent); i++)
		sent[i] = (char)('a' + i % 26);
	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_record(&f->in, FCGI_PARAMS, ID, NULL, 0, 0);
	put_record(&f->in, FCGI_STDIN, ID, sent, 10, 0);
	put_record(&f->in, FCGI_STDIN, ID, sent + 10, 20, 2);
	put_record(&f->in, FCGI_STDIN, ID, sent + 30, 10, 0);
	put_record(&f->in, FCGI_STDIN, ID, NULL, 0, 0);
	expect_status(feed(f, &used), FCGI_READY);
	/* body_max + 1 kept (to tell "over"), every byte counted. */
	assert_int_equal(f->s.stdin_total, sizeof(sent));
	assert_int_equal(read_body(&f->s, got, sizeof(got)), BODY_MAX + 1);
	assert_memory_equal(got, sent, BODY_MAX + 1);
}

static void
test_body_exactly_max(void **state)
{
	struct fixture *f = *state;
	char got[64];
	size_t used;

	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_record(&f->in, FCGI_PARAMS, ID, NULL, 0, 0);
	put_stream(&f->in, FCGI_STDIN, ID, "0123456789abcdef", BODY_MAX, 7);
	expect_status(feed(f, &used), FCGI_READY);
	assert_int_equal(f->s.stdin_total, BODY_MAX);
	assert_int_equal(read_body(&f->s, got, sizeof(got)), BODY_MAX);
	assert_memory_equal(got, "0123456789abcdef", BODY_MAX);
}

static void
test_body_offsets(void **state)
{
	struct fixture *f = *state;
	const char *got;
	size_t used, len;

	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_record(&f->in, FCGI_PARAMS, ID, NULL, 0, 0);
	put_stream(&f->in, FCGI_STDIN, ID, "0123456789", 10, 100);
	expect_status(feed(f, &used), FCGI_READY);
	/* Split over STDIN records, the body comes back whole, in order,
	 * and no byte past it. */
	got = fcgi_body(&f->s, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(got, "0123456789", 10);
}

/* STDIN before the params are done is not body. */
static void
test_stdin_before_params_done_ignored(void **state)
{
	struct fixture *f = *state;
	char got[8];
	size_t used;

	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_record(&f->in, FCGI_STDIN, ID, "early", 5, 0);
	put_record(&f->in, FCGI_STDIN, ID, NULL, 0, 0);
	put_record(&f->in, FCGI_PARAMS, ID, NULL, 0, 0);
	put_stream(&f->in, FCGI_STDIN, ID, "ok", 2, 100);
	expect_status(feed(f, &used), FCGI_READY);
	assert_int_equal(used, f->in.len);
	assert_int_equal(f->s.stdin_total, 2);
	assert_int_equal(read_body(&f->s, got, sizeof(got)), 2);
	assert_memory_equal(got, "ok", 2);
}

/* ---- protocol errors ---- */

static void
test_bad_version_broken(void **state)
{
	struct fixture *f = *state;
	static const unsigned versions[] = { 0, 2, 255 };
	size_t i, used;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		fcgi_free(&f->s);
		fcgi_init(&f->s, BODY_MAX);
		buf_reset(&f->in);
		put_head(&f->in, versions[i], FCGI_BEGIN_REQUEST, ID, 8, 0);
		buf_add(&f->in, "\0\1\0\0\0\0\0\0", 8);
		expect_status(feed(f, &used), FCGI_BROKEN);
	}
	/* Also in the middle of a request. */
	fcgi_free(&f->s);
	fcgi_init(&f->s, BODY_MAX);
	buf_reset(&f->in);
	put_begin(&f->in, ID, FCGI_RESPONDER, 0);
	put_head(&f->in, 0, FCGI_PARAMS, ID, 0, 0);
	expect_status(feed(f, &used), FCGI_BROKEN);
}

static void
test_begin_request_length_broken(void **state)
{
	struct fixture *f = *state;
	static const char nine[9] = { 0, FCGI_RESPONDER };
	static const size_t lens[] = { 0, 7, 9 };
	size_t i, used;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		fcgi_free(&f->s);
		fcgi_init(&f->s, BODY_MAX);
		buf_reset(&f->in);
		put_record(&f->in, FCGI_BEGIN_REQUEST, ID, nine, lens[i], 0);
		put_record(&f->in, FCGI_PARAMS, ID, NULL, 0, 0);
		put_record(&f->in, FCGI_STDIN, ID, NULL, 0, 0);
		if (feed(f, &used) != FCGI_BROKEN)
			fail_msg("a BEGIN_REQUEST body of %zu bytes taken",
			    lens[i]);
	}
}

static void
test_begin_request_id_zero_broken(void **state)
{
	struct fixture *f = *state;
	size_t used;

	put_begin(&f->in, 0, FCGI_RESPONDER, FCGI_KEEP_CONN);
	put_record(&f->in, FCGI_PARAMS, 0, NULL, 0, 0);
	put_record(&f->in, FCGI_STDIN, 0, NULL, 0, 0);
	expect_status(feed(f, &used), FCGI_BROKEN);
}

/* ---- refusals and management records ---- */

static void
test_second_begin_request_refused(void **state)
{
	struct fixture *f = *state;
	struct buf *in = &f->in;
	char body[8];
	size_t used;

	put_usual_pairs(&f->pairs);
	put_begin(in, ID, FCGI_RESPONDER, FCGI_KEEP_CONN);
	put_record(in, FCGI_PARAMS, ID, f->pairs.data, 20, 0);
	put_begin(in, 2, FCGI_RESPONDER, 0);
	put_record(in, FCGI_PARAMS, 2, "\x0e\x03REQUEST_METHODGET", 19, 0);
	put_record(in, FCGI_PARAMS, 2, NULL, 0, 0);
	put_record(in, FCGI_STDIN, 2, "other", 5, 0);
	put_record(in, FCGI_STDIN, 2, NULL, 0, 0);
	put_record(in, FCGI_PARAMS, ID, f->pairs.data + 20,
	    f->pairs.len - 20, 0);
	put_record(in, FCGI_PARAMS, ID, NULL, 0, 0);
	put_stream(in, FCGI_STDIN, ID, "mine", 4, 100);
	expect_status(feed(f, &used), FCGI_READY);
	assert_int_equal(used, in->len);
	expect_replies_end_request(&f->s, 2, FCGI_CANT_MPX_CONN);
	/* The open request is untouched. */
	assert_int_equal(f->s.request_id, ID);
	assert_true(fcgi_keep_conn(&f->s));
	expect_usual_values(&f->s);
	assert_int_equal(read_body(&f->s, body, sizeof(body)), 4);
	assert_memory_equal(body, "mine", 4);
}

static void
test_unknown_role_refused(void **state)
{
	struct fixture *f = *state;
	static const unsigned roles[] = { FCGI_AUTHORIZER, FCGI_FILTER, 0,
	    0x0101, 0xffff };
	size_t i, used;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		buf_reset(&f->in);
		buf_reset(&f->s.replies);
		put_begin(&f->in, 3, roles[i], FCGI_KEEP_CONN);
		put_record(&f->in, FCGI_PARAMS, 3, NULL, 0, 0);
		put_record(&f->in, FCGI_STDIN, 3, NULL, 0, 0);
		expect_status(feed(f, &used), FCGI_MORE);
		assert_int_equal(used, f->in.len);
		expect_replies_end_request(&f->s, 3, FCGI_UNKNOWN_ROLE);
		assert_int_equal(f->s.request_id, 0);
	}
	/* A responder request still works afterwards. */
	buf_reset(&f->in);
	buf_reset(&f->s.replies);
	put_request(&f->in, &f->pairs, 4, 0, "");
	expect_status(feed(f, &used), FCGI_READY);
	assert_int_equal(f->s.request_id, 4);
	assert_int_equal(f->s.replies.len, 0);
}

static void
test_get_values(void **state)
{
	struct fixture *f = *state;
	const unsigned char *p, *end;
	struct rec r;
	size_t used, off = 0;

	put_cpair(&f->pairs, FCGI_MAX_CONNS, "");
	put_cpair(&f->pairs, "FCGI_UNKNOWN_VARIABLE", "");
	put_cpair(&f->pairs, FCGI_MAX_REQS, "");
	put_cpair(&f->pairs, FCGI_MPXS_CONNS, "1");	/* a value is ignored */
	put_record(&f->in, FCGI_GET_VALUES, 0, f->pairs.data, f->pairs.len, 3);
	expect_status(feed(f, &used), FCGI_MORE);
	assert_int_equal(used, f->in.len);

	expect_record(f->s.replies.data, f->s.replies.len, &off,
	    FCGI_GET_VALUES_RESULT, 0, 2 + 14 + 4 + 2 + 13 + 4 + 2 + 15 + 1, &r);
	assert_int_equal(off, f->s.replies.len);
	p = r.content;
	end = p + r.clen;
	expect_pair(&p, end, FCGI_MAX_CONNS, "1024");
	expect_pair(&p, end, FCGI_MAX_REQS, "1024");
	expect_pair(&p, end, FCGI_MPXS_CONNS, "0");
	assert_ptr_equal(p, end);
	assert_int_equal(f->s.request_id, 0);
}

static void
test_get_values_empty_and_unknown_only(void **state)
{
	struct fixture *f = *state;
	struct rec r;
	size_t used, off = 0;

	put_record(&f->in, FCGI_GET_VALUES, 0, NULL, 0, 0);
	put_record(&f->in, FCGI_GET_VALUES, 0, "\x03\x00XYZ", 5, 0);
	expect_status(feed(f, &used), FCGI_MORE);
	expect_record(f->s.replies.data, f->s.replies.len, &off,
	    FCGI_GET_VALUES_RESULT, 0, 0, &r);
	expect_record(f->s.replies.data, f->s.replies.len, &off,
	    FCGI_GET_VALUES_RESULT, 0, 0, &r);
	assert_int_equal(off, f->s.replies.len);
}

/* GET_VALUES for a request id is no management record: no answer. */
static void
test_get_values_with_request_id_ignored(void **state)
{
	struct fixture *f = *state;
	size_t used;

	put_cpair(&f->pairs, FCGI_MPXS_CONNS, "");
	put_record(&f->in, FCGI_GET_VALUES, 5, f->pairs.data, f->pairs.len, 0);
	expect_status(feed(f, &used), FCGI_MORE);
	assert_int_equal(f->s.replies.len, 0);
}

/*
 * A malformed GET_VALUES closes the connection, and replies keeps only
 * whole records (server.c sends them before it closes).
 */
static void
test_get_values_malformed_no_partial_reply(void **state)
{
	struct fixture *f = *state;
	size_t used, off = 0;

	put_begin(&f->in, 9, FCGI_AUTHORIZER, 0);	/* a whole reply */
	put_cpair(&f->pairs, FCGI_MPXS_CONNS, "");
	buf_add(&f->pairs, "\x05\x09" "abc", 5);	/* past the end */
	put_record(&f->in, FCGI_GET_VALUES, 0, f->pairs.data, f->pairs.len, 0);
	expect_status(feed(f, &used), FCGI_BROKEN);
	expect_end_request(f->s.replies.data, f->s.replies.len, &off, 9,
	    FCGI_UNKNOWN_ROLE);
	assert_int_equal(off, f->s.replies.len);
}

/*
 * Refusals in one chunk until replies is full (1 KiB, FCGI_MGMT_MAX in
 * fcgi.c; 198 refusals are 3168 bytes): the connection is closed, and what
 * replies holds is still whole records.
 */
static void
test_replies_overflow_whole_records(void **state)
{
	struct fixture *f = *state;
	struct rec r;
	size_t used, off, records, k, j;
	unsigned id;

	/*
	 * A GET_VALUES_RESULT of 8 + 18j (+ 19) bytes first shifts the
	 * 16-byte refusals: k = 0..15 covers every place replies can fill.
	 */
	for (k = 0; k < 16; k++) {
		fcgi_free(&f->s);
		fcgi_init(&f->s, BODY_MAX);
		buf_reset(&f->in);
		buf_reset(&f->pairs);
		for (j = 0; j < k / 2; j++)
			put_cpair(&f->pairs, FCGI_MPXS_CONNS, "");
		if (k % 2)
			put_cpair(&f->pairs, FCGI_MAX_REQS, "");
		put_record(&f->in, FCGI_GET_VALUES, 0, f->pairs.data,
		    f->pairs.len, 0);
		put_begin(&f->in, ID, FCGI_RESPONDER, 0);
		for (id = 2; id < 200; id++)
			put_begin(&f->in, id, FCGI_RESPONDER, 0);
		expect_status(feed(f, &used), FCGI_BROKEN);
		off = 0;
		records = 0;
		while (off < f->s.replies.len) {
			if (!get_record(f->s.replies.data, f->s.replies.len,
			    &off, &r))
				fail_msg("k %zu: a cut record at %zu of %zu", k,
				    off, f->s.replies.len);
			records++;
		}
		assert_true(records > 50);
	}
}

static void
test_unknown_management_type(void **state)
{
	struct fixture *f = *state;
	static const unsigned char want[8] = { 0x20 };
	static const unsigned char want_ff[8] = { 0xff };
	struct rec r;
	size_t used, off = 0;

	put_record(&f->in, 0x20, 0, "abc", 3, 5);
	put_record(&f->in, 0xff, 0, NULL, 0, 0);
	/* An unknown type for a request id gets no answer. */
	put_record(&f->in, 0x20, 7, "abc", 3, 0);
	expect_status(feed(f, &used), FCGI_MORE);
	assert_int_equal(used, f->in.len);
	expect_record(f->s.replies.data, f->s.replies.len, &off,
	    FCGI_UNKNOWN_TYPE, 0, 8, &r);
	assert_memory_equal(r.content, want, 8);
	expect_record(f->s.replies.data, f->s.replies.len, &off,
	    FCGI_UNKNOWN_TYPE, 0, 8, &r);
	assert_memory_equal(r.content, want_ff, 8);
	assert_int_equal(off, f->s.replies.len);
}

static void
test_abort_request(void **state)
{
	struct fixture *f = *state;
	struct buf *in = &f->in;
	size_t used;

	put_usual_pairs(&f->pairs);
	put_begin(in, ID, FCGI_RESPONDER, FCGI_KEEP_CONN);
	put_record(in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len, 0);
	put_record(in, FCGI_ABORT_REQUEST, 7, NULL, 0, 0);	/* not open */
	put_record(in, FCGI_ABORT_REQUEST, ID, NULL, 0, 0);
	/* The rest of the aborted request is for no open request. */
	put_record(in, FCGI_PARAMS, ID, NULL, 0, 0);
	put_record(in, FCGI_STDIN, ID, NULL, 0, 0);
	expect_status(feed(f, &used), FCGI_MORE);
	assert_int_equal(used, in->len);
	expect_replies_end_request(&f->s, ID, FCGI_REQUEST_COMPLETE);
	assert_int_equal(f->s.request_id, 0);

	/* A new request (the same id again) starts from nothing. */
	buf_reset(in);
	buf_reset(&f->s.replies);
	buf_reset(&f->pairs);
	put_cpair(&f->pairs, "REQUEST_METHOD", "GET");
	put_begin(in, ID, FCGI_RESPONDER, 0);
	put_stream(in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len, 100);
	put_stream(in, FCGI_STDIN, ID, NULL, 0, 100);
	expect_status(feed(f, &used), FCGI_READY);
	expect_param(&f->s, FCGI_P_METHOD, "GET");
	expect_param(&f->s, FCGI_P_QUERY, NULL);
	assert_int_equal(f->s.replies.len, 0);
}

/* Records for an id that is not open, 0 among them, change nothing. */
static void
test_records_for_other_ids_ignored(void **state)
{
	struct fixture *f = *state;
	struct buf *in = &f->in;
	static const unsigned ids[] = { 0, 7, ID };
	size_t i, used;

	put_cpair(&f->pairs, "REQUEST_METHOD", "PATCH");
	/* No request open: nothing is one. */
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		put_stream(in, FCGI_PARAMS, ids[i], f->pairs.data,
		    f->pairs.len, 100);
		put_stream(in, FCGI_STDIN, ids[i], "x", 1, 100);
		put_record(in, FCGI_DATA, ids[i], "d", 1, 0);
		put_record(in, FCGI_STDOUT, ids[i], "o", 1, 0);
		put_record(in, FCGI_END_REQUEST, ids[i], "\0\0\0\0\0\0\0\0",
		    8, 0);
	}
	expect_status(feed(f, &used), FCGI_MORE);
	assert_int_equal(used, in->len);
	assert_int_equal(f->s.request_id, 0);
	assert_int_equal(f->s.replies.len, 0);

	/* With request 1 open, records for 0 and 7 are not its. */
	buf_reset(in);
	put_begin(in, ID, FCGI_RESPONDER, 0);
	for (i = 0; i < 2; i++) {
		put_stream(in, FCGI_PARAMS, ids[i], f->pairs.data,
		    f->pairs.len, 100);
		put_stream(in, FCGI_STDIN, ids[i], "x", 1, 100);
	}
	expect_status(feed(f, &used), FCGI_MORE);
	assert_int_equal(used, in->len);
	buf_reset(in);
	put_request(in, &f->pairs, ID, 0, "body");
	/* Without its BEGIN_REQUEST, already sent. */
	expect_status(fcgi_feed(&f->s, in->data + 16, in->len - 16, &used),
	    FCGI_READY);
	expect_usual_values(&f->s);
	assert_int_equal(f->s.stdin_total, 4);
	assert_int_equal(f->s.replies.len, 0);
}

/* ---- the end of a request ---- */

static void
test_bytes_after_ready_broken(void **state)
{
	struct fixture *f = *state;
	size_t used;

	put_request(&f->in, &f->pairs, ID, FCGI_KEEP_CONN, "x");
	expect_status(feed(f, &used), FCGI_READY);
	/* Before the answer nothing may come, not even a management record. */
	buf_reset(&f->in);
	put_record(&f->in, FCGI_GET_VALUES, 0, NULL, 0, 0);
	expect_status(feed(f, &used), FCGI_BROKEN);
	expect_status(fcgi_feed(&f->s, "\1", 1, &used), FCGI_BROKEN);
}

/* Bytes past the request in the same chunk are left for later. */
static void
test_used_stops_at_end_of_request(void **state)
{
	struct fixture *f = *state;
	size_t used, first, used2;

	put_request(&f->in, &f->pairs, ID, FCGI_KEEP_CONN, "one");
	first = f->in.len;
	put_request(&f->in, &f->pairs, 2, 0, "second");
	expect_status(feed(f, &used), FCGI_READY);
	assert_int_equal(used, first);
	assert_int_equal(f->s.request_id, ID);
	assert_int_equal(f->s.stdin_total, 3);
	assert_true(fcgi_respond(&f->s, &f->out, "H", 1, "B", 1));

	expect_status(fcgi_feed(&f->s, f->in.data + used, f->in.len - used,
	    &used2), FCGI_READY);
	assert_int_equal(used2, f->in.len - first);
	assert_int_equal(f->s.request_id, 2);
	assert_int_equal(f->s.stdin_total, 6);
	assert_false(fcgi_keep_conn(&f->s));
}

/* ---- fcgi_respond ---- */

static void
test_respond_small(void **state)
{
	struct fixture *f = *state;
	static const char head[] = "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n\r\n";
	size_t used;

	put_request(&f->in, &f->pairs, 0x0102, FCGI_KEEP_CONN, "");
	expect_status(feed(f, &used), FCGI_READY);
	assert_true(fcgi_respond(&f->s, &f->out, head, sizeof(head) - 1,
	    "{\"ok\":true}", 11));
	expect_response(&f->out, 0x0102, head, sizeof(head) - 1,
	    "{\"ok\":true}", 11);
	/* The stream forgot the request. */
	assert_int_equal(f->s.request_id, 0);
	assert_int_equal(f->s.stdin_total, 0);
	expect_param(&f->s, FCGI_P_METHOD, NULL);
}

static void
test_respond_large_body_split(void **state)
{
	struct fixture *f = *state;
	static char body[200000];
	static const char head[] = "Status: 200 OK\r\n\r\n";
	size_t used, i;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (char)(i * 7 % 251);
	put_request(&f->in, &f->pairs, 0xffff, FCGI_KEEP_CONN, "");
	expect_status(feed(f, &used), FCGI_READY);
	assert_true(fcgi_respond(&f->s, &f->out, head, sizeof(head) - 1, body,
	    sizeof(body)));
	expect_response(&f->out, 0xffff, head, sizeof(head) - 1, body,
	    sizeof(body));
}

/* Head and body that fill one record exactly, then one byte more. */
static void
test_respond_record_boundary(void **state)
{
	struct fixture *f = *state;
	static char body[FCGI_MAX_LENGTH];
	size_t used, extra;

	memset(body, 'b', sizeof(body));
	for (extra = 0; extra <= 1; extra++) {
		buf_reset(&f->in);
		buf_reset(&f->out);
		put_request(&f->in, &f->pairs, ID, FCGI_KEEP_CONN, "");
		expect_status(feed(f, &used), FCGI_READY);
		assert_true(fcgi_respond(&f->s, &f->out, "HEAD", 4, body,
		    FCGI_MAX_LENGTH - 4 + extra));
		expect_response(&f->out, ID, "HEAD", 4, body,
		    FCGI_MAX_LENGTH - 4 + extra);
	}
}

static void
test_respond_then_next_request(void **state)
{
	struct fixture *f = *state;
	char body[8];
	size_t used;
	int round;

	for (round = 0; round < 3; round++) {
		buf_reset(&f->in);
		buf_reset(&f->out);
		put_request(&f->in, &f->pairs, (unsigned)(ID + round),
		    FCGI_KEEP_CONN, round % 2 ? "odd" : "even");
		expect_status(feed(f, &used), FCGI_READY);
		assert_int_equal(used, f->in.len);
		expect_usual_values(&f->s);
		assert_int_equal(read_body(&f->s, body, sizeof(body)),
		    round % 2 ? 3 : 4);
		assert_true(fcgi_respond(&f->s, &f->out, "H\r\n\r\n", 5,
		    "{}", 2));
		expect_response(&f->out, (unsigned)(ID + round), "H\r\n\r\n",
		    5, "{}", 2);
	}
	assert_int_equal(f->s.replies.len, 0);
}

/* A full output buffer: false, and the stream is ready all the same. */
static void
test_respond_overflow(void **state)
{
	struct fixture *f = *state;
	struct buf small;
	static char body[200];
	size_t used;

	buf_init(&small, 100);
	put_request(&f->in, &f->pairs, ID, FCGI_KEEP_CONN, "");
	expect_status(feed(f, &used), FCGI_READY);
	assert_false(fcgi_respond(&f->s, &small, "H", 1, body, sizeof(body)));
	buf_free(&small);
	assert_int_equal(f->s.request_id, 0);
	expect_status(feed(f, &used), FCGI_READY);
}

/* Whether the first len bytes of buf hold the secret. */
static bool
holds(const char *buf, size_t len, const char *secret)
{
	return buf != NULL && memmem(buf, len, secret, strlen(secret)) != NULL;
}

/*
 * The Authorization header's bytes do not outlive the request: the raw
 * pairs and the kept values are wiped once answered, and the request's
 * pointer goes with them.  Only bytes once written are scanned (the rest of a
 * buffer was never set).
 */
static void
test_secret_wiped_once_answered(void **state)
{
	struct fixture *f = *state;
	static const char secret[] = "s3cr3t-VALUE-never-kept-0123456789abcdef";
	struct request r;
	struct buf body;
	size_t used, pairs_len, values_len;

	buf_reset(&f->pairs);
	put_cpair(&f->pairs, "REQUEST_METHOD", "GET");
	put_cpair(&f->pairs, "DOCUMENT_URI", "/v1/balance");
	put_cpair(&f->pairs, "HTTP_AUTHORIZATION", "Bearer app.s3cr3t-VALUE-"
	    "never-kept-0123456789abcdef");
	pairs_len = f->pairs.len;
	put_begin(&f->in, ID, FCGI_RESPONDER, FCGI_KEEP_CONN);
	put_stream(&f->in, FCGI_PARAMS, ID, f->pairs.data, f->pairs.len, 7);
	put_stream(&f->in, FCGI_STDIN, ID, NULL, 0, 1);
	expect_status(feed(f, &used), FCGI_READY);

	assert_true(holds(f->s.params.data, pairs_len, secret));
	values_len = f->s.values_buf.len;
	assert_true(holds(f->s.values_buf.data, values_len, secret));

	memset(&r, 0, sizeof(r));
	r.fcgi = &f->s;
	r.out = &f->out;
	request_load(&r);
	assert_non_null(strstr(r.authorization, secret));
	buf_init(&body, 16);
	buf_add(&body, "{}", 2);
	request_respond(&r, 200, "OK", NULL, &body);
	buf_free(&body);

	assert_null(r.authorization);
	/* Kept, not freed: what they held is there to be read. */
	assert_non_null(f->s.params.data);
	assert_non_null(f->s.values_buf.data);
	assert_false(holds(f->s.values_buf.data, values_len, secret));
	assert_false(holds(f->s.params.data, pairs_len, secret));
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup_stream, \
		    teardown_stream)
	const struct CMUnitTest tests[] = {
		T(test_request_one_chunk),
		T(test_request_byte_at_a_time),
		T(test_request_any_split),
		T(test_keep_conn_follows_begin_request),
		T(test_request_without_params_or_body),
		T(test_empty_values_kept),
		T(test_long_name_and_value),
		T(test_pair_split_across_records),
		T(test_padding_skipped),
		T(test_duplicate_param_first_wins),
		T(test_nul_in_wanted_value_broken),
		T(test_nul_at_end_of_wanted_value_broken),
		T(test_pair_lengths_past_end_broken),
		cmocka_unit_test(test_oracle_follows_spec),
		T(test_params_limit),
		T(test_body_over_max),
		T(test_body_exactly_max),
		T(test_body_offsets),
		T(test_stdin_before_params_done_ignored),
		T(test_bad_version_broken),
		T(test_begin_request_length_broken),
		T(test_begin_request_id_zero_broken),
		T(test_second_begin_request_refused),
		T(test_unknown_role_refused),
		T(test_get_values),
		T(test_get_values_empty_and_unknown_only),
		T(test_get_values_with_request_id_ignored),
		T(test_get_values_malformed_no_partial_reply),
		T(test_replies_overflow_whole_records),
		T(test_unknown_management_type),
		T(test_abort_request),
		T(test_records_for_other_ids_ignored),
		T(test_bytes_after_ready_broken),
		T(test_used_stops_at_end_of_request),
		T(test_respond_small),
		T(test_respond_large_body_split),
		T(test_respond_record_boundary),
		T(test_respond_then_next_request),
		T(test_respond_overflow),
		T(test_secret_wiped_once_answered),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
