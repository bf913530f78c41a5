/* Pin-failure report parsing (pure): TrustKit and HPKP bodies to struct report. */
#include "signals/reports.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "base/util.h"
#include "pki/x509.h"

const char *reports_format_name(enum report_format f)
{
	return f == REPORT_HPKP ? "hpkp" : "trustkit";
}

const char *reports_class_name(enum report_class c)
{
	switch (c) {
	case REPORT_MATCHES_SERVER:
		return "matches_server";
	case REPORT_DIFFERS:
		return "differs";
	case REPORT_UNKNOWN_HOST:
		return "unknown_host";
	case REPORT_UNOBSERVED:
		return "unobserved";
	}
	return "unobserved";
}

static void certs_free(struct report_cert *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].subject);
		free(c[i].issuer);
	}
	free(c);
}

void reports_clear(struct report *r)
{
	if (!r)
		return;
	free(r->bundle_id);
	free(r->app_version);
	free(r->platform);
	free(r->platform_version);
	free(r->trustkit_version);
	free(r->hostname);
	free(r->noted_hostname);
	certs_free(r->served, r->nserved);
	certs_free(r->validated, r->nvalidated);
	free(r->known_pins);
	memset(r, 0, sizeof(*r));
}

/* jansson has no depth limit below its compile-time 2048; refuse deep
 * documents before parsing so that nesting cannot cost stack or time. */
static int check_depth(const char *body, size_t len, int max, char *err, size_t errlen)
{
	int depth = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				return util_err(err, errlen, -EINVAL,
						"body: JSON nested deeper than %d levels", max);
		} else if (c == '}' || c == ']')
			depth--;
	}
	return 0;
}

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

static json_t *load(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	if (!body || len == 0) {
		util_err(err, errlen, -EINVAL, "body: empty");
		return NULL;
	}
	if (check_depth(body, len, REPORTS_MAX_DEPTH, err, errlen))
		return NULL;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		util_err(err, errlen, -EINVAL, "body: invalid JSON at line %d column %d: %s",
			 je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		util_err(err, errlen, -EINVAL, "body: expected a JSON object, got %s",
			 type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Optional string member: absent or null leaves *out NULL. */
static int get_str(json_t *o, const char *key, bool required, size_t max, char **out, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return util_err(err, errlen, -EINVAL, "%s: missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return util_err(err, errlen, -EINVAL, "%s: expected a string, got %s", key,
				type_name(v));
	size_t n = json_string_length(v);
	if (n == 0 && required)
		return util_err(err, errlen, -EINVAL, "%s: empty", key);
	if (n > max)
		return util_err(err, errlen, -EINVAL, "%s: longer than %zu bytes", key, max);
	*out = strndup(json_string_value(v), n);
	if (!*out)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

static int get_bool(json_t *o, const char *key, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return util_err(err, errlen, -EINVAL, "%s: expected a boolean, got %s", key,
				type_name(v));
	*out = json_is_true(v) ? 1 : 0;
	return 0;
}

static int get_int(json_t *o, const char *key, long long min, long long max, long long *out,
		   bool *present, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*present = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return util_err(err, errlen, -EINVAL, "%s: expected an integer, got %s", key,
				type_name(v));
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return util_err(err, errlen, -EINVAL, "%s: %lld out of range [%lld, %lld]", key,
				(long long)i, min, max);
	*out = i;
	*present = true;
	return 0;
}

/* Report times as sent: "2026-11-27T10:01:02Z" (TrustKit iOS, HPKP),
 * "2026-11-27T10:01:02+0000" (TrustKit Android), optional fraction of a
 * second and "+HH:MM" offsets (Chrome). */
static int parse_report_time(const char *s, time_t *out)
{
	char base[21];
	size_t n = strlen(s);
	if (n < 20 || s[10] != 'T')
		return -EINVAL;
	memcpy(base, s, 19);
	base[19] = 'Z';
	base[20] = '\0';
	time_t t;
	if (util_parse_time(base, &t))
		return -EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		size_t digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 9) {
			p++;
			digits++;
		}
		if (digits == 0)
			return -EINVAL;
	}
	if (*p == 'Z' && p[1] == '\0') {
		*out = t;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -EINVAL;
	int sign = *p == '-' ? -1 : 1;
	p++;
	int hh, mm;
	if (strlen(p) == 4 && sscanf(p, "%2d%2d", &hh, &mm) == 2) {
		/* +HHMM */
	} else if (strlen(p) == 5 && p[2] == ':' && sscanf(p, "%2d:%2d", &hh, &mm) == 2) {
		/* +HH:MM */
	} else {
		return -EINVAL;
	}
	for (const char *q = p; *q; q++)
		if ((*q < '0' || *q > '9') && *q != ':')
			return -EINVAL;
	if (hh > 23 || mm > 59)
		return -EINVAL;
	*out = t - sign * (hh * 3600 + mm * 60);
	return 0;
}

/* One PEM certificate string: DER hash, SPKI pin, subject and issuer. */
static int parse_pem_cert(const char *pem, size_t len, struct report_cert *out)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t der = { NULL, 0 }, spki = { NULL, 0 };
	int rc = -EINVAL;

	if (!memmem(pem, len, "-----BEGIN CERTIFICATE-----", 27))
		return -EINVAL;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)pem, (unsigned)len };
	if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) < 0)
		goto out;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0)
		goto out;
	if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_x509(pub, crt, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) < 0)
		goto out;
	if (util_sha256(der.data, der.size, out->sha256) ||
	    util_sha256(spki.data, spki.size, out->spki))
		goto out;
	out->subject = x509_dn_string(crt, false, 1024);
	out->issuer = x509_dn_string(crt, true, 1024);
	if (!out->subject || !out->issuer) {
		free(out->subject);
		free(out->issuer);
		out->subject = out->issuer = NULL;
		rc = -ENOMEM;
		goto out;
	}
	rc = 0;
