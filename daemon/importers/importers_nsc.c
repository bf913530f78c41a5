/* Android Network Security Config (res/xml/network_security_config.xml).
 *
 * Semantics follow the Android platform (XmlConfigSource,
 * NetworkSecurityConfig.Builder, NetworkSecurityTrustManager): a
 * domain-config needs at least one <domain>; at most one <pin-set> and one
 * <trust-anchors> per config; pins must have digest="SHA-256" and 32 bytes of
 * base64; a domain may appear once in the whole file; a nested domain-config
 * inherits what it does not set itself (the pin-set with its expiration, and
 * the trust anchors), and top-level domain-configs inherit the trust anchors
 * of <base-config>. Android picks the most specific matching domain-config,
 * so a domain whose effective pin-set is absent or empty *un-pins* that host
 * even under a parent with includeSubdomains: it becomes an exclusion policy
 * (enforce=false, no pins) when a pinned domain of the file covers it.
 *
 * overridePins: Android skips the pin check when the validated chain ends at
 * a trust anchor whose <certificates> entry has overridePins="true" (default
 * "false" outside <debug-overrides>). Each pinned policy lists those anchors
 * of its effective <trust-anchors> in override_anchors: "system", "user", or
 * for src="@raw/NAME" the pins of the certificates in that resource when the
 * caller can read it (an APK), else "@raw/NAME" as written.
 *
 * <debug-overrides> applies to debuggable builds only: ignored (release).
 *
 * <trustkit-config enforcePinning="false"> (TrustKit-Android): on Android 7+
 * (API 24) the platform's trust manager checks the pin-set itself; TrustKit's
 * PinningTrustManager only catches that failure and, with enforcePinning
 * false, reports it instead of failing, for the connections an app routes
 * through TrustKit's SSLSocketFactory/TrustManager. Every other connection of
 * the app (default HttpsURLConnection, OkHttp without TrustKit's factory,
 * WebView) is still refused by the platform. pinwatch cannot see which
 * client a request uses, so the policy stays enforced (the side that does not
 * hide stranded users) and a note says so.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "readiness/readiness.h"
#include "base/array.h"
#include "base/util.h"

struct nsc_domain {
	char *host;
	bool include_subdomains;
	long line;
};

struct nsc {
	struct import_policies *r;
	const char *name;
	const struct imp_nsc_resolver *res; /* NULL: no resources */
	char *err;
	size_t errlen;
	struct nsc_domain *seen; /* every domain of the file, for duplicates */
	size_t nseen;
	struct nsc_domain *unpinned; /* domains without an effective pin-set */
	size_t nunpinned;
};

/* Trust anchors with overridePins="true" of one config. */
struct nsc_anchors {
	char v[IMP_MAX_ANCHORS][IMP_ANCHOR_LEN];
	size_t n;
};

struct nsc_inherit {
	const struct imp_pinset *pins;	   /* NULL: no pin-set in scope */
	const struct nsc_anchors *anchors; /* never NULL */
};

static int fail(struct nsc *c, xmlNodePtr node, int rc, const char *msg)
{
	char esc[ERRLEN];
	return util_err(c->err, c->errlen, rc, "%s:%ld: %s", c->name,
			node ? xmlGetLineNo(node) : 0L, imp_esc(msg, esc, sizeof(esc)));
}

/* Read a boolean attribute; absent leaves *out. 0 or -EINVAL. */
static int bool_attr(struct nsc *c, xmlNodePtr node, const char *attr, bool *out)
{
	xmlChar *v = xmlGetProp(node, BAD_CAST attr);
	if (!v)
		return 0;
	int rc = 0;
	if (xmlStrEqual(v, BAD_CAST "true"))
		*out = true;
	else if (xmlStrEqual(v, BAD_CAST "false"))
		*out = false;
	else {
		char msg[ERRLEN], esc[64];
		snprintf(msg, sizeof(msg), "%s=\"%s\": expected \"true\" or \"false\"", attr,
			 imp_esc((const char *)v, esc, sizeof(esc)));
		rc = fail(c, node, -EINVAL, msg);
	}
	xmlFree(v);
	return rc;
}

