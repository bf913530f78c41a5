#include "importers/invfile.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "model/sort.h"
#include "model/validate.h"

#define PATHLEN 256

/* ---- parsing helpers ---------------------------------------------------- */

static int perr(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return util_err(err, errlen, -EINVAL, "%s: %s", *path ? path : "(document)", msg);
}

/* Paths longer than PATHLEN are cut: they only go into messages. */
static void sub(char *out, const char *path, const char *key)
{
	if (snprintf(out, PATHLEN, "%s%s%s", path, *path ? "." : "", key) >= PATHLEN)
		out[PATHLEN - 1] = '\0';
}

static void idx(char *out, const char *path, const char *key, size_t i)
{
	if (snprintf(out, PATHLEN, "%s%s%s[%zu]", path, *path && *key ? "." : "", key, i) >=
	    PATHLEN)
		out[PATHLEN - 1] = '\0';
}

static int expect_object(json_t *j, const char *path, const char *const *keys, char *err,
			 size_t errlen)
{
	const char *k;
	json_t *v;
	char p[PATHLEN];
	if (!json_is_object(j))
		return perr(err, errlen, path, "expected an object");
	json_object_foreach(j, k, v)
	{
		bool ok = false;
		for (size_t i = 0; keys[i] && !ok; i++)
			ok = strcmp(keys[i], k) == 0;
		if (!ok) {
			sub(p, path, k);
			return perr(err, errlen, p, "unknown key");
		}
	}
	return 0;
}

/* String member: *out borrowed from @j; NULL when absent and not required. */
static int get_str(json_t *j, const char *key, const char *path, bool required, size_t minlen,
		   size_t maxlen, const char **out, char *err, size_t errlen)
{
	char p[PATHLEN];
	json_t *v = json_object_get(j, key);
	sub(p, path, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return perr(err, errlen, p, "missing");
		return 0;
	}
	if (!json_is_string(v))
		return perr(err, errlen, p, "expected a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len < minlen || len > maxlen)
		return perr(err, errlen, p, "length must be between %zu and %zu bytes", minlen,
			    maxlen);
	if (strlen(s) != len || util_has_ctrl(s)) /* an embedded NUL is one too */
		return perr(err, errlen, p, "control characters are not allowed");
	*out = s;
	return 0;
}

static int get_bool(json_t *j, const char *key, const char *path, bool def, bool *out, char *err,
		    size_t errlen)
{
	char p[PATHLEN];
	json_t *v = json_object_get(j, key);
	*out = def;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		sub(p, path, key);
		return perr(err, errlen, p, "expected true or false");
	}
	*out = json_is_true(v);
	return 0;
}

static int get_real(json_t *j, const char *key, const char *path, bool required, double def,
		    double min, double max, double *out, char *err, size_t errlen)
{
	char p[PATHLEN];
	json_t *v = json_object_get(j, key);
	sub(p, path, key);
	*out = def;
	if (!v) {
		if (required)
			return perr(err, errlen, p, "missing");
		return 0;
	}
	if (!json_is_number(v))
		return perr(err, errlen, p, "expected a number");
	double d = json_number_value(v);
	if (!isfinite(d) || d < min || d > max)
		return perr(err, errlen, p, "must be between %g and %g", min, max);
	*out = d;
	return 0;
}

static int get_int(json_t *j, const char *key, const char *path, json_int_t def, json_int_t min,
		   json_int_t max, json_int_t *out, char *err, size_t errlen)
{
	char p[PATHLEN];
	json_t *v = json_object_get(j, key);
	*out = def;
	if (!v)
		return 0;
	sub(p, path, key);
	if (!json_is_integer(v))
		return perr(err, errlen, p, "expected an integer");
	json_int_t x = json_integer_value(v);
	if (x < min || x > max)
		return perr(err, errlen, p,
			    "must be between %" JSON_INTEGER_FORMAT " and %" JSON_INTEGER_FORMAT,
			    min, max);
	*out = x;
	return 0;
}

