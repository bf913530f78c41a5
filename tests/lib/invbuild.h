/* Building inventories by hand in tests: one way to add an endpoint, an app,
 * a version, an adoption figure, a pin policy and a pin to the model's plain
 * structs (model/model.h). Each adder appends a zeroed element, fills what
 * it is given and returns it; the finders return NULL when there is none.
 * Allocation failures abort the test program. Free with model_inventory_free(). */
#ifndef PINWATCH_TEST_INVBUILD_H
#define PINWATCH_TEST_INVBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model/model.h"

/** @p grown to @n + 1 elements of @size, the new last one zeroed. */
void *ib_grow(void *p, size_t n, size_t size);

/** Port 443, enabled; @env NULL: "production". */
struct endpoint *ib_endpoint(struct inventory *inv, const char *host, const char *env);
struct app *ib_app(struct inventory *inv, const char *name, double threshold);
struct app *ib_app_find(struct inventory *inv, const char *name);
struct app_version *ib_version(struct app *a, const char *version);
struct app_version *ib_version_find(struct app *a, const char *version);
/** A figure of @share at @at (00:00 UTC; its date as text), users unknown. */
struct adoption_sample *ib_adoption(struct app_version *v, time_t at, double share);
/** Source "inventory"; @expires_at 0: never expires (else its date as text too). */
struct pin_policy *ib_policy(struct app_version *v, const char *pattern, bool include_subdomains,
			     bool enforce, time_t expires_at);
struct pin *ib_pin(struct pin_policy *p, const uint8_t sha256[32], enum pin_role role);

#endif