static int push_domain(struct nsc_domain **arr, size_t *n, const char *host, bool incl, long line)
{
	if (*n >= IMPORTERS_MAX_POLICIES)
		return -E2BIG;
	size_t cap = *n; /* no capacity kept: the array grows on every domain */
	if (ARRAY_RESERVE(*arr, cap, *n + 1, IMPORTERS_MAX_POLICIES))
		return -ENOMEM;
	struct nsc_domain *na = *arr;
	na[*n].host = strdup(host);
	if (!na[*n].host)
		return -ENOMEM;
	na[*n].include_subdomains = incl;
	na[*n].line = line;
	(*n)++;
	return 0;
}

static int parse_pin_set(struct nsc *c, xmlNodePtr node, struct imp_pinset *ps)
{
	char msg[ERRLEN], text[256];
	xmlChar *exp = xmlGetProp(node, BAD_CAST "expiration");
	if (exp) {
		int bad = imp_date((const char *)exp, ps->expires, &ps->expires_at);
		char esc[64];
		snprintf(msg, sizeof(msg), "pin-set expiration=\"%s\": expected YYYY-MM-DD",
			 imp_esc((const char *)exp, esc, sizeof(esc)));
		xmlFree(exp);
		if (bad)
			return fail(c, node, -EINVAL, msg);
	}
	for (xmlNodePtr p = node->children; p; p = p->next) {
		if (p->type != XML_ELEMENT_NODE)
			continue;
		if (!imp_xml_is(p, "pin")) {
			snprintf(msg, sizeof(msg), "unexpected <%s> in <pin-set>",
				 (const char *)p->name);
			return fail(c, p, -EINVAL, msg);
		}
		xmlChar *digest = xmlGetProp(p, BAD_CAST "digest");
		bool ok = digest && xmlStrEqual(digest, BAD_CAST "SHA-256");
		if (!ok) {
			char esc[64];
			if (digest)
				snprintf(msg, sizeof(msg),
					 "pin digest=\"%s\" is not supported; pins must be "
					 "digest=\"SHA-256\"",
					 imp_esc((const char *)digest, esc, sizeof(esc)));
			else
				snprintf(msg, sizeof(msg), "<pin> without digest=\"SHA-256\"");
			xmlFree(digest);
			return fail(c, p, -EINVAL, msg);
		}
		xmlFree(digest);
		if (imp_xml_text(p, text, sizeof(text), msg, sizeof(msg)))
			return fail(c, p, -EINVAL, msg);
		uint8_t pin[32];
		if (util_pin_decode_b64(text, pin, msg, sizeof(msg)))
			return fail(c, p, -EINVAL, msg);
		if (imp_pinset_add(ps, pin))
			return fail(c, p, -EINVAL, "more pins than a pin-set may hold (64)");
	}
	return 0;
}

static int anchors_add(struct nsc *c, xmlNodePtr node, struct nsc_anchors *a, const char *v)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], v) == 0)
			return 0;
	if (a->n >= IMP_MAX_ANCHORS)
		return fail(c, node, -EINVAL,
			    "more than 16 trust anchors with overridePins=\"true\"");
	if (strlen(v) >= IMP_ANCHOR_LEN)
		return fail(c, node, -EINVAL, "certificates src longer than 159 bytes");
	snprintf(a->v[a->n++], IMP_ANCHOR_LEN, "%s", v);
	return 0;
}

/* One <certificates src=... overridePins=...>: validated as Android does;
 * added to @a when it overrides pins. */
