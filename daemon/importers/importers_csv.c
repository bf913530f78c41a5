/* Adoption figures as CSV: the generic form and the exports teams download.
 *
 *     version,share,date            version,active_users,date
 *     4.2.0,0.31,2026-11-20         4.2.0,310000,2026-11-20
 *
 * Store exports are read by their header row (columns in any order, other
 * columns ignored):
 *
 * - Google Play Console, Download reports > Statistics > Installs, "app
 *   version" report (installs_<package>_<YYYYMM>_app_version.csv, UTF-16LE
 *   with a byte-order mark): Date, Package Name, App Version Code, ...,
 *   Active Device Installs, ... The version is the versionCode.
 * - App Store Connect Analytics Reports (App Sessions, tab-separated): Date,
 *   App Name, App Apple Identifier, App Version, Device, Platform Version,
 *   Source Type, Territory, ..., Unique Devices. Rows of one version and date
 *   (one per device, territory, ...) are added up.
 * - Firebase / Google Analytics report downloads: '#' preamble lines (with
 *   "# Start date: YYYYMMDD" / "# End date: YYYYMMDD"), then App version,
 *   Active users (or Users), optionally a Date column (YYYYMMDD). Without a
 *   Date column the figures are dated at the end date.
 *
 * See importers.h for the rules. Parsing is strict and all-or-nothing: any
 * bad row fails the whole file with its line number.
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
#include "base/array.h"
#include "base/util.h"

#define CSV_MAX_FIELD  256
#define CSV_MAX_FIELDS 64
#define VERSION_MAX    64

enum col { COL_VERSION, COL_VALUE, COL_DATE };

struct csv {
	const char *name;
	char *err;
	size_t errlen;
	char sep;
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

/* ---- encodings --------------------------------------------------------------- */

/* UTF-16 (after its byte-order mark) to UTF-8. The output has the same lines.
 * 0, -EINVAL (message names the line) or -ENOMEM. */
