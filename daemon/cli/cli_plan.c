/* pinwatch plan add|list|show|cancel: planned rotations and their seven steps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "cli/cli.h"
#include "readiness/readiness.h"
#include "readiness/readiness_load.h"
#include "readiness/readiness_plan_db.h"
#include "store/db.h"
#include "store/plans.h"

static const char usage_text[] =
	"Usage: pinwatch plan add --host H [--port P] (--chain FILE.pem | --pin B64...)\n"
	"                         [--not-before YYYY-MM-DD] [--note TEXT] [--json]\n"
	"       pinwatch plan list [--all] [--json]\n"
	"       pinwatch plan show ID [--json]\n"
	"       pinwatch plan cancel ID\n\n"
	"Record the chain or keys an endpoint will rotate to, and follow the rotation\n"
	"through its seven steps: 1 the host is inventoried and probed; 2 every app\n"
	"that pins it has a version pinning a planned key; 3 a non-production\n"
	"endpoint already presents the planned key; 4 every address presents the\n"
	"same chain today and a spare key is pinned; 5 a released version carries\n"
	"both today's and a planned key; 6 executing the plan now would leave every\n"
	"app ready (with a forecast date); 7 every address has presented the planned\n"
	"key for [plans] confirm_days days, so the old keys can go. Each step is\n"
	"computed from what pinwatch observes, with its evidence. A plan's status is\n"
	"waiting, ready, rolling_out, completed or cancelled.\n\n"
	"Options:\n"
	"      --host H         the endpoint's host name (add)\n"
	"      --port P         its port (default 443)\n"
	"      --chain FILE     the planned chain, PEM, leaf first ('-': standard input)\n"
	"      --pin B64        a planned key (SPKI SHA-256, base64; repeatable)\n"
	"      --not-before D   the rotation is planned for D or later: a plan still\n"
	"                       waiting after D raises plan_overdue\n"
	"      --note TEXT      why (ticket, change request), at most 1024 bytes\n"
	"      --all            list cancelled plans too\n"
	"      --json           print JSON\n" CLI_GLOBAL_HELP "  -h, --help           this help\n\n"
	"Exit status: 0 ok, 2 usage or bad input (unknown plan), 3 runtime failure.\n";

static int read_chain(const char *path, char **buf, size_t *len)
{
	if (strcmp(path, "-") != 0)
		return util_read_file(path, PLANS_MAX_CHAIN, buf, len);
	size_t cap = PLANS_MAX_CHAIN + 1;
	char *b = malloc(cap + 1);
	if (!b)
		return -ENOMEM;
	size_t n = fread(b, 1, cap, stdin);
	if (ferror(stdin) || n > PLANS_MAX_CHAIN) {
		free(b);
		return ferror(stdin) ? -EIO : -EFBIG;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static void print_plan(json_t *p)
{
	char host[600], note[2100];
	log_escape(json_string_value(json_object_get(p, "host")), host, sizeof(host));
	printf("plan %lld: %s:%lld  %s%s\n",
	       (long long)json_integer_value(json_object_get(p, "id")), host,
	       (long long)json_integer_value(json_object_get(p, "port")),
	       json_string_value(json_object_get(p, "status")),
	       json_is_true(json_object_get(p, "overdue")) ? " (OVERDUE)" : "");
	if (json_is_string(json_object_get(p, "not_before")))
		printf("  not before %s\n", json_string_value(json_object_get(p, "not_before")));
	if (json_is_string(json_object_get(p, "note"))) {
		log_escape(json_string_value(json_object_get(p, "note")), note, sizeof(note));
		printf("  note: %s\n", note);
	}
	size_t i, k;
	json_t *x, *e;
	json_array_foreach(json_object_get(p, "keys"), i, x)
	{
		printf("  %s sha256/%s\n", i == 0 ? "keys:" : "     ", json_string_value(x));
	}
	json_array_foreach(json_object_get(p, "steps"), i, x)
	{
		printf("  [%c] %lld %s\n", json_is_true(json_object_get(x, "done")) ? 'x' : ' ',
		       (long long)json_integer_value(json_object_get(x, "step")),
		       json_string_value(json_object_get(x, "name")));
		json_array_foreach(json_object_get(x, "evidence"), k, e)
		{
			char line[2048];
			printf("        %s\n",
			       log_escape(json_string_value(e), line, sizeof(line)));
		}
	}
}

static int load_cfg_days(struct cli_global *g, int64_t *confirm_s)
{
	int rc = cli_load_config(g);
	*confirm_s = readiness_plan_confirm_s(&g->cfg);
	return rc;
}

static int show(struct cli_global *g, struct db *db, int64_t id, bool as_json)
{
	char err[ERRLEN];
	int64_t confirm_s;
	json_t *out = NULL;
	int rc = load_cfg_days(g, &confirm_s);
	if (rc)
		return rc;
	rc = readiness_plans_json(db, id, false, util_now(), confirm_s, &out, err, sizeof(err));
	if (rc) {
		log_err("%s", err);
		return rc == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (as_json)
		return cli_print_json(out);
	print_plan(out);
	json_decref(out);
	return EXIT_OK;
}

struct add_args {
	const char *host, *chain, *not_before, *note;
	int port;
	uint8_t (*pins)[32];
	size_t npins;
};

static int do_add(struct cli_global *g, struct add_args *a, bool as_json)
{
	struct plan p = { 0 };
	struct readiness_chain chain = { 0 };
	struct db *db = NULL;
	char err[ERRLEN], esc[ERRLEN * 2];
	char *pem = NULL;
	size_t len = 0;
	time_t nb_at;
	int rc, ret = EXIT_USAGE;

	if (!a->host)
		return cli_usage_error("plan", "add: --host is required");
	if (!a->chain == !a->npins)
		return cli_usage_error("plan", "add: give either --chain FILE or --pin B64...");
	if (a->not_before && (strlen(a->not_before) >= sizeof(p.not_before) ||
			      util_parse_date(a->not_before, &nb_at)))
		return cli_usage_error("plan", "--not-before: not a date (YYYY-MM-DD)");
	if (!(p.host = strdup(a->host)) || (a->note && !(p.note = strdup(a->note)))) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	p.port = a->port;
	if (a->not_before)
		snprintf(p.not_before, sizeof(p.not_before), "%s", a->not_before);
	if (a->chain) {
		if ((rc = read_chain(a->chain, &pem, &len))) {
			log_err("%s: %s", a->chain,
				rc == -EFBIG ? "file too large" : strerror(-rc));
			goto out;
		}
		if (readiness_chain_from_pem(pem, len, &chain, err, sizeof(err))) {
			log_err("%s: %s", a->chain, log_escape(err, esc, sizeof(esc)));
			goto out;
		}
		if (chain.ncerts > PLANS_MAX_KEYS) {
			log_err("%s: more than %d certificates", a->chain, PLANS_MAX_KEYS);
			goto out;
		}
		p.keys = calloc(chain.ncerts, 32);
		if (!p.keys) {
			ret = EXIT_RUNTIME;
			goto out;
		}
		for (size_t i = 0; i < chain.ncerts; i++) {
			bool dup = false;
			for (size_t k = 0; k < p.nkeys && !dup; k++)
				dup = !memcmp(p.keys[k], chain.certs[i].pin, 32);
			if (!dup)
				memcpy(p.keys[p.nkeys++], chain.certs[i].pin, 32);
		}
		p.chain_pem = pem;
		pem = NULL;
	} else {
		p.keys = a->pins;
		p.nkeys = a->npins;
		a->pins = NULL;
	}
	if ((ret = cli_open_db(g, 0, &db)))
		goto out;
	rc = plans_add(db, cli_actor(), &p, err, sizeof(err));
	if (rc) {
		log_err("%s", log_escape(err, esc, sizeof(esc)));
		ret = rc == -EINVAL || rc == -ENOSPC ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	if (!as_json)
		printf("recorded plan %lld\n", (long long)p.id);
	ret = show(g, db, p.id, as_json);
out:
	db_close(db);
	readiness_chain_free(&chain);
	free(pem);
	plan_free(&p);
	return ret;
}

static int do_list(struct cli_global *g, bool all, bool as_json)
{
	char err[ERRLEN];
	struct db *db = NULL;
	json_t *out = NULL;
	int64_t confirm_s;
	int rc = load_cfg_days(g, &confirm_s);
	if (rc || (rc = cli_open_db(g, 0, &db)))
		return rc;
	rc = readiness_plans_json(db, 0, !all, util_now(), confirm_s, &out, err, sizeof(err));
	db_close(db);
	if (rc) {
		log_err("%s", err);
		return EXIT_RUNTIME;
	}
	if (as_json)
		return cli_print_json(out);
	size_t i;
	json_t *p;
	if (json_array_size(out) == 0)
		printf("no plans\n");
	json_array_foreach(out, i, p)
	{
		char host[600];
		size_t done = 0, k;
		json_t *st;
		json_array_foreach(json_object_get(p, "steps"), k, st)
		{
			done += json_is_true(json_object_get(st, "done"));
		}
		log_escape(json_string_value(json_object_get(p, "host")), host, sizeof(host));
		printf("%-5lld %-12s %zu/7 steps  %s:%lld%s%s\n",
		       (long long)json_integer_value(json_object_get(p, "id")),
		       json_string_value(json_object_get(p, "status")), done, host,
		       (long long)json_integer_value(json_object_get(p, "port")),
		       json_is_string(json_object_get(p, "not_before")) ? "  not before " : "",
		       json_is_string(json_object_get(p, "not_before"))
			       ? json_string_value(json_object_get(p, "not_before"))
			       : "");
	}
	json_decref(out);
	return EXIT_OK;
}

static int parse_id(const char *s, int64_t *id)
{
	long long v;
	if (util_parse_int(s, 1, INT64_MAX, &v))
		return -EINVAL;
	*id = v;
	return 0;
}

/* The options of `pinwatch plan`, every action's. */
struct plan_opts {
	struct cli_global g;
	struct add_args a;
	bool as_json, all, add_only;
};

