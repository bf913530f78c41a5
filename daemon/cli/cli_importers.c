/* pinwatch import-nsc / import-trustkit / import-okhttp / adoption import:
 * read a file, parse it with the pure importers, store the result. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/apps.h"
#include "cli/cli.h"
#include "store/db.h"
#include "importers/importers.h"
#include "base/log.h"
#include "base/util.h"

typedef int (*config_parser)(const char *, size_t, const char *, struct import_policies *, char *,
			     size_t);

/* A release artifact: reads the configuration and the version it ships. */
typedef int (*artifact_reader)(const char *path, char version[IMPORTERS_MAX_VERSION],
			       struct import_policies *out, char *err, size_t errlen);

struct config_cmd {
	const char *cmd;    /* "import-nsc" */
	const char *source; /* "nsc" */
	const char *what;   /* help text describing FILE */
	config_parser parse;
	artifact_reader artifact; /* instead of parse: --version optional */
	const char *file;	  /* "FILE", "FILE.ipa" */
	const char *version_from; /* where an artifact's version comes from */
};

static void config_usage(const struct config_cmd *c)
{
	printf("Usage: pinwatch %s --app NAME %s [--backup-pin B64]... [--dry-run]\n"
	       "       [--db PATH] [-c FILE] %s\n\n"
	       "%s\n\n"
	       "Replaces the pin policies of version V of app NAME that came from a previous\n"
	       "%s import (policies from other sources stay; one with the same pattern is taken\n"
	       "over). The app must exist; the version is created when missing. Importing the\n"
	       "same file again changes nothing. Every change is audited.\n\n"
	       "Pin roles: a configuration does not say which pin is the backup. In each pin\n"
	       "set the FIRST pin listed is 'current' and every further pin is 'backup'.\n"
	       "With --backup-pin (repeatable) exactly the pins given are 'backup' and all\n"
	       "others 'current'; a --backup-pin found in no policy is an error.\n\n"
	       "  --app NAME          the app (must exist: pinwatch app add / import)\n"
	       "  --version V         the app version this configuration shipped in%s\n"
	       "  --backup-pin B64    a pin (sha256/<base64>, base64 or hex) that is a backup\n"
	       "  --dry-run           parse and print the policies as inventory JSON; store "
	       "nothing\n"
	       "  -h, --help          this help\n" CLI_GLOBAL_HELP "\n"
	       "Exit status: 0 ok; 2 bad usage or bad input (the error names file:line or\n"
	       "the key path; nothing is stored), or unknown app; 3 database failure.\n",
	       c->cmd, c->artifact ? "[--version V]" : "--version V", c->file ? c->file : "FILE",
	       c->what, c->source, c->version_from ? c->version_from : "");
}

