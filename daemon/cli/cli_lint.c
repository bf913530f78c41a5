/* pinwatch lint: load the inventory and observations, evaluate the rule table
 * (lint.h) through the engine, print. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/db.h"
#include "readiness/lint.h"
#include "readiness/readiness_load.h"
#include "base/log.h"
#include "base/util.h"

static void usage(void)
{
	printf("Usage: pinwatch lint [--json] [--min-severity info|warning|critical] [--at DATE]\n"
	       "                     [--db PATH] [-c FILE]\n\n"
	       "Checks the inventory (and what the probes saw) for the mistakes that strand\n"
	       "users or leave endpoints unprotected; the same rules as the findings of\n"
	       "'pinwatch check' and GET /api/v1/lint:\n");
	for (size_t i = 0; i < LINT_NRULES; i++)
		printf("  %-21s %-8s %s\n", lint_rules[i].name,
		       severity_name(lint_rules[i].severity), lint_rules[i].description);
	printf("\n  --json        print a JSON array of findings\n"
	       "                {rule, severity, app, version, pattern, endpoint, message}\n"
	       "  --min-severity S  only findings of severity S or above (default info)\n"
	       "  --at DATE     evaluate as of DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ), not now\n"
	       "  -h, --help    this help\n" CLI_GLOBAL_HELP "\n"
	       "Exit status: 0 nothing found; 1 findings; 2 bad usage; 3 database failure.\n");
}

int cmd_lint(int argc, char **argv)
{
	enum { OPT_JSON = 0x200, OPT_AT, OPT_MIN };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "min-severity", required_argument, NULL, OPT_MIN },
		{ "at", required_argument, NULL, OPT_AT },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_global g = { 0 };
	bool json = false;
	enum severity min = SEVERITY_INFO;
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
		case OPT_MIN:
			if (severity_parse(optarg, SEVERITY_INFO, &min))
				return cli_usage_error(
					"lint",
					"--min-severity %s: expected info, warning or critical",
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
	struct readiness_state st;
	rc = readiness_state_eval(db, now, &st, err, sizeof(err));
	db_close(db);
	if (rc) {
		log_err("lint: %s", log_escape(err, esc, sizeof(esc)));
		return EXIT_RUNTIME;
	}
	const struct lint_report *r = &st.rep.findings;
	size_t n = 0;
	for (size_t i = 0; i < r->nfindings; i++)
		n += r->findings[i].severity >= min;
	if (json) {
		rc = cli_print_json(lint_report_json(r, min));
		if (rc)
			goto out;
	} else {
		for (size_t i = 0; i < r->nfindings; i++) {
			const struct lint_finding *f = &r->findings[i];
			if (f->severity < min)
				continue;
			printf("%-8s %-20s %s\n", severity_name(f->severity), f->rule,
			       log_escape(f->message, esc, sizeof(esc)));
		}
		printf("%zu finding%s\n", n + r->dropped, n + r->dropped == 1 ? "" : "s");
	}
	rc = n || r->dropped ? EXIT_RISK : EXIT_OK;
out:
	readiness_state_free(&st);
	return rc;
}
