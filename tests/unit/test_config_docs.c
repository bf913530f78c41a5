/* The example configuration (systemd/pinwatch.conf.example) and the man page
 * (docs/pinwatch.1.scd) stay true to config.c: the example, uncommented,
 * loads and gives exactly the built-in defaults, and names every key; the
 * man page documents every key in its section. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/config.h"
#include "base/util.h"

#define EXAMPLE TEST_DATA_DIR "/../../systemd/pinwatch.conf.example"
#define MANPAGE TEST_DATA_DIR "/../../docs/pinwatch.1.scd"

__attribute__((noinline)) static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len;
	if (util_read_file(path, 1 << 20, &text, &len) != 0)
		fail_msg("cannot read %s", path);
	return text;
}

/* "#key = value" lines become "key = value"; comments in prose stay. */
static char *uncomment(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;
	assert_non_null(out);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
		const char *k = p + 1;
		while (k < p + len && (isalnum((unsigned char)*k) || *k == '_'))
			k++;
		bool setting = p[0] == '#' && k > p + 1 && !strncmp(k, " =", 2);
		memcpy(o, setting ? p + 1 : p, setting ? len - 1 : len);
		o += setting ? len - 1 : len;
		p += len;
	}
	*o = '\0';
	return out;
}

static void test_config_example_is_the_defaults(void **state)
{
	(void)state;
	char path[] = "/tmp/pinwatch-test-example-XXXXXX", err[ERRLEN];
	char *raw = slurp(EXAMPLE);
	char *text = uncomment(raw);
	free(raw);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	struct config loaded, defaults;
	config_defaults(&loaded);
	config_defaults(&defaults);
	int rc = config_load(&loaded, path, err, sizeof(err));
	unlink(path);
	if (rc)
		fail_msg("the example does not load: %s", err);
	/* Every key is in the example... */
	const char *sec, *name;
	for (size_t i = 0; config_key_at(i, &sec, &name) == 0; i++)
		if (loaded.key_line[i] == 0)
			fail_msg("[%s] %s is not in %s", sec, name, EXAMPLE);
	/* ...with the built-in default as its value. */
	memset(loaded.source, 0, sizeof(loaded.source));
	memset(loaded.key_line, 0, sizeof(loaded.key_line));
	if (memcmp(&loaded, &defaults, sizeof(loaded)) != 0)
		fail_msg("a value in %s differs from config_defaults()", EXAMPLE);
	free(text);
}

static void test_config_man_page_documents_every_key(void **state)
{
	(void)state;
	char *man = slurp(MANPAGE), want[128];
	const char *sec, *name;
	for (size_t i = 0; config_key_at(i, &sec, &name) == 0; i++) {
		snprintf(want, sizeof(want), "\n## [%s]\n", sec);
		const char *start = strstr(man, want);
		if (!start)
			fail_msg("the man page has no [%s] section", sec);
		const char *end = strstr(start + 1, "\n## ");
		const char *end1 = strstr(start + 1, "\n# ");
		if (!end || (end1 && end1 < end))
			end = end1;
		snprintf(want, sizeof(want), "*%s* =", name);
		const char *hit = strstr(start, want);
		if (!hit || (end && hit > end))
			fail_msg("[%s] %s is not documented in the man page", sec, name);
	}
	free(man);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_example_is_the_defaults),
		cmocka_unit_test(test_config_man_page_documents_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
