/*
 * log.h — one JSON object per line on stderr:
 *   {"ts":"...","level":"info","pid":123,"request_id":"...","msg":"..."}
 * Callers never pass a token, a token hash or a password: the request path
 * logs only codes, ids and libpq's error class.
 */
#ifndef CLP_LOG_H
#define CLP_LOG_H

enum log_level { LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* request_id may be NULL.  The message is printf-formatted. */
void	log_msg(enum log_level level, const char *request_id,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_info(...)	log_msg(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, NULL, __VA_ARGS__)
#define log_error(...)	log_msg(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)

#endif
