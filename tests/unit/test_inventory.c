// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "fixture.h"
#include "pci/inventory.h"

struct env {
	struct fx *fx;
	struct inventory *inv;
};

static struct env *env_new(const char *spec)
{
	struct env *e = calloc(1, sizeof(*e));
	char *err = NULL;

	e->fx = fx_new(NULL);
	assert_int_equal(fx_spec(e->fx, spec), 0);
	assert_int_equal(host_setup(fx_root(e->fx), "pve1"), 0);
	assert_int_equal(inventory_open(&e->inv, &err), 0);
	assert_null(err);
	return e;
}

static void env_free(struct env *e)
{
	inventory_close(e->inv);
	host_cleanup();
	fx_free(e->fx, 0);
	free(e);
}

/* Remove a file below the device's sysfs dir (following the bus link). */
static void rm_attr(struct env *e, const char *bdf, const char *attr)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/%s", fx_root(e->fx), bdf, attr);
	assert_int_equal(unlink(p), 0);
}

static void test_get_gpu(void **state)
{
	struct env *e = env_new(
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 subsys=3842:2167 group=13 driver=nvidia numa=1 boot_vga=1 reset_method=flr,bus\n");
	struct pdev *d = NULL;

	(void)state;
	assert_int_equal(
	    inventory_get(e->inv, "0000:01:00.0", INV_NAMES | INV_SUBSYS, &d), 0);
	assert_non_null(d);
	assert_string_equal(d->bdf, "0000:01:00.0");
	assert_int_equal(d->domain, 0);
	assert_int_equal(d->bus, 1);
	assert_int_equal(d->dev, 0);
	assert_int_equal(d->func, 0);
	assert_int_equal(d->vendor, 0x10de);
	assert_int_equal(d->device, 0x1f08);
	assert_int_equal(d->sub_vendor, 0x3842);
	assert_int_equal(d->sub_device, 0x2167);
	assert_int_equal(d->class_code, 0x030000);
	assert_string_equal(d->driver, "nvidia");
	assert_null(d->override); /* the kernel's "(null)" */
	assert_int_equal(d->group, 13);
	assert_false(d->bridge);
	assert_false(d->vfio_dev);
	assert_string_equal(d->reset_method, "flr bus");
	assert_true(d->has_reset);
	assert_int_equal(d->numa_node, 1);
	assert_int_equal(d->boot_vga, 1);
	assert_string_equal(d->vendor_name, "NVIDIA Corporation");
	assert_string_equal(d->device_name, "TU106 [GeForce RTX 2060 Rev. A]");
	assert_string_equal(d->class_name, "VGA compatible controller");
	assert_null(d->error);
	pdev_free(d);
	env_free(e);
}

static void test_get_without_flags(void **state)
{
	struct env *e = env_new(
	    "dev 0000:02:00.0 vendor=8086 device=10d3 class=020000 subsys=8086:a01f group=14\n");
	struct pdev *d = NULL;

	(void)state;
	assert_int_equal(inventory_get(e->inv, "0000:02:00.0", 0, &d), 0);
	/* no names, no subsystem without the flags */
	assert_null(d->vendor_name);
	assert_null(d->device_name);
	assert_null(d->class_name);
	assert_int_equal(d->sub_vendor, 0);
	assert_int_equal(d->sub_device, 0);
	/* unbound */
	assert_null(d->driver);
	/* no boot_vga for a NIC; the fixture's numa default is -1 */
	assert_int_equal(d->boot_vga, -1);
	assert_int_equal(d->numa_node, -1);
	pdev_free(d);
	d = NULL;
	assert_int_equal(inventory_get(e->inv, "0000:02:00.0", INV_NAMES, &d), 0);
	assert_string_equal(d->vendor_name, "Intel Corporation");
	assert_string_equal(d->device_name, "82574L Gigabit Network Connection");
	assert_string_equal(d->class_name, "Ethernet controller");
	pdev_free(d);
	env_free(e);
}

static void test_get_errors(void **state)
{
	struct env *e = env_new("dev 0000:02:00.0\ndev 0000:0a:1f.0\n");
	struct pdev *d = (void *)1;

	(void)state;
	assert_int_equal(inventory_get(e->inv, "0000:09:00.0", 0, &d), -ENOENT);
	assert_null(d);
	assert_int_equal(inventory_get(e->inv, "02:00.0", 0, &d), -EINVAL);
	assert_int_equal(inventory_get(e->inv, "0000:02:00.8", 0, &d), -EINVAL);
	assert_int_equal(inventory_get(e->inv, "0000:02:20.0", 0, &d), -EINVAL);
	assert_int_equal(inventory_get(e->inv, "0000:02:00.0 ", 0, &d), -EINVAL);
	assert_int_equal(inventory_get(e->inv, "", 0, &d), -EINVAL);
	/* upper case is accepted and normalised */
	assert_int_equal(inventory_get(e->inv, "0000:0A:1F.0", 0, &d), 0);
	assert_string_equal(d->bdf, "0000:0a:1f.0");
	assert_int_equal(d->dev, 0x1f);
	pdev_free(d);
	env_free(e);
}

static void test_bdf_parse(void **state)
{
	unsigned dm, b, dv, f;

	(void)state;
	assert_int_equal(bdf_parse("0000:0A:1f.7", &dm, &b, &dv, &f), 0);
	assert_int_equal(b, 0x0a);
	assert_int_equal(dv, 0x1f);
	assert_int_equal(f, 7);
	assert_int_equal(bdf_parse("10000:e1:00.0", &dm, &b, &dv, &f), 0);
	assert_int_equal(dm, 0x10000);
	assert_int_equal(bdf_parse("000:01:00.0", &dm, &b, &dv, &f), -EINVAL);
	assert_int_equal(bdf_parse("0000:1:00.0", &dm, &b, &dv, &f), -EINVAL);
	assert_int_equal(bdf_parse("0000:01:00.10", &dm, &b, &dv, &f), -EINVAL);
	assert_int_equal(bdf_parse("0000:01:00", &dm, &b, &dv, &f), -EINVAL);
	assert_int_equal(bdf_parse("garbage", &dm, &b, &dv, &f), -EINVAL);
	assert_int_equal(bdf_parse(NULL, &dm, &b, &dv, &f), -EINVAL);
}

static void test_override_bridge_vfio_reset(void **state)
{
	struct env *e = env_new(
	    "dev 0000:00:01.0 vendor=8086 device=1901 class=060400 bridge driver=pcieport group=1\n"
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 parent=0000:00:01.0 driver=vfio-pci override=vfio-pci vfio_dev group=1 noreset boot_vga=0\n"
	    "dev 0000:01:00.1 vendor=10de device=10f9 class=040300 parent=0000:00:01.0 driver=nvgrace-gpu-vfio-pci vfio_dev nogroup\n"
	    "dev 0000:01:00.2 vendor=10de device=1ada class=0c0330 parent=0000:00:01.0 driver=pci-stub group=1\n");
	struct pdev *d = NULL;

	(void)state;
	assert_int_equal(inventory_get(e->inv, "0000:00:01.0", 0, &d), 0);
	assert_true(d->bridge);
	assert_string_equal(d->driver, "pcieport");
	pdev_free(d);

	assert_int_equal(inventory_get(e->inv, "0000:01:00.0", 0, &d), 0);
	assert_false(d->bridge);
	assert_true(d->vfio_dev);
	assert_string_equal(d->override, "vfio-pci");
	assert_false(d->has_reset);
	assert_null(d->reset_method);
	assert_int_equal(d->boot_vga, 0);
	pdev_free(d);

	/* a vfio variant driver: ready because of vfio-dev/, not the name */
	assert_int_equal(inventory_get(e->inv, "0000:01:00.1", 0, &d), 0);
	assert_int_equal(d->group, -1);
	assert_true(d->vfio_dev);
	pdev_free(d);

	assert_int_equal(inventory_get(e->inv, "0000:01:00.2", 0, &d), 0);
	assert_int_equal(d->class_code, 0x0c0330); /* prog-if kept */
	pdev_free(d);
	env_free(e);
}

static void test_unknown_ids_have_no_names(void **state)
{
	struct env *e =
	    env_new("dev 0000:03:00.0 vendor=f00d device=0001 class=ff0000\n");
	struct pdev *d = NULL;

	(void)state;
	assert_int_equal(inventory_get(e->inv, "0000:03:00.0", INV_NAMES, &d), 0);
	assert_int_equal(d->vendor, 0xf00d);
	assert_null(d->vendor_name);
	assert_null(d->device_name);
	pdev_free(d);
	env_free(e);
}

/* Names as lspci gives them, the vendor's company suffix dropped; what
 * pci.ids lacks by vendor and class, or class alone. */
static void test_pdev_name(void **state)
{
	static const struct {
		const char *vendor, *device, *cls, *want;
	} cases[] = {
	    {"NVIDIA Corporation", "TU106 [GeForce RTX 2060]",
	     "VGA compatible controller", "NVIDIA TU106 [GeForce RTX 2060]"},
	    {"Advanced Micro Devices, Inc. [AMD/ATI]", "Navi 10",
	     "VGA compatible controller", "AMD/ATI Navi 10"},
	    {"Samsung Electronics Co Ltd", NULL, "Non-Volatile memory controller",
	     "Samsung Electronics Non-Volatile memory controller"},
	    {"Realtek Semiconductor Co., Ltd.", "RTL8125 2.5GbE Controller", NULL,
	     "Realtek Semiconductor RTL8125 2.5GbE Controller"},
	    {"Red Hat, Inc.", "Virtio network device", NULL,
	     "Red Hat Virtio network device"},
	    {"Broadcom / LSI", "SAS3008", NULL, "Broadcom / LSI SAS3008"},
	    {NULL, NULL, "SATA controller", "SATA controller"},
	    {"Intel Corporation", NULL, NULL, "Intel device"},
	    {NULL, NULL, NULL, "PCI device"},
	};
	struct pdev d = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n;

		d.vendor_name = (char *)cases[i].vendor;
		d.device_name = (char *)cases[i].device;
		d.class_name = (char *)cases[i].cls;
		n = pdev_name(&d);
		assert_string_equal(n, cases[i].want);
		free(n);
	}
}

