/* Tokenizer of Kotlin and Java source for the OkHttp importer: identifiers,
 * string literals (escapes, Kotlin raw strings) decoded into an arena,
 * punctuation with matching brackets, comments skipped, line numbers kept.
 * Bounded: OK_MAX_TOKENS tokens, OK_MAX_BRACKETS nesting. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/okhttp_int.h"
#include "base/array.h"

static int push(struct ok_tokens *s, size_t *cap, struct tok t)
{
	if (s->nt >= OK_MAX_TOKENS)
		return ok_fail(s->o, t.line, -E2BIG, "more than %u tokens; not a pinner file",
			       OK_MAX_TOKENS);
	if (ARRAY_RESERVE(s->t, *cap, s->nt + 1, OK_MAX_TOKENS))
		return -ENOMEM;
	s->t[s->nt++] = t;
	return 0;
}

/* A string literal starting at buf[*i] ('"' or '"""'); its value goes to the arena. */
static int lex_string(struct ok_tokens *s, size_t *i, unsigned *line, struct tok *t)
{
	const char *b = s->buf;
	size_t p = *i, n = s->len;
	unsigned start = *line;
	t->kind = K_STR;
	t->off = (uint32_t)s->alen;
	if (p + 2 < n && b[p + 1] == '"' && b[p + 2] == '"') { /* Kotlin raw string */
		p += 3;
		for (;;) {
			if (p + 2 >= n)
				return ok_fail(s->o, start, -EINVAL, "unterminated \"\"\" string");
			if (b[p] == '"' && b[p + 1] == '"' && b[p + 2] == '"')
				break;
			*line += b[p] == '\n';
			s->arena[s->alen++] = b[p++];
		}
		while (p + 3 < n && b[p + 3] == '"') /* """a"""" ends at the last three */
			s->arena[s->alen++] = b[p++];
		p += 3;
	} else {
		p++;
		for (;;) {
			if (p >= n || b[p] == '\n')
				return ok_fail(s->o, start, -EINVAL, "unterminated string literal");
			if (b[p] == '"')
				break;
			if (b[p] == '\\' && p + 1 < n && b[p + 1] != '\n') {
				char c = b[p + 1];
				/* Escapes never occur in hosts or pins; keep a stand-in that
				 * no host or base64 accepts, except for the quote and slash. */
				s->arena[s->alen++] =
					(c == '"' || c == '\\' || c == '\'' || c == '$') ? c : '\\';
				p += 2;
				continue;
			}
			s->arena[s->alen++] = b[p++];
		}
		p++;
	}
	t->len = (uint32_t)(s->alen - t->off);
	s->arena[s->alen++] = '\0';
	*i = p;
	return 0;
}

static bool line_start(const char *b, size_t i)
{
	while (i > 0 && (b[i - 1] == ' ' || b[i - 1] == '\t'))
		i--;
	return i == 0 || b[i - 1] == '\n';
}

