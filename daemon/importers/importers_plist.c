/* Property lists (an Info.plist, a TrustKit .plist) as JSON trees, so that
 * the TrustKit walker reads every form the same way. XML through the hardened
 * libxml2 reader (imp_xml_read: no network, no DTD, no entities) with line
 * numbers in messages; binary (bplist00) through importers_bplist.c. <date>
 * and <data> become null (TrustKit reads neither). */
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "base/util.h"

struct pl {
	const char *name;
	char *err;
	size_t errlen;
};

static int pl_fail(struct pl *t, xmlNodePtr n, const char *msg)
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

static int pl_value(struct pl *t, xmlNodePtr n, int depth, json_t **out);

static int pl_text(struct pl *t, xmlNodePtr n, char **out)
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

static int pl_dict(struct pl *t, xmlNodePtr n, int depth, json_t **out)
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

static int pl_value(struct pl *t, xmlNodePtr n, int depth, json_t **out)
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
	if (imp_xml_is(n, "date") || imp_xml_is(n, "data")) {
		/* TrustKit reads neither; null as in the binary form */
		*out = json_null();
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

/* XML plist -> JSON tree. NULL root and a message on error. */
static int xml_plist_root(const char *buf, size_t len, const char *name, json_t **root, char *err,
			  size_t errlen)
{
	struct pl t = { .name = name, .err = err, .errlen = errlen };
	int rc;
	*root = NULL;
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
	rc = pl_value(&t, v, 1, root);
out:
	xmlFreeDoc(doc);
	return rc;
}

/* Binary plist (bplist00, what an .ipa holds): importers_bplist.c. */
static int bin_plist_root(const char *buf, size_t len, const char *name, json_t **root, char *err,
			  size_t errlen)
{
	char msg[ERRLEN], esc[ERRLEN];
	*root = NULL;
	if (len > IMPORTERS_MAX_CONFIG)
		return util_err(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
				IMPORTERS_MAX_CONFIG);
	int rc = imp_bplist_to_json(buf, len, root, msg, sizeof(msg));
	if (rc == -EINVAL)
		util_err(err, errlen, rc, "%s: %s", name, imp_esc(msg, esc, sizeof(esc)));
	return rc;
}

bool imp_is_bplist(const char *buf, size_t len)
{
	return len >= 8 && !memcmp(buf, "bplist00", 8);
}

int imp_plist_to_json(const char *buf, size_t len, const char *name, json_t **root, char *err,
		      size_t errlen)
{
	return imp_is_bplist(buf, len) ? bin_plist_root(buf, len, name, root, err, errlen)
				       : xml_plist_root(buf, len, name, root, err, errlen);
}
