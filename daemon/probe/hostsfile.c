#include "probe/hostsfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/array.h"
#include "base/util.h"

struct entry {
	char name[254];
	struct sockaddr_storage ss;
	socklen_t len;
	uint32_t line; /* file order among equal names */
};

/* Sorted by name (case-insensitive), then file order: a lookup is a binary
 * search (a cron sweep of thousands of names looks up every one). */
static struct {
	struct entry *v;
	size_t n, cap;
	int error; /* negative errno when the file was unusable */
	char msg[ERRLEN];
} table;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void table_clear(void)
{
	free(table.v);
	memset(&table, 0, sizeof(table));
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

static void set_error(int rc, const char *fmt, const char *a, int line)
{
	table_clear();
	table.error = rc;
	util_err(table.msg, sizeof(table.msg), rc, fmt, a, line);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Parse into the table; on error the table holds only the error. */
static int parse(const char *text, const char *origin)
{
	char line[1024];
	int lineno = 0;

	table_clear();
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len >= sizeof(line)) {
			set_error(-EINVAL, "%s: line %d: too long", origin, lineno);
			return table.error;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : NULL;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *save = NULL, *addr = strtok_r(line, " \t\r", &save);
		if (!addr)
			continue;
		struct sockaddr_storage ss;
		socklen_t sl;
		if (parse_addr(addr, &ss, &sl)) {
			set_error(-EINVAL, "%s: line %d: not an IP address", origin, lineno);
			return table.error;
		}
		bool any = false;
		for (char *name; (name = strtok_r(NULL, " \t\r", &save)) != NULL;) {
			size_t nl2 = strlen(name);
			if (nl2 && name[nl2 - 1] == '.')
				name[--nl2] = '\0';
			if (nl2 == 0 || nl2 >= sizeof(table.v[0].name)) {
				set_error(-EINVAL, "%s: line %d: bad host name", origin, lineno);
				return table.error;
			}
			if (table.n == HOSTSFILE_MAX_ENTRIES) {
				set_error(-E2BIG, "%s: more than 4096 entries (line %d)", origin,
					  lineno);
				return table.error;
			}
			if (ARRAY_RESERVE(table.v, table.cap, table.n + 1, HOSTSFILE_MAX_ENTRIES)) {
				set_error(-ENOMEM, "%s: out of memory (line %d)", origin, lineno);
				return table.error;
			}
			struct entry *e = &table.v[table.n];
			memcpy(e->name, name, nl2 + 1);
			e->ss = ss;
			e->len = sl;
			e->line = (uint32_t)table.n++;
			any = true;
		}
		if (!any) {
			set_error(-EINVAL, "%s: line %d: address without a host name", origin,
				  lineno);
			return table.error;
		}
	}
	qsort(table.v, table.n, sizeof(*table.v), entry_cmp);
	return 0;
}

static void load_from_env(void)
{
	const char *path = getenv(HOSTSFILE_ENV);
	char *text = NULL;
	size_t len;

	if (!path || !*path)
		return;
	int rc = util_read_file(path, HOSTSFILE_MAX_BYTES, &text, &len);
	if (rc) {
		table.error = rc;
		util_err(table.msg, sizeof(table.msg), rc, "%s=%s: %s", HOSTSFILE_ENV, path,
			 rc == -EFBIG ? "larger than 256 KiB" : strerror(-rc));
		return;
	}
	parse(text, path);
	free(text);
}

int hostsfile_set(const char *text, char *err, size_t errlen)
{
	pthread_once(&once, load_from_env); /* so that a later first use does not reload */
	if (!text) {
		table_clear();
		return 0;
	}
	int rc = parse(text, "hosts");
	if (rc)
		util_err(err, errlen, rc, "%s", table.msg);
	return rc;
}

int hostsfile_lookup(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *lens,
		     size_t max, size_t *n, char *err, size_t errlen)
{
	size_t hl = strlen(host);

	*n = 0;
	pthread_once(&once, load_from_env);
	if (table.error)
		return util_err(err, errlen, table.error, "%s", table.msg);
	if (hl && host[hl - 1] == '.')
		hl--;
	char key[sizeof(table.v[0].name)];
	if (hl == 0 || hl >= sizeof(key))
		return 0;
	memcpy(key, host, hl);
	key[hl] = '\0';
	/* The first entry of that name. */
	size_t lo = 0, hi = table.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcasecmp(table.v[mid].name, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < table.n && *n < max; i++) {
		const struct entry *e = &table.v[i];
		if (strcasecmp(e->name, key) != 0)
			break;
		struct sockaddr_storage cand = e->ss;
		if (cand.ss_family == AF_INET)
			((struct sockaddr_in *)&cand)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&cand)->sin6_port = htons(port);
		bool dup = false;
		for (size_t j = 0; j < *n && !dup; j++)
			dup = lens[j] == e->len && !memcmp(&ss[j], &cand, e->len);
		if (dup)
			continue;
		ss[*n] = cand;
		lens[*n] = e->len;
		(*n)++;
	}
	return *n > 0;
}
