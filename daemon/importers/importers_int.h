/* Helpers shared by the importers_*.c files; not a public interface. */
#ifndef PINWATCH_IMPORTERS_INT_H
#define PINWATCH_IMPORTERS_INT_H

#include <jansson.h>
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

/* Decode a base64 pin as the platforms do (util_pin_decode_b64, which also
 * gives the message naming the value and its decoded length). 0 or -EINVAL. */
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

/* A TrustKit configuration read from Objective-C or Swift source
 * (importers_tksrc.c): the dictionary literal as a JSON tree, keys as written
 * (constant names or strings), and the line of every value for messages. */
struct imp_tk_line {
	const json_t *v;
	unsigned line;
};
struct imp_tk_src {
	json_t *root;
	struct imp_tk_line *lines;
	size_t nlines, cap;
	char *notes[1]; /* "more configurations ignored" */
	size_t nnotes;
};

/* Scan @buf for the first dictionary literal with a TSKPinnedDomains key.
 * 0, -EINVAL ("name:line: msg" in @err; -EINVAL too when there is none),
 * -EFBIG or -ENOMEM. Free @out with imp_tk_src_free() on success. */
int imp_tk_scan(const char *buf, size_t len, const char *name, struct imp_tk_src *out, char *err,
		size_t errlen);
/* The source line of @v, 0 when unknown. */
unsigned imp_tk_src_line(const struct imp_tk_src *src, const json_t *v);
void imp_tk_src_free(struct imp_tk_src *src);

/* A binary property list (bplist00) whose top object is a dictionary, as a
 * JSON tree (dates, data and UIDs as null). Bounded: offsets and lengths
 * checked, nesting and node count capped. 0, -EINVAL (message in @msg) or
 * -ENOMEM. */
int imp_bplist_to_json(const char *buf, size_t len, json_t **root, char *msg, size_t msglen);

/* A property list, XML or binary, whose top object is a dictionary, as a
 * JSON tree (importers_plist.c). 0, -EINVAL ("name:line: msg"), -EFBIG or
 * -ENOMEM. */
int imp_plist_to_json(const char *buf, size_t len, const char *name, json_t **root, char *err,
		      size_t errlen);
/* Whether @buf starts with the binary plist magic "bplist00". */
bool imp_is_bplist(const char *buf, size_t len);

/* A TrustKit configuration in an Info.plist, XML or binary (bplist00). With
 * @version, also CFBundleShortVersionString ("" when absent) and -ENOENT when
 * the plist has no TSKConfiguration key. Otherwise as importers_parse_trustkit. */
int imp_trustkit_plist(const char *buf, size_t len, const char *name, struct import_policies *out,
		       char *version, size_t versionlen, char *err, size_t errlen);

#endif