static void test_pdev_name_from_pci_ids(void **state)
{
	struct env *e =
	    env_new("dev 0000:01:00.0 vendor=10de device=1f08 class=030000\n"
		    "dev 0000:02:00.0 vendor=144d device=fffe class=010802\n"
		    "dev 0000:03:00.0 vendor=f00d device=0001 class=010601\n");
	struct pdev *d = NULL;
	char *n;

	(void)state;
	assert_int_equal(inventory_get(e->inv, "0000:01:00.0", INV_NAMES, &d), 0);
	n = pdev_name(d);
	assert_string_equal(n, "NVIDIA TU106 [GeForce RTX 2060 Rev. A]");
	free(n);
	pdev_free(d);
	assert_int_equal(inventory_get(e->inv, "0000:02:00.0", INV_NAMES, &d), 0);
	n = pdev_name(d);
	assert_string_equal(n, "Samsung Electronics Non-Volatile memory controller");
	free(n);
	pdev_free(d);
	assert_int_equal(inventory_get(e->inv, "0000:03:00.0", INV_NAMES, &d), 0);
	n = pdev_name(d);
	assert_string_equal(n, "SATA controller");
	free(n);
	pdev_free(d);
	env_free(e);
}

static void test_list_and_scan_sorted(void **state)
{
	struct env *e = env_new(
	    "dev 0000:0a:00.0 group=20 driver=e1000e\n"
	    "dev 0000:02:00.1 vendor=10de device=10f9 class=040300 group=13\n"
	    "dev 0000:02:00.0 vendor=10de device=1f08 class=030000 group=13 driver=nvidia boot_vga=1 numa=0\n"
	    "dev 0001:00:00.0 group=30\n"
	    "mkdir /sys/bus/pci/devices/garbage\n");
	struct strv names = {0};
	struct pdev **v = NULL;
	size_t n = 0;

	(void)state;
	log_setup(LOGL_ERR, false); /* the skipped "garbage" entry warns */
	assert_int_equal(inventory_list(&names), 0);
	assert_int_equal(names.n, 4);
	assert_string_equal(names.v[0], "0000:02:00.0");
	assert_string_equal(names.v[1], "0000:02:00.1");
	assert_string_equal(names.v[2], "0000:0a:00.0");
	assert_string_equal(names.v[3], "0001:00:00.0");
	strv_clear(&names);

	assert_int_equal(inventory_scan(e->inv, 0, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0]->bdf, "0000:02:00.0");
	assert_int_equal(v[0]->vendor, 0x10de);
	assert_int_equal(v[0]->class_code, 0x030000);
	assert_string_equal(v[0]->driver, "nvidia");
	assert_int_equal(v[0]->group, 13);
	assert_null(v[0]->vendor_name);
	/* details only with INV_DETAILS */
	assert_int_equal(v[0]->boot_vga, -1);
	assert_null(v[0]->reset_method);
	assert_null(v[1]->driver);
	assert_int_equal(v[2]->group, 20);
	assert_int_equal(v[3]->domain, 1);
	pdev_freev(v, n);

	assert_int_equal(
	    inventory_scan(e->inv, INV_NAMES | INV_DETAILS | INV_SUBSYS, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0]->device_name, "TU106 [GeForce RTX 2060 Rev. A]");
	assert_string_equal(v[1]->class_name, "Audio device");
	assert_int_equal(v[0]->boot_vga, 1);
	assert_int_equal(v[0]->numa_node, 0);
	assert_string_equal(v[0]->reset_method, "flr bus");
	assert_true(v[0]->has_reset);
	assert_null(v[0]->override);
	pdev_freev(v, n);
	log_setup(LOGL_WARN, false);
	env_free(e);
}