static int parse_certificates(struct nsc *c, xmlNodePtr node, struct nsc_anchors *a)
{
	char msg[ERRLEN], esc[IMP_ANCHOR_LEN];
	bool override = false;
	int rc = bool_attr(c, node, "overridePins", &override);
	if (rc)
		return rc;
	xmlChar *xs = xmlGetProp(node, BAD_CAST "src");
	if (!xs)
		return fail(c, node, -EINVAL, "<certificates> without a src attribute");
	const char *src = (const char *)xs;
	if (strcmp(src, "system") == 0 || strcmp(src, "user") == 0) {
		if (override)
			rc = anchors_add(c, node, a, src);
	} else if (strcmp(src, "wfa") == 0) {
		/* Wi-Fi Alliance (Passpoint) roots: Android's own, never an app's
		 * HTTPS server. */
		if (override)
			imp_note(c->r, "%s:%ld: <certificates src=\"wfa\"> ignored", c->name,
				 xmlGetLineNo(node));
	} else if (src[0] == '@' && src[1]) {
		char pins[IMP_MAX_ANCHORS][IMP_ANCHOR_LEN];
		size_t n = 0;
		int r = -ENOENT;
		msg[0] = '\0';
		if (override && c->res && c->res->anchor)
			r = c->res->anchor(c->res->ctx, src, pins, IMP_MAX_ANCHORS, &n, msg,
					   sizeof(msg));
		if (!override) {
			r = 0;
		} else if (r == -ENOENT) {
			imp_note(c->r,
				 "%s:%ld: trust anchor %s kept by name (its certificate is not in "
				 "this file; import the APK to get its pin)",
				 c->name, xmlGetLineNo(node), imp_esc(src, esc, sizeof(esc)));
			rc = anchors_add(c, node, a, src);
		} else if (r == 0) {
			for (size_t i = 0; i < n && !rc; i++)
				rc = anchors_add(c, node, a, pins[i]);
		} else {
			char full[ERRLEN + IMP_ANCHOR_LEN];
			snprintf(full, sizeof(full), "certificates src=\"%s\": %s",
				 imp_esc(src, esc, sizeof(esc)), msg[0] ? msg : "unreadable");
			rc = fail(c, node, r, full);
		}
	} else {
		snprintf(msg, sizeof(msg),
			 "certificates src=\"%s\": expected \"system\", \"user\" or a "
			 "resource (@raw/NAME)",
			 imp_esc(src, esc, sizeof(esc)));
		rc = fail(c, node, -EINVAL, msg);
	}
	xmlFree(xs);
	return rc;
}

static int parse_trust_anchors(struct nsc *c, xmlNodePtr node, struct nsc_anchors *a)
{
	for (xmlNodePtr ch = node->children; ch; ch = ch->next) {
		if (!imp_xml_is(ch, "certificates"))
			continue; /* Android skips other elements */
		int rc = parse_certificates(c, ch, a);
		if (rc)
			return rc;
	}
	return 0;
}

/* Attach the overriding anchors in scope to the policy just added. */
static int set_anchors(struct pin_policy *p, const struct nsc_anchors *a)
{
	if (!a->n)
		return 0;
	p->override_anchors = calloc(a->n, sizeof(char *));
	if (!p->override_anchors)
		return -ENOMEM;
	for (size_t i = 0; i < a->n; i++) {
		if (!(p->override_anchors[i] = strdup(a->v[i])))
			return -ENOMEM;
		p->noverride_anchors++;
	}
	return 0;
}

