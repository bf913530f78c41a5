/* OkHttp CertificatePinner configuration written in Kotlin or Java.
 *
 * Not a compiler: a bounded tokenizer and a small evaluator that reads what
 * real apps write (see tests/data/okhttp/):
 *
 *     CertificatePinner.Builder()
 *         .add("api.example.com", "sha256/AAAA...=", "sha256/BBBB...=")  // comment
 *         .add(
 *             CDN_PATTERN,            // const val / static final String of this file
 *             *CDN_PINS,              // arrayOf(...) / listOf(...) / { ... } of this file
 *         )
 *         .build()
 *
 * The add() calls read are those chained on CertificatePinner.Builder()
 * (also inside .apply { add(...) } and on a variable holding the builder),
 * any add() that passes a "sha256/" or "sha1/" string after its first
 * argument, and every add() of a pasted snippet that never names
 * CertificatePinner. Arguments may be string literals, constants of the
 * same file (Kotlin val / const val, also in objects and companion objects;
 * Java String variables and static final fields; arrays and lists of
 * literals), '+' of those, and Kotlin templates naming such constants.
 * Anything else (a parameter, BuildConfig, a function call) cannot be known
 * from the file: the call is named by line and the import fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "importers/okhttp_int.h"
#include "base/util.h"

#define SRC_MAX_DECLS	 8192
#define SRC_MAX_STR	 1024 /* an evaluated string (host, pin, concatenation) */
#define SRC_MAX_LIST	 IMPORTERS_MAX_PINS
#define SRC_MAX_DEPTH	 16	    /* constants naming constants; nested brackets in args */
#define SRC_VAL_BUDGET	 (4u << 20) /* bytes of evaluated constant values */
#define SRC_MAX_ARGS	 (IMPORTERS_MAX_PINS + 2)
#define SRC_MAX_APPLY	 256
#define SRC_MAX_BUILDERS 64

/* An evaluated value: one string, or a list (arrayOf, listOf, { }). */
struct val {
	char *s[SRC_MAX_LIST];
	size_t n;
	bool list;
};

enum dstate { D_NEW, D_BUSY, D_OK, D_BAD };

struct decl {
	uint32_t name; /* token index of the name */
	uint32_t expr; /* token index where the initializer starts */
	uint8_t state;
	bool is_var; /* Kotlin var: may change, not read */
	struct val v;
	char why[160];
};

struct src {
	struct ok *o;
	const char *buf;
	size_t len;
	const struct tok *t; /* the tokens of ok_lex(), and its arena of literals */
	size_t nt;
	const char *arena;
	struct decl *d;
	size_t nd;
	size_t budget;
	uint8_t *is_call; /* per token: 1 pinner add(), 2 other add() */
	int32_t apply[SRC_MAX_APPLY][2];
	size_t napply;
	uint32_t builders[SRC_MAX_BUILDERS];
	size_t nbuilders;
	bool snippet; /* the file never names CertificatePinner */
};

/* ---- tokens --------------------------------------------------------------- */

static bool tok_is(const struct src *s, size_t i, const char *word)
{
	if (i >= s->nt || s->t[i].kind != K_IDENT)
		return false;
	size_t n = strlen(word);
	return s->t[i].len == n && memcmp(s->buf + s->t[i].off, word, n) == 0;
}

static bool punct(const struct src *s, size_t i, char c)
{
	return i < s->nt && s->t[i].kind == K_PUNCT && s->t[i].c == c;
}

static bool same_name(const struct src *s, size_t a, size_t b)
{
	return s->t[a].len == s->t[b].len &&
	       memcmp(s->buf + s->t[a].off, s->buf + s->t[b].off, s->t[a].len) == 0;
}

/* ---- declarations ------------------------------------------------------------ */

