/* TrustKit configuration (iOS / macOS TrustKit), as JSON or as the
 * TSKConfiguration dict of an Info.plist. The plist is converted to the same
 * JSON tree first, so both forms go through one walker and give identical
 * policies.
 *
 * Per domain: kTSKPublicKeyHashes (base64 SHA-256 of the SPKI),
 * kTSKIncludeSubdomains (default false), kTSKEnforcePinning (default true, as
 * in TrustKit), kTSKExpirationDate ("YYYY-MM-DD"),
 * kTSKExcludeSubdomainFromParentPolicy (the domain becomes an exclusion:
 * enforce=false, no pins; a parent domain with kTSKIncludeSubdomains must
 * exist, as TrustKit requires). kTSKReportUris, kTSKDisableDefaultReportUri,
 * kTSKPublicKeyAlgorithms (legacy), kTSKSwizzleNetworkDelegates and
 * kTSKIgnorePinningForUserDefinedTrustAnchors are type-checked and ignored.
 */
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "readiness/readiness.h"
#include "base/util.h"

#define PATH_LEN 512

struct tk {
	struct import_policies *r;
	const char *name;
	char *err;
	size_t errlen;
};

static int tk_fail(struct tk *t, const char *path, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int tk_fail(struct tk *t, const char *path, int rc, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
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
		return "null";
	}
	return "?";
}