json_t *cli_policies_json(const struct import_policies *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < r->npolicies; i++) {
		const struct pin_policy *p = &r->policies[i];
		json_t *pins = json_array();
		for (size_t k = 0; pins && k < p->npins; k++) {
			char b64[48];
			json_t *o = json_pack("{s:s, s:s}", "sha256",
					      util_pin_b64(p->pins[k].sha256, b64), "role",
					      model_role_name(p->pins[k].role));
			if (!o || json_array_append_new(pins, o)) {
				json_decref(pins);
				pins = NULL;
			}
		}
		json_t *o = pins ? json_pack("{s:s, s:b, s:b, s:s?, s:o}", "pattern", p->pattern,
					     "include_subdomains", p->include_subdomains, "enforce",
					     p->enforce, "expires",
					     p->expires[0] ? p->expires : NULL, "pins", pins)
				 : NULL;
		if (o && p->noverride_anchors) {
			json_t *a = json_array();
			for (size_t k = 0; a && k < p->noverride_anchors; k++)
				if (json_array_append_new(a, json_string(p->override_anchors[k]))) {
					json_decref(a);
					a = NULL;
				}
			if (!a || json_object_set_new(o, "override_anchors", a)) {
				json_decref(o);
				o = NULL;
			}
		}
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int read_input(const char *cmd, const char *path, size_t cap, char **buf, size_t *len)
{
	char esc[ERRLEN];
	int rc = util_read_file(path, cap, buf, len);
	if (rc == -EFBIG) {
		log_err("%s: %s: larger than %zu bytes", cmd, log_escape(path, esc, sizeof(esc)),
			cap);
		return EXIT_USAGE;
	}
	if (rc) {
		log_errno(LOG_LVL_ERR, -rc, "%s: cannot read %s", cmd,
			  log_escape(path, esc, sizeof(esc)));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int store_exit(int rc)
{
	return rc == -EINVAL || rc == -ENOENT || rc == -EEXIST ? EXIT_USAGE : EXIT_RUNTIME;
}

int cli_import_args(const char *cmd, int argc, char **argv, struct cli_import_args *a,
		    void (*help)(const void *), const void *help_arg)
{
	enum { OPT_APP = 0x200, OPT_VERSION, OPT_BACKUP, OPT_DRY };
	static const struct option opts[] = {
		{ "app", required_argument, NULL, OPT_APP },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "backup-pin", required_argument, NULL, OPT_BACKUP },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[ERRLEN], esc[ERRLEN * 2];
	int opt;
	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&a->g, opt, optarg))
			continue;
		switch (opt) {
		case OPT_APP:
			a->app = optarg;
			break;
		case OPT_VERSION:
			a->version = optarg;
			break;
		case OPT_DRY:
			a->dry = true;
			break;
		case OPT_BACKUP:
			if (a->nbackup >= CLI_IMPORT_MAX_BACKUP)
				return cli_usage_error(cmd, "more than %d --backup-pin",
						       CLI_IMPORT_MAX_BACKUP);
			if (util_parse_pin(optarg, a->backup[a->nbackup], err, sizeof(err)))
				return cli_usage_error(cmd, "--backup-pin %s: %s",
						       log_escape(optarg, esc, sizeof(esc)), err);
			a->nbackup++;
			break;
		case 'h':
			help(help_arg);
			return EXIT_OK;
		default:
			return cli_usage_error(cmd, "unknown option");
		}
	}
	if (!a->app || !*a->app)
		return cli_usage_error(cmd, "--app NAME is required");
	return CLI_CONTINUE;
}

static void config_help(const void *c)
{
	config_usage(c);
}

