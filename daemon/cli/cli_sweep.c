/* pinwatch sweep and pinwatch history: probe the estate once; show what was seen. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/db.h"
#include "base/log.h"
#include "store/inventory.h"
#include "store/observations.h"
#include "probe/scheduler.h"
#include "base/util.h"

static volatile sig_atomic_t sweep_stop;

static void on_stop(int sig)
{
	(void)sig;
	sweep_stop = 1;
}

static void sweep_usage(void)
{
	printf("Usage: pinwatch sweep [--concurrency N] [--timeout MS] [--ca-file FILE]\n"
	       "                     [--discover | --no-discover] [--json]\n\n"
	       "Probe every enabled endpoint once, now (every address, no jitter), store the\n"
	       "results and print a summary: probes, outcomes by class, probes/s, wall time.\n"
	       "For cron, the first population of a database, and benchmarks.\n\n"
	       "  --concurrency N  probes in flight (default [probe] concurrency, 64)\n"
	       "  --timeout MS     connect + handshake per probe (default [probe] timeout_ms)\n"
	       "  --ca-file FILE   trust anchors (default [probe] ca_file, else the system store)\n"
	       "  --discover       dual-certificate discovery at every endpoint: also probe each\n"
	       "                   address offering only ECDSA and only RSA signature algorithms\n"
	       "                   (default: at endpoints whose [probe] discover_interval has\n"
	       "                   passed or whose chain changed)\n"
	       "  --no-discover    no discovery probes\n"
	       "  --json           print the summary as JSON\n" CLI_GLOBAL_HELP
	       "  -h, --help       this help\n\n"
	       "SIGTERM/SIGINT: nothing new starts, probes in flight finish, results are "
	       "committed.\n"
	       "Exit status: 0 swept (failed probes are results, not errors); 2 usage; 3 runtime "
	       "error.\n");
}

int cmd_sweep(int argc, char **argv)
{
	enum { O_CONC = 0x200, O_TIMEOUT, O_CA, O_JSON, O_DISC, O_NODISC };
	static const struct option opts[] = {
		{ "discover", no_argument, NULL, O_DISC },
		{ "no-discover", no_argument, NULL, O_NODISC },
		{ "concurrency", required_argument, NULL, O_CONC },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "ca-file", required_argument, NULL, O_CA },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_global g = { 0 };
	long long conc = 0, timeout = 0;
	const char *ca = NULL;
	bool json = false;
	int opt, rc, discover = 0;

	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, opt, optarg))
			continue;
		switch (opt) {
		case O_DISC:
		case O_NODISC:
			if (discover)
				return cli_usage_error(
					"sweep", "--discover and --no-discover exclude each other");
			discover = opt == O_DISC ? 1 : -1;
			break;
		case O_CONC:
			if (util_parse_int(optarg, 1, 4096, &conc))
				return cli_usage_error("sweep", "--concurrency: 1 to 4096");
			break;
		case O_TIMEOUT:
			if (util_parse_int(optarg, 100, 600000, &timeout))
				return cli_usage_error("sweep",
						       "--timeout: milliseconds in [100, 600000]");
			break;
		case O_CA:
			ca = optarg;
			break;
		case O_JSON:
			json = true;
			break;
		case 'h':
			sweep_usage();
			return EXIT_OK;
		default:
			return cli_usage_error("sweep", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("sweep", "unexpected argument '%s'", argv[optind]);
	struct db *db = NULL;
	/* Migrations here; the integrity check once, by the scheduler's reader
	 * (a cron sweep pays for every page read). */
	if ((rc = cli_open_db(&g, DB_NO_CHECK, &db)) != EXIT_OK)
		return rc;
	db_close(db); /* migrations applied; the scheduler opens its own connections */

	struct sched_opts so = {
		.concurrency = conc ? (int)conc : g.cfg.probe_concurrency,
		.timeout_ms = timeout ? (int)timeout : g.cfg.probe_timeout_ms,
		.max_addresses = g.cfg.probe_max_addresses,
		.jitter_pct = g.cfg.probe_jitter_pct,
		.ca_file = ca ? ca : g.cfg.probe_ca_file,
		.discover_interval_s = g.cfg.probe_discover_interval_s,
		.sweep_discover = discover,
	};
	char err[ERRLEN];
	struct scheduler *s = scheduler_new(cli_db_path(&g), &so, err, sizeof(err));
	if (!s) {
		log_err("sweep: %s", err);
		return ca ? EXIT_USAGE : EXIT_RUNTIME;
	}
	struct sigaction sa = { .sa_handler = on_stop }, old_term, old_int;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	struct sched_stats st;
	rc = scheduler_sweep(s, &sweep_stop, &st, err, sizeof(err));
	scheduler_free(s);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	if (rc) {
		log_err("sweep: %s", err);
		return EXIT_RUNTIME;
	}
	double secs = (double)st.wall_ms / 1000.0, rate = secs > 0 ? (double)st.probes / secs : 0;
	if (json) {
		json_t *oc = json_object();
		for (size_t i = 0; oc && i < st.noutcomes; i++)
			json_object_set_new(oc, st.outcomes[i].cls, json_integer(st.outcomes[i].n));
		return cli_print_json(json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:b, s:I}", "endpoints",
			(json_int_t)st.endpoints, "probes", (json_int_t)st.probes, "failures",
			(json_int_t)st.failures, "new_rows", (json_int_t)st.new_rows, "wall_ms",
			(json_int_t)st.wall_ms, "probes_per_s", rate, "outcomes", oc, "interrupted",
			sweep_stop != 0, "discovery_probes", (json_int_t)st.discovery_probes));
	}
	printf("sweep: %lld endpoints, %lld probes in %.2f s (%.1f probes/s), %lld failed, "
	       "%lld new observation rows, %lld discovery probes%s\n",
	       (long long)st.endpoints, (long long)st.probes, secs, rate, (long long)st.failures,
	       (long long)st.new_rows, (long long)st.discovery_probes,
	       sweep_stop ? " (interrupted)" : "");
	for (size_t i = 0; i < st.noutcomes; i++)
		printf("  %-16s %lld\n", st.outcomes[i].cls, (long long)st.outcomes[i].n);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

