/* pinwatch token: manage API bearer tokens. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/db.h"
#include "base/log.h"
#include "store/tokens.h"
#include "base/util.h"

static void token_usage(FILE *f)
{
	fprintf(f, "Usage: pinwatch token create NAME --role read|write|admin\n"
		   "       pinwatch token list [--json]\n"
		   "       pinwatch token revoke NAME\n\n"
		   "Manage the bearer tokens of the HTTP API. 'create' prints the token once;\n"
		   "only its SHA-256 is stored.\n\nOptions:\n"
		   "  -r, --role ROLE    read, write or admin (create)\n"
		   "      --json         JSON output (list)\n" CLI_GLOBAL_HELP
		   "  -h, --help         this help\n");
}

/* The options of `pinwatch token`, every action's. */
struct token_opts {
	struct cli_global g;
	const char *role_s;
	bool json;
};

static int token_create_action(void *arg, int npos, char **pos)
{
	struct token_opts *o = arg;
	const char *name = npos ? pos[0] : NULL;
	enum token_role role = TOKEN_NONE;
	struct db *db = NULL;
	char err[ERRLEN], tok[TOKEN_LEN];

	if (!name)
		return cli_usage_error("token", "create needs a NAME");
	if (tokens_check_name(name))
		return cli_usage_error("token", "NAME must be 1-%d characters of A-Z a-z 0-9 . _ -",
				       TOKEN_NAME_MAX);
	if (!o->role_s || tokens_parse_role(o->role_s, &role))
		return cli_usage_error("token", "create needs --role read, write or admin");
	int rc = cli_open_db(&o->g, 0, &db);
	if (rc)
		return rc;
	int r = tokens_create(db, name, role, cli_actor(), tok, sizeof(tok), err, sizeof(err));
	if (r == 0) {
		printf("%s\n", tok);
		fflush(stdout);
		memset(tok, 0, sizeof(tok));
		log_info("token '%s' created with role %s; it is shown only once", name,
			 tokens_role_name(role));
	} else {
		log_err("token create: %s", err);
		rc = r == -EEXIST || r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	db_close(db);
	return rc;
}

static int token_revoke_action(void *arg, int npos, char **pos)
{
	struct token_opts *o = arg;
	struct db *db = NULL;
	char err[ERRLEN];

	if (!npos)
		return cli_usage_error("token", "revoke needs a NAME");
	int rc = cli_open_db(&o->g, 0, &db);
	if (rc)
		return rc;
	int r = tokens_revoke(db, pos[0], cli_actor(), err, sizeof(err));
	if (r) {
		log_err("token revoke: %s", err);
		rc = r == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
	}
	db_close(db);
	return rc;
}

static void print_tokens(json_t *list)
{
	size_t i;
	json_t *t;
	printf("%-24s %-6s %-21s %-21s %s\n", "NAME", "ROLE", "CREATED", "LAST USED", "REVOKED");
	json_array_foreach(list, i, t)
	{
		const char *lu = json_string_value(json_object_get(t, "last_used_at"));
		const char *rv = json_string_value(json_object_get(t, "revoked_at"));
		printf("%-24s %-6s %-21s %-21s %s\n", json_string_value(json_object_get(t, "name")),
		       json_string_value(json_object_get(t, "role")),
		       json_string_value(json_object_get(t, "created_at")), lu ? lu : "-",
		       rv ? rv : "-");
	}
}

static int token_list_action(void *arg, int npos, char **pos)
{
	struct token_opts *o = arg;
	struct db *db = NULL;
	char err[ERRLEN];

	(void)pos;
	if (npos)
		return cli_usage_error("token", "list takes no NAME");
	int rc = cli_open_db(&o->g, 0, &db);
	if (rc)
		return rc;
	json_t *list = tokens_list(db, err, sizeof(err));
	if (!list) {
		log_err("token list: %s", err);
		rc = EXIT_RUNTIME;
	} else if (o->json) {
		rc = cli_print_json(list);
	} else {
		print_tokens(list);
		json_decref(list);
	}
	db_close(db);
	return rc;
}

const struct cli_action cli_token_actions[] = {
	{ "create", token_create_action, "create a token with a role; print it once" },
	{ "list", token_list_action, "list tokens (never their secrets)" },
	{ "revoke", token_revoke_action, "revoke a token" },
	{ NULL, NULL, NULL },
};

int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct token_opts o = { 0 };
	char names[128];
	int opt;

	while ((opt = getopt_long(argc, argv, "r:c:h", opts, NULL)) != -1) {
		if (cli_global_opt(&o.g, opt, optarg))
			continue;
		switch (opt) {
		case 'r':
			o.role_s = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			token_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("token", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(
			"token", "missing action (%s)",
			cli_action_list(cli_token_actions, " or ", names, sizeof(names)));
	const char *action = argv[optind++];
	if (argc - optind > 1)
		return cli_usage_error("token", "unexpected argument '%s'", argv[optind + 1]);
	return cli_action_run("token", cli_token_actions, action, false, &o, argc - optind,
			      argv + optind);
}
