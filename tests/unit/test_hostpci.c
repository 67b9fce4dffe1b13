// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pci/inventory.h"
#include "pve/hostpci.h"
#include "pve/pveconf.h"
#include "testutil.h"

static struct hostpci *ok(const char *value)
{
	struct hostpci *h = NULL;
	char *err = NULL;

	if (hostpci_parse(value, 2, &h, &err) < 0)
		fail_msg("'%s': unexpected error: %s", value, err);
	assert_null(err);
	assert_int_equal(h->index, 2);
	return h;
}

/* Expect an error whose message contains each NULL-terminated word. */
static void bad(const char *value, ...)
{
	struct hostpci *h = NULL;
	char *err = NULL;
	va_list ap;

	if (hostpci_parse(value, 0, &h, &err) != -EINVAL)
		fail_msg("'%s' was accepted", value);
	assert_null(h);
	va_start(ap, value);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_host_ids(void **state)
{
	struct hostpci *h;

	(void)state;
	h = ok("01:00.0");
	assert_int_equal(h->host.n, 1);
	assert_string_equal(h->host.v[0], "01:00.0");
	assert_null(h->mapping);
	hostpci_free(h);
	h = ok("host=0000:01:00");
	assert_string_equal(h->host.v[0], "0000:01:00");
	hostpci_free(h);
	h = ok("01:00");
	assert_string_equal(h->host.v[0], "01:00");
	hostpci_free(h);
	h = ok("10000:e1:1f.7"); /* VMD domains have 5 digits */
	assert_string_equal(h->host.v[0], "10000:e1:1f.7");
	hostpci_free(h);
	h = ok("0000:01:00.0;0000:01:00.1;02:00");
	assert_int_equal(h->host.n, 3);
	assert_string_equal(h->host.v[1], "0000:01:00.1");
	assert_string_equal(h->host.v[2], "02:00");
	hostpci_free(h);
	h = ok("af:1f.f");
	hostpci_free(h);

	bad("01:00.0;", "empty id", NULL);
	bad(";01:00.0", "empty id", NULL);
	bad("01:00.0;;02:00.0", "empty id", NULL);
	bad("01:00.A", "uppercase", "lowercase", NULL);
	bad("0A:00.0", "uppercase", NULL);
	bad("0000:AF:00.0", "uppercase", NULL);
	bad("000:01:00.0", "4 hex digits", NULL);
	bad("0:01:00.0", "4 hex digits", NULL);
	bad("1:00.0", "not a PCI address", NULL);
	bad("01:0.0", "not a PCI address", NULL);
	bad("01:00.", "not a PCI address", NULL);
	bad("01:00.10", "not a PCI address", NULL);
	bad("01:00:0", "not a PCI address", NULL);
	bad("0g:00.0", "not a PCI address", NULL);
	bad("01:00.0 ", "not a PCI address", NULL);
	bad("host=01:00.0;x", "'x'", NULL);
	bad("", "Either 'host' or 'mapping' must be set.", NULL);
	bad("  ", "Either 'host' or 'mapping' must be set.", NULL);
	bad("pcie=1", "Either 'host' or 'mapping' must be set.", NULL);

	assert_true(hostpci_id_valid("0000:00:02.0"));
	assert_false(hostpci_id_valid(""));
	assert_false(hostpci_id_valid(NULL));
}

static void test_mapping_key(void **state)
{
	struct hostpci *h;

	(void)state;
	h = ok("mapping=gpu1,pcie=1");
	assert_string_equal(h->mapping, "gpu1");
	assert_int_equal(h->host.n, 0);
	hostpci_free(h);
	h = ok("mapping=My_GPU-2"); /* pve-configid is case-insensitive */
	assert_string_equal(h->mapping, "My_GPU-2");
	hostpci_free(h);
	bad("mapping=g", "mapping", "'g'", NULL);
	bad("mapping=1gpu", "mapping", NULL);
	bad("mapping=gpu.1", "mapping", NULL);
	bad("01:00.0,mapping=gpu1", "Cannot set both 'host' and 'mapping'.", NULL);
	bad("mapping=gpu1,host=01:00.0", "Cannot set both", NULL);
	bad("mapping=a1,mapping=a2", "duplicate key 'mapping'", NULL);
}

static void test_flags(void **state)
{
	static const char *const keys[] = {"pcie", "rombar", "x-vga", "legacy-igd"};
	static const char *const yes[] = {"1", "on", "yes", "true", "TRUE", "On"};
	static const char *const no[] = {"0", "off", "no", "false", "NO", "False"};
	struct hostpci *h;
	char buf[128];

	(void)state;
	h = ok("01:00.0");
	assert_int_equal(h->pcie, -1);
	assert_int_equal(h->rombar, -1);
	assert_int_equal(h->x_vga, -1);
	assert_int_equal(h->legacy_igd, -1);
	assert_null(h->romfile);
	assert_null(h->mdev);
	assert_int_equal(h->vendor_id, -1);
	assert_int_equal(h->device_id, -1);
	assert_int_equal(h->sub_vendor_id, -1);
	assert_int_equal(h->sub_device_id, -1);
	assert_false(h->driver_keep);
	hostpci_free(h);
	for (size_t k = 0; k < 4; k++) {
		for (size_t i = 0; i < 6; i++) {
			int *f;

			snprintf(buf, sizeof(buf), "01:00.0,%s=%s", keys[k], yes[i]);
			h = ok(buf);
			f = k == 0   ? &h->pcie
			    : k == 1 ? &h->rombar
			    : k == 2 ? &h->x_vga
				     : &h->legacy_igd;
			assert_int_equal(*f, 1);
			hostpci_free(h);
			snprintf(buf, sizeof(buf), "01:00.0,%s=%s", keys[k], no[i]);
			h = ok(buf);
			f = k == 0   ? &h->pcie
			    : k == 1 ? &h->rombar
			    : k == 2 ? &h->x_vga
				     : &h->legacy_igd;
			assert_int_equal(*f, 0);
			hostpci_free(h);
		}
		snprintf(buf, sizeof(buf), "01:00.0,%s=2", keys[k]);
		bad(buf, keys[k], "'2'", "not a boolean", NULL);
		snprintf(buf, sizeof(buf), "01:00.0,%s=", keys[k]);
		bad(buf, keys[k], "empty value", NULL);
		snprintf(buf, sizeof(buf), "01:00.0,%s=1,%s=0", keys[k], keys[k]);
		bad(buf, "duplicate key", keys[k], NULL);
	}
	/* every key at once */
	h = ok(
	    "host=0000:03:00.0;0000:03:00.1,pcie=1,rombar=0,x-vga=on,legacy-igd=no,romfile=vbios.rom,vendor-id=0x10de,device-id=0x1F08,sub-vendor-id=0xabcd,sub-device-id=0x0000,driver=vfio");
	assert_int_equal(h->host.n, 2);
	assert_int_equal(h->pcie, 1);
	assert_int_equal(h->rombar, 0);
	assert_int_equal(h->x_vga, 1);
	assert_int_equal(h->legacy_igd, 0);
	assert_string_equal(h->romfile, "vbios.rom");
	assert_int_equal(h->vendor_id, 0x10de);
	assert_int_equal(h->device_id, 0x1f08);
	assert_int_equal(h->sub_vendor_id, 0xabcd);
	assert_int_equal(h->sub_device_id, 0);
	assert_false(h->driver_keep);
	hostpci_free(h);
}

static void test_other_keys(void **state)
{
	struct hostpci *h;

	(void)state;
	h = ok("01:00.0,driver=keep");
	assert_true(h->driver_keep);
	hostpci_free(h);
	bad("01:00.0,driver=nvidia", "driver 'nvidia'", "vfio or keep", NULL);
	bad("01:00.0,driver=KEEP", "driver", NULL);

	h = ok("00:02.0,mdev=i915-GVTg_V5_4");
	assert_string_equal(h->mdev, "i915-GVTg_V5_4");
	hostpci_free(h);
	h = ok("mapping=vgpu,mdev=nvidia-63");
	assert_string_equal(h->mdev, "nvidia-63");
	hostpci_free(h);
	bad("00:02.0,mdev=a/b", "mdev", NULL);
	bad("00:02.0,mdev=a.b", "mdev", NULL);
	bad("00:02.0,mdev=a:b", "mdev", NULL);

	h = ok("01:00.0,romfile=sub/dir/vbios.bin");
	assert_string_equal(h->romfile, "sub/dir/vbios.bin");
	hostpci_free(h);
	h = ok("01:00.0,romfile=..rom");
	hostpci_free(h);
	bad("01:00.0,romfile=/etc/shadow", "romfile", "absolute", NULL);
	bad("01:00.0,romfile=../../etc/shadow", "romfile", "..", NULL);
	bad("01:00.0,romfile=a/../../b", "romfile", NULL);
	bad("01:00.0,romfile=a;b", "romfile", NULL);

	bad("01:00.0,vendor-id=10de", "vendor-id '10de'", "0x", NULL);
	bad("01:00.0,device-id=0x10d", "device-id", NULL);
	bad("01:00.0,sub-vendor-id=0x10dex", "sub-vendor-id", NULL);
	bad("01:00.0,sub-device-id=0X10de", "sub-device-id", NULL);
	bad("01:00.0,sub-device-id=0xgggg", "sub-device-id", NULL);

	bad("01:00.0,foo=1", "unknown key 'foo'", "known:", NULL);
	bad("01:00.0,Pcie=1", "unknown key 'Pcie'", NULL);
	bad("01:00.0, pcie=1", "unknown key ' pcie'", NULL);
	bad("01:00.0,02:00.0", "duplicate key 'host'", NULL);
	bad("01:00.0,host=02:00.0", "duplicate key 'host'", NULL);
	bad("01:00.0,=1", "missing key", NULL);
}

static void test_expand(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct strv present = {0};
	struct hostpci *h;
	char *err = NULL;

	(void)state;
	assert_int_equal(fx_spec(fx, "dev 0000:01:00.1 vendor=10de device=10f8 group=13\n"
				     "dev 0000:01:00.0 vendor=10de device=1f08 group=13\n"
				     "dev 0000:01:00.2 vendor=10de device=1ad8 group=13\n"
				     "dev 0000:02:00.0 group=14\n"
				     "dev 0000:10:00.0 group=15\n"
				     "dev 0001:01:00.0 group=16\n"
				     "mkdir /sys/bus/pci/devices/10000:e1:00.0\n"),
			 0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	assert_int_equal(inventory_list(&present), 0);
	assert_int_equal(present.n, 7);
	assert_string_equal(present.v[0], "0000:01:00.0"); /* sorted */
	assert_string_equal(present.v[6], "10000:e1:00.0");

	/* no function: the whole device; no domain: 0000 only */
	h = ok("01:00");
	assert_int_equal(hostpci_expand(h, &present, &err), 0);
	assert_int_equal(h->devs.n, 3);
	assert_string_equal(h->devs.v[0], "0000:01:00.0");
	assert_string_equal(h->devs.v[1], "0000:01:00.1");
	assert_string_equal(h->devs.v[2], "0000:01:00.2");
	hostpci_free(h);

	/* ';' list: each id's matches in the order of the ids, a device named
	 * twice kept twice (PCI.pm parse_hostpci concatenates; the choice
	 * then refuses it as "assigned more than once") */
	h = ok("02:00.0;0000:01:00.1;01:00.1");
	assert_int_equal(hostpci_expand(h, &present, &err), 0);
	assert_int_equal(h->devs.n, 3);
	assert_string_equal(h->devs.v[0], "0000:02:00.0");
	assert_string_equal(h->devs.v[1], "0000:01:00.1");
	assert_string_equal(h->devs.v[2], "0000:01:00.1");
	/* expanding again replaces, not appends */
	assert_int_equal(hostpci_expand(h, &present, &err), 0);
	assert_int_equal(h->devs.n, 3);
	hostpci_free(h);

	h = ok("0001:01:00");
	assert_int_equal(hostpci_expand(h, &present, &err), 0);
	assert_int_equal(h->devs.n, 1);
	assert_string_equal(h->devs.v[0], "0001:01:00.0");
	hostpci_free(h);
	h = ok("10000:e1:00.0");
	assert_int_equal(hostpci_expand(h, &present, &err), 0);
	assert_string_equal(h->devs.v[0], "10000:e1:00.0");
	hostpci_free(h);
	/* "10:00" is not a prefix of 0000:01:00.0 nor 10000:e1:00.0 */
	h = ok("10:00");
	assert_int_equal(hostpci_expand(h, &present, &err), 0);
	assert_int_equal(h->devs.n, 1);
	assert_string_equal(h->devs.v[0], "0000:10:00.0");
	hostpci_free(h);

	/* nothing matches: Proxmox's words plus a hint */
	h = ok("01:00.0;03:00.0");
	assert_int_equal(hostpci_expand(h, &present, &err), -EINVAL);
	assert_non_null(strstr(err, "hostpci2: no PCI device found for '03:00.0'"));
	assert_non_null(strstr(err, "0000:03:00.0"));
	assert_non_null(strstr(err, "lspci"));
	assert_int_equal(h->devs.n, 0);
	free(err), err = NULL;
	hostpci_free(h);
	h = ok("0002:01:00.0");
	assert_int_equal(hostpci_expand(h, &present, &err), -EINVAL);
	free(err), err = NULL;
	hostpci_free(h);

	/* a mapping entry is resolved by the mapping */
	h = ok("mapping=gpu");
	assert_int_equal(hostpci_expand(h, &present, &err), -EINVAL);
	free(err), err = NULL;
	hostpci_free(h);
	hostpci_free(NULL);

	strv_clear(&present);
	host_cleanup();
	fx_free(fx, 0);
}

static void test_normalize(void **state)
{
	char *s;

	(void)state;
	s = hostpci_id_normalize("01:00.0");
	assert_string_equal(s, "0000:01:00.0");
	free(s);
	s = hostpci_id_normalize("0000:01:00");
	assert_string_equal(s, "0000:01:00");
	free(s);
	s = hostpci_id_normalize("10000:01:00.0");
	assert_string_equal(s, "10000:01:00.0");
	free(s);
}

static void test_probe_present(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct strv present = {0};

	(void)state;
	assert_int_equal(fx_spec(fx,
				 "dev 0000:01:00.0 group=1\ndev 0000:01:00.1 group=1\n"
				 "dev 0000:01:00.3 group=1\ndev 0000:01:01.0 group=2\n"
				 "dev 0001:01:00.0 group=3\n"),
			 0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	/* a slot: every function present, sorted; nothing from the next slot
	 * or another domain */
	hostpci_probe_present("01:00", &present);
	assert_int_equal(present.n, 3);
	assert_string_equal(present.v[0], "0000:01:00.0");
	assert_string_equal(present.v[2], "0000:01:00.3");
	/* one function, no duplicates */
	hostpci_probe_present("0000:01:00.1", &present);
	hostpci_probe_present("01:00.7", &present);
	assert_int_equal(present.n, 3);
	hostpci_probe_present("0001:01:00", &present);
	assert_int_equal(present.n, 4);
	assert_string_equal(present.v[3], "0001:01:00.0");
	strv_clear(&present);
	host_cleanup();
	fx_free(fx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_present), cmocka_unit_test(test_host_ids),
	    cmocka_unit_test(test_mapping_key),	  cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_other_keys),	  cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