static int add_decl(struct src *s, size_t name, size_t expr, bool is_var)
{
	if (s->nd >= SRC_MAX_DECLS)
		return 0; /* further declarations stay unknown: a use of one is named */
	if (s->nd % 256 == 0) {
		struct decl *nd = realloc(s->d, (s->nd + 256) * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		s->d = nd;
	}
	struct decl *d = &s->d[s->nd++];
	memset(d, 0, sizeof(*d));
	d->name = (uint32_t)name;
	d->expr = (uint32_t)expr;
	d->is_var = is_var;
	return 0;
}

/* Kotlin: val|var NAME [: Type] = ... ; Java: String NAME = ..., String[] NAME
 * = ..., String NAME[] = ..., List<String> NAME = ... */
static int find_decls(struct src *s)
{
	int rc;
	for (size_t i = 0; i + 2 < s->nt; i++) {
		if ((tok_is(s, i, "val") || tok_is(s, i, "var")) && !punct(s, i - 1, '.') &&
		    s->t[i + 1].kind == K_IDENT) {
			size_t j = i + 2;
			if (punct(s, j, ':')) { /* the type */
				j++;
				while (j < s->nt && j < i + 16 &&
				       (s->t[j].kind == K_IDENT || punct(s, j, '.') ||
					punct(s, j, '<') || punct(s, j, '>') || punct(s, j, '?') ||
					punct(s, j, ',')))
					j++;
			}
			if (punct(s, j, '=') &&
			    (rc = add_decl(s, i + 1, j + 1, tok_is(s, i, "var"))) != 0)
				return rc;
			continue;
		}
		if (tok_is(s, i, "String") && !punct(s, i - 1, '.') && !punct(s, i - 1, '<')) {
			size_t j = i + 1;
			if (punct(s, j, '[') && punct(s, j + 1, ']'))
				j += 2;
			if (j >= s->nt || s->t[j].kind != K_IDENT)
				continue;
			size_t name = j++;
			if (punct(s, j, '[') && punct(s, j + 1, ']'))
				j += 2;
			if (punct(s, j, '=') && (rc = add_decl(s, name, j + 1, false)) != 0)
				return rc;
			continue;
		}
		if ((tok_is(s, i, "List") || tok_is(s, i, "Set") || tok_is(s, i, "Collection")) &&
		    punct(s, i + 1, '<') && tok_is(s, i + 2, "String") && punct(s, i + 3, '>') &&
		    i + 5 < s->nt && s->t[i + 4].kind == K_IDENT && punct(s, i + 5, '=')) {
			if ((rc = add_decl(s, i + 4, i + 6, false)) != 0)
				return rc;
		}
	}
	return 0;
}

/* ---- evaluation -------------------------------------------------------------- */

static void val_free(struct val *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->s[i]);
	v->n = 0;
}

static int val_push(struct src *s, struct val *v, const char *str, size_t len, char *why,
		    size_t whylen)
{
	if (v->n >= SRC_MAX_LIST) {
		snprintf(why, whylen, "a list of more than %d strings", SRC_MAX_LIST);
		return 1;
	}
	if (len > SRC_MAX_STR) {
		snprintf(why, whylen, "a string longer than %d bytes", SRC_MAX_STR);
		return 1;
	}
	if (len + 1 > s->budget) {
		snprintf(why, whylen, "constants larger than %u bytes in all", SRC_VAL_BUDGET);
		return 1;
	}
	char *c = malloc(len + 1);
	if (!c)
		return -ENOMEM;
	memcpy(c, str, len);
	c[len] = '\0';
	s->budget -= len + 1;
	v->s[v->n++] = c;
	return 0;
}

static int val_copy(struct src *s, struct val *dst, const struct val *src, char *why, size_t whylen)
{
	int rc = 0;
	for (size_t i = 0; i < src->n && !rc; i++)
		rc = val_push(s, dst, src->s[i], strlen(src->s[i]), why, whylen);
	dst->list = src->list;
	return rc;
}

static int eval_expr(struct src *s, size_t i, size_t end, int depth, struct val *out, size_t *next,
		     char *why, size_t whylen);

/* Whether the file declares a class, object or interface named like token @q. */
static bool is_type_decl(const struct src *s, size_t q)
{
	if (tok_is(s, q, "Companion"))
		return true;
	for (size_t k = 1; k < s->nt; k++)
		if (s->t[k].kind == K_IDENT && same_name(s, k, q) &&
		    (tok_is(s, k - 1, "object") || tok_is(s, k - 1, "class") ||
		     tok_is(s, k - 1, "interface")))
			return true;
	return false;
}

/* Resolve the name at token @nt (the last identifier of a qualified name
 * whose qualifier, if any, starts at @q0) to a constant of the file. */
