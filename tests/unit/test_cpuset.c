// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CPU sets in the kernel's list and mask formats (base/cpuset.h), and
 * Proxmox's `affinity` syntax built on them (PVE::CpuSet: white space
 * around parts, trailing commas).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/cpuset.h"
#include "pve/propstr.h"
#include "testutil.h"

/* parse text with flags, format it again */
static void roundtrip(const char *text, unsigned flags, const char *want)
{
	struct cpuset s;
	char *err = NULL, *out;

	if (cpuset_parse(text, flags, &s, &err) != 0)
		fail_msg("'%s' does not parse: %s", text, err);
	out = cpuset_format(&s);
	assert_string_equal(out, want);
	free(out);
}

static void bad(const char *text, unsigned flags, ...)
{
	struct cpuset s;
	char *err = NULL;
	va_list ap;

	assert_int_equal(cpuset_parse(text, flags, &s, &err), -EINVAL);
	va_start(ap, flags);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_list_format(void **state)
{
	(void)state;
	/* the kernel's own shapes */
	roundtrip("0", 0, "0");
	roundtrip("0-3", 0, "0-3");
	roundtrip("0-5,8-13", 0, "0-5,8-13");
	roundtrip("0-3\n", 0, "0-3"); /* as read from sysfs */
	roundtrip("1,3,5", 0, "1,3,5");
	roundtrip("3,2,1,0", 0, "0-3"); /* a set, printed in order, ranges joined */
	roundtrip("0,1,2,4,5,7", 0, "0-2,4-5,7");
	roundtrip("2-2", 0, "2");
	roundtrip("63-65", 0, "63-65"); /* across a word */
	roundtrip("8191", 0, "8191");
	/* empty: an unset cpuset.cpus */
	roundtrip("", CPUSET_EMPTY_OK, "");
	roundtrip("\n", CPUSET_EMPTY_OK, "");
	/* PVE::CpuSet: white space around parts, trailing commas */
	roundtrip(" 0-3 , 8 ", CPUSET_LENIENT, "0-3,8");
	roundtrip("0-5,", CPUSET_LENIENT, "0-5");
	roundtrip("0-5,,", CPUSET_LENIENT, "0-5");
}

static void test_list_errors(void **state)
{
	(void)state;
	bad("", 0, "empty", NULL);
	bad("5-3", 0, "'5-3'", "3 < 5", NULL);
	bad("a-b", 0, "'a-b'", "0-5,8-13", NULL);
	bad("0;1", 0, "'0;1'", NULL);
	bad("-1", 0, "'-1'", NULL);
	bad("8192", 0, "out of range", "8191", NULL);
	bad("0-3,,5", CPUSET_LENIENT, "''", NULL);
	bad(",0", CPUSET_LENIENT, "''", NULL);
	bad("0-5,", 0, "ends with a comma", NULL);
	bad(" 0", 0, "' 0'", NULL); /* white space only when lenient */
	bad("0 - 3", CPUSET_LENIENT, "'0 - 3'", NULL);
}

static void test_mask_format(void **state)
{
	struct cpuset s;
	char *out, *err = NULL;

	(void)state;
	assert_int_equal(cpuset_parse_mask("f", &s, NULL), 0);
	out = cpuset_format(&s);
	assert_string_equal(out, "0-3");
	free(out);
	/* 32-bit groups, most significant first, as /proc/irq/N/smp_affinity */
	assert_int_equal(cpuset_parse_mask("00000001,00000000,0000000c\n", &s, NULL), 0);
	out = cpuset_format(&s);
	assert_string_equal(out, "2-3,64");
	free(out);
	out = cpuset_format_mask(&s);
	assert_string_equal(out, "1,00000000,0000000c");
	free(out);
	cpuset_zero(&s);
	out = cpuset_format_mask(&s);
	assert_string_equal(out, "0");
	free(out);
	assert_int_equal(cpuset_parse_mask("fg", &s, &err), -EINVAL);
	assert_non_null(strstr(err, "'g'"));
	free(err);
	err = NULL;
	assert_int_equal(cpuset_parse_mask("", &s, &err), -EINVAL);
	free(err);
}

static void test_operations(void **state)
{
	struct cpuset a, b, c;

	(void)state;
	cpuset_parse("0-7", 0, &a, NULL);
	cpuset_parse("4-11", 0, &b, NULL);
	assert_int_equal(cpuset_count(&a), 8);
	assert_true(cpuset_has(&a, 7));
	assert_false(cpuset_has(&a, 8));
	assert_false(cpuset_has(&a, 100000));
	cpuset_and(&c, &a, &b);
	assert_int_equal(cpuset_next(&c, 0), 4);
	assert_int_equal(cpuset_count(&c), 4);
	cpuset_or(&c, &a, &b);
	assert_int_equal(cpuset_count(&c), 12);
	cpuset_andnot(&c, &a, &b);
	assert_int_equal(cpuset_nth(&c, 3), 3);
	assert_int_equal(cpuset_nth(&c, 4), -1);
	assert_true(cpuset_subset(&c, &a));
	assert_false(cpuset_subset(&a, &c));
	cpuset_clear(&c, 0);
	assert_int_equal(cpuset_next(&c, 0), 1);
	cpuset_zero(&c);
	assert_true(cpuset_empty(&c));
	assert_int_equal(cpuset_next(&c, 0), -1);
	cpuset_set(&c, CPUSET_MAX - 1);
	assert_int_equal(cpuset_next(&c, 0), CPUSET_MAX - 1);
	assert_int_equal(cpuset_next(&c, CPUSET_MAX), -1);
	assert_false(cpuset_equal(&a, &b));
	b = a;
	assert_true(cpuset_equal(&a, &b));
}

/* Proxmox's validator is the same parser (pve/propstr.h). */
static void test_pve_affinity(void **state)
{
	struct cpuset s;
	char *err = NULL;

	(void)state;
	assert_int_equal(pve_cpuset("0-3, 8-11,", &s, NULL), 0);
	assert_int_equal(cpuset_count(&s), 8);
	assert_int_equal(pve_parse_cpuset("0-5,8-13", NULL), 0);
	assert_int_equal(pve_parse_cpuset("0-3,,5", &err), -EINVAL);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_format),	 cmocka_unit_test(test_list_errors),
	    cmocka_unit_test(test_mask_format),	 cmocka_unit_test(test_operations),
	    cmocka_unit_test(test_pve_affinity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
