/*
 * log.c — JSON log lines.  Each line is built in full and written with one
 * write(2), so lines from concurrent workers sharing stderr do not mix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonw.h"
#include "log.h"

#define LOG_LINE_MAX 4096

static const char	*log_names[] = { "info", "warn", "error" };

void
log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX / 2], ts[32], storage[LOG_LINE_MAX];
	struct buf w;
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* A truncated message is still worth a line; vsnprintf ended it. */

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts) - 5, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03dZ",
	    (int)(now.tv_nsec / 1000000));

	/* A fixed buffer: logging must not allocate or fail loudly. */
	buf_init_fixed(&w, storage, sizeof(storage));
	jsonw_lit(&w, "{");
	jsonw_key(&w, "ts");
	jsonw_cstr(&w, ts);
	jsonw_key(&w, "level");
	jsonw_cstr(&w, log_names[level]);
	jsonw_key(&w, "pid");
	jsonw_i64(&w, (int64_t)getpid());
	if (request_id != NULL) {
		jsonw_key(&w, "request_id");
		jsonw_cstr(&w, request_id);
	}
	jsonw_key(&w, "msg");
	jsonw_cstr(&w, msg);
	jsonw_lit(&w, "}\n");
	if (!buf_failed(&w))
		(void)!write(STDERR_FILENO, buf_data(&w), buf_len(&w));
}
