// SPDX-License-Identifier: GPL-2.0-or-later
#include "testutil.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"

int fx_test_setup(void **state)
{
	struct fx *fx = fx_new(NULL);

	if (!fx || host_setup(fx_root(fx), "pve1") < 0)
		return -1;
	*state = fx;
	return 0;
}

int fx_test_teardown(void **state)
{
	host_cleanup();
	fx_free(*state, 0);
	return 0;
}

void assert_err_has(char *err, va_list words)
{
	const char *w;

	assert_non_null(err);
	while ((w = va_arg(words, const char *)))
		if (!strstr(err, w))
			fail_msg("error '%s' lacks '%s'", err, w);
	free(err);
}
