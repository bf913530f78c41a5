/* Adoption figures as CSV (store console / analytics exports).
 *
 *     version,share,date            version,active_users,date
 *     4.2.0,0.31,2026-11-20         4.2.0,310000,2026-11-20
 *
 * See importers.h for the header and form rules. Parsing is strict and
 * all-or-nothing: any bad row fails the whole file with its line number.
 */
#include <errno.h>
#include <libxml/xmlstring.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "base/util.h"

#define CSV_MAX_FIELD  256
#define CSV_MAX_FIELDS 8
#define VERSION_MAX    64

enum col { COL_VERSION, COL_VALUE, COL_DATE };

struct csv {
	const char *name;
	char *err;
	size_t errlen;
};

static int csv_fail(struct csv *c, unsigned line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int csv_fail(struct csv *c, unsigned line, int rc, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return util_err(c->err, c->errlen, rc, "%s:%u: %s", c->name, line, msg);
}

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	memmove(s, s + i, n - i + 1);
}

/* Split one line (no newline) into fields, RFC 4180 quoting. Returns the
 * number of fields or a negative errno with the reason in @c. */
static int split(struct csv *c, const char *line, size_t len, unsigned lineno,
		 char f[CSV_MAX_FIELDS][CSV_MAX_FIELD + 1])
{
	int nf = 0;
	size_t i = 0;
	for (;;) {
		if (nf >= CSV_MAX_FIELDS)
			return csv_fail(c, lineno, -EINVAL, "more than %d columns", CSV_MAX_FIELDS);
		size_t o = 0;
		char *out = f[nf];
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i < len && line[i] == '"') {
			i++;
			for (;;) {
				if (i >= len)
					return csv_fail(
						c, lineno, -EINVAL,
						"unterminated quoted field (a quoted field may "
						"not span lines)");
				if (line[i] == '"') {
					if (i + 1 < len && line[i + 1] == '"') {
						i += 2;
						if (o >= CSV_MAX_FIELD)
							goto toolong;
						out[o++] = '"';
						continue;
					}
					i++;
					break;
				}
				if (o >= CSV_MAX_FIELD)
					goto toolong;
				out[o++] = line[i++];
			}
			while (i < len && (line[i] == ' ' || line[i] == '\t'))
				i++;
			if (i < len && line[i] != ',')
				return csv_fail(c, lineno, -EINVAL, "text after a closing quote");
		} else {
			while (i < len && line[i] != ',') {
				if (line[i] == '"')
					return csv_fail(c, lineno, -EINVAL,
							"quote inside an unquoted field");
				if (o >= CSV_MAX_FIELD)
					goto toolong;
				out[o++] = line[i++];
			}
		}
		out[o] = '\0';
		trim(out);
		nf++;
		if (i >= len)
			return nf;
		i++; /* the comma */
	}
toolong:
	return csv_fail(c, lineno, -EINVAL, "field longer than %d bytes", CSV_MAX_FIELD);
}

/* Recognise a header line; 1 header (columns mapped into @map), 0 data, <0 error. */
static int header(struct csv *c, char f[CSV_MAX_FIELDS][CSV_MAX_FIELD + 1], int nf, unsigned lineno,
		  int map[3], bool *users)
{
	int seen[3] = { -1, -1, -1 };
	bool any = false;
	for (int i = 0; i < nf; i++) {
		const char *h = f[i];
		if (!strcasecmp(h, "version") || !strcasecmp(h, "share") ||
		    !strcasecmp(h, "active_users") || !strcasecmp(h, "date") ||
		    !strcasecmp(h, "at"))
			any = true;
	}
	if (!any)
		return 0;
	if (nf != 3)
		return csv_fail(c, lineno, -EINVAL,
				"header must name 3 columns: version, share or active_users, date");
	for (int i = 0; i < nf; i++) {
		const char *h = f[i];
		int col;
		if (!strcasecmp(h, "version"))
			col = COL_VERSION;
		else if (!strcasecmp(h, "share") || !strcasecmp(h, "active_users")) {
			col = COL_VALUE;
			*users = !strcasecmp(h, "active_users");
		} else if (!strcasecmp(h, "date") || !strcasecmp(h, "at"))
			col = COL_DATE;
		else
			return csv_fail(c, lineno, -EINVAL,
					"unknown header column '%.64s' (expected version, share or "
					"active_users, date)",
					h);
		if (seen[col] >= 0)
			return csv_fail(c, lineno, -EINVAL, "header names column '%.64s' twice", h);
		seen[col] = i;
	}
	memcpy(map, seen, sizeof(seen));
	return 1;
}

