/* `pinwatch check` and `pinwatch whatif`: the readiness engine from the CLI. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/db.h"
#include "base/expiry.h"
#include "base/log.h"
#include "readiness/readiness_load.h"
#include "base/util.h"

/* --at: "YYYY-MM-DD" (00:00 UTC) or "YYYY-MM-DDTHH:MM:SSZ"; default now. */
static int parse_at(const char *cmd, const char *arg, time_t *at)
{
	if (util_parse_time(arg, at) != 0)
		return cli_usage_error(
			cmd, "--at '%s': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", arg);
	return EXIT_OK;
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Untrusted text (hosts, subjects, reasons quoting certificate fields) is escaped. */
static void put_escaped(const char *prefix, const char *s)
{
	char buf[2048];
	printf("%s%s\n", prefix, log_escape(s, buf, sizeof(buf)));
}

static void print_scenario(const char *label, json_t *s, bool now)
{
	const char *verdict;
	if (!json_is_true(json_object_get(s, "evaluated")))
		verdict = "not observed";
	else if (now)
		verdict = num(s, "stranded_share") > 0	? "USERS STRANDED"
			  : num(s, "unknown_share") > 0 ? "some at risk (unknown adoption)"
							: "ok";
	else
		verdict = json_is_true(json_object_get(s, "ready")) ? "ready" : "NOT READY";
	printf("      %-18s stranded %5.1f%%  unknown %5.1f%%  %s\n", label,
	       100 * num(s, "stranded_share"), 100 * num(s, "unknown_share"), verdict);
}

/* The certificate certificate_expiring judges for one endpoint of the
 * readiness JSON: the earliest of every address's chain, the trust anchor that
 * completes a validated chain left out. */
struct soonest {
	json_t *ep, *cert;
	json_int_t days;
	const char *role;
};

static bool soonest_of(json_t *ep, struct soonest *out)
{
	json_t *a, *c;
	size_t i, j;
	out->ep = ep;
	out->cert = NULL;
	json_array_foreach(json_object_get(ep, "addresses"), i, a)
	{
		json_t *chain = json_object_get(a, "chain");
		size_t n = json_array_size(chain);
		if (n > 1 && !strcmp(str(a, "chain_source"), "validated"))
			n--;
		for (j = 0; j < n; j++) {
			c = json_array_get(chain, j);
			json_t *d = json_object_get(c, "days_left");
			if (!json_is_integer(d) ||
			    (out->cert && json_integer_value(d) >= out->days))
				continue;
			out->cert = c;
			out->days = json_integer_value(d);
			out->role = j == 0 ? "leaf" : "intermediate";
		}
	}
	return out->cert != NULL;
}

static int by_days_left(const void *a, const void *b)
{
	json_int_t x = ((const struct soonest *)a)->days, y = ((const struct soonest *)b)->days;
	return x < y ? -1 : x > y;
}

/* Endpoints whose earliest certificate is within the first [alerts]
 * expiry_days threshold, soonest first, with the level certificate_expiring
 * gives them (base/expiry.h: one rule everywhere). */
static void print_expiring(json_t *eps, const int th[EXPIRY_THRESHOLDS_MAX])
{
	char thr[64], h[600], line[900];
	size_t n = 0, i, cap = json_array_size(eps);
	struct soonest *v = cap ? calloc(cap, sizeof(*v)) : NULL;
	json_t *ep;
	if (cap && !v)
		return;
	json_array_foreach(eps, i, ep)
	{
		if (soonest_of(ep, &v[n]) && expiry_level(v[n].days, th) != SEVERITY_OK)
			n++;
	}
	expiry_thresholds_format(th, thr, sizeof(thr));
	if (n == 0) {
		printf("\nNo certificate expires within %d days ([alerts] expiry_days %s).\n",
		       th[0], thr);
		free(v);
		return;
	}
	qsort(v, n, sizeof(*v), by_days_left);
	printf("\nExpiring certificates ([alerts] expiry_days %s):\n", thr);
	for (i = 0; i < n; i++) {
		snprintf(h, sizeof(h), "%s:%lld", str(v[i].ep, "host"),
			 (long long)json_integer_value(json_object_get(v[i].ep, "port")));
		snprintf(line, sizeof(line), "  %-8s %5lld day%s left  %-40s %s %s (%.10s)",
			 severity_name(expiry_level(v[i].days, th)), (long long)v[i].days,
			 v[i].days == 1 ? " " : "s", h, v[i].role, str(v[i].cert, "subject"),
			 str(v[i].cert, "not_after"));
		put_escaped("", line);
	}
	free(v);
}

static void print_check_table(json_t *rep, const int th[EXPIRY_THRESHOLDS_MAX])
{
	char h[600];
	json_t *eps = json_object_get(rep, "endpoints"), *ep;
	size_t i;
	printf("Readiness at %s: %s\n", str(rep, "at"), str(rep, "severity"));
	json_array_foreach(eps, i, ep)
	{
		json_t *ex = json_object_get(ep, "expiry");
		char line[700];
		snprintf(h, sizeof(h), "%s:%lld", str(ep, "host"),
			 (long long)json_integer_value(json_object_get(ep, "port")));
		if (json_is_object(ex))
			snprintf(line, sizeof(line), "%-9s %-40s expires %.10s (%lld days)",
				 str(ep, "severity"), h, str(ex, "not_after"),
				 (long long)json_integer_value(json_object_get(ex, "days_left")));
		else
			snprintf(line, sizeof(line), "%-9s %-40s not observed", str(ep, "severity"),
				 h);
		put_escaped("", line);
		json_t *apps = json_object_get(ep, "apps"), *app, *r;
		size_t j, k;
		json_array_foreach(apps, j, app)
		{
			put_escaped("    app ", str(app, "app"));
			print_scenario("now", json_object_get(app, "now"), true);
			print_scenario("same-key renewal", json_object_get(app, "same_key_renewal"),
				       false);
			print_scenario("key rotation", json_object_get(app, "key_rotation"), false);
			print_scenario("CA change", json_object_get(app, "ca_change"), false);
			json_array_foreach(json_object_get(app, "reasons"), k, r)
				put_escaped("      - ", json_string_value(r));
		}
		json_array_foreach(json_object_get(ep, "reasons"), k, r)
			put_escaped("    - ", json_string_value(r));
	}
	print_expiring(eps, th);
	json_t *fs = json_object_get(rep, "findings"), *f;
	if (json_array_size(fs))
		printf("\nFindings:\n");
	json_array_foreach(fs, i, f)
	{
		char line[1200];
		snprintf(line, sizeof(line), "%-9s %-20s %s", str(f, "severity"), str(f, "kind"),
			 str(f, "text"));
		put_escaped("", line);
	}
	json_t *sum = json_object_get(rep, "summary");
	printf("\n%zu endpoints: %lld critical, %lld warning, %lld info, %lld ok\n",
	       json_array_size(eps),
	       (long long)json_integer_value(json_object_get(sum, "critical")),
	       (long long)json_integer_value(json_object_get(sum, "warning")),
	       (long long)json_integer_value(json_object_get(sum, "info")),
	       (long long)json_integer_value(json_object_get(sum, "ok")));
}

static void check_usage(FILE *f)
{
	fprintf(f, "Usage: pinwatch check [--at DATE] [--json] [--db PATH] [-c FILE]\n\n"
		   "Readiness of every inventoried endpoint: who is stranded now, by a key\n"
		   "rotation, by a CA change; expiry, drift, coverage and pin findings. The\n"
		   "text output lists the certificates that expire within the first [alerts]\n"
		   "expiry_days threshold, soonest first, with their days left.\n\n"
		   "  --at DATE          evaluate at DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ;\n"
		   "                     default now): pin expirations, adoption and observations\n"
		   "                     as of then\n"
		   "  --json             print the readiness JSON\n" CLI_GLOBAL_HELP
		   "  -h, --help         this help\n\n"
		   "Exit: 0 nothing critical, 1 something critical, 2 usage, 3 runtime failure.\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = { { "at", required_argument, NULL, 'a' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	struct cli_global g = { 0 };
	time_t at = util_now();
	bool json = false;
	int c, rc;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case 'a':
			if ((rc = parse_at("check", optarg, &at)) != EXIT_OK)
				return rc;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			check_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("check", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("check", "unexpected argument '%s'", argv[optind]);
	struct db *db = NULL;
	if ((rc = cli_open_db(&g, DB_NO_CREATE, &db)) != EXIT_OK)
		return rc;
	char err[ERRLEN];
	json_t *rep = NULL;
	enum severity worst = SEVERITY_OK;
	int r = readiness_check_db(db, at, &rep, &worst, err, sizeof(err));
	db_close(db);
	if (r) {
		log_err("check: %s", err);
		return EXIT_RUNTIME;
	}
	if (json) {
		if ((rc = cli_print_json(rep)) != EXIT_OK)
			return rc;
	} else {
		print_check_table(rep, g.cfg.alerts_expiry_days);
		json_decref(rep);
		if (fflush(stdout) != 0)
			return EXIT_RUNTIME;
	}
	return worst == SEVERITY_CRITICAL ? EXIT_RISK : EXIT_OK;
}

static void whatif_usage(FILE *f)
{
	fprintf(f,
		"Usage: pinwatch whatif --host H [--port P] [--chain FILE.pem|-] [--pin B64 ...]\n"
		"                       [--at DATE] [--max-stranded F|N%%] [--any-host] "
		"[--json]\n\n"
		"Who would be stranded if H presented a candidate certificate chain: the gate\n"
		"of a renewal pipeline. A chain is first checked as every TLS client checks it:\n"
		"each certificate valid at --at, the leaf covers H (RFC 6125 wildcards), and it\n"
		"builds to a trust anchor (the config's [probe] ca_file, else the system store).\n"
		"A chain failing a check strands every user of every app that has a policy for\n"
		"H (stranded share 1) and exits 1. Pins are then compared against each path a\n"
		"client can build from the leaf (issuers confirmed by signature, among the\n"
		"chain, the CA certificates pinwatch observed by --at, and the trust store);\n"
		"certificates on no path do not count, and when paths disagree the worst "
		"counts.\n\n"
		"  --host H           the host name the apps connect to: an inventoried endpoint\n"
		"  --port P           its port (default: the inventoried endpoint's port)\n"
		"  --chain FILE.pem   the candidate chain (leaf first); '-' reads standard input\n"
		"  --pin B64          a candidate SPKI pin (sha256/B64, B64 or hex); repeatable.\n"
		"                     Pins alone cannot be checked for validity, name or trust;\n"
		"                     with --chain they add to every path\n"
		"  --at DATE          evaluate at DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ;\n"
		"                     default now): validity, pin expirations, adoption\n"
		"  --max-stranded F   tolerated stranded share per app: 0..1 or 0%%..100%%\n"
		"                     (default 0)\n"
		"  --any-host         accept a host that is not an inventoried endpoint\n"
		"  --json             print JSON\n" CLI_GLOBAL_HELP
		"  -h, --help         this help\n\n"
		"Exit: 0 the checks pass and no app is above --max-stranded; 1 a check failed\n"
		"or some app is above it; 2 usage or bad input (also: H is not an inventoried\n"
		"endpoint); 3 runtime failure.\n");
}

/* --max-stranded: a share "0.01" or a percentage "1%". */
static int parse_share(const char *arg, double *out)
{
	size_t len = strlen(arg);
	char num[64];
	if (len > 1 && len < sizeof(num) && arg[len - 1] == '%') {
		memcpy(num, arg, len - 1);
		num[len - 1] = '\0';
		double pct;
		if (util_parse_double(num, 0, 100, &pct))
			return -EINVAL;
		*out = pct / 100;
		return 0;
	}
	return util_parse_double(arg, 0, 1, out);
}

static int read_stdin(size_t max, char **buf, size_t *len)
{
	size_t cap = max + 1, n = 0;
	char *b = malloc(cap);
	if (!b)
		return -ENOMEM;
	while (n < cap) {
		size_t r = fread(b + n, 1, cap - n, stdin);
		if (r == 0)
			break;
		n += r;
	}
	if (ferror(stdin)) {
		free(b);
		return -EIO;
	}
	if (n > max) {
		free(b);
		return -EFBIG;
	}
	*buf = b;
	*len = n;
	return 0;
}

static void print_whatif_table(json_t *w)
{
	char line[700];
	json_t *ck = json_object_get(w, "checks"), *x;
	size_t i, k;
	snprintf(line, sizeof(line),
		 "What-if for %s:%lld at %.10s, candidate of %zu key(s):", str(w, "host"),
		 (long long)json_integer_value(json_object_get(w, "port")), str(w, "at"),
		 json_array_size(json_object_get(w, "candidate")));
	put_escaped("", line);
	if (!json_is_true(json_object_get(w, "inventoried")))
		printf("  (not an inventoried endpoint: evaluated by its name alone)\n");
	if (!json_is_true(json_object_get(ck, "checked")))
		printf("  Checks: not checked: pins alone carry no validity dates, names or\n"
		       "  issuers; check the certificate chain with --chain before deploying.\n");
	else if (json_is_true(json_object_get(ck, "ok")))
		printf("  Checks: ok (valid at that date, covers the host, builds to a trust "
		       "anchor; %lld path(s))\n",
		       (long long)json_integer_value(json_object_get(ck, "paths")));
	else {
		printf("  Checks: FAILED: every user of every app that talks to this host would "
		       "be stranded\n");
		json_array_foreach(json_object_get(ck, "failures"), i, x)
			put_escaped("    - ", json_string_value(x));
	}
	json_array_foreach(json_object_get(ck, "not_on_path"), i, x)
		put_escaped("  Not on any path from the leaf (ignored): ", json_string_value(x));
	if (json_is_true(json_object_get(ck, "path_dependent")))
		printf("  The verdict depends on the path the client builds: the worst counts.\n");
	json_t *apps = json_object_get(w, "apps"), *a, *r;
	if (json_array_size(apps) == 0)
		printf("  no app has a pin policy for this host\n");
	json_array_foreach(apps, i, a)
	{
		snprintf(line, sizeof(line), "  %-24s stranded %5.1f%%  unknown %5.1f%%%s",
			 str(a, "app"), 100 * num(a, "stranded_share"),
			 100 * num(a, "unknown_share"),
			 json_is_true(json_object_get(a, "exceeds")) ? "  EXCEEDS --max-stranded"
								     : "");
		put_escaped("", line);
		json_array_foreach(json_object_get(a, "reasons"), k, r)
			put_escaped("    - ", json_string_value(r));
	}
	if (json_is_true(json_object_get(ck, "checked")) &&
	    !json_is_true(json_object_get(ck, "ok")))
		printf("Result: RISK (the chain fails the checks every client makes)");
	else
		printf("%s", json_is_true(json_object_get(w, "risk"))
				     ? "Result: RISK (some app above --max-stranded)"
				     : "Result: ok (no app above --max-stranded)");
	if (num(w, "max_unknown_share") > 0)
		printf("; up to %.1f%% more of some app's users run versions at risk whose "
		       "adoption is unknown",
		       100 * num(w, "max_unknown_share"));
	printf("\n");
}

/* Read the --chain of whatif (a file, or "-" for standard input) into *@pem
 * (the caller frees it) and check that it parses. EXIT_OK or EXIT_USAGE. */
static int whatif_read_chain(const char *chain, char **pem, size_t *len)
{
	char err[ERRLEN];
	const char *name = strcmp(chain, "-") == 0 ? "standard input" : chain;
	int r = strcmp(chain, "-") == 0 ? read_stdin(READINESS_MAX_PEM, pem, len)
					: util_read_file(chain, READINESS_MAX_PEM, pem, len);
	if (r) {
		fprintf(stderr, "pinwatch whatif: %s: %s\n", name,
			r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return EXIT_USAGE;
	}
	struct readiness_chain probe_chain;
	if (readiness_chain_from_pem(*pem, *len, &probe_chain, err, sizeof(err)) != 0) {
		fprintf(stderr, "pinwatch whatif: %s: %s\n", name, err);
		free(*pem);
		*pem = NULL;
		return EXIT_USAGE;
	}
	readiness_chain_free(&probe_chain);
	return EXIT_OK;
}

int cmd_whatif(int argc, char **argv)
{
	static const struct option opts[] = { { "host", required_argument, NULL, 'H' },
					      { "port", required_argument, NULL, 'p' },
					      { "chain", required_argument, NULL, 'C' },
					      { "pin", required_argument, NULL, 'P' },
					      { "at", required_argument, NULL, 'a' },
					      { "max-stranded", required_argument, NULL, 'm' },
					      { "any-host", no_argument, NULL, 'A' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	struct cli_global g = { 0 };
	struct readiness_whatif_req req = { 0 };
	uint8_t pins[READINESS_MAX_CAND_PINS][32];
	const char *chain = NULL;
	bool json = false;
	char err[ERRLEN];
	long long port = 0;
	int c, rc;
	req.at = util_now();
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case 'H':
			req.host = optarg;
			break;
		case 'p':
			if (util_parse_int(optarg, 1, 65535, &port))
				return cli_usage_error("whatif", "--port '%s': expected 1..65535",
						       optarg);
			break;
		case 'C':
			if (chain)
				return cli_usage_error("whatif", "--chain given twice");
			chain = optarg;
			break;
		case 'P':
			if (req.npins >= READINESS_MAX_CAND_PINS)
				return cli_usage_error("whatif", "at most %d --pin",
						       READINESS_MAX_CAND_PINS);
			if (util_parse_pin(optarg, pins[req.npins], err, sizeof(err)))
				return cli_usage_error("whatif", "--pin '%s': %s", optarg, err);
			req.npins++;
			break;
		case 'a':
			if ((rc = parse_at("whatif", optarg, &req.at)) != EXIT_OK)
				return rc;
			break;
		case 'm':
			if (parse_share(optarg, &req.max_stranded))
				return cli_usage_error("whatif",
						       "--max-stranded '%s': expected a share 0..1 "
						       "(0.01) or a percentage 0%%..100%% (1%%)",
						       optarg);
			break;
		case 'A':
			req.any_host = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			whatif_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("whatif", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("whatif", "unexpected argument '%s'", argv[optind]);
	if (!req.host)
		return cli_usage_error("whatif", "--host is required");
	if (!chain && req.npins == 0)
		return cli_usage_error("whatif", "give --chain FILE.pem (or -) and/or --pin B64");
	req.port = (int)port;
	req.pins = (const uint8_t(*)[32])pins;
	char *pem = NULL;
	if (chain) {
		if ((rc = whatif_read_chain(chain, &pem, &req.pemlen)) != EXIT_OK)
			return rc;
		req.pem = pem;
	}
	if ((rc = cli_load_config(&g)) != EXIT_OK) {
		free(pem);
		return rc;
	}
	req.ca_file = g.cfg.probe_ca_file;
	struct db *db = NULL;
	if ((rc = cli_open_db(&g, DB_NO_CREATE, &db)) != EXIT_OK) {
		free(pem);
		return rc;
	}
	json_t *out = NULL;
	bool risk = false;
	int r = readiness_whatif_db(db, &req, &out, &risk, err, sizeof(err));
	db_close(db);
	free(pem);
	if (r == -EINVAL) {
		char esc[ERRLEN * 2];
		fprintf(stderr, "pinwatch whatif: %s\n", log_escape(err, esc, sizeof(esc)));
		return EXIT_USAGE;
	}
	if (r) {
		log_err("whatif: %s", err);
		return EXIT_RUNTIME;
	}
	if (json) {
		if ((rc = cli_print_json(out)) != EXIT_OK)
			return rc;
	} else {
		print_whatif_table(out);
		json_decref(out);
		if (fflush(stdout) != 0)
			return EXIT_RUNTIME;
	}
	return risk ? EXIT_RISK : EXIT_OK;
}