static void test_group_members(void **state)
{
	struct env *e = env_new("dev 0000:01:00.3 group=13\n"
				"dev 0000:01:00.0 group=13\n"
				"dev 0000:01:00.1 group=13\n"
				"dev 0000:02:00.0 group=14\n");
	struct strv m = {0};

	(void)state;
	assert_int_equal(inventory_group_members(13, &m), 0);
	assert_int_equal(m.n, 3);
	assert_string_equal(m.v[0], "0000:01:00.0");
	assert_string_equal(m.v[1], "0000:01:00.1");
	assert_string_equal(m.v[2], "0000:01:00.3");
	strv_clear(&m);
	assert_int_equal(inventory_group_members(14, &m), 0);
	assert_int_equal(m.n, 1);
	strv_clear(&m);
	assert_int_equal(inventory_group_members(99, &m), -ENOENT);
	assert_int_equal(m.n, 0);
	assert_int_equal(inventory_group_members(-1, &m), -EINVAL);
	env_free(e);
}

/*
 * libpci's sysfs back-end calls its error handler for a missing vendor
 * file; the default handler exits.  Ours must turn it into -EIO for that
 * device only, and the process must live on.
 */
static void test_malformed_tree_does_not_exit(void **state)
{
	struct env *e = env_new(
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 driver=nvidia\n"
	    "dev 0000:02:00.0 group=14\n"
	    "dev 0000:03:00.0 group=15\n");
	struct pdev *d = NULL, **v = NULL;
	size_t n = 0;

	(void)state;
	rm_attr(e, "0000:01:00.0", "vendor");
	/* files libpci wants for a full scan, which we never ask for */
	rm_attr(e, "0000:02:00.0", "resource");
	rm_attr(e, "0000:02:00.0", "irq");
	rm_attr(e, "0000:03:00.0", "class");

	assert_int_equal(inventory_get(e->inv, "0000:01:00.0", INV_NAMES, &d), -EIO);
	assert_null(d);
	assert_non_null(inventory_error(e->inv));
	assert_non_null(strstr(inventory_error(e->inv), "0000:01:00.0/vendor"));

	/* no resource/irq: fine, we do not read them */
	assert_int_equal(inventory_get(e->inv, "0000:02:00.0", INV_NAMES, &d), 0);
	assert_int_equal(d->vendor, 0x8086);
	pdev_free(d);
	assert_int_equal(inventory_get(e->inv, "0000:03:00.0", 0, &d), -EIO);
	assert_non_null(strstr(inventory_error(e->inv), "class"));

	/* the scan keeps going and marks the broken ones */
	assert_int_equal(inventory_scan(e->inv, INV_NAMES, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_non_null(v[0]->error);
	assert_non_null(strstr(v[0]->error, "vendor"));
	/* what sysfs says directly is still there */
	assert_string_equal(v[0]->driver, "nvidia");
	assert_int_equal(v[0]->group, 13);
	assert_null(v[1]->error);
	assert_string_equal(v[1]->vendor_name, "Intel Corporation");
	assert_non_null(v[2]->error);
	pdev_freev(v, n);
	/* and the library is still usable afterwards */
	assert_int_equal(inventory_get(e->inv, "0000:02:00.0", 0, &d), 0);
	pdev_free(d);
	env_free(e);
}

static void test_open_without_sysfs(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct inventory *inv = (void *)1;
	char p[PATH_MAX], *err = NULL;

	(void)state;
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices", fx_root(fx));
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	assert_int_equal(inventory_open(&inv, &err), -ENOENT);
	assert_null(inv);
	assert_non_null(err);
	assert_non_null(strstr(err, "/sys/bus/pci/devices"));
	assert_non_null(strstr(err, "--root"));
	free(err);
	assert_int_equal(inventory_list(&(struct strv){0}), -ENOENT);
	inventory_close(NULL);
	pdev_free(NULL);
	pdev_freev(NULL, 0);
	host_cleanup();
	fx_free(fx, 0);
}

static void test_bars(void **state)
{
	struct env *e = env_new(
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 bar0=f6000000-f6ffffff bar1=e0000000-efffffff bar3=f0000000-f1ffffff\n"
	    "dev 0000:02:00.0 vendor=8086 device=10d3 class=020000 group=14\n");
	struct pdev_bar bars[6];
	size_t n = 9;

	(void)state;
	assert_int_equal(inventory_bars(e->inv, "0000:01:00.0", bars, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(bars[0].index, 0);
	assert_true(bars[0].start == 0xf6000000ULL && bars[0].end == 0xf6ffffffULL);
	assert_true(bars[0].mem);
	assert_int_equal(bars[1].index, 1);
	assert_true(bars[1].start == 0xe0000000ULL && bars[1].end == 0xefffffffULL);
	assert_int_equal(bars[2].index, 3);
	/* a device without assigned regions has none */
	assert_int_equal(inventory_bars(e->inv, "0000:02:00.0", bars, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(inventory_bars(e->inv, "junk", bars, &n), -EINVAL);
	env_free(e);
}

static void test_empty_bus(void **state)
{
	struct env *e = env_new("");
	struct pdev **v = (void *)1;
	size_t n = 7;

	(void)state;
	assert_int_equal(inventory_scan(e->inv, INV_NAMES, &v, &n), 0);
	assert_int_equal(n, 0);
	pdev_freev(v, n);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_gpu),
	    cmocka_unit_test(test_get_without_flags),
	    cmocka_unit_test(test_get_errors),
	    cmocka_unit_test(test_bdf_parse),
	    cmocka_unit_test(test_override_bridge_vfio_reset),
	    cmocka_unit_test(test_unknown_ids_have_no_names),
	    cmocka_unit_test(test_pdev_name),
	    cmocka_unit_test(test_pdev_name_from_pci_ids),
	    cmocka_unit_test(test_list_and_scan_sorted),
	    cmocka_unit_test(test_group_members),
	    cmocka_unit_test(test_malformed_tree_does_not_exit),
	    cmocka_unit_test(test_open_without_sysfs),
	    cmocka_unit_test(test_empty_bus),
	    cmocka_unit_test(test_bars),
	};

	log_setup(LOGL_WARN, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
