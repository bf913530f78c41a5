/* pinwatch import / export / endpoint / app: the inventory from the shell.
 * Every change is audited with the actor cli_actor(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/apps.h"
#include "cli/cli.h"
#include "store/db.h"
#include "store/inventory.h"
#include "importers/invfile.h"
#include "model/json.h"
#include "base/log.h"
#include "base/util.h"

/* Print a low-layer message (it may quote file content) escaped. */
static void report(const char *cmd, const char *what, const char *msg)
{
	char esc[ERRLEN * 4], wesc[512];
	log_err("%s: %s%s%s", cmd, what ? log_escape(what, wesc, sizeof(wesc)) : "",
		what ? ": " : "", log_escape(msg, esc, sizeof(esc)));
}

/* Like cli_print_json (steals @j) but in the export's format, so that shares
 * and thresholds read as written (0.95, not 0.94999999999999996). */
static int print_json(json_t *j)
{
	char *text = j ? invfile_dumps(j) : NULL;
	json_decref(j);
	if (!text) {
		log_err("out of memory building JSON output");
		return EXIT_RUNTIME;
	}
	int ok = fputs(text, stdout) != EOF && fflush(stdout) == 0;
	free(text);
	if (!ok) {
		log_err("writing JSON to stdout failed");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* -EINVAL/-ENOENT/-EEXIST are the user's input; everything else is runtime. */
static int exit_for(int rc)
{
	return rc == -EINVAL || rc == -ENOENT || rc == -EEXIST ? EXIT_USAGE : EXIT_RUNTIME;
}

/* ---- import ------------------------------------------------------------- */

static void import_usage(FILE *f)
{
	fprintf(f, "Usage: pinwatch import [--prune] [--dry-run] FILE\n\n"
		   "Reconcile the database with an inventory JSON file (its keys, defaults\n"
		   "and limits: docs/inventory.md): listed endpoints, apps, versions,\n"
		   "adoption samples and pin policies are created or updated; with --prune,\n"
		   "whatever the file no longer lists is deleted. All or nothing; importing\n"
		   "the same file again changes nothing. Every change is recorded in the\n"
		   "audit log.\n\n"
		   "      --prune        delete what the file does not list\n"
		   "  -n, --dry-run      validate FILE only; touch no database\n" CLI_GLOBAL_HELP
		   "  -h, --help         this help\n\n"
		   "Exit status: 0 imported, 2 bad file or usage, 3 database failure.\n");
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = { { "prune", no_argument, NULL, 'p' },
					      { "dry-run", no_argument, NULL, 'n' },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	struct cli_global g = { 0 };
	bool prune = false, dry = false;
	int c;
	while ((c = getopt_long(argc, argv, "nhc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case 'p':
			prune = true;
			break;
		case 'n':
			dry = true;
			break;
		case 'h':
			import_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("import", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("import", "expected exactly one FILE");
	const char *file = argv[optind];

	char *text = NULL, err[ERRLEN];
	size_t len = 0;
	int rc = util_read_file(file, INVFILE_MAX_BYTES, &text, &len);
	if (rc) {
		report("import", file, rc == -EFBIG ? "file too large" : strerror(-rc));
		return EXIT_USAGE;
	}
	struct inventory inv;
	rc = invfile_parse_text(text, len, &inv, err, sizeof(err));
	free(text);
	if (rc) {
		report("import", file, err);
		return EXIT_USAGE;
	}
	if (dry) {
		printf("%s: valid (%zu endpoints, %zu apps)\n", file, inv.nendpoints, inv.napps);
		model_inventory_free(&inv);
		return EXIT_OK;
	}
	struct db *db = NULL;
	int ex = cli_open_db(&g, 0, &db);
	if (ex) {
		model_inventory_free(&inv);
		return ex;
	}
	struct inventory_import_stats st;
	rc = inventory_import(db, cli_actor(), &inv, prune, &st, err, sizeof(err));
	model_inventory_free(&inv);
	db_close(db);
	if (rc) {
		report("import", file, err);
		return exit_for(rc);
	}
	printf("imported: %u created, %u updated, %u deleted, %u unchanged; %u audit rows\n",
	       st.created, st.updated, st.deleted, st.unchanged, st.audit_rows);
	return EXIT_OK;
}

/* ---- export ------------------------------------------------------------- */

static void export_usage(FILE *f)
{
	fprintf(f, "Usage: pinwatch export [--output FILE]\n\n"
		   "Write the whole inventory as JSON (the format `pinwatch import` reads),\n"
		   "in a stable order, so that the file can be kept in git.\n\n"
		   "  -o, --output FILE  write to FILE (atomically) instead of "
		   "stdout\n" CLI_GLOBAL_HELP "  -h, --help         this help\n");
}

static int write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[4096];
	if (util_path(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()))
		return util_err(err, errlen, -ENAMETOOLONG, "path too long");
	FILE *f = fopen(tmp, "w");
	if (!f)
		return util_err(err, errlen, -errno, "%s: %s", tmp, strerror(errno));
	size_t len = strlen(text);
	bool ok = fwrite(text, 1, len, f) == len;
	ok = (fflush(f) == 0) && ok;
	ok = (fsync(fileno(f)) == 0) && ok;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return util_err(err, errlen, -EIO, "writing %s: %s", path, strerror(e));
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	struct cli_global g = { 0 };
	const char *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			export_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("export", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
	struct db *db = NULL;
	int ex = cli_open_db(&g, DB_NO_CREATE, &db);
	if (ex)
		return ex;
	struct inventory inv;
	char err[ERRLEN];
	int rc = inventory_load(db, &inv, err, sizeof(err));
	db_close(db);
	if (rc) {
		report("export", NULL, err);
		return EXIT_RUNTIME;
	}
	json_t *j = model_inventory_to_json(&inv);
	model_inventory_free(&inv);
	char *text = j ? invfile_dumps(j) : NULL;
	json_decref(j);
	if (!text) {
		report("export", NULL, "out of memory");
		return EXIT_RUNTIME;
	}
	if (out) {
		rc = write_atomic(out, text, err, sizeof(err));
	} else if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
		rc = util_err(err, sizeof(err), -EIO, "writing to stdout failed");
	}
	free(text);
	if (rc) {
		report("export", NULL, err);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* ---- endpoint ----------------------------------------------------------- */

static const char endpoint_usage[] =
	"Usage: pinwatch endpoint add HOST[:PORT] [options]\n"
	"       pinwatch endpoint remove HOST[:PORT]\n"
	"       pinwatch endpoint list [--json]\n\n"
	"Options of add:\n"
	"      --sni NAME          server name to send (default: HOST)\n"
	"      --environment ENV   default production\n"
	"      --owner TEAM\n"
	"      --tag TAG           repeatable\n"
	"      --interval DUR      probe interval, e.g. 5m (10s..7d; default 5m)\n"
	"      --third-party       the endpoint is not ours\n"
	"      --disabled          inventoried but not probed\n" CLI_GLOBAL_HELP
	"  -h, --help              this help\n";

/* "host[:port]" -> normalised host copy and port (443 by default). 0 or -EINVAL. */
static int split_hostport(const char *arg, char *host, size_t hostlen, int *port)
{
	*port = 443;
	if (util_parse_hostport(arg, 0, host, hostlen, port) != 0)
		return -EINVAL;
	return model_normalize_host(host);
}

enum {
	OPT_SNI = 0x200,
	OPT_ENV,
	OPT_OWNER,
	OPT_TAG,
	OPT_INTERVAL,
	OPT_THIRD,
	OPT_DISABLED,
	OPT_JSON
};

static int endpoint_add(void *arg, int argc, char **argv)
{
	struct cli_global *g = arg;
	static const struct option opts[] = { { "sni", required_argument, NULL, OPT_SNI },
					      { "environment", required_argument, NULL, OPT_ENV },
					      { "owner", required_argument, NULL, OPT_OWNER },
					      { "tag", required_argument, NULL, OPT_TAG },
					      { "interval", required_argument, NULL, OPT_INTERVAL },
					      { "third-party", no_argument, NULL, OPT_THIRD },
					      { "disabled", no_argument, NULL, OPT_DISABLED },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	struct endpoint e = { .enabled = true, .interval_s = MODEL_DEFAULT_INTERVAL };
	char *tags[64];
	char host[256], err[ERRLEN];
	int c, ex = EXIT_OK;

	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(g, c, optarg))
			continue;
		switch (c) {
		case OPT_SNI:
			e.sni = optarg;
			break;
		case OPT_ENV:
			e.environment = optarg;
			break;
		case OPT_OWNER:
			e.owner = optarg;
			break;
		case OPT_TAG:
			if (e.ntags >= ARRAY_SIZE(tags))
				return cli_usage_error("endpoint", "at most 64 tags");
			tags[e.ntags++] = optarg;
			break;
		case OPT_INTERVAL:
			if (util_parse_duration(optarg, &e.interval_s))
				return cli_usage_error("endpoint", "--interval: not a duration");
			break;
		case OPT_THIRD:
			e.third_party = true;
			break;
		case OPT_DISABLED:
			e.enabled = false;
			break;
		default:
			return cli_help_or_unknown(c, "endpoint", endpoint_usage);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("endpoint", "add: expected HOST[:PORT]");
	if (split_hostport(argv[optind], host, sizeof(host), &e.port))
		return cli_usage_error("endpoint", "add: not a HOST[:PORT]");
	/* Own copies: model_check_endpoint normalises in place. */
	struct endpoint own = e;
	own.host = strdup(host);
	own.sni = e.sni ? strdup(e.sni) : NULL;
	own.environment = e.environment ? strdup(e.environment) : NULL;
	own.owner = e.owner ? strdup(e.owner) : NULL;
	own.tags = e.ntags ? calloc(e.ntags, sizeof(char *)) : NULL;
	own.ntags = 0;
	for (size_t i = 0; own.tags && i < e.ntags; i++)
		if ((own.tags[own.ntags] = strdup(tags[i])))
			own.ntags++;
	if (!own.host || own.ntags != e.ntags) {
		model_endpoint_free(&own);
		report("endpoint", NULL, "out of memory");
		return EXIT_RUNTIME;
	}
	struct db *db = NULL;
	if ((ex = cli_open_db(g, 0, &db)) == EXIT_OK) {
		int rc = inventory_endpoint_create(db, cli_actor(), &own, err, sizeof(err));
		if (rc) {
			report("endpoint add", NULL, err);
			ex = exit_for(rc);
		} else {
			printf("added %s:%d\n", own.host, own.port);
		}
		db_close(db);
	}
	model_endpoint_free(&own);
	return ex;
}

static int endpoint_remove(void *arg, int argc, char **argv)
{
	struct cli_global *g = arg;
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	char host[256], err[ERRLEN];
	int c, port, ex;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(g, c, optarg))
			continue;
		if (c == 'h') {
			fputs(endpoint_usage, stdout);
			return EXIT_OK;
		}
		return cli_usage_error("endpoint", "unknown option");
	}
	if (optind + 1 != argc || split_hostport(argv[optind], host, sizeof(host), &port))
		return cli_usage_error("endpoint", "remove: expected HOST[:PORT]");
	struct db *db = NULL;
	if ((ex = cli_open_db(g, DB_NO_CREATE, &db)))
		return ex;
	int rc = inventory_endpoint_delete(db, cli_actor(), host, port, err, sizeof(err));
	db_close(db);
	if (rc) {
		report("endpoint remove", NULL, err);
		return exit_for(rc);
	}
	printf("removed %s:%d\n", host, port);
	return EXIT_OK;
}

static int endpoint_list(void *arg, int argc, char **argv)
{
	struct cli_global *g = arg;
	static const struct option opts[] = { { "json", no_argument, NULL, OPT_JSON },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	bool json = false;
	int c, ex;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(g, c, optarg))
			continue;
		if (c == OPT_JSON) {
			json = true;
			continue;
		}
		if (c == 'h') {
			fputs(endpoint_usage, stdout);
			return EXIT_OK;
		}
		return cli_usage_error("endpoint", "unknown option");
	}
	if (optind != argc)
		return cli_usage_error("endpoint", "list: unexpected argument");
	struct db *db = NULL;
	if ((ex = cli_open_db(g, DB_NO_CREATE, &db)))
		return ex;
	struct endpoint *v = NULL;
	size_t n = 0;
	char err[ERRLEN];
	int rc = inventory_endpoint_list(db, &v, &n, err, sizeof(err));
	db_close(db);
	if (rc) {
		report("endpoint list", NULL, err);
		return EXIT_RUNTIME;
	}
	json_t *arr = json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		if (json) {
			if (arr && json_array_append_new(arr, model_endpoint_to_json(&v[i]))) {
				json_decref(arr);
				arr = NULL;
			}
		} else {
			char iv[32], esc[512];
			printf("%s:%d\t%s\t%s\t%s%s\n", v[i].host, v[i].port,
			       log_escape(v[i].environment, esc, sizeof(esc)),
			       model_fmt_interval(v[i].interval_s, iv, sizeof(iv)),
			       v[i].enabled ? "enabled" : "disabled",
			       v[i].third_party ? "\tthird-party" : "");
		}
		model_endpoint_free(&v[i]);
	}
	free(v);
	return json ? print_json(arr) : EXIT_OK;
}

const struct cli_action cli_endpoint_actions[] = {
	{ "add", endpoint_add, "add an endpoint to the inventory" },
	{ "remove", endpoint_remove, "remove an endpoint" },
	{ "list", endpoint_list, "list inventoried endpoints" },
	{ NULL, NULL, NULL },
};

int cmd_endpoint(int argc, char **argv)
{
	struct cli_global g = { 0 };
	const char *action;
	int rc = cli_action("endpoint", endpoint_usage, cli_endpoint_actions, NULL, &argc, &argv,
			    &action);
	if (rc != CLI_CONTINUE)
		return rc;
	return cli_action_run("endpoint", cli_endpoint_actions, action, true, &g, argc, argv);
}

/* ---- app ---------------------------------------------------------------- */

static const char app_usage[] =
	"Usage: pinwatch app add NAME --platform android|ios|other [--bundle-id ID]\n"
	"                        [--threshold F] [--failure-mode MODE]\n"
	"       pinwatch app remove NAME\n"
	"       pinwatch app list [--json]\n"
	"       pinwatch app show NAME\n\n"
	"`remove` deletes the app with all its versions, adoption figures and pin\n"
	"policies (audited with the whole app). `show` prints the app as in the\n"
	"inventory file.\n" CLI_GLOBAL_HELP "  -h, --help  this help\n";

enum { OPT_PLATFORM = 0x300, OPT_BUNDLE, OPT_THRESHOLD, OPT_FAILMODE };

/* The options of `pinwatch app`, every action's. */
struct app_opts {
	struct cli_global g;
	struct app a; /**< add: the app, but its name */
	bool json, have_platform;
};

static int app_list_action(void *arg, int npos, char **pos)
{
	struct app_opts *o = arg;
	struct db *db = NULL;
	struct app *v = NULL;
	size_t n = 0;
	char err[ERRLEN];
	int rc;

	(void)npos;
	(void)pos;
	if ((rc = cli_open_db(&o->g, DB_NO_CREATE, &db)))
		return rc;
	rc = apps_list(db, false, &v, &n, err, sizeof(err));
	json_t *arr = o->json ? json_array() : NULL;
	for (size_t i = 0; !rc && i < n; i++) {
		if (o->json) {
			if (arr && json_array_append_new(arr, model_app_to_json(&v[i], false))) {
				json_decref(arr);
				arr = NULL;
			}
		} else {
			char esc[512], b[600];
			printf("%s\t%s\t%s\n", log_escape(v[i].name, esc, sizeof(esc)),
			       model_platform_name(v[i].platform),
			       v[i].bundle_id ? log_escape(v[i].bundle_id, b, sizeof(b)) : "-");
		}
	}
	for (size_t i = 0; i < n; i++)
		model_app_free(&v[i]);
	free(v);
	db_close(db);
	if (rc) {
		json_decref(arr);
		report("app list", NULL, err);
		return EXIT_RUNTIME;
	}
	return o->json ? print_json(arr) : EXIT_OK;
}

static int app_show_action(void *arg, int npos, char **pos)
{
	struct app_opts *o = arg;
	struct db *db = NULL;
	struct app full;
	char err[ERRLEN];
	int rc;

	(void)npos;
	if ((rc = cli_open_db(&o->g, DB_NO_CREATE, &db)))
		return rc;
	rc = apps_get(db, pos[0], true, &full, err, sizeof(err));
	db_close(db);
	if (rc) {
		report("app show", NULL, err);
		return exit_for(rc);
	}
	json_t *j = model_app_to_json(&full, true);
	model_app_free(&full);
	return print_json(j);
}

/* `app add` and `app remove`: the change, then "added NAME" or "removed NAME".
 * @name is the command line's, so that the app can borrow it. */
static int app_change(struct app_opts *o, bool add, char *name)
{
	struct db *db = NULL;
	char err[ERRLEN], esc[512];
	int rc;

	if ((rc = cli_open_db(&o->g, add ? 0 : DB_NO_CREATE, &db)))
		return rc;
	if (add) {
		o->a.name = name;
		rc = apps_create(db, cli_actor(), &o->a, err, sizeof(err));
	} else {
		rc = apps_delete(db, cli_actor(), name, err, sizeof(err));
	}
	db_close(db);
	if (rc) {
		report(add ? "app add" : "app remove", NULL, err);
		return exit_for(rc);
	}
	printf("%s %s\n", add ? "added" : "removed", log_escape(name, esc, sizeof(esc)));
	return EXIT_OK;
}

static int app_add_action(void *arg, int npos, char **pos)
{
	struct app_opts *o = arg;
	(void)npos;
	if (!o->have_platform)
		return cli_usage_error("app", "add: --platform is required");
	return app_change(o, true, pos[0]);
}

static int app_remove_action(void *arg, int npos, char **pos)
{
	(void)npos;
	return app_change(arg, false, pos[0]);
}

const struct cli_action cli_app_actions[] = {
	{ "add", app_add_action, "add an app (platform, bundle ID, adoption threshold)" },
	{ "remove", app_remove_action, "remove an app with its versions and policies" },
	{ "list", app_list_action, "list apps" },
	{ "show", app_show_action, "print an app as in the inventory file" },
	{ NULL, NULL, NULL },
};

/* Parse one option of `pinwatch app` into @o: CLI_CONTINUE, or the EXIT_* to
 * return (the help printed, a usage error). */
static int app_opt(struct app_opts *o, int c, char *arg)
{
	switch (c) {
	case OPT_PLATFORM:
		if (model_parse_platform(arg, &o->a.platform))
			return cli_usage_error("app", "--platform: android, ios or other");
		o->have_platform = true;
		return CLI_CONTINUE;
	case OPT_BUNDLE:
		o->a.bundle_id = arg;
		return CLI_CONTINUE;
	case OPT_THRESHOLD:
		if (util_parse_double(arg, 0, 1, &o->a.adoption_threshold))
			return cli_usage_error("app", "--threshold: a number in [0, 1]");
		return CLI_CONTINUE;
	case OPT_FAILMODE:
		if (model_parse_failure_mode(arg, &o->a.failure_mode))
			return cli_usage_error("app", "--failure-mode: log, message, "
						      "redirect or terminate");
		return CLI_CONTINUE;
	case OPT_JSON:
		o->json = true;
		return CLI_CONTINUE;
	default:
		return cli_help_or_unknown(c, "app", app_usage);
	}
}

int cmd_app(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "bundle-id", required_argument, NULL, OPT_BUNDLE },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "failure-mode", required_argument, NULL, OPT_FAILMODE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct app_opts o = { .a = { .adoption_threshold = 0.95, .failure_mode = FAIL_TERMINATE } };
	char names[128];
	int c, ex;

	const char *action;
	if ((ex = cli_action("app", app_usage, cli_app_actions, NULL, &argc, &argv, &action)) !=
	    CLI_CONTINUE)
		return ex;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&o.g, c, optarg))
			continue;
		if ((ex = app_opt(&o, c, optarg)) != CLI_CONTINUE)
			return ex;
	}
	const struct cli_action *a = cli_action_find(cli_app_actions, action);
	if (!a)
		return cli_usage_error(
			"app", "unknown action '%s' (%s)", action,
			cli_action_list(cli_app_actions, ", ", names, sizeof(names)));
	bool is_list = a->fn == app_list_action;
	if (optind + (is_list ? 0 : 1) != argc)
		return cli_usage_error(
			"app", is_list ? "list: unexpected argument" : "%s: expected NAME", action);
	return a->fn(&o, argc - optind, argv + optind);
}
