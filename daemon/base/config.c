#include "base/config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ini.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/expiry.h"
#include "base/log.h"
#include "base/util.h"

/* K_DURATION_OFF: a duration in [min, max], or 0 (off). */
enum key_type { K_STR, K_BOOL, K_INT, K_SIZE, K_DURATION, K_DURATION_OFF, K_LOGLEVEL, K_DAYS4 };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
	size_t size; /* K_STR: buffer size */
	long long min, max;
};

#define OFF(f) offsetof(struct config, f)
#define STR(s, n, f)                                                       \
	{                                                                  \
		s, n, K_STR, OFF(f), sizeof(((struct config *)0)->f), 0, 0 \
	}

static const struct key keys[] = {
	STR("storage", "path", storage_path),
	STR("http", "listen", http_listen),
	{ "http", "public_read", K_BOOL, OFF(http_public_read), 0, 0, 1 },
	STR("http", "tls_cert", http_tls_cert),
	STR("http", "tls_key", http_tls_key),
	STR("http", "base_url", http_base_url),
	{ "http", "max_body", K_SIZE, OFF(http_max_body), 0, 1024, 64LL << 20 },
	{ "http", "max_connections", K_INT, OFF(http_max_connections), 0, 1, 65536 },
	{ "http", "per_ip_connections", K_INT, OFF(http_per_ip_connections), 0, 1, 65536 },
	{ "http", "timeout", K_INT, OFF(http_timeout_s), 0, 1, 3600 },
	{ "probe", "concurrency", K_INT, OFF(probe_concurrency), 0, 1, 4096 },
	{ "probe", "timeout_ms", K_INT, OFF(probe_timeout_ms), 0, 100, 120000 },
	{ "probe", "interval", K_DURATION, OFF(probe_interval_s), 0, 10, 604800 },
	{ "probe", "max_addresses", K_INT, OFF(probe_max_addresses), 0, 1, 256 },
	STR("probe", "ca_file", probe_ca_file),
	{ "probe", "jitter_percent", K_INT, OFF(probe_jitter_pct), 0, 0, 50 },
	{ "probe", "discover_interval", K_DURATION_OFF, OFF(probe_discover_interval_s), 0, 60,
	  30LL * 86400 },
	{ "alerts", "expiry_days", K_DAYS4, OFF(alerts_expiry_days), 0, 1, EXPIRY_DAYS_MAX },
	{ "alerts", "repeat_interval", K_DURATION, OFF(alerts_repeat_s), 0, 60, 30LL * 86400 },
	{ "alerts", "probe_failures", K_INT, OFF(alerts_probe_failures), 0, 1, 1000 },
	{ "webhook", "connect_timeout_ms", K_INT, OFF(webhook_connect_timeout_ms), 0, 100, 60000 },
	{ "webhook", "timeout_ms", K_INT, OFF(webhook_timeout_ms), 0, 100, 300000 },
	{ "webhook", "backoff_cap", K_DURATION, OFF(webhook_backoff_cap_s), 0, 1, 7LL * 86400 },
	{ "webhook", "give_up_after", K_DURATION, OFF(webhook_give_up_s), 0, 60, 30LL * 86400 },
	STR("webhook", "proxy", webhook_proxy),
	{ "plans", "confirm_days", K_INT, OFF(plans_confirm_days), 0, 1, 365 },
	{ "log", "level", K_LOGLEVEL, OFF(log_level), 0, 0, 0 },
};