int ok_lex(struct ok_tokens *s)
{
	s->arena = malloc(s->len + 1);
	if (!s->arena)
		return -ENOMEM;
	static const char *const ops[] = { "==", "!=", "<=", ">=", "->", "::", "?.", "?:", "!!",
					   "+=", "-=", "*=", "/=", "&&", "||", "..", "++", "--" };
	const char *b = s->buf;
	size_t n = s->len, i = 0, cap = 0;
	unsigned line = 1;
	int32_t stack[OK_MAX_BRACKETS];
	size_t depth = 0;
	int rc;
	while (i < n) {
		unsigned char c = (unsigned char)b[i];
		if (c == '\n') {
			line++;
			i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			i++;
			continue;
		}
		if (c == '/' && i + 1 < n && b[i + 1] == '/') {
			while (i < n && b[i] != '\n')
				i++;
			continue;
		}
		if (c == '#' && line_start(b, i)) { /* a note in a pasted snippet */
			while (i < n && b[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && i + 1 < n && b[i + 1] == '*') {
			unsigned start = line;
			i += 2;
			while (i + 1 < n && !(b[i] == '*' && b[i + 1] == '/'))
				line += b[i++] == '\n';
			if (i + 1 >= n)
				return ok_fail(s->o, start, -EINVAL, "unterminated /* comment");
			i += 2;
			continue;
		}
		struct tok t = { .line = line, .match = -1, .off = (uint32_t)i };
		if (c == '"') {
			if ((rc = lex_string(s, &i, &line, &t)) != 0)
				return rc;
		} else if (c == '\'') { /* char literal: skipped as a number-like token */
			size_t p = i + 1;
			while (p < n && p < i + 12 && b[p] != '\'' && b[p] != '\n')
				p += b[p] == '\\' ? 2 : 1;
			t.kind = K_NUM;
			i = (p < n && b[p] == '\'') ? p + 1 : i + 1;
			t.len = (uint32_t)(i - t.off);
		} else if (c == '`') { /* Kotlin `quoted identifier` */
			size_t p = i + 1;
			while (p < n && b[p] != '`' && b[p] != '\n')
				p++;
			if (p >= n || b[p] != '`')
				return ok_fail(s->o, line, -EINVAL, "unterminated `identifier`");
			t.kind = K_IDENT;
			t.off = (uint32_t)(i + 1);
			t.len = (uint32_t)(p - i - 1);
			i = p + 1;
		} else if (ok_ident_start(c)) {
			while (i < n && ok_ident_char((unsigned char)b[i]))
				i++;
			t.kind = K_IDENT;
			t.len = (uint32_t)(i - t.off);
		} else if (c >= '0' && c <= '9') {
			while (i < n &&
			       (ok_ident_char((unsigned char)b[i]) ||
				(b[i] == '.' && i + 1 < n && b[i + 1] >= '0' && b[i + 1] <= '9')))
				i++;
			t.kind = K_NUM;
			t.len = (uint32_t)(i - t.off);
		} else {
			t.kind = K_PUNCT;
			t.c = (char)c;
			t.len = 1;
			for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
				if (i + 1 < n && b[i] == ops[k][0] && b[i + 1] == ops[k][1]) {
					t.kind = K_OP;
					t.c = 0;
					t.len = 2;
					break;
				}
			}
			i += t.len;
		}
		if ((rc = push(s, &cap, t)) != 0)
			return rc;
		if (t.kind != K_PUNCT)
			continue;
		int32_t idx = (int32_t)(s->nt - 1);
		if (c == '(' || c == '[' || c == '{') {
			if (depth >= sizeof(stack) / sizeof(stack[0]))
				return ok_fail(s->o, line, -EINVAL,
					       "brackets nested deeper than %zu",
					       sizeof(stack) / sizeof(stack[0]));
			stack[depth++] = idx;
		} else if (c == ')' || c == ']' || c == '}') {
			char want = c == ')' ? '(' : c == ']' ? '[' : '{';
			/* A pasted snippet may close more than it opened: such closers
			 * match nothing. */
			if (depth && s->t[stack[depth - 1]].c == want) {
				int32_t open = stack[--depth];
				s->t[open].match = idx;
				s->t[idx].match = open;
			}
		}
	}
	return 0;
}

bool ok_looks_like_source(const char *buf, size_t len)
{
	static const char *const kw[] = { "package ", "import ",  "object ",	"class ",    "val ",
					  "const ",   "private ", "public ",	"internal ", "fun ",
					  "static ",  "final ",	  "companion ", "@",	     "." };
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '#') { /* a comment of the line form */
			while (i + 1 < len && buf[i + 1] != '\n')
				i++;
			continue;
		}
		if (buf[i] == 'a' && i + 3 <= len && !memcmp(buf + i, "add", 3) &&
		    (i == 0 || !ok_ident_char((unsigned char)buf[i - 1]))) {
			size_t k = i + 3;
			while (k < len && (buf[k] == ' ' || buf[k] == '\t'))
				k++;
			if (k < len && buf[k] == '(')
				return true;
		}
		if (buf[i] == 'C' && i + 17 <= len && !memcmp(buf + i, "CertificatePinner", 17))
			return true;
		if (i == 0 || buf[i - 1] == '\n') {
			size_t k = i;
			while (k < len && (buf[k] == ' ' || buf[k] == '\t'))
				k++;
			for (size_t w = 0; w < sizeof(kw) / sizeof(kw[0]); w++) {
				size_t n = strlen(kw[w]);
				if (k + n <= len && !memcmp(buf + k, kw[w], n))
					return true;
			}
		}
	}
	return false;
}

void ok_tokens_free(struct ok_tokens *tk)
{
	free(tk->t);
	free(tk->arena);
	tk->t = NULL;
	tk->arena = NULL;
	tk->nt = 0;
}
