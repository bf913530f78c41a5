/* Readiness engine core: small helpers, freeing inputs, patterns and the
 * policy index (coverage of a host: readiness_cover.c; acceptance of a chain:
 * readiness_accept.c). Pure: no SQLite, clock or sockets (see readiness.h). */
#include "readiness/readiness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "readiness/readiness_int.h"
#include "base/array.h"
#include "base/util.h"

/* ---- Small helpers ---------------------------------------------------- */

void readiness_opts_default(struct readiness_opts *o, time_t at)
{
	memset(o, 0, sizeof(*o));
	o->at = at;
	o->stale_after_s = 30 * 86400;
	o->drift_window_s = 7 * 86400;
	o->forecast_window_s = 120 * 86400;
}

/* Room for one more sentence: 1, 0 when the list is full (the sentence is
 * dropped, not an error), or -ENOMEM. */
static int strv_room(struct readiness_strv *sv)
{
	if (sv->n >= READINESS_MAX_REASONS)
		return 0;
	if (ARRAY_RESERVE(sv->v, sv->cap, sv->n + 1, READINESS_MAX_REASONS))
		return -ENOMEM;
	return 1;
}

int readiness_strv_add(struct readiness_strv *sv, const char *fmt, ...)
{
	int room = strv_room(sv);
	if (room <= 0)
		return room;
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	sv->v[sv->n++] = s;
	return 0;
}

int rd_sb_push(struct readiness_strv *sv, struct strbuf *sb)
{
	int room = strbuf_err(sb) ? strbuf_err(sb) : strv_room(sv);
	if (room <= 0) {
		strbuf_free(sb);
		return room;
	}
	char *d = strbuf_take(sb, NULL);
	if (!d)
		return -ENOMEM;
	sv->v[sv->n++] = d;
	return 0;
}

void readiness_strv_free(struct readiness_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

char *readiness_pin_short(const uint8_t pin[32], char *buf, size_t len)
{
	char b64[48];
	util_pin_b64(pin, b64);
	snprintf(buf, len, "sha256/%.8s...", b64);
	return buf;
}

struct strbuf rd_sb_new(void)
{
	struct strbuf sb;
	strbuf_init(&sb, RD_SB_MAX);
	return sb;
}

void rd_sb_add(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	if (rc != -E2BIG)
		return;
	/* past the cap: keep the head that fits, and clear the error */
	char cut[RD_SB_MAX + 1];
	size_t room = (sb->max < RD_SB_MAX ? sb->max : RD_SB_MAX) - strbuf_len(sb);
	strbuf_truncate(sb, strbuf_len(sb));
	va_start(ap, fmt);
	rc = vsnprintf(cut, room + 1, fmt, ap);
	va_end(ap);
	if (rc > 0)
		strbuf_add(sb, cut, (size_t)rc < room ? (size_t)rc : room);
}

void rd_sb_str(struct strbuf *sb, const char *str)
{
	size_t room = sb->max - strbuf_len(sb), len = strlen(str);
	strbuf_add(sb, str, len < room ? len : room);
}

/* "%.1f%%" without printf's floating-point path (hot: several per verdict). */
void rd_sb_pct(struct strbuf *sb, double share)
{
	double x = share * 1000.0;
	if (!(x >= 0 && x < 1e12)) {
		rd_sb_add(sb, "%.1f%%", share * 100.0);
		return;
	}
	unsigned long long t = (unsigned long long)(x + 0.5);
	char tmp[32];
	size_t n = sizeof(tmp);
	tmp[--n] = '\0';
	tmp[--n] = '%';
	tmp[--n] = (char)('0' + t % 10);
	tmp[--n] = '.';
	t /= 10;
	do {
		tmp[--n] = (char)('0' + t % 10);
		t /= 10;
	} while (t);
	rd_sb_str(sb, tmp + n);
}

void rd_sb_versions(struct strbuf *sb, const struct readiness_version_share *v, size_t n)
{
	size_t shown = n > 6 ? 5 : n;
	for (size_t i = 0; i < shown; i++) {
		if (i > 0)
			rd_sb_str(sb, i + 1 == n ? " and " : ", ");
		rd_sb_str(sb, v[i].version->version);
		rd_sb_str(sb, " (");
		if (v[i].known)
			rd_sb_pct(sb, v[i].share);
		else
			rd_sb_str(sb, "no adoption figure");
		rd_sb_str(sb, ")");
	}
	if (shown < n)
		rd_sb_add(sb, " and %zu more versions", n - shown);
}

/* ---- Freeing inputs --------------------------------------------------- */

int readiness_cert_copy(struct readiness_cert *dst, const struct readiness_cert *src)
{
	*dst = *src;
	dst->subject = src->subject ? strdup(src->subject) : NULL;
	dst->issuer = src->issuer ? strdup(src->issuer) : NULL;
	if ((src->subject && !dst->subject) || (src->issuer && !dst->issuer)) {
		readiness_cert_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void readiness_cert_free(struct readiness_cert *c)
{
	if (!c)
		return;
	free(c->subject);
	free(c->issuer);
	c->subject = c->issuer = NULL;
}

void readiness_chain_free(struct readiness_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncerts; i++)
		readiness_cert_free(&c->certs[i]);
	free(c->certs);
	c->certs = NULL;
	c->ncerts = 0;
}

void readiness_address_free(struct readiness_address *a)
{
	if (!a)
		return;
	free(a->address);
	free(a->outcome);
	readiness_chain_free(&a->presented);
	readiness_chain_free(&a->validated);
	readiness_chain_free(&a->previous);
	for (size_t i = 0; a->variants && i < a->nvariants; i++) {
		free(a->variants[i].variant);
		free(a->variants[i].outcome);
		readiness_chain_free(&a->variants[i].presented);
		readiness_chain_free(&a->variants[i].validated);
	}
	free(a->variants);
	memset(a, 0, sizeof(*a));
}

void readiness_observed_free(struct readiness_observed *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->naddrs; i++)
		readiness_address_free(&o->addrs[i]);
	free(o->addrs);
	free(o->seen);
	memset(o, 0, sizeof(*o));
}

void readiness_observations_free(struct readiness_observations *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->neps; i++)
		readiness_observed_free(&o->eps[i]);
	free(o->eps);
	memset(o, 0, sizeof(*o));
}

