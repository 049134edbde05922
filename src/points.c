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

/*
 * Writes |v| as decimal digits, least significant first, at least
 * min_digits of them (zero-padded); returns how many.
 */
static size_t
digits_reversed(int64_t v, char digits[20], size_t min_digits)
{
	/* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
	uint64_t magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude > 0 || n < min_digits);
	return n;
}

/* sign, the digits from most significant, a point before the last
 * `decimals` of them, NUL. */
static int
format_fixed(int64_t v, size_t decimals, char *buf, size_t size)
{
	char digits[20];
	size_t n = digits_reversed(v, digits, decimals + 1), len = 0, i;

	if (size < (size_t)(v < 0) + n + (decimals > 0) + 1)
		return -1;
	if (v < 0)
		buf[len++] = '-';
	for (i = n; i > 0; i--) {
		if (i == decimals && decimals > 0)
			buf[len++] = '.';
		buf[len++] = digits[i - 1];
	}
	buf[len] = '\0';
	return (int)len;
}

int
clp_points_format(int64_t hundredths, char *buf, size_t size)
{
	return format_fixed(hundredths, 2, buf, size);
}

int
clp_int_format(int64_t v, char *buf, size_t size)
{
	return format_fixed(v, 0, buf, size);
}
