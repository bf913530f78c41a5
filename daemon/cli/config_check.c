#include "cli/config_check.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"

static int check_db_path(const char *path, char *err, size_t errlen)
{
	char dir[CONFIG_PATH_MAX];
	struct stat st;

	if (util_path(dir, sizeof(dir), "%s", path))
		return util_err(err, errlen, -ENAMETOOLONG, "database path too long: %s", path);
	const char *d = dirname(dir);
	if (stat(d, &st) < 0)
		return util_err(err, errlen, -errno, "database directory %s: %s", d,
				strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return util_err(err, errlen, -ENOTDIR, "database directory %s: not a directory", d);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return util_err(err, errlen, -EINVAL, "database %s: not a regular file", path);
	return 0;
}

int config_check_cli(struct cli_global *g)
{
	char err[ERRLEN];
	const char *path = cli_config_path(g);
	int rc;

	if ((rc = cli_load_config(g)) != EXIT_OK)
		return rc; /* cli_load_config printed "file:line: ..." */
	if (config_validate(&g->cfg, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	const char *db = cli_db_path(g);
	if (check_db_path(db, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	printf("%s: configuration OK (database %s)\n", path ? path : "built-in defaults", db);
	return EXIT_OK;
}