out:
	gnutls_free(der.data);
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

static int get_chain(json_t *o, const char *key, bool required, struct report_cert **out, size_t *n,
		     bool *present, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	*n = 0;
	*present = false;
	if (!v || json_is_null(v)) {
		if (required)
			return util_err(err, errlen, -EINVAL, "%s: missing", key);
		return 0;
	}
	if (!json_is_array(v))
		return util_err(err, errlen, -EINVAL,
				"%s: expected an array of PEM strings, got %s", key, type_name(v));
	size_t cnt = json_array_size(v);
	if (cnt > REPORTS_MAX_CHAIN)
		return util_err(err, errlen, -EINVAL, "%s: more than %d certificates", key,
				REPORTS_MAX_CHAIN);
	*present = true;
	if (cnt == 0)
		return 0;
	struct report_cert *c = calloc(cnt, sizeof(*c));
	if (!c)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e)) {
			certs_free(c, i);
			return util_err(err, errlen, -EINVAL,
					"%s[%zu]: expected a PEM string, got %s", key, i,
					type_name(e));
		}
		size_t len = json_string_length(e);
		int rc = len > REPORTS_MAX_PEM ? -E2BIG
					       : parse_pem_cert(json_string_value(e), len, &c[i]);
		if (rc) {
			certs_free(c, i);
			if (rc == -ENOMEM)
				return util_err(err, errlen, rc, "out of memory");
			return util_err(err, errlen, -EINVAL, "%s[%zu]: %s", key, i,
					rc == -E2BIG ? "certificate string too long"
						     : "not a PEM certificate");
		}
	}
	*out = c;
	*n = cnt;
	return 0;
}

/* known-pins: RFC 7469 directives 'pin-sha256="<base64>"'. Pins of other
 * hash algorithms are skipped (RFC 7469 2.1.1: unknown algorithms are ignored). */
static int get_pins(json_t *o, const char *key, struct report *r, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return util_err(err, errlen, -EINVAL, "%s: missing", key);
	if (!json_is_array(v))
		return util_err(err, errlen, -EINVAL, "%s: expected an array of strings, got %s",
				key, type_name(v));
	size_t cnt = json_array_size(v);
	if (cnt > REPORTS_MAX_PINS)
		return util_err(err, errlen, -EINVAL, "%s: more than %d pins", key,
				REPORTS_MAX_PINS);
	if (cnt == 0)
		return 0;
	r->known_pins = calloc(cnt, sizeof(*r->known_pins));
	if (!r->known_pins)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e))
			return util_err(err, errlen, -EINVAL, "%s[%zu]: expected a string, got %s",
					key, i, type_name(e));
		const char *s = json_string_value(e);
		size_t len = json_string_length(e);
		if (len > 128 || strncmp(s, "pin-", 4) != 0)
			return util_err(err, errlen, -EINVAL,
					"%s[%zu]: expected pin-sha256=\"<base64>\"", key, i);
		const char *eq = strchr(s, '=');
		if (!eq || eq[1] != '"' || len < 2 || s[len - 1] != '"' || eq + 1 == s + len - 1)
			return util_err(err, errlen, -EINVAL,
					"%s[%zu]: expected pin-sha256=\"<base64>\"", key, i);
		if ((size_t)(eq - s) != 10 || strncmp(s, "pin-sha256", 10) != 0)
			continue; /* another algorithm */
		char b64[128];
		size_t blen = (size_t)(s + len - 1 - (eq + 2));
		memcpy(b64, eq + 2, blen);
		b64[blen] = '\0';
		size_t outlen = 0;
		if (util_b64_decode(b64, r->known_pins[r->nknown], 32, &outlen) || outlen != 32)
			return util_err(err, errlen, -EINVAL,
					"%s[%zu]: pin-sha256 is not 32 bytes of base64", key, i);
		r->nknown++;
	}
	return 0;
}