static int want(struct tk *t, const char *path, const json_t *v, json_type type, const char *what)
{
	if (type == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == type)
		return 0;
	return tk_fail(t, path, -EINVAL, "expected %s, got %s", what, type_name(v));
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

static int parse_domain(struct tk *t, const char *dpath, const char *host, const json_t *d)
{
	char path[PATH_LEN], msg[ERRLEN];
	const char *key;
	json_t *v;
	bool incl = false, enforce = true, exclude = false;
	const json_t *hashes = NULL;
	struct imp_pinset ps;
	memset(&ps, 0, sizeof(ps));

	if (want(t, dpath, d, JSON_OBJECT, "a dictionary"))
		return -EINVAL;
	if (strchr(host, '*'))
		return tk_fail(t, dpath, -EINVAL, "TrustKit does not accept wildcard domains");
	json_object_foreach((json_t *)d, key, v)
	{
		pathf(path, sizeof(path), "%s.%s", dpath, key);
		if (!strcmp(key, "kTSKPublicKeyHashes")) {
			if (string_array(t, path, v))
				return -EINVAL;
			hashes = v;
		} else if (!strcmp(key, "kTSKIncludeSubdomains")) {
			if (want(t, path, v, JSON_TRUE, "a boolean"))
				return -EINVAL;
			incl = json_is_true(v);
		} else if (!strcmp(key, "kTSKEnforcePinning")) {
			if (want(t, path, v, JSON_TRUE, "a boolean"))
				return -EINVAL;
			enforce = json_is_true(v);
		} else if (!strcmp(key, "kTSKExcludeSubdomainFromParentPolicy")) {
			if (want(t, path, v, JSON_TRUE, "a boolean"))
				return -EINVAL;
			exclude = json_is_true(v);
		} else if (!strcmp(key, "kTSKExpirationDate")) {
			if (want(t, path, v, JSON_STRING, "a date string \"YYYY-MM-DD\""))
				return -EINVAL;
			if (imp_date(json_string_value(v), ps.expires, &ps.expires_at))
				return tk_fail(t, path, -EINVAL, "expected a date \"YYYY-MM-DD\"");
		} else if (!strcmp(key, "kTSKReportUris") ||
			   !strcmp(key, "kTSKPublicKeyAlgorithms")) {
			if (string_array(t, path, v))
				return -EINVAL;
		} else if (!strcmp(key, "kTSKDisableDefaultReportUri")) {
			if (want(t, path, v, JSON_TRUE, "a boolean"))
				return -EINVAL;
		} else {
			char esc[128];
			imp_note(t->r, "%s: %s: unknown key ignored", t->name,
				 imp_esc(path, esc, sizeof(esc)));
		}
	}

	if (exclude) {
		if (hashes)
			imp_note(t->r,
				 "%s: %s: kTSKPublicKeyHashes ignored: the domain is excluded from "
				 "its parent's policy",
				 t->name, dpath);
		if (imp_add_policy(t->r, host, false, false, NULL, "trustkit", msg, sizeof(msg)))
			return tk_fail(t, dpath, -EINVAL, "%s", msg);
		return 0;
	}
	if (!hashes)
		return tk_fail(t, dpath, -EINVAL, "kTSKPublicKeyHashes is missing");
	size_t i;
	json_array_foreach(hashes, i, v)
	{
		uint8_t pin[32];
		pathf(path, sizeof(path), "%s.kTSKPublicKeyHashes[%zu]", dpath, i);
		if (imp_b64_pin(json_string_value(v), pin))
			return tk_fail(t, path, -EINVAL, "not 32 bytes of base64");
		if (imp_pinset_add(&ps, pin))
			return tk_fail(t, path, -EINVAL, "more than %d pins", IMPORTERS_MAX_PINS);
	}
	if (ps.npins == 0)
		return tk_fail(t, dpath, -EINVAL, "kTSKPublicKeyHashes is empty");
	if (ps.npins < 2)
		imp_note(t->r,
			 "%s: %s: only one pin; TrustKit refuses fewer than two (lint flags it)",
			 t->name, dpath);
	int rc = imp_add_policy(t->r, host, incl, enforce, &ps, "trustkit", msg, sizeof(msg));
	if (rc)
		return tk_fail(t, dpath, rc, "%s", msg);
	return 0;
}

static int walk(struct tk *t, const json_t *root)
{
	char path[PATH_LEN], dpath[PATH_LEN], esc[300];
	const char *prefix = "";
	const json_t *cfg = root;
	const char *key;
	json_t *v, *domains = NULL;

	if (!json_is_object(root))
		return tk_fail(t, "(top level)", -EINVAL, "expected a dictionary, got %s",
			       type_name(root));
	if (json_object_get(root, "TSKConfiguration")) {
		cfg = json_object_get(root, "TSKConfiguration");
		prefix = "TSKConfiguration.";
		if (want(t, "TSKConfiguration", cfg, JSON_OBJECT, "a dictionary"))
			return -EINVAL;
	} else if (!json_object_get(root, "kTSKPinnedDomains")) {
		return tk_fail(t, "(top level)", -EINVAL,
			       "neither a TSKConfiguration dictionary nor kTSKPinnedDomains");
	}
	json_object_foreach((json_t *)cfg, key, v)
	{
		pathf(path, sizeof(path), "%s%s", prefix, key);
		if (!strcmp(key, "kTSKPinnedDomains")) {
			if (want(t, path, v, JSON_OBJECT, "a dictionary"))
				return -EINVAL;
			domains = v;
		} else if (!strcmp(key, "kTSKSwizzleNetworkDelegates") ||
			   !strcmp(key, "kTSKIgnorePinningForUserDefinedTrustAnchors")) {
			if (want(t, path, v, JSON_TRUE, "a boolean"))
				return -EINVAL;
		} else if (cfg != root || !strncmp(key, "kTSK", 4)) {
			imp_note(t->r, "%s: %s: unknown key ignored", t->name,
				 imp_esc(path, esc, sizeof(esc)));
		}
	}
	if (!domains)
		return tk_fail(t, prefix[0] ? "TSKConfiguration" : "(top level)", -EINVAL,
			       "kTSKPinnedDomains is missing");
	json_object_foreach(domains, key, v)
	{
		pathf(dpath, sizeof(dpath), "%skTSKPinnedDomains[\"%s\"]", prefix,
		      imp_esc(key, esc, sizeof(esc)));
		char host[300];
		snprintf(host, sizeof(host), "%s", key);
		if (strlen(key) >= sizeof(host) ||
		    (!strchr(host, '*') && model_normalize_host(host)))
			return tk_fail(t, dpath, -EINVAL, "not a valid host name");
		int rc = parse_domain(t, dpath, host, v);
		if (rc)
			return rc;
	}
	/* TrustKit requires an excluded subdomain to sit under a parent policy
	 * with kTSKIncludeSubdomains. */
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
			pathf(dpath, sizeof(dpath), "%skTSKPinnedDomains[\"%s\"]", prefix,
			      ex->pattern);
			return tk_fail(
				t, dpath, -EINVAL,
				"kTSKExcludeSubdomainFromParentPolicy but no parent domain has "
				"kTSKIncludeSubdomains");
		}
	}
	imp_sort(t->r);
	return 0;
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
	struct tk t = { .r = out, .name = name, .err = err, .errlen = errlen };
	int rc = walk(&t, root);
	json_decref(root);
	if (rc)
		importers_policies_free(out);
	return rc;
}