static int get_array(json_t *j, const char *key, const char *path, json_t **out, char *err,
		     size_t errlen)
{
	char p[PATHLEN];
	json_t *v = json_object_get(j, key);
	*out = NULL;
	if (!v)
		return 0;
	sub(p, path, key);
	if (!json_is_array(v))
		return perr(err, errlen, p, "expected an array");
	if (json_array_size(v) > INVFILE_MAX_ITEMS)
		return perr(err, errlen, p, "more than %d items", INVFILE_MAX_ITEMS);
	*out = v;
	return 0;
}

static int get_date(json_t *j, const char *key, const char *path, bool required,
		    char out[MODEL_DATE_LEN], time_t *t, char *err, size_t errlen)
{
	const char *s;
	char p[PATHLEN];
	int rc = get_str(j, key, path, required, 0, 64, &s, err, errlen);
	out[0] = '\0';
	if (t)
		*t = 0;
	if (rc || !s)
		return rc;
	time_t tt;
	if (util_parse_date(s, &tt)) {
		sub(p, path, key);
		return perr(err, errlen, p, "not a date (YYYY-MM-DD)");
	}
	snprintf(out, MODEL_DATE_LEN, "%s", s);
	if (t)
		*t = tt;
	return 0;
}

static int dup_str(const char *s, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : util_err(err, errlen, -ENOMEM, "out of memory");
}

static int oom(char *err, size_t errlen)
{
	return util_err(err, errlen, -ENOMEM, "out of memory");
}

/* ---- objects ------------------------------------------------------------ */

static const char *const policy_keys[] = {
	"pattern", "include_subdomains", "enforce", "expires", "pins",
	"source",  "override_anchors",	 NULL
};
static const char *const pin_keys[] = { "sha256", "role", NULL };

/* The "pins" array of the policy at @path into @out->pins. */
static int parse_pins(json_t *j, const char *path, struct pin_policy *out, char *err, size_t errlen)
{
	char p[PATHLEN], q[PATHLEN], perrbuf[ERRLEN];
	const char *s;
	json_t *pins, *pj;
	size_t i;
	int rc;

	if ((rc = get_array(j, "pins", path, &pins, err, errlen)))
		return rc;
	if (json_array_size(pins) > MODEL_MAX_PINS) {
		sub(p, path, "pins");
		return perr(err, errlen, p, "more than %d pins", MODEL_MAX_PINS);
	}
	if (pins && json_array_size(pins) &&
	    !(out->pins = calloc(json_array_size(pins), sizeof(*out->pins))))
		return oom(err, errlen);
	json_array_foreach(pins, i, pj)
	{
		idx(p, path, "pins", i);
		if ((rc = expect_object(pj, p, pin_keys, err, errlen)) ||
		    (rc = get_str(pj, "sha256", p, true, 1, 128, &s, err, errlen)))
			return rc;
		sub(q, p, "sha256");
		if (util_parse_pin(s, out->pins[i].sha256, perrbuf, sizeof(perrbuf)))
			return perr(err, errlen, q, "%s", perrbuf);
		if ((rc = get_str(pj, "role", p, false, 1, 16, &s, err, errlen)))
			return rc;
		out->pins[i].role = PIN_CURRENT;
		if (s && model_parse_role(s, &out->pins[i].role)) {
			sub(q, p, "role");
			return perr(err, errlen, q, "must be current or backup");
		}
		out->npins++;
	}
	return 0;
}

/* The NSC overridePins anchors of the policy at @path into @out
 * (docs/readiness.md "overridePins"), normalised, without duplicates. */