static int utf16_to_utf8(struct csv *c, const unsigned char *in, size_t len, bool be, char **out,
			 size_t *outlen)
{
	if (len % 2)
		return util_err(c->err, c->errlen, -EINVAL,
				"%s: UTF-16 file with an odd number of bytes (truncated?)",
				c->name);
	char *o = malloc(len / 2 * 3 + 1);
	if (!o)
		return -ENOMEM;
	size_t n = 0;
	unsigned line = 1;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t u = be ? (uint32_t)(in[i] << 8 | in[i + 1])
				: (uint32_t)(in[i + 1] << 8 | in[i]);
		if (u >= 0xd800 && u <= 0xdbff) {
			uint32_t lo = 0;
			if (i + 3 < len)
				lo = be ? (uint32_t)(in[i + 2] << 8 | in[i + 3])
					: (uint32_t)(in[i + 3] << 8 | in[i + 2]);
			if (lo < 0xdc00 || lo > 0xdfff) {
				free(o);
				return csv_fail(c, line, -EINVAL,
						"invalid UTF-16 (unpaired surrogate)");
			}
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			free(o);
			return csv_fail(c, line, -EINVAL, "invalid UTF-16 (unpaired surrogate)");
		}
		if (u == '\n')
			line++;
		if (u < 0x80) {
			o[n++] = (char)u;
		} else if (u < 0x800) {
			o[n++] = (char)(0xc0 | u >> 6);
			o[n++] = (char)(0x80 | (u & 0x3f));
		} else if (u < 0x10000) {
			o[n++] = (char)(0xe0 | u >> 12);
			o[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
			o[n++] = (char)(0x80 | (u & 0x3f));
		} else {
			o[n++] = (char)(0xf0 | u >> 18);
			o[n++] = (char)(0x80 | ((u >> 12) & 0x3f));
			o[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
			o[n++] = (char)(0x80 | (u & 0x3f));
		}
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

/* ---- fields ------------------------------------------------------------------ */

/* Split one line (no newline) into fields, RFC 4180 quoting, c->sep between
 * fields. Returns the number of fields or a negative errno with the reason. */
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
		while (i < len && line[i] != c->sep && (line[i] == ' ' || line[i] == '\t'))
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
			while (i < len && line[i] != c->sep && (line[i] == ' ' || line[i] == '\t'))
				i++;
			if (i < len && line[i] != c->sep)
				return csv_fail(c, lineno, -EINVAL, "text after a closing quote");
		} else {
			while (i < len && line[i] != c->sep) {
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
		i++; /* the separator */
	}
toolong:
	return csv_fail(c, lineno, -EINVAL, "field longer than %d bytes", CSV_MAX_FIELD);
}

/* ---- header ------------------------------------------------------------------ */

/* Column names, lower case. Counts by preference: the first one present is read. */
/* Version columns: names first; a code column is read only when there is no name column. */
static const char *const version_names[] = { "version",	     "app version",	 "app_version",
					     "version name", "app version name", "app version code",
					     "version code" };
#define VERSION_FIRST_CODE 5
static const char *const date_names[] = { "date", "at", "day", "event_date" };
static const char *const count_names[] = { "active_users",   "active device installs",
					   "unique devices", "active users",
					   "users",	     "active devices" };

static int name_index(const char *h, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(h, names[i]))
			return (int)i;
	return -1;
}

#define NAMES(a) a, sizeof(a) / sizeof(a[0])

struct hdr {
	int map[3]; /* column of version, value, date (-1 none) */
	bool users, codes;
	int ncols;
	const char *format;
};

static bool has_col(char f[CSV_MAX_FIELDS][CSV_MAX_FIELD + 1], int nf, const char *name)
{
	for (int i = 0; i < nf; i++)
		if (!strcasecmp(f[i], name))
			return true;
	return false;
}

/* Recognise a header line: 1 header (columns mapped), 0 data, <0 error. */
static int header(struct csv *c, char f[CSV_MAX_FIELDS][CSV_MAX_FIELD + 1], int nf, unsigned lineno,
		  bool have_end_date, struct hdr *h)
{
	int ver = -1, code = -1, date = -1, share = -1, count = -1, rank = 1000;
	bool any = false;
	for (int i = 0; i < nf; i++) {
		const char *n = f[i];
		int *slot = NULL, r;
		if ((r = name_index(n, NAMES(version_names))) >= 0)
			slot = r >= VERSION_FIRST_CODE ? &code : &ver;
		else if (name_index(n, NAMES(date_names)) >= 0)
			slot = &date;
		else if (!strcasecmp(n, "share"))
			slot = &share;
		else if ((r = name_index(n, NAMES(count_names))) >= 0) {
			any = true;
			for (int k = 0; k < i; k++)
				if (!strcasecmp(f[k], n))
					return csv_fail(c, lineno, -EINVAL,
							"header names column '%.64s' twice", n);
			if (r < rank) {
				rank = r;
				count = i;
			}
			continue;
		}
		if (!slot)
			continue; /* a column pinwatch does not read */
		any = true;
		if (*slot >= 0)
			return csv_fail(c, lineno, -EINVAL,
					"header names column '%.64s' twice (also '%.64s')", n,
					f[*slot]);
		*slot = i;
	}
	if (!any)
		return 0;
	int value = share >= 0 ? share : count;
	h->codes = ver < 0 && code >= 0;
	if (ver < 0)
		ver = code;
	if (ver < 0 || value < 0 || (date < 0 && !have_end_date))
		return csv_fail(
			c, lineno, -EINVAL,
			"header has no %s column (pinwatch reads: version, App Version or App "
			"Version "
			"Code; share, or a count: active_users, Active Device Installs, Unique "
			"Devices, Active users, Users, Active Devices; date, Date or event_date)",
			ver < 0	    ? "version"
			: value < 0 ? "share or count"
				    : "date");
	h->map[COL_VERSION] = ver;
	h->map[COL_VALUE] = value;
	h->map[COL_DATE] = date;
	h->users = share < 0;
	h->ncols = nf;
	if (has_col(f, nf, "package name") && h->codes)
		h->format = "Google Play Console statistics";
	else if (has_col(f, nf, "app apple identifier") || has_col(f, nf, "unique devices"))
		h->format = "App Store Connect analytics";
	else if (have_end_date || has_col(f, nf, "active users"))
		h->format = "Firebase / Google Analytics";
	else
		h->format = "generic";
	return 1;
}

/* ---- values ------------------------------------------------------------------ */

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

/* "310000" or, as spreadsheets and consoles write it, "310,000". */
static int parse_count(const char *s, long long *out)
{
	char buf[CSV_MAX_FIELD + 1];
	size_t n = strlen(s), o = 0;
	if (n > CSV_MAX_FIELD)
		return -EINVAL;
	const char *comma = strchr(s, ',');
	if (comma) { /* 1-3 digits, then groups of ",ddd" */
		size_t lead = (size_t)(comma - s);
		if (lead < 1 || lead > 3 || strspn(s, "0123456789") != lead)
			return -EINVAL;
		for (size_t i = lead; i < n; i += 4)
			if (s[i] != ',' || i + 4 > n || strspn(s + i + 1, "0123456789") < 3)
				return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] != ',')
			buf[o++] = s[i];
	buf[o] = '\0';
	return util_parse_int(buf, INT64_MIN, INT64_MAX, out);
}