_Static_assert(ARRAY_SIZE(keys) <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS in config.h");

int config_key_at(size_t i, const char **section, const char **name)
{
	if (i >= ARRAY_SIZE(keys))
		return -ENOENT;
	*section = keys[i].section;
	*name = keys[i].name;
	return 0;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->storage_path, sizeof(c->storage_path), "%s", "/var/lib/pinwatch/pinwatch.db");
	snprintf(c->http_listen, sizeof(c->http_listen), "%s", "127.0.0.1:8080");
	c->http_max_body = 1 << 20;
	c->http_max_connections = 512;
	c->http_per_ip_connections = 64;
	c->http_timeout_s = 30;
	c->probe_concurrency = 64;
	c->probe_timeout_ms = 10000;
	c->probe_interval_s = 300;
	c->probe_max_addresses = 16;
	c->probe_jitter_pct = 10;
	c->probe_discover_interval_s = 6 * 3600;
	c->alerts_expiry_days[0] = 30;
	c->alerts_expiry_days[1] = 14;
	c->alerts_expiry_days[2] = 7;
	c->alerts_expiry_days[3] = 2;
	c->alerts_repeat_s = 4 * 3600;
	c->alerts_probe_failures = 3;
	c->webhook_connect_timeout_ms = 5000;
	c->webhook_timeout_ms = 10000;
	c->webhook_backoff_cap_s = 3600;
	c->webhook_give_up_s = 2 * 86400;
	c->plans_confirm_days = 14;
	c->log_level = LOG_LVL_INFO;
}

struct parse_ctx {
	struct config *c;
	const char *path;
	char *err;
	size_t errlen;
	int failed;
	FILE *f;
	int lineno; /* Debian's inih passes no line number: our reader counts lines */
};

static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	char *r = fgets(str, num, p->f);
	if (r && strchr(r, '\n'))
		p->lineno++;
	return r;
}

static int parse_size(const char *v, long long min, long long max, int64_t *out)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (end == v || errno || n < 0)
		return -EINVAL;
	long long mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1024, end++;
	else if (*end == 'M')
		mult = 1024 * 1024, end++;
	if (*end)
		return -EINVAL;
	if (n > max / mult || n * mult < min)
		return -ERANGE;
	*out = n * mult;
	return 0;
}

/* "0", "0s", "00h": zero (util_parse_duration() refuses zero durations). */
static bool zero_duration(const char *v)
{
	size_t n = strspn(v, "0");
	return n > 0 && (v[n] == '\0' || (strchr("smhdw", v[n]) && v[n + 1] == '\0'));
}

