/* The constants of an OkHttp CertificatePinner configuration written in
 * Kotlin or Java (see importers_okhttp_src.c): the declarations of the file
 * and a small evaluator of the expressions add() arguments are made of
 * (string literals, constants of the same file, arrays and lists of them,
 * '+' of those and Kotlin templates naming such constants), bounded in
 * depth, length and total bytes.
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
#include "base/array.h"
#include "base/strbuf.h"
#include "base/util.h"

/* ---- declarations ------------------------------------------------------------ */

static int add_decl(struct ok_src *s, size_t name, size_t expr, bool is_var)
{
	if (s->nd >= SRC_MAX_DECLS)
		return 0; /* further declarations stay unknown: a use of one is named */
	if (ARRAY_RESERVE(s->d, s->dcap, s->nd + 1, SRC_MAX_DECLS))
		return -ENOMEM;
	struct ok_decl *d = &s->d[s->nd++];
	memset(d, 0, sizeof(*d));
	d->name = (uint32_t)name;
	d->expr = (uint32_t)expr;
	d->is_var = is_var;
	return 0;
}

/* Kotlin: val|var NAME [: Type] = ... ; Java: String NAME = ..., String[] NAME
 * = ..., String NAME[] = ..., List<String> NAME = ... */
int ok_find_decls(struct ok_src *s)
{
	int rc;
	for (size_t i = 0; i + 2 < s->nt; i++) {
		if ((ok_tok_is(s, i, "val") || ok_tok_is(s, i, "var")) &&
		    !ok_punct(s, i - 1, '.') && s->t[i + 1].kind == K_IDENT) {
			size_t j = i + 2;
			if (ok_punct(s, j, ':')) { /* the type */
				j++;
				while (j < s->nt && j < i + 16 &&
				       (s->t[j].kind == K_IDENT || ok_punct(s, j, '.') ||
					ok_punct(s, j, '<') || ok_punct(s, j, '>') ||
					ok_punct(s, j, '?') || ok_punct(s, j, ',')))
					j++;
			}
			if (ok_punct(s, j, '=') &&
			    (rc = add_decl(s, i + 1, j + 1, ok_tok_is(s, i, "var"))) != 0)
				return rc;
			continue;
		}
		if (ok_tok_is(s, i, "String") && !ok_punct(s, i - 1, '.') &&
		    !ok_punct(s, i - 1, '<')) {
			size_t j = i + 1;
			if (ok_punct(s, j, '[') && ok_punct(s, j + 1, ']'))
				j += 2;
			if (j >= s->nt || s->t[j].kind != K_IDENT)
				continue;
			size_t name = j++;
			if (ok_punct(s, j, '[') && ok_punct(s, j + 1, ']'))
				j += 2;
			if (ok_punct(s, j, '=') && (rc = add_decl(s, name, j + 1, false)) != 0)
				return rc;
			continue;
		}
		if ((ok_tok_is(s, i, "List") || ok_tok_is(s, i, "Set") ||
		     ok_tok_is(s, i, "Collection")) &&
		    ok_punct(s, i + 1, '<') && ok_tok_is(s, i + 2, "String") &&
		    ok_punct(s, i + 3, '>') && i + 5 < s->nt && s->t[i + 4].kind == K_IDENT &&
		    ok_punct(s, i + 5, '=')) {
			if ((rc = add_decl(s, i + 4, i + 6, false)) != 0)
				return rc;
		}
	}
	return 0;
}

/* ---- evaluation -------------------------------------------------------------- */

void ok_val_free(struct ok_val *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->s[i]);
	v->n = 0;
}

