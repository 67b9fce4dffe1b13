// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The reset ladder (pci/reset.h) and vendor-reset's table
 * (pci/vendorreset.h), from kernel-facts.md "Reset" and "The AMD reset
 * bug": which rungs run for which device and situation and why the others
 * are skipped (the pure decision, on facts made by hand), what the facts
 * reader sees on fake roots, and the executor against a fake kernel that
 * records every write and misbehaves where a test asks.
 */
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
#include "fixture.h"
#include "pci/reset.h"
#include "pci/vendorreset.h"
#include "testutil.h"

/* ---- vendor-reset's table ----------------------------------------------------- */

static void test_vendor_reset_table(void **state)
{
	(void)state;
	assert_string_equal(vendor_reset_generation(0x1002, 0x67df), "Polaris 10");
	assert_string_equal(vendor_reset_generation(0x1002, 0x6fdf), "Polaris 10");
	assert_string_equal(vendor_reset_generation(0x1002, 0x67ef), "Polaris 11");
	assert_string_equal(vendor_reset_generation(0x1002, 0x699f), "Polaris 12");
	assert_string_equal(vendor_reset_generation(0x1002, 0x687f), "Vega 10");
	assert_string_equal(vendor_reset_generation(0x1002, 0x66af), "Vega 20");
	assert_string_equal(vendor_reset_generation(0x1002, 0x731f), "Navi 10");
	assert_string_equal(vendor_reset_generation(0x1002, 0x7340), "Navi 14");
	assert_string_equal(vendor_reset_generation(0x1002, 0x7362), "Navi 12");
	assert_string_equal(vendor_reset_generation(0x1002, 0x738c), "MI100");
	assert_true(vendor_reset_supports(0x1002, 0x6863));
	/* Vega 10's 0x6865 and 0x6866 are not in the table */
	assert_false(vendor_reset_supports(0x1002, 0x6865));
	/* the cards' audio functions, other vendors, RDNA2 */
	assert_false(vendor_reset_supports(0x1002, 0xaaf0));
	assert_false(vendor_reset_supports(0x10de, 0x67df));
	assert_false(vendor_reset_supports(0x1002, 0x73bf));

	assert_string_equal(vendor_reset_rdna2_or_newer(0x1002, 0x73bf, 0x030000),
			    "Navi 21");
	assert_string_equal(vendor_reset_rdna2_or_newer(0x1002, 0x73ff, 0x030000),
			    "Navi 23");
	assert_string_equal(vendor_reset_rdna2_or_newer(0x1002, 0x743f, 0x030000),
			    "Navi 24");
	assert_string_equal(vendor_reset_rdna2_or_newer(0x1002, 0x744c, 0x030000),
			    "Navi 31");
	assert_string_equal(vendor_reset_rdna2_or_newer(0x1002, 0x7480, 0x038000),
			    "Navi 33");
	assert_string_equal(vendor_reset_rdna2_or_newer(0x1002, 0x7550, 0x030000),
			    "Navi 48");
	/* Navi 21's USB-C function and an Aldebaran accelerator (0x740c) */
	assert_null(vendor_reset_rdna2_or_newer(0x1002, 0x73a4, 0x0c0330));
	assert_null(vendor_reset_rdna2_or_newer(0x1002, 0x740c, 0x038000));
	assert_null(vendor_reset_rdna2_or_newer(0x1002, 0x67df, 0x030000));
	assert_null(vendor_reset_rdna2_or_newer(0x10de, 0x73bf, 0x030000));
}

static void test_rung_names(void **state)
{
	(void)state;
	assert_int_equal(reset_rung_parse("flr"), RUNG_FLR);
	assert_int_equal(reset_rung_parse("device_specific"), RUNG_DEVICE_SPECIFIC);
	assert_int_equal(reset_rung_parse("remove"), RUNG_REMOVE);
	assert_int_equal(reset_rung_parse("default"), -1);
	assert_int_equal(reset_rung_parse("FLR"), -1);
	assert_int_equal(reset_rung_parse("cxl_bus"), RUNG_CXL_BUS);
	assert_string_equal(reset_rung_name(RUNG_AF_FLR), "af_flr");
}

/* ---- the decision, on facts made by hand ------------------------------------ */

/* A healthy device in D0 behind bridge 0000:00:01.0, alone there, on a
 * 6.1 kernel, vendor-reset absent. */
static struct reset_facts mkfacts(const char *bdf, unsigned vendor, unsigned device,
				  unsigned cls, const char *methods)
{
	struct reset_facts f;

	memset(&f, 0, sizeof(f));
	snprintf(f.bdf, sizeof(f.bdf), "%s", bdf);
	assert_int_equal(bdf_parse(bdf, &f.domain, &f.bus, &f.dev, &f.func), 0);
	f.vendor = vendor;
	f.device = device;
	f.class_code = cls;
	f.present = f.answers = true;
	f.has_reset = methods && *methods;
	f.has_reset_method = methods != NULL;
	f.methods = methods ? xstrdup(methods) : NULL;
	snprintf(f.power, sizeof(f.power), "D0");
	f.kernel_5_15 = true;
	f.bridge = xstrdup("0000:00:01.0");
	return f;
}

/* "flr+ bus+ remove-": each rung of the plan, + when it runs. */
static char *summary(const struct reset_plan *p)
{
	char buf[512] = "";

	for (size_t i = 0; i < p->n; i++) {
		size_t n = strlen(buf);

		snprintf(buf + n, sizeof(buf) - n, "%s%s%c", n ? " " : "",
			 reset_rung_name(p->v[i].rung), p->v[i].run ? '+' : '-');
	}
	return xstrdup(buf);
}

static const char *why_of(const struct reset_plan *p, enum reset_rung r)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].rung == r)
			return p->v[i].why;
	fail_msg("rung %s not in the plan", reset_rung_name(r));
	return NULL;
}

