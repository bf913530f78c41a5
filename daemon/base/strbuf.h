/*
 * A growable string with a hard size cap (modelled on curl's dynbuf).
 *
 * The cap is set once, at init: a buffer never holds more than @max bytes of
 * text (plus its terminating NUL), so text built from untrusted input gets an
 * error instead of unbounded memory. Adders are all-or-nothing: one that would
 * pass the cap (-E2BIG) or cannot allocate (-ENOMEM) adds nothing, keeps the
 * text added so far, and makes the buffer fail every later add with the same
 * code (sticky), so a caller may add many pieces and check once at the end
 * with strbuf_err() or strbuf_take().
 *
 *	struct strbuf b;
 *	strbuf_init(&b, 1 << 20);
 *	strbuf_addstr(&b, "name=");
 *	strbuf_addf(&b, "%d", n);
 *	char *s = strbuf_take(&b, &len);    // NULL on any earlier failure
 *
 * It allocates with malloc/realloc only: usable from every layer, the pure
 * readiness core included.
 */
#ifndef PINWATCH_STRBUF_H
#define PINWATCH_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *p;      /* NULL until the first byte is added */
	size_t len;   /* bytes of text, without the NUL */
	size_t alloc; /* bytes allocated at p */
	size_t max;   /* hard cap on len */
	int err;      /* 0, or the sticky -E2BIG / -ENOMEM */
};

/** Make @b an empty buffer that will hold at most @max bytes of text. Allocates nothing. */
void strbuf_init(struct strbuf *b, size_t max);
/** Free @b's memory; it is then an empty buffer with the same cap and no error. NULL-safe. */
void strbuf_free(struct strbuf *b);
/** Empty @b and clear its error, keeping its memory for reuse. */
void strbuf_reset(struct strbuf *b);

/**
 * Append @len bytes at @mem (which may hold NULs; it must not point into @b).
 * Returns 0, -E2BIG (the text would pass the cap, or its length overflows),
 * -ENOMEM, or the sticky error of an earlier failed add. On failure @b keeps
 * the text it had.
 */
int strbuf_add(struct strbuf *b, const void *mem, size_t len);
/** strbuf_add() of the NUL-terminated @str. */
int strbuf_addstr(struct strbuf *b, const char *str);
/** strbuf_add() of one byte. */
int strbuf_addc(struct strbuf *b, char c);
/** Append printf-style output; returns like strbuf_add(), and -EINVAL if formatting fails. */
int strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** strbuf_addf() with a va_list. */
int strbuf_vaddf(struct strbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/**
 * Cut the text to its first @len bytes (nothing if it is already shorter) and
 * clear the sticky error: for a caller that chose to cut instead of failing.
 */
void strbuf_truncate(struct strbuf *b, size_t len);

/** The NUL-terminated text ("" while empty); valid until the next call that changes @b. */
const char *strbuf_ptr(const struct strbuf *b);
/** Bytes of text, without the NUL. */
size_t strbuf_len(const struct strbuf *b);
/** 0, or the sticky error of a failed add. */
int strbuf_err(const struct strbuf *b);

/**
 * Hand the text over: returns a malloc'd NUL-terminated string the caller
 * frees (an empty one if nothing was added) and its length in *@len (if
 * non-NULL), and leaves @b empty. Returns NULL, freeing the text, if an add
 * failed earlier or allocating the empty string fails; @b is then empty and
 * without error.
 */
char *strbuf_take(struct strbuf *b, size_t *len);

#endif
