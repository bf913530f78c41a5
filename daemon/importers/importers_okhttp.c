/* OkHttp CertificatePinner pins.
 *
 * Two inputs are read. Kotlin or Java source (a whole file or a pasted
 * snippet): every CertificatePinner.Builder add(pattern, pins...) call, see
 * importers_okhttp_src.c. And the line form, one pattern per line:
 *
 *     # comment
 *     api.example.com      sha256/AAAA...=
 *     api.example.com      sha256/BBBB...=        (adds to the same policy)
 *     **.cdn.example.com   sha256/CCCC...= sha256/DDDD...=
 *
 * mirroring CertificatePinner.Builder().add(pattern, pins...); tokens may be
 * wrapped in double quotes and followed by a comma. Patterns keep OkHttp's
 * forms ("*." exactly one label, "**." any depth including the apex). Only
 * sha256/ pins: OkHttp also accepts sha1/, which pinwatch cannot evaluate, so
 * such a file is refused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "importers/okhttp_int.h"
#include "base/array.h"
#include "base/util.h"

#define OKHTTP_MAX_LINE 16384

int ok_fail(struct ok *o, unsigned line, int rc, const char *fmt, ...)
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

struct ok_entry *ok_entry_for(struct ok *o, const char *text, unsigned line, int *rc)
{
	char esc[128], pattern[OKHTTP_PATTERN_MAX + 4];
	if (strlen(text) > OKHTTP_PATTERN_MAX) {
		*rc = ok_fail(o, line, -EINVAL, "pattern longer than %d bytes", OKHTTP_PATTERN_MAX);
		return NULL;
	}
	snprintf(pattern, sizeof(pattern), "%s", text);
	if (model_normalize_pattern(pattern)) {
		*rc = ok_fail(o, line, -EINVAL,
			      "'%s' is not a host pattern (host, *.host or **.host)",
			      imp_esc(text, esc, sizeof(esc)));
		return NULL;
	}
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->e[i].pattern, pattern) == 0)
			return &o->e[i];
	if (o->n >= IMPORTERS_MAX_POLICIES) {
		*rc = ok_fail(o, line, -E2BIG, "more than %d patterns", IMPORTERS_MAX_POLICIES);
		return NULL;
	}
	size_t cap = o->n; /* no capacity kept: the array grows on every pattern */
	if (ARRAY_RESERVE(o->e, cap, o->n + 1, IMPORTERS_MAX_POLICIES)) {
		*rc = -ENOMEM;
		return NULL;
	}
	struct ok_entry *e = &o->e[o->n];
	memset(e, 0, sizeof(*e));
	memcpy(e->pattern, pattern, sizeof(e->pattern));
	e->line = line;
	e->pins = calloc(1, sizeof(*e->pins));
	if (!e->pins) {
		*rc = -ENOMEM;
		return NULL;
	}
	o->n++;
	return e;
}

int ok_add_pin(struct ok *o, struct ok_entry *e, const char *tok, unsigned line)
{
	char esc[128];
	uint8_t pin[32];
	if (strncmp(tok, "sha1/", 5) == 0)
		return ok_fail(o, line, -EINVAL,
			       "%.60s: pinwatch needs sha256 pins (sha256/<base64> of the public "
			       "key); OkHttp's sha1/ pins are not supported",
			       imp_esc(tok, esc, sizeof(esc)));
	if (strncmp(tok, "sha256/", 7) != 0)
		return ok_fail(o, line, -EINVAL, "pin '%s' must start with sha256/",
			       imp_esc(tok, esc, sizeof(esc)));
	if (util_pin_decode_b64(tok + 7, pin, esc, sizeof(esc)))
		return ok_fail(o, line, -EINVAL, "%s", esc);
	if (imp_pinset_add(e->pins, pin))
		return ok_fail(o, line, -EINVAL, "more than %d pins for %s", IMPORTERS_MAX_PINS,
			       e->pattern);
	return 0;
}

static int parse_line(struct ok *o, char *s, unsigned line)
{
	char *hash = strchr(s, '#');
	if (hash)
		*hash = '\0';
	char *save = NULL;
	char *tok = strtok_r(s, " \t\r\v\f", &save);
	if (!tok)
		return 0;
	tok = unquote(tok);
	int rc = 0;
	struct ok_entry *e = ok_entry_for(o, tok, line, &rc);
	if (!e)
		return rc;
	size_t npins = 0;
	while ((tok = strtok_r(NULL, " \t\r\v\f", &save)) != NULL) {
		tok = unquote(tok);
		if (!*tok)
			continue;
		rc = ok_add_pin(o, e, tok, line);
		if (rc)
			return rc;
		npins++;
	}
	if (npins == 0)
		return ok_fail(o, line, -EINVAL, "pattern %s without any sha256/ pin", e->pattern);
	return 0;
}

static int parse_lines(struct ok *o, const char *buf, size_t len)
{
	char *line = malloc(OKHTTP_MAX_LINE + 1);
	if (!line)
		return -ENOMEM;
	size_t pos = 0;
	unsigned lineno = 0;
	int rc = 0;
	while (pos < len && !rc) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		lineno++;
		if (n > OKHTTP_MAX_LINE) {
			rc = ok_fail(o, lineno, -EINVAL, "line longer than %d bytes",
				     OKHTTP_MAX_LINE);
			break;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		rc = parse_line(o, line, lineno);
		pos += n + 1;
	}
	free(line);
	return rc;
}

int importers_parse_okhttp(const char *buf, size_t len, const char *name,
			   struct import_policies *out, char *err, size_t errlen)
{
	struct ok o = { .name = name, .err = err, .errlen = errlen, .out = out };
	char msg[ERRLEN];
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (len > IMPORTERS_MAX_CONFIG)
		return util_err(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
				IMPORTERS_MAX_CONFIG);
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		buf += 3;
		len -= 3;
	}
	const char *nul = memchr(buf, '\0', len);
	if (nul) {
		unsigned line = 1;
		for (const char *p = buf; p < nul; p++)
			line += *p == '\n';
		return ok_fail(&o, line, -EINVAL, "NUL byte; not a text file");
	}
	bool source = ok_looks_like_source(buf, len);
	rc = source ? ok_parse_source(&o, buf, len) : parse_lines(&o, buf, len);
	if (!rc && o.n == 0)
		rc = util_err(err, errlen, -EINVAL,
			      source ? "%s: no CertificatePinner.Builder().add(pattern, pins...) "
				       "call with pins found"
				     : "%s: no pins found",
			      name);
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
