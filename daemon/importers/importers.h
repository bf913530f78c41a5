/* Importers of the pin configurations apps ship and of adoption figures.
 *
 * Every parser here is a pure function: file bytes in, model.h structs out,
 * no database, no clock, no network. Errors name the file and line
 * ("nsc.xml:12: ...", libxml2 line numbers for XML, CSV line numbers) or the
 * key path ("TSKConfiguration.kTSKPinnedDomains[\"api.example.com\"]
 * .kTSKPublicKeyHashes[1]: ..."). The CLI (cli_importers.c) hands the result
 * to the store.
 *
 * Pin roles: a configuration does not say which pin is the backup. The rule
 * is: in each pin set the first pin listed is `current`, every further pin is
 * `backup`. importers_assign_roles() overrides it with the pins given by
 * `--backup-pin` (those are `backup`, all others `current`).
 */
#ifndef PINWATCH_IMPORTERS_H
#define PINWATCH_IMPORTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

#define IMPORTERS_MAX_CONFIG   (1u << 20)  /**< size cap of an NSC/TrustKit/OkHttp file */
#define IMPORTERS_MAX_CSV      (16u << 20) /**< size cap of an adoption CSV */
#define IMPORTERS_MAX_POLICIES 4096	   /**< policies one file may produce */
#define IMPORTERS_MAX_PINS     64	   /**< pins in one pin set */
#define IMPORTERS_MAX_NOTES    32	   /**< notes kept (further ones are counted only) */
#define IMPORTERS_MAX_NESTING  32	   /**< nested NSC domain-config / plist depth */
#define IMPORTERS_MAX_ROWS     200000	   /**< rows of one adoption CSV */

/** What a configuration importer produced. Free with importers_policies_free(). */
struct import_policies {
	struct pin_policy *policies; /**< sorted by pattern, then include_subdomains */
	size_t npolicies;
	char **notes; /**< things ignored, for the user ("base-config ignored") */
	size_t nnotes;
	size_t notes_dropped; /**< notes beyond IMPORTERS_MAX_NOTES */
};

/** Release the contents of @r (not @r itself) and zero it. NULL-safe. */
void importers_policies_free(struct import_policies *r);

/**
 * Android Network Security Config XML (@buf, @len bytes; @name is used in
 * messages). Each <domain> of a <domain-config> becomes one policy (source
 * "nsc", enforce=true). Nested domain-configs inherit the pin-set (with its
 * expiration) and the <trust-anchors> of their parent unless they have their
 * own; top-level ones inherit the trust anchors of <base-config>. A domain
 * whose effective pin-set is missing or empty, and which a pinned domain of
 * the same file would otherwise cover, becomes an exclusion (enforce=false,
 * no pins): Android applies the most specific domain-config only. Unpinned
 * domains that nothing covers are skipped with a note. Trust anchors with
 * overridePins="true" in scope go to each pinned policy's override_anchors
 * ("system", "user", "@raw/NAME" as written: a text file has no resources).
 * <trustkit-config enforcePinning="false"> keeps the policy enforced (with a
 * note): Android 7+ enforces the pin-set itself for every connection that
 * does not go through TrustKit. <debug-overrides> is ignored (release
 * builds). A DTD internal subset (entity declarations) is refused; nothing
 * is fetched or expanded.
 * Returns 0, -EINVAL (bad input, message in @err), -EFBIG or -ENOMEM.
 * On failure @out is left empty.
 */
int importers_parse_nsc(const char *buf, size_t len, const char *name, struct import_policies *out,
			char *err, size_t errlen);

/**
 * TrustKit configuration (source "trustkit"), detected by content: a binary
 * plist ("bplist00"), JSON ('{' first), an XML plist ('<' first), else
 * Objective-C or Swift source holding the dictionary literal passed to
 * TrustKit. Either the TSKConfiguration dict itself or a document holding it
 * under the key "TSKConfiguration" (an Info.plist). Keys are the strings
 * TrustKit reads (TSKPinnedDomains, TSKPublicKeyHashes, TSKIncludeSubdomains,
 * TSKEnforcePinning, TSKExpirationDate, kSKExcludeSubdomainFromParentPolicy,
 * ...) or the names of its constants (kTSKPinnedDomains, ...); TrustKit's
 * defaults and start-up checks apply (see importers_trustkit.c). All forms
 * give identical policies. Errors name the key path, and the line for source.
 */