static void assert_has(const char *s, const char *want)
{
	if (!s || !strstr(s, want))
		fail_msg("'%s' lacks '%s'", s ? s : "(null)", want);
}

static void decide(struct reset_facts *f, enum reset_mode mode, const char *methods,
		   const char *want, struct reset_plan *p)
{
	char *got;

	reset_decide(f, mode, methods, p);
	got = summary(p);
	assert_string_equal(got, want);
	free(got);
}

static void test_ladder_flr_device(void **state)
{
	/* nvme: "flr bus", alone behind its root port */
	struct reset_facts f =
	    mkfacts("0000:02:00.0", 0x1b36, 0x0010, 0x010802, "flr bus");
	struct reset_plan p;

	(void)state;
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr+ af_flr- pm- bus+ remove-", &p);
	assert_has(why_of(&p, RUNG_DEVICE_SPECIFIC),
		   "no device-specific reset is known for 1b36:0010");
	assert_has(why_of(&p, RUNG_ACPI),
		   "not offered for this device (reset_method: flr bus)");
	assert_has(why_of(&p, RUNG_FLR), "Function Level Reset");
	assert_has(why_of(&p, RUNG_BUS), "secondary bus reset");
	assert_has(why_of(&p, RUNG_REMOVE), "the device answers");
	assert_null(p.advice);
	reset_plan_clear(&p);

	/* the bridge has reset_subordinate: that is the bus reset used */
	f.bridge_subordinate = true;
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr+ af_flr- pm- bus+ remove-", &p);
	assert_has(why_of(&p, RUNG_BUS), "reset_subordinate");
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_ladder_pm_only_device(void **state)
{
	/* e1000e as function 1 of a card: "pm" alone; the bus holds function 0 too */
	struct reset_facts f = mkfacts("0000:03:00.1", 0x8086, 0x10d3, 0x020000, "pm");
	struct reset_plan p;

	(void)state;
	f.bus_other = xstrdup("0000:03:00.0");
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr- af_flr- pm+ bus- remove-", &p);
	assert_has(why_of(&p, RUNG_PM), "power-management reset");
	assert_has(why_of(&p, RUNG_BUS),
		   "0000:03:00.0 behind the same bridge (0000:00:01.0)");
	assert_has(why_of(&p, RUNG_BUS), "--slot");
	reset_plan_clear(&p);

	/* on a root bus: no bus reset */
	free(f.bus_other);
	f.bus_other = NULL;
	free(f.bridge);
	f.bridge = NULL;
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr- af_flr- pm+ bus- remove-", &p);
	assert_has(why_of(&p, RUNG_BUS), "on a root bus");
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_bus_with_host_device_behind_bridge(void **state)
{
	/* e1000 behind a pcie-pci-bridge with the host's virtio-blk */
	struct reset_facts f = mkfacts("0000:05:01.0", 0x8086, 0x100e, 0x020000, "bus");
	struct reset_plan p;

	(void)state;
	free(f.bridge);
	f.bridge = xstrdup("0000:04:00.0");
	f.bridge_subordinate = true;
	f.bus_other = xstrdup("0000:05:02.0");
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr- af_flr- pm- bus- remove-", &p);
	assert_has(
	    why_of(&p, RUNG_BUS),
	    "0000:05:02.0 behind the same bridge (0000:04:00.0) would be reset too");
	assert_false(p.refused);
	reset_plan_clear(&p);

	/* asked for by name: refused, nothing runs */
	decide(&f, RESET_FORCE, "bus", "bus-", &p);
	assert_true(p.refused);
	assert_has(p.advice, "a bus reset of 0000:05:01.0 is refused: 0000:05:02.0");
	reset_plan_clear(&p);

	/* post-stop: the other device is not this VM's */
	decide(&f, RESET_AUTO, NULL, "bus-", &p);
	assert_true(p.nothing_needed);
	assert_has(p.advice,
		   "no bus reset: 0000:05:02.0 on the same bus is not this VM's");
	reset_plan_clear(&p);

	/* both named: the bridge's reset_subordinate */
	free(f.bus_other);
	f.bus_other = NULL;
	decide(&f, RESET_FORCE, "bus", "bus+", &p);
	assert_false(p.refused);
	assert_has(why_of(&p, RUNG_BUS), "bridge 0000:04:00.0");
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_polaris_with_vendor_reset(void **state)
{
	struct reset_facts f = mkfacts("0000:0a:00.0", 0x1002, 0x67df, 0x030000, "bus");
	struct reset_plan p;

	(void)state;
	f.vr_loaded = f.vr_available = f.vr_dev = true;
	decide(&f, RESET_LADDER, NULL,
	       "device_specific+ acpi- flr- af_flr- pm- bus- remove-", &p);
	assert_has(why_of(&p, RUNG_DEVICE_SPECIFIC),
		   "vendor-reset's reset for Polaris 10 GPUs");
	/* a bus reset is no cure for the AMD reset bug, so it is not tried */
	assert_has(why_of(&p, RUNG_BUS), "would not cure a Polaris 10 GPU");
	assert_null(p.advice);
	reset_plan_clear(&p);

	/* installed but not loaded yet: loaded first */
	f.vr_loaded = f.vr_dev = false;
	decide(&f, RESET_LADDER, NULL,
	       "device_specific+ acpi- flr- af_flr- pm- bus- remove-", &p);
	assert_has(why_of(&p, RUNG_DEVICE_SPECIFIC), "the module is loaded first");
	reset_plan_clear(&p);

	/* post-stop does the same */
	decide(&f, RESET_AUTO, NULL, "device_specific+", &p);
	assert_false(p.nothing_needed);
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_polaris_without_vendor_reset(void **state)
{
	struct reset_facts f = mkfacts("0000:0a:00.0", 0x1002, 0x67df, 0x030000, "bus");
	struct reset_plan p;

	(void)state;
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr- af_flr- pm- bus- remove-", &p);
	assert_has(why_of(&p, RUNG_DEVICE_SPECIFIC),
		   "needs vendor-reset, which is not installed");
	assert_has(p.advice, "Polaris 10 GPU");
	assert_has(p.advice, "apt install vendor-reset-dkms");
	assert_has(p.advice, "MOK");
	reset_plan_clear(&p);

	/* post-stop: not "nothing needed" — the advice reaches the task log */
	decide(&f, RESET_AUTO, NULL, "device_specific-", &p);
	assert_false(p.nothing_needed);
	assert_has(p.advice, "vendor-reset-dkms");
	reset_plan_clear(&p);

	/* --method bus is honoured, with the caveat */
	decide(&f, RESET_FORCE, "bus", "bus+", &p);
	reset_plan_clear(&p);
	decide(&f, RESET_FORCE, "flr", "flr+", &p);
	assert_has(why_of(&p, RUNG_FLR), "does not cure a Polaris 10 GPU");
	reset_plan_clear(&p);
	/* --method device_specific without the module: said so, nothing runs */
	decide(&f, RESET_FORCE, "device_specific", "device_specific-", &p);
	assert_has(p.advice, "vendor-reset-dkms");
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_old_kernel(void **state)
{
	/* < 5.15: no reset_method to select with; the kernel's own order */
	struct reset_facts f = mkfacts("0000:02:00.0", 0x1b36, 0x0010, 0x010802, NULL);
	struct reset_plan p;

	(void)state;
	f.has_reset = true;
	f.kernel_5_15 = false;
	decide(&f, RESET_LADDER, NULL, "device_specific- default+ bus- remove-", &p);
	assert_has(why_of(&p, RUNG_DEFAULT), "its own order");
	reset_plan_clear(&p);
	decide(&f, RESET_METHODS, "flr", "flr- default+", &p);
	assert_has(why_of(&p, RUNG_FLR), "< 5.15");
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_rdna2(void **state)
{
	struct reset_facts f = mkfacts("0000:0b:00.0", 0x1002, 0x73bf, 0x030000, "bus");
	struct reset_facts audio =
	    mkfacts("0000:0b:00.1", 0x1002, 0xab28, 0x040300, "bus");
	struct reset_plan p;

	(void)state;
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr- af_flr- pm- bus+ remove-", &p);
	assert_has(why_of(&p, RUNG_DEVICE_SPECIFIC),
		   "no vendor reset exists for Navi 21 GPUs (RDNA2 and newer)");
	assert_has(p.advice, "reboot: 0");
	assert_has(p.advice, "rebind = never");
	reset_plan_clear(&p);
	/* post-stop says nothing about it on every stop */
	decide(&f, RESET_AUTO, NULL, "bus+", &p);
	assert_null(p.advice);
	reset_plan_clear(&p);
	/* its audio function is an ordinary device */
	decide(&audio, RESET_LADDER, NULL,
	       "device_specific- acpi- flr- af_flr- pm- bus+ remove-", &p);
	assert_null(p.advice);
	reset_plan_clear(&p);
	reset_facts_clear(&audio);
	reset_facts_clear(&f);
}

static void test_d3cold_and_dead(void **state)
{
	struct reset_facts f =
	    mkfacts("0000:02:00.0", 0x1b36, 0x0010, 0x010802, "flr bus");
	struct reset_plan p;

	(void)state;
	snprintf(f.power, sizeof(f.power), "D3cold");
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr- af_flr- pm- bus+ remove+", &p);
	assert_has(why_of(&p, RUNG_FLR), "D3cold");
	assert_has(why_of(&p, RUNG_REMOVE), "stuck in D3cold");
	assert_has(why_of(&p, RUNG_REMOVE), "d3cold_allowed = 0");
	reset_plan_clear(&p);

	snprintf(f.power, sizeof(f.power), "D0");
	f.answers = false;
	free(f.bridge);
	f.bridge = NULL;
	decide(&f, RESET_LADDER, NULL,
	       "device_specific- acpi- flr- af_flr- pm- bus- remove+", &p);
	assert_has(why_of(&p, RUNG_FLR), "Unknown header type 7f");
	assert_has(why_of(&p, RUNG_REMOVE), "does not answer");
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_force_and_methods(void **state)
{
	struct reset_facts f =
	    mkfacts("0000:01:00.0", 0x8086, 0x10d3, 0x020000, "pm bus");
	struct reset_plan p;

	(void)state;
	/* --method: exactly that rung, whether listed or not (the kernel says) */
	decide(&f, RESET_FORCE, "flr", "flr+", &p);
	reset_plan_clear(&p);
	decide(&f, RESET_FORCE, "remove", "remove+", &p);
	assert_has(why_of(&p, RUNG_REMOVE),
		   "resets nothing inside a device that answers");
	reset_plan_clear(&p);
	decide(&f, RESET_FORCE, "nonsense", "", &p);
	assert_has(p.advice, "unknown reset method");
	reset_plan_clear(&p);

	/* the policy's list, in its order, as the device offers it */
	decide(&f, RESET_METHODS, "flr bus pm", "flr- bus+ pm+", &p);
	assert_has(why_of(&p, RUNG_FLR),
		   "reset method 'flr' is not supported by this device");
	reset_plan_clear(&p);
	/* cxl_bus only when named, with the bus rules */
	decide(&f, RESET_METHODS, "cxl_bus pm", "cxl_bus- pm+", &p);
	assert_has(why_of(&p, RUNG_CXL_BUS), "not offered for this device");
	reset_plan_clear(&p);
	f.bus_other = xstrdup("0000:01:00.1");
	decide(&f, RESET_FORCE, "cxl_bus", "cxl_bus-", &p);
	assert_true(p.refused);
	reset_plan_clear(&p);
	decide(&f, RESET_OFF, NULL, "", &p);
	assert_true(p.nothing_needed);
	assert_has(p.advice, "reset = off");
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_auto(void **state)
{
	struct reset_facts nvme =
	    mkfacts("0000:02:00.0", 0x1b36, 0x0010, 0x010802, "flr bus");
	struct reset_facts nic =
	    mkfacts("0000:01:00.0", 0x8086, 0x10d3, 0x020000, "pm bus");
	struct reset_facts quirk =
	    mkfacts("0000:06:00.0", 0x8086, 0x10ed, 0x020000, "device_specific flr");
	struct reset_plan p;

	(void)state;
	/* vfio-pci already reset it with FLR when QEMU closed it */
	decide(&nvme, RESET_AUTO, NULL, "flr-", &p);
	assert_true(p.nothing_needed);
	assert_has(p.advice, "with FLR when QEMU closed it");
	reset_plan_clear(&p);
	/* no FLR, every device on the bus ours: bus, then the kernel's pm */
	decide(&nic, RESET_AUTO, NULL, "bus+ pm+", &p);
	assert_has(why_of(&p, RUNG_BUS), "no FLR");
	reset_plan_clear(&p);
	/* a device-specific method (a kernel quirk) is used */
	decide(&quirk, RESET_AUTO, NULL, "device_specific+", &p);
	reset_plan_clear(&p);
	/* nothing to reset with */
	nic.has_reset = false;
	free(nic.bridge);
	nic.bridge = NULL;
	decide(&nic, RESET_AUTO, NULL, "", &p);
	assert_true(p.nothing_needed);
	assert_has(p.advice, "no reset method");
	reset_plan_clear(&p);
	reset_facts_clear(&quirk);
	reset_facts_clear(&nic);
	reset_facts_clear(&nvme);
}

/* ---- the facts, on fake roots --------------------------------------------------- */

static const char topo[] =
    "dev 0000:00:01.0 vendor=8086 device=7c01 class=060400 group=1 driver=pcieport bridge\n"
    "dev 0000:00:02.0 vendor=8086 device=7c02 class=060400 group=2 driver=pcieport bridge\n"
    "dev 0000:00:1f.0 vendor=8086 device=2918 class=060100 group=3\n"
    /* alone behind 00:01.0 */
    "dev 0000:01:00.0 vendor=8086 device=10d3 class=020000 group=11 driver=e1000e parent=0000:00:01.0 reset_method=pm,bus\n"
    /* a pcie-pci-bridge behind 00:02.0 with two devices */
    "dev 0000:02:00.0 vendor=1b36 device=000e class=060400 group=12 parent=0000:00:02.0 bridge\n"
    "dev 0000:03:01.0 vendor=8086 device=100e class=020000 group=12 driver=e1000 parent=0000:02:00.0 reset_method=bus\n"
    "dev 0000:03:02.0 vendor=1af4 device=1001 class=010000 group=12 driver=virtio-pci parent=0000:02:00.0 reset_method=bus\n"
    /* a Polaris card on vfio-pci, on the root bus */
    "dev 0000:00:05.0 vendor=1002 device=67df class=030000 group=13 driver=vfio-pci override=vfio-pci reset_method=bus\n";

static int setup(void **state)
{
	if (fx_test_setup(state) < 0)
		return -1;
	return fx_spec(*state, topo);
}

static void test_facts_read(void **state)
{
	struct fx *fx = *state;
	struct reset_facts f;
	struct strv ours = {0};

	/* alone behind its root port */
	assert_int_equal(reset_facts_read("0000:01:00.0", NULL, &f), 0);
	assert_true(f.present);
	assert_true(f.answers);
	assert_false(f.is_bridge);
	assert_int_equal(f.vendor, 0x8086);
	assert_int_equal(f.device, 0x10d3);
	assert_string_equal(f.methods, "pm bus");
	assert_string_equal(f.driver, "e1000e");
	assert_null(f.override);
	assert_string_equal(f.power, "D0");
	assert_string_equal(f.bridge, "0000:00:01.0");
	assert_null(f.bus_other);
	assert_false(f.bridge_subordinate);
	assert_false(f.vr_loaded);
	reset_facts_clear(&f);

	/* the virtio-blk behind the same bridge is not ours, until it is */
	assert_int_equal(reset_facts_read("0000:03:01.0", NULL, &f), 0);
	assert_string_equal(f.bridge, "0000:02:00.0");
	assert_string_equal(f.bus_other, "0000:03:02.0");
	reset_facts_clear(&f);
	strv_add(&ours, "0000:03:01.0");
	strv_add(&ours, "0000:03:02.0");
	assert_int_equal(reset_facts_read("0000:03:01.0", &ours, &f), 0);
	assert_null(f.bus_other);
	reset_facts_clear(&f);
	/* a bus reset at the root port resets what is below the nested bridge */
	strv_clear(&ours);
	assert_int_equal(
	    fx_spec(
		fx,
		"dev 0000:04:00.0 vendor=1b36 device=0010 class=010802 group=14 parent=0000:00:02.0\n"),
	    0);
	assert_int_equal(reset_facts_read("0000:04:00.0", NULL, &f), 0);
	assert_string_equal(f.bridge, "0000:00:02.0");
	assert_string_equal(f.bus_other, "0000:03:01.0");
	reset_facts_clear(&f);

	/* on the root bus: no bridge */
	assert_int_equal(reset_facts_read("0000:00:05.0", NULL, &f), 0);
	assert_null(f.bridge);
	assert_string_equal(f.override, "vfio-pci");
	reset_facts_clear(&f);

	/* absent; not an address */
	assert_int_equal(reset_facts_read("0000:09:00.0", NULL, &f), 0);
	assert_false(f.present);
	reset_facts_clear(&f);
	assert_int_equal(reset_facts_read("09:00.0", NULL, &f), -EINVAL);
	reset_facts_clear(&f);
}

static void test_facts_kernel_and_modules(void **state)
{
	struct fx *fx = *state;
	struct reset_facts f;

	/* without osrelease: reset_method's presence tells (5.15+) */
	assert_int_equal(reset_facts_read("0000:01:00.0", NULL, &f), 0);
	assert_true(f.kernel_5_15);
	reset_facts_clear(&f);
	fx_file(fx, "/proc/sys/kernel/osrelease", "5.10.0-30-amd64\n");
	assert_int_equal(reset_facts_read("0000:01:00.0", NULL, &f), 0);
	assert_false(f.kernel_5_15);
	reset_facts_clear(&f);
	fx_file(fx, "/proc/sys/kernel/osrelease", "6.8.12-4-pve\n");
	fx_file(fx, "/sys/module/vendor_reset/initstate", "live\n");
	fx_file(fx, "/dev/vendor_reset", "");
	fx_file(fx, "/sys/devices/pci0000:00/0000:00:02.0/reset_subordinate", "");
	assert_int_equal(reset_facts_read("0000:00:05.0", NULL, &f), 0);
	assert_true(f.kernel_5_15);
	assert_true(f.vr_loaded);
	assert_true(f.vr_available);
	assert_true(f.vr_dev);
	reset_facts_clear(&f);
	assert_int_equal(reset_facts_read("0000:03:01.0", NULL, &f), 0);
	assert_false(f.bridge_subordinate); /* its bridge is 02:00.0 */
	reset_facts_clear(&f);
	assert_int_equal(reset_facts_read("0000:02:00.0", NULL, &f), 0);
	assert_true(f.is_bridge);
	assert_true(f.bridge_subordinate);
	reset_facts_clear(&f);
}

/* Overwrite config space bytes of bdf (a device that fell off the bus). */
static void set_config(const char *bdf, unsigned off, const unsigned char *b, size_t n)
{
	char path[PATH_MAX];
	FILE *fp;

	host_path(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fp = fopen(path, "r+");
	assert_non_null(fp);
	fseek(fp, (long)off, SEEK_SET);
	fwrite(b, 1, n, fp);
	fclose(fp);
}

static void test_facts_dead_device(void **state)
{
	static const unsigned char ones[2] = {0xff, 0xff}, hdr7f[1] = {0x7f};
	struct reset_facts f;

	(void)state;
	set_config("0000:01:00.0", 0, ones, 2);
	assert_int_equal(reset_facts_read("0000:01:00.0", NULL, &f), 0);
	assert_false(f.answers);
	reset_facts_clear(&f);
	/* header type 0x7f: lspci's "Unknown header type 7f" */
	set_config("0000:03:01.0", 14, hdr7f, 1);
	assert_int_equal(reset_facts_read("0000:03:01.0", NULL, &f), 0);
	assert_false(f.answers);
	reset_facts_clear(&f);
}

/* ---- the executor, against a fake kernel ---------------------------------------- */

static char calls[8192];
static const char
    *enotty_when; /* "reset" fails (fail_errno) while reset_method is this */
static int fail_errno = -ENOTTY;
static bool hang_on_reset;  /* after "reset", config space reads all ones */
static int ioctl_script[8]; /* results of successive ioctls; 0 after the end */
static int n_ioctl;
static int load_result;	    /* what load_module returns */
static bool load_makes_dev; /* a successful load creates /dev/vendor_reset */

static void record(const char *fmt, ...) _printf_(1, 2);
static void record(const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(calls);

	va_start(ap, fmt);
	vsnprintf(calls + n, sizeof(calls) - n, fmt, ap);
	va_end(ap);
}

static void put_file(const char *path, const char *value)
{
	char full[PATH_MAX];
	FILE *fp;

	host_path(full, sizeof(full), "%s", path);
	fp = fopen(full, "w");
	assert_non_null(fp);
	fputs(value, fp);
	fclose(fp);
}

static void unlink_file(const char *path)
{
	char full[PATH_MAX];

	host_path(full, sizeof(full), "%s", path);
	assert_int_equal(unlink(full), 0);
}

static char *get_file(const char *fmt, const char *bdf)
{
	char *s = NULL;

	host_read(&s, fmt, bdf);
	return s;
}

static void set_driver(const char *bdf, const char *drv)
{
	char path[PATH_MAX], target[PATH_MAX];

	host_path(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	unlink(path);
	if (drv) {
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
		assert_int_equal(symlink(target, path), 0);
	}
}

/* The device a path under /sys/bus/pci/devices/ names, or "". */
static void path_bdf(const char *path, char out[16])
{
	const char *p = path + strlen("/sys/bus/pci/devices/");

	out[0] = '\0';
	if (startswith(path, "/sys/bus/pci/devices/"))
		snprintf(out, 16, "%.12s", p);
}

static int fake_write(const char *value, const char *path, int timeout_ms)
{
	char bdf[16], a[PATH_MAX], b[PATH_MAX];
	const char *attr = strrchr(path, '/') + 1;

	(void)timeout_ms;
	path_bdf(path, bdf);
	record("%s%s%s=%s;", bdf, *bdf ? "/" : "",
	       *bdf ? path + strlen("/sys/bus/pci/devices/0000:00:00.0/") : path, value);
	if (streq(attr, "reset") && enotty_when) {
		char *m = get_file("/sys/bus/pci/devices/%s/reset_method", bdf);
		bool fail = streq(m, enotty_when);

		free(m);
		if (fail)
			return fail_errno;
	}
	if (streq(attr, "reset") && hang_on_reset) {
		static const unsigned char ones[2] = {0xff, 0xff};

		set_config(bdf, 0, ones, 2);
		return 0;
	}
	if (streq(attr, "remove")) {
		host_path(a, sizeof(a), "/sys/bus/pci/devices/%s", bdf);
		snprintf(b, sizeof(b), "%s-removed", a);
		return rename(a, b) < 0 ? -errno : 0;
	}
	if (streq(attr, "rescan")) {
		const char *gone = "0000:0a:00.0";

		host_path(a, sizeof(a), "/sys/bus/pci/devices/%s", gone);
		snprintf(b, sizeof(b), "%s-removed", a);
		if (rename(b, a) < 0)
			return 0;
		/* a new pci_dev: no override, the kernel's own method list,
		 * power managed again, and probed at once: the host driver
		 * takes it (pci_bus_add_device() ignores drivers_autoprobe) */
		put_file("/sys/bus/pci/devices/0000:0a:00.0/driver_override", "(null)\n");
		put_file("/sys/bus/pci/devices/0000:0a:00.0/reset_method", "flr bus\n");
		put_file("/sys/bus/pci/devices/0000:0a:00.0/power/control", "auto\n");
		put_file("/sys/bus/pci/devices/0000:0a:00.0/d3cold_allowed", "1\n");
		put_file("/sys/bus/pci/devices/0000:0a:00.0/power_state", "D0\n");
		set_driver(gone, "amdgpu");
		return 0;
	}
	if (streq(attr, "unbind")) {
		set_driver(value, NULL);
		return 0;
	}
	if (streq(path, "/sys/bus/pci/drivers_probe")) {
		char *o = get_file("/sys/bus/pci/devices/%s/driver_override", value);

		set_driver(value, o && !streq(o, "(null)") ? o : "amdgpu");
		free(o);
		return 0;
	}
	put_file(path, value);
	return 0;
}

static int fake_ioctl(unsigned domain, unsigned bus, unsigned devfn)
{
	int r = n_ioctl < (int)ARRAY_SIZE(ioctl_script) ? ioctl_script[n_ioctl] : 0;

	record("ioctl %04x:%02x:%02x.%u=%d;", domain, bus, devfn >> 3, devfn & 7, r);
	n_ioctl++;
	return r;
}

static int fake_load(const char *name, char **err)
{
	record("load %s;", name);
	if (load_result < 0)
		return errnof(err, load_result, "cannot load module %s: %s", name,
			      strerror(-load_result));
	host_mkdir_p(0755, "/sys/module/vendor_reset");
	put_file("/sys/module/vendor_reset/initstate", "live\n");
	if (load_makes_dev)
		put_file("/dev/vendor_reset", "");
	return 0;
}

static const struct reset_kernel fake_kernel = {
    .write = fake_write,
    .vendor_ioctl = fake_ioctl,
    .load_module = fake_load,
};

static const char exec_spec[] =
    "dev 0000:00:01.0 vendor=8086 device=7c01 class=060400 group=1 driver=pcieport bridge\n"
    "dev 0000:01:00.0 vendor=8086 device=10d3 class=020000 group=11 driver=vfio-pci override=vfio-pci parent=0000:00:01.0 reset_method=pm,bus\n"
    "dev 0000:00:02.0 vendor=8086 device=7c02 class=060400 group=2 driver=pcieport bridge\n"
    "dev 0000:0a:00.0 vendor=1002 device=67df class=030000 group=13 driver=vfio-pci override=vfio-pci parent=0000:00:02.0 reset_method=bus\n"
    "mkdir /sys/bus/pci/drivers/amdgpu\n";

static int exec_setup(void **state)
{
	if (fx_test_setup(state) < 0 || fx_spec(*state, exec_spec) < 0)
		return -1;
	calls[0] = '\0';
	enotty_when = NULL;
	fail_errno = -ENOTTY;
	hang_on_reset = false;
	memset(ioctl_script, 0, sizeof(ioctl_script));
	n_ioctl = 0;
	load_result = 0;
	load_makes_dev = false;
	reset_set_kernel(&fake_kernel);
	return 0;
}

static int exec_teardown(void **state)
{
	reset_set_kernel(NULL);
	return fx_test_teardown(state);
}

static void assert_called(const char *want)
{
	if (!strstr(calls, want))
		fail_msg("calls '%s' lack '%s'", calls, want);
}

static void test_run_falls_through_and_puts_back(void **state)
{
	struct reset_result r;
	char *m;

	(void)state;
	/* the admin chose "pm bus"; pm fails ENOTTY, bus works */
	enotty_when = "pm";
	assert_int_equal(reset_ladder("0000:01:00.0", RESET_LADDER, NULL, NULL, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.rung, RUNG_BUS);
	assert_has(r.message, "reset by bus (");
	/* device_specific acpi flr af_flr skipped, pm failed, bus ok; remove not listed
	 */
	assert_int_equal(r.n_tried, 6);
	assert_int_equal(r.tried[4].rung, RUNG_PM);
	assert_int_equal(r.tried[4].outcome, RESET_TRY_FAILED);
	assert_has(r.tried[4].why, "could not reset 0000:01:00.0 by pm (ENOTTY)");
	assert_int_equal(r.tried[5].outcome, RESET_TRY_OK);
	assert_called("0000:01:00.0/power/control=on;");
	assert_called("0000:01:00.0/reset_method=pm;0000:01:00.0/reset=1;");
	assert_called("0000:01:00.0/reset_method=bus;0000:01:00.0/reset=1;");
	/* what the admin had is back: the methods, and runtime PM */
	m = get_file("/sys/bus/pci/devices/%s/reset_method", "0000:01:00.0");
	assert_string_equal(m, "pm bus");
	free(m);
	m = get_file("/sys/bus/pci/devices/%s/power/control", "0000:01:00.0");
	assert_string_equal(m, "auto");
	free(m);
	reset_result_clear(&r);
}

static void test_run_stops_when_interrupted(void **state)
{
	struct reset_result r;
	char *m;

	(void)state;
	/* the pm writer was killed (or hung): no further rung pokes the device */
	enotty_when = "pm";
	fail_errno = -EINTR;
	assert_int_equal(reset_ladder("0000:01:00.0", RESET_LADDER, NULL, NULL, &r),
			 -EINTR);
	assert_false(r.ok);
	assert_int_equal(r.tried[r.n_tried - 1].rung, RUNG_PM);
	assert_null(strstr(calls, "reset_method=bus"));
	/* what it changed is put back all the same */
	m = get_file("/sys/bus/pci/devices/%s/reset_method", "0000:01:00.0");
	assert_string_equal(m, "pm bus");
	free(m);
	reset_result_clear(&r);
}

static void test_run_verifies(void **state)
{
	struct reset_result r;

	(void)state;
	/* every reset leaves it reading 0xffff: each rung fails its check */
	hang_on_reset = true;
	assert_int_equal(reset_ladder("0000:01:00.0", RESET_FORCE, "pm", NULL, &r), -EIO);
	assert_false(r.ok);
	assert_int_equal(r.rung, -1);
	assert_has(r.message, "does not answer after the reset");
	assert_has(r.message, "Unknown header type 7f");
	reset_result_clear(&r);
}

static void test_run_driver_changed(void **state)
{
	struct reset_result r;
	struct reset_facts f;
	struct reset_plan p;

	(void)state;
	/* a driver that went away during the reset is a failure */
	assert_int_equal(reset_facts_read("0000:01:00.0", NULL, &f), 0);
	reset_decide(&f, RESET_FORCE, "pm", &p);
	set_driver("0000:01:00.0", "e1000e");
	assert_int_equal(reset_run(&f, &p, &r), -EIO);
	assert_has(r.message, "is on e1000e after the reset, it was on vfio-pci");
	reset_result_clear(&r);
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_run_vendor_reset_ioctl(void **state)
{
	struct fx *fx = *state;
	struct reset_result r;

	/* loaded, with its ioctl device; busy twice, then done */
	fx_file(fx, "/sys/module/vendor_reset/initstate", "live\n");
	fx_file(fx, "/dev/vendor_reset", "");
	ioctl_script[0] = -EAGAIN;
	ioctl_script[1] = -EAGAIN;
	assert_int_equal(reset_ladder("0000:0a:00.0", RESET_LADDER, NULL, NULL, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.rung, RUNG_DEVICE_SPECIFIC);
	assert_int_equal(n_ioctl, 3);
	assert_called("ioctl 0000:0a:00.0=0;");
	assert_has(r.tried[0].why,
		   "vendor-reset's reset for Polaris 10 GPUs (/dev/vendor_reset)");
	reset_result_clear(&r);

	/* amdgpu holds it: ENOTTY, said so; no bus reset as a "fix" */
	memset(ioctl_script, 0, sizeof(ioctl_script));
	n_ioctl = 0;
	ioctl_script[0] = -ENOTTY;
	assert_int_equal(reset_ladder("0000:0a:00.0", RESET_LADDER, NULL, NULL, &r),
			 -ENOTTY);
	assert_false(r.ok);
	assert_has(r.message, "vendor-reset refused to reset 0000:0a:00.0 (ENOTTY");
	assert_int_equal(r.tried[r.n_tried - 1].outcome, RESET_TRY_SKIPPED);
	reset_result_clear(&r);

	/* an old vendor-reset without this id */
	n_ioctl = 0;
	ioctl_script[0] = -EOPNOTSUPP;
	assert_int_equal(reset_ladder("0000:0a:00.0", RESET_LADDER, NULL, NULL, &r),
			 -EOPNOTSUPP);
	assert_has(r.message, "does not know 1002:67df");
	reset_result_clear(&r);
}

static void test_run_vendor_reset_method(void **state)
{
	struct reset_result r;
	struct reset_facts f;
	struct reset_plan p;
	char *m;

	(void)state;
	/* installed, not loaded, no ioctl device: loaded, then reset_method =
	 * device_specific (5.15+), then the admin's list is back */
	assert_int_equal(reset_facts_read("0000:0a:00.0", NULL, &f), 0);
	f.vr_available = true; /* a fake root has no modules to look up */
	reset_decide(&f, RESET_LADDER, NULL, &p);
	assert_int_equal(reset_run(&f, &p, &r), 0);
	assert_called("load vendor-reset;");
	assert_called("0000:0a:00.0/reset_method=device_specific;0000:0a:00.0/reset=1;");
	assert_int_equal(n_ioctl, 0);
	assert_has(r.tried[0].why, "(reset_method)");
	m = get_file("/sys/bus/pci/devices/%s/reset_method", "0000:0a:00.0");
	assert_string_equal(m, "bus");
	free(m);
	reset_result_clear(&r);
	reset_plan_clear(&p);
	reset_facts_clear(&f);

	/* a module that brings its ioctl device: that is used */
	unlink_file("/sys/module/vendor_reset/initstate");
	load_makes_dev = true;
	calls[0] = '\0';
	assert_int_equal(reset_facts_read("0000:0a:00.0", NULL, &f), 0);
	f.vr_available = true;
	reset_decide(&f, RESET_LADDER, NULL, &p);
	assert_int_equal(reset_run(&f, &p, &r), 0);
	assert_called("load vendor-reset;ioctl 0000:0a:00.0=0;");
	assert_null(strstr(calls, "reset_method=device_specific"));
	reset_result_clear(&r);
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_run_vendor_reset_rejected(void **state)
{
	struct reset_result r;
	struct reset_facts f;
	struct reset_plan p;

	(void)state;
	/* Secure Boot: "Key was rejected by service" */
	load_result = -EKEYREJECTED;
	assert_int_equal(reset_facts_read("0000:0a:00.0", NULL, &f), 0);
	f.vr_available = true;
	reset_decide(&f, RESET_LADDER, NULL, &p);
	assert_int_equal(reset_run(&f, &p, &r), -EKEYREJECTED);
	assert_false(r.ok);
	assert_has(
	    r.message,
	    "Polaris 10 GPU and needs vendor-reset, but the kernel refused to load it");
	assert_has(r.message, "Secure Boot");
	assert_has(r.message, "MOK");
	/* nothing else was tried on the card */
	assert_null(strstr(calls, "/reset=1"));
	reset_result_clear(&r);
	reset_plan_clear(&p);
	reset_facts_clear(&f);
}

static void test_run_remove_d3cold(void **state)
{
	struct reset_result r;
	char *m;

	(void)state;
	/* stuck in D3cold, on vfio-pci: removed and rescanned, its override
	 * back, moved back from the host driver that took it, kept powered */
	put_file("/sys/bus/pci/devices/0000:0a:00.0/power_state", "D3cold\n");
	put_file("/sys/bus/pci/devices/0000:0a:00.0/reset_method", "flr bus\n");
	assert_int_equal(reset_ladder("0000:0a:00.0", RESET_FORCE, "remove", NULL, &r),
			 0);
	assert_true(r.ok);
	assert_int_equal(r.rung, RUNG_REMOVE);
	assert_called("0000:0a:00.0/power/control=on;0000:0a:00.0/d3cold_allowed=0;");
	assert_called(
	    "0000:0a:00.0/remove=1;0000:00:02.0/rescan=1;0000:0a:00.0/driver_override=vfio-pci;");
	/* amdgpu took it on the way back: moved back to vfio-pci */
	assert_called(
	    "0000:0a:00.0/driver/unbind=0000:0a:00.0;/sys/bus/pci/drivers_probe=0000:0a:00.0;");
	m = get_file("/sys/bus/pci/devices/%s/driver_override", "0000:0a:00.0");
	assert_string_equal(m, "vfio-pci");
	free(m);
	m = get_file("/sys/bus/pci/devices/%s/d3cold_allowed", "0000:0a:00.0");
	assert_string_equal(m, "0");
	free(m);
	m = get_file("/sys/bus/pci/devices/%s/power/control", "0000:0a:00.0");
	assert_string_equal(m, "on");
	free(m);
	m = get_file("/sys/bus/pci/devices/%s/reset_method", "0000:0a:00.0");
	assert_string_equal(m, "flr bus");
	free(m);
	reset_result_clear(&r);

	/* on vfio-pci without an override (Proxmox binds with new_id): back
	 * through a passing override, cleared afterwards */
	put_file("/sys/bus/pci/devices/0000:0a:00.0/driver_override", "(null)\n");
	calls[0] = '\0';
	assert_int_equal(reset_ladder("0000:0a:00.0", RESET_FORCE, "remove", NULL, &r),
			 0);
	assert_called(
	    "0000:0a:00.0/driver_override=vfio-pci;0000:0a:00.0/driver/unbind=0000:0a:00.0;/sys/bus/pci/drivers_probe=0000:0a:00.0;0000:0a:00.0/driver_override=\n;");
	assert_true(r.ok);
	m = get_file("/sys/bus/pci/devices/%s/driver_override", "0000:0a:00.0");
	assert_string_equal(m, "");
	free(m);
	reset_result_clear(&r);
}

static void test_reset_device_note(void **state)
{
	struct strv ours = {0};
	char *note = NULL, *err = NULL;

	(void)state;
	/* post-stop: bus (every device on the bus is the VM's), summary line */
	strv_add(&ours, "0000:01:00.0");
	assert_int_equal(
	    reset_device("0000:01:00.0", RESET_AUTO, NULL, &ours, &note, &err), 0);
	assert_null(err);
	assert_has(note, "reset by bus (");
	assert_has(note, " s)");
	free(note);
	/* off */
	assert_int_equal(
	    reset_device("0000:01:00.0", RESET_OFF, NULL, &ours, &note, &err), 0);
	assert_string_equal(note, "not reset (reset = off)");
	free(note);
	/* the policy names a method the device lacks: the task log says so */
	assert_int_equal(
	    reset_device("0000:01:00.0", RESET_METHODS, "acpi", &ours, &note, &err),
	    -EOPNOTSUPP);
	assert_has(
	    err,
	    "no reset method can be used for 0000:01:00.0: reset method 'acpi' is not supported by this device (reset_method: pm bus)");
	free(err);
	err = NULL;
	/* a Polaris card without vendor-reset: an error that says what to install */
	assert_int_equal(
	    reset_device("0000:0a:00.0", RESET_AUTO, NULL, &ours, &note, &err),
	    -EOPNOTSUPP);
	assert_null(note);
	assert_has(err, "vendor-reset-dkms");
	free(err);
	strv_clear(&ours);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vendor_reset_table),
	    cmocka_unit_test(test_rung_names),
	    cmocka_unit_test(test_ladder_flr_device),
	    cmocka_unit_test(test_ladder_pm_only_device),
	    cmocka_unit_test(test_bus_with_host_device_behind_bridge),
	    cmocka_unit_test(test_polaris_with_vendor_reset),
	    cmocka_unit_test(test_polaris_without_vendor_reset),
	    cmocka_unit_test(test_old_kernel),
	    cmocka_unit_test(test_rdna2),
	    cmocka_unit_test(test_d3cold_and_dead),
	    cmocka_unit_test(test_force_and_methods),
	    cmocka_unit_test(test_auto),
	    cmocka_unit_test_setup_teardown(test_facts_read, setup, fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_facts_kernel_and_modules, setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_facts_dead_device, setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_run_falls_through_and_puts_back,
					    exec_setup, exec_teardown),
	    cmocka_unit_test_setup_teardown(test_run_stops_when_interrupted, exec_setup,
					    exec_teardown),
	    cmocka_unit_test_setup_teardown(test_run_verifies, exec_setup, exec_teardown),
	    cmocka_unit_test_setup_teardown(test_run_driver_changed, exec_setup,
					    exec_teardown),
	    cmocka_unit_test_setup_teardown(test_run_vendor_reset_ioctl, exec_setup,
					    exec_teardown),
	    cmocka_unit_test_setup_teardown(test_run_vendor_reset_method, exec_setup,
					    exec_teardown),
	    cmocka_unit_test_setup_teardown(test_run_vendor_reset_rejected, exec_setup,
					    exec_teardown),
	    cmocka_unit_test_setup_teardown(test_run_remove_d3cold, exec_setup,
					    exec_teardown),
	    cmocka_unit_test_setup_teardown(test_reset_device_note, exec_setup,
					    exec_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