static int parse_overrides(json_t *j, const char *path, struct pin_policy *out, char *err,
			   size_t errlen)
{
	char p[PATHLEN], perrbuf[ERRLEN];
	json_t *ov, *x;
	size_t i;
	int rc;

	if ((rc = get_array(j, "override_anchors", path, &ov, err, errlen)))
		return rc;
	if (json_array_size(ov) > MODEL_MAX_OVERRIDES) {
		sub(p, path, "override_anchors");
		return perr(err, errlen, p, "more than %d anchors", MODEL_MAX_OVERRIDES);
	}
	if (ov && json_array_size(ov) &&
	    !(out->override_anchors = calloc(json_array_size(ov), sizeof(char *))))
		return oom(err, errlen);
	json_array_foreach(ov, i, x)
	{
		idx(p, path, "override_anchors", i);
		if (!json_is_string(x))
			return perr(err, errlen, p, "expected a string");
		if ((rc = dup_str(json_string_value(x), &out->override_anchors[i], err, errlen)))
			return rc;
		out->noverride_anchors++;
		if (model_check_override_anchor(&out->override_anchors[i], perrbuf,
						sizeof(perrbuf)))
			return perr(err, errlen, p, "%s", perrbuf);
		for (size_t k = 0; k < i; k++)
			if (strcmp(out->override_anchors[k], out->override_anchors[i]) == 0)
				return perr(err, errlen, p, "duplicate of override_anchors[%zu]",
					    k);
	}
	return 0;
}

int invfile_parse_policy(json_t *j, const char *path, struct pin_policy *out, char *err,
			 size_t errlen)
{
	char p[PATHLEN];
	const char *s;
	size_t a, b;
	int rc, d;

	memset(out, 0, sizeof(*out));
	if ((rc = expect_object(j, path, policy_keys, err, errlen)) ||
	    (rc = get_str(j, "pattern", path, true, 1, 256, &s, err, errlen)))
		return rc;
	if ((rc = dup_str(s, &out->pattern, err, errlen)))
		goto fail;
	if (model_normalize_pattern(out->pattern)) {
		sub(p, path, "pattern");
		rc = perr(err, errlen, p, "not a host name or *./**. pattern");
		goto fail;
	}
	if ((rc = get_bool(j, "include_subdomains", path, false, &out->include_subdomains, err,
			   errlen)) ||
	    (rc = get_bool(j, "enforce", path, true, &out->enforce, err, errlen)) ||
	    (rc = get_date(j, "expires", path, false, out->expires, &out->expires_at, err,
			   errlen)) ||
	    (rc = get_str(j, "source", path, false, 1, 16, &s, err, errlen)))
		goto fail;
	if (s && !model_valid_source(s)) {
		sub(p, path, "source");
		rc = perr(err, errlen, p, "must be inventory, nsc, trustkit, okhttp or api");
		goto fail;
	}
	/* NULL when not given: the store decides ("inventory", or "api" for
	 * apps_policy_put). */
	if ((rc = dup_str(s, &out->source, err, errlen)) ||
	    (rc = parse_pins(j, path, out, err, errlen)))
		goto fail;
	if (out->include_subdomains && out->pattern[0] == '*') {
		sub(p, path, "include_subdomains");
		rc = perr(err, errlen, p, "only for an exact host pattern");
		goto fail;
	}
	if (out->enforce && out->npins == 0) {
		sub(p, path, "pins");
		rc = perr(err, errlen, p, "an enforcing policy needs at least one pin");
		goto fail;
	}
	d = model_find_dup(out->pins, out->npins, sizeof(*out->pins), model_pin_key_cmp, &a, &b);
	if (d) {
		idx(p, path, "pins", b);
		rc = d < 0 ? oom(err, errlen) : perr(err, errlen, p, "duplicate of pins[%zu]", a);
		goto fail;
	}
	if ((rc = parse_overrides(j, path, out, err, errlen)))
		goto fail;
	return 0;
fail:
	model_policy_free(out);
	return rc;
}

static const char *const sample_keys[] = { "at", "share", "active_users", NULL };

int invfile_parse_adoption(json_t *j, const char *path, struct adoption_sample *out, char *err,
			   size_t errlen)
{
	json_int_t users;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = expect_object(j, path, sample_keys, err, errlen)) ||
	    (rc = get_date(j, "at", path, true, out->at, &out->at_time, err, errlen)) ||
	    (rc = get_real(j, "share", path, true, 0, 0, 1, &out->share, err, errlen)) ||
	    (rc = get_int(j, "active_users", path, -1, 0, INT64_MAX, &users, err, errlen)))
		return rc;
	out->active_users = users;
	return 0;
}

static const char *const version_keys[] = { "version", "released", "adoption", "pin_policies",
					    NULL };