/* YYYY-MM-DD, or YYYYMMDD as Google Analytics writes it. */
static int parse_date(const char *s, char out[MODEL_DATE_LEN], time_t *t)
{
	char iso[16];
	if (strlen(s) == 8 && strspn(s, "0123456789") == 8) {
		snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
		s = iso;
	}
	return imp_date(s, out, t);
}

/* Rows "(not set)" and "(other)" of analytics exports: users of no known version. */
static bool unnamed_version(const char *v)
{
	return !strcasecmp(v, "(not set)") || !strcasecmp(v, "(other)");
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

/* Per date: duplicates (added up when @sum), derived shares, sums. Rows
 * merged into an earlier one and unnamed versions are dropped afterwards. */
static int check_dates(struct csv *c, struct adoption_csv *a, bool sum_dups)
{
	if (a->nrows == 0)
		return 0;
	struct adoption_csv_row **idx = calloc(a->nrows, sizeof(*idx));
	uint8_t *drop = calloc(a->nrows, 1);
	if (!idx || !drop) {
		free(idx);
		free(drop);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->nrows; i++)
		idx[i] = &a->rows[i];
	qsort(idx, a->nrows, sizeof(*idx), row_cmp);
	int rc = 0;
	for (size_t s = 0; s < a->nrows && !rc;) {
		size_t e = s, keep = s;
		int64_t total = 0;
		while (e < a->nrows && strcmp(idx[e]->at, idx[s]->at) == 0) {
			struct adoption_csv_row *r = idx[e];
			if (a->from_users) {
				if (r->active_users > INT64_MAX - total) {
					rc = csv_fail(c, r->line, -EINVAL,
						      "active users of %s overflow", r->at);
					break;
				}
				total += r->active_users;
			}
			if (e > s && strcmp(r->version, idx[keep]->version) == 0) {
				if (!sum_dups || !a->from_users) {
					char esc[160];
					rc = csv_fail(
						c, r->line, -EINVAL,
						"version %s listed twice for %s (also line %u)",
						imp_esc(r->version, esc, sizeof(esc)), r->at,
						idx[keep]->line);
					break;
				}
				idx[keep]->active_users += r->active_users;
				drop[r - a->rows] = 1;
			} else {
				keep = e;
			}
			e++;
		}
		if (rc)
			break;
		double sum = 0;
		for (size_t i = s; i < e; i++) {
			if (drop[idx[i] - a->rows])
				continue;
			if (a->from_users)
				idx[i]->share =
					total > 0 ? (double)idx[i]->active_users / (double)total
						  : 0.0;
			sum += idx[i]->share;
			if (unnamed_version(idx[i]->version)) {
				drop[idx[i] - a->rows] = 1;
				a->unnamed++;
			}
		}
		if (sum > 1.0 + 1e-9)
			rc = util_err(c->err, c->errlen, -EINVAL,
				      "%s: shares for %s sum to %.6f, above 1 (lines %u..%u)",
				      c->name, idx[s]->at, sum, idx[s]->line, idx[e - 1]->line);
		s = e;
	}
	free(idx);
	if (!rc) { /* compact, keeping file order */
		size_t o = 0;
		for (size_t i = 0; i < a->nrows; i++) {
			if (drop[i]) {
				free(a->rows[i].version);
				continue;
			}
			a->rows[o++] = a->rows[i];
		}
		a->nrows = o;
	}
	free(drop);
	return rc;
}

static const char *map_version(const struct adoption_csv_opts *opts, const char *v)
{
	for (size_t i = 0; opts && i < opts->ncodes; i++)
		if (!strcmp(opts->codes[i].code, v))
			return opts->codes[i].version;
	return v;
}

static int add_row(struct csv *c, struct adoption_csv *a, size_t *cap,
		   char f[CSV_MAX_FIELDS][CSV_MAX_FIELD + 1], const int map[3],
		   const char *end_date, const struct adoption_csv_opts *opts, unsigned lineno,
		   bool *fractional)
{
	const char *ver = f[map[COL_VERSION]], *val = f[map[COL_VALUE]];
	const char *date = map[COL_DATE] >= 0 ? f[map[COL_DATE]] : end_date;
	char esc[160];
	if (!*ver)
		return csv_fail(c, lineno, -EINVAL, "empty version");
	ver = map_version(opts, ver);
	if (strlen(ver) > VERSION_MAX)
		return csv_fail(c, lineno, -EINVAL, "version longer than %d bytes", VERSION_MAX);
	if (!xmlCheckUTF8((const unsigned char *)ver))
		return csv_fail(c, lineno, -EINVAL, "version is not valid UTF-8");
	if (util_has_ctrl(ver))
		return csv_fail(c, lineno, -EINVAL, "control character in version");
	if (a->nrows >= IMPORTERS_MAX_ROWS)
		return csv_fail(c, lineno, -E2BIG, "more than %d rows", IMPORTERS_MAX_ROWS);
	if (ARRAY_RESERVE(a->rows, *cap, a->nrows + 1, IMPORTERS_MAX_ROWS))
		return -ENOMEM;
	struct adoption_csv_row *r = &a->rows[a->nrows];
	memset(r, 0, sizeof(*r));
	r->line = lineno;
	r->active_users = -1;
	if (parse_date(date, r->at, &r->at_time))
		return csv_fail(c, lineno, -EINVAL, "date '%s' is not YYYY-MM-DD or YYYYMMDD",
				imp_esc(date, esc, sizeof(esc)));
	if (!*val)
		return csv_fail(c, lineno, -EINVAL, "empty value");
	long long u;
	if (parse_count(val, &u) == 0) {
		/* -2: negative (reported once the form is known) */
		r->active_users = u < 0 ? -2 : u;
		r->share = (double)u;
	} else {
		/* Keep the raw value form in share for now; the whole file decides. */
		if (looks_fractional(val))
			*fractional = true;
		if (parse_share(val, &r->share))
			return csv_fail(c, lineno, -EINVAL, "'%s' is not a number",
					imp_esc(val, esc, sizeof(esc)));
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

/* "# End date: 20261127" (Google Analytics preamble) into @out. */
static void preamble_date(const char *line, size_t n, char out[16])
{
	static const char key[] = "# End date:";
	if (n < sizeof(key) || strncasecmp(line, key, sizeof(key) - 1))
		return;
	size_t i = sizeof(key) - 1, o = 0;
	while (i < n && line[i] == ' ')
		i++;
	while (i < n && o < 15 && line[i] != ' ' && line[i] != '\r')
		out[o++] = line[i++];
	out[o] = '\0';
}

int importers_parse_adoption_csv_opts(const char *buf, size_t len, const char *name,
				      const struct adoption_csv_opts *opts,
				      struct adoption_csv *out, char *err, size_t errlen)
{
	struct csv c = { .name = name, .err = err, .errlen = errlen, .sep = ',' };
	char(*f)[CSV_MAX_FIELD + 1] = NULL;
	struct hdr h = { .map = { COL_VERSION, COL_VALUE, COL_DATE } };
	bool have_header = false, fractional = false, first = true, in_data = false;
	char end_date[16] = "";
	char *conv = NULL;
	size_t cap = 0, pos = 0;
	unsigned lineno = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->format = "generic";
	if (len > IMPORTERS_MAX_CSV)
		return util_err(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
				IMPORTERS_MAX_CSV);
	const unsigned char *u = (const unsigned char *)buf;
	if (len >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff))) {
		size_t clen = 0;
		rc = utf16_to_utf8(&c, u + 2, len - 2, u[0] == 0xfe, &conv, &clen);
		if (rc)
			return rc == -ENOMEM ? util_err(err, errlen, rc, "%s: out of memory", name)
					     : rc;
		buf = conv;
		len = clen;
		out->encoding = u[0] == 0xfe ? "UTF-16BE" : "UTF-16LE";
	} else if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		pos = 3;
	}
	f = malloc(CSV_MAX_FIELDS * sizeof(*f));
	if (!f) {
		free(conv);
		return util_err(err, errlen, -ENOMEM, "%s: out of memory", name);
	}
	while (pos < len && !rc) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *line = buf + pos;
		pos += n + 1;
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\0', n)) {
			bool utf16 = n > 1 && (line[0] == '\0' || line[1] == '\0');
			rc = csv_fail(&c, lineno, -EINVAL, "NUL byte; not a text file%s",
				      utf16 ? " (UTF-16 without a byte-order mark?)" : "");
			break;
		}
		size_t k = 0;
		while (k < n && (line[k] == ' ' || line[k] == '\t'))
			k++;
		if (k == n)
			continue; /* blank line */
		if (line[k] == '#') {
			/* Google Analytics: a preamble, and after the data the next table */
			if (in_data && *end_date)
				break;
			preamble_date(line + k, n - k, end_date);
			continue;
		}
		if (first && memchr(line, '\t', n) && !memchr(line, ',', n))
			c.sep = '\t';
		int nf = split(&c, line, n, lineno, f);
		if (nf < 0) {
			rc = nf;
			break;
		}
		if (first) {
			first = false;
			int hr = header(&c, f, nf, lineno, *end_date != '\0', &h);
			if (hr < 0) {
				rc = hr;
				break;
			}
			if (hr == 1) {
				have_header = true;
				continue;
			}
			h.ncols = 3;
		}
		in_data = true;
		if (nf != (have_header ? h.ncols : 3)) {
			rc = have_header ? csv_fail(&c, lineno, -EINVAL,
						    "expected %d columns as in the header, got %d",
						    h.ncols, nf)
					 : csv_fail(&c, lineno, -EINVAL,
						    "expected 3 columns (version, share or "
						    "active_users, "
						    "date), got %d",
						    nf);
			break;
		}
		rc = add_row(&c, out, &cap, f, h.map, end_date, opts, lineno, &fractional);
	}
	free(f);
	free(conv);
	if (!rc && out->nrows == 0)
		rc = util_err(err, errlen, -EINVAL, "%s: no adoption rows", name);
	if (!rc) {
		out->from_users = have_header ? h.users : !fractional;
		out->version_codes = h.codes;
		if (have_header)
			out->format = h.format;
		rc = check_values(&c, out);
	}
	/* Exports break one version's figure down by device, territory...: those
	 * rows are added up. The three-column form lists a version once a date. */
	if (!rc)
		rc = check_dates(&c, out, (have_header && h.ncols > 3) || (opts && opts->ncodes));
	if (!rc && out->nrows == 0)
		rc = util_err(err, errlen, -EINVAL, "%s: no adoption rows of a named version",
			      name);
	if (rc) {
		if (rc == -ENOMEM)
			util_err(err, errlen, rc, "%s: out of memory", name);
		importers_adoption_free(out);
	}
	return rc;
}

int importers_parse_adoption_csv(const char *buf, size_t len, const char *name,
				 struct adoption_csv *out, char *err, size_t errlen)
{
	return importers_parse_adoption_csv_opts(buf, len, name, NULL, out, err, errlen);
}