/* ---- Patterns --------------------------------------------------------- */

static size_t wildcard_prefix(const char *pattern, int *kind)
{
	if (strncmp(pattern, "**.", 3) == 0) {
		*kind = 2;
		return 3;
	}
	if (strncmp(pattern, "*.", 2) == 0) {
		*kind = 1;
		return 2;
	}
	*kind = 0;
	return 0;
}

/* host ends with "." base, with a non-empty part before it; returns that part's length */
static bool below(const char *host, size_t hlen, const char *base, size_t blen, size_t *plen)
{
	if (hlen < blen + 2)
		return false;
	if (host[hlen - blen - 1] != '.' || strncasecmp(host + hlen - blen, base, blen) != 0)
		return false;
	*plen = hlen - blen - 1;
	return true;
}

bool rd_covers(const struct rd_pat *p, const char *host, size_t hlen)
{
	size_t plen;
	if (p->blen == 0 || hlen == 0)
		return false;
	bool equal = hlen == p->blen && strncasecmp(host, p->base, p->blen) == 0;
	switch (p->kind) {
	case 0: /* exact, optionally with subdomains */
		return equal || (p->incl && below(host, hlen, p->base, p->blen, &plen));
	case 1: /* "*.": one label, any depth with include_subdomains */
		if (!below(host, hlen, p->base, p->blen, &plen))
			return false;
		return p->incl || memchr(host, '.', plen) == NULL;
	default: /* "**.": apex and any depth */
		return equal || below(host, hlen, p->base, p->blen, &plen);
	}
}

void rd_pat_init(struct rd_pat *p, const char *pattern, bool include_subdomains)
{
	p->base = pattern + wildcard_prefix(pattern, &p->kind);
	p->blen = strlen(p->base);
	p->incl = include_subdomains;
}

bool readiness_pattern_covers(const char *pattern, bool include_subdomains, const char *host)
{
	if (!pattern || !host)
		return false;
	struct rd_pat p;
	rd_pat_init(&p, pattern, include_subdomains);
	return rd_covers(&p, host, strlen(host));
}