static int get_host(json_t *o, const char *key, bool required, char **out, char *err, size_t errlen)
{
	int rc = get_str(o, key, required, 253, out, err, errlen);
	if (rc || !*out)
		return rc;
	if (!required && !**out) {
		/* An empty optional host (some clients send "" for noted-hostname) is absent. */
		free(*out);
		*out = NULL;
		return 0;
	}
	if (model_normalize_host(*out)) {
		free(*out);
		*out = NULL;
		return util_err(err, errlen, -EINVAL, "%s: not a valid host name", key);
	}
	return 0;
}

static int get_time(json_t *o, const char *key, time_t *out, char *err, size_t errlen)
{
	char *s = NULL;
	int rc = get_str(o, key, false, 64, &s, err, errlen);
	if (rc || !s)
		return rc;
	rc = parse_report_time(s, out);
	free(s);
	if (rc)
		return util_err(err, errlen, -EINVAL,
				"%s: expected an ISO 8601 UTC time like 2026-11-27T10:00:00Z", key);
	return 0;
}

/* Expiration dates: TrustKit "YYYY-MM-DD", HPKP a date-time; kept as text. */
static int get_expiration(json_t *o, const char *key, struct report *r, char *err, size_t errlen)
{
	char *s = NULL;
	int rc = get_str(o, key, false, 64, &s, err, errlen);
	if (rc || !s)
		return rc;
	time_t t;
	if (util_parse_date(s, &t) && parse_report_time(s, &t)) {
		free(s);
		return util_err(err, errlen, -EINVAL, "%s: expected a date or ISO 8601 time", key);
	}
	snprintf(r->expiration, sizeof(r->expiration), "%s", s);
	free(s);
	return 0;
}

/* Members shared by both formats (the HPKP fields TrustKit reuses). */
static int parse_common(json_t *o, struct report *r, bool need_served, char *err, size_t errlen)
{
	long long port = 0;
	bool present;
	int rc;
	bool served_p, validated_p;

	if ((rc = get_host(o, "hostname", true, &r->hostname, err, errlen)) ||
	    (rc = get_int(o, "port", 0, 65535, &port, &present, err, errlen)) ||
	    (rc = get_host(o, "noted-hostname", false, &r->noted_hostname, err, errlen)) ||
	    (rc = get_bool(o, "include-subdomains", &r->include_subdomains, err, errlen)) ||
	    (rc = get_time(o, "date-time", &r->date_time, err, errlen)) ||
	    (rc = get_chain(o, "served-certificate-chain", need_served, &r->served, &r->nserved,
			    &served_p, err, errlen)) ||
	    (rc = get_chain(o, "validated-certificate-chain", false, &r->validated, &r->nvalidated,
			    &validated_p, err, errlen)) ||
	    (rc = get_pins(o, "known-pins", r, err, errlen)))
		return rc;
	r->port = (int)port;
	if (!served_p && !validated_p)
		return util_err(
			err, errlen, -EINVAL,
			"validated-certificate-chain: missing (and no served-certificate-chain)");
	if (r->nserved == 0 && r->nvalidated == 0)
		return util_err(err, errlen, -EINVAL, "served-certificate-chain: empty");
	return 0;
}

static int parse_trustkit_obj(json_t *o, struct report *r, char *err, size_t errlen)
{
	long long vr = -1;
	bool present;
	int rc;

	r->format = REPORT_TRUSTKIT;
	r->include_subdomains = r->enforce = r->validation_result = -1;
	if ((rc = get_str(o, "app-bundle-id", true, 256, &r->bundle_id, err, errlen)) ||
	    (rc = get_str(o, "app-version", true, 64, &r->app_version, err, errlen)) ||
	    (rc = get_str(o, "app-platform", false, 32, &r->platform, err, errlen)) ||
	    (rc = get_str(o, "app-platform-version", false, 64, &r->platform_version, err,
			  errlen)) ||
	    (rc = get_str(o, "trustkit-version", false, 32, &r->trustkit_version, err, errlen)) ||
	    (rc = get_bool(o, "enforce-pinning", &r->enforce, err, errlen)) ||
	    (rc = get_int(o, "validation-result", 0, 1000, &vr, &present, err, errlen)) ||
	    (rc = get_expiration(o, "known-pins-expiration-date", r, err, errlen)))
		return rc;
	/* app-vendor-id is a device identifier: type-checked, never kept. */
	char *vendor = NULL;
	if ((rc = get_str(o, "app-vendor-id", false, REPORTS_MAX_STRING, &vendor, err, errlen)))
		return rc;
	free(vendor);
	r->validation_result = present ? (int)vr : -1;
	return parse_common(o, r, false, err, errlen);
}

