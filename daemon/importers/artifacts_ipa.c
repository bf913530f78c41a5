/* iOS release artifacts: an .ipa is a zip whose Payload/<App>.app/Info.plist
 * (binary as Xcode ships it, XML in hand-made archives) holds
 * CFBundleShortVersionString and, for apps configured that way, TrustKit's
 * TSKConfiguration. Only that one member is read, inflated into a buffer
 * capped at IMPORTERS_MAX_CONFIG whatever the zip headers declare (a zip bomb
 * stops at the cap); the entry count is capped too. Nothing is extracted to
 * disk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "base/util.h"

/* "Payload/<one path component>.app/Info.plist" */
static bool is_app_info_plist(const char *n)
{
	static const char pre[] = "Payload/", suf[] = ".app/Info.plist";
	size_t len = strlen(n);
	if (strncmp(n, pre, sizeof(pre) - 1) || len < sizeof(pre) - 1 + sizeof(suf))
		return false;
	if (strcmp(n + len - (sizeof(suf) - 1), suf))
		return false;
	const char *app = n + sizeof(pre) - 1;
	size_t applen = len - (sizeof(pre) - 1) - (sizeof(suf) - 1);
	return applen > 0 && !memchr(app, '/', applen);
}

static int zip_fail(char *err, size_t errlen, int rc, const char *path, const char *what,
		    zip_error_t *ze)
{
	char esc[300], zesc[200];
	return util_err(err, errlen, rc, "%s: %s: %s", imp_esc(path, esc, sizeof(esc)), what,
			imp_esc(zip_error_strerror(ze), zesc, sizeof(zesc)));
}

/* Inflate entry @idx into a fresh buffer of at most IMPORTERS_MAX_CONFIG. */
static int read_member(zip_t *z, zip_uint64_t idx, const char *path, char **buf, size_t *len,
		       char *err, size_t errlen)
{
	zip_file_t *f = zip_fopen_index(z, idx, 0);
	if (!f)
		return zip_fail(err, errlen, -EINVAL, path, "cannot open Info.plist in the archive",
				zip_get_error(z));
	size_t cap = IMPORTERS_MAX_CONFIG + 1, n = 0;
	char *b = malloc(cap);
	int rc = 0;
	if (!b) {
		zip_fclose(f);
		return util_err(err, errlen, -ENOMEM, "out of memory");
	}
	while (n < cap) {
		zip_int64_t r = zip_fread(f, b + n, cap - n);
		if (r < 0) {
			rc = zip_fail(err, errlen, -EINVAL, path, "cannot inflate Info.plist",
				      zip_file_get_error(f));
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	zip_fclose(f);
	if (!rc && n > IMPORTERS_MAX_CONFIG) {
		char esc[300];
		rc = util_err(err, errlen, -EFBIG, "%s: Info.plist inflates to more than %u bytes",
			      imp_esc(path, esc, sizeof(esc)), IMPORTERS_MAX_CONFIG);
	}
	if (rc) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* The app's Info.plist in the open archive @z (@path names it in messages). */
static int ipa_from_zip(zip_t *z, const char *path, char version[IMPORTERS_MAX_VERSION],
			struct import_policies *out, char *err, size_t errlen)
{
	char esc[300], mesc[300];
	zip_int64_t n = zip_get_num_entries(z, 0);
	zip_int64_t found = -1;
	const char *member = NULL;
	if (n < 0 || n > IMPORTERS_MAX_ARCHIVE_ENTRIES)
		return util_err(err, errlen, -EFBIG, "%s: more than %d archive entries",
				imp_esc(path, esc, sizeof(esc)), IMPORTERS_MAX_ARCHIVE_ENTRIES);
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(z, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
		if (!name || !is_app_info_plist(name))
			continue;
		if (found >= 0)
			return util_err(err, errlen, -EINVAL,
					"%s: more than one app in Payload/ (%s and %s)",
					imp_esc(path, esc, sizeof(esc)),
					imp_esc(member, mesc, sizeof(mesc)), name);
		found = i;
		member = name;
	}
	if (found < 0)
		return util_err(
			err, errlen, -ENOENT,
			"%s: no Payload/<App>.app/Info.plist: not an iOS app archive (.ipa)",
			imp_esc(path, esc, sizeof(esc)));
	char *buf = NULL, name[ERRLEN];
	size_t len = 0;
	snprintf(name, sizeof(name), "%s: %s", imp_esc(path, esc, sizeof(esc)),
		 imp_esc(member, mesc, sizeof(mesc)));
	int rc = read_member(z, (zip_uint64_t)found, path, &buf, &len, err, errlen);
	if (rc)
		return rc;
	rc = imp_trustkit_plist(buf, len, name, out, version, IMPORTERS_MAX_VERSION, err, errlen);
	free(buf);
	return rc;
}

static int open_fail(int zerr, const char *path, char *err, size_t errlen)
{
	zip_error_t ze;
	zip_error_init_with_code(&ze, zerr);
	int rc =
		zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ || zerr == ZIP_ER_NOENT ? -EIO : -EINVAL;
	zip_fail(err, errlen, rc, path, "not a readable zip archive", &ze);
	zip_error_fini(&ze);
	return rc;
}

int importers_read_ipa(const char *path, char version[IMPORTERS_MAX_VERSION],
		       struct import_policies *out, char *err, size_t errlen)
{
	int zerr = 0;
	memset(out, 0, sizeof(*out));
	version[0] = '\0';
	zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
	if (!z)
		return open_fail(zerr, path, err, errlen);
	int rc = ipa_from_zip(z, path, version, out, err, errlen);
	zip_discard(z);
	return rc;
}

int importers_parse_ipa(const char *buf, size_t len, const char *name,
			char version[IMPORTERS_MAX_VERSION], struct import_policies *out, char *err,
			size_t errlen)
{
	zip_error_t ze;
	memset(out, 0, sizeof(*out));
	version[0] = '\0';
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
	if (!src) {
		zip_error_fini(&ze);
		return util_err(err, errlen, -ENOMEM, "%s: out of memory", name);
	}
	zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &ze);
	if (!z) {
		int rc = open_fail(zip_error_code_zip(&ze), name, err, errlen);
		zip_source_free(src);
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	int rc = ipa_from_zip(z, name, version, out, err, errlen);
	zip_discard(z); /* also frees src */
	return rc;
}
