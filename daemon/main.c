/* pinwatch: command-line dispatch. Everything else lives in libpinwatch. */
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "build_config.h"

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("pinwatch %s\n", PINWATCH_VERSION);
	return EXIT_OK;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	/* try it */
	{ "demo", cmd_demo, "run the guided demo: local TLS endpoints, inventory, dashboard" },
	/* readiness */
	{ "check", cmd_check, "readiness of every endpoint: who is stranded now or by a rotation" },
	{ "whatif", cmd_whatif, "who a candidate chain or pins would strand (renewal gate)" },
	{ "candidate", cmd_candidate, "record and evaluate certificates seen before deployment" },
	{ "plan", cmd_plan, "record planned rotations and follow their seven steps" },
	/* primitives and probing */
	{ "pin", cmd_pin, "print the SPKI pins of certificates, keys and CSRs" },
	{ "probe", cmd_probe, "fetch, complete and verify an endpoint's chain" },
	{ "sweep", cmd_sweep, "probe every enabled endpoint once and store the results" },
	{ "history", cmd_history, "timeline of chains and outcomes per address of a host" },
	{ "serve", cmd_serve, "run the daemon: scheduled probes, HTTP API and dashboard, alerts" },
	/* inventory */
	{ "import", cmd_import, "import an inventory JSON file (reconcile; --prune)" },
	{ "export", cmd_export, "export the inventory as JSON" },
	{ "endpoint", cmd_endpoint, "add, remove or list inventoried endpoints" },
	{ "app", cmd_app, "add, remove, list or show apps" },
	{ "import-nsc", cmd_import_nsc, "import an Android Network Security Config's pins" },
	{ "import-apk", cmd_import_apk, "import the version and NSC pins an APK ships" },
	{ "import-trustkit", cmd_import_trustkit,
	  "import a TrustKit configuration (Info.plist, JSON, Objective-C/Swift)" },
	{ "import-ipa", cmd_import_ipa, "import the version and TrustKit pins an .ipa ships" },
	{ "import-okhttp", cmd_import_okhttp, "import OkHttp CertificatePinner pins" },
	{ "adoption", cmd_adoption, "import adoption figures from CSV (adoption import)" },
	{ "lint", cmd_lint, "check pin policies, coverage and adoption for mistakes" },
	/* operations */
	{ "token", cmd_token, "create, list and revoke HTTP API tokens" },
	{ "webhook", cmd_webhook, "add, list, remove, test webhooks; flush the outbox" },
	{ "alert", cmd_alert, "list alerts; silence and unsilence them" },
	{ "audit", cmd_audit, "list, verify or show the head of the audit log" },
	{ "version", cmd_version, "print the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: pinwatch COMMAND [OPTIONS]\n\n"
		   "Watches TLS endpoints and the pins of shipped mobile app versions, and says\n"
		   "who would be stranded by a certificate change.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'pinwatch COMMAND --help' for a command's options.\n"
		   "Exit codes: 0 ok, 1 risk found, 2 usage or bad input, 3 runtime failure.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			char help[] = "--help";
			char *sub[] = { argv[2], help, NULL };
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(commands[i].name, argv[2]))
					return commands[i].fn(2, sub);
		}
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("pinwatch %s\n", PINWATCH_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[1]) == 0) {
			if (gnutls_global_init() < 0) {
				fprintf(stderr, "pinwatch: GnuTLS initialisation failed\n");
				return EXIT_RUNTIME;
			}
			optind = 0;
			int rc = commands[i].fn(argc - 1, argv + 1);
			gnutls_global_deinit();
			return rc;
		}
	}
	fprintf(stderr, "pinwatch: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
