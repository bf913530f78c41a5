#include "base/strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRBUF_MIN_ALLOC 64

void strbuf_init(struct strbuf *b, size_t max)
{
	/* max + 1 (the NUL) must fit in a size_t */
	*b = (struct strbuf){ .max = max < SIZE_MAX ? max : SIZE_MAX - 1 };
}

void strbuf_free(struct strbuf *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->alloc = 0;
	b->err = 0;
}

void strbuf_reset(struct strbuf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p)
		b->p[0] = '\0';
}

/* Make room for @add more bytes of text and the NUL; 0 or the (now sticky) error. */
static int grow(struct strbuf *b, size_t add)
{
	if (b->err)
		return b->err;
	if (add > b->max - b->len)
		return b->err = -E2BIG;
	size_t need = b->len + add + 1,
	       limit = b->max + 1; /* neither overflows: len + add <= max */
	if (need <= b->alloc)
		return 0;
	size_t n = b->alloc ? b->alloc : STRBUF_MIN_ALLOC;
	while (n < need)
		n = n > limit / 2 ? limit : n * 2;
	if (n > limit)
		n = limit;
	char *p = realloc(b->p, n);
	if (!p)
		return b->err = -ENOMEM;
	b->p = p;
	b->alloc = n;
	return 0;
}

int strbuf_add(struct strbuf *b, const void *mem, size_t len)
{
	int rc = grow(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->p + b->len, mem, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

int strbuf_addstr(struct strbuf *b, const char *str)
{
	return strbuf_add(b, str, strlen(str));
}

int strbuf_addc(struct strbuf *b, char c)
{
	return strbuf_add(b, &c, 1);
}

int strbuf_vaddf(struct strbuf *b, const char *fmt, va_list ap)
{
	if (b->err)
		return b->err;
	va_list cp;
	va_copy(cp, ap);
	char *at = b->p ? b->p + b->len : NULL;
	size_t room = b->p ? b->alloc - b->len : 0;
	int n = vsnprintf(at, room, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL; /* a formatting error says nothing about the buffer: not sticky */
	if ((size_t)n < room) { /* within the cap: alloc never passes max + 1 */
		b->len += (size_t)n;
		return 0;
	}
	int rc = grow(b, (size_t)n);
	if (rc) {
		if (b->p)
			b->p[b->len] = '\0'; /* vsnprintf may have written a cut prefix */
		return rc;
	}
	n = vsnprintf(b->p + b->len, b->alloc - b->len, fmt, ap);
	if (n < 0 || (size_t)n >= b->alloc - b->len) {
		b->p[b->len] = '\0';
		return -EINVAL;
	}
	b->len += (size_t)n;
	return 0;
}

int strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = strbuf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void strbuf_truncate(struct strbuf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->p[len] = '\0';
	}
	b->err = 0;
}

const char *strbuf_ptr(const struct strbuf *b)
{
	return b->p ? b->p : "";
}

size_t strbuf_len(const struct strbuf *b)
{
	return b->len;
}

int strbuf_err(const struct strbuf *b)
{
	return b->err;
}

char *strbuf_take(struct strbuf *b, size_t *len)
{
	char *p = b->p;
	size_t n = b->len;
	if (b->err) {
		free(p);
		p = NULL;
	} else if (!p) {
		p = calloc(1, 1);
	}
	b->p = NULL;
	b->len = b->alloc = 0;
	b->err = 0;
	if (len)
		*len = p ? n : 0;
	return p;
}
