/*
 * fuzz_fcgi.c — libFuzzer target over the FastCGI parser and response
 * framer (fcgi.c): the bytes of one connection, fed in chunks whose sizes
 * come from the input, answered with fcgi_respond() after every
 * FCGI_READY, then fed on, as server.c does with a kept-alive connection.
 *
 * Besides the sanitizers, oracles abort on wrong answers:
 *   - FCGI_MORE takes every byte, FCGI_READY stops inside the chunk, and
 *     READY is only ever for an open request (id 1..65535);
 *   - after READY each non-NULL values[i] lies within values_buf, is
 *     NUL-terminated there, and is exactly the first value sent under its
 *     name (no NUL inside it); an absent name gives NULL; the raw pairs
 *     parse to their end;
 *   - fcgi_body() gives the body as kept: min(stdin_total, body_max + 1)
 *     bytes;
 *   - fcgi_respond()'s output re-parses as STDOUT records of the request's
 *     id carrying head + body exactly, one empty STDOUT record and
 *     END_REQUEST (FCGI_REQUEST_COMPLETE), nothing else; afterwards no
 *     request is open;
 *   - replies, after every fcgi_feed(), is a sequence of whole,
 *     well-formed records: END_REQUEST refusals or abort answers for a
 *     request id, GET_VALUES_RESULT with known variables only,
 *     UNKNOWN_TYPE for a type past FCGI_MAXTYPE;
 *   - the outcome does not depend on the chunking: the stream fed whole
 *     and fed in the input's chunks give the same transcript (replies,
 *     requests, values, bodies, end state), unless replies overflowed,
 *     which depends on how much arrives in one call.
 *
 * Input framing (see fuzz/README.md):
 *   byte 0   bits 0-1: body_max 0, 1, 64 or 16384 (the service's);
 *            bits 2-7: n, the first response body's length, n × 4111
 *   byte 1   bits 0-3: k, the number of chunk sizes; bits 4-7: m, the
 *            response head's length, 1 + 34 × m
 *   k bytes  chunk sizes, used in turn: b + 1 bytes, 0xff: all the rest
 *   the rest the bytes a web server sends on one connection
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastcgi.h>

#include "fcgi.h"
#include "buf.h"
#include "../tests/unit/fcgi_oracle.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_fcgi: oracle failed: %s (%s:%d)\n", \
		    what, __FILE__, __LINE__);				\
		abort();						\
	}								\
} while (0)

#define BODY_STEP	4111
#define BODY_MAX_OUT	((size_t)63 * BODY_STEP)
#define HEAD_MAX_OUT	(1 + 34 * 15)
/* After the first answer on a connection, bodies this long at most. */
#define LATER_BODY_MAX	300

static const size_t body_maxes[4] = { 0, 1, 64, 16384 };

struct plan {
	size_t		 body_max;
	size_t		 head_len, body_len;	/* the first response */
	const uint8_t	*sizes;			/* chunk sizes */
	size_t		 nsizes;
	const uint8_t	*stream;
	size_t		 len;
};

enum outcome { END_MORE, END_BROKEN, END_OVERFLOW };

static char		 head_out[HEAD_MAX_OUT];
static char		 body_out[BODY_MAX_OUT];
static struct buf	 out;
static struct buf	 transcript[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < sizeof(head_out); i++)
		head_out[i] = (char)('A' + i % 26);
	for (i = 0; i < sizeof(body_out); i++)
		body_out[i] = (char)(i * 7 % 251);
	buf_init(&out, 1u << 20);
	buf_init(&transcript[0], 64u << 20);
	buf_init(&transcript[1], 64u << 20);
	return 0;
}

/* ---- an independent reader of records and pairs ---- */

struct rec {
	unsigned		 type, id;
	size_t			 clen;
	const unsigned char	*content;
};