/* ---- Info.plist -> JSON tree ---------------------------------------------- */

static int pl_fail(struct tk *t, xmlNodePtr n, const char *msg)
{
	char esc[ERRLEN];
	return util_err(t->err, t->errlen, -EINVAL, "%s:%ld: %s", t->name, xmlGetLineNo(n),
			imp_esc(msg, esc, sizeof(esc)));
}

static xmlNodePtr next_elem(xmlNodePtr n)
{
	while (n && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static int pl_value(struct tk *t, xmlNodePtr n, int depth, json_t **out);

static int pl_text(struct tk *t, xmlNodePtr n, char **out)
{
	char msg[ERRLEN];
	char *buf = malloc(8192);
	if (!buf)
		return -ENOMEM;
	if (imp_xml_text(n, buf, 8192, msg, sizeof(msg))) {
		free(buf);
		return pl_fail(t, n, msg);
	}
	*out = buf;
	return 0;
}

static int pl_dict(struct tk *t, xmlNodePtr n, int depth, json_t **out)
{
	json_t *obj = json_object();
	if (!obj)
		return -ENOMEM;
	for (xmlNodePtr k = next_elem(n->children); k; k = next_elem(k->next)) {
		char msg[ERRLEN], *key = NULL;
		int rc;
		if (!imp_xml_is(k, "key")) {
			json_decref(obj);
			return pl_fail(t, k, "expected <key> in <dict>");
		}
		if ((rc = pl_text(t, k, &key))) {
			json_decref(obj);
			return rc;
		}
		xmlNodePtr v = next_elem(k->next);
		json_t *jv = NULL;
		if (!v) {
			snprintf(msg, sizeof(msg), "<key>%s</key> without a value", key);
			free(key);
			json_decref(obj);
			return pl_fail(t, k, msg);
		}
		if (json_object_get(obj, key)) {
			snprintf(msg, sizeof(msg), "duplicate key '%s'", key);
			free(key);
			json_decref(obj);
			return pl_fail(t, k, msg);
		}
		if ((rc = pl_value(t, v, depth + 1, &jv))) {
			free(key);
			json_decref(obj);
			return rc;
		}
		rc = json_object_set_new(obj, key, jv);
		free(key);
		if (rc) {
			json_decref(obj);
			return pl_fail(t, k, "key is not valid UTF-8");
		}
		k = v;
	}
	*out = obj;
	return 0;
}

static int pl_value(struct tk *t, xmlNodePtr n, int depth, json_t **out)
{
	char *text = NULL;
	int rc = 0;
	if (depth > IMPORTERS_MAX_NESTING)
		return pl_fail(t, n, "plist nested too deeply");
	if (imp_xml_is(n, "dict"))
		return pl_dict(t, n, depth, out);
	if (imp_xml_is(n, "array")) {
		json_t *arr = json_array();
		if (!arr)
			return -ENOMEM;
		for (xmlNodePtr e = next_elem(n->children); e; e = next_elem(e->next)) {
			json_t *jv = NULL;
			if ((rc = pl_value(t, e, depth + 1, &jv)) ||
			    json_array_append_new(arr, jv)) {
				json_decref(arr);
				return rc ? rc : -ENOMEM;
			}
		}
		*out = arr;
		return 0;
	}
	if (imp_xml_is(n, "true") || imp_xml_is(n, "false")) {
		*out = json_boolean(imp_xml_is(n, "true"));
		return 0;
	}
	if (!imp_xml_is(n, "string") && !imp_xml_is(n, "integer") && !imp_xml_is(n, "real") &&
	    !imp_xml_is(n, "date") && !imp_xml_is(n, "data")) {
		char msg[ERRLEN], esc[128];
		snprintf(msg, sizeof(msg), "unknown plist element <%s>",
			 imp_esc((const char *)n->name, esc, sizeof(esc)));
		return pl_fail(t, n, msg);
	}
	if ((rc = pl_text(t, n, &text)))
		return rc;
	if (imp_xml_is(n, "integer")) {
		long long v;
		if (util_parse_int(text, LLONG_MIN, LLONG_MAX, &v))
			rc = pl_fail(t, n, "<integer> is not an integer");
		else
			*out = json_integer(v);
	} else if (imp_xml_is(n, "real")) {
		double v;
		if (util_parse_double(text, -DBL_MAX, DBL_MAX, &v))
			rc = pl_fail(t, n, "<real> is not a number");
		else
			*out = json_real(v);
	} else {
		*out = json_string(text);
		if (!*out)
			rc = pl_fail(t, n, "string is not valid UTF-8");
	}
	free(text);
	if (!rc && !*out)
		rc = -ENOMEM;
	return rc;
}

int importers_parse_trustkit_plist(const char *buf, size_t len, const char *name,
				   struct import_policies *out, char *err, size_t errlen)
{
	struct tk t = { .r = out, .name = name, .err = err, .errlen = errlen };
	json_t *root = NULL;
	int rc;
	memset(out, 0, sizeof(*out));
	xmlDocPtr doc = imp_xml_read(buf, len, name, err, errlen);
	if (!doc)
		return len > IMPORTERS_MAX_CONFIG ? -EFBIG : -EINVAL;
	xmlNodePtr top = xmlDocGetRootElement(doc);
	if (!imp_xml_is(top, "plist")) {
		rc = pl_fail(&t, top, "the root element must be <plist>");
		goto out;
	}
	xmlNodePtr v = next_elem(top->children);
	if (!v || !imp_xml_is(v, "dict")) {
		rc = pl_fail(&t, v ? v : top, "the plist must hold a <dict>");
		goto out;
	}
	if ((rc = pl_value(&t, v, 1, &root)))
		goto out;
	rc = walk(&t, root);
out:
	json_decref(root);
	xmlFreeDoc(doc);
	return rc ? imp_fail(rc, name, out, err, errlen) : 0;
}

int importers_parse_trustkit(const char *buf, size_t len, const char *name,
			     struct import_policies *out, char *err, size_t errlen)
{
	size_t i = 0;
	/* skip a UTF-8 BOM and blanks to see the first significant byte */
	if (len >= 3 && (unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb &&
	    (unsigned char)buf[2] == 0xbf)
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	if (i < len && buf[i] == '{')
		return importers_parse_trustkit_json(buf + i, len - i, name, out, err, errlen);
	if (i < len && buf[i] == '<')
		return importers_parse_trustkit_plist(buf, len, name, out, err, errlen);
	memset(out, 0, sizeof(*out));
	return util_err(err, errlen, -EINVAL, "%s: neither a JSON object nor an XML property list",
			name);
}
