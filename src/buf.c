/*
 * buf.c — the bounded byte buffer (see buf.h).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static bool	buf_reserve(struct buf *, size_t);

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_init_sensitive(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->sensitive = true;
}

void
buf_init_fixed(struct buf *b, char *storage, size_t size)
{
	buf_init(b, size);
	b->data = storage;
	b->cap = size;
}

void
buf_free(struct buf *b)
{
	bool sensitive = b->sensitive;

	if (sensitive && b->data != NULL)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	buf_init(b, b->max);
	b->sensitive = sensitive;
}

void
buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
	b->failed = false;
}

void
buf_reset_keep(struct buf *b, size_t keep)
{
	if (b->cap > keep)
		buf_free(b);
	buf_reset(b);
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	if (b->sensitive)
		explicit_bzero(b->data + len, b->len - len);
	b->len = len;
}

void
buf_fail(struct buf *b)
{
	b->failed = true;
}

bool
buf_failed(const struct buf *b)
{
	return b->failed;
}

static bool
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *data;

	if (b->failed)
		return false;
	if (extra > b->max || b->len > b->max - extra) {
		b->failed = true;
		return false;
	}
	need = b->len + extra;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 1024;
	while (cap < need)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	if (!b->sensitive)
		data = realloc(b->data, cap);
	else if ((data = malloc(cap)) != NULL && b->data != NULL) {
		/* realloc would leave the old bytes in freed memory. */
		memcpy(data, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	if (data == NULL) {
		b->failed = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

void
buf_add_grow(struct buf *b, const void *data, size_t len)
{
	if (!buf_reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void
buf_patch(struct buf *b, size_t off, const void *data, size_t len)
{
	if (b->failed)
		return;
	if (off > b->len || len > b->len - off)
		abort();	/* misuse: only bytes already written */
	memcpy(b->data + off, data, len);
}
