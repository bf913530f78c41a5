#include "base/array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define ARRAY_MIN_ALLOC 8

int array_reserve(void **items, size_t *cap, size_t need, size_t elem_size, size_t max)
{
	if (need <= *cap)
		return 0;
	if (elem_size == 0 || need > max || need > SIZE_MAX / elem_size)
		return -E2BIG;
	size_t limit = SIZE_MAX / elem_size < max ? SIZE_MAX / elem_size : max;
	size_t n = *cap ? *cap : ARRAY_MIN_ALLOC;
	while (n < need)
		n = n > limit / 2 ? limit : n * 2;
	if (n > limit)
		n = limit; /* need <= limit, so n still holds need */
	void *p = realloc(*items, n * elem_size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = n;
	return 0;
}
