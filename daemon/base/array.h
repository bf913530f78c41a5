/*
 * Growth of hand-grown arrays, checked: one helper instead of a realloc()
 * and a size multiplication at every site.
 *
 *	struct item *v = NULL;
 *	size_t n = 0, cap = 0;
 *	...
 *	if (ARRAY_RESERVE(v, cap, n + 1, MAX_ITEMS))
 *		goto fail;              // v, n and cap unchanged
 *	v[n++] = item;
 */
#ifndef PINWATCH_ARRAY_H
#define PINWATCH_ARRAY_H

#include <stddef.h>

/**
 * The cap for arrays that have no limit of their own (rows of a store query,
 * paths of a chain): far past anything pinwatch holds, far short of a size_t
 * overflow. Arrays filled from untrusted input take their own, smaller cap.
 */
#define ARRAY_MAX_ITEMS ((size_t)1 << 28)

/**
 * Make room for at least @need elements of @elem_size bytes in *@items, whose
 * allocation holds *@cap elements (*@items NULL and *@cap 0 at first). Grows
 * geometrically (at least 8 elements, then doubling), never past @max
 * elements. Returns 0 (nothing is done when *@cap >= @need), -E2BIG (@need
 * is past @max, or @need * @elem_size overflows a size_t) or -ENOMEM; on
 * failure *@items and *@cap are unchanged and still owned by the caller. New
 * elements are not initialised.
 */
int array_reserve(void **items, size_t *cap, size_t need, size_t elem_size, size_t max);

/**
 * array_reserve() for an array variable @arr of any element type and its
 * size_t capacity @cap (both lvalues, each evaluated more than once).
 */
#define ARRAY_RESERVE(arr, cap, need, max)                                                       \
	__extension__({                                                                          \
		void *array_p_ = (arr);                                                          \
		int array_rc_ = array_reserve(&array_p_, &(cap), (need), sizeof(*(arr)), (max)); \
		(arr) = array_p_;                                                                \
		array_rc_;                                                                       \
	})

#endif