/* ---- history ---- */

static void history_usage(void)
{
	printf("Usage: pinwatch history HOST [--port P] [--address IP] [--json]\n\n"
	       "Print the timeline of chains and outcomes per address of HOST: each period\n"
	       "during which an address presented the same chain with the same outcome.\n\n"
	       "  --port P       only this port (default: every port of HOST)\n"
	       "  --address IP   only this address\n"
	       "  --json         print JSON\n" CLI_GLOBAL_HELP "  -h, --help     this help\n\n"
	       "Exit status: 0 ok; 2 usage or HOST not in the inventory; 3 database error.\n");
}

static json_t *chain_json(const struct x509_chain *ch)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < ch->n; i++)
		json_array_append_new(a, probe_cert_json(&ch->certs[i]));
	return a;
}

static json_t *row_json(const struct obs_row *r)
{
	char fs[32], ls[32];
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:o, s:o}", "first_seen",
		util_fmt_time(r->first_seen, fs, sizeof(fs)), "last_seen",
		util_fmt_time(r->last_seen, ls, sizeof(ls)), "outcome", r->outcome, "probe_count",
		(json_int_t)r->probe_count, "detail", r->detail, "tls_version", r->tls_version,
		"cipher", r->cipher, "duration_ms", (json_int_t)r->duration_ms, "presented_chain",
		chain_json(&r->presented), "validated_chain", chain_json(&r->validated));
	if (o && r->trusted >= 0) {
		json_object_set_new(o, "trusted", json_boolean(r->trusted));
		json_object_set_new(o, "name_ok", json_boolean(r->name_ok));
	}
	return o;
}

static void print_row(const struct obs_row *r)
{
	char fs[32], ls[32], b64[48], d[600];
	printf("    %s .. %s  %s  (%lld probe%s)\n", util_fmt_time(r->first_seen, fs, sizeof(fs)),
	       util_fmt_time(r->last_seen, ls, sizeof(ls)), r->outcome, (long long)r->probe_count,
	       r->probe_count == 1 ? "" : "s");
	if (r->presented.n) {
		char s[X509_MAX_DN * 2];
		printf("      leaf    %s, not after %s\n",
		       log_escape(r->presented.certs[0].subject, s, sizeof(s)),
		       util_fmt_time(r->presented.certs[0].not_after, fs, sizeof(fs)));
		for (size_t i = 0; i < r->validated.n; i++)
			printf("      %s sha256/%s\n", i == 0 ? "pins   " : "       ",
			       util_pin_b64(r->validated.certs[i].spki_pin, b64));
	} else if (r->detail[0]) {
		printf("      detail  %s\n", log_escape(r->detail, d, sizeof(d)));
	}
}