int importers_parse_trustkit(const char *buf, size_t len, const char *name,
			     struct import_policies *out, char *err, size_t errlen);
/** The forms of importers_parse_trustkit(), callable directly (_plist reads
 * XML and binary plists). */
int importers_parse_trustkit_json(const char *buf, size_t len, const char *name,
				  struct import_policies *out, char *err, size_t errlen);
int importers_parse_trustkit_plist(const char *buf, size_t len, const char *name,
				   struct import_policies *out, char *err, size_t errlen);
int importers_parse_trustkit_source(const char *buf, size_t len, const char *name,
				    struct import_policies *out, char *err, size_t errlen);

#define IMPORTERS_MAX_ARCHIVE_ENTRIES 200000 /**< entries of an .ipa/.apk zip */
#define IMPORTERS_MAX_VERSION	      64     /**< bytes of a version read from an artifact */

/**
 * An iOS release artifact (.ipa at @path): reads Payload/<App>.app/Info.plist
 * (exactly one such app; at most IMPORTERS_MAX_CONFIG bytes inflated, whatever
 * the zip headers claim) and imports its TSKConfiguration as
 * importers_parse_trustkit() does. @version (IMPORTERS_MAX_VERSION bytes)
 * receives CFBundleShortVersionString, "" when absent. 0, -EINVAL (bad
 * archive or configuration, message in @err), -ENOENT (no app Info.plist or
 * no TSKConfiguration), -EFBIG, -ENOMEM, or -EIO (unreadable file).
 */
int importers_read_ipa(const char *path, char version[IMPORTERS_MAX_VERSION],
		       struct import_policies *out, char *err, size_t errlen);
/** importers_read_ipa() on an archive already in memory (@name for messages). */
int importers_parse_ipa(const char *buf, size_t len, const char *name,
			char version[IMPORTERS_MAX_VERSION], struct import_policies *out, char *err,
			size_t errlen);

/**
 * OkHttp CertificatePinner pins. Kotlin or Java source (a file, or a pasted
 * snippet): every CertificatePinner.Builder add(pattern, pins...) call, with
 * arguments that are string literals, constants of the same file (val,
 * const val, String / static final String, arrayOf / listOf / String[] { }
 * of literals), '+' of those or Kotlin templates naming them; a host or pin
 * the file does not define is an error naming its line ("f.kt:12: host is
 * the variable 'hostName', which is not a constant of this file"). Or the
 * line form, one `pattern sha256/<base64> [sha256/...]` per line, `#`
 * comments. The form is chosen by the text (an add( call, CertificatePinner,
 * or a line starting with a declaration keyword means source). Several add()
 * or lines of one pattern add pins to one policy. Patterns keep OkHttp's `*.`
 * (one label) and `**.` (any depth, apex included) forms. `sha1/` pins are
 * refused ("pinwatch needs sha256 pins"). An add() without pins is a note.
 * Source "okhttp", enforce=true.
 */
int importers_parse_okhttp(const char *buf, size_t len, const char *name,
			   struct import_policies *out, char *err, size_t errlen);

#define IMPORTERS_MAX_APK_ENTRIES 100000      /**< zip entries an APK may have */
#define IMPORTERS_MAX_APK_ENTRY	  (64u << 20) /**< bytes read of the manifest / resources.arsc */

/** What an APK ships. Free with importers_apk_free(). */
struct import_apk {
	char *version_name;		 /**< android:versionName (resolved), NULL when absent */
	char *package;			 /**< the manifest's package attribute, NULL when absent */
	char *nsc_path;			 /**< "res/xml/network_security_config.xml", NULL: none */
	struct import_policies policies; /**< as importers_parse_nsc(); empty without NSC */
};

/**
 * Read the APK at @path (@name in messages): AndroidManifest.xml and
 * resources.arsc (binary XML and resource table), android:versionName, and
 * the Network Security Config the manifest's <application
 * android:networkSecurityConfig> points to, parsed like
 * importers_parse_nsc() except that "@raw/NAME" trust anchors are read from
 * the APK and stored as "sha256/<b64>" pins. An APK without that attribute
 * gives no policies (and a note). Zip entries, sizes and the binary formats
 * are bounds-checked. Returns 0, -EINVAL (bad input, message in @err),
 * -EFBIG (an entry over its cap) or -ENOMEM. On failure @out is empty.
 */
