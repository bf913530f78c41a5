/* TrustKit configurations written in code: the dictionary literal an app
 * passes to +[TrustKit initSharedInstanceWithConfiguration:] (Objective-C
 * `@{ kTSKPinnedDomains: @{ @"host": @{ ... } } }`) or
 * TrustKit.initSharedInstance(withConfiguration:) (Swift
 * `[kTSKPinnedDomains: ["host": [...]]] as [String : Any]`).
 *
 * Not a compiler: a tolerant scanner. It skips comments, preprocessor lines
 * and everything outside the literal, finds the first dictionary that has a
 * TSKPinnedDomains key (constant name or string), and reads that literal:
 * strings, YES/NO, @YES/@NO, @(YES), true/false, [NSNumber numberWithBool:],
 * NSNumber(value:), numbers, nested dictionaries and arrays, trailing commas. An identifier is a
 * TrustKit constant, or a string constant of the same file (`static NSString *const kHost =
 * @"..."`, `let host = "..."`, `#define HOST @"..."`); anything else (a variable, a call, string
 * interpolation) is an error naming its line. Bounded: the file size cap, IMPORTERS_MAX_NESTING, a
 * cap on constants; no recursion beyond the nesting cap.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "base/array.h"
#include "base/util.h"

#define MAX_CONSTS 256
#define MAX_STR	   4096
#define MAX_IDENT  256
#define MAX_OPEN   256 /* open brackets tracked while looking for the literal */

enum tok_kind { T_EOF, T_STR, T_IDENT, T_NUM, T_PUNCT, T_BAD };

struct tok {
	enum tok_kind kind;
	char punct;	    /* T_PUNCT */
	size_t off, end;    /* bytes of the token in the buffer */
	unsigned line;	    /* 1-based */
	bool interpolated;  /* a Swift string with \( ) */
	char text[MAX_STR]; /* T_STR value, T_IDENT/T_NUM spelling */
};

struct lex {
	const char *buf;
	size_t len, pos;
	unsigned line;
	bool line_start; /* only blanks since the last newline (for '#' lines) */
};

struct sconst {
	char *name, *value;
};

struct scan {
	struct lex lx;
	struct tok tk; /* current token */
	const char *name;
	char *err;
	size_t errlen;
	struct sconst consts[MAX_CONSTS];
	size_t nconsts;
	struct imp_tk_src *out;
};

static int scan_fail(struct scan *s, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int scan_fail(struct scan *s, unsigned line, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return util_err(s->err, s->errlen, -EINVAL, "%s:%u: %s", s->name, line, msg);
}

static bool is_ident_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$';
}

