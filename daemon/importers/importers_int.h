/* Helpers shared by the importers_*.c files; not a public interface. */
#ifndef PINWATCH_IMPORTERS_INT_H
#define PINWATCH_IMPORTERS_INT_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "importers/importers.h"

/* A pin set being collected: bounded, duplicates merged, roles by order. */
struct imp_pinset {
	struct pin pins[IMPORTERS_MAX_PINS];
	size_t npins;
	char expires[MODEL_DATE_LEN];
	time_t expires_at;
};

/* Add @pin (first one current, the rest backup); a repeated pin is merged.
 * 0 or -E2BIG. */
int imp_pinset_add(struct imp_pinset *s, const uint8_t pin[32]);

/* Append a policy (pattern copied and normalised). @pins may be NULL. 0,
 * -EINVAL (bad pattern), -EEXIST (same pattern and include_subdomains twice),
 * -E2BIG or -ENOMEM; message in @msg without location. */
int imp_add_policy(struct import_policies *r, const char *pattern, bool include_subdomains,
		   bool enforce, const struct imp_pinset *pins, const char *source, char *msg,
		   size_t msglen);

/* Record a note for the user (bounded). */
void imp_note(struct import_policies *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parsing @name failed with @rc: give -ENOMEM its message (other errors
 * carry theirs already) and free the partial result @out. Returns @rc. */
int imp_fail(int rc, const char *name, struct import_policies *out, char *err, size_t errlen);

/* Sort policies by pattern, then include_subdomains. */
void imp_sort(struct import_policies *r);

/* Parse "YYYY-MM-DD" into @out/@t. 0 or -EINVAL. */
int imp_date(const char *s, char out[MODEL_DATE_LEN], time_t *t);

/* Decode base64 that must be exactly 32 bytes. 0 or -EINVAL. */
int imp_b64_pin(const char *s, uint8_t out[32]);

/* Parse XML safely: size cap, no network, no DTD loading, no entity
 * substitution, an internal DTD subset refused. NULL with "name:line: msg". */
xmlDocPtr imp_xml_read(const char *buf, size_t len, const char *name, char *err, size_t errlen);

/* The text content of @node, whitespace-trimmed, into @out (@cap bytes).
 * Refuses child elements, entity references and over-long text: -EINVAL
 * with a message in @msg. */
int imp_xml_text(xmlNodePtr node, char *out, size_t cap, char *msg, size_t msglen);

/* Whether @node is an element named @name. */
bool imp_xml_is(xmlNodePtr node, const char *name);

/* NSC trust anchors: entries of override_anchors ("system", "user",
 * "sha256/<b64>", "@raw/name"), bounded. */
#define IMP_MAX_ANCHORS 16
#define IMP_ANCHOR_LEN	160

/* Resolves <certificates src="@raw/NAME"> to the pins ("sha256/<b64>") of
 * the certificates the resource holds (a PEM bundle or DER). Returns 0 with
 * *n pins in @pins, -ENOENT when the resource is not available (the src is
 * then kept as written), or another negative errno with a message in @msg
 * (the import fails). */
struct imp_nsc_resolver {
	int (*anchor)(void *ctx, const char *src, char (*pins)[IMP_ANCHOR_LEN], size_t cap,
		      size_t *n, char *msg, size_t msglen);
	void *ctx;
};

/* importers_parse_nsc() on a document built by the caller (an APK's binary
 * XML converted to libxml2 nodes, line numbers set). @res may be NULL (no
 * resources: "@raw/" anchors kept by name). Does not free @doc. */
int imp_parse_nsc_doc(xmlDocPtr doc, const char *name, const struct imp_nsc_resolver *res,
		      struct import_policies *out, char *err, size_t errlen);

/* Escape untrusted text for an error message (bounded, printable ASCII). */
const char *imp_esc(const char *in, char *out, size_t outlen);

#endif
