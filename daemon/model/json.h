/* The canonical JSON form of the inventory model, as docs/inventory.md
 * writes it: keys in the documented order; defaults written explicitly
 * (port, environment, tags, third_party, interval, enabled,
 * adoption_threshold, failure_mode, include_subdomains, enforce, adoption,
 * pin_policies, role); optional values that are unset omitted (sni, owner,
 * bundle_id, released, expires, active_users); a policy's "source" written
 * only when it is not "inventory"; interval as the largest exact unit among
 * w, d, h, m, s ("5m"); pins as canonical base64. Arrays are written in the
 * order they have (model_sort_* gives the canonical one). Used by the
 * inventory file, the API's answers and the audit rows of the store.
 */
#ifndef PINWATCH_MODEL_JSON_H
#define PINWATCH_MODEL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/** New JSON objects (NULL on out of memory); the caller owns the reference. */
json_t *model_inventory_to_json(const struct inventory *inv);
json_t *model_endpoint_to_json(const struct endpoint *e);
/** An app; the "versions" array only when @with_versions. */
json_t *model_app_to_json(const struct app *a, bool with_versions);
json_t *model_version_to_json(const struct app_version *v);
json_t *model_policy_to_json(const struct pin_policy *p);

/** Format a duration as the largest exact unit ("5m", "1h", "90s") into @buf; returns @buf. */
char *model_fmt_interval(int64_t seconds, char *buf, size_t len);

#endif
