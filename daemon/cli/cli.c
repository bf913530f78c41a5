#include "cli/cli.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "store/db.h"
#include "base/log.h"
#include "base/util.h"

int cli_global_opt(struct cli_global *g, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_DB:
		g->db_path = arg;
		return 1;
	case 'c':
		g->config_path = arg;
		return 1;
	default:
		return 0;
	}
}

const char *cli_config_path(const struct cli_global *g)
{
	static const char def[] = PINWATCH_SYSCONFDIR "/pinwatch.conf";
	if (g->config_path)
		return g->config_path;
	return access(def, R_OK) == 0 ? def : NULL;
}

const char *cli_db_path(struct cli_global *g)
{
	const char *path = g->db_path;
	if (!path)
		path = getenv("PINWATCH_DB");
	if (!path || !*path)
		path = g->cfg.storage_path;
	return path;
}

int cli_load_config(struct cli_global *g)
{
	char err[ERRLEN];
	const char *path = cli_config_path(g);

	if (g->cfg_loaded)
		return EXIT_OK;
	config_defaults(&g->cfg);
	if (!path) {
		g->cfg_loaded = true;
		return EXIT_OK;
	}
	if (config_load(&g->cfg, path, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	log_set_level((enum log_level)g->cfg.log_level);
	g->cfg_loaded = true;
	return EXIT_OK;
}

int cli_open_db(struct cli_global *g, unsigned flags, struct db **out)
{
	char err[ERRLEN];
	int rc = cli_load_config(g);
	if (rc)
		return rc;
	*out = db_open(cli_db_path(g), flags, err, sizeof(err));
	if (!*out) {
		log_err("%s", err);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cli_print_json(json_t *j)
{
	if (!j) {
		log_err("out of memory building JSON output");
		return EXIT_RUNTIME;
	}
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(j);
	if (rc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		log_err("writing JSON to stdout failed");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pinwatch %s: %s\nTry 'pinwatch %s --help'.\n", cmd, msg, cmd);
	return EXIT_USAGE;
}

const struct cli_action *cli_action_find(const struct cli_action *table, const char *name)
{
	for (const struct cli_action *a = table; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

const char *cli_action_list(const struct cli_action *table, const char *last, char *buf, size_t len)
{
	size_t off = 0;
	if (len)
		buf[0] = '\0';
	for (const struct cli_action *a = table; a->name && off < len; a++) {
		const char *sep = a == table ? "" : a[1].name ? ", " : last;
		int n = snprintf(buf + off, len - off, "%s%s", sep, a->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}

int cli_action(const char *cmd, const char *usage, const struct cli_action *actions,
	       const char *last, int *argc, char ***argv, const char **action)
{
	if (*argc < 2) {
		char names[256];
		if (last)
			return cli_usage_error(
				cmd, "missing action (%s)",
				cli_action_list(actions, last, names, sizeof(names)));
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp((*argv)[1], "--help") || !strcmp((*argv)[1], "-h")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	*action = (*argv)[1];
	(*argc)--;
	(*argv)++;
	optind = 0;
	return CLI_CONTINUE;
}

int cli_action_run(const char *cmd, const struct cli_action *table, const char *action,
		   bool list_unknown, void *opts, int npos, char **pos)
{
	const struct cli_action *a = cli_action_find(table, action);
	if (a)
		return a->fn(opts, npos, pos);
	if (!list_unknown)
		return cli_usage_error(cmd, "unknown action '%s'", action);
	char names[256];
	return cli_usage_error(cmd, "unknown action '%s' (%s)", action,
			       cli_action_list(table, ", ", names, sizeof(names)));
}

const struct cli_action_table cli_action_tables[] = {
	{ "webhook", cli_webhook_actions },   { "alert", cli_alert_actions },
	{ "audit", cli_audit_actions },	      { "endpoint", cli_endpoint_actions },
	{ "app", cli_app_actions },	      { "plan", cli_plan_actions },
	{ "token", cli_token_actions },	      { "candidate", cli_candidate_actions },
	{ "adoption", cli_adoption_actions }, { NULL, NULL },
};

/* A user name fit for the audit log: printable ASCII without spaces. */
static bool sane_user(const char *u)
{
	if (!u || !*u || strlen(u) > 64)
		return false;
	for (; *u; u++)
		if ((unsigned char)*u <= ' ' || (unsigned char)*u >= 0x7f)
			return false;
	return true;
}

const char *cli_actor(void)
{
	static char actor[96];
	if (!actor[0]) {
		/* $SUDO_USER is anyone's to set: it names the actor only when the
		 * process really runs as root under sudo (SUDO_UID agrees with the
		 * password database) and holds no control characters. */
		const char *user = getenv("SUDO_USER");
		const char *suid = getenv("SUDO_UID");
		struct passwd *pw = NULL;
		long long uid = -1;
		if (getuid() != 0 || geteuid() != 0 || !sane_user(user) || !suid ||
		    util_parse_int(suid, 0, UINT32_MAX, &uid) || !(pw = getpwnam(user)) ||
		    (long long)pw->pw_uid != uid)
			user = NULL;
		if (!user) {
			pw = getpwuid(getuid());
			user = pw && sane_user(pw->pw_name) ? pw->pw_name : NULL;
		}
		if (user)
			snprintf(actor, sizeof(actor), "cli:%s", user);
		else
			snprintf(actor, sizeof(actor), "cli:uid%u", (unsigned)getuid());
	}
	return actor;
}

int cli_help_or_unknown(int c, const char *cmd, const char *usage)
{
	if (c == 'h') {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	return cli_usage_error(cmd, "unknown option");
}
