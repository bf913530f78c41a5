/* TrustKit configuration (iOS / macOS TrustKit): JSON, the TSKConfiguration
 * dict of an Info.plist (XML or binary), or the dictionary literal of an
 * Objective-C / Swift initialisation (importers_tksrc.c). Every form becomes
 * one JSON tree first, so all of them go through one walker and give
 * identical policies.
 *
 * Keys are the string values TrustKit reads (TSKTrustKitConfig.m) or the names
 * of its constants (kTSK..., what source code writes). Note TrustKit's own
 * spelling of the exclusion key: the constant kTSKExcludeSubdomainFromParentPolicy
 * has the value "kSKExcludeSubdomainFromParentPolicy"; the spelling in
 * TrustKit.h's table, "TSKExcludeSubdomainFromParentPolicy", is read by no
 * TrustKit version and is refused here with that explanation.
 *
 * What parseTrustKitConfiguration() does, and so what is modelled:
 * TSKIncludeSubdomains default NO; TSKEnforcePinning default YES;
 * TSKExpirationDate "yyyy-MM-dd" in UTC (a date it cannot read is dropped:
 * the pins never expire); TSKPublicKeyHashes a set (duplicates count once) of
 * which an enforcing domain needs 2 and a report-only one 1, else TrustKit
 * raises at start; an excluded domain may carry no other key and needs a
 * parent with TSKIncludeSubdomains. TSKReportUris, TSKDisableDefaultReportUri,
 * TSKPublicKeyAlgorithms (deprecated since 1.6.0), TSKSwizzleNetworkDelegates
 * and TSKIgnorePinningForUserDefinedTrustAnchors (macOS only) do not change
 * which chains an iOS app accepts: type-checked, noted and ignored.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "readiness/readiness.h"
#include "base/util.h"

#define PATH_LEN 512

enum tk_key {
	K_UNKNOWN,
	K_PINNED_DOMAINS,
	K_SWIZZLE,
	K_IGNORE_USER_ANCHORS,
	K_HASHES,
	K_ENFORCE,
	K_EXCLUDE,
	K_INCLUDE_SUBDOMAINS,
	K_ALGORITHMS,
	K_REPORT_URIS,
	K_DISABLE_DEFAULT_REPORT,
	K_EXPIRATION,
	K_COUNT,
};

/* The value TrustKit reads (TSKTrustKitConfig.m) and the constant's name. */
static const struct {
	const char *value, *constant;
	bool domain; /* a key of a domain dict (else a global key) */
} keys[K_COUNT] = {
	[K_PINNED_DOMAINS] = { "TSKPinnedDomains", "kTSKPinnedDomains", false },
	[K_SWIZZLE] = { "TSKSwizzleNetworkDelegates", "kTSKSwizzleNetworkDelegates", false },
	[K_IGNORE_USER_ANCHORS] = { "TSKIgnorePinningForUserDefinedTrustAnchors",
				    "kTSKIgnorePinningForUserDefinedTrustAnchors", false },
	[K_HASHES] = { "TSKPublicKeyHashes", "kTSKPublicKeyHashes", true },
	[K_ENFORCE] = { "TSKEnforcePinning", "kTSKEnforcePinning", true },
	[K_EXCLUDE] = { "kSKExcludeSubdomainFromParentPolicy",
			"kTSKExcludeSubdomainFromParentPolicy", true },
	[K_INCLUDE_SUBDOMAINS] = { "TSKIncludeSubdomains", "kTSKIncludeSubdomains", true },
	[K_ALGORITHMS] = { "TSKPublicKeyAlgorithms", "kTSKPublicKeyAlgorithms", true },
	[K_REPORT_URIS] = { "TSKReportUris", "kTSKReportUris", true },
	[K_DISABLE_DEFAULT_REPORT] = { "TSKDisableDefaultReportUri", "kTSKDisableDefaultReportUri",
				       true },
	[K_EXPIRATION] = { "TSKExpirationDate", "kTSKExpirationDate", true },
};

struct tk {
	struct import_policies *r;
	const char *name;
	char *err;
	size_t errlen;
	const struct imp_tk_src *src; /* lines of a source file, or NULL */
	bool source;		      /* keys come from code: constant names are normal */
	bool noted_constants;
};

static enum tk_key key_of(const char *k, bool *constant)
{
	for (int i = 1; i < K_COUNT; i++) {
		if (!strcmp(k, keys[i].value)) {
			*constant = false;
			return (enum tk_key)i;
		}
		if (!strcmp(k, keys[i].constant)) {
			*constant = true;
			return (enum tk_key)i;
		}
	}
	return K_UNKNOWN;
}

