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
	struct cli_global g = { 0 };
	struct audit_filter f = { 0 };
	const char *head = NULL;
	char objtype[65] = "", err[ERRLEN];
	bool json = false;
	int c, ex, rc;

	const char *action;
	if ((ex = cli_action("audit", audit_usage, NULL, &argc, &argv, &action)) != CLI_CONTINUE)
		return ex;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_SINCE:
			if (util_parse_time(optarg, &f.since))
				return cli_usage_error("audit", "--since: YYYY-MM-DD or "
								"YYYY-MM-DDTHH:MM:SSZ");
			break;
		case OPT_OBJECT: {
			const char *colon = strchr(optarg, ':');
			size_t n = colon ? (size_t)(colon - optarg) : strlen(optarg);
			if (n == 0 || n >= sizeof(objtype))
				return cli_usage_error("audit", "--object: TYPE[:ID]");
			memcpy(objtype, optarg, n);
			objtype[n] = '\0';
			f.object_type = objtype;
			f.object_id = colon ? colon + 1 : NULL;
			break;
		}
		case OPT_LIMIT: {
			long long l;
			if (util_parse_int(optarg, 1, 1000000000, &l))
				return cli_usage_error("audit", "--limit: a positive integer");
			f.limit = l;
			break;
		}
		case OPT_HEAD:
			if (!is_hash(optarg))
				return cli_usage_error("audit", "--head: 64 lower-case hex digits");
			head = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			fputs(audit_usage, stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("audit", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("audit", "unexpected argument '%s'", argv[optind]);
	bool is_list = !strcmp(action, "list"), is_verify = !strcmp(action, "verify");
	if (!is_list && !is_verify && strcmp(action, "head"))
		return cli_usage_error("audit", "unknown action '%s' (list, verify, head)", action);
	if (head && !is_verify)
		return cli_usage_error("audit", "--head is an option of verify");
	struct db *db = NULL;
	if ((ex = cli_open_db(&g, DB_NO_CREATE, &db)))
		return ex;
	if (is_list) {
		json_t *rows = NULL;
		rc = audit_list(db, &f, &rows, err, sizeof(err));
		db_close(db);
		if (rc) {
			log_err("audit list: %s", err);
			return EXIT_RUNTIME;
		}
		return json ? cli_print_json(rows) : print_rows(rows);
	}
	if (!is_verify) {
		char h[AUDIT_HASH_HEX];
		int64_t count = 0;
		rc = audit_head(db, h, &count, err, sizeof(err));
		db_close(db);
		if (rc) {
			log_err("audit head: %s", err);
			return EXIT_RUNTIME;
		}
		if (json)
			return cli_print_json(
				json_pack("{ss sI}", "head", h, "rows", (json_int_t)count));
		printf("%s\n", h);
		return EXIT_OK;
	}
	struct audit_verify_result res;
	json_t *bad = NULL;
	rc = audit_verify(db, head, &res, err, sizeof(err));
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
	if (json) {
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
	if (res.bad_id)
		printf("audit log BROKEN at row %lld: %s\n", (long long)res.bad_id, res.reason);
	else
		printf("audit log BROKEN: %s\n", res.reason);
	if (bad) {
		json_t *arr = json_array();
		if (arr && json_array_append(arr, bad) == 0) {
			printf("first bad row:\n");
			print_rows(arr); /* steals arr */
		} else {
			json_decref(arr);
		}
		json_decref(bad);
	}
	return EXIT_RISK;
}
