/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers the cmocka tests share (linked into every tests/unit binary). */
#ifndef VFIOHOOK_TESTS_TESTUTIL_H
#define VFIOHOOK_TESTS_TESTUTIL_H

#include <stdarg.h>

/* cmocka group setup/teardown: a fresh fake root (struct fx * in *state)
 * with host_setup() pointed at it, node "pve1". */
int fx_test_setup(void **state);
int fx_test_teardown(void **state);

/* Fail the test unless err is set and contains each word of the
 * NULL-terminated list; frees err. */
void assert_err_has(char *err, va_list words);

#endif
