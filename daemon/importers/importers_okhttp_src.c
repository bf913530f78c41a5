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

/* ---- add() calls ------------------------------------------------------------- */

/* The token range of each argument of the call whose '(' is @open. */
static int split_args(const struct ok_src *s, size_t open, size_t args[][2], size_t *nargs)
{
	size_t close = (size_t)s->t[open].match, a = open + 1;
	*nargs = 0;
	for (size_t i = open + 1; i <= close; i++) {
		if (i < close && s->t[i].kind == K_PUNCT && s->t[i].match > (int32_t)i) {
			i = (size_t)s->t[i].match;
			continue;
		}
		if (i == close || ok_punct(s, i, ',')) {
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

static bool is_builder_ctor(const struct ok_src *s, size_t i)
{
	/* CertificatePinner.Builder() / new CertificatePinner.Builder() / okhttp3.… */
	return ok_tok_is(s, i, "Builder") && ok_punct(s, i - 1, '.') &&
	       ok_tok_is(s, i - 2, "CertificatePinner") && ok_punct(s, i + 1, '(') &&
	       ok_punct(s, i + 2, ')');
}

static bool is_builder_var(const struct ok_src *s, size_t i)
{
	for (size_t k = 0; k < s->nbuilders; k++)
		if (ok_same_name(s, s->builders[k], i))
			return true;
	return false;
}

static void add_builder(struct ok_src *s, size_t name)
{
	if (s->t[name].kind == K_IDENT && s->nbuilders < SRC_MAX_BUILDERS)
		s->builders[s->nbuilders++] = (uint32_t)name;
}

/* Builder variables and .apply { } blocks on a builder. */
static void find_builders(struct ok_src *s)
{
	/* typed: "builder: CertificatePinner.Builder" (Kotlin), "CertificatePinner.Builder
	 * builder" (Java) */
	for (size_t i = 0; i + 3 < s->nt; i++) {
		if (!ok_tok_is(s, i, "CertificatePinner") || !ok_punct(s, i + 1, '.') ||
		    !ok_tok_is(s, i + 2, "Builder"))
			continue;
		if (i >= 2 && ok_punct(s, i - 1, ':') && s->t[i - 2].kind == K_IDENT)
			add_builder(s, i - 2);
		else if (s->t[i + 3].kind == K_IDENT)
			add_builder(s, i + 3);
	}
	for (size_t i = 2; i + 2 < s->nt; i++) {
		if (!is_builder_ctor(s, i))
			continue;
		size_t k = i - 2; /* CertificatePinner */
		while (k >= 2 && ok_punct(s, k - 1, '.') && s->t[k - 2].kind == K_IDENT)
			k -= 2; /* okhttp3.CertificatePinner */
		if (k >= 1 && ok_tok_is(s, k - 1, "new"))
			k--;
		if (k >= 2 && ok_punct(s, k - 1, '=')) {
			size_t name = k - 2;
			for (size_t b = k - 1; b > 0 && b + 10 > k; b--) {
				if ((ok_tok_is(s, b - 1, "val") || ok_tok_is(s, b - 1, "var")) &&
				    s->t[b].kind == K_IDENT) {
					name = b;
					break;
				}
			}
			add_builder(s, name);
		}
		size_t j = i + 3;
		if (ok_punct(s, j, '.') &&
		    (ok_tok_is(s, j + 1, "apply") || ok_tok_is(s, j + 1, "run")) &&
		    ok_punct(s, j + 2, '{') && s->t[j + 2].match > 0 && s->napply < SRC_MAX_APPLY) {
			s->apply[s->napply][0] = (int32_t)(j + 2);
			s->apply[s->napply][1] = s->t[j + 2].match;
			s->napply++;
		}
	}
}

/* Whether the add( at token @i is a CertificatePinner.Builder.add call by
 * its receiver: 1 yes, 0 unknown. */
static int receiver_is_pinner(const struct ok_src *s, size_t i)
{
	if (s->snippet)
		return 1;
	if (!ok_punct(s, i - 1, '.')) {
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
	if (!ok_punct(s, r, ')') || s->t[r].match < 1)
		return 0;
	size_t callee = (size_t)s->t[r].match - 1;
	if (is_builder_ctor(s, callee))
		return 1;
	if (ok_tok_is(s, callee, "add") && s->is_call[callee] == 1)
		return 1;
	return 0;
}

static const char *arg_role(size_t k)
{
	return k == 0 ? "host" : "pin";
}

static int do_call(struct ok_src *s, size_t i, bool known)
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
			struct ok_val v = { 0 };
			int rc = ok_eval_arg(s, args[k][0], args[k][1], &v, why, sizeof(why));
			if (rc < 0)
				return rc;
			for (size_t m = 0; rc == 0 && m < v.n && !known; m++)
				known = !strncmp(v.s[m], "sha256/", 7) ||
					!strncmp(v.s[m], "sha1/", 5);
			ok_val_free(&v);
		}
		if (!known) {
			s->is_call[i] = 2;
			return 0;
		}
	}
	s->is_call[i] = 1;
	if (nargs == 0)
		return ok_fail(s->o, line, -EINVAL, "add() without a host pattern");
	struct ok_val host = { 0 };
	int rc = ok_eval_arg(s, args[0][0], args[0][1], &host, why, sizeof(why));
	if (rc < 0)
		return rc;
	if (rc)
		return ok_fail(s->o, s->t[args[0][0]].line, -EINVAL, "host is %s", why);
	if (host.list || host.n != 1) {
		ok_val_free(&host);
		return ok_fail(s->o, s->t[args[0][0]].line, -EINVAL,
			       "host is a list; add() takes one pattern");
	}
	/* Pins first: an add() whose pin arguments hold none (add("h"), an empty
	 * arrayOf()) pins nothing in OkHttp, and makes no policy here. */
	size_t npins = 0;
	for (size_t k = 1; k < nargs; k++) {
		struct ok_val v = { 0 };
		rc = ok_eval_arg(s, args[k][0], args[k][1], &v, why, sizeof(why));
		if (rc) {
			ok_val_free(&host);
			return rc < 0 ? rc
				      : ok_fail(s->o, s->t[args[k][0]].line, -EINVAL, "%s is %s",
						arg_role(k), why);
		}
		npins += v.n;
		ok_val_free(&v);
	}
	if (npins == 0) {
		imp_note(s->o->out, "%s:%u: add(\"%s\") has no pins; OkHttp pins nothing for it",
			 s->o->name, line, imp_esc(host.s[0], esc, sizeof(esc)));
		ok_val_free(&host);
		return 0;
	}
	struct ok_entry *e = ok_entry_for(s->o, host.s[0], s->t[args[0][0]].line, &rc);
	ok_val_free(&host);
	if (!e)
		return rc;
	for (size_t k = 1; k < nargs; k++) {
		struct ok_val v = { 0 };
		unsigned aline = s->t[args[k][0]].line;
		rc = ok_eval_arg(s, args[k][0], args[k][1], &v, why, sizeof(why));
		if (rc)
			return rc < 0 ? rc
				      : ok_fail(s->o, aline, -EINVAL, "%s is %s", arg_role(k), why);
		for (size_t m = 0; m < v.n && !rc; m++)
			rc = ok_add_pin(s->o, e, v.s[m], aline);
		ok_val_free(&v);
		if (rc)
			return rc;
	}
	return 0;
}

static int find_calls(struct ok_src *s)
{
	for (size_t i = 0; i + 1 < s->nt; i++) {
		if (!ok_tok_is(s, i, "add") || !ok_punct(s, i + 1, '('))
			continue;
		if (i > 0 && (ok_tok_is(s, i - 1, "fun") ||
			      (s->t[i - 1].kind == K_IDENT && !ok_tok_is(s, i - 1, "return") &&
			       !ok_tok_is(s, i - 1, "else"))))
			continue; /* a declaration "fun add(" or "void add(" */
		int rc = do_call(s, i, receiver_is_pinner(s, i) == 1);
		if (rc)
			return rc;
	}
	return 0;
}

int ok_parse_source(struct ok *o, const char *buf, size_t len)
{
	struct ok_src s = { .o = o, .buf = buf, .len = len, .budget = SRC_VAL_BUDGET };
	struct ok_tokens tk = { .o = o, .buf = buf, .len = len };
	s.snippet = memmem(buf, len, "CertificatePinner", 17) == NULL;
	int rc = ok_lex(&tk);
	s.t = tk.t;
	s.nt = tk.nt;
	s.arena = tk.arena;
	if (!rc)
		rc = ok_find_decls(&s);
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
		ok_val_free(&s.d[k].v);
	free(s.d);
	free(s.is_call);
	ok_tokens_free(&tk);
	return rc;
}
