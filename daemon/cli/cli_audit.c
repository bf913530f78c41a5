/* pinwatch audit list / verify / head. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "cli/cli.h"
#include "store/db.h"
#include "base/log.h"
#include "base/util.h"

static const char audit_usage[] =
	"Usage: pinwatch audit list [--since DATE] [--object TYPE[:ID]] [--limit N] [--json]\n"
	"       pinwatch audit verify [--head HASH] [--json]\n"
	"       pinwatch audit head\n\n"
	"The audit log records every change (time, actor, action, object, before and\n"
	"after). Rows are hash-chained: `verify` recomputes the chain and exits 1 on\n"
	"the first bad row; `head` prints the latest hash so that it can be kept\n"
	"elsewhere, and `verify --head HASH` then also detects rows deleted from the\n"
	"tail. Object types: endpoint (ID host:port), app (ID name), version\n"
	"(ID app/version).\n\n"
	"      --since DATE    rows at or after DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)\n"
	"      --object T[:ID] rows about one object type, or one object\n"
	"      --limit N       at most N rows\n"
	"      --head HASH     a head saved earlier that must still be in the chain\n"
	"      --json          machine-readable output\n" CLI_GLOBAL_HELP
	"  -h, --help          this help\n\n"
	"Exit status: 0 ok, 1 verify found tampering, 2 usage, 3 database failure.\n";

enum { OPT_SINCE = 0x400, OPT_OBJECT, OPT_LIMIT, OPT_HEAD, OPT_JSON };

static bool is_hash(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static int print_rows(json_t *rows)
{
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		char a[160], b[160], c[160], d[600];
		const char *oid = json_string_value(json_object_get(r, "object_id"));
		printf("%" JSON_INTEGER_FORMAT "\t%s\t%s\t%s\t%s%s%s\n",
		       json_integer_value(json_object_get(r, "id")),
		       json_string_value(json_object_get(r, "at")),
		       log_escape(json_string_value(json_object_get(r, "actor")), a, sizeof(a)),
		       log_escape(json_string_value(json_object_get(r, "action")), b, sizeof(b)),
		       log_escape(json_string_value(json_object_get(r, "object_type")), c,
				  sizeof(c)),
		       oid ? ":" : "", oid ? log_escape(oid, d, sizeof(d)) : "");
	}
	json_decref(rows);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

/* The options of `pinwatch audit`, every action's. */
struct audit_opts {
	struct cli_global g;
	struct audit_filter f;
	const char *head;
	char objtype[65];
	bool json;
};

static int audit_list_action(void *arg, int npos, char **pos)
{
	struct audit_opts *o = arg;
	struct db *db = NULL;
	json_t *rows = NULL;
	char err[ERRLEN];
	int rc;

	(void)npos;
	(void)pos;
	if ((rc = cli_open_db(&o->g, DB_NO_CREATE, &db)))
		return rc;
	rc = audit_list(db, &o->f, &rows, err, sizeof(err));
	db_close(db);
	if (rc) {
		log_err("audit list: %s", err);
		return EXIT_RUNTIME;
	}
	return o->json ? cli_print_json(rows) : print_rows(rows);
}

static int audit_head_action(void *arg, int npos, char **pos)
{
	struct audit_opts *o = arg;
	struct db *db = NULL;
	char h[AUDIT_HASH_HEX], err[ERRLEN];
	int64_t count = 0;
	int rc;

	(void)npos;
	(void)pos;
	if ((rc = cli_open_db(&o->g, DB_NO_CREATE, &db)))
		return rc;
	rc = audit_head(db, h, &count, err, sizeof(err));
	db_close(db);
	if (rc) {
		log_err("audit head: %s", err);
		return EXIT_RUNTIME;
	}
	if (o->json)
		return cli_print_json(json_pack("{ss sI}", "head", h, "rows", (json_int_t)count));
	printf("%s\n", h);
	return EXIT_OK;
}

/* The text report of a broken chain, with the first bad row when known. */
static void print_broken(const struct audit_verify_result *res, json_t *bad)
{
	if (res->bad_id)
		printf("audit log BROKEN at row %lld: %s\n", (long long)res->bad_id, res->reason);
	else
		printf("audit log BROKEN: %s\n", res->reason);
	if (bad) {
		json_t *arr = json_array();
		if (arr && json_array_append(arr, bad) == 0) {
			printf("first bad row:\n");
			print_rows(arr); /* steals arr */
		} else {
			json_decref(arr);
		}
	}
}

