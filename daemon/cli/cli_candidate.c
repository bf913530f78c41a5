/* pinwatch candidate add|list|remove: certificates seen before deployment. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signals/candidates.h"
#include "cli/cli.h"
#include "store/db.h"
#include "base/log.h"
#include "base/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pinwatch candidate add FILE.pem [--source ct|manual] [--host H] [--json]\n"
		"       pinwatch candidate list [--json]\n"
		"       pinwatch candidate remove ID\n\n"
		"Record a certificate chain seen before deployment (from Certificate Transparency\n"
		"or a manual upload) and evaluate it with what-if against every inventoried\n"
		"endpoint whose name the leaf covers (only H with --host; H must be an\n"
		"inventoried endpoint). FILE is PEM or DER, leaf first; '-' reads standard input.\n"
		"The chain is first checked as every TLS client checks it (valid when it would\n"
		"be deployed, the leaf covers the endpoint, it builds to a trust anchor: the\n"
		"config's [probe] ca_file, else the system store); a failure strands every\n"
		"user there. Pins count on the paths a client builds from the leaf.\n\n"
		"Options:\n"
		"      --source S     ct or manual (default manual)\n"
		"      --host H       evaluate for this inventoried endpoint only\n"
		"      --json         print the candidate(s) as JSON\n" CLI_GLOBAL_HELP
		"  -h, --help         this help\n\n"
		"Exit status: 0 recorded/listed, 1 the candidate would strand users (add),\n"
		"2 usage or bad input, 3 runtime failure.\n");
}

static int read_input(const char *path, char **buf, size_t *len)
{
	if (strcmp(path, "-") != 0)
		return util_read_file(path, CANDIDATES_MAX_FILE, buf, len);
	size_t cap = CANDIDATES_MAX_FILE + 1;
	char *b = malloc(cap);
	if (!b)
		return -ENOMEM;
	size_t n = fread(b, 1, cap, stdin);
	if (ferror(stdin)) {
		free(b);
		return -EIO;
	}
	if (n > CANDIDATES_MAX_FILE) {
		free(b);
		return -EFBIG;
	}
	*buf = b;
	*len = n;
	return 0;
}

static void print_verdict(json_t *c)
{
	json_t *v = json_object_get(c, "verdict");
	json_t *eps = json_object_get(v, "endpoints"), *ep;
	size_t i;
	char subj[1024], iss[1024];
	/* Certificate fields come from CT logs: escape before the terminal. */
	log_escape(json_string_value(json_object_get(c, "subject")), subj, sizeof(subj));
	log_escape(json_string_value(json_object_get(c, "issuer")), iss, sizeof(iss));
	printf("candidate %lld: %s (issuer %s), evaluated at %s\n",
	       (long long)json_integer_value(json_object_get(c, "id")), subj, iss,
	       json_string_value(json_object_get(v, "at"))
		       ? json_string_value(json_object_get(v, "at"))
		       : "-");
	if (json_array_size(eps) == 0)
		printf("  covers no inventoried endpoint\n");
	json_array_foreach(eps, i, ep)
	{
		json_t *apps = json_object_get(ep, "apps"), *ap;
		size_t j;
		printf("  %s:%lld\n", json_string_value(json_object_get(ep, "host")),
		       (long long)json_integer_value(json_object_get(ep, "port")));
		json_t *ck = json_object_get(ep, "checks"), *fx;
		size_t kk;
		if (json_is_object(ck) && !json_is_true(json_object_get(ck, "ok"))) {
			printf("    FAILS the checks every TLS client makes: every user is "
			       "stranded\n");
			json_array_foreach(json_object_get(ck, "failures"), kk, fx)
			{
				char line[1024];
				printf("      - %s\n",
				       log_escape(json_string_value(fx), line, sizeof(line)));
			}
		}
		json_array_foreach(json_object_get(ck, "not_on_path"), kk, fx)
		{
			char line[1024];
			printf("    not on any path from the leaf (ignored): %s\n",
			       log_escape(json_string_value(fx), line, sizeof(line)));
		}
		if (json_array_size(apps) == 0)
			printf("    no app pins this host\n");
		json_array_foreach(apps, j, ap)
		{
			printf("    %-24s stranded %5.1f%%  unknown %5.1f%%",
			       json_string_value(json_object_get(ap, "app")),
			       100 * json_real_value(json_object_get(ap, "stranded_share")),
			       100 * json_real_value(json_object_get(ap, "unknown_share")));
			json_t *sv = json_object_get(ap, "stranded_versions"), *x;
			size_t k;
			json_array_foreach(sv, k, x)
			{
				printf("%s%s%s", k ? ", " : "  versions: ",
				       json_string_value(json_object_get(x, "version")),
				       json_is_null(json_object_get(x, "share"))
					       ? " (no adoption figure)"
					       : "");
			}
			printf("\n");
		}
	}
	printf("  %s\n", json_is_true(json_object_get(c, "would_strand"))
				 ? "WOULD STRAND USERS: do not deploy before the apps pin its keys"
				 : "safe to deploy for the inventoried apps");
}

