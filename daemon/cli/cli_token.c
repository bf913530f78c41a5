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

int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		CLI_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_global g = { 0 };
	const char *role_s = NULL;
	bool json = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "r:c:h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, opt, optarg))
			continue;
		switch (opt) {
		case 'r':
			role_s = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			token_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("token", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("token", "missing action (create, list or revoke)");
	const char *action = argv[optind++];
	const char *name = optind < argc ? argv[optind++] : NULL;
	if (optind < argc)
		return cli_usage_error("token", "unexpected argument '%s'", argv[optind]);

	enum token_role role = TOKEN_NONE;
	if (strcmp(action, "create") == 0) {
		if (!name)
			return cli_usage_error("token", "create needs a NAME");
		if (tokens_check_name(name))
			return cli_usage_error("token",
					       "NAME must be 1-%d characters of A-Z a-z 0-9 . _ -",
					       TOKEN_NAME_MAX);
		if (!role_s || tokens_parse_role(role_s, &role))
			return cli_usage_error("token", "create needs --role read, write or admin");
	} else if (strcmp(action, "revoke") == 0) {
		if (!name)
			return cli_usage_error("token", "revoke needs a NAME");
	} else if (strcmp(action, "list") == 0) {
		if (name)
			return cli_usage_error("token", "list takes no NAME");
	} else {
		return cli_usage_error("token", "unknown action '%s'", action);
	}

	struct db *db = NULL;
	int rc = cli_open_db(&g, 0, &db);
	if (rc)
		return rc;
	char err[ERRLEN];
	if (strcmp(action, "create") == 0) {
		char tok[TOKEN_LEN];
		int r = tokens_create(db, name, role, cli_actor(), tok, sizeof(tok), err,
				      sizeof(err));
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
	} else if (strcmp(action, "revoke") == 0) {
		int r = tokens_revoke(db, name, cli_actor(), err, sizeof(err));
		if (r) {
			log_err("token revoke: %s", err);
			rc = r == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
		}
	} else {
		json_t *list = tokens_list(db, err, sizeof(err));
		if (!list) {
			log_err("token list: %s", err);
			rc = EXIT_RUNTIME;
		} else if (json) {
			rc = cli_print_json(list);
		} else {
			size_t i;
			json_t *t;
			printf("%-24s %-6s %-21s %-21s %s\n", "NAME", "ROLE", "CREATED",
			       "LAST USED", "REVOKED");
			json_array_foreach(list, i, t)
			{
				const char *lu =
					json_string_value(json_object_get(t, "last_used_at"));
				const char *rv =
					json_string_value(json_object_get(t, "revoked_at"));
				printf("%-24s %-6s %-21s %-21s %s\n",
				       json_string_value(json_object_get(t, "name")),
				       json_string_value(json_object_get(t, "role")),
				       json_string_value(json_object_get(t, "created_at")),
				       lu ? lu : "-", rv ? rv : "-");
			}
			json_decref(list);
		}
	}
	db_close(db);
	return rc;
}
