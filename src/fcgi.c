/*
 * fcgi.c — FastCGI records in and out (see fcgi.h).
 */
#include <string.h>

#include <fastcgi.h>

#include "fcgi.h"

/* GET_VALUES answers: one request per connection, no multiplexing. */
#define FCGI_MGMT_MAX	1024
/* A request buffer grown past this is given back after the answer. */
#define FCGI_KEEP	4096

#define FCGI_NAME(s)	{ s, sizeof(s) - 1 }

/* With their lengths: each pair of every request is compared to these. */
static const struct {
	const char	*name;
	size_t		 len;
} fcgi_params[FCGI_P__COUNT] = {
	[FCGI_P_METHOD] = FCGI_NAME("REQUEST_METHOD"),
	[FCGI_P_DOCUMENT_URI] = FCGI_NAME("DOCUMENT_URI"),
	[FCGI_P_REQUEST_URI] = FCGI_NAME("REQUEST_URI"),
	[FCGI_P_QUERY] = FCGI_NAME("QUERY_STRING"),
	[FCGI_P_CONTENT_TYPE] = FCGI_NAME("CONTENT_TYPE"),
	[FCGI_P_CONTENT_LENGTH] = FCGI_NAME("CONTENT_LENGTH"),
	[FCGI_P_AUTHORIZATION] = FCGI_NAME("HTTP_AUTHORIZATION"),
	[FCGI_P_REQUEST_ID] = FCGI_NAME("HTTP_X_REQUEST_ID"),
	[FCGI_P_METRICS] = FCGI_NAME("CLP_METRICS"),
};

static void	put_record_head(struct buf *, unsigned, unsigned, size_t);
static void	put_end_request(struct buf *, unsigned, unsigned);
static bool	get_length(const unsigned char **, const unsigned char *,
		    size_t *);
static bool	parse_pairs(const char *, size_t,
		    bool (*)(void *, const char *, size_t, const char *,
		    size_t), void *);
static bool	keep_wanted(void *, const char *, size_t, const char *,
		    size_t);
static bool	answer_value(void *, const char *, size_t, const char *,
		    size_t);
static void	put_pair(struct buf *, const char *, const char *);
static void	request_reset(struct fcgi_stream *);
static enum fcgi_status record_start(struct fcgi_stream *);
static enum fcgi_status record_data(struct fcgi_stream *, const char *,
		    size_t);
static enum fcgi_status record_end(struct fcgi_stream *);

const char *
fcgi_param_name(enum fcgi_param p)
{
	return fcgi_params[p].name;
}

void
fcgi_init(struct fcgi_stream *s, size_t body_max)
{
	memset(s, 0, sizeof(*s));
	s->body_max = body_max;
	buf_init(&s->mgmt, FCGI_MGMT_MAX);
	/* The parameters carry the caller's Authorization header. */
	buf_init_sensitive(&s->params, FCGI_PARAMS_MAX);
	buf_init(&s->stdin_data, body_max + 1);
	buf_init_sensitive(&s->values_buf, FCGI_PARAMS_MAX + FCGI_P__COUNT);
	buf_init(&s->replies, FCGI_MGMT_MAX);
}

void
fcgi_free(struct fcgi_stream *s)
{
	buf_free(&s->mgmt);
	buf_free(&s->params);
	buf_free(&s->stdin_data);
	buf_free(&s->values_buf);
	buf_free(&s->replies);
}

bool
fcgi_keep_conn(const struct fcgi_stream *s)
{
	return s->keep_conn;
}

