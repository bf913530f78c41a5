/* Validation of the inventory model: the rules every endpoint and pin policy
 * obeys wherever it comes from (inventory file, API, CLI, importers), and the
 * caps that keep every merge and check of one object cheap. The checks
 * normalise in place (host names, patterns, anchors, tag order); errors name
 * the field ("pins[1]: duplicate of pins[0]"), which callers prefix with
 * their own path. */
#ifndef PINWATCH_MODEL_VALIDATE_H
#define PINWATCH_MODEL_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

/* Per-object caps. */
#define MODEL_MAX_SAMPLES   20000 /**< adoption samples of one version */
#define MODEL_MAX_POLICIES  1000  /**< pin policies of one version */
#define MODEL_MAX_PINS	    64	  /**< pins of one policy */
#define MODEL_MAX_OVERRIDES 16	  /**< override_anchors of one policy */
#define MODEL_MAX_TAGS	    64	  /**< tags of one endpoint */

/**
 * Check and normalise an endpoint in place: host and sni (model_normalize_host),
 * port 1..65535, environment 1..64 bytes (NULL becomes "production"), owner
 * <= 128 bytes, tags 1..64 bytes without control characters and no
 * duplicates (sorted), interval 10 s..7 d (0 becomes MODEL_DEFAULT_INTERVAL).
 * 0, -ENOMEM, or -EINVAL with a message naming the field.
 */
int model_check_endpoint(struct endpoint *e, char *err, size_t errlen);

/**
 * Check a policy (built in C or parsed): normalises the pattern and the
 * override anchors, sets expires_at from expires; include_subdomains only
 * for an exact host, an enforcing policy has a pin, at most MODEL_MAX_PINS
 * distinct pins and MODEL_MAX_OVERRIDES distinct anchors. The pins are not
 * reordered. 0, -ENOMEM, or -EINVAL with a message naming the field.
 */
int model_check_policy(struct pin_policy *p, char *err, size_t errlen);

/**
 * Check and normalise one NSC overridePins anchor in place (*@anchor may be
 * replaced by a new string): "system", "user", "sha256/<base64 of 32 bytes>"
 * (stored canonically, padding restored), or "@raw/<name>" / "@<type>/<name>"
 * for an anchor file that could not be read (1 to 128 printable bytes). 0,
 * -EINVAL with the reason in @err, or -ENOMEM.
 */
int model_check_override_anchor(char **anchor, char *err, size_t errlen);

/** "inventory", "nsc", "trustkit", "okhttp" or "api" (a policy's source). */
bool model_valid_source(const char *s);

/** Check an adoption sample (and set at_time from at). 0 or -EINVAL with "field: reason". */
int model_check_sample(struct adoption_sample *s, char *err, size_t errlen);

/**
 * Check a whole version in place: version string (1 to 64 bytes without
 * control characters), released, samples (model_check_sample, no duplicate
 * dates), policies (model_check_policy, source defaulted to "inventory", no
 * duplicate keys), the caps; then sort it (model_sort_version). 0, -ENOMEM,
 * or -EINVAL with a message naming the field.
 */
int model_check_version(struct app_version *v, char *err, size_t errlen);

/**
 * Look for two of the @n elements of @base (each @size bytes) with equal
 * keys under @cmp, in O(n log n). Of all such pairs it reports the one whose
 * later element comes first: *second is that element's index and *first the
 * index of the earliest element with its key (*first < *second), so that an
 * error can name the first duplicate in document order. 1 when found, 0
 * when the keys are distinct, -ENOMEM.
 */
int model_find_dup(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
		   size_t *first, size_t *second);

#endif