static int parse_domain_config(struct nsc *c, xmlNodePtr node, const struct nsc_inherit *parent,
			       int depth)
{
	char msg[ERRLEN], text[300], esc[300];
	int rc = 0;
	struct imp_pinset *own = NULL;
	struct nsc_anchors *own_anchors = NULL;
	bool has_tk = false, enforce = true;
	size_t first_domain = c->nseen, ndomains = 0;

	if (depth > IMPORTERS_MAX_NESTING)
		return fail(c, node, -EINVAL,
			    "domain-config nested too deeply (more than 32 levels)");

	for (xmlNodePtr ch = node->children; ch; ch = ch->next) {
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (imp_xml_is(ch, "domain")) {
			bool incl = false;
			if ((rc = bool_attr(c, ch, "includeSubdomains", &incl)))
				goto out;
			if (imp_xml_text(ch, text, sizeof(text), msg, sizeof(msg))) {
				rc = fail(c, ch, -EINVAL, msg);
				goto out;
			}
			if (model_normalize_host(text) != 0) {
				snprintf(msg, sizeof(msg), "domain '%s' is not a valid host name",
					 imp_esc(text, esc, sizeof(esc)));
				rc = fail(c, ch, -EINVAL, msg);
				goto out;
			}
			for (size_t i = 0; i < c->nseen; i++) {
				if (strcmp(c->seen[i].host, text) == 0) {
					snprintf(msg, sizeof(msg),
						 "duplicate domain '%s' (first at line %ld)", text,
						 c->seen[i].line);
					rc = fail(c, ch, -EINVAL, msg);
					goto out;
				}
			}
			if ((rc = push_domain(&c->seen, &c->nseen, text, incl, xmlGetLineNo(ch)))) {
				rc = fail(c, ch, rc, "too many domains");
				goto out;
			}
			ndomains++;
		} else if (imp_xml_is(ch, "pin-set")) {
			if (own) {
				rc = fail(c, ch, -EINVAL,
					  "more than one <pin-set> in a domain-config");
				goto out;
			}
			own = calloc(1, sizeof(*own));
			if (!own) {
				rc = -ENOMEM;
				goto out;
			}
			if ((rc = parse_pin_set(c, ch, own)))
				goto out;
		} else if (imp_xml_is(ch, "trustkit-config")) {
			if (has_tk) {
				rc = fail(c, ch, -EINVAL,
					  "more than one <trustkit-config> in a domain-config");
				goto out;
			}
			has_tk = true;
			if ((rc = bool_attr(c, ch, "enforcePinning", &enforce)))
				goto out;
			if (!enforce)
				imp_note(
					c->r,
					"%s:%ld: trustkit-config enforcePinning=\"false\": kept "
					"enforced (Android 7+ itself enforces the pin-set on every "
					"connection not made through TrustKit's SSLSocketFactory)",
					c->name, xmlGetLineNo(ch));
		} else if (imp_xml_is(ch, "trust-anchors")) {
			if (own_anchors) {
				rc = fail(c, ch, -EINVAL,
					  "more than one <trust-anchors> in a domain-config");
				goto out;
			}
			own_anchors = calloc(1, sizeof(*own_anchors));
			if (!own_anchors) {
				rc = -ENOMEM;
				goto out;
			}
			if ((rc = parse_trust_anchors(c, ch, own_anchors)))
				goto out;
		} else if (!imp_xml_is(ch, "domain-config")) {
			imp_note(c->r, "%s:%ld: unknown element <%s> ignored", c->name,
				 xmlGetLineNo(ch),
				 imp_esc((const char *)ch->name, esc, sizeof(esc)));
		}
	}
	if (ndomains == 0) {
		rc = fail(c, node, -EINVAL, "domain-config without a <domain>");
		goto out;
	}

	struct nsc_inherit mine = { .pins = own ? own : parent->pins,
				    .anchors = own_anchors ? own_anchors : parent->anchors };
	for (size_t i = first_domain; i < c->nseen; i++) {
		const struct nsc_domain *d = &c->seen[i];
		if (mine.pins && mine.pins->npins) {
			rc = imp_add_policy(c->r, d->host, d->include_subdomains, true, mine.pins,
					    "nsc", msg, sizeof(msg));
			if (rc == 0)
				rc = set_anchors(&c->r->policies[c->r->npolicies - 1],
						 mine.anchors);
			if (rc) {
				util_err(c->err, c->errlen, rc, "%s:%ld: %s", c->name, d->line,
					 msg);
				goto out;
			}
		} else if ((rc = push_domain(&c->unpinned, &c->nunpinned, d->host,
					     d->include_subdomains, d->line))) {
			goto out;
		}
	}
	/* Domains of nested configs are appended to c->seen after ours; the loop
	 * above ran first so only this config's domains were used. */
	for (xmlNodePtr ch = node->children; ch; ch = ch->next) {
		if (imp_xml_is(ch, "domain-config") &&
		    (rc = parse_domain_config(c, ch, &mine, depth + 1)))
			goto out;
	}
out:
	free(own);
	free(own_anchors);
	return rc;
}

/* Unpinned domains matter only where a pinned domain of the file would
 * otherwise cover them: there they are exclusions. */
static int resolve_unpinned(struct nsc *c)
{
	char msg[ERRLEN];
	size_t pinned = c->r->npolicies;
	for (size_t i = 0; i < c->nunpinned; i++) {
		const struct nsc_domain *d = &c->unpinned[i];
		bool covered = false;
		for (size_t j = 0; j < pinned && !covered; j++) {
			const struct pin_policy *p = &c->r->policies[j];
			covered = p->npins && strcmp(p->pattern, d->host) != 0 &&
				  readiness_pattern_covers(p->pattern, p->include_subdomains,
							   d->host);
		}
		if (!covered) {
			imp_note(c->r, "%s:%ld: domain '%s' has no pin-set: not pinned, skipped",
				 c->name, d->line, d->host);
			continue;
		}
		int rc = imp_add_policy(c->r, d->host, d->include_subdomains, false, NULL, "nsc",
					msg, sizeof(msg));
		if (rc)
			return util_err(c->err, c->errlen, rc, "%s:%ld: %s", c->name, d->line, msg);
	}
	return 0;
}

