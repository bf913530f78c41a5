/* Shared parts of the importers: policy lists, pin sets, notes, safe XML. */
#include "importers/importers.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers_int.h"
#include "base/array.h"
#include "base/log.h"
#include "base/util.h"

void importers_policies_free(struct import_policies *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->npolicies; i++)
		model_policy_free(&r->policies[i]);
	free(r->policies);
	for (size_t i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

void importers_adoption_free(struct adoption_csv *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nrows; i++)
		free(a->rows[i].version);
	free(a->rows);
	memset(a, 0, sizeof(*a));
}

int imp_pinset_add(struct imp_pinset *s, const uint8_t pin[32])
{
	for (size_t i = 0; i < s->npins; i++)
		if (memcmp(s->pins[i].sha256, pin, 32) == 0)
			return 0;
	if (s->npins >= IMPORTERS_MAX_PINS)
		return -E2BIG;
	memcpy(s->pins[s->npins].sha256, pin, 32);
	s->pins[s->npins].role = s->npins == 0 ? PIN_CURRENT : PIN_BACKUP;
	s->npins++;
	return 0;
}

int imp_add_policy(struct import_policies *r, const char *pattern, bool include_subdomains,
		   bool enforce, const struct imp_pinset *pins, const char *source, char *msg,
		   size_t msglen)
{
	char esc[300];
	if (strlen(pattern) > 256)
		return util_err(msg, msglen, -EINVAL, "host pattern longer than 256 bytes");
	char *pat = strdup(pattern);
	if (!pat)
		return -ENOMEM;
	if (model_normalize_pattern(pat) != 0) {
		free(pat);
		return util_err(msg, msglen, -EINVAL, "'%s' is not a valid host pattern",
				imp_esc(pattern, esc, sizeof(esc)));
	}
	for (size_t i = 0; i < r->npolicies; i++) {
		if (strcmp(r->policies[i].pattern, pat) == 0 &&
		    r->policies[i].include_subdomains == include_subdomains) {
			util_err(msg, msglen, -EEXIST, "duplicate domain '%s'", pat);
			free(pat);
			return -EEXIST;
		}
	}
	if (r->npolicies >= IMPORTERS_MAX_POLICIES) {
		free(pat);
		return util_err(msg, msglen, -E2BIG, "more than %d pinned domains",
				IMPORTERS_MAX_POLICIES);
	}
	size_t cap = r->npolicies; /* no capacity kept: the array grows on every policy */
	if (ARRAY_RESERVE(r->policies, cap, r->npolicies + 1, IMPORTERS_MAX_POLICIES)) {
		free(pat);
		return -ENOMEM;
	}
	struct pin_policy *p = &r->policies[r->npolicies];
	memset(p, 0, sizeof(*p));
	p->pattern = pat;
	p->include_subdomains = include_subdomains;
	p->enforce = enforce;
	p->source = strdup(source);
	if (pins && pins->npins) {
		p->pins = calloc(pins->npins, sizeof(*p->pins));
		if (p->pins) {
			memcpy(p->pins, pins->pins, pins->npins * sizeof(*p->pins));
			p->npins = pins->npins;
		}
	}
	if (pins && pins->expires[0]) {
		memcpy(p->expires, pins->expires, sizeof(p->expires));
		p->expires_at = pins->expires_at;
	}
	r->npolicies++;
	if (!p->source || (pins && pins->npins && !p->pins))
		return -ENOMEM;
	return 0;
}