/* The whole, well-formed record (version 1, no padding) at *off. */
static bool
get_record(const char *buf, size_t len, size_t *off, struct rec *r)
{
	const unsigned char *h = (const unsigned char *)buf + *off;

	if (len - *off < FCGI_HEADER_LEN || h[0] != FCGI_VERSION_1 ||
	    h[6] != 0 || h[7] != 0)
		return false;
	r->type = h[1];
	r->id = (unsigned)h[2] << 8 | h[3];
	r->clen = (size_t)h[4] << 8 | h[5];
	if (len - *off - FCGI_HEADER_LEN < r->clen)
		return false;
	r->content = h + FCGI_HEADER_LEN;
	*off += FCGI_HEADER_LEN + r->clen;
	return true;
}

/* The pair at *p; false if none is whole there. */
static bool
get_pair(const unsigned char **p, const unsigned char *end,
    const unsigned char **name, size_t *nlen, const unsigned char **value,
    size_t *vlen)
{
	if (!oracle_pair_length(p, end, nlen) ||
	    !oracle_pair_length(p, end, vlen) ||
	    *nlen > (size_t)(end - *p) || *vlen > (size_t)(end - *p) - *nlen)
		return false;
	*name = *p;
	*value = *p + *nlen;
	*p += *nlen + *vlen;
	return true;
}

/* ---- the oracles ---- */

static void
check_end_request(const struct rec *r, unsigned want_id)
{
	CHECK(r->type == FCGI_END_REQUEST && r->clen == 8, "END_REQUEST");
	CHECK(want_id == 0 ? r->id != 0 : r->id == want_id,
	    "END_REQUEST for a request id");
	CHECK(memcmp(r->content, "\0\0\0\0", 4) == 0 &&
	    memcmp(r->content + 5, "\0\0\0", 3) == 0,
	    "END_REQUEST appStatus 0, reserved bytes 0");
}

static void
check_get_values_result(const struct rec *r)
{
	static const char *const known[][2] = {
		{ FCGI_MAX_CONNS, NULL },
		{ FCGI_MAX_REQS, NULL },
		{ FCGI_MPXS_CONNS, "0" },
	};
	const unsigned char *p = r->content, *end = p + r->clen, *n, *v;
	size_t nlen, vlen, i;
	bool found;

	CHECK(r->id == 0, "GET_VALUES_RESULT id 0");
	while (p < end) {
		CHECK(get_pair(&p, end, &n, &nlen, &v, &vlen),
		    "GET_VALUES_RESULT holds whole pairs");
		found = false;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strlen(known[i][0]) != nlen ||
			    memcmp(known[i][0], n, nlen) != 0)
				continue;
			found = true;
			CHECK(vlen > 0, "a variable's value");
			if (known[i][1] != NULL)
				CHECK(vlen == strlen(known[i][1]) &&
				    memcmp(v, known[i][1], vlen) == 0,
				    "FCGI_MPXS_CONNS is 0");
		}
		CHECK(found, "GET_VALUES_RESULT answers known variables only");
	}
}

/* replies: whole records of the kinds the parser may send on its own. */
static bool
drain_replies(struct fcgi_stream *s, struct buf *tr)
{
	bool overflow = buf_failed(&s->replies);
	struct rec r;
	size_t off = 0;

	while (off < s->replies.len) {
		CHECK(get_record(s->replies.data, s->replies.len, &off, &r),
		    "replies holds whole well-formed records");
		switch (r.type) {
		case FCGI_END_REQUEST:
			check_end_request(&r, 0);
			CHECK(r.content[4] == FCGI_REQUEST_COMPLETE ||
			    r.content[4] == FCGI_CANT_MPX_CONN ||
			    r.content[4] == FCGI_UNKNOWN_ROLE,
			    "END_REQUEST status in replies");
			break;
		case FCGI_GET_VALUES_RESULT:
			check_get_values_result(&r);
			break;
		case FCGI_UNKNOWN_TYPE:
			CHECK(r.id == 0 && r.clen == 8 &&
			    r.content[0] > FCGI_MAXTYPE &&
			    memcmp(r.content + 1, "\0\0\0\0\0\0\0", 7) == 0,
			    "UNKNOWN_TYPE record");
			break;
		default:
			CHECK(false, "a record type replies may hold");
		}
	}
	fcgi_take_replies(s, tr);	/* as server.c does */
	return overflow;
}

