/* The order of the inventory model: how inventory_load() returns it, how the
 * inventory file is written, and the identity key of each object (two
 * objects with equal keys are the same object). */
#ifndef PINWATCH_MODEL_SORT_H
#define PINWATCH_MODEL_SORT_H

#include "model/model.h"

/**
 * Order of version strings: runs of digits compare as numbers ("4.10" after
 * "4.9", leading zeros ignored), other bytes as unsigned bytes; versions equal
 * so far ("1.09", "1.9") fall back to strcmp. -1, 0 or 1.
 */
int model_version_cmp(const char *a, const char *b);

/* qsort() comparators on the identity keys. */
/** struct endpoint: host, then port. */
int model_endpoint_cmp(const void *x, const void *y);
/** struct app: name. */
int model_app_cmp(const void *x, const void *y);
/** struct app_version: version (model_version_cmp). */
int model_app_version_cmp(const void *x, const void *y);
/** struct adoption_sample: date ("at"). */
int model_sample_cmp(const void *x, const void *y);
/** struct pin_policy: pattern, then include_subdomains. */
int model_policy_cmp(const void *x, const void *y);
/** struct pin: the SHA-256 alone (its identity; the role is not part of it). */
int model_pin_key_cmp(const void *x, const void *y);

/** Sort one version's adoption samples (by date), policies (by key) and
 * each policy's pins (current before backup, then by SHA-256). */
void model_sort_version(struct app_version *v);
/** Sort one app's versions (model_version_cmp) and everything below them. */
void model_sort_app(struct app *a);
/** Sort an endpoint's tags (strcmp). */
void model_sort_tags(struct endpoint *e);
/** Sort a whole inventory: endpoints (host, port) with their tags, apps (name)
 * and everything below them. */
void model_sort_inventory(struct inventory *inv);

#endif