void imp_note(struct import_policies *r, const char *fmt, ...)
{
	if (r->nnotes >= IMPORTERS_MAX_NOTES) {
		r->notes_dropped++;
		return;
	}
	char buf[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	size_t cap = r->nnotes; /* no capacity kept: the array grows on every note */
	if (ARRAY_RESERVE(r->notes, cap, r->nnotes + 1, IMPORTERS_MAX_NOTES))
		return;
	if ((r->notes[r->nnotes] = strdup(buf)) != NULL)
		r->nnotes++;
}

static int policy_cmp(const void *a, const void *b)
{
	const struct pin_policy *x = a, *y = b;
	int c = strcmp(x->pattern, y->pattern);
	if (c)
		return c;
	return (int)x->include_subdomains - (int)y->include_subdomains;
}

int imp_fail(int rc, const char *name, struct import_policies *out, char *err, size_t errlen)
{
	if (rc == -ENOMEM)
		util_err(err, errlen, rc, "%s: out of memory", name);
	importers_policies_free(out);
	return rc;
}

void imp_sort(struct import_policies *r)
{
	if (r->npolicies > 1)
		qsort(r->policies, r->npolicies, sizeof(*r->policies), policy_cmp);
}

int imp_date(const char *s, char out[MODEL_DATE_LEN], time_t *t)
{
	if (util_parse_date(s, t) != 0)
		return -EINVAL;
	snprintf(out, MODEL_DATE_LEN, "%s", s);
	return 0;
}

int imp_b64_pin(const char *s, uint8_t out[32])
{
	return util_pin_decode_b64(s, out, NULL, 0);
}

const char *imp_esc(const char *in, char *out, size_t outlen)
{
	return log_escape(in, out, outlen);
}

int importers_assign_roles(struct import_policies *r, const uint8_t (*backup)[32], size_t nbackup,
			   char *err, size_t errlen)
{
	if (nbackup == 0)
		return 0;
	for (size_t b = 0; b < nbackup; b++) {
		bool found = false;
		for (size_t i = 0; i < r->npolicies && !found; i++)
			for (size_t j = 0; j < r->policies[i].npins && !found; j++)
				found = memcmp(r->policies[i].pins[j].sha256, backup[b], 32) == 0;
		if (!found) {
			char b64[48];
			return util_err(err, errlen, -EINVAL,
					"--backup-pin %s is not a pin of any policy in the file",
					util_pin_b64(backup[b], b64));
		}
	}
	for (size_t i = 0; i < r->npolicies; i++) {
		for (size_t j = 0; j < r->policies[i].npins; j++) {
			struct pin *p = &r->policies[i].pins[j];
			p->role = PIN_CURRENT;
			for (size_t b = 0; b < nbackup; b++)
				if (memcmp(p->sha256, backup[b], 32) == 0)
					p->role = PIN_BACKUP;
		}
	}
	return 0;
}

/* ---- XML --------------------------------------------------------------- */

static void xml_error_msg(const xmlError *e, const char *name, char *err, size_t errlen)
{
	char msg[256] = "malformed XML";
	if (e && e->message) {
		snprintf(msg, sizeof(msg), "%s", e->message);
		size_t n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		for (char *p = msg; *p; p++)
			if (*p == '\n')
				*p = ' ';
	}
	char esc[300];
	util_err(err, errlen, -EINVAL, "%s:%d: %s", name, e ? e->line : 0,
		 imp_esc(msg, esc, sizeof(esc)));
}

static void xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

xmlDocPtr imp_xml_read(const char *buf, size_t len, const char *name, char *err, size_t errlen)
{
	if (len > IMPORTERS_MAX_CONFIG) {
		util_err(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
			 IMPORTERS_MAX_CONFIG);
		return NULL;
	}
	if (len > INT32_MAX || memchr(buf, '\0', len)) {
		util_err(err, errlen, -EINVAL, "%s: contains a NUL byte; not an XML text file",
			 name);
		return NULL;
	}
	xmlInitParser();
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		util_err(err, errlen, -ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	/* Keep libxml2 silent: the error is reported once, by our caller. */
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	/* No XML_PARSE_NOENT (entities are not substituted), no DTDLOAD/DTDATTR
	 * (no external DTD is read), NONET (nothing is fetched). */
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)len, name, NULL, opts);
	if (!doc || !ctxt->wellFormed) {
		xml_error_msg(xmlCtxtGetLastError(ctxt), name, err, errlen);
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(ctxt);
		xmlSetGenericErrorFunc(NULL, NULL);
		return NULL;
	}
	xmlFreeParserCtxt(ctxt);
	xmlSetGenericErrorFunc(NULL, NULL);
	if (doc->intSubset && doc->intSubset->children) {
		/* DTD nodes carry no line number: find the DOCTYPE in the text. */
		const char *dt = memmem(buf, len, "<!DOCTYPE", 9);
		long line = 1;
		for (const char *p = buf; dt && p < dt; p++)
			line += *p == '\n';
		util_err(err, errlen, -EINVAL,
			 "%s:%ld: DOCTYPE with an internal subset (entity or element declarations) "
			 "is not accepted",
			 name, line);
		xmlFreeDoc(doc);
		return NULL;
	}
	if (!xmlDocGetRootElement(doc)) {
		util_err(err, errlen, -EINVAL, "%s: no root element", name);
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

bool imp_xml_is(xmlNodePtr node, const char *name)
{
	return node && node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, BAD_CAST name);
}

int imp_xml_text(xmlNodePtr node, char *out, size_t cap, char *msg, size_t msglen)
{
	size_t len = 0;
	out[0] = '\0';
	for (xmlNodePtr c = node->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type == XML_ENTITY_REF_NODE)
			return util_err(msg, msglen, -EINVAL, "entity references are not accepted");
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return util_err(msg, msglen, -EINVAL, "<%s> must contain only text",
					(const char *)node->name);
		size_t n = c->content ? strlen((const char *)c->content) : 0;
		if (len + n >= cap)
			return util_err(msg, msglen, -EINVAL, "<%s> text longer than %zu bytes",
					(const char *)node->name, cap - 1);
		memcpy(out + len, c->content, n);
		len += n;
		out[len] = '\0';
	}
	size_t s = 0;
	while (out[s] == ' ' || out[s] == '\t' || out[s] == '\n' || out[s] == '\r')
		s++;
	while (len > s && (out[len - 1] == ' ' || out[len - 1] == '\t' || out[len - 1] == '\n' ||
			   out[len - 1] == '\r'))
		len--;
	memmove(out, out + s, len - s);
	out[len - s] = '\0';
	return 0;
}