int readiness_pattern_specificity(const char *pattern, bool include_subdomains)
{
	int kind;
	const char *base = pattern + wildcard_prefix(pattern, &kind);
	int labels = *base ? 1 : 0;
	for (const char *p = base; *p; p++)
		labels += *p == '.';
	int k;
	if (kind == 0)
		k = include_subdomains ? 1 : 3;
	else if (kind == 1)
		k = include_subdomains ? 1 : 2;
	else
		k = 1;
	return 4 * labels + k;
}

bool readiness_policy_enforces(const struct pin_policy *p, time_t at)
{
	if (!p->enforce || p->npins == 0)
		return false;
	return p->expires_at == 0 || at < p->expires_at;
}

/* "nsc" -> RD_SRC_NSC ...; "inventory", "api", NULL and anything else -> RD_SRC_INVENTORY. */
enum rd_src rd_src_of(const char *source)
{
	if (!source)
		return RD_SRC_INVENTORY;
	if (strcmp(source, "nsc") == 0)
		return RD_SRC_NSC;
	if (strcmp(source, "trustkit") == 0)
		return RD_SRC_TRUSTKIT;
	if (strcmp(source, "okhttp") == 0)
		return RD_SRC_OKHTTP;
	return RD_SRC_INVENTORY; /* "inventory", "api": pinwatch's own rule */
}

/* ---- Index ------------------------------------------------------------ */

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

static struct rd_bucket *bucket_find(const struct readiness_index *idx, const char *key, size_t n,
				     bool insert)
{
	size_t mask = idx->nbuckets - 1;
	for (size_t i = hash_str(key, n) & mask;; i = (i + 1) & mask) {
		struct rd_bucket *b = &idx->buckets[i];
		if (!b->key)
			return insert ? b : NULL;
		if (b->keylen == n && strncasecmp(b->key, key, n) == 0)
			return b;
	}
}

const struct rd_bucket *rd_bucket_find(const struct readiness_index *idx, const char *key, size_t n)
{
	return bucket_find(idx, key, n, false);
}

struct readiness_index *readiness_index_new(const struct inventory *inv)
{
	struct readiness_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return NULL;
	idx->inv = inv;
	size_t n = 0;
	for (size_t a = 0; a < inv->napps; a++)
		for (size_t v = 0; v < inv->apps[a].nversions; v++)
			n += inv->apps[a].versions[v].npolicies;
	idx->nbuckets = 16;
	while (idx->nbuckets < 2 * n + 1)
		idx->nbuckets *= 2;
	idx->entries = calloc(n ? n : 1, sizeof(*idx->entries));
	idx->buckets = calloc(idx->nbuckets, sizeof(*idx->buckets));
	if (!idx->entries || !idx->buckets)
		goto fail;
	for (size_t a = 0; a < inv->napps; a++) {
		const struct app *app = &inv->apps[a];
		for (size_t v = 0; v < app->nversions; v++) {
			const struct app_version *ver = &app->versions[v];
			for (size_t p = 0; p < ver->npolicies; p++) {
				const struct pin_policy *pol = &ver->policies[p];
				if (!pol->pattern)
					continue;
				int kind;
				struct rd_entry *e = &idx->entries[idx->nentries];
				e->app = (uint32_t)a;
				e->ver = (uint32_t)v;
				e->pol = (uint32_t)p;
				e->spec = readiness_pattern_specificity(pol->pattern,
									pol->include_subdomains);
				e->base = pol->pattern + wildcard_prefix(pol->pattern, &kind);
				e->kind = kind;
				e->incl = pol->include_subdomains;
				e->src = (uint8_t)rd_src_of(pol->source);
				e->baselen = strlen(e->base);
				struct rd_bucket *b = bucket_find(idx, e->base, e->baselen, true);
				if (!b->key) {
					b->key = e->base;
					b->keylen = e->baselen;
				}
				if (ARRAY_RESERVE(b->idx, b->cap, b->n + 1, ARRAY_MAX_ITEMS))
					goto fail;
				b->idx[b->n++] = (uint32_t)idx->nentries++;
			}
		}
	}
	return idx;
fail:
	readiness_index_free(idx);
	return NULL;
}

void readiness_index_free(struct readiness_index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; idx->buckets && i < idx->nbuckets; i++)
		free(idx->buckets[i].idx);
	free(idx->buckets);
	free(idx->entries);
	free(idx);
}
