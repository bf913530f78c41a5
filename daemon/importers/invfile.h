/* The inventory document (docs/inventory.md) in JSON: parsing with
 * full validation into struct inventory, and its canonical text.
 *
 * Parsing: unknown keys are errors (they are typos of real ones); every
 * error names the JSON path and what is wrong, e.g.
 *   apps[0].versions[2].pin_policies[0].pins[1].sha256: not 32 bytes of base64
 * and the first error stops the parse. The rules an object obeys wherever
 * it comes from are the model's (model/validate.h), its order is the
 * model's (model/sort.h).
 *
 * Serialisation (export) is canonical, so that export -> import -> export is
 * byte-identical: model_inventory_to_json() (model/json.h: keys in the order
 * of docs/inventory.md, defaults explicit, unset optional values omitted),
 * arrays in inventory_load() order, written by invfile_dumps() with reals of
 * 15 significant digits.
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

/**
 * Parse and validate a whole document. On success @out holds the normalised
 * inventory, sorted as model_sort_inventory() does (free with
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

/** Canonical text of a document: 2-space indent, ASCII, trailing newline. Caller frees. */
char *invfile_dumps(json_t *j);

#endif