static int val_push(struct ok_src *s, struct ok_val *v, const char *str, size_t len, char *why,
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

static int val_copy(struct ok_src *s, struct ok_val *dst, const struct ok_val *src, char *why,
		    size_t whylen)
{
	int rc = 0;
	for (size_t i = 0; i < src->n && !rc; i++)
		rc = val_push(s, dst, src->s[i], strlen(src->s[i]), why, whylen);
	dst->list = src->list;
	return rc;
}

static int eval_expr(struct ok_src *s, size_t i, size_t end, int depth, struct ok_val *out,
		     size_t *next, char *why, size_t whylen);

/* Whether the file declares a class, object or interface named like token @q. */
static bool is_type_decl(const struct ok_src *s, size_t q)
{
	if (ok_tok_is(s, q, "Companion"))
		return true;
	for (size_t k = 1; k < s->nt; k++)
		if (s->t[k].kind == K_IDENT && ok_same_name(s, k, q) &&
		    (ok_tok_is(s, k - 1, "object") || ok_tok_is(s, k - 1, "class") ||
		     ok_tok_is(s, k - 1, "interface")))
			return true;
	return false;
}

/* Resolve the name at token @nt (the last identifier of a qualified name
 * whose qualifier, if any, starts at @q0) to a constant of the file. */
static int resolve_name(struct ok_src *s, size_t q0, size_t nt, int depth, struct ok_val *out,
			char *why, size_t whylen)
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
	struct ok_decl *found = NULL;
	size_t nfound = 0;
	bool local = true; /* a qualifier must name a type of this file */
	for (size_t k = q0; k < nt && local; k += 2)
		local = is_type_decl(s, k);
	for (size_t k = 0; k < s->nd && local; k++) {
		if (!ok_same_name(s, s->d[k].name, nt))
			continue;
		struct ok_decl *d = &s->d[k];
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
				bool ends = nx >= s->nt || ok_punct(s, nx, ';') ||
					    ok_punct(s, nx, ',') || ok_punct(s, nx, ')') ||
					    ok_punct(s, nx, '}') ||
					    (s->t[nx].line > last->line && !ok_punct(s, nx, '.') &&
					     !ok_punct(s, nx, '+') && s->t[nx].kind != K_OP);
				if (!ends) {
					ok_val_free(&d->v);
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
static int eval_string(struct ok_src *s, size_t i, int depth, struct ok_val *out, char *why,
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
		struct ok_val v = { 0 };
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
			ok_val_free(&v);
			return rc;
		}
		size_t vl = strlen(v.s[0]);
		if (alen + vl > SRC_MAX_STR) {
			ok_val_free(&v);
			goto toolong;
		}
		memcpy(acc + alen, v.s[0], vl);
		alen += vl;
		ok_val_free(&v);
		p = e + brace;
	}
	return val_push(s, out, acc, alen, why, whylen);
toolong:
	snprintf(why, whylen, "a string longer than %d bytes", SRC_MAX_STR);
	return 1;
}

/* toTypedArray() and the like, which keep a value as it is. */
static bool is_conversion(const struct ok_src *s, size_t i)
{
	return (ok_tok_is(s, i, "toTypedArray") || ok_tok_is(s, i, "toList") ||
		ok_tok_is(s, i, "toSet")) &&
	       ok_punct(s, i + 1, '(') && ok_punct(s, i + 2, ')');
}

static bool is_list_fn(const struct ok_src *s, size_t q0, size_t nt)
{
	/* mutableListOf() and the like may change later: not constants */
	static const char *const one[] = { "arrayOf", "listOf", "setOf" };
	if (q0 == nt) {
		for (size_t k = 0; k < sizeof(one) / sizeof(one[0]); k++)
			if (ok_tok_is(s, nt, one[k]))
				return true;
		return false;
	}
	/* Arrays.asList, List.of, Set.of (possibly java.util.-qualified) */
	return (ok_tok_is(s, nt, "asList") && ok_tok_is(s, nt - 2, "Arrays")) ||
	       (ok_tok_is(s, nt, "of") &&
		(ok_tok_is(s, nt - 2, "List") || ok_tok_is(s, nt - 2, "Set")));
}

/* Evaluate the comma-separated elements between @open and its match into a list. */
static int eval_list(struct ok_src *s, size_t open, int depth, struct ok_val *out, char *why,
		     size_t whylen)
{
	size_t close = (size_t)s->t[open].match, i = open + 1;
	out->list = true;
	while (i < close) {
		struct ok_val v = { 0 };
		size_t nx;
		int rc = eval_expr(s, i, close, depth + 1, &v, &nx, why, whylen);
		if (rc == 0 && v.list) {
			snprintf(why, whylen, "a list inside a list");
			rc = 1;
		}
		if (rc == 0 && nx < close && !ok_punct(s, nx, ',')) {
			snprintf(why, whylen, "an expression pinwatch cannot evaluate");
			rc = 1;
		}
		if (rc == 0)
			rc = val_push(s, out, v.s[0], strlen(v.s[0]), why, whylen);
		ok_val_free(&v);
		if (rc)
			return rc;
		i = nx + 1;
	}
	return 0;
}

/* One term: a string, a constant, a list literal, or (expr). */
static int eval_term(struct ok_src *s, size_t i, size_t end, int depth, struct ok_val *out,
		     size_t *next, char *why, size_t whylen)
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
	if ((ok_punct(s, i, '(') || ok_punct(s, i, '{')) && t->match > (int32_t)i &&
	    (size_t)t->match < end) {
		*next = (size_t)t->match + 1;
		if (ok_punct(s, i, '{'))
			return eval_list(s, i, depth, out, why, whylen);
		size_t nx;
		int rc = eval_expr(s, i + 1, (size_t)t->match, depth + 1, out, &nx, why, whylen);
		if (rc == 0 && nx != (size_t)t->match) {
			ok_val_free(out);
			goto cannot;
		}
		return rc;
	}
	if (ok_tok_is(s, i, "new") && ok_tok_is(s, i + 1, "String") && ok_punct(s, i + 2, '[') &&
	    ok_punct(s, i + 3, ']') && ok_punct(s, i + 4, '{') && s->t[i + 4].match > 0 &&
	    (size_t)s->t[i + 4].match < end) {
		*next = (size_t)s->t[i + 4].match + 1;
		return eval_list(s, i + 4, depth, out, why, whylen);
	}
	if (t->kind != K_IDENT || ok_tok_is(s, i, "new") || ok_tok_is(s, i, "if") ||
	    ok_tok_is(s, i, "when"))
		goto cannot;
	size_t q0 = i, nt = i;
	while (nt + 2 < end && ok_punct(s, nt + 1, '.') && s->t[nt + 2].kind == K_IDENT &&
	       !is_conversion(s, nt + 2))
		nt += 2;
	size_t after = nt + 1;
	if (after < end && ok_punct(s, after, '<') && ok_tok_is(s, after + 1, "String") &&
	    ok_punct(s, after + 2, '>'))
		after += 3; /* listOf<String>(...) */
	if (after < end && ok_punct(s, after, '(')) {
		if (!is_list_fn(s, q0, nt) || s->t[after].match < 0 ||
		    (size_t)s->t[after].match >= end)
			goto cannot;
		*next = (size_t)s->t[after].match + 1;
		return eval_list(s, after, depth, out, why, whylen);
	}
	if (ok_tok_is(s, q0, "this"))
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
static int eval_term_conv(struct ok_src *s, size_t i, size_t end, int depth, struct ok_val *out,
			  size_t *next, char *why, size_t whylen)
{
	int rc = eval_term(s, i, end, depth, out, next, why, whylen);
	for (;;) {
		if (rc == 0 && *next + 3 < end && ok_punct(s, *next, '.') &&
		    is_conversion(s, *next + 1)) {
			*next += 4;
			continue;
		}
		/* LIST[n], LIST.get(n) and LIST.first() pick one element */
		size_t at = *next, idx = 0;
		bool pick = false;
		if (rc == 0 && at + 2 < end && ok_punct(s, at, '[') && s->t[at + 1].kind == K_NUM &&
		    ok_punct(s, at + 2, ']')) {
			pick = true;
			*next = at + 3;
		} else if (rc == 0 && at + 4 < end && ok_punct(s, at, '.') &&
			   ok_tok_is(s, at + 1, "get") && ok_punct(s, at + 2, '(') &&
			   s->t[at + 3].kind == K_NUM && ok_punct(s, at + 4, ')')) {
			pick = true;
			at++;
			*next = at + 4;
		} else if (rc == 0 && at + 3 < end && ok_punct(s, at, '.') &&
			   ok_tok_is(s, at + 1, "first") && ok_punct(s, at + 2, '(') &&
			   ok_punct(s, at + 3, ')')) {
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
			ok_val_free(out);
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
static int eval_expr(struct ok_src *s, size_t i, size_t end, int depth, struct ok_val *out,
		     size_t *next, char *why, size_t whylen)
{
	int rc = eval_term_conv(s, i, end, depth, out, next, why, whylen);
	while (rc == 0 && *next < end && ok_punct(s, *next, '+')) {
		struct ok_val r = { 0 };
		rc = eval_term_conv(s, *next + 1, end, depth, &r, next, why, whylen);
		if (rc == 0 && (out->list || r.list || out->n != 1 || r.n != 1)) {
			snprintf(why, whylen, "'+' of a list");
			rc = 1;
		}
		if (rc == 0) {
			struct strbuf c;
			strbuf_init(&c, SRC_MAX_STR);
			strbuf_addstr(&c, out->s[0]);
			strbuf_addstr(&c, r.s[0]);
			rc = strbuf_err(&c);
			if (rc == -E2BIG) {
				snprintf(why, whylen, "a string longer than %d bytes", SRC_MAX_STR);
				rc = 1;
			}
			char *t = strbuf_take(&c, NULL); /* NULL after a failed add */
			if (rc == 0 && !t)
				rc = -ENOMEM;
			if (rc == 0) {
				free(out->s[0]);
				out->s[0] = t;
			} else {
				free(t);
			}
		}
		ok_val_free(&r);
	}
	if (rc)
		ok_val_free(out);
	return rc;
}

/* Kotlin "name =" and the spread '*' are skipped. */
int ok_eval_arg(struct ok_src *s, size_t a, size_t e, struct ok_val *v, char *why, size_t whylen)
{
	if (e - a > 2 && s->t[a].kind == K_IDENT && ok_punct(s, a + 1, '='))
		a += 2;
	if (e - a > 1 && ok_punct(s, a, '*'))
		a++;
	size_t nx;
	int rc = eval_expr(s, a, e, 0, v, &nx, why, whylen);
	if (rc == 0 && nx != e) {
		ok_val_free(v);
		snprintf(why, whylen,
			 "an expression pinwatch cannot evaluate (it reads string literals, "
			 "constants of this file and '+' of them)");
		return 1;
	}
	return rc;
}