static int plan_add_action(void *arg, int npos, char **pos)
{
	struct plan_opts *o = arg;
	(void)pos;
	return npos ? cli_usage_error("plan", "add takes options only")
		    : do_add(&o->g, &o->a, o->as_json);
}

static int plan_list_action(void *arg, int npos, char **pos)
{
	struct plan_opts *o = arg;
	(void)pos;
	return npos ? cli_usage_error("plan", "list takes no arguments")
		    : do_list(&o->g, o->all, o->as_json);
}

/* The plan ID operand of `show` and `cancel`, and the database; EXIT_*. */
static int plan_id_db(struct plan_opts *o, const char *action, int npos, char **pos, int64_t *id,
		      struct db **db)
{
	if (npos != 1 || parse_id(pos[0], id))
		return cli_usage_error("plan", "%s: expected one plan ID", action);
	return cli_open_db(&o->g, 0, db);
}

static int plan_show_action(void *arg, int npos, char **pos)
{
	struct plan_opts *o = arg;
	struct db *db = NULL;
	int64_t id = 0;
	int rc = plan_id_db(o, "show", npos, pos, &id, &db);
	if (rc)
		return rc;
	rc = show(&o->g, db, id, o->as_json);
	db_close(db);
	return rc;
}

static int plan_cancel_action(void *arg, int npos, char **pos)
{
	struct db *db = NULL;
	char err[ERRLEN];
	int64_t id = 0;
	int rc = plan_id_db(arg, "cancel", npos, pos, &id, &db);
	if (rc)
		return rc;
	if ((rc = plans_cancel(db, cli_actor(), id, err, sizeof(err)))) {
		log_err("%s", err);
		rc = rc == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
	} else {
		printf("cancelled plan %lld\n", (long long)id);
		rc = EXIT_OK;
	}
	db_close(db);
	return rc;
}

