/* The inventory document (docs/inventory.md) in JSON: parsing with
 * full validation into struct inventory, and the canonical serialisation.
 *
 * Parsing: unknown keys are errors (they are typos of real ones); every
 * error names the JSON path and what is wrong, e.g.
 *   apps[0].versions[2].pin_policies[0].pins[1].sha256: not 32 bytes of base64
 * and the first error stops the parse.
 *
 * Serialisation (export) is canonical, so that export -> import -> export is
 * byte-identical: keys in the order of docs/inventory.md; arrays in inventory_load()
 * order; defaults written explicitly (port, environment, tags, third_party,
 * interval, enabled, adoption_threshold, failure_mode, include_subdomains,
 * enforce, adoption, pin_policies, role); optional values that are unset
 * omitted (sni, owner, bundle_id, released, expires, active_users); a
 * policy's "source" written only when it is not "inventory"; interval as
 * the largest exact unit among w, d, h, m, s ("5m"); reals with 15
 * significant digits; pins as canonical base64.
 */
#ifndef PINWATCH_INVFILE_H
#define PINWATCH_INVFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

/** Largest accepted inventory file (bytes) and array length. */
#define INVFILE_MAX_BYTES (64u << 20)
#define INVFILE_MAX_ITEMS 100000
/** Per-object caps: they keep every merge and check of one object cheap. */
#define INVFILE_MAX_SAMPLES   20000 /**< adoption samples of one version */
#define INVFILE_MAX_POLICIES  1000  /**< pin policies of one version */
#define INVFILE_MAX_PINS      64    /**< pins of one policy */
#define INVFILE_MAX_OVERRIDES 16    /**< override_anchors of one policy */

/**
 * Parse and validate a whole document. On success @out holds the normalised
 * inventory, sorted as invfile_sort() does (free with
 * model_inventory_free). On error @out is left empty and @err holds
 * "<path>: <what is wrong>". 0 or -EINVAL.
 */
int invfile_parse(json_t *root, struct inventory *out, char *err, size_t errlen);
/** Parse JSON text of @len bytes (syntax errors report line and column). 0 or -EINVAL. */
int invfile_parse_text(const char *text, size_t len, struct inventory *out, char *err,
		       size_t errlen);

/* Pieces, for the HTTP API (one object per request). @path prefixes errors
 * ("" for none). The output is zeroed first and freed on error. A policy
 * without "source" gets source NULL: the store then records "inventory"
 * (import, version create/replace) or "api" (apps_policy_put). */
int invfile_parse_endpoint(json_t *j, const char *path, struct endpoint *out, char *err,
			   size_t errlen);
/** An app; with @with_versions false a "versions" key is refused. */
int invfile_parse_app(json_t *j, const char *path, bool with_versions, struct app *out, char *err,
		      size_t errlen);
int invfile_parse_version(json_t *j, const char *path, struct app_version *out, char *err,
			  size_t errlen);
int invfile_parse_policy(json_t *j, const char *path, struct pin_policy *out, char *err,
			 size_t errlen);
int invfile_parse_adoption(json_t *j, const char *path, struct adoption_sample *out, char *err,
			   size_t errlen);

/** Check a policy built in C (importers): normalises the pattern and the
 * override anchors. 0 or -EINVAL. */
int invfile_check_policy(struct pin_policy *p, char *err, size_t errlen);

/** New JSON objects in the canonical form (NULL on out of memory). */
json_t *invfile_to_json(const struct inventory *inv);
json_t *invfile_endpoint_to_json(const struct endpoint *e);
/** An app; the "versions" array only when @with_versions. */
json_t *invfile_app_to_json(const struct app *a, bool with_versions);
json_t *invfile_version_to_json(const struct app_version *v);
json_t *invfile_policy_to_json(const struct pin_policy *p);

/** Canonical text of a document: 2-space indent, ASCII, trailing newline. Caller frees. */
char *invfile_dumps(json_t *j);

/** Sort one app's versions and everything below them. */
void invfile_sort_app(struct app *a);
/** Sort one version's adoption samples, policies and pins. */
void invfile_sort_version(struct app_version *v);

/** Order of version strings: numeric runs compare as numbers ("4.10" > "4.9"), ties by strcmp. */
int invfile_version_cmp(const char *a, const char *b);

/** Format a duration as the largest exact unit ("5m", "1h", "90s") into @buf. */
char *invfile_fmt_interval(int64_t seconds, char *buf, size_t len);

#endif