static int resolve_name(struct src *s, size_t q0, size_t nt, int depth, struct val *out, char *why,
			size_t whylen)
{
	char esc[160], qual[200];
	size_t qlen = 0;
	qual[0] = '\0';
	for (size_t k = q0; k <= nt && qlen < sizeof(qual) - 1; k++) {
		size_t n = s->t[k].kind == K_IDENT ? s->t[k].len : 1;
		if (n > sizeof(qual) - 1 - qlen)
			n = sizeof(qual) - 1 - qlen;
		memcpy(qual + qlen, s->t[k].kind == K_IDENT ? s->buf + s->t[k].off : ".", n);
		qlen += n;
	}
	qual[qlen] = '\0';
	imp_esc(qual, esc, sizeof(esc));
	struct decl *found = NULL;
	size_t nfound = 0;
	bool local = true; /* a qualifier must name a type of this file */
	for (size_t k = q0; k < nt && local; k += 2)
		local = is_type_decl(s, k);
	for (size_t k = 0; k < s->nd && local; k++) {
		if (!same_name(s, s->d[k].name, nt))
			continue;
		struct decl *d = &s->d[k];
		nfound++;
		if (d->is_var) {
			snprintf(why, whylen,
				 "'%s' (line %u), a var that may change; pinwatch reads only "
				 "constants (val, const val, final)",
				 esc, s->t[d->name].line);
			return 1;
		}
		if (d->state == D_BUSY) {
			snprintf(why, whylen, "'%s', which is defined in terms of itself", esc);
			return 1;
		}
		if (d->state == D_NEW) {
			d->state = D_BUSY;
			size_t nx;
			int rc = depth >= SRC_MAX_DEPTH
					 ? (snprintf(d->why, sizeof(d->why),
						     "constants nested deeper than %d",
						     SRC_MAX_DEPTH),
					    1)
					 : eval_expr(s, d->expr, s->nt, depth + 1, &d->v, &nx,
						     d->why, sizeof(d->why));
			if (rc < 0)
				return rc;
			if (rc == 0) {
				/* The initializer must end there: "x".lowercase() or a
				 * call continued on the next line is not a constant. */
				const struct tok *last = &s->t[nx - 1];
				bool ends = nx >= s->nt || punct(s, nx, ';') || punct(s, nx, ',') ||
					    punct(s, nx, ')') || punct(s, nx, '}') ||
					    (s->t[nx].line > last->line && !punct(s, nx, '.') &&
					     !punct(s, nx, '+') && s->t[nx].kind != K_OP);
				if (!ends) {
					val_free(&d->v);
					snprintf(d->why, sizeof(d->why),
						 "an expression pinwatch cannot evaluate");
					rc = 1;
				}
			}
			d->state = rc == 0 ? D_OK : D_BAD;
		}
		if (d->state == D_BAD) {
			/* name the constant used and the innermost reason only */
			static const char mark[] = "whose value pinwatch cannot read: ";
			const char *r = d->why, *m;
			while ((m = strstr(r, mark)) != NULL)
				r = m + sizeof(mark) - 1;
			snprintf(why, whylen, "'%s' (line %u), %s%s", esc, s->t[d->name].line, mark,
				 r);
			return 1;
		}
		if (!found) {
			found = d;
			continue;
		}
		bool same = found->v.n == d->v.n && found->v.list == d->v.list;
		for (size_t m = 0; same && m < d->v.n; m++)
			same = strcmp(found->v.s[m], d->v.s[m]) == 0;
		if (!same) {
			snprintf(why, whylen,
				 "'%s', declared with different values at lines %u and %u", esc,
				 s->t[found->name].line, s->t[d->name].line);
			return 1;
		}
	}
	if (!nfound) {
		if (q0 == nt)
			snprintf(why, whylen,
				 "the variable '%s', which is not a constant of this file", esc);
		else
			snprintf(why, whylen, "'%s', which is not a constant of this file", esc);
		return 1;
	}
	return val_copy(s, out, &found->v, why, whylen);
}