static int tk_fail(struct tk *t, const json_t *at, const char *path, int rc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int tk_fail(struct tk *t, const json_t *at, const char *path, int rc, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unsigned line = t->src ? imp_tk_src_line(t->src, at) : 0;
	if (line)
		return util_err(t->err, t->errlen, rc, "%s:%u: %s: %s", t->name, line, path, msg);
	return util_err(t->err, t->errlen, rc, "%s: %s: %s", t->name, path, msg);
}

/* Key paths are for messages; a truncated one is still useful. */
static void pathf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void pathf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, n, fmt, ap);
	va_end(ap);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a dictionary";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null (or a plist <date> or <data>)";
	}
	return "?";
}

static int want(struct tk *t, const char *path, const json_t *v, json_type type, const char *what)
{
	if (json_typeof(v) == type)
		return 0;
	return tk_fail(t, v, path, -EINVAL, "expected %s, got %s", what, type_name(v));
}

/* TrustKit reads booleans with -boolValue: an NSNumber (a plist <integer> or
 * <real> too) is YES when non-zero, an NSString YES when it starts (after
 * blanks, a sign and zeros) with Y, y, T, t or a digit 1-9. */
static int want_bool(struct tk *t, const char *path, const json_t *v, bool *out)
{
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_number(v)) {
		*out = json_number_value(v) != 0;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		s += strspn(s, " \t\n\r");
		if (*s == '+' || *s == '-')
			s++;
		s += strspn(s, "0");
		*out = *s == 'Y' || *s == 'y' || *s == 'T' || *s == 't' || (*s >= '1' && *s <= '9');
		char esc[128];
		imp_note(t->r,
			 "%s: %s: the string '%s' where a boolean belongs; TrustKit reads it as %s",
			 t->name, path, imp_esc(json_string_value(v), esc, sizeof(esc)),
			 *out ? "YES" : "NO");
		return 0;
	}
	return tk_fail(t, v, path, -EINVAL, "expected a boolean, got %s", type_name(v));
}

static int string_array(struct tk *t, const char *path, const json_t *v)
{
	char p[PATH_LEN];
	size_t i;
	json_t *e;
	if (want(t, path, v, JSON_ARRAY, "an array of strings"))
		return -EINVAL;
	json_array_foreach(v, i, e)
	{
		pathf(p, sizeof(p), "%s[%zu]", path, i);
		if (want(t, p, e, JSON_STRING, "a string"))
			return -EINVAL;
	}
	return 0;
}

/* The constant names are what code writes; a plist or JSON file that uses
 * them is not what TrustKit's Info.plist reader sees. Said once per file. */
static void note_constant(struct tk *t, const char *key)
{
	if (t->source || t->noted_constants)
		return;
	t->noted_constants = true;
	imp_note(t->r,
		 "%s: keys written as TrustKit constant names (%s): TrustKit reads the constants' "
		 "values (%s) from an Info.plist; imported as if written so",
		 t->name, key, keys[key_of(key, &(bool){ false })].value);
}

/* NSDateFormatter "yyyy-MM-dd" in UTC; one-digit month and day are read too. */
static int tk_date(const char *s, char out[MODEL_DATE_LEN], time_t *at)
{
	int y, m, d, n = -1;
	char buf[32];
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n < 0 || s[n] || s[0] == ' ')
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	return imp_date(buf, out, at);
}

/* The TSKPublicKeyHashes of domain @dpath (@hashes, an array of strings or
 * NULL) into @ps: each a base64 SHA-256, and as many distinct pins as
 * TrustKit requires. 0 or -EINVAL (message set). */
static int domain_pins(struct tk *t, const char *dpath, const json_t *d, const json_t *hashes,
		       bool enforce, struct imp_pinset *ps)
{
	char path[PATH_LEN], msg[ERRLEN], esc[300];
	size_t i;
	json_t *v;
	json_array_foreach(hashes, i, v)
	{
		uint8_t pin[32];
		const char *b64 = json_string_value(v);
		pathf(path, sizeof(path), "%s.%s[%zu]", dpath, keys[K_HASHES].value, i);
		if (util_pin_decode_b64(b64, pin, msg, sizeof(msg)))
			return tk_fail(t, v, path, -EINVAL, "%s", imp_esc(msg, esc, sizeof(esc)));
		if (strlen(b64) != 44 || b64[43] != '=')
			imp_note(t->r,
				 "%s: %s: not in canonical padded form; Apple's base64 decoder, "
				 "which TrustKit uses, wants the '=' padding",
				 t->name, path);
		if (imp_pinset_add(ps, pin))
			return tk_fail(t, v, path, -EINVAL, "more than %d pins",
				       IMPORTERS_MAX_PINS);
	}
	/* TrustKit: "less than N pins (ie. no backup pins)" raises at start */
	size_t need = enforce ? 2 : 1;
	if (ps->npins < need)
		return tk_fail(
			t, hashes ? hashes : d, dpath, -EINVAL,
			"%zu distinct pin%s in TSKPublicKeyHashes; TrustKit requires %zu for "
			"a%s domain (a backup pin) and raises at start otherwise",
			ps->npins, ps->npins == 1 ? "" : "s", need,
			enforce ? "n enforcing" : " report-only");
	return 0;
}

