/* pinwatch webhook ... and pinwatch alert ... */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "signals/reports.h"
#include "cli/cli.h"
#include "store/db.h"
#include "base/log.h"
#include "base/util.h"
#include "alerts/webhook.h"

static const char webhook_usage[] =
	"Usage: pinwatch webhook add URL --format generic|slack (--secret S | --secret-file F)\n"
	"                            [--min-severity info|warning|critical]\n"
	"       pinwatch webhook list [--json]\n"
	"       pinwatch webhook remove ID\n"
	"       pinwatch webhook test ID\n"
	"       pinwatch webhook flush\n"
	"       pinwatch webhook outbox [--json] [--given-up]\n"
	"       pinwatch webhook retry OUTBOX-ID\n\n"
	"Webhooks receive alert notifications as JSON POSTs signed with\n"
	"X-Pinwatch-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>.\n"
	"'test' sends one test notification now; 'flush' delivers due outbox rows now\n"
	"(the daemon does this by itself). 'outbox' lists queued and given-up\n"
	"notifications with their last error; 'retry' queues a given-up one again.\n"
	"Secrets and URL paths are never listed.\n\n"
	"Options:\n"
	"      --format F        generic (Alertmanager-like) or slack (default generic)\n"
	"      --secret S        HMAC key (visible in the process list: prefer --secret-file)\n"
	"      --secret-file F   read the HMAC key from F (mode 0600, first line)\n"
	"      --min-severity S  least severity sent (default warning)\n"
	"      --json            machine-readable output\n" CLI_GLOBAL_HELP;

static const char alert_usage[] =
	"Usage: pinwatch alert list [--json] [--all] [--limit N]\n"
	"       pinwatch alert silence (FINGERPRINT | --endpoint HOST[:PORT]) --for DURATION\n"
	"                              --reason TEXT\n"
	"       pinwatch alert unsilence ID\n"
	"       pinwatch alert silences [--json]\n"
	"       pinwatch alert evaluate [--json]\n\n"
	"'list' shows firing alerts (--all: resolved ones too). A silence stops\n"
	"notifications for one alert or for every alert of one endpoint until it ends;\n"
	"alert state is still tracked. Silences are recorded in the audit log.\n"
	"'evaluate' re-evaluates every alert now and queues the notifications (the\n"
	"daemon does this after each sweep and inventory change).\n\n"
	"Options:\n"
	"      --for DURATION    how long, e.g. 90m, 24h, 7d\n"
	"      --reason TEXT     why (required)\n" CLI_GLOBAL_HELP;

static int parse_id(const char *cmd, const char *s, int64_t *id)
{
	long long v;
	if (!s || util_parse_int(s, 1, INT64_MAX, &v))
		return cli_usage_error(cmd, "expected a numeric ID, got '%s'", s ? s : "");
	*id = v;
	return 0;
}

/* The one ID operand of `pinwatch CMD ACTION ID` (@missing: the usage error
 * without it) and the database. EXIT_*. */
static int id_operand_db(struct cli_global *g, const char *cmd, const char *missing, int npos,
			 char **pos, int64_t *id, struct db **db)
{
	int rc;
	if (npos != 1)
		return cli_usage_error(cmd, "%s", missing);
	if ((rc = parse_id(cmd, pos[0], id)))
		return rc;
	return cli_open_db(g, 0, db);
}

/* No operands (`pinwatch CMD ACTION` alone), then the database; EXIT_*. */
static int no_operands_db(struct cli_global *g, const char *cmd, const char *action, int npos,
			  unsigned flags, struct db **db)
{
	if (npos)
		return cli_usage_error(cmd, "%s takes no arguments", action);
	return cli_open_db(g, flags, db);
}

/* Close @db after an action's store call; @rc's error is logged as "@what:
 * @err" and is EXIT_RUNTIME, or @enoent_exit for -ENOENT. EXIT_*. */
