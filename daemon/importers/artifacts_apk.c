/* pinwatch import-apk: the version and Network Security Config an APK ships.
 *
 * AndroidManifest.xml (binary XML) gives android:versionName (a string or a
 * reference to a string resource) and <application
 * android:networkSecurityConfig="@xml/NAME">, a resource id. resources.arsc
 * maps that id to the file (res/xml/NAME.xml, from the default configuration
 * or else the first one that has it), which is binary XML again; it is turned
 * into a libxml2 document and read by the NSC importer, with references shown
 * as "@type/name" and trust anchors in "@raw/NAME" resources read from the
 * APK (PEM or DER, the certificates Android would load) so that overridePins
 * anchors are stored as pins.
 *
 * The zip is outside input: the entry count is capped, only named entries
 * are read, each through a bounded read whatever its header claims (a zip
 * bomb stops at the cap), and an APK with two entries of the same name (the
 * trick behind "Janus"-style confusion) is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "importers/arsc.h"
#include "importers/axml.h"
#include "importers/importers.h"
#include "importers/importers_int.h"
#include "pki/x509.h"
#include "base/array.h"
#include "base/util.h"

#define RAW_ANCHOR_MAX (1u << 20)

struct apk {
	zip_t *za;
	const char *name;
	struct arsc *arsc;
	uint8_t *arsc_buf;
	size_t arsc_len;
};

void importers_apk_free(struct import_apk *a)
{
	if (!a)
		return;
	free(a->version_name);
	free(a->package);
	free(a->nsc_path);
	importers_policies_free(&a->policies);
	memset(a, 0, sizeof(*a));
}

/* Read entry @entry (at most @cap bytes). 0, -ENOENT, -EFBIG, -EINVAL. */
static int read_entry(struct apk *k, const char *entry, size_t cap, uint8_t **buf, size_t *len,
		      char *err, size_t errlen)
{
	char esc[300];
	*buf = NULL;
	*len = 0;
	zip_int64_t idx = zip_name_locate(k->za, entry, 0);
	if (idx < 0)
		return util_err(err, errlen, -ENOENT, "%s: no %s in the archive", k->name,
				imp_esc(entry, esc, sizeof(esc)));
	zip_stat_t st;
	zip_stat_init(&st);
	if (zip_stat_index(k->za, (zip_uint64_t)idx, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
	    st.size > cap)
		return util_err(err, errlen, -EFBIG, "%s: %s is larger than %zu bytes", k->name,
				imp_esc(entry, esc, sizeof(esc)), cap);
	zip_file_t *zf = zip_fopen_index(k->za, (zip_uint64_t)idx, 0);
	if (!zf)
		return util_err(err, errlen, -EINVAL, "%s: %s: %s", k->name,
				imp_esc(entry, esc, sizeof(esc)), zip_strerror(k->za));
	size_t alloc = cap + 1, n = 0;
	if ((st.valid & ZIP_STAT_SIZE) && st.size + 1 < alloc)
		alloc = (size_t)st.size + 1; /* grown below if the header lied */
	uint8_t *b = malloc(alloc);
	int rc = b ? 0 : -ENOMEM;
	while (rc == 0) {
		if (n == alloc) {
			if (alloc > cap) {
				rc = util_err(err, errlen, -EFBIG,
					      "%s: %s inflates beyond %zu bytes", k->name,
					      imp_esc(entry, esc, sizeof(esc)), cap);
				break;
			}
			if ((rc = ARRAY_RESERVE(b, alloc, n + 1, cap + 1)))
				break;
		}
		zip_int64_t r = zip_fread(zf, b + n, alloc - n);
		if (r < 0)
			rc = util_err(err, errlen, -EINVAL, "%s: %s: %s", k->name,
				      imp_esc(entry, esc, sizeof(esc)), zip_file_strerror(zf));
		else if (r == 0)
			break;
		else
			n += (size_t)r;
	}
	if (rc == 0 && n > cap)
		rc = util_err(err, errlen, -EFBIG, "%s: %s inflates beyond %zu bytes", k->name,
			      imp_esc(entry, esc, sizeof(esc)), cap);
	zip_fclose(zf);
	if (rc == -ENOMEM)
		util_err(err, errlen, rc, "%s: out of memory", k->name);
	if (rc) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Android refuses an APK with two entries of one name; so do we. */
static int check_entries(struct apk *k, char *err, size_t errlen)
{
	zip_int64_t n = zip_get_num_entries(k->za, 0);
	if (n < 0 || n > IMPORTERS_MAX_APK_ENTRIES)
		return util_err(err, errlen, -EINVAL, "%s: %lld entries (limit %d)", k->name,
				(long long)n, IMPORTERS_MAX_APK_ENTRIES);
	int manifest = 0, arsc = 0;
	for (zip_int64_t i = 0; i < n; i++) {
		const char *nm = zip_get_name(k->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
		if (!nm)
			continue;
		manifest += strcmp(nm, "AndroidManifest.xml") == 0;
		arsc += strcmp(nm, "resources.arsc") == 0;
	}
	if (manifest > 1 || arsc > 1)
		return util_err(err, errlen, -EINVAL, "%s: %s appears twice in the archive",
				k->name, manifest > 1 ? "AndroidManifest.xml" : "resources.arsc");
	if (!manifest)
		return util_err(err, errlen, -EINVAL,
				"%s: no AndroidManifest.xml: not an APK (an .aab bundle or a "
				"split without its base?)",
				k->name);
	return 0;
}

/* "@0x7f020000" as axml_to_doc writes an unresolved reference. */
static int parse_ref(const char *v, uint32_t *id)
{
	char *end;
	if (strncmp(v, "@0x", 3) != 0)
		return -EINVAL;
	unsigned long x = strtoul(v + 3, &end, 16);
	if (*end || end == v + 3 || x > 0xffffffffUL)
		return -EINVAL;
	*id = (uint32_t)x;
	return 0;
}

/* References in the NSC document: "@type/name" as the source file had, when
 * that name leads back to the same id (aapt2 --collapse-resource-names gives
 * many entries one name); else axml_to_doc keeps "@0x%08x". */
static int nsc_ref(void *ctx, uint32_t resid, char *out, size_t cap)
{
	struct apk *k = ctx;
	uint32_t back = 0;
	if (!k->arsc || cap < 2 || arsc_name(k->arsc, resid, out + 1, cap - 1) != 0)
		return -ENOENT;
	out[0] = '@';
	char *slash = strchr(out, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	int rc = arsc_find(k->arsc, out + 1, slash + 1, &back);
	*slash = '/';
	return rc == 0 && back == resid ? 0 : -EINVAL;
}

/* "@raw/name" → the pins of the certificates in that resource. */
static int raw_anchor(void *ctx, const char *src, char (*pins)[IMP_ANCHOR_LEN], size_t cap,
		      size_t *n, char *msg, size_t msglen)
{
	struct apk *k = ctx;
	char type[128], path[512], esc[300];
	const char *slash = strchr(src, '/');
	uint32_t id;
	*n = 0;
	if (!k->arsc)
		return -ENOENT;
	if (parse_ref(src, &id) != 0) {
		if (!slash || (size_t)(slash - src - 1) >= sizeof(type))
			return -ENOENT;
		memcpy(type, src + 1, (size_t)(slash - src - 1));
		type[slash - src - 1] = '\0';
		if (arsc_find(k->arsc, type, slash + 1, &id) != 0)
			return util_err(msg, msglen, -EINVAL, "no such resource in resources.arsc");
	}
	int rc = arsc_string(k->arsc, id, path, sizeof(path), msg, msglen);
	if (rc)
		return rc == -ENOENT ? -EINVAL : rc;
	uint8_t *buf;
	size_t len;
	char zerr[ERRLEN];
	if ((rc = read_entry(k, path, RAW_ANCHOR_MAX, &buf, &len, zerr, sizeof(zerr))))
		return util_err(msg, msglen, rc == -ENOMEM ? rc : -EINVAL, "%s", zerr);
	struct x509_chain ch = { 0 };
	char xerr[ERRLEN];
	rc = x509_chain_parse(buf, len, cap, &ch, xerr, sizeof(xerr));
	free(buf);
	if (rc)
		return util_err(msg, msglen, -EINVAL, "%s: %s", imp_esc(path, esc, sizeof(esc)),
				xerr);
	for (size_t i = 0; i < ch.n && i < cap; i++) {
		char b64[48];
		snprintf(pins[i], IMP_ANCHOR_LEN, "sha256/%s",
			 util_pin_b64(ch.certs[i].spki_pin, b64));
		(*n)++;
	}
	x509_chain_clear(&ch);
	return 0;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (imp_xml_is(c, name))
			return c;
	return NULL;
}

/* android:versionName: literal, or a string resource. */
static int read_version(struct apk *k, xmlNodePtr manifest, struct import_apk *out, char *err,
			size_t errlen)
{
	xmlChar *v = xmlGetNsProp(manifest, BAD_CAST "versionName", BAD_CAST AXML_ANDROID_NS);
	if (!v)
		return 0;
	uint32_t id;
	char buf[256], msg[ERRLEN];
	int rc = 0;
	if (parse_ref((const char *)v, &id) == 0) {
		if (!k->arsc)
			rc = util_err(
				err, errlen, -EINVAL,
				"%s: versionName is a resource but there is no resources.arsc",
				k->name);
		else if (arsc_string(k->arsc, id, buf, sizeof(buf), msg, sizeof(msg)))
			rc = util_err(err, errlen, -EINVAL, "%s: versionName: %s", k->name, msg);
		else
			out->version_name = strdup(buf);
	} else {
		out->version_name = strdup((const char *)v);
	}
	xmlFree(v);
	if (rc == 0 && !out->version_name)
		rc = util_err(err, errlen, -ENOMEM, "%s: out of memory", k->name);
	return rc;
}

static int read_nsc(struct apk *k, uint32_t id, struct import_apk *out, char *err, size_t errlen)
{
	char path[512], msg[ERRLEN], label[700], rname[300];
	if (!k->arsc)
		return util_err(err, errlen, -EINVAL,
				"%s: networkSecurityConfig is a resource but there is no "
				"resources.arsc",
				k->name);
	int rc = arsc_string(k->arsc, id, path, sizeof(path), msg, sizeof(msg));
	if (rc)
		return util_err(err, errlen, -EINVAL, "%s: networkSecurityConfig: %s", k->name,
				msg);
	if (!(out->nsc_path = strdup(path)))
		return util_err(err, errlen, -ENOMEM, "%s: out of memory", k->name);
	if (arsc_name(k->arsc, id, rname, sizeof(rname)) != 0)
		snprintf(rname, sizeof(rname), "0x%08x", id);
	snprintf(label, sizeof(label), "%s!%s", k->name, path);
	uint8_t *buf;
	size_t len;
	if ((rc = read_entry(k, path, IMPORTERS_MAX_CONFIG, &buf, &len, err, errlen)))
		return rc == -EFBIG || rc == -ENOMEM ? rc : -EINVAL;
	struct imp_nsc_resolver res = { .anchor = raw_anchor, .ctx = k };
	xmlDocPtr doc = NULL;
	if (len && buf[0] == '<') {
		/* a text file (not compiled by aapt): parse it as such */
		doc = imp_xml_read((const char *)buf, len, label, err, errlen);
		rc = doc ? 0 : -EINVAL;
	} else {
		rc = axml_to_doc(buf, len, label, nsc_ref, k, &doc, err, errlen);
	}
	free(buf);
	if (rc == 0) {
		rc = imp_parse_nsc_doc(doc, label, &res, &out->policies, err, errlen);
		if (rc == 0)
			imp_note(&out->policies, "%s: networkSecurityConfig @%s is %s", k->name,
				 rname, path);
	}
	xmlFreeDoc(doc);
	return rc;
}

int importers_parse_apk(const char *path, const char *name, struct import_apk *out, char *err,
			size_t errlen)
{
	struct apk k = { .name = name };
	uint8_t *mbuf = NULL;
	size_t mlen = 0;
	xmlDocPtr doc = NULL;
	int zerr = 0, rc;
	memset(out, 0, sizeof(*out));
	k.za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
	if (!k.za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		if (zerr == ZIP_ER_EXISTS)
			rc = util_err(err, errlen, -EINVAL,
				      "%s: two archive entries have the same name (Android refuses "
				      "such an APK)",
				      name);
		else
			rc = util_err(err, errlen, zerr == ZIP_ER_MEMORY ? -ENOMEM : -EINVAL,
				      "%s: not a readable zip archive: %s", name,
				      zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return rc;
	}
	if ((rc = check_entries(&k, err, errlen)))
		goto out;
	rc = read_entry(&k, "resources.arsc", IMPORTERS_MAX_APK_ENTRY, &k.arsc_buf, &k.arsc_len,
			err, errlen);
	if (rc == 0) {
		if (!(k.arsc = arsc_parse(k.arsc_buf, k.arsc_len, err, errlen))) {
			rc = -EINVAL;
			goto out;
		}
	} else if (rc != -ENOENT) {
		goto out;
	}
	if ((rc = read_entry(&k, "AndroidManifest.xml", IMPORTERS_MAX_APK_ENTRY, &mbuf, &mlen, err,
			     errlen)))
		goto out;
	char label[300];
	snprintf(label, sizeof(label), "%s!AndroidManifest.xml", name);
	if ((rc = axml_to_doc(mbuf, mlen, label, NULL, NULL, &doc, err, errlen)))
		goto out;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!imp_xml_is(root, "manifest")) {
		rc = util_err(err, errlen, -EINVAL, "%s: the root element must be <manifest>",
			      label);
		goto out;
	}
	xmlChar *pkg = xmlGetProp(root, BAD_CAST "package");
	if (pkg) {
		out->package = strdup((const char *)pkg);
		xmlFree(pkg);
		if (!out->package) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if ((rc = read_version(&k, root, out, err, errlen)))
		goto out;
	xmlNodePtr app = child(root, "application");
	xmlChar *ref =
		app ? xmlGetNsProp(app, BAD_CAST "networkSecurityConfig", BAD_CAST AXML_ANDROID_NS)
		    : NULL;
	if (!ref) {
		imp_note(&out->policies,
			 "%s: no android:networkSecurityConfig: the APK ships no pins in an NSC",
			 name);
		goto out;
	}
	uint32_t id = 0;
	if (parse_ref((const char *)ref, &id) != 0) {
		char esc[128];
		rc = util_err(err, errlen, -EINVAL,
			      "%s: networkSecurityConfig=\"%s\" is not a resource reference", label,
			      imp_esc((const char *)ref, esc, sizeof(esc)));
	} else {
		rc = read_nsc(&k, id, out, err, errlen);
	}
	xmlFree(ref);
out:
	xmlFreeDoc(doc);
	free(mbuf);
	arsc_free(k.arsc);
	free(k.arsc_buf);
	zip_discard(k.za);
	if (rc) {
		if (rc == -ENOMEM)
			util_err(err, errlen, rc, "%s: out of memory", name);
		importers_apk_free(out);
	}
	return rc;
}