static void
put_record_head(struct buf *out, unsigned type, unsigned id, size_t len)
{
	unsigned char h[FCGI_HEADER_LEN] = { FCGI_VERSION_1, (unsigned char)type,
	    (unsigned char)(id >> 8), (unsigned char)id,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	buf_add(out, (const char *)h, sizeof(h));
}

static void
put_end_request(struct buf *out, unsigned id, unsigned protocol_status)
{
	unsigned char body[8] = { 0, 0, 0, 0, (unsigned char)protocol_status,
	    0, 0, 0 };

	put_record_head(out, FCGI_END_REQUEST, id, sizeof(body));
	buf_add(out, (const char *)body, sizeof(body));
}

/* A name or value length: one byte below 128, else four (high bit set). */
static bool
get_length(const unsigned char **p, const unsigned char *end, size_t *len)
{
	if (*p >= end)
		return false;
	if (**p < 0x80) {
		*len = *(*p)++;
		return true;
	}
	if (end - *p < 4)
		return false;
	*len = ((size_t)((*p)[0] & 0x7f) << 24) | ((size_t)(*p)[1] << 16) |
	    ((size_t)(*p)[2] << 8) | (*p)[3];
	*p += 4;
	return true;
}

/* Calls fn for each pair; false if the pairs are malformed or fn says so. */
static bool
parse_pairs(const char *data, size_t len,
    bool (*fn)(void *, const char *, size_t, const char *, size_t),
    void *ctx)
{
	const unsigned char *p = (const unsigned char *)data, *end;
	size_t nlen, vlen;

	if (len == 0)
		return true;	/* data may be NULL: nothing was sent */
	for (end = p + len; p < end;) {
		if (!get_length(&p, end, &nlen) ||
		    !get_length(&p, end, &vlen) ||
		    nlen > (size_t)(end - p) || vlen > (size_t)(end - p) - nlen)
			return false;
		if (!fn(ctx, (const char *)p, nlen, (const char *)p + nlen,
		    vlen))
			return false;
		p += nlen + vlen;
	}
	return true;
}

/*
 * Keeps the first value of each wanted name, NUL-terminated.  A wanted
 * value holding a NUL byte is malformed: as a C string it would mean
 * something shorter than what was sent.
 */
static bool
keep_wanted(void *ctx, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	struct fcgi_stream *s = ctx;
	int i;

	for (i = 0; i < FCGI_P__COUNT; i++) {
		if (fcgi_params[i].len != nlen || s->value_at[i] != 0 ||
		    memcmp(fcgi_params[i].name, name, nlen) != 0)
			continue;
		if (memchr(value, '\0', vlen) != NULL)
			return false;
		/* An offset (+1) for now: values_buf may still move. */
		s->value_at[i] = buf_len(&s->values_buf) + 1;
		buf_add(&s->values_buf, value, vlen);
		buf_add(&s->values_buf, "", 1);
		break;
	}
	return true;
}

static void
put_pair(struct buf *out, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	unsigned char l[2] = { (unsigned char)nlen, (unsigned char)vlen };

	buf_add(out, (const char *)l, sizeof(l));	/* both < 128 */
	buf_add(out, name, nlen);
	buf_add(out, value, vlen);
}

/* GET_VALUES: answer the variables we know, skip the others. */
static bool
answer_value(void *ctx, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	static const char *const known[][2] = {
		{ FCGI_MAX_CONNS, "1024" },
		{ FCGI_MAX_REQS, "1024" },
		{ FCGI_MPXS_CONNS, "0" },
	};
	struct buf *out = ctx;
	size_t i;

	(void)value;
	(void)vlen;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i][0]) == nlen &&
		    memcmp(known[i][0], name, nlen) == 0)
			put_pair(out, known[i][0], known[i][1]);
	return true;
}

static void
request_reset(struct fcgi_stream *s)
{
	s->request_id = 0;
	s->params_done = false;
	s->ready = false;
	s->stdin_total = 0;
	buf_reset(&s->params);
	buf_reset(&s->stdin_data);
	buf_reset(&s->values_buf);
	memset(s->values, 0, sizeof(s->values));
	memset(s->value_at, 0, sizeof(s->value_at));
}

/* The header is complete: check it. */
static enum fcgi_status
record_start(struct fcgi_stream *s)
{
	const unsigned char *h = s->head;

	if (h[0] != FCGI_VERSION_1)
		return FCGI_BROKEN;
	s->type = h[1];
	s->id = (unsigned)h[2] << 8 | h[3];
	s->content_left = (size_t)h[4] << 8 | h[5];
	s->padding_left = h[6];
	s->begin_len = 0;
	buf_reset(&s->mgmt);
	return FCGI_MORE;
}