static int audit_verify_action(void *arg, int npos, char **pos)
{
	struct audit_opts *o = arg;
	struct audit_verify_result res;
	struct db *db = NULL;
	json_t *bad = NULL;
	char err[ERRLEN];
	int ex, rc;

	(void)npos;
	(void)pos;
	if ((ex = cli_open_db(&o->g, DB_NO_CREATE, &db)))
		return ex;
	rc = audit_verify(db, o->head, &res, err, sizeof(err));
	if (rc == -EBADMSG && res.bad_id) {
		/* Show the first bad row as it is stored now. */
		struct audit_filter one = { .after_id = res.bad_id - 1, .limit = 1 };
		json_t *rows = NULL;
		if (audit_list(db, &one, &rows, err, sizeof(err)) == 0)
			bad = json_incref(json_array_get(rows, 0));
		json_decref(rows);
	}
	db_close(db);
	if (rc && rc != -EBADMSG) {
		log_err("audit verify: %s", err);
		return EXIT_RUNTIME;
	}
	if (o->json) {
		ex = cli_print_json(json_pack(
			"{sb sI so? so? so? ss}", "ok", rc == 0, "rows", (json_int_t)res.rows,
			"bad_id", res.bad_id ? json_integer(res.bad_id) : NULL, "bad_row", bad,
			"reason", rc ? json_string(res.reason) : NULL, "head", res.head));
		return ex ? ex : (rc ? EXIT_RISK : EXIT_OK);
	}
	if (rc == 0) {
		printf("audit log intact: %lld rows, head %s\n", (long long)res.rows, res.head);
		return EXIT_OK;
	}
	print_broken(&res, bad);
	json_decref(bad);
	return EXIT_RISK;
}

const struct cli_action cli_audit_actions[] = {
	{ "list", audit_list_action, "list audit rows (by date, object, limit)" },
	{ "verify", audit_verify_action, "recompute the hash chain; exit 1 on a bad row" },
	{ "head", audit_head_action, "print the latest hash, to keep elsewhere" },
	{ NULL, NULL, NULL },
};

/* Parse one option of `pinwatch audit` into @o: CLI_CONTINUE, or the EXIT_*
 * to return (the help printed, a usage error). */
static int audit_opt(struct audit_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_SINCE:
		if (util_parse_time(arg, &o->f.since))
			return cli_usage_error("audit", "--since: YYYY-MM-DD or "
							"YYYY-MM-DDTHH:MM:SSZ");
		return CLI_CONTINUE;
	case OPT_OBJECT: {
		const char *colon = strchr(arg, ':');
		size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
		if (n == 0 || n >= sizeof(o->objtype))
			return cli_usage_error("audit", "--object: TYPE[:ID]");
		memcpy(o->objtype, arg, n);
		o->objtype[n] = '\0';
		o->f.object_type = o->objtype;
		o->f.object_id = colon ? colon + 1 : NULL;
		return CLI_CONTINUE;
	}
	case OPT_LIMIT: {
		long long l;
		if (util_parse_int(arg, 1, 1000000000, &l))
			return cli_usage_error("audit", "--limit: a positive integer");
		o->f.limit = l;
		return CLI_CONTINUE;
	}
	case OPT_HEAD:
		if (!is_hash(arg))
			return cli_usage_error("audit", "--head: 64 lower-case hex digits");
		o->head = arg;
		return CLI_CONTINUE;
	case OPT_JSON:
		o->json = true;
		return CLI_CONTINUE;
	default:
		return cli_help_or_unknown(c, "audit", audit_usage);
	}
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = { { "since", required_argument, NULL, OPT_SINCE },
					      { "object", required_argument, NULL, OPT_OBJECT },
					      { "limit", required_argument, NULL, OPT_LIMIT },
					      { "head", required_argument, NULL, OPT_HEAD },
					      { "json", no_argument, NULL, OPT_JSON },
					      { "help", no_argument, NULL, 'h' },
					      CLI_GLOBAL_LONGOPTS,
					      { NULL, 0, NULL, 0 } };
	struct audit_opts o = { 0 };
	char names[128];
	int c, ex;

	const char *action;
	if ((ex = cli_action("audit", audit_usage, cli_audit_actions, NULL, &argc, &argv,
			     &action)) != CLI_CONTINUE)
		return ex;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&o.g, c, optarg))
			continue;
		if ((ex = audit_opt(&o, c, optarg)) != CLI_CONTINUE)
			return ex;
	}
	if (optind != argc)
		return cli_usage_error("audit", "unexpected argument '%s'", argv[optind]);
	const struct cli_action *a = cli_action_find(cli_audit_actions, action);
	if (!a)
		return cli_usage_error(
			"audit", "unknown action '%s' (%s)", action,
			cli_action_list(cli_audit_actions, ", ", names, sizeof(names)));
	if (o.head && strcmp(a->name, "verify"))
		return cli_usage_error("audit", "--head is an option of verify");
	return a->fn(&o, 0, NULL);
}