/* The first value sent under name, from the raw pairs. */
static bool
first_value(const struct fcgi_stream *s, const char *name,
    const unsigned char **value, size_t *vlen)
{
	const unsigned char *p = (const unsigned char *)s->params.data;
	const unsigned char *end, *n;
	size_t nlen, want = strlen(name);

	if (s->params.len == 0)
		return false;	/* (data may be NULL) */
	for (end = p + s->params.len; p < end;) {
		CHECK(get_pair(&p, end, &n, &nlen, value, vlen),
		    "READY with malformed pairs");
		if (nlen == want && memcmp(n, name, nlen) == 0)
			return true;
	}
	return false;
}

static void
check_ready(const struct fcgi_stream *s, uint64_t at, struct buf *tr)
{
	const char *buf = s->values_buf.data, *v;
	const unsigned char *want;
	unsigned char id[2] = { (unsigned char)(s->request_id >> 8),
	    (unsigned char)s->request_id };
	size_t wlen, vlen, n;
	const char *body;
	int i;

	CHECK(s->request_id >= 1 && s->request_id <= 0xffff,
	    "READY only for an open request");
	buf_add(tr, "R", 1);
	buf_add(tr, (const char *)id, sizeof(id));
	buf_add(tr, fcgi_keep_conn(s) ? "k" : "-", 1);
	buf_add(tr, (const char *)&at, sizeof(at));
	buf_add(tr, (const char *)&s->stdin_total, sizeof(s->stdin_total));

	for (i = 0; i < FCGI_P__COUNT; i++) {
		v = s->values[i];
		if (!first_value(s, fcgi_param_name((enum fcgi_param)i), &want,
		    &wlen)) {
			CHECK(v == NULL, "an absent parameter is NULL");
			buf_add(tr, "0", 1);
			continue;
		}
		CHECK(v != NULL, "a sent parameter is kept");
		CHECK(buf != NULL && v >= buf &&
		    v < buf + s->values_buf.len, "value within values_buf");
		CHECK(memchr(v, '\0', (size_t)(buf + s->values_buf.len - v))
		    != NULL, "value NUL-terminated within values_buf");
		vlen = strlen(v);
		CHECK(vlen == wlen && memcmp(v, want, wlen) == 0,
		    "value is the first one sent, without a NUL inside");
		buf_add(tr, "1", 1);
		buf_add(tr, v, vlen + 1);
	}

	/* The body as kept: what came, up to one byte past the cap. */
	body = fcgi_body(s, &n);
	buf_add(tr, body, n);
	CHECK(n == (s->stdin_total < s->body_max + 1 ?
	    (size_t)s->stdin_total : s->body_max + 1),
	    "fcgi_body gives min(stdin_total, body_max + 1)");
}

/* out: head + body in STDOUT records, the empty one, END_REQUEST. */
static void
check_response(unsigned id, size_t head_len, size_t body_len)
{
	struct rec r;
	size_t off = 0, got = 0, n;

	for (;;) {
		CHECK(get_record(out.data, out.len, &off, &r),
		    "the response re-parses as whole records");
		CHECK(r.type == FCGI_STDOUT && r.id == id,
		    "STDOUT records for the request");
		if (r.clen == 0)
			break;
		CHECK(got + r.clen <= head_len + body_len,
		    "STDOUT carries no more than head and body");
		/* The part in the head, then the part in the body. */
		n = 0;
		if (got < head_len) {
			n = head_len - got < r.clen ? head_len - got : r.clen;
			CHECK(memcmp(r.content, head_out + got, n) == 0,
			    "STDOUT carries the head");
		}
		if (n < r.clen)
			CHECK(memcmp(r.content + n, body_out + (got + n -
			    head_len), r.clen - n) == 0,
			    "STDOUT carries the body");
		got += r.clen;
	}
	CHECK(got == head_len + body_len, "STDOUT carries all of head and body");
	CHECK(get_record(out.data, out.len, &off, &r),
	    "END_REQUEST after the empty STDOUT record");
	check_end_request(&r, id);
	CHECK(r.content[4] == FCGI_REQUEST_COMPLETE,
	    "END_REQUEST FCGI_REQUEST_COMPLETE");
	CHECK(off == out.len, "nothing after END_REQUEST");
}

