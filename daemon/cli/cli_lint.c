/* pinwatch lint: load the inventory, run the pure lint rules, print. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/db.h"
#include "store/inventory.h"
#include "readiness/lint.h"
#include "base/log.h"
#include "base/util.h"

static void usage(void)
{
	printf("Usage: pinwatch lint [--json] [--at DATE] [--db PATH] [-c FILE]\n\n"
	       "Checks the inventory for the mistakes that strand users or leave endpoints\n"
	       "unprotected:\n"
	       "  too-few-pins         an enforcing policy with fewer than two pins\n"
	       "  no-backup-pin        an enforcing policy whose pins are all 'current'\n"
	       "  pin-set-expiring     a pin set expiring within %d days\n"
	       "  pin-set-expired      a pin set past its expiry (the app no longer enforces it)\n"
	       "  pattern-unmatched    a policy pattern that covers no inventoried endpoint\n"
	       "  endpoint-unpinned    an enabled production endpoint no app version pins\n"
	       "  version-no-adoption  a version without any adoption figure\n"
	       "  adoption-over-one    an app whose versions' latest shares sum above 1\n\n"
	       "  --json        print a JSON array of findings\n"
	       "                {rule, severity, app, version, pattern, endpoint, message}\n"
	       "  --at DATE     evaluate as of DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ), not now\n"
	       "  -h, --help    this help\n" CLI_GLOBAL_HELP "\n"
	       "Exit status: 0 nothing found; 1 findings; 2 bad usage; 3 database failure.\n",
	       LINT_EXPIRY_WARN_DAYS);
}

int cmd_lint(int argc, char **argv)
{
	enum { OPT_JSON = 0x200, OPT_AT };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "at", required_argument, NULL, OPT_AT },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_global g = { 0 };
	bool json = false;
	time_t now = util_now();
	char err[ERRLEN], esc[ERRLEN * 2];
	int opt;

	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, opt, optarg))
			continue;
		switch (opt) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_AT:
			if (util_parse_time(optarg, &now))
				return cli_usage_error("lint", "--at %s: expected YYYY-MM-DD",
						       log_escape(optarg, esc, sizeof(esc)));
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_usage_error("lint", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("lint", "unexpected argument");

	struct db *db = NULL;
	int rc = cli_open_db(&g, DB_NO_CREATE, &db);
	if (rc)
		return rc;
	struct inventory inv = { 0 };
	if (inventory_load(db, &inv, err, sizeof(err)) != 0) {
		log_err("lint: %s", log_escape(err, esc, sizeof(esc)));
		db_close(db);
		return EXIT_RUNTIME;
	}
	db_close(db);

	struct lint_report r = { 0 };
	if (lint_run(&inv, now, &r) != 0) {
		log_err("lint: out of memory");
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (json) {
		rc = cli_print_json(lint_report_json(&r));
		if (rc)
			goto out;
	} else {
		for (size_t i = 0; i < r.nfindings; i++) {
			const struct lint_finding *f = &r.findings[i];
			printf("%-8s %-20s %s\n", lint_severity_name(f->severity), f->rule,
			       log_escape(f->message, esc, sizeof(esc)));
		}
		printf("%zu finding%s\n", r.nfindings + r.dropped,
		       r.nfindings + r.dropped == 1 ? "" : "s");
	}
	rc = r.nfindings || r.dropped ? EXIT_RISK : EXIT_OK;
out:
	lint_report_free(&r);
	model_inventory_free(&inv);
	return rc;
}
