/*
 * points.h — the reference implementation of the points rule (SPEC §5),
 * the formatter that prints integer hundredths as the SPEC's decimal text,
 * and the plain integer formatter built on the same digits.
 * Pure functions: no I/O, no allocation.  The rule itself lives in
 * PL/pgSQL (clp.points_award); this copy exists so tests can check both
 * against the same vectors.
 */
#ifndef CLP_POINTS_H
#define CLP_POINTS_H

#include <stddef.h>
#include <stdint.h>

/* Longest text clp_points_format() writes: "-92233720368547758.08" + NUL. */
#define CLP_POINTS_TEXT_MAX 22

/*
 * The award, in hundredths of a point, for an order of total_cost made by a
 * customer who had orders_before orders, returned_before of them returned.
 * Returns -1 when the arguments are outside the SPEC's ranges
 * (total_cost 0..2147483647, 0 <= returned_before <= orders_before).
 */
int64_t clp_points_award(int64_t total_cost, int64_t orders_before,
    int64_t returned_before);

/*
 * Writes hundredths as text with exactly two decimals ("12.35", "-0.05",
 * "0.00") into buf.  Returns the length written (without the NUL), or -1 if
 * size is too small.
 */
int clp_points_format(int64_t hundredths, char *buf, size_t size);

/* Longest text clp_int_format() writes: "-9223372036854775808" + NUL. */
#define CLP_INT_TEXT_MAX 21

/*
 * Writes v in decimal; returns the length, or -1 if size is too small.
 * Used on every request instead of snprintf, which costs several times
 * more.
 */
int clp_int_format(int64_t v, char *buf, size_t size);

#endif
