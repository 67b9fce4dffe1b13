// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pci/inventory.h"
#include "pve/hostpci.h"
#include "pve/mapping.h"
#include "pve/reservation.h"
#include "testutil.h"

static struct mapping_cfg *parse_ok(const char *text)
{
	struct mapping_cfg *cfg = NULL;
	char *err = NULL;

	if (mapping_parse(text, &cfg, &err) < 0)
		fail_msg("unexpected error: %s", err);
	assert_null(err);
	return cfg;
}

static void parse_fails(const char *text, ...)
{
	struct mapping_cfg *cfg = NULL;
	char *err = NULL;
	va_list ap;

	if (mapping_parse(text, &cfg, &err) != -EINVAL)
		fail_msg("accepted:\n%s", text);
	assert_null(cfg);
	va_start(ap, text);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_parse(void **state)
{
	struct mapping_cfg *cfg;
	const struct pci_mapping *m;
	const struct pci_map_entry *e;

	(void)state;
	cfg = parse_ok(
	    "# PCI mappings\n"
	    "\n"
	    "gpu1\n"
	    "\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=13,subsystem-id=3842:2167\n"
	    "   # a comment inside the section\n"
	    "\tmap node=pve2,path=0000:02:00.0;0000:02:00.1,id=10DE:1f08,description=the other one\n"
	    "  \t \n"
	    "\tdescription my GPU  \n"
	    "\tmdev 1\n"
	    "\n"
	    "\n"
	    "nic-x \n"
	    " map path=0001:05:00,node=pve1,id=8086:10d3\n"
	    " live-migration-capable true\n"
	    " somefuturekey whatever\n");
	assert_int_equal(cfg->n, 2);
	m = mapping_find(cfg, "gpu1");
	assert_non_null(m);
	assert_int_equal(m->line, 3);
	assert_string_equal(m->description, "my GPU");
	assert_true(m->mdev);
	assert_false(m->live_migration);
	assert_int_equal(m->n_maps, 2);
	e = &m->maps[0];
	assert_int_equal(e->line, 4);
	assert_string_equal(e->node, "pve1");
	assert_int_equal(e->path.n, 1);
	assert_string_equal(e->path.v[0], "0000:01:00.0");
	assert_string_equal(e->id, "10de:1f08");
	assert_string_equal(e->subsystem_id, "3842:2167");
	assert_int_equal(e->iommugroup, 13);
	assert_null(e->description);
	e = &m->maps[1];
	assert_int_equal(e->line, 6);
	assert_string_equal(e->node, "pve2");
	assert_int_equal(e->path.n, 2);
	assert_string_equal(e->path.v[1], "0000:02:00.1");
	assert_string_equal(e->id, "10DE:1f08");
	assert_null(e->subsystem_id);
	assert_int_equal(e->iommugroup, -1);
	assert_string_equal(e->description, "the other one");
	m = mapping_find(cfg, "nic-x");
	assert_non_null(m);
	assert_int_equal(m->line, 12);
	assert_false(m->mdev);
	assert_true(m->live_migration);
	assert_null(m->description);
	assert_string_equal(m->maps[0].path.v[0], "0001:05:00");
	assert_null(mapping_find(cfg, "gpu2"));
	assert_null(mapping_find(cfg, NULL));
	mapping_free(cfg);
	mapping_free(NULL);

	cfg = parse_ok("");
	assert_int_equal(cfg->n, 0);
	mapping_free(cfg);
	cfg = parse_ok("# only comments\n\n#\n");
	assert_int_equal(cfg->n, 0);
	mapping_free(cfg);
	cfg = parse_ok("empty\n"); /* a mapping without map lines */
	assert_int_equal(cfg->n, 1);
	assert_int_equal(cfg->v[0].n_maps, 0);
	mapping_free(cfg);
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_fails("gpu1 x\n", "/etc/pve/mapping/pci.cfg:1:", "alone", NULL);
	parse_fails("gpu1\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08\n\n"
		    "\tdescription orphan\n",
		    "/etc/pve/mapping/pci.cfg:4:", "outside", NULL);
	parse_fails("1gpu\n", ":1:", "invalid mapping id '1gpu'", NULL);
	parse_fails("g\n", ":1:", "invalid mapping id", NULL);
	parse_fails("gpu.1\n", ":1:", "invalid mapping id", NULL);
	parse_fails("gpu1\n\ngpu1\n", ":3:", "defined twice", "line 1", NULL);
	parse_fails("gpu1\n\tdescription a\n\tdescription b\n", ":3:", "given twice",
		    NULL);
	parse_fails("gpu1\n\tmdev 1\n\tmdev 0\n", ":3:", "mdev", NULL);
	parse_fails("gpu1\n\tmdev maybe\n", ":2:", "mdev", "boolean", NULL);
	parse_fails("gpu1\n\tmdev\n", ":2:", "no value", NULL);
	parse_fails("gpu1\n\tmap\n", ":2:", "no value", NULL);
	parse_fails("gpu1\n\tmap path=0000:01:00.0,id=10de:1f08\n", ":2:", "missing node",
		    NULL);
	parse_fails("gpu1\n\tmap node=pve1,id=10de:1f08\n", ":2:", "missing path", NULL);
	parse_fails("gpu1\n\tmap node=pve1,path=0000:01:00.0\n", ":2:", "missing id",
		    NULL);
	parse_fails("gpu1\n\tmap node=pve1,path=01:00.0,id=10de:1f08\n",
		    ":2:", "'01:00.0'", "domain", NULL);
	parse_fails("gpu1\n\tmap node=pve1,path=0000:01:00.0;,id=10de:1f08\n",
		    ":2:", "path", NULL);
	parse_fails("gpu1\n\tmap node=pve1,path=0000:0A:00.0,id=10de:1f08\n",
		    ":2:", "path", NULL);
	parse_fails("gpu1\n\tmap node=pve1,path=0000:01:00.0,id=10de1f08\n",
		    ":2:", "id '10de1f08'", NULL);
	parse_fails(
	    "gpu1\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,subsystem-id=x\n",
	    ":2:", "subsystem-id", NULL);
	parse_fails(
	    "gpu1\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=-1\n",
	    ":2:", "iommugroup", NULL);
	parse_fails("gpu1\n\tmap node=pve_1,path=0000:01:00.0,id=10de:1f08\n",
		    ":2:", "node", NULL);
	parse_fails("gpu1\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,colour=red\n",
		    ":2:", "unknown key 'colour'", NULL);
	parse_fails("gpu1\n\tmap node=pve1,node=pve2,path=0000:01:00.0,id=10de:1f08\n",
		    ":2:", "duplicate key 'node'", NULL);
	parse_fails("gpu1\n\tmap pve1\n", ":2:", "without a key", NULL);
}

/* A fake host: node pve1 with two identical GPUs and a NIC. */
static struct fx *setup(void)
{
	struct fx *fx = fx_new(NULL);

	assert_int_equal(
	    fx_spec(fx,
		    "dev 0000:01:00.0 vendor=10de device=1f08 subsys=3842:2167 group=13\n"
		    "dev 0000:01:00.1 vendor=10de device=10f9 subsys=3842:2167 group=13\n"
		    "dev 0000:02:00.0 vendor=10de device=1f08 subsys=3842:2167 group=14\n"
		    "dev 0000:02:00.1 vendor=10de device=10f9 subsys=3842:2167 group=14\n"
		    "dev 0000:03:00.0 vendor=8086 device=10d3 group=15\n"
		    "dev 0000:04:00.0 vendor=8086 device=10d3 nogroup\n"),
	    0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	return fx;
}

static const char two_gpus[] =
    "gpu\n"
    "\tmap node=pve2,path=0000:09:00.0,id=1002:73bf,iommugroup=1,subsystem-id=0000:0000\n"
    "\tmap node=pve1,path=0000:01:00,id=10de:1f08,iommugroup=13,subsystem-id=3842:2167\n"
    "\tmap node=pve1,path=0000:02:00,id=10de:1f08,iommugroup=14,subsystem-id=3842:2167\n";

static int resolve(const char *cfgtext, const struct strv *taken,
		   const struct reservations *res, struct strv *out, char **err)
{
	struct mapping_cfg *cfg = parse_ok(cfgtext);
	struct strv present = {0};
	int r;

	assert_int_equal(inventory_list(&present), 0);
	assert_true(cfg->n >= 1);
	r = mapping_resolve(&cfg->v[0], 1, 100, taken, res, &present, out, err);
	strv_clear(&present);
	mapping_free(cfg);
	return r;
}

static void test_resolve_choose(void **state)
{
	struct fx *fx = setup();
	struct strv out = {0}, taken = {0};
	struct reservations *res = NULL;
	char *err = NULL;
	char buf[512];

	(void)state;
	/* this node's first entry, the whole device (no function) */
	strv_add(&out, "stale");
	assert_int_equal(resolve(two_gpus, NULL, NULL, &out, &err), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "0000:01:00.0");
	assert_string_equal(out.v[1], "0000:01:00.1");
	strv_clear(&out);

	/* first alternative taken by an earlier hostpci entry: the second */
	strv_add(&taken, "0000:01:00.1");
	assert_int_equal(resolve(two_gpus, &taken, NULL, &out, &err), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "0000:02:00.0");
	assert_string_equal(out.v[1], "0000:02:00.1");
	strv_clear(&out);

	/* both busy: one taken, one reserved by VM 101 */
	assert_int_equal(reservation_parse("0000:02:00.1 101 time:9999999999\n", 0, &res),
			 0);
	assert_int_equal(resolve(two_gpus, &taken, res, &out, &err), -EINVAL);
	assert_non_null(
	    strstr(err, "hostpci1: could not find a free device for 'hostpci1'"));
	assert_non_null(strstr(err, "0000:01:00.1 is used by an earlier hostpci entry"));
	assert_non_null(strstr(err, "0000:02:00.1 is reserved by VM 101"));
	assert_int_equal(out.n, 0);
	free(err), err = NULL;
	strv_clear(&taken);

	/* first reserved by another VM: the second */
	reservation_free(res);
	assert_int_equal(reservation_parse("01:00.0 101 time:9999999999\n", 0, &res), 0);
	assert_int_equal(resolve(two_gpus, NULL, res, &out, &err), 0);
	assert_string_equal(out.v[0], "0000:02:00.0");
	strv_clear(&out);
	reservation_free(res);
	/* a reservation of our own VM or an expired one does not count */
	assert_int_equal(reservation_parse("0000:01:00.0 100 time:9999999999\n"
					   "0000:01:00.1 101 time:10\n",
					   1000, &res),
			 0);
	assert_int_equal(resolve(two_gpus, NULL, res, &out, &err), 0);
	assert_string_equal(out.v[0], "0000:01:00.0");
	strv_clear(&out);
	reservation_free(res);

	/* no entry for this node */
	assert_int_equal(resolve("gpu\n\tmap node=pve2,path=0000:01:00.0,id=10de:1f08\n",
				 NULL, NULL, &out, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "hostpci1: PCI device mapping not found for 'gpu'"));
	assert_non_null(strstr(err, "pve1"));
	free(err), err = NULL;
	assert_int_equal(resolve("gpu\n", NULL, NULL, &out, &err), -EINVAL);
	free(err), err = NULL;

	/* a device without IOMMU group: the mapping must not name one */
	assert_int_equal(
	    resolve(
		"nic\n\tmap node=pve1,path=0000:04:00.0,id=8086:10d3,subsystem-id=0000:0000\n",
		NULL, NULL, &out, &err),
	    0);
	assert_string_equal(out.v[0], "0000:04:00.0");
	strv_clear(&out);
	snprintf(
	    buf, sizeof(buf),
	    "nic\n\tmap node=pve1,path=0000:04:00.0,id=8086:10d3,subsystem-id=0000:0000,iommugroup=4\n");
	assert_int_equal(resolve(buf, NULL, NULL, &out, &err), -EINVAL);
	assert_non_null(
	    strstr(err, "'iommugroup' configured but device 0000:04:00.0 has no"));
	free(err), err = NULL;

	host_cleanup();
	fx_free(fx, 0);
}

/* Resolve and expect "invalid (hardware probably changed)" with the words. */
static void invalid(const char *text, ...)
{
	struct strv out = {0};
	char *err = NULL;
	va_list ap;

	assert_int_equal(resolve(text, NULL, NULL, &out, &err), -EINVAL);
	assert_int_equal(out.n, 0);
	if (!strstr(
		err,
		"hostpci1: PCI device mapping 'gpu' invalid (hardware probably changed): "))
		fail_msg("error '%s' is not about an invalid mapping", err);
	va_start(ap, text);
	assert_err_has(err, ap);
	va_end(ap);
}

static void ok_resolve(const char *text, size_t n)
{
	struct strv out = {0};
	char *err = NULL;

	if (resolve(text, NULL, NULL, &out, &err) != 0)
		fail_msg("'%s' should be valid: %s", text, err);
	assert_int_equal(out.n, n);
	strv_clear(&out);
}

static void test_resolve_validation(void **state)
{
	struct fx *fx = setup();

	(void)state;
	/* vendor:device */
	invalid(
	    "gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:2204,iommugroup=13,subsystem-id=3842:2167\n",
	    "'id' does not match for device 0000:01:00.0", "says 10de:2204",
	    "has 10de:1f08", "line 2", NULL);
	/* Proxmox compares the strings: uppercase differs */
	invalid(
	    "gpu\n\tmap node=pve1,path=0000:01:00.0,id=10DE:1F08,iommugroup=13,subsystem-id=3842:2167\n",
	    "'id' does not match", "lowercase", NULL);
	/* a multifunction set shares the first device's id (the audio function
	 * has another): only the first path is compared, the others must exist */
	ok_resolve(
	    "gpu\n\tmap node=pve1,path=0000:01:00.0;0000:01:00.1,id=10de:1f08,iommugroup=13,subsystem-id=3842:2167\n",
	    2);
	invalid("gpu\n\tmap node=pve1,path=0000:01:00.0;0000:01:00.7,id=10de:1f08\n",
		"pci device '0000:01:00.7' not found", NULL);
	/* subsystem ids */
	invalid(
	    "gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=13,subsystem-id=3842:3000\n",
	    "'subsystem-id' does not match for device 0000:01:00.0", "says 3842:3000",
	    "has 3842:2167", NULL);
	/* subsystem-id and iommugroup are optional: not checked when absent */
	ok_resolve("gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=13\n",
		   1);
	/* IOMMU group of the first path */
	invalid(
	    "gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=14,subsystem-id=3842:2167\n",
	    "'iommugroup' does not match for device 0000:01:00.0", "says 14", "has 13",
	    NULL);
	ok_resolve("gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08\n", 1);
	/* a path without function is checked as .0 */
	invalid(
	    "gpu\n\tmap node=pve1,path=0000:01:00,id=10de:10f9,iommugroup=13,subsystem-id=3842:2167\n",
	    "device 0000:01:00.0", "has 10de:1f08", NULL);
	invalid(
	    "gpu\n\tmap node=pve1,path=0000:07:00,id=10de:1f08,iommugroup=13,subsystem-id=3842:2167\n",
	    "pci device '0000:07:00.0' not found", NULL);
	/* every entry of this node is validated, even when the first would do;
	 * other nodes' entries are not */
	invalid(
	    "gpu\n"
	    "\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=13,subsystem-id=3842:2167\n"
	    "\tmap node=pve2,path=0000:08:00.0,id=dead:beef\n"
	    "\tmap node=pve1,path=0000:02:00.0,id=10de:1f08,iommugroup=99,subsystem-id=3842:2167\n",
	    "0000:02:00.0", "says 99", "line 4", NULL);
	/* a group mismatch on a later path does not matter (first path only) */
	{
		struct strv out = {0};
		char *err = NULL;

		assert_int_equal(
		    resolve(
			"gpu\n\tmap node=pve1,path=0000:01:00.0;0000:02:00.0,id=10de:1f08,iommugroup=13,subsystem-id=3842:2167\n",
			NULL, NULL, &out, &err),
		    0);
		assert_int_equal(out.n, 2);
		assert_string_equal(out.v[1], "0000:02:00.0");
		strv_clear(&out);
	}
	host_cleanup();
	fx_free(fx, 0);
}

static void test_read(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct mapping_cfg *cfg = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	assert_int_equal(mapping_read(&cfg, &err), 0); /* no file: no mappings */
	assert_int_equal(cfg->n, 0);
	mapping_free(cfg);
	assert_int_equal(fx_file(fx, "/etc/pve/mapping/pci.cfg", two_gpus), 0);
	assert_int_equal(mapping_read(&cfg, &err), 0);
	assert_int_equal(cfg->n, 1);
	assert_int_equal(cfg->v[0].n_maps, 3);
	mapping_free(cfg);
	assert_int_equal(fx_file(fx, "/etc/pve/mapping/pci.cfg", "gpu\n\tmap node=x\n"),
			 0);
	assert_int_equal(mapping_read(&cfg, &err), -EINVAL);
	assert_non_null(strstr(err, "/etc/pve/mapping/pci.cfg:2:"));
	free(err);
	host_cleanup();
	fx_free(fx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_resolve_choose),
	    cmocka_unit_test(test_resolve_validation),
	    cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