const struct cli_action cli_plan_actions[] = {
	{ "add", plan_add_action, "record a planned rotation (new chain or pins)" },
	{ "list", plan_list_action, "list open plans (--all: every plan)" },
	{ "show", plan_show_action, "show a plan and its seven steps" },
	{ "cancel", plan_cancel_action, "cancel a plan" },
	{ NULL, NULL, NULL },
};

/* Parse one option of `pinwatch plan` into @o: CLI_CONTINUE, or the EXIT_* to
 * return (the help printed, a usage error). */
static int plan_opt(struct plan_opts *o, int opt, char *arg)
{
	struct add_args *a = &o->a;
	char err[ERRLEN];
	long long port;

	if (opt != 'a' && opt != 'j' && opt != 'h')
		o->add_only = true;
	switch (opt) {
	case 'H':
		a->host = arg;
		return CLI_CONTINUE;
	case 'p':
		if (util_parse_int(arg, 1, 65535, &port))
			return cli_usage_error("plan", "--port: expected 1..65535");
		a->port = (int)port;
		return CLI_CONTINUE;
	case 'C':
		a->chain = arg;
		return CLI_CONTINUE;
	case 'P':
		if (a->npins >= PLANS_MAX_KEYS ||
		    util_parse_pin(arg, a->pins[a->npins], err, sizeof(err)))
			return cli_usage_error("plan", "--pin %s: %s", arg,
					       a->npins >= PLANS_MAX_KEYS ? "too many pins" : err);
		a->npins++;
		return CLI_CONTINUE;
	case 'N':
		a->not_before = arg;
		return CLI_CONTINUE;
	case 'n':
		a->note = arg;
		return CLI_CONTINUE;
	case 'a':
		o->all = true;
		return CLI_CONTINUE;
	case 'j':
		o->as_json = true;
		return CLI_CONTINUE;
	case 'h':
		printf("%s", usage_text);
		return EXIT_OK;
	default:
		return cli_usage_error("plan", "unknown option");
	}
}

