/* In-memory helpers of the apps store: deep copies, validation and edits of
 * struct app_version. Internal to apps.c (declared in apps_model.h). */
#include "store/apps_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/invfile.h"
#include "base/array.h"
#include "base/util.h"

bool apps_valid_source(const char *s)
{
	static const char *const names[] = { "inventory", "nsc", "trustkit", "okhttp", "api" };
	for (size_t i = 0; s && i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

int apps_copy_policy(const struct pin_policy *src, struct pin_policy *dst)
{
	memset(dst, 0, sizeof(*dst));
	*dst = *src;
	dst->pattern = src->pattern ? strdup(src->pattern) : NULL;
	dst->source = src->source ? strdup(src->source) : NULL;
	dst->pins = NULL;
	if (src->npins) {
		dst->pins = malloc(src->npins * sizeof(*dst->pins));
		if (dst->pins)
			memcpy(dst->pins, src->pins, src->npins * sizeof(*dst->pins));
	}
	dst->override_anchors = NULL;
	dst->noverride_anchors = 0;
	if ((src->pattern && !dst->pattern) || (src->source && !dst->source) ||
	    (src->npins && !dst->pins))
		goto fail;
	if (src->noverride_anchors) {
		dst->override_anchors = calloc(src->noverride_anchors, sizeof(char *));
		if (!dst->override_anchors)
			goto fail;
		for (size_t i = 0; i < src->noverride_anchors; i++) {
			dst->override_anchors[i] = strdup(src->override_anchors[i]);
			if (!dst->override_anchors[i])
				goto fail;
			dst->noverride_anchors++;
		}
	}
	return 0;
fail:
	model_policy_free(dst);
	return -ENOMEM;
}

int apps_copy_version(const struct app_version *src, struct app_version *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->id = src->id;
	memcpy(dst->released, src->released, sizeof(dst->released));
	if (src->version && !(dst->version = strdup(src->version)))
		goto fail;
	if (src->nadoption) {
		if (!(dst->adoption = malloc(src->nadoption * sizeof(*dst->adoption))))
			goto fail;
		memcpy(dst->adoption, src->adoption, src->nadoption * sizeof(*dst->adoption));
		dst->nadoption = src->nadoption;
	}
	if (src->npolicies) {
		if (!(dst->policies = calloc(src->npolicies, sizeof(*dst->policies))))
			goto fail;
		for (size_t i = 0; i < src->npolicies; i++) {
			if (apps_copy_policy(&src->policies[i], &dst->policies[i]))
				goto fail;
			dst->npolicies++;
		}
	}
	return 0;
fail:
	model_version_free(dst);
	return -ENOMEM;
}

ssize_t apps_find_policy(const struct app_version *v, const char *pattern, bool incl)
{
	for (size_t i = 0; i < v->npolicies; i++)
		if (strcmp(v->policies[i].pattern, pattern) == 0 &&
		    v->policies[i].include_subdomains == incl)
			return (ssize_t)i;
	return -1;
}

ssize_t apps_find_sample(const struct app_version *v, const char *at)
{
	for (size_t i = 0; i < v->nadoption; i++)
		if (strcmp(v->adoption[i].at, at) == 0)
			return (ssize_t)i;
	return -1;
}

static int cmp_at_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct adoption_sample *)elem)->at);
}

ssize_t apps_find_sample_sorted(const struct app_version *v, const char *at)
{
	if (!v->nadoption)
		return -1;
	const struct adoption_sample *s =
		bsearch(at, v->adoption, v->nadoption, sizeof(*v->adoption), cmp_at_key);
	return s ? s - v->adoption : -1;
}

static int cmp_sample_at(const void *x, const void *y)
{
	return strcmp(((const struct adoption_sample *)x)->at,
		      ((const struct adoption_sample *)y)->at);
}

int apps_merge_samples(struct app_version *v, const struct adoption_sample *add, size_t n)
{
	struct adoption_sample *b = malloc((n ? n : 1) * sizeof(*b));
	struct adoption_sample *out = malloc((v->nadoption + n + 1) * sizeof(*out));
	size_t i = 0, j = 0, o = 0;
	if (!b || !out) {
		free(b);
		free(out);
		return -ENOMEM;
	}
	if (n)
		memcpy(b, add, n * sizeof(*b));
	qsort(b, n, sizeof(*b), cmp_sample_at);
	while (i < v->nadoption || j < n) {
		int c = i >= v->nadoption ? 1 : j >= n ? -1 : strcmp(v->adoption[i].at, b[j].at);
		if (c < 0) {
			out[o++] = v->adoption[i++];
			continue;
		}
		out[o++] = b[j++];
		if (c == 0)
			i++;
	}
	free(b);
	free(v->adoption);
	v->adoption = out;
	v->nadoption = o;
	return 0;
}