int invfile_parse_version(json_t *j, const char *path, struct app_version *out, char *err,
			  size_t errlen)
{
	char p[PATHLEN];
	const char *s;
	json_t *arr, *x;
	size_t i, a, b;
	int rc, d;

	memset(out, 0, sizeof(*out));
	if ((rc = expect_object(j, path, version_keys, err, errlen)) ||
	    (rc = get_str(j, "version", path, true, 1, 64, &s, err, errlen)))
		return rc;
	if ((rc = dup_str(s, &out->version, err, errlen)) ||
	    (rc = get_date(j, "released", path, false, out->released, NULL, err, errlen)) ||
	    (rc = get_array(j, "adoption", path, &arr, err, errlen)))
		goto fail;
	if (json_array_size(arr) > MODEL_MAX_SAMPLES) {
		sub(p, path, "adoption");
		rc = perr(err, errlen, p, "more than %d samples", MODEL_MAX_SAMPLES);
		goto fail;
	}
	if (arr && json_array_size(arr) &&
	    !(out->adoption = calloc(json_array_size(arr), sizeof(*out->adoption)))) {
		rc = oom(err, errlen);
		goto fail;
	}
	json_array_foreach(arr, i, x)
	{
		idx(p, path, "adoption", i);
		if ((rc = invfile_parse_adoption(x, p, &out->adoption[i], err, errlen)))
			goto fail;
		out->nadoption++;
	}
	d = model_find_dup(out->adoption, out->nadoption, sizeof(*out->adoption), model_sample_cmp,
			   &a, &b);
	if (d) {
		idx(p, path, "adoption", b);
		rc = d < 0 ? oom(err, errlen)
			   : perr(err, errlen, p, "second sample for %s (see adoption[%zu])",
				  out->adoption[b].at, a);
		goto fail;
	}
	if ((rc = get_array(j, "pin_policies", path, &arr, err, errlen)))
		goto fail;
	if (json_array_size(arr) > MODEL_MAX_POLICIES) {
		sub(p, path, "pin_policies");
		rc = perr(err, errlen, p, "more than %d policies", MODEL_MAX_POLICIES);
		goto fail;
	}
	if (arr && json_array_size(arr) &&
	    !(out->policies = calloc(json_array_size(arr), sizeof(*out->policies)))) {
		rc = oom(err, errlen);
		goto fail;
	}
	json_array_foreach(arr, i, x)
	{
		idx(p, path, "pin_policies", i);
		if ((rc = invfile_parse_policy(x, p, &out->policies[i], err, errlen)))
			goto fail;
		out->npolicies++;
	}
	d = model_find_dup(out->policies, out->npolicies, sizeof(*out->policies), model_policy_cmp,
			   &a, &b);
	if (d) {
		idx(p, path, "pin_policies", b);
		rc = d < 0 ? oom(err, errlen)
			   : perr(err, errlen, p,
				  "same pattern and include_subdomains as pin_policies[%zu]", a);
		goto fail;
	}
	model_sort_version(out);
	return 0;
fail:
	model_version_free(out);
	return rc;
}

static const char *const app_keys[] = {
	"name", "platform", "bundle_id", "adoption_threshold", "failure_mode", "versions", NULL
};
static const char *const app_keys_nover[] = { "name",	      "platform",
					      "bundle_id",    "adoption_threshold",
					      "failure_mode", NULL };