int importers_parse_apk(const char *path, const char *name, struct import_apk *out, char *err,
			size_t errlen);

/** Release the contents of @a and zero it. NULL-safe. */
void importers_apk_free(struct import_apk *a);

/**
 * Apply `--backup-pin` overrides: when @nbackup > 0, every pin equal to one of
 * @backup becomes `backup` and every other pin `current`. A backup pin that is
 * in no policy is an error (-EINVAL, probably a typo). @nbackup == 0 keeps the
 * default rule (first pin of a set current, the rest backup).
 */
int importers_assign_roles(struct import_policies *r, const uint8_t (*backup)[32], size_t nbackup,
			   char *err, size_t errlen);

/** One row of an adoption CSV. */
struct adoption_csv_row {
	char *version;
	char at[MODEL_DATE_LEN];
	time_t at_time;
	double share;	      /**< given, or derived from active_users per date */
	int64_t active_users; /**< -1 when the file gives shares */
	unsigned line;	      /**< 1-based line in the file */
};

/** A parsed adoption CSV. Free with importers_adoption_free(). */
struct adoption_csv {
	struct adoption_csv_row *rows; /**< in file order (first row of a version and date) */
	size_t nrows;
	bool from_users;      /**< the file gave counts (users, devices), shares were derived */
	bool version_codes;   /**< the version column holds version codes (Play Console) */
	const char *format;   /**< static: "generic", "Google Play Console statistics", ... */
	const char *encoding; /**< static: NULL (UTF-8) or "UTF-16LE" / "UTF-16BE" */
	size_t unnamed;	      /**< "(not set)" / "(other)" figures: in the totals, not in rows */
};

/** Options of importers_parse_adoption_csv_opts(). */
struct adoption_csv_opts {
	/** version code (or any version value of the file) -> pinwatch version */
	const struct adoption_code {
		const char *code;
		const char *version;
	} * codes;
	size_t ncodes;
};

/**
 * Adoption figures as CSV: the generic form `version,share,date` or
 * `version,active_users,date`, and the store / analytics exports by app
 * version, recognised by their header row (columns in any order, columns
 * pinwatch does not read are ignored):
 * - Google Play Console statistics (installs_<pkg>_<YYYYMM>_app_version.csv,
 *   UTF-16LE): `Date`, `App Version Code`, `Active Device Installs`;
 * - App Store Connect analytics reports (App Sessions, tab-separated):
 *   `Date`, `App Version`, `Unique Devices`;
 * - Firebase / Google Analytics downloads: `#` preamble lines (the date of a
 *   table without a Date column is its `# End date:`), `App version`,
 *   `Active users` or `Users`, dates `YYYYMMDD` or `YYYY-MM-DD`.
 * Generic header names: `version`; `share`, or a count `active_users`;
 * `date` or `at`. Without a header the columns are version, value, date and
 * the second column's form decides: if any value has a decimal point,
 * exponent or `%` the file gives shares, else counts (integers; "1,234" is
 * read as 1234). UTF-8 (BOM optional) or UTF-16LE/BE with a BOM; RFC 4180
 * quoting; CRLF; comma or tab separated (from the first line); blank lines
 * skipped. Shares are in [0, 1] ("31%" is 0.31); with counts each date's
 * shares are count / the date's total in the file. In an export with columns
 * pinwatch ignores (breakdowns by device, territory...) and with @opts
 * codes, rows of one version and date are added up first; in the
 * three-column form a version listed twice for a date is an error naming
 * the lines. Versions "(not set)" and "(other)" count in a date's total and
 * are left out of the rows. Shares of one date summing above 1 (+1e-9) is an
 * error naming the date. All-or-nothing: on error @out is left empty.
 */
int importers_parse_adoption_csv_opts(const char *buf, size_t len, const char *name,
				      const struct adoption_csv_opts *opts,
				      struct adoption_csv *out, char *err, size_t errlen);

/** importers_parse_adoption_csv_opts() without options. */
int importers_parse_adoption_csv(const char *buf, size_t len, const char *name,
				 struct adoption_csv *out, char *err, size_t errlen);

/** Release the contents of @a and zero it. NULL-safe. */
void importers_adoption_free(struct adoption_csv *a);

#endif