static bool is_ident(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Skip blanks, comments and preprocessor lines (except #define, which the
 * caller sees as the identifier "#define"). */
static void skip_space(struct lex *lx)
{
	while (lx->pos < lx->len) {
		char c = lx->buf[lx->pos];
		if (c == '\n') {
			lx->line++;
			lx->line_start = true;
			lx->pos++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			lx->pos++;
		} else if (c == '/' && lx->pos + 1 < lx->len && lx->buf[lx->pos + 1] == '/') {
			while (lx->pos < lx->len && lx->buf[lx->pos] != '\n')
				lx->pos++;
		} else if (c == '/' && lx->pos + 1 < lx->len && lx->buf[lx->pos + 1] == '*') {
			lx->pos += 2;
			while (lx->pos < lx->len &&
			       !(lx->buf[lx->pos] == '*' && lx->pos + 1 < lx->len &&
				 lx->buf[lx->pos + 1] == '/')) {
				if (lx->buf[lx->pos] == '\n')
					lx->line++;
				lx->pos++;
			}
			lx->pos = lx->pos + 2 < lx->len ? lx->pos + 2 : lx->len;
		} else if (c == '#' && lx->line_start &&
			   (lx->len - lx->pos < 7 || memcmp(lx->buf + lx->pos, "#define", 7))) {
			/* #import, #if DEBUG, #pragma mark ...: the whole line */
			while (lx->pos < lx->len && lx->buf[lx->pos] != '\n')
				lx->pos++;
		} else {
			return;
		}
	}
}

/* A string literal starting at lx->pos (the opening quote). */
static void lex_string(struct lex *lx, struct tok *t)
{
	size_t n = 0;
	bool triple = lx->len - lx->pos >= 3 && !memcmp(lx->buf + lx->pos, "\"\"\"", 3);
	lx->pos += triple ? 3 : 1;
	t->kind = T_STR;
	while (lx->pos < lx->len) {
		char c = lx->buf[lx->pos];
		if (triple ? (lx->len - lx->pos >= 3 && !memcmp(lx->buf + lx->pos, "\"\"\"", 3))
			   : c == '"') {
			lx->pos += triple ? 3 : 1;
			t->text[n] = '\0';
			return;
		}
		if (c == '\n') {
			if (!triple)
				break;
			lx->line++;
		}
		if (c == '\\' && lx->pos + 1 < lx->len) {
			char e = lx->buf[++lx->pos];
			c = e == 'n'   ? '\n'
			    : e == 't' ? '\t'
			    : e == 'r' ? '\r'
			    : e == '0' ? '\0'
				       : e;
			if (e == '(')
				t->interpolated = true;
			if (e == '\n')
				lx->line++;
		}
		if (c == '\0' || n + 1 >= sizeof(t->text)) {
			t->kind = T_BAD; /* a NUL or an over-long string: not a pin or host */
		} else {
			t->text[n++] = c;
		}
		lx->pos++;
	}
	if (t->kind == T_STR)
		t->kind = T_BAD; /* unterminated */
	t->text[n] = '\0';
}

static void next(struct scan *s)
{
	struct lex *lx = &s->lx;
	struct tok *t = &s->tk;
	skip_space(lx);
	t->off = lx->pos;
	t->line = lx->line;
	t->interpolated = false;
	t->text[0] = '\0';
	if (lx->pos >= lx->len) {
		t->kind = T_EOF;
		t->end = lx->pos;
		return;
	}
	bool at_start = lx->line_start;
	lx->line_start = false;
	char c = lx->buf[lx->pos];
	if (c == '"') {
		lex_string(lx, t);
	} else if (is_ident_start(c) || (c == '#' && at_start)) {
		size_t n = 0;
		do {
			if (n + 1 < sizeof(t->text))
				t->text[n++] = lx->buf[lx->pos];
			lx->pos++;
		} while (lx->pos < lx->len && is_ident(lx->buf[lx->pos]));
		t->text[n] = '\0';
		t->kind = T_IDENT;
	} else if (c >= '0' && c <= '9') {
		size_t n = 0;
		while (lx->pos < lx->len &&
		       (is_ident(lx->buf[lx->pos]) || lx->buf[lx->pos] == '.')) {
			if (n + 1 < 64)
				t->text[n++] = lx->buf[lx->pos];
			lx->pos++;
		}
		t->text[n] = '\0';
		t->kind = T_NUM;
	} else if (c == '\'') {
		/* a C character literal: skip it whole */
		lx->pos++;
		while (lx->pos < lx->len && lx->buf[lx->pos] != '\'' && lx->buf[lx->pos] != '\n')
			lx->pos += lx->buf[lx->pos] == '\\' ? 2 : 1;
		lx->pos = lx->pos < lx->len ? lx->pos + 1 : lx->len;
		t->kind = T_PUNCT;
		t->punct = '\'';
	} else {
		t->kind = T_PUNCT;
		t->punct = c;
		lx->pos++;
	}
	t->end = lx->pos;
}

static bool is_punct(const struct scan *s, char c)
{
	return s->tk.kind == T_PUNCT && s->tk.punct == c;
}

/* ---- pass 1: string constants of the file, and where the literal starts -- */

static void add_const(struct scan *s, const char *name, const char *value)
{
	for (size_t i = 0; i < s->nconsts; i++)
		if (!strcmp(s->consts[i].name, name))
			return; /* the first definition wins; shadowing is not modelled */
	if (s->nconsts >= MAX_CONSTS)
		return;
	char *n = strdup(name), *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return;
	}
	s->consts[s->nconsts].name = n;
	s->consts[s->nconsts].value = v;
	s->nconsts++;
}

