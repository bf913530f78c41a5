/* Shared by importers_okhttp.c (line form, entry point),
 * importers_okhttp_lex.c (the tokenizer), importers_okhttp_eval.c (constants
 * of a Kotlin / Java file) and importers_okhttp_src.c (the CertificatePinner
 * calls of a file); not a public interface. */
#ifndef PINWATCH_OKHTTP_INT_H
#define PINWATCH_OKHTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"

#define OKHTTP_PATTERN_MAX 256

/* One pattern and the pins of every add() (or line) naming it. */
struct ok_entry {
	char pattern[OKHTTP_PATTERN_MAX + 4];
	unsigned line;
	struct imp_pinset *pins;
};

struct ok {
	const char *name;
	char *err;
	size_t errlen;
	struct import_policies *out; /* for notes */
	struct ok_entry *e;
	size_t n;
};

/* "name:line: msg" into o->err; returns @rc. */
int ok_fail(struct ok *o, unsigned line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Check @pattern the way CertificatePinner.Pin does (host, "*.host",
 * "**.host"; lower-cased) and return its entry, created on first use. NULL
 * with *rc set (message in o->err) on error. */
struct ok_entry *ok_entry_for(struct ok *o, const char *pattern, unsigned line, int *rc);

/* Add one pin string ("sha256/<base64>") to @e. sha1/ pins, other prefixes
 * and bad base64 are errors naming @line. */
int ok_add_pin(struct ok *o, struct ok_entry *e, const char *pin, unsigned line);

/* Whether @buf looks like Kotlin / Java source or a pasted snippet of it
 * (an add( call, CertificatePinner, or a line starting with a declaration
 * keyword such as package, import, val, class) rather than the line form. */
bool ok_looks_like_source(const char *buf, size_t len);

/* Scan Kotlin / Java source for CertificatePinner.Builder add() calls and
 * add their patterns and pins to @o. 0 or negative errno (message set). */
int ok_parse_source(struct ok *o, const char *buf, size_t len);

/* ---- tokens (importers_okhttp_lex.c) ---------------------------------------- */

#define OK_MAX_TOKENS	(1u << 19) /* a 1 MiB file of real code has far fewer */
#define OK_MAX_BRACKETS 128

enum kind { K_IDENT, K_STR, K_PUNCT, K_OP, K_NUM };

struct tok {
	uint32_t off; /* K_STR: into the arena, else into the source */
	uint32_t len;
	uint32_t line;
	int32_t match; /* the matching bracket, or -1 */
	uint8_t kind;
	char c; /* K_PUNCT: the character */
};

/* Tokens of one file. t[i].off points into buf (identifiers...) or, for
 * K_STR, into arena (the decoded literal, NUL-terminated). */
struct ok_tokens {
	struct ok *o; /* for errors */
	const char *buf;
	size_t len;
	struct tok *t;
	size_t nt;
	char *arena;
	size_t alen;
};

static inline bool ok_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
	       c >= 0x80;
}

static inline bool ok_ident_char(unsigned char c)
{
	return ok_ident_start(c) || (c >= '0' && c <= '9');
}

/* Tokenize tk->buf. 0 or negative errno (message names the line). Free
 * with ok_tokens_free() in every case. */
int ok_lex(struct ok_tokens *tk);

void ok_tokens_free(struct ok_tokens *tk);

/* ---- constants of the file (importers_okhttp_eval.c) ------------------------ */

#define SRC_MAX_DECLS	 8192
#define SRC_MAX_STR	 1024 /* an evaluated string (host, pin, concatenation) */
#define SRC_MAX_LIST	 IMPORTERS_MAX_PINS
#define SRC_MAX_DEPTH	 16	    /* constants naming constants; nested brackets in args */
#define SRC_VAL_BUDGET	 (4u << 20) /* bytes of evaluated constant values */
#define SRC_MAX_ARGS	 (IMPORTERS_MAX_PINS + 2)
#define SRC_MAX_APPLY	 256
#define SRC_MAX_BUILDERS 64

/* An evaluated value: one string, or a list (arrayOf, listOf, { }). */
struct ok_val {
	char *s[SRC_MAX_LIST];
	size_t n;
	bool list;
};

enum dstate { D_NEW, D_BUSY, D_OK, D_BAD };

struct ok_decl {
	uint32_t name; /* token index of the name */
	uint32_t expr; /* token index where the initializer starts */
	uint8_t state;
	bool is_var; /* Kotlin var: may change, not read */
	struct ok_val v;
	char why[160];
};

struct ok_src {
	struct ok *o;
	const char *buf;
	size_t len;
	const struct tok *t; /* the tokens of ok_lex(), and its arena of literals */
	size_t nt;
	const char *arena;
	struct ok_decl *d;
	size_t nd, dcap;
	size_t budget;
	uint8_t *is_call; /* per token: 1 pinner add(), 2 other add() */
	int32_t apply[SRC_MAX_APPLY][2];
	size_t napply;
	uint32_t builders[SRC_MAX_BUILDERS];
	size_t nbuilders;
	bool snippet; /* the file never names CertificatePinner */
};

static inline bool ok_tok_is(const struct ok_src *s, size_t i, const char *word)
{
	if (i >= s->nt || s->t[i].kind != K_IDENT)
		return false;
	size_t n = strlen(word);
	return s->t[i].len == n && memcmp(s->buf + s->t[i].off, word, n) == 0;
}

static inline bool ok_punct(const struct ok_src *s, size_t i, char c)
{
	return i < s->nt && s->t[i].kind == K_PUNCT && s->t[i].c == c;
}

static inline bool ok_same_name(const struct ok_src *s, size_t a, size_t b)
{
	return s->t[a].len == s->t[b].len &&
	       memcmp(s->buf + s->t[a].off, s->buf + s->t[b].off, s->t[a].len) == 0;
}

/* Record the constants the file declares (Kotlin val/var, Java String,
 * String[] and List<String> variables) for ok_eval_arg(). 0 or -ENOMEM. */
int ok_find_decls(struct ok_src *s);

/* Evaluate the argument in tokens [@a, @e) of an add() call: string
 * literals, constants of the file, lists of them, '+' and templates; a
 * Kotlin "name =" and the spread '*' are accepted. 0 with the value in @v
 * (free with ok_val_free), 1 when it cannot be known from the file (why in
 * @why: "the variable 'x', which is not a constant of this file"), or a
 * negative errno. */
int ok_eval_arg(struct ok_src *s, size_t a, size_t e, struct ok_val *v, char *why, size_t whylen);

void ok_val_free(struct ok_val *v);

#endif