/* Kotlin templates: "$NAME" and "${NAME}" naming constants of the file. */
static int eval_string(struct src *s, size_t i, int depth, struct val *out, char *why,
		       size_t whylen)
{
	const char *str = s->arena + s->t[i].off;
	size_t n = s->t[i].len;
	if (!memchr(str, '$', n))
		return val_push(s, out, str, n, why, whylen);
	char acc[SRC_MAX_STR + 1];
	size_t alen = 0;
	for (size_t p = 0; p < n;) {
		if (str[p] != '$' || p + 1 >= n ||
		    !(ok_ident_start((unsigned char)str[p + 1]) || str[p + 1] == '{')) {
			if (alen >= SRC_MAX_STR)
				goto toolong;
			acc[alen++] = str[p++];
			continue;
		}
		bool brace = str[p + 1] == '{';
		size_t a = p + 1 + brace, e = a;
		while (e < n && ok_ident_char((unsigned char)str[e]) && str[e] != '$')
			e++;
		if (e == a || (brace && (e >= n || str[e] != '}'))) {
			snprintf(why, whylen, "a string template pinwatch cannot evaluate");
			return 1;
		}
		/* find a declaration of that name: compare against token text */
		struct val v = { 0 };
		int rc = 1;
		bool any = false;
		for (size_t k = 0; k < s->nd && !any; k++) {
			const struct tok *nt = &s->t[s->d[k].name];
			if (nt->len == e - a && !memcmp(s->buf + nt->off, str + a, e - a)) {
				any = true;
				rc = resolve_name(s, s->d[k].name, s->d[k].name, depth + 1, &v, why,
						  whylen);
			}
		}
		if (!any) {
			char name[64], esc[128];
			snprintf(name, sizeof(name), "%.*s", (int)(e - a), str + a);
			snprintf(why, whylen,
				 "a string template naming '%s', which is not a constant of this "
				 "file",
				 imp_esc(name, esc, sizeof(esc)));
		}
		if (rc == 0 && (v.list || v.n != 1)) {
			snprintf(why, whylen, "a string template naming a list");
			rc = 1;
		}
		if (rc) {
			val_free(&v);
			return rc;
		}
		size_t vl = strlen(v.s[0]);
		if (alen + vl > SRC_MAX_STR) {
			val_free(&v);
			goto toolong;
		}
		memcpy(acc + alen, v.s[0], vl);
		alen += vl;
		val_free(&v);
		p = e + brace;
	}
	return val_push(s, out, acc, alen, why, whylen);
toolong:
	snprintf(why, whylen, "a string longer than %d bytes", SRC_MAX_STR);
	return 1;
}

/* toTypedArray() and the like, which keep a value as it is. */
static bool is_conversion(const struct src *s, size_t i)
{
	return (tok_is(s, i, "toTypedArray") || tok_is(s, i, "toList") || tok_is(s, i, "toSet")) &&
	       punct(s, i + 1, '(') && punct(s, i + 2, ')');
}

static bool is_list_fn(const struct src *s, size_t q0, size_t nt)
{
	/* mutableListOf() and the like may change later: not constants */
	static const char *const one[] = { "arrayOf", "listOf", "setOf" };
	if (q0 == nt) {
		for (size_t k = 0; k < sizeof(one) / sizeof(one[0]); k++)
			if (tok_is(s, nt, one[k]))
				return true;
		return false;
	}
	/* Arrays.asList, List.of, Set.of (possibly java.util.-qualified) */
	return (tok_is(s, nt, "asList") && tok_is(s, nt - 2, "Arrays")) ||
	       (tok_is(s, nt, "of") && (tok_is(s, nt - 2, "List") || tok_is(s, nt - 2, "Set")));
}

/* Evaluate the comma-separated elements between @open and its match into a list. */
static int eval_list(struct src *s, size_t open, int depth, struct val *out, char *why,
		     size_t whylen)
{
	size_t close = (size_t)s->t[open].match, i = open + 1;
	out->list = true;
	while (i < close) {
		struct val v = { 0 };
		size_t nx;
		int rc = eval_expr(s, i, close, depth + 1, &v, &nx, why, whylen);
		if (rc == 0 && v.list) {
			snprintf(why, whylen, "a list inside a list");
			rc = 1;
		}
		if (rc == 0 && nx < close && !punct(s, nx, ',')) {
			snprintf(why, whylen, "an expression pinwatch cannot evaluate");
			rc = 1;
		}
		if (rc == 0)
			rc = val_push(s, out, v.s[0], strlen(v.s[0]), why, whylen);
		val_free(&v);
		if (rc)
			return rc;
		i = nx + 1;
	}
	return 0;
}