static int set_key(const struct key *k, struct config *c, const char *v, char *msg, size_t len)
{
	char *base = (char *)c + k->off;
	long long n;
	int64_t d;
	int rc;

	switch (k->type) {
	case K_STR:
		if (strlen(v) >= k->size)
			return util_err(msg, len, -ERANGE, "value too long (max %zu)", k->size - 1);
		memcpy(base, v, strlen(v) + 1);
		return 0;
	case K_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "on"))
			*(bool *)base = true;
		else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") ||
			 !strcmp(v, "off"))
			*(bool *)base = false;
		else
			return util_err(msg, len, -EINVAL, "expected true or false, got '%s'", v);
		return 0;
	case K_INT:
		if ((rc = util_parse_int(v, k->min, k->max, &n)) != 0)
			return util_err(msg, len, rc,
					"expected an integer in [%lld, %lld], got '%s'", k->min,
					k->max, v);
		*(int *)base = (int)n;
		return 0;
	case K_SIZE:
		if (parse_size(v, k->min, k->max, &d))
			return util_err(msg, len, -EINVAL,
					"expected a size in [%lld, %lld] bytes (suffix K or M "
					"allowed), got '%s'",
					k->min, k->max, v);
		*(int64_t *)base = d;
		return 0;
	case K_DURATION:
		if (util_parse_duration(v, &d) || d < k->min || d > k->max)
			return util_err(msg, len, -EINVAL,
					"expected a duration in [%llds, %llds] such as 90s, 5m, "
					"24h, got '%s'",
					k->min, k->max, v);
		*(int64_t *)base = d;
		return 0;
	case K_DURATION_OFF:
		if (zero_duration(v))
			d = 0;
		else if (util_parse_duration(v, &d) || d < k->min || d > k->max)
			return util_err(msg, len, -EINVAL,
					"expected 0 (off) or a duration in [%llds, %llds] such as "
					"6h, got '%s'",
					k->min, k->max, v);
		*(int64_t *)base = d;
		return 0;
	case K_LOGLEVEL: {
		enum log_level lvl;
		if (log_parse_level(v, &lvl))
			return util_err(msg, len, -EINVAL,
					"expected err, warn, info or debug, got '%s'", v);
		*(int *)base = (int)lvl;
		return 0;
	}
	case K_DAYS4:
		/* "30,14,7,2": base/expiry.h checks the count, range and order. */
		return expiry_thresholds_parse(v, (int *)base, msg, len);
	}
	return -EINVAL;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	int lineno = p->lineno;
	char msg[ERRLEN];

	if (p->failed)
		return 0;
	if (!name) /* new section: checked when its first key arrives, or below */
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(keys[i].section, section) || strcmp(keys[i].name, name))
			continue;
		if (set_key(&keys[i], p->c, value, msg, sizeof(msg)) == 0) {
			p->c->key_line[i] = lineno;
			return 1;
		}
		util_err(p->err, p->errlen, 0, "%s:%d: [%s] %s: %s", p->path, lineno, section, name,
			 msg);
		p->failed = 1;
		return 0;
	}
	util_err(p->err, p->errlen, 0, "%s:%d: unknown key '%s' in section [%s]", p->path, lineno,
		 name, section);
	p->failed = 1;
	return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct parse_ctx p = { c, path, err, errlen, 0, NULL, 0 };
	if (util_path(c->source, sizeof(c->source), "%s", path))
		return util_err(err, errlen, -ENAMETOOLONG, "configuration path too long");
	p.f = fopen(path, "re");
	if (!p.f)
		return util_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
	int rc = ini_parse_stream(read_line, &p, on_entry, &p);
	fclose(p.f);
	if (p.failed)
		return -EINVAL;
	if (rc > 0)
		return util_err(err, errlen, -EINVAL, "%s:%d: syntax error", path, rc);
	if (rc < 0)
		return util_err(err, errlen, -EIO, "%s: cannot parse", path);
	return 0;
}

int config_check_secret_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return util_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return util_err(err, errlen, -EINVAL, "%s: not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return util_err(err, errlen, -EACCES,
				"%s: secrets file is accessible by group or others (mode %03o); "
				"run chmod 600 %s",
				path, (unsigned)(st.st_mode & 0777), path);
	return 0;
}

/* "file:line: [section] name: message" when the key came from a file. */
static int key_err(const struct config *c, char *err, size_t errlen, int rc, const char *section,
		   const char *name, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int key_err(const struct config *c, char *err, size_t errlen, int rc, const char *section,
		   const char *name, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	int line = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
			line = c->key_line[i];
	if (line > 0 && c->source[0])
		return util_err(err, errlen, rc, "%s:%d: [%s] %s: %s", c->source, line, section,
				name, msg);
	return util_err(err, errlen, rc, "[%s] %s: %s", section, name, msg);
}

int config_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
			size_t errlen)
{
	char host[256], port[8];
	int p = -1;
	int prc = util_parse_hostport(
		s, UTIL_HOSTPORT_NEED_PORT | UTIL_HOSTPORT_PORT_ZERO | UTIL_HOSTPORT_EMPTY_HOST,
		host, sizeof(host), &p);
	if (prc == -ERANGE)
		return util_err(err, errlen, -EINVAL,
				"'%s': port must be 0..65535 (0: any free port)", s);
	if (prc != 0)
		goto bad;
	snprintf(port, sizeof(port), "%d", p);
	struct addrinfo hints = { .ai_family = s[0] == '[' ? AF_INET6 : AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV },
			*res = NULL;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res)
		return util_err(err, errlen, -EINVAL, "'%s': %s", s,
				rc ? gai_strerror(rc) : "no address");
	if (ss && res->ai_addrlen <= sizeof(*ss)) {
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, res->ai_addr, res->ai_addrlen);
	}
	if (sslen)
		*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	return util_err(err, errlen, -EINVAL,
			"'%s': expected HOST:PORT such as 127.0.0.1:8080, [::1]:8080 or :8080", s);
}