/* One endpoint's history as JSON: its rows, grouped by address. */
static json_t *history_json(const char *host, int port, int64_t id, const struct obs_row *rows,
			    size_t n)
{
	json_t *addrs = json_array(), *cur = NULL;
	const char *last = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!last || strcmp(last, rows[i].address) != 0) {
			cur = json_array();
			json_array_append_new(addrs, json_pack("{s:s, s:o}", "address",
							       rows[i].address, "timeline", cur));
			last = rows[i].address;
		}
		json_array_append_new(cur, row_json(&rows[i]));
	}
	return json_pack("{s:s, s:i, s:I, s:o}", "host", host, "port", port, "endpoint_id",
			 (json_int_t)id, "addresses", addrs);
}

/* One endpoint's history as text: its rows under each address. */
static void print_history(const char *host, int port, const struct obs_row *rows, size_t n)
{
	char esc[600];
	printf("%s port %d%s\n", log_escape(host, esc, sizeof(esc)), port,
	       n ? "" : ": never probed");
	const char *last = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!last || strcmp(last, rows[i].address) != 0) {
			printf("  %s\n", log_escape(rows[i].address, esc, sizeof(esc)));
			last = rows[i].address;
		}
		print_row(&rows[i]);
	}
}

int cmd_history(int argc, char **argv)
{
	enum { O_PORT = 0x200, O_ADDR, O_JSON };
	static const struct option opts[] = {
		{ "port", required_argument, NULL, O_PORT },
		{ "address", required_argument, NULL, O_ADDR },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_global g = { 0 };
	long long port = 0;
	const char *address = NULL;
	bool json = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, opt, optarg))
			continue;
		switch (opt) {
		case O_PORT:
			if (util_parse_int(optarg, 1, 65535, &port))
				return cli_usage_error("history", "--port: 1 to 65535");
			break;
		case O_ADDR:
			address = optarg;
			break;
		case O_JSON:
			json = true;
			break;
		case 'h':
			history_usage();
			return EXIT_OK;
		default:
			return cli_usage_error("history", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("history", "expected exactly one HOST");
	char host[256];
	size_t hl = strlen(argv[optind]);
	if (hl == 0 || hl >= sizeof(host))
		return cli_usage_error("history", "bad HOST");
	for (size_t i = 0; i <= hl; i++)
		host[i] = (char)((argv[optind][i] >= 'A' && argv[optind][i] <= 'Z')
					 ? argv[optind][i] + 32
					 : argv[optind][i]);
	struct db *db = NULL;
	if ((rc = cli_open_db(&g, DB_NO_CHECK, &db)) != EXIT_OK)
		return rc;
	/* the inventory's endpoints come sorted by host, then port */
	struct endpoint *eps = NULL;
	size_t neps = 0;
	char lerr[ERRLEN];
	if (inventory_endpoint_list(db, &eps, &neps, lerr, sizeof(lerr)) != 0) {
		log_err("history: %s", lerr);
		db_close(db);
		return EXIT_RUNTIME;
	}
	json_t *out = json ? json_array() : NULL;
	int found = 0;
	rc = EXIT_OK;
	for (size_t k = 0; k < neps; k++) {
		if (strcmp(eps[k].host, host) != 0 || (port && eps[k].port != port))
			continue;
		int64_t id = eps[k].id;
		int p = eps[k].port;
		struct obs_row *rows = NULL;
		size_t n = 0;
		char err[ERRLEN];
		found++;
		if (obs_history(db, id, address, 0, &rows, &n, err, sizeof(err)) != 0) {
			log_err("history: %s", err);
			rc = EXIT_RUNTIME;
			break;
		}
		if (json)
			json_array_append_new(out, history_json(host, p, id, rows, n));
		else
			print_history(host, p, rows, n);
		obs_rows_free(rows, n);
	}
	for (size_t k = 0; k < neps; k++)
		model_endpoint_free(&eps[k]);
	free(eps);
	db_close(db);
	if (rc == EXIT_OK && !found) {
		json_decref(out);
		char esc[600];
		log_err("history: %s%s is not in the inventory", log_escape(host, esc, sizeof(esc)),
			port ? " (with that port)" : "");
		return EXIT_USAGE;
	}
	if (json) {
		if (rc != EXIT_OK) {
			json_decref(out);
			return rc;
		}
		return cli_print_json(out);
	}
	return rc == EXIT_OK && fflush(stdout) != 0 ? EXIT_RUNTIME : rc;
}