static bool looks_fractional(const char *s)
{
	return strpbrk(s, ".eE%") != NULL;
}

static int parse_share(const char *s, double *out)
{
	char buf[CSV_MAX_FIELD + 1];
	size_t n = strnlen(s, CSV_MAX_FIELD);
	double scale = 1.0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (n && buf[n - 1] == '%') {
		buf[n - 1] = '\0';
		trim(buf);
		scale = 100.0;
	}
	double v;
	if (util_parse_double(buf, -1e300, 1e300, &v))
		return -EINVAL;
	*out = v / scale;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct adoption_csv_row *x = *(const struct adoption_csv_row *const *)a;
	const struct adoption_csv_row *y = *(const struct adoption_csv_row *const *)b;
	int r = strcmp(x->at, y->at);
	if (r)
		return r;
	r = strcmp(x->version, y->version);
	if (r)
		return r;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Per date: duplicates, derived shares, sums. */
static int check_dates(struct csv *c, struct adoption_csv *a)
{
	if (a->nrows == 0)
		return 0;
	struct adoption_csv_row **idx = calloc(a->nrows, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < a->nrows; i++)
		idx[i] = &a->rows[i];
	qsort(idx, a->nrows, sizeof(*idx), row_cmp);
	int rc = 0;
	for (size_t s = 0; s < a->nrows && !rc;) {
		size_t e = s;
		int64_t total = 0;
		while (e < a->nrows && strcmp(idx[e]->at, idx[s]->at) == 0) {
			if (e > s && strcmp(idx[e]->version, idx[e - 1]->version) == 0) {
				char esc[160];
				rc = csv_fail(c, idx[e]->line, -EINVAL,
					      "version %s listed twice for %s (also line %u)",
					      imp_esc(idx[e]->version, esc, sizeof(esc)),
					      idx[e]->at, idx[e - 1]->line);
				break;
			}
			if (a->from_users) {
				if (idx[e]->active_users > INT64_MAX - total) {
					rc = csv_fail(c, idx[e]->line, -EINVAL,
						      "active users of %s overflow", idx[e]->at);
					break;
				}
				total += idx[e]->active_users;
			}
			e++;
		}
		if (rc)
			break;
		double sum = 0;
		for (size_t i = s; i < e; i++) {
			if (a->from_users)
				idx[i]->share =
					total > 0 ? (double)idx[i]->active_users / (double)total
						  : 0.0;
			sum += idx[i]->share;
		}
		if (sum > 1.0 + 1e-9)
			rc = util_err(c->err, c->errlen, -EINVAL,
				      "%s: shares for %s sum to %.6f, above 1 (lines %u..%u)",
				      c->name, idx[s]->at, sum, idx[s]->line, idx[e - 1]->line);
		s = e;
	}
	free(idx);
	return rc;
}

static int add_row(struct csv *c, struct adoption_csv *a, size_t *cap,
		   char f[CSV_MAX_FIELDS][CSV_MAX_FIELD + 1], const int map[3], unsigned lineno,
		   bool *fractional)
{
	const char *ver = f[map[COL_VERSION]], *val = f[map[COL_VALUE]], *date = f[map[COL_DATE]];
	char esc[160];
	if (!*ver)
		return csv_fail(c, lineno, -EINVAL, "empty version");
	if (strlen(ver) > VERSION_MAX)
		return csv_fail(c, lineno, -EINVAL, "version longer than %d bytes", VERSION_MAX);
	if (!xmlCheckUTF8((const unsigned char *)ver))
		return csv_fail(c, lineno, -EINVAL, "version is not valid UTF-8");
	for (const char *p = ver; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return csv_fail(c, lineno, -EINVAL, "control character in version");
	if (a->nrows >= IMPORTERS_MAX_ROWS)
		return csv_fail(c, lineno, -E2BIG, "more than %d rows", IMPORTERS_MAX_ROWS);
	if (a->nrows == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct adoption_csv_row *nr = realloc(a->rows, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		a->rows = nr;
		*cap = ncap;
	}
	struct adoption_csv_row *r = &a->rows[a->nrows];
	memset(r, 0, sizeof(*r));
	r->line = lineno;
	r->active_users = -1;
	if (imp_date(date, r->at, &r->at_time))
		return csv_fail(c, lineno, -EINVAL, "date '%s' is not YYYY-MM-DD",
				imp_esc(date, esc, sizeof(esc)));
	if (!*val)
		return csv_fail(c, lineno, -EINVAL, "empty value");
	/* Keep the raw value form in share for now; the whole file decides. */
	if (looks_fractional(val))
		*fractional = true;
	if (parse_share(val, &r->share))
		return csv_fail(c, lineno, -EINVAL, "'%s' is not a number",
				imp_esc(val, esc, sizeof(esc)));
	if (!looks_fractional(val)) {
		long long u;
		/* -1: not a whole number, -2: negative (reported once the form is known) */
		if (util_parse_int(val, INT64_MIN, INT64_MAX, &u) == 0)
			r->active_users = u < 0 ? -2 : u;
	}
	r->version = strdup(ver);
	if (!r->version)
		return -ENOMEM;
	a->nrows++;
	return 0;
}

/* Check values against the file's form once it is known. */
static int check_values(struct csv *c, struct adoption_csv *a)
{
	for (size_t i = 0; i < a->nrows; i++) {
		struct adoption_csv_row *r = &a->rows[i];
		if (a->from_users) {
			if (r->active_users == -2)
				return csv_fail(c, r->line, -EINVAL, "negative active users");
			if (r->active_users < 0)
				return csv_fail(c, r->line, -EINVAL,
						"active users must be a whole number");
			r->share = 0;
		} else {
			r->active_users = -1;
			if (r->share < 0)
				return csv_fail(c, r->line, -EINVAL, "negative share %g", r->share);
			if (r->share > 1.0)
				return csv_fail(
					c, r->line, -EINVAL,
					"share %g above 1 (shares are fractions; write 31%% or "
					"0.31)",
					r->share);
		}
	}
	return 0;
}

int importers_parse_adoption_csv(const char *buf, size_t len, const char *name,
				 struct adoption_csv *out, char *err, size_t errlen)
{
	struct csv c = { .name = name, .err = err, .errlen = errlen };
	char(*f)[CSV_MAX_FIELD + 1] = NULL;
	int map[3] = { COL_VERSION, COL_VALUE, COL_DATE };
	bool have_header = false, header_users = false, fractional = false, first = true;
	size_t cap = 0, pos = 0;
	unsigned lineno = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > IMPORTERS_MAX_CSV)
		return util_err(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
				IMPORTERS_MAX_CSV);
	f = malloc(CSV_MAX_FIELDS * sizeof(*f));
	if (!f)
		return util_err(err, errlen, -ENOMEM, "%s: out of memory", name);
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len && !rc) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *line = buf + pos;
		pos += n + 1;
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\0', n)) {
			rc = csv_fail(&c, lineno, -EINVAL, "NUL byte; not a text file");
			break;
		}
		size_t k = 0;
		while (k < n && (line[k] == ' ' || line[k] == '\t'))
			k++;
		if (k == n)
			continue; /* blank line */
		int nf = split(&c, line, n, lineno, f);
		if (nf < 0) {
			rc = nf;
			break;
		}
		if (first) {
			first = false;
			int h = header(&c, f, nf, lineno, map, &header_users);
			if (h < 0) {
				rc = h;
				break;
			}
			if (h == 1) {
				have_header = true;
				continue;
			}
		}
		if (nf != 3) {
			rc = csv_fail(
				&c, lineno, -EINVAL,
				"expected 3 columns (version, share or active_users, date), got %d",
				nf);
			break;
		}
		rc = add_row(&c, out, &cap, f, map, lineno, &fractional);
	}
	free(f);
	if (!rc && out->nrows == 0)
		rc = util_err(err, errlen, -EINVAL, "%s: no adoption rows", name);
	if (!rc) {
		out->from_users = have_header ? header_users : !fractional;
		rc = check_values(&c, out);
	}
	if (!rc)
		rc = check_dates(&c, out);
	if (rc) {
		if (rc == -ENOMEM)
			util_err(err, errlen, rc, "%s: out of memory", name);
		importers_adoption_free(out);
	}
	return rc;
}
