/* Daemon configuration: one INI file parsed once into struct config.
 *
 * Every key is range-checked; unknown sections/keys and bad values are
 * reported as "file:line: message". Inventory, apps and pins live in the
 * database, not here.
 */
#ifndef PINWATCH_CONFIG_H
#define PINWATCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/expiry.h"

#define CONFIG_PATH_MAX 1024
#define CONFIG_MAX_KEYS 64

struct config {
	/* [storage] */
	char storage_path[CONFIG_PATH_MAX];

	/* [http] */
	char http_listen[256]; /**< "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080" */
	bool http_public_read;
	char http_tls_cert[CONFIG_PATH_MAX];
	char http_tls_key[CONFIG_PATH_MAX];
	char http_base_url[512]; /**< dashboard link used in webhooks */
	int64_t http_max_body;	 /**< bytes */
	int http_max_connections;
	int http_per_ip_connections;
	int http_timeout_s;

	/* [probe] */
	int probe_concurrency;
	int probe_timeout_ms;
	int64_t probe_interval_s; /**< default interval for endpoints without one */
	int probe_max_addresses;
	char probe_ca_file[CONFIG_PATH_MAX]; /**< empty: system trust store */
	int probe_jitter_pct;
	int64_t probe_discover_interval_s; /**< dual-certificate discovery cadence; 0: off */

	/* [alerts] */
	int alerts_expiry_days[EXPIRY_THRESHOLDS_MAX]; /**< certificate_expiring and
							   rotation_not_ready thresholds,
							   descending (base/expiry.h) */
	int64_t alerts_repeat_s;
	int alerts_probe_failures;

	/* [plans] */
	int plans_confirm_days; /**< step 7: days every address presents the planned key */

	/* [webhook] */
	int webhook_connect_timeout_ms;
	int webhook_timeout_ms;
	int64_t webhook_backoff_cap_s;
	int64_t webhook_give_up_s;
	char webhook_proxy[512]; /**< [webhook] proxy: "" = none (the environment is ignored) */

	/* [log] */
	int log_level; /**< enum log_level */

	/* Where each value came from, for "file:line:" in config_validate(). */
	char source[CONFIG_PATH_MAX];  /**< file config_load() read; "" for defaults */
	int key_line[CONFIG_MAX_KEYS]; /**< per entry of config.c's key table; 0: default */
};

/**
 * The @i-th key of the configuration (0-based, file order of config.c):
 * its section and name (static strings). 0, or -ENOENT past the last key.
 * For tests that keep the example config and the man page complete.
 */
int config_key_at(size_t i, const char **section, const char **name);

/** Fill @c with built-in defaults. */
void config_defaults(struct config *c);

/**
 * Parse @path into @c (which should hold defaults). Returns 0, or a negative
 * errno with "file:line: message" in @err. A missing file is -ENOENT.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/**
 * Refuse a secrets file (TLS key, token file) that group or others can read,
 * or that is not a regular file. 0, or -EACCES/-ENOENT with a message.
 */
int config_check_secret_file(const char *path, char *err, size_t errlen);

/**
 * Validate cross-key constraints and the files the config names: the listen
 * address parses, base_url is an http(s) URL, the TLS certificate loads and
 * matches its key, the key file is a secrets file (config_check_secret_file),
 * the probe CA file loads at least one certificate. Needs gnutls_global_init()
 * done. 0, or a negative errno with "file:line: [section] key: message" in
 * @err (without "file:line: " for values that are defaults).
 */
int config_validate(const struct config *c, char *err, size_t errlen);

/**
 * Parse an [http] listen value as the HTTP server does: "HOST:PORT" or
 * "[IPv6]:PORT"; HOST may be a name (resolved, first address), empty means
 * every address; port 0..65535 (0: any free port). Fills @ss and @sslen when
 * non-NULL. 0 or -EINVAL with a message in @err.
 */
int config_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
			size_t errlen);

#endif
