/*
 * jsonw.h — a growable output buffer with a ceiling, and the JSON writers
 * that append to it.  Response bodies and log lines are written with this
 * rather than json-c so points can be printed from integer hundredths and
 * so a worker reuses one allocation across requests.
 *
 * Once an append would pass the ceiling (or malloc fails) the buffer is
 * marked failed and every later append is a no-op; the caller checks
 * jsonw_failed() once at the end instead of after every call.
 */
#ifndef CLP_JSONW_H
#define CLP_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	bool	 failed;
	bool	 sensitive;	/* see jsonw_init_sensitive() */
};

void	jsonw_init(struct jsonw *w, size_t max);
/*
 * A buffer for bytes that may hold a secret (a request's Authorization, a
 * new token in an answer): they are wiped when the buffer is emptied,
 * freed, or moved as it grows, so no copy outlives its use.  The cost is
 * a memset of what was written, and a copy instead of realloc on growth.
 */
void	jsonw_init_sensitive(struct jsonw *w, size_t max);
/* A buffer over caller storage that never grows (log lines). */
void	jsonw_init_fixed(struct jsonw *w, char *storage, size_t size);
void	jsonw_free(struct jsonw *w);
/* Empties the buffer, keeping its allocation (wiped if sensitive). */
void	jsonw_reset(struct jsonw *w);
/* Empties the buffer, and gives its memory back if it grew past keep. */
void	jsonw_reset_keep(struct jsonw *w, size_t keep);
bool	jsonw_failed(const struct jsonw *w);

void	jsonw_raw(struct jsonw *w, const char *s, size_t len);
/* Appends a NUL-terminated literal. */
void	jsonw_lit(struct jsonw *w, const char *s);
/*
 * A JSON string, quoted and escaped; len bytes of s (may hold NULs).
 * Invalid UTF-8 is written as U+FFFD, so the output is always valid JSON.
 */
void	jsonw_str(struct jsonw *w, const char *s, size_t len);
void	jsonw_cstr(struct jsonw *w, const char *s);
void	jsonw_i64(struct jsonw *w, int64_t v);
/* Integer hundredths as a JSON number with exactly two decimals. */
void	jsonw_points(struct jsonw *w, int64_t hundredths);
/* Appends ,"key": (or "key": after an opening brace). */
void	jsonw_key(struct jsonw *w, const char *key);

#endif
