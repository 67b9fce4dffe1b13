// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The bind mechanism's decisions on a fake root: which sysfs files it
 * writes in each situation.  A fake tree has no kernel behind it, so only
 * the cases that need no kernel reaction to finish are run to the end;
 * the rest (a real unbind and probe) are the rig's (tests/vm).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pci/bind.h"
#include "testutil.h"

#define DEV "/sys/bus/pci/devices/0000:01:00.0"

static char *slurp(const char *path)
{
	char *s = NULL;

	if (host_read(&s, "%s", path) < 0)
		return xstrdup("(unreadable)");
	return s;
}

static void assert_file(const char *path, const char *want)
{
	char *s = slurp(path);

	assert_string_equal(s, want);
	free(s);
}

static void test_already_on_vfio(void **state)
{
	struct fx *fx = *state;
	char *err = NULL;

	assert_int_equal(fx_spec(fx,
				 "dev 0000:01:00.0 vendor=8086 device=10d3 class=020000 "
				 "group=4 driver=vfio-pci override=vfio-pci vfio_dev\n"),
			 0);
	/* nothing to do: no unbind, no probe */
	assert_int_equal(bind_to_vfio("0000:01:00.0", &err), 0);
	assert_file("/sys/bus/pci/drivers/vfio-pci/unbind", "");
	assert_file("/sys/bus/pci/drivers_probe", "");
	assert_file(DEV "/driver_override", "vfio-pci");
}

static void test_on_vfio_without_override(void **state)
{
	struct fx *fx = *state;
	char *err = NULL;

	/* vfio-pci.ids= at boot: bound, no override; it gets one, so no
	 * rescan hands it to a host driver while the VM runs */
	assert_int_equal(fx_spec(fx,
				 "dev 0000:01:00.0 vendor=8086 device=10d3 class=020000 "
				 "group=4 driver=vfio-pci vfio_dev\n"),
			 0);
	assert_int_equal(bind_to_vfio("0000:01:00.0", &err), 0);
	assert_file(DEV "/driver_override", "vfio-pci");
	assert_file("/sys/bus/pci/drivers/vfio-pci/unbind", "");
}

static void test_give_back_to_current_driver(void **state)
{
	struct fx *fx = *state;
	char *err = NULL;

	/* already on its driver (a release run twice): no unbind; the probe
	 * is harmless and the override is cleared */
	assert_int_equal(fx_spec(fx,
				 "dev 0000:01:00.0 vendor=8086 device=10d3 class=020000 "
				 "group=4 driver=e1000e override=e1000e\n"),
			 0);
	assert_int_equal(bind_give_back("0000:01:00.0", "e1000e", true, &err), 0);
	assert_file("/sys/bus/pci/drivers/e1000e/unbind", "");
	assert_file("/sys/bus/pci/drivers_probe", "0000:01:00.0");
	/* cleared: written as echo does, a lone newline (the file is
	 * truncated as `>` does, and read back without the newline) */
	assert_file(DEV "/driver_override", "");
}

static void test_leave_unbound(void **state)
{
	struct fx *fx = *state;
	char *err = NULL;

	/* it had no driver before: unbound from vfio-pci, no probe */
	assert_int_equal(fx_spec(fx,
				 "dev 0000:01:00.0 vendor=8086 device=10d3 class=020000 "
				 "group=4 driver=vfio-pci override=vfio-pci vfio_dev\n"),
			 0);
	assert_int_equal(bind_give_back("0000:01:00.0", NULL, false, &err), 0);
	assert_file("/sys/bus/pci/drivers/vfio-pci/unbind", "0000:01:00.0");
	assert_file("/sys/bus/pci/drivers_probe", "");
}

static void test_stuck_driver_is_reported(void **state)
{
	struct fx *fx = *state;
	char *err = NULL;

	/* the kernel never binds it (nothing answers in a fake tree): the
	 * wait is bounded and the message says what the driver is now */
	assert_int_equal(fx_spec(fx,
				 "dev 0000:01:00.0 vendor=8086 device=10d3 class=020000 "
				 "group=4\n"),
			 0);
	assert_int_equal(bind_wait_driver("0000:01:00.0", "vfio-pci", 50), -ETIMEDOUT);
	assert_int_equal(bind_set_override("0000:01:00.0", "vfio-pci", &err), 0);
	assert_file(DEV "/driver_override", "vfio-pci");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_already_on_vfio, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_on_vfio_without_override, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_give_back_to_current_driver,
					    fx_test_setup, fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_leave_unbound, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_stuck_driver_is_reported, fx_test_setup,
					    fx_test_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