static const char *find_const(const struct scan *s, const char *name)
{
	for (size_t i = 0; i < s->nconsts; i++)
		if (!strcmp(s->consts[i].name, name))
			return s->consts[i].value;
	return NULL;
}

static bool is_pinned_domains_key(const struct tok *t)
{
	if (t->kind == T_IDENT)
		return !strcmp(t->text, "kTSKPinnedDomains");
	return t->kind == T_STR && !strcmp(t->text, "TSKPinnedDomains");
}

struct mark {
	size_t off;
	unsigned line;
	bool line_start;
};

/* Find the first dictionary literal with a TSKPinnedDomains key; collect
 * `NAME = "literal"` constants. 0 with @start set, or -ENOENT. */
static int pass1(struct scan *s, struct mark *start, unsigned *others)
{
	struct mark open[MAX_OPEN];
	size_t nopen = 0, skipped = 0;
	char prev_ident[MAX_IDENT] = "", prev2_ident[MAX_IDENT] = "";
	bool have = false, prev_eq = false, prev_define = false;
	unsigned last_line = 0;

	*others = 0;
	for (next(s); s->tk.kind != T_EOF; next(s)) {
		struct tok *t = &s->tk;
		if (t->kind == T_PUNCT && (t->punct == '{' || t->punct == '[' || t->punct == '(')) {
			if (nopen < MAX_OPEN)
				open[nopen++] = (struct mark){ t->off, t->line, false };
			else
				skipped++;
		} else if (t->kind == T_PUNCT &&
			   (t->punct == '}' || t->punct == ']' || t->punct == ')')) {
			if (skipped)
				skipped--;
			else if (nopen)
				nopen--;
		}
		/* NAME = "value"   /   #define NAME @"value" */
		if (t->kind == T_STR && !t->interpolated && (prev_eq || prev_define))
			add_const(s, prev_eq ? prev2_ident : prev_ident, t->text);
		if (is_pinned_domains_key(t)) {
			unsigned line = t->line;
			struct lex save = s->lx;
			next(s);
			bool key = is_punct(s, ':');
			s->lx = save; /* the loop goes on after the key */
			t->kind = T_IDENT;
			t->text[0] = '\0';
			if (key && nopen && !skipped) {
				if (!have) {
					*start = open[nopen - 1];
					have = true;
				} else if (line != last_line) {
					(*others)++;
				}
				last_line = line;
			}
		}
		if (t->kind == T_PUNCT && t->punct == '@')
			continue; /* @"..." after '=' or a #define name */
		prev_define = t->kind == T_IDENT && !strcmp(prev_ident, "#define") &&
			      !prev_define && strcmp(t->text, "#define");
		if (prev_define) {
			snprintf(prev2_ident, sizeof(prev2_ident), "%s", prev_ident);
			snprintf(prev_ident, sizeof(prev_ident), "%.*s", MAX_IDENT - 1, t->text);
			prev_eq = false;
			continue;
		}
		prev_eq = t->kind == T_PUNCT && t->punct == '=' && prev_ident[0];
		if (prev_eq)
			snprintf(prev2_ident, sizeof(prev2_ident), "%s", prev_ident);
		if (t->kind == T_IDENT)
			snprintf(prev_ident, sizeof(prev_ident), "%.*s", MAX_IDENT - 1, t->text);
		else if (!prev_eq)
			prev_ident[0] = '\0';
	}
	return have ? 0 : -ENOENT;
}

/* ---- pass 2: the literal ------------------------------------------------ */

static int note_line(struct scan *s, const json_t *v, unsigned line)
{
	struct imp_tk_src *o = s->out;
	int rc = ARRAY_RESERVE(o->lines, o->cap, o->nlines + 1, ARRAY_MAX_ITEMS);
	if (rc)
		return rc;
	o->lines[o->nlines++] = (struct imp_tk_line){ v, line };
	return 0;
}

static int value(struct scan *s, int depth, json_t **out);