int invfile_parse_app(json_t *j, const char *path, bool with_versions, struct app *out, char *err,
		      size_t errlen)
{
	char p[PATHLEN];
	const char *s;
	json_t *arr, *x;
	size_t i, a, b;
	int rc, d;

	memset(out, 0, sizeof(*out));
	out->failure_mode = FAIL_TERMINATE;
	if ((rc = expect_object(j, path, with_versions ? app_keys : app_keys_nover, err, errlen)) ||
	    (rc = get_str(j, "name", path, true, 1, 128, &s, err, errlen)))
		return rc;
	if ((rc = dup_str(s, &out->name, err, errlen)) ||
	    (rc = get_str(j, "platform", path, true, 1, 16, &s, err, errlen)))
		goto fail;
	if (model_parse_platform(s, &out->platform)) {
		sub(p, path, "platform");
		rc = perr(err, errlen, p, "must be android, ios or other");
		goto fail;
	}
	if ((rc = get_str(j, "bundle_id", path, false, 1, 256, &s, err, errlen)) ||
	    (rc = dup_str(s, &out->bundle_id, err, errlen)) ||
	    (rc = get_real(j, "adoption_threshold", path, false, 0.95, 0, 1,
			   &out->adoption_threshold, err, errlen)) ||
	    (rc = get_str(j, "failure_mode", path, false, 1, 16, &s, err, errlen)))
		goto fail;
	if (s && model_parse_failure_mode(s, &out->failure_mode)) {
		sub(p, path, "failure_mode");
		rc = perr(err, errlen, p, "must be log, message, redirect or terminate");
		goto fail;
	}
	if (!with_versions)
		return 0;
	if ((rc = get_array(j, "versions", path, &arr, err, errlen)))
		goto fail;
	if (arr && json_array_size(arr) &&
	    !(out->versions = calloc(json_array_size(arr), sizeof(*out->versions)))) {
		rc = oom(err, errlen);
		goto fail;
	}
	json_array_foreach(arr, i, x)
	{
		idx(p, path, "versions", i);
		if ((rc = invfile_parse_version(x, p, &out->versions[i], err, errlen)))
			goto fail;
		out->nversions++;
	}
	d = model_find_dup(out->versions, out->nversions, sizeof(*out->versions),
			   model_app_version_cmp, &a, &b);
	if (d) {
		idx(p, path, "versions", b);
		rc = d < 0 ? oom(err, errlen)
			   : perr(err, errlen, p, "duplicate of versions[%zu] (%s)", a,
				  out->versions[b].version);
		goto fail;
	}
	model_sort_app(out);
	return 0;
fail:
	model_app_free(out);
	return rc;
}

static const char *const endpoint_keys[] = { "host",	"port", "sni",	       "environment",
					     "owner",	"tags", "third_party", "interval",
					     "enabled", NULL };

int invfile_parse_endpoint(json_t *j, const char *path, struct endpoint *out, char *err,
			   size_t errlen)
{
	char p[PATHLEN], msg[ERRLEN];
	const char *s;
	json_t *arr, *x;
	json_int_t port;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = expect_object(j, path, endpoint_keys, err, errlen)) ||
	    (rc = get_str(j, "host", path, true, 1, 254, &s, err, errlen)))
		return rc;
	if ((rc = dup_str(s, &out->host, err, errlen)) ||
	    (rc = get_int(j, "port", path, 443, 1, 65535, &port, err, errlen)))
		goto fail;
	out->port = (int)port;
	if ((rc = get_str(j, "sni", path, false, 1, 254, &s, err, errlen)) ||
	    (rc = dup_str(s, &out->sni, err, errlen)) ||
	    (rc = get_str(j, "environment", path, false, 1, 64, &s, err, errlen)) ||
	    (rc = dup_str(s ? s : "production", &out->environment, err, errlen)) ||
	    (rc = get_str(j, "owner", path, false, 0, 128, &s, err, errlen)) ||
	    (rc = dup_str(s, &out->owner, err, errlen)) ||
	    (rc = get_bool(j, "third_party", path, false, &out->third_party, err, errlen)) ||
	    (rc = get_bool(j, "enabled", path, true, &out->enabled, err, errlen)) ||
	    (rc = get_array(j, "tags", path, &arr, err, errlen)))
		goto fail;
	if (arr && json_array_size(arr) &&
	    !(out->tags = calloc(json_array_size(arr), sizeof(char *)))) {
		rc = oom(err, errlen);
		goto fail;
	}
	json_array_foreach(arr, i, x)
	{
		idx(p, path, "tags", i);
		if (!json_is_string(x)) {
			rc = perr(err, errlen, p, "expected a string");
			goto fail;
		}
		if ((rc = dup_str(json_string_value(x), &out->tags[i], err, errlen)))
			goto fail;
		out->ntags++;
	}
	x = json_object_get(j, "interval");
	out->interval_s = MODEL_DEFAULT_INTERVAL;
	if (x) {
		int64_t secs = 0;
		sub(p, path, "interval");
		if (json_is_integer(x))
			secs = json_integer_value(x);
		else if (!json_is_string(x) || util_parse_duration(json_string_value(x), &secs)) {
			rc = perr(err, errlen, p, "expected a duration such as \"5m\"");
			goto fail;
		}
		if (secs < 10 || secs > 604800) {
			rc = perr(err, errlen, p, "must be between 10s and 7d");
			goto fail;
		}
		out->interval_s = secs;
	}
	/* Field-level checks shared with the C API (host syntax, tags). */
	if ((rc = model_check_endpoint(out, msg, sizeof(msg)))) {
		rc = util_err(err, errlen, rc, "%s%s%s", path, *path ? "." : "", msg);
		goto fail;
	}
	return 0;
