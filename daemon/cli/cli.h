/* Shared plumbing of the subcommands: global options, exit codes, opening
 * the database, printing JSON. Each subcommand lives in a cmd_<name> function
 * declared here and defined in the module it belongs to (cli_<area>.c).
 */
#ifndef PINWATCH_CLI_H
#define PINWATCH_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "build_config.h"
#include "base/config.h"

struct db;

/** Exit codes of every subcommand (README.md "Subcommands"). */
enum {
	EXIT_OK = 0,
	EXIT_RISK = 1,	  /**< check/whatif/lint found a risk; audit verify found tampering */
	EXIT_USAGE = 2,	  /**< bad usage or bad input */
	EXIT_RUNTIME = 3, /**< database, network or other runtime failure */
};

/** Options every database-touching subcommand accepts. */
struct cli_global {
	const char *db_path;	 /**< --db, else $PINWATCH_DB, else [storage] path */
	const char *config_path; /**< -c/--config */
	struct config cfg;	 /**< loaded by cli_load_config() */
	bool cfg_loaded;
};

/** Long options to append to a subcommand's table (values 'c' and 0x100). */
#define CLI_OPT_DB 0x100
#define CLI_GLOBAL_LONGOPTS                            \
	{ "db", required_argument, NULL, CLI_OPT_DB }, \
	{                                              \
		"config", required_argument, NULL, 'c' \
	}
#define CLI_GLOBAL_HELP                                                           \
	"  -c, --config FILE  daemon configuration (default " PINWATCH_SYSCONFDIR \
	"/pinwatch.conf)\n"                                                       \
	"      --db PATH      database (else $PINWATCH_DB, else the config's [storage] path)\n"

/** Handle a global option returned by getopt_long; 1 if it was one, else 0. */
int cli_global_opt(struct cli_global *g, int opt, const char *arg);

/**
 * Load the configuration: -c FILE if given (a missing file is an error), else
 * the default path if it exists, else built-in defaults. Returns an EXIT_*.
 */
int cli_load_config(struct cli_global *g);

/**
 * The configuration file @g names: -c FILE, else the default path
 * (PINWATCH_SYSCONFDIR/pinwatch.conf) if it is readable, else NULL (built-in
 * defaults). Returns @g's string or a static one.
 */
const char *cli_config_path(const struct cli_global *g);

/** Open the database chosen by @g with @flags (db.h). Prints the error. Returns EXIT_*. */
int cli_open_db(struct cli_global *g, unsigned flags, struct db **out);

/** Print @j (stolen) to stdout, indented, with a newline. Returns EXIT_OK or EXIT_RUNTIME. */
int cli_print_json(json_t *j);

struct import_policies;
/** Pin policies of an importer as inventory JSON (with override_anchors when
 * set); NULL on allocation failure. For --dry-run. */
json_t *cli_policies_json(const struct import_policies *r);

/** The options every import-* command takes (cli_import_args()). */
#define CLI_IMPORT_MAX_BACKUP 64
struct cli_import_args {
	struct cli_global g;
	const char *app, *version;		   /**< --app (required), --version (may be NULL) */
	bool dry;				   /**< --dry-run */
	uint8_t backup[CLI_IMPORT_MAX_BACKUP][32]; /**< --backup-pin */
	size_t nbackup;
};
/**
 * Parse --app, --version, --backup-pin, --dry-run, --help (calls @help with
 * @help_arg, EXIT_OK) and the global options of `pinwatch @cmd`. CLI_CONTINUE
 * with the file operands at argv[optind..], or the EXIT_* to return.
 */
int cli_import_args(const char *cmd, int argc, char **argv, struct cli_import_args *a,
		    void (*help)(const void *), const void *help_arg);

/** Print a usage error "pinwatch CMD: MSG" and the hint to use --help. Returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** cli_action() result: the action's options and arguments remain to be parsed. */
#define CLI_CONTINUE (-1)

