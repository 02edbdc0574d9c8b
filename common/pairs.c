/*
 * pairs.c -- looking up common words (pairs.h).
 */
#include "pairs.h"

unsigned lode_common_id(const lode_common_words *cw, const char *p, size_t n)
{
	size_t lo = 0, hi = cw->n;

	if (n > LODE_PAIR_WORD_MAX)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = lode_bytes_compare(cw->word[mid], cw->len[mid], p, n);
		if (c == 0)
			return (unsigned)mid + 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}
