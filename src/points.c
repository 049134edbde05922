/*
 * points.c — the points rule in exact integer arithmetic.
 *
 *   award = floor((2·t·m + k) / (2k)),  k = n + 1,  m = min(5k, 6k − 5d)
 *
 * which is t × 0.05 × min(1, 1.2 − d/k) in hundredths, rounded half up.
 * With n near INT64_MAX the products reach about 2^97, hence 128 bits.
 */
#include "points.h"

int64_t
clp_points_award(int64_t total_cost, int64_t orders_before,
    int64_t returned_before)
{
	unsigned __int128 t, k, m, five_k, six_k_less;

	if (total_cost < 0 || total_cost > INT32_MAX || orders_before < 0 ||
	    returned_before < 0 || returned_before > orders_before)
		return -1;

	t = (unsigned __int128)total_cost;
	k = (unsigned __int128)orders_before + 1;
	five_k = 5 * k;
	/* d <= n, so 6k − 5d >= k + 5 > 0: no unsigned wrap. */
	six_k_less = 6 * k - 5 * (unsigned __int128)returned_before;
	m = six_k_less < five_k ? six_k_less : five_k;

	/* m <= 5k, so the quotient is at most 5t: it fits in int64. */
	return (int64_t)((2 * t * m + k) / (2 * k));
}

int
clp_points_format(int64_t hundredths, char *buf, size_t size)
{
	char digits[24];
	uint64_t magnitude;
	size_t ndigits = 0, len = 0, i;
	int negative = hundredths < 0;

	/* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
	magnitude = negative ? (uint64_t)0 - (uint64_t)hundredths :
	    (uint64_t)hundredths;
	do {
		digits[ndigits++] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude > 0 || ndigits < 3);

	/* sign + integer digits + '.' + 2 decimals + NUL */
	if (size < (size_t)negative + ndigits + 2)
		return -1;
	if (negative)
		buf[len++] = '-';
	for (i = ndigits; i > 2; i--)
		buf[len++] = digits[i - 1];
	buf[len++] = '.';
	buf[len++] = digits[1];
	buf[len++] = digits[0];
	buf[len] = '\0';
	return (int)len;
}
