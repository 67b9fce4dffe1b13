// SPDX-License-Identifier: GPL-2.0-or-later
/* post-stop's decision per device (engine/giveback.c), rule by rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "engine/giveback.h"

#define NIC 0x020000
#define NVME 0x010802

static struct jdev dev(enum jdev_state st, const char *drv, const char *ovr)
{
	struct jdev jd = {
	    .bdf = "0000:01:00.0", .state = st, .group = 1, .class_code = NIC};

	jd.orig_driver = (char *)drv;
	jd.orig_override = (char *)ovr;
	return jd;
}

static struct give_back_facts here(int cls)
{
	struct give_back_facts f = {.present = true, .class_code = cls};

	return f;
}

static enum give_back_kind decide(const struct jdev *jd, const struct give_back_facts *f,
				  enum policy_rebind rb, enum give_back_mode mode,
				  struct give_back *out)
{
	give_back_decide(jd, f, rb, mode, out);
	return out->kind;
}

static void test_done_and_leave(void **state)
{
	struct jdev jd = dev(JDEV_RELEASED, "e1000e", NULL);
	struct give_back_facts f = here(NIC);
	struct give_back gb;

	(void)state;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb), GB_DONE);
	jd.state = JDEV_PLANNED; /* never touched */
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_HOST, GB_POST_STOP, &gb), GB_DONE);
	jd.state = JDEV_BOUND;
	f.present = false;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb),
			 GB_LEAVE);
	assert_non_null(strstr(gb.why, "gone"));
	free(gb.why);
	f = here(NIC);
	f.holder = 105;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb),
			 GB_LEAVE);
	assert_non_null(strstr(gb.why, "VM 105"));
	free(gb.why);
	f = here(NIC);
	f.open_by = "qemu-system-x86 (pid 42) has /dev/vfio/1 open";
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb),
			 GB_LEAVE);
	assert_non_null(strstr(gb.why, "pid 42"));
	free(gb.why);
}

static void test_restore_exactly(void **state)
{
	/* an admin's (or driverctl's) override comes back with the driver */
	struct jdev jd = dev(JDEV_BOUND, "nvme", "nvme");
	struct give_back_facts f = here(NIC);
	struct give_back gb;

	(void)state;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_RESTORE, GB_POST_STOP, &gb),
			 GB_MOVE);
	assert_string_equal(gb.target, "nvme");
	assert_true(gb.reset);
	assert_true(gb.set_override);
	assert_string_equal(gb.override, "nvme");
	/* no override before: none after */
	jd = dev(JDEV_BOUND, "e1000e", NULL);
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb), GB_MOVE);
	assert_string_equal(gb.target, "e1000e");
	assert_true(gb.set_override);
	assert_null(gb.override);
	/* unbound before: left unbound (no probe) */
	jd = dev(JDEV_BOUND, NULL, NULL);
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_RESTORE, GB_POST_STOP, &gb),
			 GB_MOVE);
	assert_null(gb.target);
	assert_false(gb.probe);
	/* on vfio-pci before, without override (vfio-pci.ids=): stays, and the
	 * override we wrote is cleared again */
	jd = dev(JDEV_BOUND, "vfio-pci", NULL);
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_RESTORE, GB_POST_STOP, &gb),
			 GB_STAY);
	assert_true(gb.set_override);
	assert_null(gb.override);
	free(gb.why);
}

static void test_auto_keeps_storage(void **state)
{
	struct jdev jd = dev(JDEV_BOUND, "nvme", NULL);
	struct give_back_facts f = here(NVME);
	struct give_back gb;

	(void)state;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb), GB_STAY);
	assert_true(gb.reset);
	assert_false(gb.set_override); /* it keeps vfio-pci's override */
	assert_non_null(strstr(gb.why, "storage controller"));
	assert_non_null(strstr(gb.why, "rebind = restore"));
	free(gb.why);
	/* SATA (0x0106), SAS (0x0107), RAID (0x0104) too */
	f.class_code = 0x010601;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb), GB_STAY);
	free(gb.why);
	/* restore gives it back */
	f.class_code = NVME;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_RESTORE, GB_POST_STOP, &gb),
			 GB_MOVE);
	assert_string_equal(gb.target, "nvme");
	/* unknown class: not kept */
	f.class_code = -1;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb), GB_MOVE);
	/* a start that never came gives storage back too: the guest never ran */
	f.class_code = NVME;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_NEVER_RAN, &gb), GB_MOVE);
	assert_false(gb.reset);
}

static void test_never_and_host(void **state)
{
	struct jdev jd = dev(JDEV_BOUND, "e1000e", "e1000e");
	struct give_back_facts f = here(NIC);
	struct give_back gb;

	(void)state;
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_NEVER, GB_POST_STOP, &gb),
			 GB_STAY);
	assert_true(gb.reset);
	free(gb.why);
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_HOST, GB_POST_STOP, &gb), GB_MOVE);
	assert_null(gb.target);
	assert_true(gb.probe);
	assert_true(gb.set_override);
	assert_null(gb.override); /* host: the kernel chooses, nothing pins it */
	/* found on vfio-pci: stays, unless host */
	jd = dev(JDEV_UNTOUCHED, "vfio-pci", "vfio-pci");
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_AUTO, GB_POST_STOP, &gb), GB_STAY);
	assert_false(gb.set_override);
	free(gb.why);
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_HOST, GB_POST_STOP, &gb), GB_MOVE);
}

static void test_rollback_only_what_changed(void **state)
{
	struct give_back_facts f = here(NVME);
	struct give_back gb;
	struct jdev jd;

	(void)state;
	/* found on vfio-pci, or never started: nothing */
	jd = dev(JDEV_UNTOUCHED, "vfio-pci", NULL);
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_HOST, GB_ROLLBACK, &gb), GB_DONE);
	jd = dev(JDEV_PLANNED, "nvme", NULL);
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_HOST, GB_ROLLBACK, &gb), GB_DONE);
	/* moved (or half-moved): back exactly, no reset, whatever the policy */
	jd = dev(JDEV_BINDING, "nvme", "nvme");
	assert_int_equal(decide(&jd, &f, POLICY_REBIND_NEVER, GB_ROLLBACK, &gb), GB_MOVE);
	assert_string_equal(gb.target, "nvme");
	assert_string_equal(gb.override, "nvme");
	assert_false(gb.reset);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_done_and_leave),
	    cmocka_unit_test(test_restore_exactly),
	    cmocka_unit_test(test_auto_keeps_storage),
	    cmocka_unit_test(test_never_and_host),
	    cmocka_unit_test(test_rollback_only_what_changed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
