/* Android Network Security Config (res/xml/network_security_config.xml).
 *
 * Semantics follow the Android platform (XmlConfigSource): a domain-config
 * needs at least one <domain>; at most one <pin-set>; pins must have
 * digest="SHA-256" and 32 bytes of base64; a domain may appear once in the
 * whole file; a nested domain-config inherits everything it does not set
 * itself (here: the pin-set with its expiration, and the TrustKit
 * enforcePinning flag). Android picks the most specific matching
 * domain-config, so a domain whose effective pin-set is absent or empty
 * *un-pins* that host even under a parent with includeSubdomains: it becomes
 * an exclusion policy (enforce=false, no pins) when a pinned domain of the
 * file covers it.
 *
 * <trustkit-config enforcePinning="false"> (TrustKit-Android) makes the
 * domain report-only (enforce=false). Note that on Android 7+ the platform
 * itself enforces an NSC pin-set; pinwatch takes the file's word.
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
#include "base/util.h"

struct nsc_domain {
	char *host;
	bool include_subdomains;
	long line;
};

struct nsc {
	struct import_policies *r;
	const char *name;
	char *err;
	size_t errlen;
	struct nsc_domain *seen; /* every domain of the file, for duplicates */
	size_t nseen;
	struct nsc_domain *unpinned; /* domains without an effective pin-set */
	size_t nunpinned;
};

struct nsc_inherit {
	const struct imp_pinset *pins; /* NULL: no pin-set in scope */
	bool enforce;
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
	struct nsc_domain *na = realloc(*arr, (*n + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	*arr = na;
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

static int parse_domain_config(struct nsc *c, xmlNodePtr node, const struct nsc_inherit *parent,
			       int depth)
{
	char msg[ERRLEN], text[300], esc[300];
	int rc = 0;
	struct imp_pinset *own = NULL;
	bool has_tk = false, enforce = parent->enforce;
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
		} else if (imp_xml_is(ch, "trust-anchors")) {
			imp_note(c->r,
				 "%s:%ld: <trust-anchors> ignored (pinwatch checks pins only)",
				 c->name, xmlGetLineNo(ch));
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

	struct nsc_inherit mine = { .pins = own ? own : parent->pins, .enforce = enforce };
	for (size_t i = first_domain; i < c->nseen; i++) {
		const struct nsc_domain *d = &c->seen[i];
		if (mine.pins && mine.pins->npins) {
			rc = imp_add_policy(c->r, d->host, d->include_subdomains, mine.enforce,
					    mine.pins, "nsc", msg, sizeof(msg));
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

int importers_parse_nsc(const char *buf, size_t len, const char *name, struct import_policies *out,
			char *err, size_t errlen)
{
	struct nsc c = { .r = out, .name = name, .err = err, .errlen = errlen };
	int rc = 0;
	memset(out, 0, sizeof(*out));
	xmlDocPtr doc = imp_xml_read(buf, len, name, err, errlen);
	if (!doc)
		return len > IMPORTERS_MAX_CONFIG ? -EFBIG : -EINVAL;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!imp_xml_is(root, "network-security-config")) {
		rc = fail(&c, root, -EINVAL, "the root element must be <network-security-config>");
		goto out;
	}
	struct nsc_inherit top = { .pins = NULL, .enforce = true };
	for (xmlNodePtr ch = root->children; ch; ch = ch->next) {
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (imp_xml_is(ch, "domain-config")) {
			if ((rc = parse_domain_config(&c, ch, &top, 1)))
				goto out;
		} else if (imp_xml_is(ch, "base-config") || imp_xml_is(ch, "debug-overrides")) {
			imp_note(out, "%s:%ld: <%s> ignored (it holds no pins)", name,
				 xmlGetLineNo(ch), (const char *)ch->name);
		} else {
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
	for (size_t i = 0; i < c.nseen; i++)
		free(c.seen[i].host);
	free(c.seen);
	for (size_t i = 0; i < c.nunpinned; i++)
		free(c.unpinned[i].host);
	free(c.unpinned);
	xmlFreeDoc(doc);
	return rc ? imp_fail(rc, name, out, err, errlen) : 0;
}