/* Bool spellings of both languages. 1 true, 0 false, -1 not a bool. */
static int bool_word(const char *w)
{
	if (!strcmp(w, "YES") || !strcmp(w, "true") || !strcmp(w, "TRUE"))
		return 1;
	if (!strcmp(w, "NO") || !strcmp(w, "false") || !strcmp(w, "FALSE"))
		return 0;
	return -1;
}

static int ident_value(struct scan *s, const char *word, unsigned line, json_t **out)
{
	char esc[128];
	int b = bool_word(word);
	if (b >= 0) {
		*out = json_boolean(b);
	} else if (!strncmp(word, "kTSK", 4) || !strncmp(word, "kSK", 3)) {
		*out = json_string(word); /* a TrustKit constant: its name is the key */
	} else {
		const char *v = find_const(s, word);
		if (!v)
			return scan_fail(
				s, line,
				"'%s' is not a literal nor a string constant of this file; "
				"pinwatch cannot resolve it (write the value as a literal)",
				imp_esc(word, esc, sizeof(esc)));
		*out = json_string(v);
		if (!*out)
			return scan_fail(s, line, "the constant '%s' is not valid UTF-8",
					 imp_esc(word, esc, sizeof(esc)));
	}
	return *out ? 0 : -ENOMEM;
}

/* Entries up to @close; @dict: "key: value" pairs. The opener is consumed. */
static int entries(struct scan *s, int depth, char close, bool dict, json_t *into)
{
	char esc[128];
	next(s);
	while (!is_punct(s, close)) {
		unsigned line = s->tk.line;
		json_t *k = NULL, *v = NULL;
		int rc;
		if (s->tk.kind == T_EOF)
			return scan_fail(s, line, "the literal is not closed ('%c' missing)",
					 close);
		if ((rc = value(s, depth + 1, dict ? &k : &v)))
			return rc;
		if (dict) {
			if (!json_is_string(k)) {
				json_decref(k);
				return scan_fail(s, line, "a dictionary key must be a string");
			}
			if (!is_punct(s, ':')) {
				json_decref(k);
				return scan_fail(s, s->tk.line, "expected ':' after a key");
			}
			next(s);
			if ((rc = value(s, depth + 1, &v))) {
				json_decref(k);
				return rc;
			}
			const char *ks = json_string_value(k);
			if (json_object_get(into, ks)) {
				scan_fail(s, line, "key '%s' given twice",
					  imp_esc(ks, esc, sizeof(esc)));
				json_decref(k);
				json_decref(v);
				return -EINVAL;
			}
			rc = json_object_set_new(into, ks, v);
			json_decref(k);
		} else {
			rc = json_array_append_new(into, v);
		}
		if (rc)
			return -ENOMEM;
		if (is_punct(s, ','))
			next(s);
		else if (s->tk.kind == T_EOF)
			return scan_fail(s, line, "the literal is not closed ('%c' missing)",
					 close);
		else if (!is_punct(s, close))
			return scan_fail(s, s->tk.line,
					 "expected ',' or '%c' in the literal (an "
					 "expression pinwatch cannot evaluate?)",
					 close);
	}
	next(s);
	return 0;
}

/* At a Swift '[': 1 when it opens a dictionary (its first element is
 * followed by ':'), 2 for the empty dictionary "[:]", 0 for an array. Skips
 * the first element by bracket balance and rewinds: linear, no recursion. */
static int swift_bracket(struct scan *s)
{
	size_t off = s->tk.off;
	unsigned line = s->tk.line, depth = 0;
	int kind = 0;
	next(s);
	if (is_punct(s, ':')) {
		kind = 2;
	} else {
		for (; s->tk.kind != T_EOF; next(s)) {
			if (s->tk.kind != T_PUNCT)
				continue;
			char c = s->tk.punct;
			if (c == '[' || c == '(' || c == '{') {
				depth++;
			} else if (c == ']' || c == ')' || c == '}') {
				if (depth == 0)
					break;
				depth--;
			} else if (depth == 0 && (c == ',' || c == ':')) {
				kind = c == ':';
				break;
			}
		}
	}
	s->lx.pos = off;
	s->lx.line = line;
	s->lx.line_start = false;
	next(s); /* the '[' again */
	return kind;
}

