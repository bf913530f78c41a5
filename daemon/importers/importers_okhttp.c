/* OkHttp CertificatePinner pins as text:
 *
 *     # comment
 *     api.example.com      sha256/AAAA...=
 *     api.example.com      sha256/BBBB...=        (adds to the same policy)
 *     **.cdn.example.com   sha256/CCCC...= sha256/DDDD...=
 *
 * mirroring CertificatePinner.Builder().add(pattern, pins...). To allow
 * pasting from Kotlin/Java code, tokens may be wrapped in double quotes and
 * followed by a comma. Patterns keep OkHttp's forms ("*." exactly one label,
 * "**." any depth including the apex). Only sha256/ pins: OkHttp also accepts
 * sha1/, which pinwatch cannot evaluate, so such a file is refused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "base/util.h"

#define OKHTTP_MAX_LINE 16384

struct ok_entry {
	char pattern[260];
	unsigned line;
	struct imp_pinset *pins;
};

struct ok {
	const char *name;
	char *err;
	size_t errlen;
	struct ok_entry *e;
	size_t n;
};

static int ok_fail(struct ok *o, unsigned line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ok_fail(struct ok *o, unsigned line, int rc, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return util_err(o->err, o->errlen, rc, "%s:%u: %s", o->name, line, msg);
}

/* Strip a trailing comma and surrounding double quotes in place. */
static char *unquote(char *tok)
{
	size_t n = strlen(tok);
	if (n && tok[n - 1] == ',')
		tok[--n] = '\0';
	if (n >= 2 && tok[0] == '"' && tok[n - 1] == '"') {
		tok[n - 1] = '\0';
		tok++;
	}
	return tok;
}

static struct ok_entry *entry_for(struct ok *o, const char *pattern, unsigned line, int *rc)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->e[i].pattern, pattern) == 0)
			return &o->e[i];
	if (o->n >= IMPORTERS_MAX_POLICIES) {
		*rc = ok_fail(o, line, -E2BIG, "more than %d patterns", IMPORTERS_MAX_POLICIES);
		return NULL;
	}
	struct ok_entry *ne = realloc(o->e, (o->n + 1) * sizeof(*ne));
	if (!ne) {
		*rc = -ENOMEM;
		return NULL;
	}
	o->e = ne;
	struct ok_entry *e = &ne[o->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->pattern, sizeof(e->pattern), "%s", pattern);
	e->line = line;
	e->pins = calloc(1, sizeof(*e->pins));
	if (!e->pins) {
		*rc = -ENOMEM;
		return NULL;
	}
	o->n++;
	return e;
}

static int parse_line(struct ok *o, char *s, unsigned line)
{
	char esc[128];
	char *hash = strchr(s, '#');
	if (hash)
		*hash = '\0';
	char *save = NULL;
	char *tok = strtok_r(s, " \t\r\v\f", &save);
	if (!tok)
		return 0;
	char pattern[260];
	tok = unquote(tok);
	if (strlen(tok) >= sizeof(pattern) - 1)
		return ok_fail(o, line, -EINVAL, "pattern longer than 256 bytes");
	snprintf(pattern, sizeof(pattern), "%s", tok);
	if (model_normalize_pattern(pattern))
		return ok_fail(o, line, -EINVAL,
			       "'%s' is not a host pattern (host, *.host or **.host)",
			       imp_esc(tok, esc, sizeof(esc)));
	int rc = 0;
	struct ok_entry *e = entry_for(o, pattern, line, &rc);
	if (!e)
		return rc;
	size_t npins = 0;
	while ((tok = strtok_r(NULL, " \t\r\v\f", &save)) != NULL) {
		tok = unquote(tok);
		if (!*tok)
			continue;
		uint8_t pin[32];
		if (strncmp(tok, "sha1/", 5) == 0)
			return ok_fail(
				o, line, -EINVAL,
				"sha1/ pins are not supported: pinwatch pins are SHA-256 of the "
				"public key (sha256/...)");
		if (strncmp(tok, "sha256/", 7) != 0)
			return ok_fail(o, line, -EINVAL, "pin '%s' must start with sha256/",
				       imp_esc(tok, esc, sizeof(esc)));
		if (util_pin_decode_b64(tok + 7, pin, esc, sizeof(esc)))
			return ok_fail(o, line, -EINVAL, "%s", esc);
		if (imp_pinset_add(e->pins, pin))
			return ok_fail(o, line, -EINVAL, "more than %d pins for %s",
				       IMPORTERS_MAX_PINS, pattern);
		npins++;
	}
	if (npins == 0)
		return ok_fail(o, line, -EINVAL, "pattern %s without any sha256/ pin", pattern);
	return 0;
}

int importers_parse_okhttp(const char *buf, size_t len, const char *name,
			   struct import_policies *out, char *err, size_t errlen)
{
	struct ok o = { .name = name, .err = err, .errlen = errlen };
	char msg[ERRLEN];
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (len > IMPORTERS_MAX_CONFIG)
		return util_err(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
				IMPORTERS_MAX_CONFIG);
	char *line = malloc(OKHTTP_MAX_LINE + 1);
	if (!line)
		return util_err(err, errlen, -ENOMEM, "%s: out of memory", name);
	size_t pos = 0;
	unsigned lineno = 0;
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len && !rc) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		lineno++;
		if (n > OKHTTP_MAX_LINE) {
			rc = ok_fail(&o, lineno, -EINVAL, "line longer than %d bytes",
				     OKHTTP_MAX_LINE);
			break;
		}
		if (memchr(buf + pos, '\0', n)) {
			rc = ok_fail(&o, lineno, -EINVAL, "NUL byte; not a text file");
			break;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		rc = parse_line(&o, line, lineno);
		pos += n + 1;
	}
	free(line);
	if (!rc && o.n == 0)
		rc = util_err(err, errlen, -EINVAL, "%s: no pins found", name);
	for (size_t i = 0; i < o.n && !rc; i++) {
		rc = imp_add_policy(out, o.e[i].pattern, false, true, o.e[i].pins, "okhttp", msg,
				    sizeof(msg));
		if (rc)
			rc = ok_fail(&o, o.e[i].line, rc, "%s", msg);
	}
	for (size_t i = 0; i < o.n; i++)
		free(o.e[i].pins);
	free(o.e);
	if (rc)
		return imp_fail(rc, name, out, err, errlen);
	imp_sort(out);
	return 0;
}
