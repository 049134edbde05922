/*
 * jsonw.h — JSON writers that append to a byte buffer (buf.h).  Response
 * bodies and log lines are written with these rather than json-c so
 * points can be printed from integer hundredths and so a worker reuses
 * one allocation across requests.  This is the only code that knows where
 * JSON's commas go; a failed buffer (buf_failed()) makes every writer a
 * no-op.
 */
#ifndef CLP_JSONW_H
#define CLP_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends a NUL-terminated literal (JSON text, written as is). */
void	jsonw_lit(struct buf *w, const char *s);
/*
 * A JSON string, quoted and escaped; len bytes of s (may hold NULs).
 * Invalid UTF-8 is written as U+FFFD, so the output is always valid JSON.
 */
void	jsonw_str(struct buf *w, const char *s, size_t len);
void	jsonw_cstr(struct buf *w, const char *s);
void	jsonw_i64(struct buf *w, int64_t v);
/* Integer hundredths as a JSON number with exactly two decimals. */
void	jsonw_points(struct buf *w, int64_t hundredths);
/* Appends ,"key": (or "key": after an opening brace). */
void	jsonw_key(struct buf *w, const char *key);
/* Before an array's element: a comma unless it is the first. */
void	jsonw_elem(struct buf *w);

#endif
