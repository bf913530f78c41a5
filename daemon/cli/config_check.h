/* `pinwatch serve --check-config`: validate the configuration and exit. */
#ifndef PINWATCH_CONFIG_CHECK_H
#define PINWATCH_CONFIG_CHECK_H

#include "cli/cli.h"

/**
 * Load the configuration @g names (-c FILE, else the default file when it
 * exists, else built-in defaults), run config_validate() on it and check that
 * the database the daemon would open (--db, $PINWATCH_DB or [storage] path)
 * can be created: its directory exists and, if it exists, it is a regular
 * file. Prints the first problem as "file:line: [section] key: message" on
 * stderr, or "FILE: configuration OK" on stdout. Returns EXIT_OK or
 * EXIT_USAGE. Needs gnutls_global_init() done (main does it).
 *
 * serve.c calls it after option parsing:
 *     case OPT_CHECK_CONFIG: check_only = true; break;
 *     ...
 *     if (check_only)
 *             return config_check_cli(&g);
 */
int config_check_cli(struct cli_global *g);

#endif