/** The end of an option switch: -h/--help (@c 'h') prints @usage and is
 * EXIT_OK; any other option is a usage error of `pinwatch @cmd`. */
int cli_help_or_unknown(int c, const char *cmd, const char *usage);

/**
 * One action of a command with actions (`pinwatch alert list`): its word, the
 * function that runs it and a one-line summary. A command's table ends with a
 * row whose name is NULL. @fn gets the command's options (its own struct, as
 * the command passes it) and what is left of the command line: the operands
 * after the options, or, for actions that parse their own options, the
 * action's argv (argv[0] the action word). It returns an EXIT_* code.
 */
struct cli_action {
	const char *name;
	int (*fn)(void *opts, int npos, char **pos);
	const char *summary;
};

/** The row of @table named @name, or NULL. */
const struct cli_action *cli_action_find(const struct cli_action *table, const char *name);

/**
 * The names of @table's actions into @buf: "a, b, c", or "a, b or c" when
 * @last is " or " (@last separates the last two). Truncated to fit @len.
 * Returns @buf.
 */
const char *cli_action_list(const struct cli_action *table, const char *last, char *buf,
			    size_t len);

/**
 * Take the action word of `pinwatch CMD ACTION [options] [ARGS]` (*@argv[0]
 * is CMD). "--help" or "-h" in its place prints @usage to stdout: EXIT_OK.
 * No word at all: EXIT_USAGE after cli_usage_error(@cmd, "missing action
 * (a, b, c)") with @actions's names as cli_action_list(@actions, @last)
 * joins them, or after printing @usage to stderr when @last is NULL.
 * Otherwise sets *@action to the word (any other text, options included:
 * the caller names unknown actions), drops CMD from *@argc and *@argv so that
 * the action stands where getopt_long() expects the program name, resets
 * getopt (optind = 0) and returns CLI_CONTINUE.
 */
int cli_action(const char *cmd, const char *usage, const struct cli_action *actions,
	       const char *last, int *argc, char ***argv, const char **action);

/**
 * Run the action of @table named @action with @opts and the operands @pos;
 * an unknown action is a usage error "unknown action 'X'", followed by
 * " (a, b, c)" when @list_unknown.
 */
int cli_action_run(const char *cmd, const struct cli_action *table, const char *action,
		   bool list_unknown, void *opts, int npos, char **pos);

/** The action tables of the commands with actions, for tests and help. */
struct cli_action_table {
	const char *cmd;
	const struct cli_action *actions;
};
/** Every command with actions; ends with a row whose cmd is NULL. */
extern const struct cli_action_table cli_action_tables[];

extern const struct cli_action cli_webhook_actions[];
extern const struct cli_action cli_alert_actions[];
extern const struct cli_action cli_audit_actions[];
extern const struct cli_action cli_endpoint_actions[];
extern const struct cli_action cli_app_actions[];
extern const struct cli_action cli_plan_actions[];
extern const struct cli_action cli_token_actions[];
extern const struct cli_action cli_candidate_actions[];
extern const struct cli_action cli_adoption_actions[];

/** The database path chosen by @g (--db, $PINWATCH_DB, [storage] path); after cli_load_config. */
const char *cli_db_path(struct cli_global *g);

/**
 * The actor recorded in the audit log for CLI changes: "cli:<user>", the
 * user of the real uid; $SUDO_USER instead only when running as root under
 * sudo ($SUDO_UID is that user's uid) and it is printable ASCII.
 */
const char *cli_actor(void);

/* Subcommands. argv[0] is the subcommand name; getopt state is reset. */
int cmd_webhook(int argc, char **argv);
int cmd_alert(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_pin(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_endpoint(int argc, char **argv);
int cmd_app(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_whatif(int argc, char **argv);
int cmd_import_nsc(int argc, char **argv);
int cmd_import_apk(int argc, char **argv);
int cmd_import_trustkit(int argc, char **argv);
int cmd_import_ipa(int argc, char **argv);
int cmd_import_okhttp(int argc, char **argv);
int cmd_adoption(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_candidate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