static enum fcgi_status
record_data(struct fcgi_stream *s, const char *data, size_t n)
{
	size_t room;

	switch (s->type) {
	case FCGI_BEGIN_REQUEST:
		if (n > sizeof(s->begin) - s->begin_len)
			return FCGI_BROKEN;
		memcpy(s->begin + s->begin_len, data, n);
		s->begin_len += n;
		break;
	case FCGI_PARAMS:
		if (s->request_id != 0 && s->id == s->request_id &&
		    !s->params_done) {
			buf_add(&s->params, data, n);
			if (buf_failed(&s->params))
				return FCGI_BROKEN;
		}
		break;
	case FCGI_STDIN:
		if (s->request_id != 0 && s->id == s->request_id &&
		    s->params_done) {
			/* Keep one byte past the cap, count the rest. */
			room = s->body_max + 1 - buf_len(&s->stdin_data);
			buf_add(&s->stdin_data, data, n < room ? n : room);
			s->stdin_total += n;
		}
		break;
	case FCGI_GET_VALUES:
		buf_add(&s->mgmt, data, n);
		break;
	default:
		break;
	}
	return FCGI_MORE;
}

/* Content and padding are all in: act on the record. */
static enum fcgi_status
record_end(struct fcgi_stream *s)
{
	unsigned char be16[2];
	size_t mark, len;
	int i;

	switch (s->type) {
	case FCGI_BEGIN_REQUEST:
		if (s->begin_len != sizeof(s->begin) || s->id == 0)
			return FCGI_BROKEN;
		if (s->request_id == s->id)
			return FCGI_BROKEN;	/* its own id: no answer fits */
		if (s->request_id != 0) {
			put_end_request(&s->replies, s->id, FCGI_CANT_MPX_CONN);
			break;
		}
		if (((unsigned)s->begin[0] << 8 | s->begin[1]) !=
		    FCGI_RESPONDER) {
			put_end_request(&s->replies, s->id, FCGI_UNKNOWN_ROLE);
			break;
		}
		request_reset(s);
		s->request_id = s->id;
		s->keep_conn = (s->begin[2] & FCGI_KEEP_CONN) != 0;
		break;
	case FCGI_ABORT_REQUEST:
		/* Nothing is under way between records: forget the request. */
		if (s->id != 0 && s->id == s->request_id) {
			put_end_request(&s->replies, s->id,
			    FCGI_REQUEST_COMPLETE);
			request_reset(s);
		}
		break;
	case FCGI_PARAMS:
		if (s->request_id == 0 || s->id != s->request_id ||
		    s->params_done || s->head[4] != 0 || s->head[5] != 0)
			break;
		/* The empty PARAMS record ends them. */
		s->params_done = true;
		if (!parse_pairs(buf_data(&s->params),
		    buf_len(&s->params), keep_wanted, s) ||
		    buf_failed(&s->values_buf))
			return FCGI_BROKEN;
		for (i = 0; i < FCGI_P__COUNT; i++)
			if (s->value_at[i] != 0)
				s->values[i] = s->values_buf.data +
				    s->value_at[i] - 1;
		break;
	case FCGI_STDIN:
		if (s->request_id == 0 || s->id != s->request_id ||
		    !s->params_done || s->head[4] != 0 || s->head[5] != 0)
			break;
		s->ready = true;	/* the empty STDIN record */
		return FCGI_READY;
	case FCGI_GET_VALUES:
		if (s->id != 0)
			break;
		if (buf_failed(&s->mgmt))
			return FCGI_BROKEN;
		mark = buf_len(&s->replies);
		put_record_head(&s->replies, FCGI_GET_VALUES_RESULT, 0, 0);
		if (!parse_pairs(buf_data(&s->mgmt), buf_len(&s->mgmt), answer_value,
		    &s->replies) || buf_failed(&s->replies))
			return FCGI_BROKEN;
		/* Now the length is known. */
		len = buf_len(&s->replies) - mark - FCGI_HEADER_LEN;
		be16[0] = (unsigned char)(len >> 8);
		be16[1] = (unsigned char)len;
		buf_patch(&s->replies, mark + 4, be16, sizeof(be16));
		break;
	default:
		if (s->id == 0 && s->type > FCGI_MAXTYPE) {
			unsigned char body[8] = { (unsigned char)s->type };

			put_record_head(&s->replies, FCGI_UNKNOWN_TYPE, 0, 8);
			buf_add(&s->replies, (const char *)body, 8);
		}
		break;
	}
	return buf_failed(&s->replies) ? FCGI_BROKEN : FCGI_MORE;
}