/* Run @action with the options in @o (after getopt). */
static int plan_run(struct plan_opts *o, const char *action, int npos, char **pos)
{
	const struct cli_action *a = cli_action_find(cli_plan_actions, action);
	char names[128];

	if (a && a->fn == plan_add_action)
		return a->fn(o, npos, pos);
	if (o->add_only)
		return cli_usage_error("plan", "--host, --port, --chain, --pin, --not-before and "
					       "--note only apply to add");
	if (!a)
		return cli_usage_error(
			"plan", "unknown action '%s' (%s)", action,
			cli_action_list(cli_plan_actions, " or ", names, sizeof(names)));
	return a->fn(o, npos, pos);
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = { { "host", required_argument, NULL, 'H' },
					      { "port", required_argument, NULL, 'p' },
					      { "chain", required_argument, NULL, 'C' },
					      { "pin", required_argument, NULL, 'P' },
					      { "not-before", required_argument, NULL, 'N' },
					      { "note", required_argument, NULL, 'n' },
					      { "all", no_argument, NULL, 'a' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	const char *action;
	int rc = cli_action("plan", usage_text, cli_plan_actions, " or ", &argc, &argv, &action);
	if (rc != CLI_CONTINUE)
		return rc;
	struct plan_opts o = { .a = { .port = 443 } };
	int opt;
	o.a.pins = calloc(PLANS_MAX_KEYS, 32);
	if (!o.a.pins)
		return EXIT_RUNTIME;
	while ((opt = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&o.g, opt, optarg))
			continue;
		if ((rc = plan_opt(&o, opt, optarg)) != CLI_CONTINUE) {
			free(o.a.pins);
			return rc;
		}
	}
	rc = plan_run(&o, action, argc - optind, argv + optind);
	free(o.a.pins);
	return rc;
}
