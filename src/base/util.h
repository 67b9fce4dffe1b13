/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers every module uses: cleanup attributes, string tests,
 * a growable pointer array and error-message formatting.
 */
#ifndef VFIOHOOK_UTIL_H
#define VFIOHOOK_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_(f) __attribute__((cleanup(f)))
/* A cleanup function for pointers to type that calls func when not NULL:
 * DEFINE_CLEANUP_FUNC(struct journal *, journal_free) gives journal_freep,
 * for `_cleanup_(journal_freep) struct journal *j = NULL;` */
#define DEFINE_CLEANUP_FUNC(type, func)                                                  \
	static inline void func##p(type *p) /* NOLINT(bugprone-macro-parentheses) */     \
	{                                                                                \
		if (*p)                                                                  \
			func(*p);                                                        \
	}

static inline bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline bool str_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
}

/* True when s[0..len) holds only white space (or nothing). */
static inline bool str_is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!str_is_space(s[i]))
			return false;
	return true;
}

/* strdup/asprintf that abort on out-of-memory: a hook cannot do anything
 * useful without memory, and checking every small allocation hides logic. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap);

/*
 * Set *err (if err is not NULL and *err is still NULL) to a formatted
 * message; the first error wins, so the innermost, most precise message
 * reaches the user.  Returns -EINVAL so parsers can `return errf(...)`.
 */
int errf(char **err, const char *fmt, ...) _printf_(2, 3);
/* The same, returning r (a negative errno) instead of -EINVAL:
 * `return errnof(err, -ENOENT, "no such thing %s", x);` */
int errnof(char **err, int r, const char *fmt, ...) _printf_(3, 4);

/* A NULL-terminated, growable array of owned strings. */
struct strv {
	char **v;
	size_t n;
	size_t cap;
};
void strv_push(struct strv *s, char *owned);
void strv_add(struct strv *s, const char *str);
bool strv_contains(const struct strv *s, const char *str);
void strv_sort(struct strv *s);
void strv_clear(struct strv *s);

/* The value of one hex digit, or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse a decimal number that must fill the whole string. */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* Parse "N" or "N-M" (decimal digits only, each at most max) in s[0..len):
 * *from, and *to (= *from without "-M"); -EINVAL on a bad form.  from <= to
 * is the caller's rule. */
int parse_uint_range(const char *s, size_t len, unsigned long long max,
		     unsigned long long *from, unsigned long long *to);

#endif