/* One term: a string, a constant, a list literal, or (expr). */
static int eval_term(struct src *s, size_t i, size_t end, int depth, struct val *out, size_t *next,
		     char *why, size_t whylen)
{
	if (depth > SRC_MAX_DEPTH) {
		snprintf(why, whylen, "expressions nested deeper than %d", SRC_MAX_DEPTH);
		return 1;
	}
	if (i >= end)
		goto cannot;
	const struct tok *t = &s->t[i];
	if (t->kind == K_STR) {
		*next = i + 1;
		return eval_string(s, i, depth, out, why, whylen);
	}
	if ((punct(s, i, '(') || punct(s, i, '{')) && t->match > (int32_t)i &&
	    (size_t)t->match < end) {
		*next = (size_t)t->match + 1;
		if (punct(s, i, '{'))
			return eval_list(s, i, depth, out, why, whylen);
		size_t nx;
		int rc = eval_expr(s, i + 1, (size_t)t->match, depth + 1, out, &nx, why, whylen);
		if (rc == 0 && nx != (size_t)t->match) {
			val_free(out);
			goto cannot;
		}
		return rc;
	}
	if (tok_is(s, i, "new") && tok_is(s, i + 1, "String") && punct(s, i + 2, '[') &&
	    punct(s, i + 3, ']') && punct(s, i + 4, '{') && s->t[i + 4].match > 0 &&
	    (size_t)s->t[i + 4].match < end) {
		*next = (size_t)s->t[i + 4].match + 1;
		return eval_list(s, i + 4, depth, out, why, whylen);
	}
	if (t->kind != K_IDENT || tok_is(s, i, "new") || tok_is(s, i, "if") || tok_is(s, i, "when"))
		goto cannot;
	size_t q0 = i, nt = i;
	while (nt + 2 < end && punct(s, nt + 1, '.') && s->t[nt + 2].kind == K_IDENT &&
	       !is_conversion(s, nt + 2))
		nt += 2;
	size_t after = nt + 1;
	if (after < end && punct(s, after, '<') && tok_is(s, after + 1, "String") &&
	    punct(s, after + 2, '>'))
		after += 3; /* listOf<String>(...) */
	if (after < end && punct(s, after, '(')) {
		if (!is_list_fn(s, q0, nt) || s->t[after].match < 0 ||
		    (size_t)s->t[after].match >= end)
			goto cannot;
		*next = (size_t)s->t[after].match + 1;
		return eval_list(s, after, depth, out, why, whylen);
	}
	if (tok_is(s, q0, "this"))
		q0 = q0 == nt ? q0 : q0 + 2;
	*next = nt + 1;
	return resolve_name(s, q0, nt, depth, out, why, whylen);
cannot:
	snprintf(why, whylen,
		 "an expression pinwatch cannot evaluate (it reads string literals, constants of "
		 "this file and '+' of them)");
	return 1;
}

/* A term followed by .toTypedArray() and the like keeps its value. */
static int eval_term_conv(struct src *s, size_t i, size_t end, int depth, struct val *out,
			  size_t *next, char *why, size_t whylen)
{
	int rc = eval_term(s, i, end, depth, out, next, why, whylen);
	for (;;) {
		if (rc == 0 && *next + 3 < end && punct(s, *next, '.') &&
		    is_conversion(s, *next + 1)) {
			*next += 4;
			continue;
		}
		/* LIST[n], LIST.get(n) and LIST.first() pick one element */
		size_t at = *next, idx = 0;
		bool pick = false;
		if (rc == 0 && at + 2 < end && punct(s, at, '[') && s->t[at + 1].kind == K_NUM &&
		    punct(s, at + 2, ']')) {
			pick = true;
			*next = at + 3;
		} else if (rc == 0 && at + 4 < end && punct(s, at, '.') &&
			   tok_is(s, at + 1, "get") && punct(s, at + 2, '(') &&
			   s->t[at + 3].kind == K_NUM && punct(s, at + 4, ')')) {
			pick = true;
			at++;
			*next = at + 4;
		} else if (rc == 0 && at + 3 < end && punct(s, at, '.') &&
			   tok_is(s, at + 1, "first") && punct(s, at + 2, '(') &&
			   punct(s, at + 3, ')')) {
			*next = at + 4;
			pick = true;
			at = SIZE_MAX;
		}
		if (!pick)
			return rc;
		if (at != SIZE_MAX) {
			const struct tok *nt = &s->t[at + 1];
			for (size_t k = 0; k < nt->len; k++) {
				char c = s->buf[nt->off + k];
				if (c < '0' || c > '9' || idx > SRC_MAX_LIST) {
					idx = SIZE_MAX;
					break;
				}
				idx = idx * 10 + (size_t)(c - '0');
			}
		}
		if (!out->list || idx >= out->n) {
			val_free(out);
			snprintf(why, whylen, "an element of a list pinwatch cannot pick");
			return 1;
		}
		char *keep = out->s[idx];
		out->s[idx] = NULL;
		for (size_t k = 0; k < out->n; k++)
			free(out->s[k]);
		out->s[0] = keep;
		out->n = 1;
		out->list = false;
	}
}