static int do_add(struct cli_global *g, const char *file, const char *source_s, const char *host,
		  bool as_json)
{
	enum candidate_source src = CANDIDATE_MANUAL;
	char err[ERRLEN];
	char *buf = NULL;
	size_t len = 0;
	struct db *db = NULL;
	int64_t id;
	bool existed;
	json_t *c = NULL;

	if (source_s && candidates_parse_source(source_s, &src))
		return cli_usage_error("candidate", "--source: expected ct or manual");
	int rc = read_input(file, &buf, &len);
	if (rc) {
		log_err("%s: %s", file, rc == -EFBIG ? "file too large" : strerror(-rc));
		return EXIT_USAGE;
	}
	if ((rc = cli_open_db(g, 0, &db))) {
		free(buf);
		return rc;
	}
	rc = candidates_add(db, cli_actor(), g->cfg.probe_ca_file, (const uint8_t *)buf, len, src,
			    host, util_now(), &id, &existed, err, sizeof(err));
	free(buf);
	if (rc) {
		char esc[ERRLEN * 2];
		log_err("%s: %s", file, log_escape(err, esc, sizeof(esc)));
		db_close(db);
		return rc == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	rc = candidates_json(db, id, &c, err, sizeof(err));
	db_close(db);
	if (rc) {
		log_err("%s", err);
		return EXIT_RUNTIME;
	}
	bool strands = json_is_true(json_object_get(c, "would_strand"));
	if (as_json) {
		if (cli_print_json(c) != EXIT_OK)
			return EXIT_RUNTIME;
	} else {
		if (existed)
			printf("(already recorded; re-evaluated)\n");
		print_verdict(c);
		json_decref(c);
	}
	return strands ? EXIT_RISK : EXIT_OK;
}

static int do_list(struct cli_global *g, bool as_json)
{
	char err[ERRLEN];
	struct db *db = NULL;
	json_t *all = NULL;
	int rc = cli_open_db(g, 0, &db);
	if (rc)
		return rc;
	rc = candidates_json(db, 0, &all, err, sizeof(err));
	db_close(db);
	if (rc) {
		log_err("%s", err);
		return EXIT_RUNTIME;
	}
	if (as_json)
		return cli_print_json(all);
	size_t i;
	json_t *c;
	if (json_array_size(all) == 0)
		printf("no candidates\n");
	json_array_foreach(all, i, c)
	{
		char nb[16], na[16];
		char subj[512];
		log_escape(json_string_value(json_object_get(c, "subject")), subj, sizeof(subj));
		printf("%-5lld %-6s %-10s %s .. %s  %s\n",
		       (long long)json_integer_value(json_object_get(c, "id")),
		       json_string_value(json_object_get(c, "source")),
		       json_is_true(json_object_get(c, "would_strand")) ? "STRANDS" : "ok",
		       util_fmt_date((time_t)json_integer_value(json_object_get(c, "not_before")),
				     nb, sizeof(nb)),
		       util_fmt_date((time_t)json_integer_value(json_object_get(c, "not_after")),
				     na, sizeof(na)),
		       subj);
	}
	json_decref(all);
	return EXIT_OK;
}

static int do_remove(struct cli_global *g, const char *id_s)
{
	long long id;
	char err[ERRLEN];
	struct db *db = NULL;
	if (util_parse_int(id_s, 1, INT64_MAX, &id))
		return cli_usage_error("candidate", "remove: ID must be a positive integer");
	int rc = cli_open_db(g, 0, &db);
	if (rc)
		return rc;
	rc = candidates_remove(db, cli_actor(), id, err, sizeof(err));
	db_close(db);
	if (rc) {
		log_err("%s", err);
		return rc == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
	}
	printf("removed candidate %lld\n", id);
	return EXIT_OK;
}

/* The options of `pinwatch candidate`, every action's. */
struct candidate_opts {
	struct cli_global g;
	const char *source, *host;
	bool as_json;
};

static int candidate_add_action(void *arg, int npos, char **pos)
{
	struct candidate_opts *o = arg;
	if (npos != 1)
		return cli_usage_error("candidate", "add: expected one FILE");
	return do_add(&o->g, pos[0], o->source, o->host, o->as_json);
}

static int candidate_list_action(void *arg, int npos, char **pos)
{
	struct candidate_opts *o = arg;
	(void)pos;
	if (npos != 0)
		return cli_usage_error("candidate", "list takes no arguments");
	return do_list(&o->g, o->as_json);
}

static int candidate_remove_action(void *arg, int npos, char **pos)
{
	struct candidate_opts *o = arg;
	if (npos != 1 || o->as_json)
		return cli_usage_error("candidate", "remove: expected one ID");
	return do_remove(&o->g, pos[0]);
}

const struct cli_action cli_candidate_actions[] = {
	{ "add", candidate_add_action, "record a certificate seen before deployment" },
	{ "list", candidate_list_action, "list candidates with their verdicts" },
	{ "remove", candidate_remove_action, "remove a candidate" },
	{ NULL, NULL, NULL },
};

int cmd_candidate(int argc, char **argv)
{
	static const struct option opts[] = { { "source", required_argument, NULL, 's' },
					      { "host", required_argument, NULL, 'H' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	struct candidate_opts o = { 0 };
	char names[128];
	int opt;
	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&o.g, opt, optarg))
			continue;
		switch (opt) {
		case 's':
			o.source = optarg;
			break;
		case 'H':
			o.host = optarg;
			break;
		case 'j':
			o.as_json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("candidate", "unknown option");
		}
	}
	int nargs = argc - optind;
	if (nargs < 1)
		return cli_usage_error(
			"candidate", "expected %s",
			cli_action_list(cli_candidate_actions, " or ", names, sizeof(names)));
	const char *sub = argv[optind];
	const struct cli_action *a = cli_action_find(cli_candidate_actions, sub);
	if (a && a->fn == candidate_add_action)
		return a->fn(&o, nargs - 1, argv + optind + 1);
	if (o.source || o.host)
		return cli_usage_error("candidate", "--source and --host only apply to add");
	if (!a)
		return cli_usage_error("candidate", "unknown action '%s'", sub);
	return a->fn(&o, nargs - 1, argv + optind + 1);
}
