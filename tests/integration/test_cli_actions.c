/* The action tables of the CLI (cli.h): lookup and the joined name lists,
 * and, for every command with actions, that each action of its table is in
 * `pinwatch CMD --help` and in the man page (issue 17: usage texts that
 * omitted actions).
 * Usage: test_cli_actions PINWATCH_BINARY MANPAGE.scd
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static const char *bin, *manpage;

static int ok_action(void *opts, int npos, char **pos)
{
	(void)opts;
	(void)pos;
	return npos;
}

static const struct cli_action three[] = {
	{ "add", ok_action, "add" },
	{ "list", ok_action, "list" },
	{ "remove", ok_action, "remove" },
	{ NULL, NULL, NULL },
};
static const struct cli_action one[] = {
	{ "import", ok_action, "import" },
	{ NULL, NULL, NULL },
};
static const struct cli_action none[] = {
	{ NULL, NULL, NULL },
};

static void test_cli_action_find_cases(void **state)
{
	(void)state;
	static const struct {
		const struct cli_action *table;
		const char *name;
		int index; /* -1: not found */
	} cases[] = {
		{ three, "add", 0 },	{ three, "list", 1 },	 { three, "remove", 2 },
		{ three, "ad", -1 },	{ three, "adds", -1 },	 { three, "", -1 },
		{ three, "LIST", -1 },	{ three, "--help", -1 }, { one, "import", 0 },
		{ none, "import", -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cli_action *a = cli_action_find(cases[i].table, cases[i].name);
		if (cases[i].index < 0)
			assert_null(a);
		else
			assert_ptr_equal(a, &cases[i].table[cases[i].index]);
	}
}

static void test_cli_action_list_cases(void **state)
{
	(void)state;
	static const struct {
		const struct cli_action *table;
		const char *last;
		size_t len;
		const char *want;
	} cases[] = {
		{ three, ", ", 64, "add, list, remove" },
		{ three, " or ", 64, "add, list or remove" },
		{ one, " or ", 64, "import" },
		{ none, ", ", 64, "" },
		{ three, ", ", 18, "add, list, remove" }, /* exactly fits */
		{ three, ", ", 17, "add, list, remov" },  /* truncated, terminated */
		{ three, ", ", 6, "add, " },
		{ three, ", ", 1, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		memset(buf, 'x', sizeof(buf));
		assert_ptr_equal(cli_action_list(cases[i].table, cases[i].last, buf, cases[i].len),
				 buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_cli_action_run_dispatches(void **state)
{
	(void)state;
	char *pos[] = { "a", "b", NULL };
	assert_int_equal(cli_action_run("x", three, "list", false, NULL, 2, pos), 2);
	assert_int_equal(cli_action_run("x", three, "remove", true, NULL, 0, pos), 0);
	assert_int_equal(cli_action_run("x", three, "nope", true, NULL, 0, pos), EXIT_USAGE);
	assert_int_equal(cli_action_run("x", none, "add", false, NULL, 0, pos), EXIT_USAGE);
}

/* The whole output of `BIN CMD --help`; the caller frees it. */
static char *help_of(const char *cmd)
{
	char line[512];
	snprintf(line, sizeof(line), "'%s' %s --help", bin, cmd);
	FILE *p = popen(line, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0;
	char *out = calloc(1, cap);
	assert_non_null(out);
	size_t r;
	while ((r = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += r;
	assert_int_equal(pclose(p), 0);
	return out;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t cap = 1 << 20, n = 0;
	char *out = calloc(1, cap);
	assert_non_null(out);
	size_t r;
	while ((r = fread(out + n, 1, cap - 1 - n, f)) > 0)
		n += r;
	fclose(f);
	return out;
}

static void test_cli_actions_documented(void **state)
{
	(void)state;
	char *man = read_all(manpage);
	size_t ncmd = 0, nact = 0, missing = 0;
	for (const struct cli_action_table *t = cli_action_tables; t->cmd; t++, ncmd++) {
		char *help = help_of(t->cmd);
		assert_non_null(t->actions[0].name);
		for (const struct cli_action *a = t->actions; a->name; a++, nact++) {
			char want[128];
			assert_non_null(a->fn);
			assert_true(a->summary && *a->summary);
			snprintf(want, sizeof(want), "pinwatch %s %s ", t->cmd, a->name);
			if (!strstr(help, want)) {
				snprintf(want, sizeof(want), "pinwatch %s %s\n", t->cmd, a->name);
				if (!strstr(help, want)) {
					print_error("'%s %s' is not in '%s --help'\n", t->cmd,
						    a->name, t->cmd);
					missing++;
				}
			}
			snprintf(want, sizeof(want), "*pinwatch %s %s*", t->cmd, a->name);
			if (!strstr(man, want)) {
				print_error("'%s %s' is not in %s\n", t->cmd, a->name, manpage);
				missing++;
			}
		}
		free(help);
	}
	free(man);
	assert_int_equal(missing, 0);
	assert_true(ncmd >= 9);
	assert_true(nact >= 30);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s PINWATCH_BINARY MANPAGE.scd\n", argv[0]);
		return 2;
	}
	bin = argv[1];
	manpage = argv[2];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_action_find_cases),
		cmocka_unit_test(test_cli_action_list_cases),
		cmocka_unit_test(test_cli_action_run_dispatches),
		cmocka_unit_test(test_cli_actions_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