static int parse_domain(struct tk *t, const char *dpath, const char *host, const json_t *d)
{
	char path[PATH_LEN], msg[ERRLEN], esc[300];
	const char *key;
	json_t *v, *seen[K_COUNT] = { NULL };
	bool incl = false, enforce = true, exclude = false, constant;
	struct imp_pinset ps;
	memset(&ps, 0, sizeof(ps));

	if (want(t, dpath, d, JSON_OBJECT, "a dictionary"))
		return -EINVAL;
	if (strchr(host, '*'))
		return tk_fail(t, d, dpath, -EINVAL, "TrustKit does not accept wildcard domains");
	json_object_foreach((json_t *)d, key, v)
	{
		pathf(path, sizeof(path), "%s.%s", dpath, key);
		enum tk_key k = key_of(key, &constant);
		if (k == K_UNKNOWN && !strcmp(key, "TSKExcludeSubdomainFromParentPolicy"))
			return tk_fail(
				t, v, path, -EINVAL,
				"TrustKit does not read this key: the value of its constant "
				"kTSKExcludeSubdomainFromParentPolicy is "
				"\"kSKExcludeSubdomainFromParentPolicy\" (TSKTrustKitConfig.m)");
		if (k == K_UNKNOWN || !keys[k].domain) {
			imp_note(t->r, "%s: %s: not a domain key TrustKit reads; ignored", t->name,
				 imp_esc(path, esc, sizeof(esc)));
			continue;
		}
		if (seen[k])
			return tk_fail(t, v, path, -EINVAL, "given twice (as %s and %s)",
				       keys[k].value, keys[k].constant);
		seen[k] = v;
		if (constant)
			note_constant(t, key);
		switch (k) {
		case K_HASHES:
		case K_ALGORITHMS:
		case K_REPORT_URIS:
			if (string_array(t, path, v))
				return -EINVAL;
			break;
		case K_INCLUDE_SUBDOMAINS:
			if (want_bool(t, path, v, &incl))
				return -EINVAL;
			break;
		case K_ENFORCE:
			if (want_bool(t, path, v, &enforce))
				return -EINVAL;
			break;
		case K_EXCLUDE:
			if (want_bool(t, path, v, &exclude))
				return -EINVAL;
			break;
		case K_DISABLE_DEFAULT_REPORT: {
			bool b;
			if (want_bool(t, path, v, &b))
				return -EINVAL;
			break;
		}
		case K_EXPIRATION:
			if (want(t, path, v, JSON_STRING, "a date string \"yyyy-MM-dd\""))
				return -EINVAL;
			if (tk_date(json_string_value(v), ps.expires, &ps.expires_at)) {
				imp_note(t->r,
					 "%s: %s: '%s' is not a yyyy-MM-dd date; TrustKit ignores "
					 "it "
					 "and the pins never expire",
					 t->name, path,
					 imp_esc(json_string_value(v), esc, sizeof(esc)));
				ps.expires[0] = '\0';
				ps.expires_at = 0;
			}
			break;
		default:
			break;
		}
	}
	if (seen[K_ALGORITHMS])
		imp_note(t->r,
			 "%s: %s: TSKPublicKeyAlgorithms is deprecated (TrustKit >= 1.6.0 "
			 "ignores it); ignored",
			 t->name, dpath);
	if (seen[K_REPORT_URIS] || seen[K_DISABLE_DEFAULT_REPORT])
		imp_note(t->r,
			 "%s: %s: report settings do not change which chains are accepted; "
			 "ignored",
			 t->name, dpath);

	if (exclude) {
		for (int k = 1; k < K_COUNT; k++)
			if (seen[k] && k != K_EXCLUDE)
				return tk_fail(
					t, seen[k], dpath, -EINVAL,
					"an excluded domain (kSKExcludeSubdomainFromParentPolicy) "
					"may have no other key, found %s; TrustKit raises at start",
					keys[k].value);
		if (imp_add_policy(t->r, host, false, false, NULL, "trustkit", msg, sizeof(msg)))
			return tk_fail(t, d, dpath, -EINVAL, "%s", msg);
		return 0;
	}
	int rc = domain_pins(t, dpath, d, seen[K_HASHES], enforce, &ps);
	if (rc)
		return rc;
	rc = imp_add_policy(t->r, host, incl, enforce, &ps, "trustkit", msg, sizeof(msg));
	if (rc)
		return tk_fail(t, d, dpath, rc, "%s", msg);
	return 0;
}

