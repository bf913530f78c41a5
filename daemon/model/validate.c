#include "model/validate.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "model/sort.h"

/* model_find_dup: indices sorted by their element's key, then by index. */
struct dup_ctx {
	const char *base;
	size_t size;
	int (*cmp)(const void *, const void *);
};

static int idx_cmp(const void *x, const void *y, void *arg)
{
	const struct dup_ctx *c = arg;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int r = c->cmp(c->base + i * c->size, c->base + j * c->size);
	return r ? r : (i > j) - (i < j);
}

int model_find_dup(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
		   size_t *first, size_t *second)
{
	if (n < 2)
		return 0;
	size_t *idx = malloc(n * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	struct dup_ctx c = { base, size, cmp };
	qsort_r(idx, n, sizeof(*idx), idx_cmp, &c);
	int found = 0;
	for (size_t k = 1; k < n; k++) {
		/* within a group of equal keys indices ascend, so idx[k-1] < idx[k] */
		if (cmp(c.base + idx[k - 1] * size, c.base + idx[k] * size) == 0) {
			size_t g = k - 1;
			while (g > 0 &&
			       cmp(c.base + idx[g - 1] * size, c.base + idx[k] * size) == 0)
				g--;
			if (!found || idx[k] < *second) {
				*first = idx[g];
				*second = idx[k];
				found = 1;
			}
		}
	}
	free(idx);
	return found;
}

int model_check_endpoint(struct endpoint *e, char *err, size_t errlen)
{
	if (!e->host || model_normalize_host(e->host))
		return util_err(err, errlen, -EINVAL, "host: not a valid host name");
	if (e->sni && model_normalize_host(e->sni))
		return util_err(err, errlen, -EINVAL, "sni: not a valid host name");
	if (e->port < 1 || e->port > 65535)
		return util_err(err, errlen, -EINVAL, "port: must be between 1 and 65535");
	if (!e->environment && !(e->environment = strdup("production")))
		return util_err(err, errlen, -ENOMEM, "out of memory");
	size_t n = strlen(e->environment);
	if (n < 1 || n > 64 || util_has_ctrl(e->environment))
		return util_err(err, errlen, -EINVAL,
				"environment: 1 to 64 bytes without control characters");
	if (e->owner && (strlen(e->owner) > 128 || util_has_ctrl(e->owner)))
		return util_err(err, errlen, -EINVAL,
				"owner: at most 128 bytes without control characters");
	if (e->ntags > MODEL_MAX_TAGS)
		return util_err(err, errlen, -EINVAL, "tags: at most %d tags", MODEL_MAX_TAGS);
	for (size_t i = 0; i < e->ntags; i++) {
		n = e->tags[i] ? strlen(e->tags[i]) : 0;
		if (n < 1 || n > 64 || util_has_ctrl(e->tags[i]))
			return util_err(err, errlen, -EINVAL,
					"tags[%zu]: 1 to 64 bytes without control characters", i);
		for (size_t k = 0; k < i; k++)
			if (strcmp(e->tags[k], e->tags[i]) == 0)
				return util_err(err, errlen, -EINVAL,
						"tags[%zu]: duplicate of tags[%zu]", i, k);
	}
	model_sort_tags(e);
	if (e->interval_s == 0)
		e->interval_s = MODEL_DEFAULT_INTERVAL;
	if (e->interval_s < 10 || e->interval_s > 604800)
		return util_err(err, errlen, -EINVAL, "interval: must be between 10s and 7d");
	return 0;
}

int model_check_override_anchor(char **anchor, char *err, size_t errlen)
{
	const char *a = *anchor;
	if (!a)
		return util_err(err, errlen, -EINVAL, "missing");
	if (strcmp(a, "system") == 0 || strcmp(a, "user") == 0)
		return 0;
	if (strncmp(a, "sha256/", 7) == 0) {
		uint8_t pin[32];
		char perrbuf[ERRLEN], b64[48], *canon;
		if (util_parse_pin(a, pin, perrbuf, sizeof(perrbuf)))
			return util_err(err, errlen, -EINVAL, "%s", perrbuf);
		if (asprintf(&canon, "sha256/%s", util_pin_b64(pin, b64)) < 0)
			return util_err(err, errlen, -ENOMEM, "out of memory");
		free(*anchor);
		*anchor = canon;
		return 0;
	}
	size_t n = strlen(a);
	bool printable = n >= 2 && n <= 128 && a[0] == '@' && strchr(a, '/');
	for (size_t i = 0; printable && i < n; i++)
		printable = (unsigned char)a[i] > 0x20 && (unsigned char)a[i] < 0x7f;
	if (!printable)
		return util_err(err, errlen, -EINVAL,
				"must be system, user, sha256/<base64> or an unread anchor "
				"file such as @raw/name");
	return 0;
}

/* Normalise every override anchor of @p; duplicates are refused. */
static int check_overrides(struct pin_policy *p, char *err, size_t errlen)
{
	char msg[ERRLEN];
	if (p->noverride_anchors > MODEL_MAX_OVERRIDES)
		return util_err(err, errlen, -EINVAL, "override_anchors: more than %d",
				MODEL_MAX_OVERRIDES);
	for (size_t i = 0; i < p->noverride_anchors; i++) {
		int rc = model_check_override_anchor(&p->override_anchors[i], msg, sizeof(msg));
		if (rc)
			return util_err(err, errlen, rc, "override_anchors[%zu]: %s", i, msg);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->override_anchors[j], p->override_anchors[i]) == 0)
				return util_err(err, errlen, -EINVAL,
						"override_anchors[%zu]: duplicate of "
						"override_anchors[%zu]",
						i, j);
	}
	return 0;
}

