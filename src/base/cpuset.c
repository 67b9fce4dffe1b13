// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/cpuset.h"

#include <errno.h>
#include <stdio.h>

#include "base/util.h"

void cpuset_zero(struct cpuset *s)
{
	memset(s, 0, sizeof(*s));
}

void cpuset_set(struct cpuset *s, unsigned cpu)
{
	if (cpu < CPUSET_MAX)
		s->w[cpu / 64] |= 1ULL << (cpu % 64);
}

void cpuset_clear(struct cpuset *s, unsigned cpu)
{
	if (cpu < CPUSET_MAX)
		s->w[cpu / 64] &= ~(1ULL << (cpu % 64));
}

bool cpuset_has(const struct cpuset *s, unsigned cpu)
{
	return cpu < CPUSET_MAX && (s->w[cpu / 64] >> (cpu % 64)) & 1;
}

unsigned cpuset_count(const struct cpuset *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(s->w); i++)
		n += (unsigned)__builtin_popcountll(s->w[i]);
	return n;
}

bool cpuset_empty(const struct cpuset *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(s->w); i++)
		if (s->w[i])
			return false;
	return true;
}

bool cpuset_equal(const struct cpuset *a, const struct cpuset *b)
{
	return memcmp(a->w, b->w, sizeof(a->w)) == 0;
}

bool cpuset_subset(const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(a->w); i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}

int cpuset_next(const struct cpuset *s, unsigned from)
{
	for (unsigned i = from / 64; from < CPUSET_MAX && i < ARRAY_SIZE(s->w); i++) {
		uint64_t w = s->w[i];

		if (i == from / 64)
			w &= ~0ULL << (from % 64);
		if (w)
			return (int)(i * 64 + (unsigned)__builtin_ctzll(w));
	}
	return -1;
}

int cpuset_nth(const struct cpuset *s, unsigned n)
{
	cpuset_foreach(c, s)
	{
		if (n-- == 0)
			return c;
	}
	return -1;
}

void cpuset_and(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(dst->w); i++)
		dst->w[i] = a->w[i] & b->w[i];
}

void cpuset_or(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(dst->w); i++)
		dst->w[i] = a->w[i] | b->w[i];
}

void cpuset_andnot(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(dst->w); i++)
		dst->w[i] = a->w[i] & ~b->w[i];
}

/* ---- the list format ---------------------------------------------------- */

int cpuset_parse(const char *s, unsigned flags, struct cpuset *out, char **err)
{
	bool lenient = flags & CPUSET_LENIENT;
	const char *p = s ? s : "";
	size_t total = strlen(p);
	struct cpuset set;

	cpuset_zero(&set);
	if (total && p[total - 1] == '\n')
		total--;
	if (lenient) /* Perl's split(/,/) drops trailing empty fields */
		while (total && p[total - 1] == ',')
			total--;
	if (total == 0) {
		if (!(flags & CPUSET_EMPTY_OK))
			return errf(err, "empty cpu set");
		*out = set;
		return 0;
	}
	for (const char *end = p + total; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t len = comma ? (size_t)(comma - p) : (size_t)(end - p);
		const char *a = p, *e = p + len;
		unsigned long long from, to;

		if (lenient) {
			while (a < e && str_is_space(*a))
				a++;
			while (e > a && str_is_space(e[-1]))
				e--;
		}
		if (a == e || parse_uint_range(a, (size_t)(e - a), ~0ULL, &from, &to) < 0)
			return errf(
			    err,
			    "invalid cpu range '%.*s' (expected a list like 0-5,8-13)",
			    (int)len, p);
		if (to < from)
			return errf(err, "invalid cpu range '%.*s' (%llu < %llu)",
				    (int)len, p, to, from);
		if (to >= CPUSET_MAX)
			return errf(err, "cpu %llu in '%.*s' is out of range (max %u)",
				    to, (int)len, p, CPUSET_MAX - 1);
		for (unsigned long long c = from; c <= to; c++)
			cpuset_set(&set, (unsigned)c);
		if (!comma)
			break;
		p = comma + 1;
		if (p == end) /* "0," without CPUSET_LENIENT */
			return errf(err, "invalid cpu set '%s': it ends with a comma", s);
	}
	*out = set;
	return 0;
}

char *cpuset_format(const struct cpuset *s)
{
	size_t cap = 64, len = 0;
	char *buf = xcalloc(1, cap);
	int c = cpuset_next(s, 0);

	while (c >= 0) {
		int last = c;
		char part[32];
		int n;

		while (cpuset_has(s, (unsigned)last + 1))
			last++;
		if (last == c)
			n = snprintf(part, sizeof(part), "%s%d", len ? "," : "", c);
		else
			n = snprintf(part, sizeof(part), "%s%d-%d", len ? "," : "", c,
				     last);
		if (len + (size_t)n + 1 > cap) {
			cap = (len + (size_t)n + 1) * 2;
			buf = xrealloc(buf, cap);
		}
		memcpy(buf + len, part, (size_t)n + 1);
		len += (size_t)n;
		c = cpuset_next(s, (unsigned)last + 1);
	}
	return buf;
}

/* ---- the mask format ---------------------------------------------------- */

int cpuset_parse_mask(const char *s, struct cpuset *out, char **err)
{
	const char *p = s ? s : "";
	size_t len = strlen(p);
	struct cpuset set;
	unsigned bit = 0;

	cpuset_zero(&set);
	if (len && p[len - 1] == '\n')
		len--;
	if (len == 0)
		return errf(err, "empty cpu mask");
	/* from the least significant digit, skipping the group commas */
	for (size_t i = len; i-- > 0;) {
		int v = hex_digit(p[i]);

		if (p[i] == ',')
			continue;
		if (v < 0)
			return errf(err,
				    "invalid cpu mask '%.*s': '%c' is not a hex digit",
				    (int)len, p, p[i]);
		for (int b = 0; b < 4; b++, bit++) {
			if (!(v & (1 << b)))
				continue;
			if (bit >= CPUSET_MAX)
				return errf(err, "cpu mask '%.*s' names cpus beyond %u",
					    (int)len, p, CPUSET_MAX - 1);
			cpuset_set(&set, bit);
		}
	}
	*out = set;
	return 0;
}

char *cpuset_format_mask(const struct cpuset *s)
{
	int top = -1;
	size_t groups, len = 0;
	char *buf;

	cpuset_foreach(c, s) top = c;
	groups = top < 0 ? 1 : (size_t)top / 32 + 1;
	buf = xcalloc(groups, 9);
	for (size_t g = groups; g-- > 0;) {
		uint32_t v = (uint32_t)(s->w[g / 2] >> (32 * (g % 2)));

		/* the kernel prints the first group without leading zeros */
		len += (size_t)sprintf(buf + len, g + 1 == groups ? "%x" : ",%08x", v);
	}
	return buf;
}