/* A file the daemon will read: exists, regular, readable by us. */
static int check_readable(const char *path, char *msg, size_t len)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return util_err(msg, len, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return util_err(msg, len, -EINVAL, "%s: not a regular file", path);
	if (access(path, R_OK) < 0)
		return util_err(msg, len, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

static int check_base_url(const char *url, char *msg, size_t len)
{
	CURLU *h = curl_url();
	char *scheme = NULL;
	int rc = 0;

	if (!h)
		return util_err(msg, len, -ENOMEM, "out of memory");
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		rc = util_err(msg, len, -EINVAL, "'%s' is not a URL", url);
	else if (strcmp(scheme, "http") && strcmp(scheme, "https"))
		rc = util_err(msg, len, -EINVAL, "'%s': only http:// and https:// URLs", url);
	curl_free(scheme);
	curl_url_cleanup(h);
	return rc;
}

static int check_tls_pair(const char *cert, const char *key, char *msg, size_t len)
{
	gnutls_certificate_credentials_t cred;
	int rc = check_readable(cert, msg, len);
	if (rc)
		return rc;
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return util_err(msg, len, -ENOMEM, "out of memory");
	rc = gnutls_certificate_set_x509_key_file2(cred, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(cred);
	if (rc < 0)
		return util_err(msg, len, -EINVAL, "%s with %s: %s", cert, key,
				gnutls_strerror(rc));
	return 0;
}

static int check_ca_file(const char *path, char *msg, size_t len)
{
	gnutls_x509_trust_list_t tl;
	int rc = check_readable(path, msg, len);
	if (rc)
		return rc;
	if (gnutls_x509_trust_list_init(&tl, 0) < 0)
		return util_err(msg, len, -ENOMEM, "out of memory");
	rc = gnutls_x509_trust_list_add_trust_file(tl, path, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
	gnutls_x509_trust_list_deinit(tl, 1);
	if (rc < 0)
		return util_err(msg, len, -EINVAL, "%s: %s", path, gnutls_strerror(rc));
	if (rc == 0)
		return util_err(msg, len, -EINVAL, "%s: no PEM certificate in the file", path);
	return 0;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	char msg[ERRLEN];
	int rc;

	if (!c->storage_path[0])
		return key_err(c, err, errlen, -EINVAL, "storage", "path", "must not be empty");
	if (config_parse_listen(c->http_listen, NULL, NULL, msg, sizeof(msg)))
		return key_err(c, err, errlen, -EINVAL, "http", "listen", "%s", msg);
	if (c->http_base_url[0] && check_base_url(c->http_base_url, msg, sizeof(msg)))
		return key_err(c, err, errlen, -EINVAL, "http", "base_url", "%s", msg);
	if (!!c->http_tls_cert[0] != !!c->http_tls_key[0])
		return key_err(c, err, errlen, -EINVAL, "http",
			       c->http_tls_cert[0] ? "tls_cert" : "tls_key",
			       "tls_cert and tls_key must be given together");
	if (c->http_tls_key[0]) {
		if ((rc = config_check_secret_file(c->http_tls_key, msg, sizeof(msg))) != 0)
			return key_err(c, err, errlen, rc, "http", "tls_key", "%s", msg);
		if ((rc = check_tls_pair(c->http_tls_cert, c->http_tls_key, msg, sizeof(msg))) != 0)
			return key_err(c, err, errlen, rc, "http", "tls_cert", "%s", msg);
	}
	if (c->http_per_ip_connections > c->http_max_connections)
		return key_err(c, err, errlen, -EINVAL, "http", "per_ip_connections",
			       "%d exceeds max_connections (%d)", c->http_per_ip_connections,
			       c->http_max_connections);
	if (c->probe_ca_file[0] && (rc = check_ca_file(c->probe_ca_file, msg, sizeof(msg))) != 0)
		return key_err(c, err, errlen, rc, "probe", "ca_file", "%s", msg);
	return 0;
}