static int action_done(struct db *db, int rc, const char *what, const char *err, int enoent_exit)
{
	db_close(db);
	if (!rc)
		return EXIT_OK;
	log_err("%s: %s", what, err);
	return rc == -ENOENT ? enoent_exit : EXIT_RUNTIME;
}

/* A listing action: no operands, then the database; @fetch fills the JSON
 * array (its error logged as "@cmd @action: ..."), printed as JSON with
 * --json, else as a table by @print. EXIT_*. */
typedef int (*list_fetch_fn)(struct db *db, const void *opts, json_t **arr, char *err,
			     size_t errlen);
static int list_action(struct cli_global *g, const char *cmd, const char *action, int npos,
		       unsigned flags, bool json, list_fetch_fn fetch, const void *opts,
		       void (*print)(json_t *arr))
{
	char err[ERRLEN], what[64];
	struct db *db = NULL;
	json_t *arr = NULL;
	int rc = no_operands_db(g, cmd, action, npos, flags, &db);
	if (rc)
		return rc;
	rc = fetch(db, opts, &arr, err, sizeof(err));
	snprintf(what, sizeof(what), "%s %s", cmd, action);
	if ((rc = action_done(db, rc, what, err, EXIT_RUNTIME)))
		return rc;
	if (json)
		return cli_print_json(arr);
	print(arr);
	json_decref(arr);
	return EXIT_OK;
}

static int read_secret_file(const char *path, char *out, size_t outlen)
{
	char err[ERRLEN], *buf = NULL;
	size_t len;
	if (config_check_secret_file(path, err, sizeof(err))) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	int rc = util_read_file(path, 4096, &buf, &len);
	if (rc) {
		log_err("%s: %s", path, strerror(-rc));
		return EXIT_USAGE;
	}
	buf[strcspn(buf, "\r\n")] = 0;
	if (strlen(buf) >= outlen) {
		free(buf);
		log_err("%s: secret too long", path);
		return EXIT_USAGE;
	}
	snprintf(out, outlen, "%s", buf);
	explicit_bzero(buf, len);
	free(buf);
	return EXIT_OK;
}

static void fmt_opt_time(json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		util_fmt_time((time_t)json_integer_value(v), buf, len);
	else
		snprintf(buf, len, "-");
}

/* Untrusted text (summaries name certificates and hosts) on a terminal. */
static const char *esc(const char *s, char *buf, size_t len)
{
	return log_escape(s ? s : "", buf, len);
}

/* The options of `pinwatch webhook`, every action's. */
struct webhook_opts {
	struct cli_global g;
	const char *format, *secret, *secret_file, *minsev;
	bool json, given_up_only;
};