/* The configuration dict: a document holding it under TSKConfiguration (an
 * Info.plist), or the dict itself (what code passes to TrustKit). */
static const json_t *find_config(const json_t *root, const char **prefix)
{
	const json_t *c = json_object_get(root, "TSKConfiguration");
	bool constant;
	if (c) {
		*prefix = "TSKConfiguration.";
		return c;
	}
	*prefix = "";
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)root, key, v)
	{
		if (key_of(key, &constant) == K_PINNED_DOMAINS)
			return root;
	}
	return NULL;
}

static int walk(struct tk *t, const json_t *root)
{
	char path[PATH_LEN], dpath[PATH_LEN], esc[300];
	const char *prefix = "", *dkey = keys[K_PINNED_DOMAINS].value;
	const char *key;
	json_t *v, *domains = NULL, *seen[K_COUNT] = { NULL };
	bool constant;

	if (!json_is_object(root))
		return tk_fail(t, root, "(top level)", -EINVAL, "expected a dictionary, got %s",
			       type_name(root));
	const json_t *cfg = find_config(root, &prefix);
	if (!cfg)
		return tk_fail(t, root, "(top level)", -EINVAL,
			       "neither a TSKConfiguration dictionary nor TSKPinnedDomains");
	if (want(t, "TSKConfiguration", cfg, JSON_OBJECT, "a dictionary"))
		return -EINVAL;
	json_object_foreach((json_t *)cfg, key, v)
	{
		pathf(path, sizeof(path), "%s%s", prefix, key);
		enum tk_key k = key_of(key, &constant);
		if (k == K_UNKNOWN || keys[k].domain) {
			if (cfg != root || !strncmp(key, "TSK", 3) || !strncmp(key, "kTSK", 4))
				imp_note(t->r, "%s: %s: not a key TrustKit reads here; ignored",
					 t->name, imp_esc(path, esc, sizeof(esc)));
			continue;
		}
		if (seen[k])
			return tk_fail(t, v, path, -EINVAL, "given twice (as %s and %s)",
				       keys[k].value, keys[k].constant);
		seen[k] = v;
		if (constant)
			note_constant(t, key);
		if (k == K_PINNED_DOMAINS) {
			if (want(t, path, v, JSON_OBJECT, "a dictionary"))
				return -EINVAL;
			domains = v;
			dkey = key;
		} else {
			bool b;
			if (want_bool(t, path, v, &b))
				return -EINVAL;
			imp_note(t->r, "%s: %s: %s; ignored", t->name, path,
				 k == K_SWIZZLE ? "swizzling decides how TrustKit hooks in, not "
						  "which chains it accepts"
						: "macOS only (pins are skipped for chains to "
						  "user-installed roots); pinwatch models iOS");
		}
	}
	if (!domains)
		return tk_fail(t, cfg, prefix[0] ? "TSKConfiguration" : "(top level)", -EINVAL,
			       "TSKPinnedDomains is missing; TrustKit raises at start");
	if (json_object_size(domains) == 0) {
		pathf(path, sizeof(path), "%s%s", prefix, dkey);
		return tk_fail(t, domains, path, -EINVAL,
			       "no pinned domain; TrustKit raises at start");
	}
	json_object_foreach(domains, key, v)
	{
		pathf(dpath, sizeof(dpath), "%s%s[\"%s\"]", prefix, dkey,
		      imp_esc(key, esc, sizeof(esc)));
		char host[300];
		snprintf(host, sizeof(host), "%s", key);
		if (strlen(key) >= sizeof(host) ||
		    (!strchr(host, '*') && model_normalize_host(host)))
			return tk_fail(t, v, dpath, -EINVAL, "not a valid host name");
		int rc = parse_domain(t, dpath, host, v);
		if (rc)
			return rc;
	}
	/* TrustKit requires an excluded subdomain to sit under a parent policy
	 * with TSKIncludeSubdomains. */
	for (size_t i = 0; i < t->r->npolicies; i++) {
		const struct pin_policy *ex = &t->r->policies[i];
		if (ex->enforce || ex->npins)
			continue;
		bool parent = false;
		for (size_t j = 0; j < t->r->npolicies && !parent; j++) {
			const struct pin_policy *p = &t->r->policies[j];
			parent = p->npins && p->include_subdomains &&
				 strcmp(p->pattern, ex->pattern) &&
				 readiness_pattern_covers(p->pattern, true, ex->pattern);
		}
		if (!parent) {
			pathf(dpath, sizeof(dpath), "%s%s[\"%s\"]", prefix, dkey, ex->pattern);
			return tk_fail(
				t, json_object_get(domains, ex->pattern), dpath, -EINVAL,
				"excluded (kSKExcludeSubdomainFromParentPolicy) but no parent "
				"domain has TSKIncludeSubdomains; TrustKit raises at start");
		}
	}
	imp_sort(t->r);
	return 0;
}