/* term ('+' term)* over tokens [i, end); *next is the first token not used. */
static int eval_expr(struct src *s, size_t i, size_t end, int depth, struct val *out, size_t *next,
		     char *why, size_t whylen)
{
	int rc = eval_term_conv(s, i, end, depth, out, next, why, whylen);
	while (rc == 0 && *next < end && punct(s, *next, '+')) {
		struct val r = { 0 };
		rc = eval_term_conv(s, *next + 1, end, depth, &r, next, why, whylen);
		if (rc == 0 && (out->list || r.list || out->n != 1 || r.n != 1)) {
			snprintf(why, whylen, "'+' of a list");
			rc = 1;
		}
		if (rc == 0) {
			size_t a = strlen(out->s[0]), b = strlen(r.s[0]);
			if (a + b > SRC_MAX_STR) {
				snprintf(why, whylen, "a string longer than %d bytes", SRC_MAX_STR);
				rc = 1;
			} else {
				char *c = realloc(out->s[0], a + b + 1);
				if (!c) {
					rc = -ENOMEM;
				} else {
					memcpy(c + a, r.s[0], b + 1);
					out->s[0] = c;
				}
			}
		}
		val_free(&r);
	}
	if (rc)
		val_free(out);
	return rc;
}

/* ---- add() calls ------------------------------------------------------------- */

/* The token range of each argument of the call whose '(' is @open. */
static int split_args(const struct src *s, size_t open, size_t args[][2], size_t *nargs)
{
	size_t close = (size_t)s->t[open].match, a = open + 1;
	*nargs = 0;
	for (size_t i = open + 1; i <= close; i++) {
		if (i < close && s->t[i].kind == K_PUNCT && s->t[i].match > (int32_t)i) {
			i = (size_t)s->t[i].match;
			continue;
		}
		if (i == close || punct(s, i, ',')) {
			if (i == a && i == close && *nargs > 0)
				break; /* trailing comma */
			if (i == a)
				return -1; /* empty argument */
			if (*nargs >= SRC_MAX_ARGS)
				return -2;
			args[*nargs][0] = a;
			args[*nargs][1] = i;
			(*nargs)++;
			a = i + 1;
		}
	}
	return 0;
}

/* Evaluate one argument; Kotlin "name =" and the spread '*' are accepted. */
static int eval_arg(struct src *s, size_t a, size_t e, struct val *v, char *why, size_t whylen)
{
	if (e - a > 2 && s->t[a].kind == K_IDENT && punct(s, a + 1, '='))
		a += 2;
	if (e - a > 1 && punct(s, a, '*'))
		a++;
	size_t nx;
	int rc = eval_expr(s, a, e, 0, v, &nx, why, whylen);
	if (rc == 0 && nx != e) {
		val_free(v);
		snprintf(why, whylen,
			 "an expression pinwatch cannot evaluate (it reads string literals, "
			 "constants of this file and '+' of them)");
		return 1;
	}
	return rc;
}

static bool is_builder_ctor(const struct src *s, size_t i)
{
	/* CertificatePinner.Builder() / new CertificatePinner.Builder() / okhttp3.… */
	return tok_is(s, i, "Builder") && punct(s, i - 1, '.') &&
	       tok_is(s, i - 2, "CertificatePinner") && punct(s, i + 1, '(') &&
	       punct(s, i + 2, ')');
}

static bool is_builder_var(const struct src *s, size_t i)
{
	for (size_t k = 0; k < s->nbuilders; k++)
		if (same_name(s, s->builders[k], i))
			return true;
	return false;
}

