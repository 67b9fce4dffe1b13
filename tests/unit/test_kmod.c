// SPDX-License-Identifier: GPL-2.0-or-later
/* Module questions through libkmod on a fake root's index, and the table of
 * AMD GPUs with the reset bug. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pci/kmod.h"
#include "pci/vendorreset.h"
#include "testutil.h"

static void test_states(void **state)
{
	struct fx *fx = *state;
	struct kmod_db *db = NULL;
	enum kmod_state st;
	char *err = NULL, *path = NULL;

	assert_int_equal(
	    fx_spec(fx,
		    "file /proc/sys/kernel/osrelease 6.8.12-4-pve\n"
		    "module vfio-pci builtin\n"
		    "module vfio_iommu_type1 kernel/drivers/vfio/vfio_iommu_type1.ko\n"
		    "module vendor-reset updates/dkms/vendor-reset.ko\n"
		    "module kvm loaded\n"),
	    0);
	assert_int_equal(kmod_db_open(&db, &err), 0);
	assert_null(err);
	assert_string_equal(kmod_db_dir(db), "/lib/modules/6.8.12-4-pve");
	assert_int_equal(kmod_db_state(db, "vfio_pci", &st, &path), 0);
	assert_int_equal(st, KMOD_STATE_BUILTIN);
	assert_null(path);
	assert_int_equal(kmod_db_state(db, "vfio_iommu_type1", &st, NULL), 0);
	assert_int_equal(st, KMOD_STATE_AVAILABLE);
	/* dashes and underscores are one */
	assert_int_equal(kmod_db_state(db, "vendor_reset", &st, &path), 0);
	assert_int_equal(st, KMOD_STATE_AVAILABLE);
	assert_string_equal(path,
			    "/lib/modules/6.8.12-4-pve/updates/dkms/vendor-reset.ko");
	free(path);
	assert_int_equal(kmod_db_state(db, "kvm", &st, NULL), 0);
	assert_int_equal(st, KMOD_STATE_LOADED);
	assert_int_equal(kmod_db_state(db, "nouveau", &st, NULL), 0);
	assert_int_equal(st, KMOD_STATE_MISSING);
	assert_string_equal(kmod_state_name(KMOD_STATE_BUILTIN), "built in");
	kmod_db_close(db);
	/* without an index only /sys/module answers */
	assert_int_equal(kmod_db_state(NULL, "kvm", &st, NULL), 0);
	assert_int_equal(st, KMOD_STATE_LOADED);
	assert_int_equal(kmod_db_state(NULL, "vfio-pci", &st, NULL), -ENOENT);
}

static void test_no_index(void **state)
{
	struct fx *fx = *state;
	struct kmod_db *db = NULL;
	char *err = NULL;

	/* no release */
	assert_int_equal(kmod_db_open(&db, &err), -ENOENT);
	assert_non_null(strstr(err, "osrelease"));
	free(err);
	err = NULL;
	kmod_db_close(db);
	/* no modules for it */
	assert_int_equal(fx_spec(fx, "file /proc/sys/kernel/osrelease 6.8.12-9-pve\n"),
			 0);
	assert_int_equal(kmod_db_open(&db, &err), -ENOENT);
	assert_non_null(strstr(err, "/lib/modules/6.8.12-9-pve does not exist"));
	free(err);
	err = NULL;
	kmod_db_close(db);
	/* a directory without index */
	assert_int_equal(fx_spec(fx, "mkdir /lib/modules/6.8.12-9-pve\n"), 0);
	assert_true(kmod_db_open(&db, &err) < 0);
	assert_non_null(strstr(err, "depmod -a"));
	free(err);
	kmod_db_close(db);
}

static void test_vendor_reset_table(void **state)
{
	/* kernel-facts.md's list, id by id */
	static const unsigned polaris10[] = {0x67c0, 0x67c1, 0x67c2, 0x67c4, 0x67c7,
					     0x67d0, 0x67df, 0x67c8, 0x67c9, 0x67ca,
					     0x67cc, 0x67cf, 0x6fdf};
	static const unsigned polaris11[] = {0x67e0, 0x67e3, 0x67e8, 0x67eb, 0x67ef,
					     0x67ff, 0x67e1, 0x67e7, 0x67e9};
	static const unsigned polaris12[] = {0x6980, 0x6981, 0x6985, 0x6986,
					     0x6987, 0x6995, 0x6997, 0x699f};
	static const unsigned vega10[] = {0x6860, 0x6861, 0x6862, 0x6863, 0x6864,
					  0x6867, 0x6868, 0x6869, 0x686a, 0x686b,
					  0x686c, 0x686d, 0x686e, 0x686f, 0x687f};
	static const unsigned vega20[] = {0x66a0, 0x66a1, 0x66a2, 0x66a3,
					  0x66a4, 0x66a7, 0x66af};
	static const unsigned navi10[] = {0x7310, 0x7312, 0x7318, 0x7319,
					  0x731a, 0x731b, 0x731e, 0x731f};
	static const unsigned navi14[] = {0x7340, 0x7341, 0x7347, 0x734f};
	static const unsigned navi12[] = {0x7360, 0x7362};
	/* neighbours that are not in it, Navi 2x, an NVIDIA id */
	static const unsigned none[] = {0x67c3, 0x67c5, 0x67ce, 0x67d1, 0x67e2,
					0x6865, 0x6866, 0x66a5, 0x7311, 0x731c,
					0x7342, 0x7361, 0x73bf, 0x73df, 0x744c};
	size_t total = 0, counted = 0;

	(void)state;
#define ALL(tbl, fam)                                                                    \
	for (size_t i = 0; i < sizeof(tbl) / sizeof(*tbl); i++) {                        \
		const char *f = vendor_reset_generation(0x1002, tbl[i]);                 \
		if (!f || strcmp(f, fam))                                                \
			fail_msg("1002:%04x: %s, expected %s", tbl[i], f ? f : "none",   \
				 fam);                                                   \
		counted++;                                                               \
	}                                                                                \
	total += sizeof(tbl) / sizeof(*tbl)
	ALL(polaris10, "Polaris 10");
	ALL(polaris11, "Polaris 11");
	ALL(polaris12, "Polaris 12");
	ALL(vega10, "Vega 10");
	ALL(vega20, "Vega 20");
	ALL(navi10, "Navi 10");
	ALL(navi14, "Navi 14");
	ALL(navi12, "Navi 12");
#undef ALL
	assert_int_equal(counted, total);
	assert_string_equal(vendor_reset_generation(0x1002, 0x738c), "MI100");
	for (size_t i = 0; i < sizeof(none) / sizeof(*none); i++)
		if (vendor_reset_generation(0x1002, none[i]))
			fail_msg("1002:%04x should not be in the table", none[i]);
	assert_null(vendor_reset_generation(0x10de, 0x67df));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_states, fx_test_setup, fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_no_index, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test(test_vendor_reset_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