static int walk_root(const char *name, json_t *root, const struct imp_tk_src *src,
		     struct import_policies *out, char *err, size_t errlen)
{
	struct tk t = { .r = out,
			.name = name,
			.err = err,
			.errlen = errlen,
			.src = src,
			.source = src != NULL };
	int rc = walk(&t, root);
	return rc ? imp_fail(rc, name, out, err, errlen) : 0;
}

int importers_parse_trustkit_json(const char *buf, size_t len, const char *name,
				  struct import_policies *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len > IMPORTERS_MAX_CONFIG)
		return util_err(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
				IMPORTERS_MAX_CONFIG);
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char esc[300];
		return util_err(err, errlen, -EINVAL, "%s:%d:%d: %s", name, jerr.line, jerr.column,
				imp_esc(jerr.text, esc, sizeof(esc)));
	}
	int rc = walk_root(name, root, NULL, out, err, errlen);
	json_decref(root);
	return rc;
}

int importers_parse_trustkit_source(const char *buf, size_t len, const char *name,
				    struct import_policies *out, char *err, size_t errlen)
{
	struct imp_tk_src src;
	memset(out, 0, sizeof(*out));
	int rc = imp_tk_scan(buf, len, name, &src, err, errlen);
	if (rc)
		return rc;
	rc = walk_root(name, src.root, &src, out, err, errlen);
	for (size_t i = 0; !rc && i < src.nnotes; i++)
		imp_note(out, "%s", src.notes[i]);
	imp_tk_src_free(&src);
	return rc;
}

int imp_trustkit_plist(const char *buf, size_t len, const char *name, struct import_policies *out,
		       char *version, size_t versionlen, char *err, size_t errlen)
{
	json_t *root = NULL;
	memset(out, 0, sizeof(*out));
	if (version && versionlen)
		version[0] = '\0';
	int rc = imp_plist_to_json(buf, len, name, &root, err, errlen);
	if (rc)
		return rc == -ENOMEM ? imp_fail(rc, name, out, err, errlen) : rc;
	if (version) {
		const json_t *v = json_object_get(root, "CFBundleShortVersionString");
		if (json_is_string(v) && json_string_length(v) < versionlen)
			snprintf(version, versionlen, "%s", json_string_value(v));
		if (!json_object_get(root, "TSKConfiguration")) {
			json_decref(root);
			return util_err(err, errlen, -ENOENT,
					"%s: no TSKConfiguration key: this app does not configure "
					"TrustKit in its Info.plist (it may do so in code: use "
					"import-trustkit on that source file)",
					name);
		}
	}
	rc = walk_root(name, root, NULL, out, err, errlen);
	json_decref(root);
	return rc;
}

int importers_parse_trustkit_plist(const char *buf, size_t len, const char *name,
				   struct import_policies *out, char *err, size_t errlen)
{
	return imp_trustkit_plist(buf, len, name, out, NULL, 0, err, errlen);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int importers_parse_trustkit(const char *buf, size_t len, const char *name,
			     struct import_policies *out, char *err, size_t errlen)
{
	size_t i = 0;
	if (imp_is_bplist(buf, len))
		return importers_parse_trustkit_plist(buf, len, name, out, err, errlen);
	/* skip a UTF-8 BOM and blanks to see the first significant byte */
	if (len >= 3 && (unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb &&
	    (unsigned char)buf[2] == 0xbf)
		i = 3;
	while (i < len && is_blank(buf[i]))
		i++;
	if (i < len && buf[i] == '{')
		return importers_parse_trustkit_json(buf + i, len - i, name, out, err, errlen);
	if (i < len && buf[i] == '<')
		return importers_parse_trustkit_plist(buf, len, name, out, err, errlen);
	/* anything else: Objective-C or Swift source (or a pasted part of it) */
	return importers_parse_trustkit_source(buf, len, name, out, err, errlen);
}
