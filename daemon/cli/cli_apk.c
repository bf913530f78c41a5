/* pinwatch import-apk: store the pins of the Network Security Config an APK
 * ships, under the version the APK declares. */
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

static void usage(void)
{
	printf("Usage: pinwatch import-apk --app NAME [--version V] [--backup-pin B64]...\n"
	       "       [--dry-run] [--db PATH] [-c FILE] FILE.apk\n\n"
	       "Reads what a release APK really ships: android:versionName from the binary\n"
	       "AndroidManifest.xml, and the Network Security Config its <application\n"
	       "android:networkSecurityConfig=\"@xml/...\"> points to (resolved through\n"
	       "resources.arsc to res/xml/NAME.xml, binary XML). The pins are read exactly as\n"
	       "import-nsc reads the source file (domains, includeSubdomains, pin-set\n"
	       "expiration, nesting, exclusions), and trust anchors with overridePins=\"true\"\n"
	       "that point to a certificate in the APK (@raw/NAME, PEM or DER) are stored as\n"
	       "that certificate's pin (sha256/...), so pinwatch knows which chains Android\n"
	       "lets through without a pin check.\n\n"
	       "The policies replace those of a previous import-nsc or import-apk of the same\n"
	       "version (source nsc). An APK without android:networkSecurityConfig pins nothing:\n"
	       "storing it removes the version's NSC policies (a warning says so). The app must\n"
	       "exist; the version is created when missing. Every change is audited.\n\n"
	       "Pin roles: in each pin set the FIRST pin listed is 'current' and every further\n"
	       "pin is 'backup'; with --backup-pin exactly the pins given are 'backup'.\n\n"
	       "  --app NAME          the app (must exist: pinwatch app add / import)\n"
	       "  --version V         store under V instead of the APK's versionName\n"
	       "  --backup-pin B64    a pin (sha256/<base64>, base64 or hex) that is a backup\n"
	       "  --dry-run           print version, package, NSC path and policies as JSON;\n"
	       "                      store nothing\n"
	       "  -h, --help          this help\n" CLI_GLOBAL_HELP "\n"
	       "Example:\n"
	       "  pinwatch import-apk --app shop-android "
	       "app/build/outputs/apk/release/app-release.apk\n\n"
	       "Exit status: 0 ok; 2 bad usage or bad input (not a zip, no manifest, malformed\n"
	       "binary XML or resource table, an entry over its size cap, a bad NSC: nothing is\n"
	       "stored), or unknown app; 3 database failure.\n");
}

static int dry_run(const struct import_apk *a, const char *version)
{
	json_t *pol = cli_policies_json(&a->policies);
	if (!pol)
		return cli_print_json(NULL);
	return cli_print_json(json_pack("{s:s?, s:s?, s:s?, s:s?, s:o}", "version", version,
					"version_name", a->version_name, "package", a->package,
					"network_security_config", a->nsc_path, "pin_policies",
					pol));
}

static void apk_help(const void *unused)
{
	(void)unused;
	usage();
}

int cmd_import_apk(int argc, char **argv)
{
	const char *cmd = "import-apk";
	struct cli_import_args ia;
	char err[ERRLEN], esc[ERRLEN * 2];
	int arc = cli_import_args(cmd, argc, argv, &ia, apk_help, NULL);
	if (arc != CLI_CONTINUE)
		return arc;
	struct cli_global g = ia.g;
	const char *app = ia.app, *version = ia.version;
	bool dry = ia.dry;
	size_t nbackup = ia.nbackup;
	uint8_t(*backup)[32] = ia.backup;
	if (version && !*version)
		return cli_usage_error(cmd, "--version must not be empty");
	if (optind != argc - 1)
		return cli_usage_error(cmd, "exactly one FILE.apk is expected");
	const char *path = argv[optind];

	struct import_apk a;
	int prc = importers_parse_apk(path, path, &a, err, sizeof(err));
	if (prc == 0)
		prc = importers_assign_roles(&a.policies, (const uint8_t(*)[32])backup, nbackup,
					     err, sizeof(err));
	if (prc) {
		log_err("%s: %s", cmd, log_escape(err, esc, sizeof(esc)));
		importers_apk_free(&a);
		return prc == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	for (size_t i = 0; i < a.policies.nnotes; i++)
		log_info("%s: note: %s", cmd, log_escape(a.policies.notes[i], esc, sizeof(esc)));
	if (a.policies.notes_dropped)
		log_info("%s: note: %zu more notes not shown", cmd, a.policies.notes_dropped);
	int rc = EXIT_OK;
	if (!version)
		version = a.version_name;
	if (!version || !*version) {
		rc = cli_usage_error(cmd, "%s has no android:versionName: give --version V",
				     log_escape(path, esc, sizeof(esc)));
		goto out;
	}
	if (a.version_name && strcmp(version, a.version_name) != 0) {
		char ev[256];
		log_warn("%s: storing as --version %s; the APK says versionName %s", cmd,
			 log_escape(version, esc, sizeof(esc)),
			 log_escape(a.version_name, ev, sizeof(ev)));
	}
	if (dry) {
		rc = dry_run(&a, version);
		goto out;
	}
	if (a.policies.npolicies == 0)
		log_warn("%s: %s pins no domain; storing it removes the version's nsc policies",
			 cmd, log_escape(path, esc, sizeof(esc)));
	struct db *db = NULL;
	if ((rc = cli_open_db(&g, DB_NO_CREATE, &db)))
		goto out;
	int src = apps_set_version_policies(db, cli_actor(), app, version, a.policies.policies,
					    a.policies.npolicies, "nsc", err, sizeof(err));
	if (src) {
		log_err("%s: %s", cmd, log_escape(err, esc, sizeof(esc)));
		rc = src == -EINVAL || src == -ENOENT || src == -EEXIST ? EXIT_USAGE : EXIT_RUNTIME;
	} else {
		char ea[256], ev[256];
		printf("%s: %zu pin %s from %s stored for %s %s\n", cmd, a.policies.npolicies,
		       a.policies.npolicies == 1 ? "policy" : "policies",
		       log_escape(path, esc, sizeof(esc)), log_escape(app, ea, sizeof(ea)),
		       log_escape(version, ev, sizeof(ev)));
	}
	db_close(db);
out:
	importers_apk_free(&a);
	return rc;
}
