/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPU sets: the kernel's list format ("0-5,8-13", as in cpulist,
 * thread_siblings_list, cpuset.cpus, smp_affinity_list, Cpus_allowed_list)
 * and its hex mask format ("ff,00000003", as in smp_affinity), parsed into
 * and printed from one fixed-size bitmap.  Pure functions, no I/O.
 *
 * Proxmox's `affinity` uses the same list syntax, read a little more
 * leniently (PVE::CpuSet: white space around each part, a trailing comma);
 * pve/propstr.h builds its validator on cpuset_parse() with CPUSET_LENIENT.
 */
#ifndef VFIOHOOK_CPUSET_H
#define VFIOHOOK_CPUSET_H

#include <stdbool.h>
#include <stdint.h>

/* Highest CPU id + 1 we represent (Proxmox's limit for `affinity` too). */
#define CPUSET_MAX 8192

struct cpuset {
	uint64_t w[CPUSET_MAX / 64];
};

enum {
	/* white space around each part, trailing commas (PVE::CpuSet, Perl's
	 * split(/,/) drops trailing empty fields) */
	CPUSET_LENIENT = 1,
	/* "" (or only a newline) is the empty set, as an unset cgroup
	 * cpuset.cpus reads; without it an empty text is an error */
	CPUSET_EMPTY_OK = 2,
};

/*
 * Parse a CPU list: comma-separated ids or from-to ranges, from <= to, ids
 * below CPUSET_MAX; one trailing newline is ignored.  Returns 0 with *out,
 * or -EINVAL with *err naming the bad part ("invalid cpu range 'a-b'
 * (expected a list like 0-5,8-13)").
 */
int cpuset_parse(const char *s, unsigned flags, struct cpuset *out, char **err);
/* The list form, ranges joined ("0-5,8-13"; "" for the empty set); never NULL. */
char *cpuset_format(const struct cpuset *s);

/* The kernel's hex mask: 32-bit groups, most significant first, separated
 * by commas ("3", "ff,00000003").  Parse returns 0 or -EINVAL with *err. */
int cpuset_parse_mask(const char *s, struct cpuset *out, char **err);
char *cpuset_format_mask(const struct cpuset *s);

void cpuset_zero(struct cpuset *s);
/* cpu >= CPUSET_MAX is ignored by set/clear and never a member. */
void cpuset_set(struct cpuset *s, unsigned cpu);
void cpuset_clear(struct cpuset *s, unsigned cpu);
bool cpuset_has(const struct cpuset *s, unsigned cpu);
unsigned cpuset_count(const struct cpuset *s);
bool cpuset_empty(const struct cpuset *s);
bool cpuset_equal(const struct cpuset *a, const struct cpuset *b);
/* Every member of a is in b. */
bool cpuset_subset(const struct cpuset *a, const struct cpuset *b);
/* The first member >= from, or -1. */
int cpuset_next(const struct cpuset *s, unsigned from);
/* The n-th member (0-based, ascending), or -1. */
int cpuset_nth(const struct cpuset *s, unsigned n);
/* dst = a & b, a | b, a & ~b (dst may be a or b). */
void cpuset_and(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b);
void cpuset_or(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b);
void cpuset_andnot(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b);

/* for each member c of s, ascending; c is the loop variable's name, so it
 * cannot be parenthesized */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define cpuset_foreach(c, s)                                                             \
	for (int c = cpuset_next((s), 0); c >= 0; c = cpuset_next((s), (unsigned)c + 1))
/* NOLINTEND(bugprone-macro-parentheses) */

#endif