int model_check_policy(struct pin_policy *p, char *err, size_t errlen)
{
	if (!p->pattern || strlen(p->pattern) > 256 || model_normalize_pattern(p->pattern))
		return util_err(err, errlen, -EINVAL, "pattern: not a host name or *./**. pattern");
	if (p->include_subdomains && p->pattern[0] == '*')
		return util_err(err, errlen, -EINVAL,
				"include_subdomains: only for an exact host pattern");
	if (p->expires[0]) {
		if (util_parse_date(p->expires, &p->expires_at))
			return util_err(err, errlen, -EINVAL, "expires: not a date (YYYY-MM-DD)");
	} else {
		p->expires_at = 0;
	}
	if (p->enforce && p->npins == 0)
		return util_err(err, errlen, -EINVAL,
				"pins: an enforcing policy needs at least one pin");
	if (p->npins > MODEL_MAX_PINS)
		return util_err(err, errlen, -EINVAL, "pins: more than %d pins", MODEL_MAX_PINS);
	size_t a, b;
	int d = model_find_dup(p->pins, p->npins, sizeof(*p->pins), model_pin_key_cmp, &a, &b);
	if (d < 0)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	if (d)
		return util_err(err, errlen, -EINVAL, "pins[%zu]: duplicate of pins[%zu]", b, a);
	return check_overrides(p, err, errlen);
}

bool model_valid_source(const char *s)
{
	static const char *const names[] = { "inventory", "nsc", "trustkit", "okhttp", "api" };
	for (size_t i = 0; s && i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

int model_check_sample(struct adoption_sample *s, char *err, size_t errlen)
{
	if (util_parse_date(s->at, &s->at_time))
		return util_err(err, errlen, -EINVAL, "at: not a date (YYYY-MM-DD)");
	if (!isfinite(s->share) || s->share < 0 || s->share > 1)
		return util_err(err, errlen, -EINVAL, "share: must be between 0 and 1");
	if (s->active_users < -1)
		return util_err(err, errlen, -EINVAL, "active_users: must not be negative");
	return 0;
}

int model_check_version(struct app_version *v, char *err, size_t errlen)
{
	char msg[ERRLEN];
	int rc;
	size_t n = v->version ? strlen(v->version) : 0;
	if (n < 1 || n > 64 || util_has_ctrl(v->version))
		return util_err(err, errlen, -EINVAL,
				"version: 1 to 64 bytes without control characters");
	time_t t;
	if (v->released[0] && util_parse_date(v->released, &t))
		return util_err(err, errlen, -EINVAL, "released: not a date (YYYY-MM-DD)");
	if (v->nadoption > MODEL_MAX_SAMPLES)
		return util_err(err, errlen, -EINVAL, "adoption: more than %d samples",
				MODEL_MAX_SAMPLES);
	if (v->npolicies > MODEL_MAX_POLICIES)
		return util_err(err, errlen, -EINVAL, "pin_policies: more than %d policies",
				MODEL_MAX_POLICIES);
	for (size_t i = 0; i < v->nadoption; i++)
		if ((rc = model_check_sample(&v->adoption[i], msg, sizeof(msg))))
			return util_err(err, errlen, rc, "adoption[%zu].%s", i, msg);
	for (size_t i = 0; i < v->npolicies; i++) {
		struct pin_policy *p = &v->policies[i];
		if ((rc = model_check_policy(p, msg, sizeof(msg))))
			return util_err(err, errlen, rc, "pin_policies[%zu].%s", i, msg);
		if (!p->source && !(p->source = strdup("inventory")))
			return util_err(err, errlen, -ENOMEM, "out of memory");
		if (!model_valid_source(p->source))
			return util_err(err, errlen, -EINVAL, "pin_policies[%zu].source: unknown",
					i);
	}
	/* Sorted, duplicates are neighbours: O(n log n) even for long histories. */
	model_sort_version(v);
	for (size_t i = 1; i < v->nadoption; i++)
		if (strcmp(v->adoption[i - 1].at, v->adoption[i].at) == 0)
			return util_err(err, errlen, -EINVAL, "adoption: two samples for %s",
					v->adoption[i].at);
	for (size_t i = 1; i < v->npolicies; i++) {
		const struct pin_policy *a = &v->policies[i - 1], *b = &v->policies[i];
		if (strcmp(a->pattern, b->pattern) == 0 &&
		    a->include_subdomains == b->include_subdomains)
			return util_err(err, errlen, -EINVAL,
					"pin_policies: two policies for %s (include_subdomains %s)",
					b->pattern, b->include_subdomains ? "true" : "false");
	}
	return 0;
}