/* At a '[': Objective-C [NSNumber numberWithBool:YES] gives 1 with @out
 * set and the message consumed; anything else 0, rewound to the '['. */
static int objc_number_bool(struct scan *s, json_t **out)
{
	size_t off = s->tk.off;
	unsigned line = s->tk.line;
	int b = -1;
	next(s);
	if (s->tk.kind == T_IDENT && !strcmp(s->tk.text, "NSNumber")) {
		next(s);
		if (s->tk.kind == T_IDENT && !strcmp(s->tk.text, "numberWithBool")) {
			next(s);
			if (is_punct(s, ':')) {
				next(s);
				b = s->tk.kind == T_IDENT ? bool_word(s->tk.text) : -1;
				next(s);
				if (!is_punct(s, ']'))
					b = -1;
			}
		}
	}
	if (b >= 0) {
		next(s);
		*out = json_boolean(b);
		return *out ? 1 : -ENOMEM;
	}
	s->lx.pos = off;
	s->lx.line = line;
	s->lx.line_start = false;
	next(s); /* the '[' again */
	return 0;
}

static int value(struct scan *s, int depth, json_t **out)
{
	unsigned line = s->tk.line;
	int rc = 0;
	*out = NULL;
	if (depth > IMPORTERS_MAX_NESTING)
		return scan_fail(s, line, "literal nested too deeply");
	bool at = is_punct(s, '@');
	if (at)
		next(s);
	struct tok *t = &s->tk;
	if (t->kind == T_STR) {
		if (t->interpolated)
			return scan_fail(s, line,
					 "string interpolation: pinwatch cannot resolve it");
		*out = json_string(t->text);
		if (!*out)
			return scan_fail(s, line, "a string is not valid UTF-8");
		next(s);
	} else if (t->kind == T_BAD) {
		return scan_fail(s, line, "an unterminated, over-long or NUL-holding string");
	} else if (t->kind == T_NUM) {
		long long v;
		*out = util_parse_int(t->text, -(1LL << 52), 1LL << 52, &v) ? json_real(1)
									    : json_integer(v);
		next(s);
	} else if (t->kind == T_IDENT) {
		char word[MAX_IDENT], esc[128];
		snprintf(word, sizeof(word), "%.*s", MAX_IDENT - 1, t->text);
		next(s);
		if (!strcmp(word, "NSNumber") && is_punct(s, '(')) {
			/* Swift NSNumber(value: true) / NSNumber(booleanLiteral: false) */
			int b = -1;
			next(s);
			if (s->tk.kind == T_IDENT && (!strcmp(s->tk.text, "value") ||
						      !strcmp(s->tk.text, "booleanLiteral"))) {
				next(s);
				if (is_punct(s, ':')) {
					next(s);
					b = s->tk.kind == T_IDENT ? bool_word(s->tk.text) : -1;
					next(s);
				}
			}
			if (b < 0 || !is_punct(s, ')'))
				return scan_fail(s, line,
						 "an NSNumber other than NSNumber(value: "
						 "true|false); pinwatch reads only literals");
			next(s);
			*out = json_boolean(b);
			return *out ? note_line(s, *out, line) : -ENOMEM;
		}
		if (is_punct(s, '(') || is_punct(s, '.') || is_punct(s, '['))
			return scan_fail(s, line,
					 "'%s%c...': a call or member access; pinwatch reads only "
					 "literals and constants",
					 imp_esc(word, esc, sizeof(esc)), s->tk.punct);
		if ((rc = ident_value(s, word, line, out)))
			return rc;
	} else if (at && is_punct(s, '(')) { /* @(YES) */
		next(s);
		if ((rc = value(s, depth + 1, out)))
			return rc;
		if (!is_punct(s, ')'))
			return scan_fail(s, s->tk.line, "expected ')' after @(...)");
		next(s);
	} else if (is_punct(s, '{') && at) {
		*out = json_object();
		if (!*out)
			return -ENOMEM;
		rc = entries(s, depth, '}', true, *out);
	} else if (is_punct(s, '[') && !at && (rc = objc_number_bool(s, out)) != 0) {
		if (rc < 0)
			return rc;
		return note_line(s, *out, line);
	} else if (is_punct(s, '[')) {
		bool dict = false;
		if (!at) {
			int kind = swift_bracket(s);
			if (kind == 2) { /* [:] */
				next(s);
				next(s);
				if (!is_punct(s, ']'))
					return scan_fail(s, line, "expected ']' after '[:'");
				next(s);
				*out = json_object();
				if (!*out)
					return -ENOMEM;
				return note_line(s, *out, line);
			}
			dict = kind == 1;
		}
		*out = dict ? json_object() : json_array();
		if (!*out)
			return -ENOMEM;
		rc = entries(s, depth, ']', dict, *out);
	} else {
		char what[8] = "end";
		if (t->kind == T_PUNCT)
			snprintf(what, sizeof(what), "'%c'",
				 t->punct >= 0x20 && t->punct < 0x7f ? t->punct : '?');
		return scan_fail(s, line, "expected a literal value, found %s", what);
	}
	if (rc) {
		json_decref(*out);
		*out = NULL;
		return rc;
	}
	if (!*out)
		return -ENOMEM;
	if ((rc = note_line(s, *out, line))) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int imp_tk_scan(const char *buf, size_t len, const char *name, struct imp_tk_src *out, char *err,
		size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len > IMPORTERS_MAX_CONFIG)
		return util_err(err, errlen, -EFBIG, "%s: larger than %u bytes", name,
				IMPORTERS_MAX_CONFIG);
	struct scan *s = calloc(1, sizeof(*s));
	if (!s)
		return util_err(err, errlen, -ENOMEM, "%s: out of memory", name);
	s->lx = (struct lex){ buf, len, 0, 1, true };
	s->name = name;
	s->err = err;
	s->errlen = errlen;
	s->out = out;

	struct mark start;
	unsigned others = 0;
	int rc = pass1(s, &start, &others);
	if (rc) {
		rc = util_err(err, errlen, -EINVAL,
			      "%s: no TrustKit configuration found (a JSON object, a <plist>, or "
			      "Objective-C/Swift code with a kTSKPinnedDomains dictionary literal)",
			      name);
		goto out;
	}
	/* the opener of the literal: '@{', '@[' (never: it holds a key) or '[' */
	s->lx = (struct lex){ buf, len, start.off, start.line, false };
	if (start.off > 0 && buf[start.off - 1] == '@')
		s->lx.pos = start.off - 1;
	next(s);
	rc = value(s, 1, &out->root);
	if (rc == 0 && !json_is_object(out->root))
		rc = scan_fail(s, start.line, "the TrustKit configuration is not a dictionary");
	if (rc == 0 && others) {
		char note[ERRLEN];
		snprintf(note, sizeof(note),
			 "%s: %u more TrustKit configuration%s in the file (#if branches?) "
			 "ignored; the first one, at line %u, was read",
			 name, others, others == 1 ? "" : "s", start.line);
		out->notes[out->nnotes] = strdup(note);
		if (out->notes[out->nnotes])
			out->nnotes++;
	}
out:
	for (size_t i = 0; i < s->nconsts; i++) {
		free(s->consts[i].name);
		free(s->consts[i].value);
	}
	free(s);
	if (rc)
		imp_tk_src_free(out);
	return rc == -ENOMEM ? util_err(err, errlen, rc, "%s: out of memory", name) : rc;
}

unsigned imp_tk_src_line(const struct imp_tk_src *src, const json_t *v)
{
	for (size_t i = 0; v && i < src->nlines; i++)
		if (src->lines[i].v == v)
			return src->lines[i].line;
	return 0;
}

void imp_tk_src_free(struct imp_tk_src *src)
{
	if (!src)
		return;
	json_decref(src->root);
	free(src->lines);
	for (size_t i = 0; i < src->nnotes; i++)
		free(src->notes[i]);
	memset(src, 0, sizeof(*src));
}
