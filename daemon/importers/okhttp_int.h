/* Shared by importers_okhttp.c (line form, entry point) and
 * importers_okhttp_src.c (Kotlin / Java source scanner); not a public
 * interface. */
#ifndef PINWATCH_OKHTTP_INT_H
#define PINWATCH_OKHTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