enum fcgi_status
fcgi_feed(struct fcgi_stream *s, const char *data, size_t len, size_t *used)
{
	size_t off = 0, n, mark;
	enum fcgi_status st = FCGI_MORE;

	*used = 0;
	if (s->ready)
		return FCGI_BROKEN;	/* a request is open: nothing may come */
	while (off < len && st == FCGI_MORE) {
		if (s->head_len < sizeof(s->head)) {
			n = sizeof(s->head) - s->head_len;
			n = n < len - off ? n : len - off;
			memcpy(s->head + s->head_len, data + off, n);
			s->head_len += n;
			off += n;
			if (s->head_len < sizeof(s->head) ||
			    (st = record_start(s)) != FCGI_MORE)
				continue;
		}
		if (s->content_left > 0) {
			n = s->content_left < len - off ? s->content_left :
			    len - off;
			st = record_data(s, data + off, n);
			s->content_left -= n;
			off += n;
		} else if (s->padding_left > 0) {
			n = s->padding_left < len - off ? s->padding_left :
			    len - off;
			s->padding_left -= n;
			off += n;
		}
		if (st == FCGI_MORE && s->content_left == 0 &&
		    s->padding_left == 0) {
			s->head_len = 0;
			mark = buf_len(&s->replies);
			st = record_end(s);
			/* A record half written to replies is taken back:
			 * server.c sends replies even when it closes. */
			if (st == FCGI_BROKEN)
				buf_truncate(&s->replies, mark);
		}
	}
	*used = off;
	return st;
}

const char *
fcgi_body(const struct fcgi_stream *s, size_t *len)
{
	*len = buf_len(&s->stdin_data);
	return buf_data(&s->stdin_data);
}

void
fcgi_take_replies(struct fcgi_stream *s, struct buf *out)
{
	buf_add(out, buf_data(&s->replies), buf_len(&s->replies));
	buf_reset(&s->replies);
}

bool
fcgi_idle(const struct fcgi_stream *s)
{
	return s->request_id == 0 && s->head_len == 0;
}

bool
fcgi_respond(struct fcgi_stream *s, struct buf *out, const char *head,
    size_t head_len, const char *body, size_t body_len)
{
	size_t n;

	if (head_len > FCGI_MAX_LENGTH)
		return false;
	/* The head goes in the first record with as much body as fits. */
	n = body_len < FCGI_MAX_LENGTH - head_len ? body_len :
	    FCGI_MAX_LENGTH - head_len;
	put_record_head(out, FCGI_STDOUT, s->request_id, head_len + n);
	buf_add(out, head, head_len);
	buf_add(out, body, n);
	for (body += n, body_len -= n; body_len > 0; body += n, body_len -= n) {
		n = body_len < FCGI_MAX_LENGTH ? body_len : FCGI_MAX_LENGTH;
		put_record_head(out, FCGI_STDOUT, s->request_id, n);
		buf_add(out, body, n);
	}
	put_record_head(out, FCGI_STDOUT, s->request_id, 0);
	put_end_request(out, s->request_id, FCGI_REQUEST_COMPLETE);
	request_reset(s);
	/* An idle kept-alive connection keeps little: what one large request
	 * grew is given back. */
	buf_reset_keep(&s->params, FCGI_KEEP);
	buf_reset_keep(&s->stdin_data, FCGI_KEEP);
	buf_reset_keep(&s->values_buf, FCGI_KEEP);
	return !buf_failed(out);
}