static int webhook_add_action(void *arg, int npos, char **pos)
{
	struct webhook_opts *o = arg;
	char secret_buf[WEBHOOK_SECRET_MAX + 2], err[ERRLEN];
	const char *secret = o->secret;
	enum webhook_format fmt;
	struct db *db = NULL;
	int64_t id = 0;
	int rc;

	if (npos != 1)
		return cli_usage_error("webhook", "add needs exactly one URL");
	if (webhook_format_parse(o->format, &fmt))
		return cli_usage_error("webhook", "--format must be generic or slack");
	if (!!o->secret == !!o->secret_file)
		return cli_usage_error("webhook", "give one of --secret or --secret-file");
	if (o->secret_file) {
		if ((rc = read_secret_file(o->secret_file, secret_buf, sizeof(secret_buf))))
			return rc;
		secret = secret_buf;
	}
	if (webhook_url_check(pos[0], err, sizeof(err)))
		return cli_usage_error("webhook", "%s", err);
	if ((rc = cli_open_db(&o->g, 0, &db)))
		return rc;
	rc = webhook_add(db, cli_actor(), pos[0], fmt, secret, o->minsev, util_now(), &id, err,
			 sizeof(err));
	explicit_bzero(secret_buf, sizeof(secret_buf));
	db_close(db);
	if (rc) {
		log_err("webhook add: %s", err);
		return rc == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	printf("webhook %lld added\n", (long long)id);
	return EXIT_OK;
}

static int webhook_list_action_fetch(struct db *db, const void *opts, json_t **arr, char *err,
				     size_t errlen)
{
	const struct webhook_opts *o = opts;
	(void)o;
	return webhook_list_json(db, arr, err, errlen);
}

static void webhook_list_action_print(json_t *arr)
{
	size_t i;
	json_t *w;
	printf("%-4s %-8s %-9s %-8s %-8s %-8s %s\n", "ID", "FORMAT", "MIN-SEV", "ENABLED",
	       "PENDING", "GAVE-UP", "URL");
	json_array_foreach(arr, i, w)
	{
		printf("%-4lld %-8s %-9s %-8s %-8lld %-8lld %s\n",
		       (long long)json_integer_value(json_object_get(w, "id")),
		       json_string_value(json_object_get(w, "format")),
		       json_string_value(json_object_get(w, "min_severity")),
		       json_is_true(json_object_get(w, "enabled")) ? "yes" : "no",
		       (long long)json_integer_value(json_object_get(w, "pending")),
		       (long long)json_integer_value(json_object_get(w, "given_up")),
		       json_string_value(json_object_get(w, "url")));
	}
}

static int webhook_list_action(void *arg, int npos, char **pos)
{
	struct webhook_opts *o = arg;
	(void)pos;
	return list_action(&o->g, "webhook", "list", npos, 0, o->json, webhook_list_action_fetch, o,
			   webhook_list_action_print);
}

static int webhook_remove_action(void *arg, int npos, char **pos)
{
	struct webhook_opts *o = arg;
	char err[ERRLEN];
	struct db *db = NULL;
	int64_t id = 0;
	int rc =
		id_operand_db(&o->g, "webhook", "remove needs one webhook ID", npos, pos, &id, &db);
	if (rc)
		return rc;
	rc = webhook_remove(db, cli_actor(), id, err, sizeof(err));
	if ((rc = action_done(db, rc, "webhook remove", err, EXIT_USAGE)))
		return rc;
	printf("webhook %lld removed\n", (long long)id);
	return EXIT_OK;
}

static int webhook_test_action(void *arg, int npos, char **pos)
{
	struct webhook_opts *o = arg;
	char err[ERRLEN];
	struct db *db = NULL;
	int64_t id = 0;
	long status = 0;
	int rc = id_operand_db(&o->g, "webhook", "test needs one webhook ID", npos, pos, &id, &db);
	if (rc)
		return rc;
	rc = webhook_test(db, &o->g.cfg, id, &status, err, sizeof(err));
	if ((rc = action_done(db, rc, "webhook test", err, EXIT_USAGE)))
		return rc;
	printf("webhook %lld answered HTTP %ld\n", (long long)id, status);
	return EXIT_OK;
}

static int webhook_flush_action(void *arg, int npos, char **pos)
{
	struct webhook_opts *o = arg;
	char err[ERRLEN];
	struct db *db = NULL;
	int delivered = 0, rc;

	(void)pos;
	if ((rc = no_operands_db(&o->g, "webhook", "flush", npos, 0, &db)))
		return rc;
	rc = webhook_deliver_due(db, &o->g.cfg, util_now(), &delivered, err, sizeof(err));
	int64_t pending = 0, given_up = 0;
	(void)webhook_outbox_counts(db, &pending, &given_up);
	if ((rc = action_done(db, rc, "webhook flush", err, EXIT_RUNTIME)))
		return rc;
	printf("delivered %d, pending %lld, given up %lld\n", delivered, (long long)pending,
	       (long long)given_up);
	return EXIT_OK;
}

static int webhook_outbox_action_fetch(struct db *db, const void *opts, json_t **arr, char *err,
				       size_t errlen)
{
	const struct webhook_opts *o = opts;
	return webhook_outbox_json(db, o->given_up_only ? "given_up" : NULL, 1000, arr, err,
				   errlen);
}

static void webhook_outbox_action_print(json_t *arr)
{
	size_t i;
	json_t *r;
	char t[32], e[1024];
	printf("%-6s %-8s %-9s %-8s %-20s %s\n", "ID", "WEBHOOK", "STATE", "ATTEMPTS",
	       "NEXT-ATTEMPT", "LAST-ERROR");
	json_array_foreach(arr, i, r)
	{
		fmt_opt_time(json_object_get(r, "next_attempt_at"), t, sizeof(t));
		printf("%-6lld %-8lld %-9s %-8lld %-20s %s\n",
		       (long long)json_integer_value(json_object_get(r, "id")),
		       (long long)json_integer_value(json_object_get(r, "webhook_id")),
		       json_string_value(json_object_get(r, "state")),
		       (long long)json_integer_value(json_object_get(r, "attempts")), t,
		       esc(json_string_value(json_object_get(r, "last_error")), e, sizeof(e)));
	}
}

static int webhook_outbox_action(void *arg, int npos, char **pos)
{
	struct webhook_opts *o = arg;
	(void)pos;
	return list_action(&o->g, "webhook", "outbox", npos, DB_NO_CREATE, o->json,
			   webhook_outbox_action_fetch, o, webhook_outbox_action_print);
}

static int webhook_retry_action(void *arg, int npos, char **pos)
{
	struct webhook_opts *o = arg;
	char err[ERRLEN];
	struct db *db = NULL;
	int64_t id = 0;
	int rc = id_operand_db(&o->g, "webhook", "retry needs one outbox ID", npos, pos, &id, &db);
	if (rc)
		return rc;
	rc = webhook_outbox_retry(db, cli_actor(), id, util_now(), err, sizeof(err));
	if ((rc = action_done(db, rc, "webhook retry", err, EXIT_USAGE)))
		return rc;
	printf("outbox row %lld queued again\n", (long long)id);
	return EXIT_OK;
}

const struct cli_action cli_webhook_actions[] = {
	{ "add", webhook_add_action, "add a webhook (URL, format, secret)" },
	{ "list", webhook_list_action, "list webhooks with their outbox counts" },
	{ "remove", webhook_remove_action, "remove a webhook" },
	{ "test", webhook_test_action, "send one test notification now" },
	{ "flush", webhook_flush_action, "deliver due outbox rows now" },
	{ "outbox", webhook_outbox_action, "list queued and given-up notifications" },
	{ "retry", webhook_retry_action, "queue a given-up notification again" },
	{ NULL, NULL, NULL },
};

int cmd_webhook(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "secret", required_argument, NULL, 's' },
		{ "secret-file", required_argument, NULL, 'S' },
		{ "min-severity", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "given-up", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct webhook_opts o = { .format = "generic" };
	int opt, rc;

	const char *action;
	if ((rc = cli_action("webhook", webhook_usage, cli_webhook_actions, ", ", &argc, &argv,
			     &action)) != CLI_CONTINUE)
		return rc;
	/* A receiver closing early must not kill us (libcurl runs with NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (cli_global_opt(&o.g, opt, optarg))
			continue;
		switch (opt) {
		case 'f':
			o.format = optarg;
			break;
		case 's':
			o.secret = optarg;
			break;
		case 'S':
			o.secret_file = optarg;
			break;
		case 'm':
			o.minsev = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'g':
			o.given_up_only = true;
			break;
		default:
			return cli_help_or_unknown(opt, "webhook", webhook_usage);
		}
	}
	return cli_action_run("webhook", cli_webhook_actions, action, false, &o, argc - optind,
			      argv + optind);
}

/* The options of `pinwatch alert`, every action's. */
struct alert_opts {
	struct cli_global g;
	const char *endpoint, *dur, *reason;
	bool json, all;
	long long limit;
};

static int alert_list_action_fetch(struct db *db, const void *opts, json_t **arr, char *err,
				   size_t errlen)
{
	const struct alert_opts *o = opts;
	return alerts_list_json(db, o->all, (int)o->limit, util_now(), arr, err, errlen);
}

static void alert_list_action_print(json_t *arr)
{
	char b1[32], b2[32], e1[256], e2[1024];
	size_t i;
	json_t *a;
	printf("%-5s %-9s %-8s %-20s %-20s %-30s %s\n", "ID", "STATUS", "SEVERITY", "STARTS",
	       "ENDS", "FINGERPRINT", "SUMMARY");
	json_array_foreach(arr, i, a)
	{
		fmt_opt_time(json_object_get(a, "starts_at"), b1, sizeof(b1));
		fmt_opt_time(json_object_get(a, "ends_at"), b2, sizeof(b2));
		printf("%-5lld %-9s %-8s %-20s %-20s %-30s %s%s\n",
		       (long long)json_integer_value(json_object_get(a, "id")),
		       json_string_value(json_object_get(a, "status")),
		       json_string_value(json_object_get(a, "severity")), b1, b2,
		       esc(json_string_value(json_object_get(a, "fingerprint")), e1, sizeof(e1)),
		       esc(json_string_value(json_object_get(a, "summary")), e2, sizeof(e2)),
		       json_is_true(json_object_get(a, "silenced")) ? " (silenced)" : "");
	}
}

static int alert_list_action(void *arg, int npos, char **pos)
{
	struct alert_opts *o = arg;
	(void)pos;
	return list_action(&o->g, "alert", "list", npos, DB_NO_CREATE, o->json,
			   alert_list_action_fetch, o, alert_list_action_print);
}

static int alert_silence_action(void *arg, int npos, char **pos)
{
	struct alert_opts *o = arg;
	int64_t secs, eid = 0, id = 0;
	char err[ERRLEN];
	struct db *db = NULL;
	int rc;

	if ((npos == 1) == (o->endpoint != NULL) || npos > 1)
		return cli_usage_error("alert", "give one FINGERPRINT or --endpoint HOST");
	if (!o->dur || util_parse_duration(o->dur, &secs))
		return cli_usage_error("alert", "--for DURATION is required (e.g. 24h)");
	if (!o->reason || !*o->reason)
		return cli_usage_error("alert", "--reason TEXT is required");
	if ((rc = cli_open_db(&o->g, 0, &db)))
		return rc;
	time_t now = util_now();
	if (o->endpoint && (rc = alerts_endpoint_lookup(db, o->endpoint, &eid, err, sizeof(err)))) {
		db_close(db);
		log_err("alert silence: %s", err);
		return rc == -EIO ? EXIT_RUNTIME : EXIT_USAGE;
	}
	rc = alerts_silence_add(db, cli_actor(), npos ? pos[0] : NULL, eid, now + secs, o->reason,
				now, &id, err, sizeof(err));
	db_close(db);
	if (rc) {
		log_err("alert silence: %s", err);
		return rc == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	char until[32];
	printf("silence %lld until %s\n", (long long)id,
	       util_fmt_time(now + secs, until, sizeof(until)));
	return EXIT_OK;
}

static int alert_unsilence_action(void *arg, int npos, char **pos)
{
	struct alert_opts *o = arg;
	char err[ERRLEN];
	struct db *db = NULL;
	int64_t id = 0;
	int rc = id_operand_db(&o->g, "alert", "unsilence needs one silence ID", npos, pos, &id,
			       &db);
	if (rc)
		return rc;
	rc = alerts_silence_remove(db, cli_actor(), id, util_now(), err, sizeof(err));
	if ((rc = action_done(db, rc, "alert unsilence", err, EXIT_USAGE)))
		return rc;
	printf("silence %lld ended\n", (long long)id);
	return EXIT_OK;
}

static int alert_silences_action_fetch(struct db *db, const void *opts, json_t **arr, char *err,
				       size_t errlen)
{
	const struct alert_opts *o = opts;
	(void)o;
	return alerts_silences_json(db, util_now(), arr, err, errlen);
}

static void alert_silences_action_print(json_t *arr)
{
	size_t i;
	json_t *s;
	char until[32], e1[256], e2[2048];
	printf("%-5s %-20s %-40s %s\n", "ID", "UNTIL", "MATCHES", "REASON");
	json_array_foreach(arr, i, s)
	{
		fmt_opt_time(json_object_get(s, "until"), until, sizeof(until));
		const char *m = json_string_value(json_object_get(s, "fingerprint"));
		if (!m)
			m = json_string_value(json_object_get(s, "endpoint"));
		printf("%-5lld %-20s %-40s %s\n",
		       (long long)json_integer_value(json_object_get(s, "id")), until,
		       esc(m, e1, sizeof(e1)),
		       esc(json_string_value(json_object_get(s, "reason")), e2, sizeof(e2)));
	}
}

static int alert_silences_action(void *arg, int npos, char **pos)
{
	struct alert_opts *o = arg;
	(void)pos;
	return list_action(&o->g, "alert", "silences", npos, DB_NO_CREATE, o->json,
			   alert_silences_action_fetch, o, alert_silences_action_print);
}

static int alert_evaluate_action(void *arg, int npos, char **pos)
{
	struct alert_opts *o = arg;
	struct alerts_result r;
	char err[ERRLEN];
	struct db *db = NULL;
	int rc;

	(void)pos;
	if ((rc = no_operands_db(&o->g, "alert", "evaluate", npos, 0, &db)))
		return rc;
	rc = alerts_evaluate(db, &o->g.cfg, util_now(), &reports_alerts_source, &r, err,
			     sizeof(err));
	if ((rc = action_done(db, rc, "alert evaluate", err, EXIT_RUNTIME)))
		return rc;
	if (o->json)
		return cli_print_json(json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "opened",
						r.opened, "resolved", r.resolved, "changed",
						r.changed, "repeated", r.repeated, "notifications",
						r.notifications, "silenced", r.silenced));
	printf("opened %d, resolved %d, changed %d, repeated %d; %d notification(s) queued,"
	       " %d silenced\n",
	       r.opened, r.resolved, r.changed, r.repeated, r.notifications, r.silenced);
	return EXIT_OK;
}

const struct cli_action cli_alert_actions[] = {
	{ "list", alert_list_action, "list firing alerts (--all: resolved ones too)" },
	{ "silence", alert_silence_action, "silence an alert or an endpoint's alerts" },
	{ "unsilence", alert_unsilence_action, "end a silence" },
	{ "silences", alert_silences_action, "list active silences" },
	{ "evaluate", alert_evaluate_action, "re-evaluate every alert now" },
	{ NULL, NULL, NULL },
};

int cmd_alert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'l' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "for", required_argument, NULL, 'F' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct alert_opts o = { .limit = 1000 };
	int opt, rc;

	const char *action;
	if ((rc = cli_action("alert", alert_usage, cli_alert_actions, ", ", &argc, &argv,
			     &action)) != CLI_CONTINUE)
		return rc;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (cli_global_opt(&o.g, opt, optarg))
			continue;
		switch (opt) {
		case 'j':
			o.json = true;
			break;
		case 'a':
			o.all = true;
			break;
		case 'l':
			if (util_parse_int(optarg, 1, 100000, &o.limit))
				return cli_usage_error("alert", "--limit must be 1..100000");
			break;
		case 'e':
			o.endpoint = optarg;
			break;
		case 'F':
			o.dur = optarg;
			break;
		case 'r':
			o.reason = optarg;
			break;
		default:
			return cli_help_or_unknown(opt, "alert", alert_usage);
		}
	}
	return cli_action_run("alert", cli_alert_actions, action, false, &o, argc - optind,
			      argv + optind);
}