static void add_builder(struct src *s, size_t name)
{
	if (s->t[name].kind == K_IDENT && s->nbuilders < SRC_MAX_BUILDERS)
		s->builders[s->nbuilders++] = (uint32_t)name;
}

/* Builder variables and .apply { } blocks on a builder. */
static void find_builders(struct src *s)
{
	/* typed: "builder: CertificatePinner.Builder" (Kotlin), "CertificatePinner.Builder
	 * builder" (Java) */
	for (size_t i = 0; i + 3 < s->nt; i++) {
		if (!tok_is(s, i, "CertificatePinner") || !punct(s, i + 1, '.') ||
		    !tok_is(s, i + 2, "Builder"))
			continue;
		if (i >= 2 && punct(s, i - 1, ':') && s->t[i - 2].kind == K_IDENT)
			add_builder(s, i - 2);
		else if (s->t[i + 3].kind == K_IDENT)
			add_builder(s, i + 3);
	}
	for (size_t i = 2; i + 2 < s->nt; i++) {
		if (!is_builder_ctor(s, i))
			continue;
		size_t k = i - 2; /* CertificatePinner */
		while (k >= 2 && punct(s, k - 1, '.') && s->t[k - 2].kind == K_IDENT)
			k -= 2; /* okhttp3.CertificatePinner */
		if (k >= 1 && tok_is(s, k - 1, "new"))
			k--;
		if (k >= 2 && punct(s, k - 1, '=')) {
			size_t name = k - 2;
			for (size_t b = k - 1; b > 0 && b + 10 > k; b--) {
				if ((tok_is(s, b - 1, "val") || tok_is(s, b - 1, "var")) &&
				    s->t[b].kind == K_IDENT) {
					name = b;
					break;
				}
			}
			add_builder(s, name);
		}
		size_t j = i + 3;
		if (punct(s, j, '.') && (tok_is(s, j + 1, "apply") || tok_is(s, j + 1, "run")) &&
		    punct(s, j + 2, '{') && s->t[j + 2].match > 0 && s->napply < SRC_MAX_APPLY) {
			s->apply[s->napply][0] = (int32_t)(j + 2);
			s->apply[s->napply][1] = s->t[j + 2].match;
			s->napply++;
		}
	}
}

/* Whether the add( at token @i is a CertificatePinner.Builder.add call by
 * its receiver: 1 yes, 0 unknown. */
static int receiver_is_pinner(const struct src *s, size_t i)
{
	if (s->snippet)
		return 1;
	if (!punct(s, i - 1, '.')) {
		for (size_t k = 0; k < s->napply; k++)
			if ((int32_t)i > s->apply[k][0] && (int32_t)i < s->apply[k][1])
				return 1;
		return 0;
	}
	if (i < 2)
		return 0;
	size_t r = i - 2;
	if (s->t[r].kind == K_IDENT)
		return is_builder_var(s, r);
	if (!punct(s, r, ')') || s->t[r].match < 1)
		return 0;
	size_t callee = (size_t)s->t[r].match - 1;
	if (is_builder_ctor(s, callee))
		return 1;
	if (tok_is(s, callee, "add") && s->is_call[callee] == 1)
		return 1;
	return 0;
}

static const char *arg_role(size_t k)
{
	return k == 0 ? "host" : "pin";
}