fail:
	model_endpoint_free(out);
	return rc;
}

static const char *const top_keys[] = { "endpoints", "apps", NULL };

int invfile_parse(json_t *root, struct inventory *out, char *err, size_t errlen)
{
	char p[PATHLEN];
	json_t *arr, *x;
	size_t i, a, b;
	int rc, d;

	memset(out, 0, sizeof(*out));
	if ((rc = expect_object(root, "", top_keys, err, errlen)) ||
	    (rc = get_array(root, "endpoints", "", &arr, err, errlen)))
		return rc;
	if (arr && json_array_size(arr) &&
	    !(out->endpoints = calloc(json_array_size(arr), sizeof(*out->endpoints)))) {
		rc = oom(err, errlen);
		goto fail;
	}
	json_array_foreach(arr, i, x)
	{
		idx(p, "", "endpoints", i);
		if ((rc = invfile_parse_endpoint(x, p, &out->endpoints[i], err, errlen)))
			goto fail;
		out->nendpoints++;
	}
	d = model_find_dup(out->endpoints, out->nendpoints, sizeof(*out->endpoints),
			   model_endpoint_cmp, &a, &b);
	if (d) {
		idx(p, "", "endpoints", b);
		rc = d < 0 ? oom(err, errlen)
			   : perr(err, errlen, p, "duplicate of endpoints[%zu] (%s:%d)", a,
				  out->endpoints[b].host, out->endpoints[b].port);
		goto fail;
	}
	if ((rc = get_array(root, "apps", "", &arr, err, errlen)))
		goto fail;
	if (arr && json_array_size(arr) &&
	    !(out->apps = calloc(json_array_size(arr), sizeof(*out->apps)))) {
		rc = oom(err, errlen);
		goto fail;
	}
	json_array_foreach(arr, i, x)
	{
		idx(p, "", "apps", i);
		if ((rc = invfile_parse_app(x, p, true, &out->apps[i], err, errlen)))
			goto fail;
		out->napps++;
	}
	d = model_find_dup(out->apps, out->napps, sizeof(*out->apps), model_app_cmp, &a, &b);
	if (d) {
		idx(p, "", "apps", b);
		rc = d < 0 ? oom(err, errlen)
			   : perr(err, errlen, p, "duplicate of apps[%zu] (%s)", a,
				  out->apps[b].name);
		goto fail;
	}
	model_sort_inventory(out);
	return 0;
fail:
	model_inventory_free(out);
	return rc;
}

int invfile_parse_text(const char *text, size_t len, struct inventory *out, char *err,
		       size_t errlen)
{
	json_error_t je;
	memset(out, 0, sizeof(*out));
	if (len > INVFILE_MAX_BYTES)
		return util_err(err, errlen, -EINVAL, "inventory larger than %u bytes",
				INVFILE_MAX_BYTES);
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return util_err(err, errlen, -EINVAL, "line %d column %d: %s", je.line, je.column,
				je.text);
	int rc = invfile_parse(root, out, err, errlen);
	json_decref(root);
	return rc;
}

char *invfile_dumps(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
	if (!s)
		return NULL;
	struct strbuf b;
	strbuf_init(&b, SIZE_MAX); /* the text is in memory already: no cap to keep */
	strbuf_addstr(&b, s);
	strbuf_addc(&b, '\n');
	free(s);
	return strbuf_take(&b, NULL);
}