void apps_del_policy(struct app_version *v, size_t i)
{
	model_policy_free(&v->policies[i]);
	memmove(&v->policies[i], &v->policies[i + 1],
		(v->npolicies - i - 1) * sizeof(*v->policies));
	v->npolicies--;
}

void apps_del_sample(struct app_version *v, size_t i)
{
	memmove(&v->adoption[i], &v->adoption[i + 1],
		(v->nadoption - i - 1) * sizeof(*v->adoption));
	v->nadoption--;
}

int apps_put_policy(struct app_version *v, const struct pin_policy *p)
{
	struct pin_policy copy;
	if (apps_copy_policy(p, &copy))
		return -ENOMEM;
	ssize_t i = apps_find_policy(v, p->pattern, p->include_subdomains);
	if (i >= 0) {
		copy.id = v->policies[i].id;
		model_policy_free(&v->policies[i]);
		v->policies[i] = copy;
		return 0;
	}
	size_t cap = v->npolicies; /* no capacity kept: the array grows on every policy */
	if (ARRAY_RESERVE(v->policies, cap, v->npolicies + 1, ARRAY_MAX_ITEMS)) {
		model_policy_free(&copy);
		return -ENOMEM;
	}
	copy.id = 0;
	v->policies[v->npolicies++] = copy;
	return 0;
}

int apps_check_sample(struct adoption_sample *s, char *err, size_t errlen)
{
	if (util_parse_date(s->at, &s->at_time))
		return util_err(err, errlen, -EINVAL, "at: not a date (YYYY-MM-DD)");
	if (!isfinite(s->share) || s->share < 0 || s->share > 1)
		return util_err(err, errlen, -EINVAL, "share: must be between 0 and 1");
	if (s->active_users < -1)
		return util_err(err, errlen, -EINVAL, "active_users: must not be negative");
	return 0;
}

int apps_check_version(struct app_version *v, char *err, size_t errlen)
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
	if (v->nadoption > INVFILE_MAX_SAMPLES)
		return util_err(err, errlen, -EINVAL, "adoption: more than %d samples",
				INVFILE_MAX_SAMPLES);
	if (v->npolicies > INVFILE_MAX_POLICIES)
		return util_err(err, errlen, -EINVAL, "pin_policies: more than %d policies",
				INVFILE_MAX_POLICIES);
	for (size_t i = 0; i < v->nadoption; i++)
		if ((rc = apps_check_sample(&v->adoption[i], msg, sizeof(msg))))
			return util_err(err, errlen, rc, "adoption[%zu].%s", i, msg);
	for (size_t i = 0; i < v->npolicies; i++) {
		struct pin_policy *p = &v->policies[i];
		if ((rc = invfile_check_policy(p, msg, sizeof(msg))))
			return util_err(err, errlen, rc, "pin_policies[%zu].%s", i, msg);
		if (!p->source && !(p->source = strdup("inventory")))
			return util_err(err, errlen, -ENOMEM, "out of memory");
		if (!apps_valid_source(p->source))
			return util_err(err, errlen, -EINVAL, "pin_policies[%zu].source: unknown",
					i);
	}
	/* Sorted, duplicates are neighbours: O(n log n) even for long histories. */
	invfile_sort_version(v);
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

bool apps_policy_equal(const struct pin_policy *a, const struct pin_policy *b)
{
	const char *sa = a->source ? a->source : "inventory";
	const char *sb = b->source ? b->source : "inventory";
	if (a->enforce != b->enforce || strcmp(a->expires, b->expires) || strcmp(sa, sb) ||
	    a->npins != b->npins || a->noverride_anchors != b->noverride_anchors)
		return false;
	for (size_t i = 0; i < a->noverride_anchors; i++)
		if (strcmp(a->override_anchors[i], b->override_anchors[i]))
			return false;
	for (size_t i = 0; i < a->npins; i++)
		if (a->pins[i].role != b->pins[i].role ||
		    memcmp(a->pins[i].sha256, b->pins[i].sha256, 32))
			return false;
	return true;
}