static int config_import(const struct config_cmd *c, int argc, char **argv)
{
	struct cli_import_args ia;
	char err[ERRLEN], esc[ERRLEN * 2];
	int arc = cli_import_args(c->cmd, argc, argv, &ia, config_help, c);
	if (arc != CLI_CONTINUE)
		return arc;
	struct cli_global g = ia.g;
	const char *app = ia.app, *version = ia.version;
	bool dry = ia.dry;
	size_t nbackup = ia.nbackup;
	uint8_t(*backup)[32] = ia.backup;

	if ((!version || !*version) && !c->artifact)
		return cli_usage_error(c->cmd, "--version V is required");
	if (optind != argc - 1)
		return cli_usage_error(c->cmd, "exactly one %s is expected",
				       c->file ? c->file : "FILE");
	const char *path = argv[optind];

	struct import_policies r;
	char shipped[IMPORTERS_MAX_VERSION] = "";
	int rc, prc;
	if (c->artifact) {
		prc = c->artifact(path, shipped, &r, err, sizeof(err));
		if (prc == -EIO) {
			log_err("%s: %s", c->cmd, log_escape(err, esc, sizeof(esc)));
			return EXIT_USAGE;
		}
		if (!prc && (!version || !*version)) {
			if (!shipped[0]) {
				importers_policies_free(&r);
				return cli_usage_error(c->cmd,
						       "%s names no version (%s): give --version V",
						       log_escape(path, esc, sizeof(esc)),
						       c->version_from ? c->version_from : "");
			}
			version = shipped;
		}
		if (!prc)
			log_info("%s: %s ships version %s (CFBundleShortVersionString)%s", c->cmd,
				 log_escape(path, esc, sizeof(esc)),
				 shipped[0] ? shipped : "(none)",
				 version == shipped ? "" : "; --version given");
	} else {
		char *buf = NULL;
		size_t len = 0;
		rc = read_input(c->cmd, path, IMPORTERS_MAX_CONFIG, &buf, &len);
		if (rc)
			return rc;
		prc = c->parse(buf, len, path, &r, err, sizeof(err));
		free(buf);
	}
	if (prc == 0)
		prc = importers_assign_roles(&r, (const uint8_t(*)[32])backup, nbackup, err,
					     sizeof(err));
	if (prc) {
		log_err("%s: %s", c->cmd, log_escape(err, esc, sizeof(esc)));
		importers_policies_free(&r);
		return prc == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	for (size_t i = 0; i < r.nnotes; i++)
		log_info("%s: note: %s", c->cmd, log_escape(r.notes[i], esc, sizeof(esc)));
	if (r.notes_dropped)
		log_info("%s: note: %zu more notes not shown", c->cmd, r.notes_dropped);

	if (r.npolicies == 0)
		log_warn("%s: %s pins no domain; storing it removes the version's %s policies",
			 c->cmd, log_escape(path, esc, sizeof(esc)), c->source);
	if (dry) {
		rc = cli_print_json(cli_policies_json(&r));
		importers_policies_free(&r);
		return rc;
	}
	struct db *db = NULL;
	rc = cli_open_db(&g, DB_NO_CREATE, &db);
	if (rc) {
		importers_policies_free(&r);
		return rc;
	}
	int src = apps_set_version_policies(db, cli_actor(), app, version, r.policies, r.npolicies,
					    c->source, err, sizeof(err));
	if (src) {
		log_err("%s: %s", c->cmd, log_escape(err, esc, sizeof(esc)));
		rc = store_exit(src);
	} else {
		char ea[256], ev[256];
		printf("%s: %zu pin %s from %s stored for %s %s\n", c->cmd, r.npolicies,
		       r.npolicies == 1 ? "policy" : "policies", log_escape(path, esc, sizeof(esc)),
		       log_escape(app, ea, sizeof(ea)), log_escape(version, ev, sizeof(ev)));
	}
	db_close(db);
	importers_policies_free(&r);
	return rc;
}

static const struct config_cmd nsc_cmd = {
	"import-nsc",
	"nsc",
	"Reads an Android Network Security Config (res/xml/network_security_config.xml):\n"
	"each <domain> of a <domain-config> with a <pin-set> becomes a pin policy\n"
	"(includeSubdomains kept; pin-set expiration = policy expiry; only digest=\"SHA-256\").\n"
	"Nested domain-configs inherit the parent's pin-set unless they have their own; a\n"
	"domain whose pin-set is empty or absent under a pinned domain becomes an exclusion\n"
	"(enforce=false, no pins), as Android applies only the most specific domain-config.\n"
	"Trust anchors with overridePins=\"true\" (Android skips the pin check for chains\n"
	"ending there) are kept per policy as override_anchors: system, user, or @raw/NAME\n"
	"(import the APK with import-apk to get that certificate's pin). Own <trust-anchors>\n"
	"replace inherited ones; domain-configs inherit those of <base-config>.\n"
	"<trustkit-config enforcePinning=\"false\"> is noted and the policy stays enforced:\n"
	"Android 7+ enforces the pin-set itself for every connection not made through\n"
	"TrustKit. <debug-overrides> is ignored (release builds do not apply it).",
	importers_parse_nsc,
	NULL,
	NULL,
	NULL,
};

static const struct config_cmd trustkit_cmd = {
	"import-trustkit",
	"trustkit",
	"Reads a TrustKit configuration: an Info.plist (XML or binary) holding the\n"
	"TSKConfiguration dict, that dict alone (JSON or plist), or the Objective-C /\n"
	"Swift code that passes it to TrustKit (AppDelegate.m, AppDelegate.swift: the\n"
	"literal is found by its kTSKPinnedDomains key; hosts and pins must be literals\n"
	"or string constants of the same file, anything else is named by line).\n"
	"Keys as TrustKit reads them (TSKPinnedDomains, TSKPublicKeyHashes,\n"
	"TSKIncludeSubdomains, TSKEnforcePinning, TSKExpirationDate,\n"
	"kSKExcludeSubdomainFromParentPolicy) or as its constants are named (kTSK...).\n"
	"TrustKit's defaults apply: TSKIncludeSubdomains NO, TSKEnforcePinning YES, no\n"
	"expiry; an excluded domain becomes an exclusion (enforce=false, no pins). What\n"
	"TrustKit refuses at start is refused: fewer than 2 distinct pins for an\n"
	"enforcing domain (1 for report-only), an exclusion with other keys or without\n"
	"a parent with TSKIncludeSubdomains. Report settings, TSKSwizzleNetworkDelegates,\n"
	"TSKPublicKeyAlgorithms and TSKIgnorePinningForUserDefinedTrustAnchors are noted\n"
	"and ignored. Pins: base64, '=' padding optional.\n\n"
	"  pinwatch import-trustkit --app shop-ios --version 4.2.0 Shop/Info.plist\n"
	"  pinwatch import-trustkit --app shop-ios --version 4.2.0 Shop/AppDelegate.swift",
	importers_parse_trustkit,
	NULL,
	NULL,
	NULL,
};

static const struct config_cmd ipa_cmd = {
	"import-ipa",
	"trustkit",
	"Reads an iOS release artifact (.ipa): Payload/<App>.app/Info.plist (binary or\n"
	"XML) gives the version (CFBundleShortVersionString, unless --version) and the\n"
	"TrustKit configuration under TSKConfiguration, imported as import-trustkit\n"
	"does (its policies have source 'trustkit'). An app that configures TrustKit in\n"
	"code has no TSKConfiguration: import that source file with import-trustkit.\n"
	"Only Info.plist is read (at most 1 MiB inflated); nothing is extracted.\n\n"
	"  pinwatch import-ipa --app shop-ios build/Shop-4.2.0.ipa",
	NULL,
	importers_read_ipa,
	"FILE.ipa",
	"\n                      (default: CFBundleShortVersionString of its Info.plist)",
};

static const struct config_cmd okhttp_cmd = {
	"import-okhttp",
	"okhttp",
	"Reads OkHttp CertificatePinner pins from the Kotlin or Java file that builds the\n"
	"pinner, or from a pasted snippet of it, e.g. app/src/main/java/.../Network.kt:\n\n"
	"    private const val API = \"api.example.com\"\n"
	"    val pinner = CertificatePinner.Builder()\n"
	"        .add(API, \"sha256/C5+lpZ7t...=\", \"sha256/jQJTbIh0...=\") // leaf + backup\n"
	"        .add(\"**.cdn.example.com\", *CDN_PINS)\n"
	"        .build()\n\n"
	"Every add(pattern, pins...) on a CertificatePinner.Builder is read (chained, in\n"
	"apply { }, on a builder variable or parameter; in a snippet that never names\n"
	"CertificatePinner, every add()). Arguments may be string literals, constants of\n"
	"the same file (val / const val, also in objects and companion objects; Java String\n"
	"variables and static final fields; arrayOf / listOf / String[] { } of literals, with\n"
	"* or toTypedArray()), '+' of those and \"$NAME\" templates. A host or pin held\n"
	"elsewhere (a parameter, BuildConfig, a function call) is an error naming its\n"
	"line. Comments, calls over several lines and trailing commas are fine. Several\n"
	"add() of one pattern make one policy. The older line form, one\n"
	"'PATTERN sha256/<base64>...' per line with '#' comments, is still read.\n"
	"PATTERN keeps OkHttp's meaning: host, '*.host' (exactly one more label) or\n"
	"'**.host' (any depth, the host itself included). sha1/ pins are refused: pinwatch\n"
	"needs sha256 pins.",
	importers_parse_okhttp,
	NULL,
	NULL,
	NULL,
};

int cmd_import_nsc(int argc, char **argv)
{
	return config_import(&nsc_cmd, argc, argv);
}

int cmd_import_trustkit(int argc, char **argv)
{
	return config_import(&trustkit_cmd, argc, argv);
}

int cmd_import_ipa(int argc, char **argv)
{
	return config_import(&ipa_cmd, argc, argv);
}

int cmd_import_okhttp(int argc, char **argv)
{
	return config_import(&okhttp_cmd, argc, argv);
}

/* ---- adoption ------------------------------------------------------------- */

static void adoption_usage(void)
{
	printf("Usage: pinwatch adoption import --app NAME [--version-code CODE=VERSION]...\n"
	       "       [--skip-unknown] [--dry-run] [--db PATH] [-c FILE] FILE.csv\n\n"
	       "Adds adoption figures (each version's share of the app's active users on a date)\n"
	       "from the export of a store console or analytics tool, or from a plain CSV file.\n\n"
	       "Exports by app version, recognised by their header row (columns in any order,\n"
	       "other columns ignored):\n"
	       "  Google Play Console  Download reports > Statistics > Installs, 'app version'\n"
	       "                       (installs_<package>_<YYYYMM>_app_version.csv, UTF-16):\n"
	       "                       Date, App Version Code, Active Device Installs\n"
	       "  App Store Connect    Analytics Reports, App Sessions (tab-separated):\n"
	       "                       Date, App Version, Unique Devices\n"
	       "  Firebase / Google    a report downloaded as CSV: App version, Active users (or\n"
	       "  Analytics            Users), Date (YYYYMMDD) or else the '# End date:' line\n"
	       "Plain files: rows  version,share,date  or  version,active_users,date, with an\n"
	       "optional header naming the columns (version; share or active_users; date or at).\n"
	       "Without a header the value form decides: if any value has a decimal point, an\n"
	       "exponent or a '%%' the file gives shares (0.31 or 31%%), otherwise counts.\n\n"
	       "Counts (installs, devices, users) become shares per date: a version's count over\n"
	       "the total of that date in the file, so the file must list every version of the\n"
	       "date (an export does). Rows of one version and date that an export breaks down\n"
	       "(device, territory...) are added up first. '(not set)' and '(other)' count in\n"
	       "the total and are not stored. UTF-8 or UTF-16 with a byte-order mark, comma or\n"
	       "tab separated, quoted fields, CRLF and dates YYYY-MM-DD or YYYYMMDD are read.\n\n"
	       "Play Console names versions by versionCode: --version-code 40900=4.9.0 stores the\n"
	       "figures of code 40900 under version 4.9.0 (several codes of one version, as with\n"
	       "per-ABI builds, are added up).\n\n"
	       "All or nothing: a bad row (named by line), a version twice for one date in a\n"
	       "plain file, shares of one date summing above 1 (stored samples of other versions\n"
	       "counted), or a version pinwatch does not know stores nothing. With\n"
	       "--skip-unknown the figures of versions the app does not have are left out (their\n"
	       "users still count in each date's total). A sample for an existing (version, date)\n"
	       "is replaced. Every change is audited.\n\n"
	       "  --app NAME                 the app (must exist)\n"
	       "  --version-code CODE=VER    read version CODE of the file as VER (repeatable)\n"
	       "  --skip-unknown             leave out versions the app does not have\n"
	       "  --dry-run                  parse and print the rows as JSON; store nothing\n"
	       "  -h, --help                 this help\n" CLI_GLOBAL_HELP "\n"
	       "Exit status: 0 ok; 2 bad usage or bad input; 3 database failure.\n\n"
	       "Examples:\n"
	       "  pinwatch adoption import --app shop-android --skip-unknown \\\n"
	       "      --version-code 40800=4.8.0 --version-code 40900=4.9.0 \\\n"
	       "      installs_com.example.shop_202611_app_version.csv\n"
	       "  pinwatch adoption import --app shop-ios app_sessions_standard.txt\n");
}

static json_t *adoption_json(const struct adoption_csv *a)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < a->nrows; i++) {
		const struct adoption_csv_row *r = &a->rows[i];
		json_t *o = json_pack("{s:s, s:s, s:f}", "version", r->version, "at", r->at,
				      "share", r->share);
		if (o && r->active_users >= 0 &&
		    json_object_set_new(o, "active_users", json_integer(r->active_users))) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

#define MAX_VERSION_CODES 256

/* Keep the rows of versions @app has; the number left out goes to *skipped. */
static int keep_known(struct db *db, const char *app, struct adoption_csv *a, size_t *skipped,
		      char *err, size_t errlen)
{
	struct app known = { 0 };
	int rc = apps_get(db, app, true, &known, err, errlen);
	if (rc)
		return rc;
	size_t o = 0;
	*skipped = 0;
	for (size_t i = 0; i < a->nrows; i++) {
		bool found = false;
		for (size_t k = 0; k < known.nversions && !found; k++)
			found = strcmp(known.versions[k].version, a->rows[i].version) == 0;
		if (!found) {
			free(a->rows[i].version);
			(*skipped)++;
			continue;
		}
		a->rows[o++] = a->rows[i];
	}
	a->nrows = o;
	model_app_free(&known);
	return 0;
}

/* Parse --version-code CODE=VERSION into @po's next code (@codes, the array
 * @po points to), its text kept in @code_buf. 0 or the EXIT_* of a usage error. */
static int version_code_opt(struct adoption_csv_opts *po, struct adoption_code *codes,
			    char (*code_buf)[2][80], const char *arg)
{
	char esc[ERRLEN * 2];
	const char *eq = strchr(arg, '=');
	size_t cl = eq ? (size_t)(eq - arg) : 0;
	if (!eq || cl == 0 || !eq[1] || cl >= sizeof(code_buf[0][0]) ||
	    strlen(eq + 1) >= sizeof(code_buf[0][1]))
		return cli_usage_error("adoption import",
				       "--version-code wants CODE=VERSION, got '%s'",
				       log_escape(arg, esc, sizeof(esc)));
	if (po->ncodes >= MAX_VERSION_CODES)
		return cli_usage_error("adoption import", "more than %d --version-code",
				       MAX_VERSION_CODES);
	memcpy(code_buf[po->ncodes][0], arg, cl);
	code_buf[po->ncodes][0][cl] = '\0';
	snprintf(code_buf[po->ncodes][1], sizeof(code_buf[0][1]), "%s", eq + 1);
	codes[po->ncodes].code = code_buf[po->ncodes][0];
	codes[po->ncodes].version = code_buf[po->ncodes][1];
	po->ncodes++;
	return 0;
}

/* Store the figures of @a for @app (read from @path); EXIT_*. */
static int adoption_store(struct db *db, const char *app, const char *path,
			  const struct adoption_csv *a)
{
	char err[ERRLEN], esc[ERRLEN * 2];
	struct adoption_row *rows = calloc(a->nrows, sizeof(*rows));
	if (!rows) {
		log_err("adoption import: out of memory");
		return EXIT_RUNTIME;
	}
	for (size_t i = 0; i < a->nrows; i++) {
		rows[i].version = a->rows[i].version;
		memcpy(rows[i].at, a->rows[i].at, sizeof(rows[i].at));
		rows[i].share = a->rows[i].share;
		rows[i].active_users = a->rows[i].active_users;
	}
	int rc = EXIT_OK;
	int src = apps_add_adoption(db, cli_actor(), app, rows, a->nrows, err, sizeof(err));
	if (src) {
		log_err("adoption import: %s", log_escape(err, esc, sizeof(esc)));
		rc = store_exit(src);
	} else {
		printf("adoption import: %zu sample%s from %s stored for %s\n", a->nrows,
		       a->nrows == 1 ? "" : "s", log_escape(path, esc, sizeof(esc)),
		       log_escape(app, err, sizeof(err)));
	}
	free(rows);
	return rc;
}

static int adoption_import(int argc, char **argv)
{
	enum { OPT_APP = 0x200, OPT_DRY, OPT_CODE, OPT_SKIP };
	static const struct option opts[] = {
		{ "app", required_argument, NULL, OPT_APP },
		{ "version-code", required_argument, NULL, OPT_CODE },
		{ "skip-unknown", no_argument, NULL, OPT_SKIP },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	static struct adoption_code codes[MAX_VERSION_CODES];
	static char code_buf[MAX_VERSION_CODES][2][80];
	struct adoption_csv_opts po = { .codes = codes };
	struct cli_global g = { 0 };
	const char *app = NULL;
	bool dry = false, skip = false;
	char err[ERRLEN], esc[ERRLEN * 2];
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, opt, optarg))
			continue;
		switch (opt) {
		case OPT_APP:
			app = optarg;
			break;
		case OPT_DRY:
			dry = true;
			break;
		case OPT_SKIP:
			skip = true;
			break;
		case OPT_CODE:
			if ((rc = version_code_opt(&po, codes, code_buf, optarg)))
				return rc;
			break;
		case 'h':
			adoption_usage();
			return EXIT_OK;
		default:
			return cli_usage_error("adoption import", "unknown option");
		}
	}
	if (!app || !*app)
		return cli_usage_error("adoption import", "--app NAME is required");
	if (optind != argc - 1)
		return cli_usage_error("adoption import", "exactly one FILE.csv is expected");
	const char *path = argv[optind];

	char *buf = NULL;
	size_t len = 0;
	rc = read_input("adoption import", path, IMPORTERS_MAX_CSV, &buf, &len);
	if (rc)
		return rc;
	struct adoption_csv a;
	int prc = importers_parse_adoption_csv_opts(buf, len, path, &po, &a, err, sizeof(err));
	free(buf);
	if (prc) {
		log_err("adoption import: %s", log_escape(err, esc, sizeof(esc)));
		return prc == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	log_info("adoption import: %s: %s%s%s, %zu figure%s%s", log_escape(path, esc, sizeof(esc)),
		 a.format, a.encoding ? ", " : "", a.encoding ? a.encoding : "", a.nrows,
		 a.nrows == 1 ? "" : "s",
		 a.from_users ? "; shares computed per date from the counts" : "");
	if (a.version_codes && po.ncodes == 0)
		log_warn("adoption import: the file names versions by version code; map them with "
			 "--version-code CODE=VERSION");
	if (dry && !skip) {
		rc = cli_print_json(adoption_json(&a));
		importers_adoption_free(&a);
		return rc;
	}
	struct db *db = NULL;
	rc = cli_open_db(&g, DB_NO_CREATE, &db);
	if (rc != EXIT_OK) {
		importers_adoption_free(&a);
		return rc;
	}
	size_t skipped = 0;
	if (skip) {
		int src = keep_known(db, app, &a, &skipped, err, sizeof(err));
		if (src) {
			log_err("adoption import: %s", log_escape(err, esc, sizeof(esc)));
			rc = store_exit(src);
		} else if (skipped) {
			log_info("adoption import: %zu figure%s of versions %s does not have left "
				 "out",
				 skipped, skipped == 1 ? "" : "s",
				 log_escape(app, esc, sizeof(esc)));
		}
	}
	if (rc == EXIT_OK && dry) {
		rc = cli_print_json(adoption_json(&a));
	} else if (rc == EXIT_OK && a.nrows == 0) {
		log_err("adoption import: no figure of a version %s has",
			log_escape(app, esc, sizeof(esc)));
		rc = EXIT_USAGE;
	} else if (rc == EXIT_OK) {
		rc = adoption_store(db, app, path, &a);
	}
	db_close(db);
	importers_adoption_free(&a);
	return rc;
}

static int adoption_import_action(void *arg, int argc, char **argv)
{
	(void)arg;
	return adoption_import(argc, argv);
}

const struct cli_action cli_adoption_actions[] = {
	{ "import", adoption_import_action, "import adoption figures from CSV" },
	{ NULL, NULL, NULL },
};

int cmd_adoption(int argc, char **argv)
{
	if (argc >= 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
		adoption_usage();
		return EXIT_OK;
	}
	const struct cli_action *a =
		argc < 2 ? NULL : cli_action_find(cli_adoption_actions, argv[1]);
	if (!a)
		return cli_usage_error("adoption", "expected 'adoption import'");
	optind = 0;
	return a->fn(NULL, argc - 1, argv + 1);
}