static int parse_hpkp_obj(json_t *o, struct report *r, char *err, size_t errlen)
{
	r->format = REPORT_HPKP;
	r->include_subdomains = r->enforce = r->validation_result = -1;
	int rc = get_expiration(o, "effective-expiration-date", r, err, errlen);
	if (rc)
		return rc;
	/* enforce stays unknown: Public-Key-Pins and its Report-Only twin send the same body. */
	return parse_common(o, r, true, err, errlen);
}

static int finish(int rc, json_t *root, struct report *out)
{
	json_decref(root);
	if (rc)
		reports_clear(out);
	return rc;
}

int reports_parse_trustkit(const char *body, size_t len, struct report *out, char *err,
			   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(body, len, err, errlen);
	if (!root)
		return -EINVAL;
	return finish(parse_trustkit_obj(root, out, err, errlen), root, out);
}

static json_t *hpkp_inner(json_t *root, char *err, size_t errlen)
{
	json_t *inner = json_object_get(root, "hpkp-report");
	if (!inner)
		return root;
	if (!json_is_object(inner)) {
		util_err(err, errlen, -EINVAL, "hpkp-report: expected an object, got %s",
			 type_name(inner));
		return NULL;
	}
	return inner;
}

int reports_parse_hpkp(const char *body, size_t len, struct report *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(body, len, err, errlen);
	if (!root)
		return -EINVAL;
	json_t *o = hpkp_inner(root, err, errlen);
	if (!o)
		return finish(-EINVAL, root, out);
	return finish(parse_hpkp_obj(o, out, err, errlen), root, out);
}

/* TrustKit adds app-* fields and validation-result to the HPKP ones; any of
 * them marks a TrustKit body (so that a missing bundle id is reported as such). */
static bool looks_trustkit(json_t *root)
{
	static const char *const keys[] = { "app-bundle-id",	 "app-version",
					    "app-platform",	 "trustkit-version",
					    "validation-result", "enforce-pinning" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(root, keys[i]))
			return true;
	return false;
}

static int parse_detect(json_t *root, struct report *out, char *err, size_t errlen)
{
	if (json_object_get(root, "hpkp-report") || !looks_trustkit(root)) {
		json_t *o = hpkp_inner(root, err, errlen);
		return o ? parse_hpkp_obj(o, out, err, errlen) : -EINVAL;
	}
	return parse_trustkit_obj(root, out, err, errlen);
}

int reports_parse(const char *body, size_t len, struct report *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(body, len, err, errlen);
	if (!root)
		return -EINVAL;
	return finish(parse_detect(root, out, err, errlen), root, out);
}

/* Depth of @j, stopping as soon as it exceeds @max (so recursion is bounded). */
static int tree_depth(json_t *j, int max)
{
	if (!json_is_object(j) && !json_is_array(j))
		return 0;
	if (max <= 0)
		return 1;
	int d = 0;
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
		{
			int c = tree_depth(v, max - 1);
			if (c > d)
				d = c;
			if (d >= max)
				break;
		}
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
		{
			int c = tree_depth(v, max - 1);
			if (c > d)
				d = c;
			if (d >= max)
				break;
		}
	}
	return d + 1;
}

int reports_parse_value(json_t *root, struct report *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!root || !json_is_object(root))
		return util_err(err, errlen, -EINVAL, "body: expected a JSON object, got %s",
				root ? type_name(root) : "nothing");
	if (tree_depth(root, REPORTS_MAX_DEPTH) > REPORTS_MAX_DEPTH)
		return util_err(err, errlen, -EINVAL, "body: JSON nested deeper than %d levels",
				REPORTS_MAX_DEPTH);
	int rc = parse_detect(root, out, err, errlen);
	if (rc)
		reports_clear(out);
	return rc;
}

void reports_chain_fingerprint(const struct report *r, uint8_t out[32])
{
	const struct report_cert *c = r->nserved ? r->served : r->validated;
	size_t n = r->nserved ? r->nserved : r->nvalidated;
	struct x509_chain_fp fp;
	x509_chain_fp_init(&fp);
	for (size_t i = 0; i < n && i < REPORTS_MAX_CHAIN; i++)
		x509_chain_fp_add(&fp, c[i].sha256);
	(void)x509_chain_fp_end(&fp, out); /* zeroed on failure */
}
