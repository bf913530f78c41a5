/* Wall-clock bounds in tests, scaled for slow builds.
 *
 * Tests assert outcomes; where a bound on time is itself the property under
 * test (a timeout fires near its deadline, probes run concurrently, a worker
 * stops promptly) the bound is multiplied by PINWATCH_TEST_SLOW, which
 * tests/meson.build sets to 4 in sanitizer builds (1 otherwise).
 */
#ifndef PINWATCH_TESTSLOW_H
#define PINWATCH_TESTSLOW_H

#include <stdint.h>
#include <stdlib.h>

/** The build's slowness factor: PINWATCH_TEST_SLOW (1..100), 1 when unset or invalid. */
static inline int64_t test_slow(void)
{
	const char *s = getenv("PINWATCH_TEST_SLOW");
	char *end;
	long k = s ? strtol(s, &end, 10) : 1;
	if (!s || *end || k < 1 || k > 100)
		return 1;
	return k;
}

/** @ms scaled by test_slow(). */
static inline int64_t test_ms(int64_t ms)
{
	return ms * test_slow();
}

#endif