static void
respond(struct fcgi_stream *s, const struct plan *pl, int answered)
{
	unsigned id = s->request_id;
	size_t body_len = pl->body_len;

	if (answered > 0 && body_len > LATER_BODY_MAX)
		body_len = LATER_BODY_MAX;
	buf_reset(&out);
	CHECK(fcgi_respond(s, &out, head_out, pl->head_len, body_out,
	    body_len), "the response fits");
	check_response(id, pl->head_len, body_len);
	CHECK(s->request_id == 0 && !s->ready,
	    "no request open after the answer");
}

/* Feeds the stream whole or in the plan's chunks; a transcript in tr. */
static enum outcome
run(const struct plan *pl, bool chunked, struct buf *tr)
{
	struct fcgi_stream s;
	enum fcgi_status st = FCGI_MORE;
	enum outcome end = END_MORE;
	size_t off = 0, n, left, used, next = 0;
	const uint8_t *p;
	int answered = 0;

	fcgi_init(&s, pl->body_max);
	while (off < pl->len && st != FCGI_BROKEN) {
		n = pl->len - off;
		if (chunked && pl->sizes[next] != 0xff &&
		    (size_t)pl->sizes[next] + 1 < n)
			n = (size_t)pl->sizes[next] + 1;
		next = (next + 1) % pl->nsizes;
		p = pl->stream + off;
		off += n;
		for (left = n; left > 0; p += used, left -= used) {
			used = 0;
			st = fcgi_feed(&s, (const char *)p, left, &used);
			if (drain_replies(&s, tr))
				end = END_OVERFLOW;
			if (st == FCGI_BROKEN)
				break;
			CHECK(used <= left, "used within the chunk");
			CHECK(st == FCGI_READY || used == left,
			    "FCGI_MORE takes every byte");
			if (st == FCGI_MORE)
				break;
			CHECK(used > 0 && s.ready, "READY ends a record");
			check_ready(&s, (uint64_t)(p + used - pl->stream), tr);
			respond(&s, pl, answered++);
		}
	}
	if (st == FCGI_BROKEN) {
		buf_add(tr, "B", 1);
		if (end != END_OVERFLOW)
			end = END_BROKEN;
	} else {
		/* All bytes taken: the same state whatever the chunks. */
		uint64_t state[8] = { s.request_id, s.head_len,
		    s.content_left, s.padding_left, s.params_done,
		    s.stdin_total, s.params.len, s.stdin_data.len };

		buf_add(tr, "M", 1);
		buf_add(tr, (const char *)state, sizeof(state));
	}
	CHECK(!buf_failed(tr), "the transcript fits");
	fcgi_free(&s);
	return end;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t whole[1] = { 0xff };
	struct plan pl;
	enum outcome a, b;

	if (size < 2)
		return 0;
	pl.body_max = body_maxes[data[0] & 3];
	pl.body_len = (size_t)(data[0] >> 2) * BODY_STEP;
	pl.head_len = 1 + 34 * (size_t)(data[1] >> 4);
	pl.nsizes = data[1] & 15;
	if (size - 2 < pl.nsizes)
		return 0;
	pl.sizes = data + 2;
	pl.stream = data + 2 + pl.nsizes;
	pl.len = size - 2 - pl.nsizes;

	buf_reset(&transcript[0]);
	buf_reset(&transcript[1]);
	if (pl.nsizes == 0) {
		pl.sizes = whole;
		pl.nsizes = 1;
		(void)run(&pl, false, &transcript[0]);
		return 0;
	}
	a = run(&pl, false, &transcript[0]);
	b = run(&pl, true, &transcript[1]);
	if (a != END_OVERFLOW && b != END_OVERFLOW)
		CHECK(transcript[0].len == transcript[1].len &&
		    memcmp(transcript[0].data, transcript[1].data,
		    transcript[0].len) == 0,
		    "the same outcome fed whole and in chunks");
	return 0;
}
