/*
 * buf.h — a growable byte buffer with a ceiling (after curl's dynbuf).
 * FastCGI input and output, response bodies and log lines are all kept in
 * one; jsonw.h writes JSON into it.
 *
 * Once an append would pass the ceiling (or malloc fails) the buffer is
 * marked failed and every later append is a no-op; the caller checks
 * buf_failed() once at the end instead of after every call.  Only buf.c
 * writes a buffer's fields; others read data and len through
 * buf_data() and buf_len().
 */
#ifndef CLP_BUF_H
#define CLP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	bool	 failed;
	bool	 sensitive;	/* see buf_init_sensitive() */
};

void	buf_init(struct buf *, size_t max);
/*
 * A buffer for bytes that may hold a secret (a request's Authorization, a
 * new token in an answer): they are wiped when the buffer is emptied,
 * freed, or moved as it grows, so no copy outlives its use.  The cost is
 * a memset of what was written, and a copy instead of realloc on growth.
 */
void	buf_init_sensitive(struct buf *, size_t max);
/* A buffer over caller storage that never grows (log lines). */
void	buf_init_fixed(struct buf *, char *storage, size_t size);
void	buf_free(struct buf *);
/* Empties the buffer, keeping its allocation (wiped if sensitive). */
void	buf_reset(struct buf *);
/* Empties the buffer, and gives its memory back if it grew past keep. */
void	buf_reset_keep(struct buf *, size_t keep);
/* Cuts the buffer back to its first len bytes (a half-written record). */
void	buf_truncate(struct buf *, size_t len);
/* Marks the buffer failed: what it holds is not to be used. */
void	buf_fail(struct buf *);
bool	buf_failed(const struct buf *);

/* buf_add() when the bytes do not fit what is allocated. */
void	buf_add_grow(struct buf *, const void *data, size_t len);
/* Overwrites len bytes already written at off (a length known late). */
void	buf_patch(struct buf *, size_t off, const void *data, size_t len);

/* Inline: the JSON writers append a few bytes at a time, and a call into
 * buf.c for each was about 1% of a worker's instructions. */
static inline void
buf_add(struct buf *b, const void *data, size_t len)
{
	if (len == 0)
		return;
	if (b->failed || len > b->cap - b->len) {
		buf_add_grow(b, data, len);
		return;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* The last byte written, or '\0' when empty. */
static inline char
buf_last(const struct buf *b)
{
	return b->len > 0 ? b->data[b->len - 1] : '\0';
}

static inline const char *
buf_data(const struct buf *b)
{
	return b->data;
}

static inline size_t
buf_len(const struct buf *b)
{
	return b->len;
}

#endif