static int do_call(struct src *s, size_t i, bool known)
{
	size_t open = i + 1, args[SRC_MAX_ARGS][2], nargs = 0;
	unsigned line = s->t[i].line;
	char why[300], esc[128];
	if (s->t[open].match < 0) {
		if (!known)
			return 0;
		return ok_fail(s->o, line, -EINVAL, "add( is never closed");
	}
	int sr = split_args(s, open, args, &nargs);
	if (sr == -2)
		return known ? ok_fail(s->o, line, -EINVAL, "add() with more than %d arguments",
				       SRC_MAX_ARGS)
			     : 0;
	if (sr == -1)
		return known ? ok_fail(s->o, line, -EINVAL, "add() with an empty argument") : 0;
	if (!known) {
		/* Unknown receiver: a pinner call if it passes a pin. */
		for (size_t k = 1; k < nargs && !known; k++) {
			struct val v = { 0 };
			int rc = eval_arg(s, args[k][0], args[k][1], &v, why, sizeof(why));
			if (rc < 0)
				return rc;
			for (size_t m = 0; rc == 0 && m < v.n && !known; m++)
				known = !strncmp(v.s[m], "sha256/", 7) ||
					!strncmp(v.s[m], "sha1/", 5);
			val_free(&v);
		}
		if (!known) {
			s->is_call[i] = 2;
			return 0;
		}
	}
	s->is_call[i] = 1;
	if (nargs == 0)
		return ok_fail(s->o, line, -EINVAL, "add() without a host pattern");
	struct val host = { 0 };
	int rc = eval_arg(s, args[0][0], args[0][1], &host, why, sizeof(why));
	if (rc < 0)
		return rc;
	if (rc)
		return ok_fail(s->o, s->t[args[0][0]].line, -EINVAL, "host is %s", why);
	if (host.list || host.n != 1) {
		val_free(&host);
		return ok_fail(s->o, s->t[args[0][0]].line, -EINVAL,
			       "host is a list; add() takes one pattern");
	}
	/* Pins first: an add() whose pin arguments hold none (add("h"), an empty
	 * arrayOf()) pins nothing in OkHttp, and makes no policy here. */
	size_t npins = 0;
	for (size_t k = 1; k < nargs; k++) {
		struct val v = { 0 };
		rc = eval_arg(s, args[k][0], args[k][1], &v, why, sizeof(why));
		if (rc) {
			val_free(&host);
			return rc < 0 ? rc
				      : ok_fail(s->o, s->t[args[k][0]].line, -EINVAL, "%s is %s",
						arg_role(k), why);
		}
		npins += v.n;
		val_free(&v);
	}
	if (npins == 0) {
		imp_note(s->o->out, "%s:%u: add(\"%s\") has no pins; OkHttp pins nothing for it",
			 s->o->name, line, imp_esc(host.s[0], esc, sizeof(esc)));
		val_free(&host);
		return 0;
	}
	struct ok_entry *e = ok_entry_for(s->o, host.s[0], s->t[args[0][0]].line, &rc);
	val_free(&host);
	if (!e)
		return rc;
	for (size_t k = 1; k < nargs; k++) {
		struct val v = { 0 };
		unsigned aline = s->t[args[k][0]].line;
		rc = eval_arg(s, args[k][0], args[k][1], &v, why, sizeof(why));
		if (rc)
			return rc < 0 ? rc
				      : ok_fail(s->o, aline, -EINVAL, "%s is %s", arg_role(k), why);
		for (size_t m = 0; m < v.n && !rc; m++)
			rc = ok_add_pin(s->o, e, v.s[m], aline);
		val_free(&v);
		if (rc)
			return rc;
	}
	return 0;
}

static int find_calls(struct src *s)
{
	for (size_t i = 0; i + 1 < s->nt; i++) {
		if (!tok_is(s, i, "add") || !punct(s, i + 1, '('))
			continue;
		if (i > 0 && (tok_is(s, i - 1, "fun") ||
			      (s->t[i - 1].kind == K_IDENT && !tok_is(s, i - 1, "return") &&
			       !tok_is(s, i - 1, "else"))))
			continue; /* a declaration "fun add(" or "void add(" */
		int rc = do_call(s, i, receiver_is_pinner(s, i) == 1);
		if (rc)
			return rc;
	}
	return 0;
}

int ok_parse_source(struct ok *o, const char *buf, size_t len)
{
	struct src s = { .o = o, .buf = buf, .len = len, .budget = SRC_VAL_BUDGET };
	struct ok_tokens tk = { .o = o, .buf = buf, .len = len };
	s.snippet = memmem(buf, len, "CertificatePinner", 17) == NULL;
	int rc = ok_lex(&tk);
	s.t = tk.t;
	s.nt = tk.nt;
	s.arena = tk.arena;
	if (!rc)
		rc = find_decls(&s);
	if (!rc) {
		s.is_call = calloc(s.nt ? s.nt : 1, 1);
		if (!s.is_call)
			rc = -ENOMEM;
	}
	if (!rc) {
		find_builders(&s);
		rc = find_calls(&s);
	}
	for (size_t k = 0; k < s.nd; k++)
		val_free(&s.d[k].v);
	free(s.d);
	free(s.is_call);
	ok_tokens_free(&tk);
	return rc;
}