/* <base-config>: only its trust anchors matter to pins; Android refuses
 * domains, pin-sets and nested domain-configs there. */
static int parse_base_config(struct nsc *c, xmlNodePtr node, struct nsc_anchors *a)
{
	char msg[ERRLEN];
	bool seen = false;
	for (xmlNodePtr ch = node->children; ch; ch = ch->next) {
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (imp_xml_is(ch, "trust-anchors")) {
			if (seen)
				return fail(c, ch, -EINVAL,
					    "more than one <trust-anchors> in base-config");
			seen = true;
			int rc = parse_trust_anchors(c, ch, a);
			if (rc)
				return rc;
		} else if (imp_xml_is(ch, "domain") || imp_xml_is(ch, "pin-set") ||
			   imp_xml_is(ch, "domain-config")) {
			snprintf(msg, sizeof(msg), "<%s> is not allowed in <base-config>",
				 (const char *)ch->name);
			return fail(c, ch, -EINVAL, msg);
		}
	}
	return 0;
}

int imp_parse_nsc_doc(xmlDocPtr doc, const char *name, const struct imp_nsc_resolver *res,
		      struct import_policies *out, char *err, size_t errlen)
{
	struct nsc c = { .r = out, .name = name, .res = res, .err = err, .errlen = errlen };
	struct nsc_anchors *base = NULL;
	int rc = 0;
	memset(out, 0, sizeof(*out));
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!imp_xml_is(root, "network-security-config")) {
		rc = fail(&c, root, -EINVAL, "the root element must be <network-security-config>");
		goto out;
	}
	base = calloc(1, sizeof(*base));
	if (!base) {
		rc = -ENOMEM;
		goto out;
	}
	/* The base-config is every top-level domain-config's parent, wherever
	 * it is in the file: read it first. */
	long base_line = 0, debug_line = 0;
	for (xmlNodePtr ch = root->children; ch; ch = ch->next) {
		bool is_base = imp_xml_is(ch, "base-config");
		if (!is_base && !imp_xml_is(ch, "debug-overrides"))
			continue;
		long *seen = is_base ? &base_line : &debug_line;
		if (*seen) {
			char msg[ERRLEN];
			snprintf(msg, sizeof(msg), "only one <%s> is allowed (first at line %ld)",
				 (const char *)ch->name, *seen);
			rc = fail(&c, ch, -EINVAL, msg);
			goto out;
		}
		*seen = xmlGetLineNo(ch);
		if (is_base && (rc = parse_base_config(&c, ch, base)))
			goto out;
		if (!is_base)
			imp_note(out,
				 "%s:%ld: <debug-overrides> ignored (release builds do not "
				 "apply it)",
				 name, xmlGetLineNo(ch));
	}
	struct nsc_inherit top = { .pins = NULL, .anchors = base };
	for (xmlNodePtr ch = root->children; ch; ch = ch->next) {
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (imp_xml_is(ch, "domain-config")) {
			if ((rc = parse_domain_config(&c, ch, &top, 1)))
				goto out;
		} else if (!imp_xml_is(ch, "base-config") && !imp_xml_is(ch, "debug-overrides")) {
			char esc[128];
			imp_note(out, "%s:%ld: unknown element <%s> ignored", name,
				 xmlGetLineNo(ch),
				 imp_esc((const char *)ch->name, esc, sizeof(esc)));
		}
	}
	if ((rc = resolve_unpinned(&c)))
		goto out;
	imp_sort(out);
out:
	free(base);
	for (size_t i = 0; i < c.nseen; i++)
		free(c.seen[i].host);
	free(c.seen);
	for (size_t i = 0; i < c.nunpinned; i++)
		free(c.unpinned[i].host);
	free(c.unpinned);
	return rc ? imp_fail(rc, name, out, err, errlen) : 0;
}

int importers_parse_nsc(const char *buf, size_t len, const char *name, struct import_policies *out,
			char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	xmlDocPtr doc = imp_xml_read(buf, len, name, err, errlen);
	if (!doc)
		return len > IMPORTERS_MAX_CONFIG ? -EFBIG : -EINVAL;
	int rc = imp_parse_nsc_doc(doc, name, NULL, out, err, errlen);
	xmlFreeDoc(doc);
	return rc;
}
