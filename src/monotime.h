/*
 * monotime.h — milliseconds on the monotonic clock, for deadlines and
 * back-offs (the pool's restarts, the database's reconnects, a stopping
 * worker's idle connections); microseconds for a request's latency.
 * Never the wall clock: it can jump.
 */
#ifndef CLP_MONOTIME_H
#define CLP_MONOTIME_H

#include <stdint.h>

int64_t	monotime_ms(void);
int64_t	monotime_us(void);

#endif
