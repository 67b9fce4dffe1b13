// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * /etc/pve/mapping/pci.cfg as pve-common's SectionConfig reads it for
 * PVE::Mapping::PCI (lenient: warn and drop), and assert_valid as
 * pve-guest-common checks an entry against sysfs at VM start.
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
#include "pci/inventory.h"
#include "pve/hostpci.h"
#include "pve/mapping.h"
#include "testutil.h"

static struct mapping_cfg *parse(const char *text)
{
	struct mapping_cfg *cfg = NULL;
	char *err = NULL;

	assert_int_equal(mapping_parse(text, strlen(text), &cfg, &err), 0);
	assert_null(err);
	return cfg;
}

/* True when some warning contains every word of the NULL-terminated list. */
static bool warned(const struct mapping_cfg *cfg, ...)
{
	for (size_t i = 0; i < cfg->warnings.n; i++) {
		const char *w = cfg->warnings.v[i], *word;
		bool all = true;
		va_list ap;

		va_start(ap, cfg);
		while ((word = va_arg(ap, const char *)))
			all &= strstr(w, word) != NULL;
		va_end(ap);
		if (all)
			return true;
	}
	return false;
}

static void dump(const struct mapping_cfg *cfg)
{
	for (size_t i = 0; i < cfg->warnings.n; i++)
		print_message("warning: %s\n", cfg->warnings.v[i]);
}

#define A "\tmap node=pve1,path=0000:01:00.0,id=10de:1f08\n"
#define B "\tmap node=pve2,path=0000:02:00.0,id=10de:1f08\n"

static void test_parse(void **state)
{
	struct mapping_cfg *cfg;
	const struct pci_mapping *m;
	const struct pci_map_entry *e;

	(void)state;
	cfg = parse(
	    "# PCI mappings\n"
	    "\n"
	    "gpu1\n"
	    "\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=13,subsystem-id=3842:2167\n"
	    "   # a comment inside the section\n"
	    "\tmap node=pve2,path=0000:02:00.0;0000:02:00.1,id=10DE:1f08,description=the other one\n"
	    "\tdescription my GPU  \n"
	    "\tmdev 1\n"
	    "\n"
	    "\n"
	    "nic-x \n"
	    " map path=0001:05:00,node=pve1,id=8086:10d3,iommugroup=+7\n"
	    " live-migration-capable 1\n");
	dump(cfg);
	assert_int_equal(cfg->warnings.n, 0);
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
	assert_string_equal(e->iommugroup, "13");
	assert_null(e->description);
	e = &m->maps[1];
	assert_int_equal(e->line, 6);
	assert_int_equal(e->path.n, 2);
	assert_string_equal(e->path.v[1], "0000:02:00.1");
	assert_string_equal(e->id, "10DE:1f08"); /* the schema takes either case */
	assert_null(e->subsystem_id);
	assert_null(e->iommugroup);
	assert_string_equal(e->description, "the other one");
	m = mapping_find(cfg, "nic-x");
	assert_non_null(m);
	assert_int_equal(m->line, 11);
	assert_false(m->mdev);
	assert_true(m->live_migration);
	assert_string_equal(m->maps[0].path.v[0], "0001:05:00");
	assert_string_equal(m->maps[0].iommugroup, "+7"); /* an integer, kept as text */
	assert_null(mapping_find(cfg, "gpu2"));
	assert_null(mapping_find(cfg, NULL));
	mapping_free(cfg);
	mapping_free(NULL);

	cfg = parse("");
	assert_int_equal(cfg->n, 0);
	mapping_free(cfg);
	cfg = parse("# only comments\n\n#\n");
	assert_int_equal(cfg->n, 0);
	assert_int_equal(cfg->warnings.n, 0);
	mapping_free(cfg);
}

/* SectionConfig parse_config: what Proxmox warns about and drops. */
static void test_parse_lenient(void **state)
{
	struct mapping_cfg *cfg;
	const struct pci_mapping *m;

	(void)state;
	/* a header with more on the line: "ignore config line" */
	cfg = parse("gpu1 x\n" A);
	assert_int_equal(cfg->n, 0);
	assert_true(warned(cfg, "pci.cfg:1:", "ignore config line", NULL));
	assert_true(warned(cfg, "pci.cfg:2:", NULL));
	mapping_free(cfg);

	/* an indented line after the empty line that ended the section */
	cfg = parse("gpu1\n" A "\n\tdescription orphan\n");
	assert_int_equal(cfg->n, 1);
	assert_null(cfg->v[0].description);
	assert_true(warned(cfg, "pci.cfg:4:", "ignore config line", NULL));
	mapping_free(cfg);

	/* a header right after a section (no empty line) starts nothing: its
	 * map lines belong to the section before, as in Proxmox */
	cfg = parse("gpu1\n" A "gpu2\n" B);
	assert_int_equal(cfg->n, 1);
	assert_null(mapping_find(cfg, "gpu2"));
	assert_int_equal(mapping_find(cfg, "gpu1")->n_maps, 2);
	assert_true(warned(cfg, "pci.cfg:3:", "gpu2", NULL));
	mapping_free(cfg);

	/* Perl's false line "0" ends a section like an empty line */
	cfg = parse("gpu1\n" A "0\ngpu2\n" B);
	assert_int_equal(cfg->n, 2);
	mapping_free(cfg);

	/* an invalid id skips the whole section, nothing else */
	cfg = parse("1gpu\n" A "\ng\n" A "\ngpu.1\n" A "\nok\n" B);
	assert_int_equal(cfg->n, 1);
	assert_non_null(mapping_find(cfg, "ok"));
	assert_true(warned(cfg, "pci.cfg:1:", "skip section '1gpu'", NULL));
	assert_true(warned(cfg, "pci.cfg:4:", "skip section 'g'", NULL));
	assert_true(warned(cfg, "pci.cfg:7:", "skip section 'gpu.1'", NULL));
	mapping_free(cfg);

	/* a section given again replaces the earlier one */
	cfg = parse("gpu1\n" A "\tdescription old\n\ngpu1\n" B);
	assert_int_equal(cfg->n, 1);
	m = mapping_find(cfg, "gpu1");
	assert_int_equal(m->line, 5);
	assert_int_equal(m->n_maps, 1);
	assert_string_equal(m->maps[0].node, "pve2");
	assert_null(m->description);
	assert_true(warned(cfg, "defined again", "line 1", NULL));
	mapping_free(cfg);

	/* a section without any valid map is dropped (map is required), and so
	 * is an earlier section of the same id */
	cfg = parse("gpu1\n" A "\ngpu1\n\tdescription x\n\nempty\n");
	assert_int_equal(cfg->n, 0);
	assert_true(warned(cfg, "pci.cfg:4:", "skip section 'gpu1'",
			   "missing value for required option 'map'", NULL));
	assert_true(warned(cfg, "pci.cfg:7:", "skip section 'empty'", NULL));
	mapping_free(cfg);

	/* keys other than map: the first wins; a bare boolean is 1; booleans
	 * are 1 or 0 only (JSONSchema); unknown keys are dropped */
	cfg = parse("gpu1\n" A "\tdescription a\n\tdescription b\n\tmdev\n\tmdev 0\n"
		    "\tlive-migration-capable yes\n\tcolour red\n");
	m = mapping_find(cfg, "gpu1");
	assert_non_null(m);
	assert_string_equal(m->description, "a");
	assert_true(m->mdev);
	assert_false(m->live_migration);
	assert_true(warned(cfg, "pci.cfg:4:", "'description' given twice", NULL));
	assert_true(warned(cfg, "pci.cfg:6:", "'mdev' given twice", NULL));
	assert_true(warned(cfg, "pci.cfg:7:", "not a boolean", NULL));
	assert_true(warned(cfg, "pci.cfg:8:", "unknown key 'colour'", NULL));
	mapping_free(cfg);
	cfg = parse("gpu1\n" A "\tmdev maybe\n");
	assert_false(mapping_find(cfg, "gpu1")->mdev);
	assert_true(warned(cfg, "pci.cfg:3:", "mdev 'maybe'", NULL));
	mapping_free(cfg);

	/* bad map entries are dropped one by one, the good ones stay */
	cfg = parse("gpu1\n"
		    "\tmap\n"
		    "\tmap path=0000:01:00.0,id=10de:1f08\n"
		    "\tmap node=pve1,id=10de:1f08\n"
		    "\tmap node=pve1,path=0000:01:00.0\n"
		    "\tmap node=pve1,path=01:00.0,id=10de:1f08\n"
		    "\tmap node=pve1,path=0000:01:00.0;,id=10de:1f08\n"
		    "\tmap node=pve1,path=0000:0A:00.0,id=10de:1f08\n"
		    "\tmap node=pve1,path=0000:01:00.0,id=10de1f08\n"
		    "\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,subsystem-id=x\n"
		    "\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=one\n"
		    "\tmap node=pve_1,path=0000:01:00.0,id=10de:1f08\n"
		    "\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,colour=red\n"
		    "\tmap node=pve1,node=pve2,path=0000:01:00.0,id=10de:1f08\n"
		    "\tmap pve1\n"
		    "\tmap node=pve1,path=0000:03:00.0,id=8086:10d3,iommugroup=-1\n");
	m = mapping_find(cfg, "gpu1");
	assert_non_null(m);
	assert_int_equal(m->n_maps, 1);
	assert_int_equal(m->maps[0].line, 16);
	assert_true(warned(cfg, "pci.cfg:2:", "without a value", NULL));
	assert_true(warned(cfg, "pci.cfg:3:", "missing node", "dropped", NULL));
	assert_true(warned(cfg, "pci.cfg:4:", "missing path", NULL));
	assert_true(warned(cfg, "pci.cfg:5:", "missing id", NULL));
	assert_true(warned(cfg, "pci.cfg:6:", "'01:00.0'", "domain", NULL));
	assert_true(warned(cfg, "pci.cfg:7:", "path", NULL));
	assert_true(warned(cfg, "pci.cfg:8:", "path", NULL));
	assert_true(warned(cfg, "pci.cfg:9:", "id '10de1f08'", NULL));
	assert_true(warned(cfg, "pci.cfg:10:", "subsystem-id", NULL));
	assert_true(warned(cfg, "pci.cfg:11:", "iommugroup", NULL));
	assert_true(warned(cfg, "pci.cfg:12:", "node", NULL));
	assert_true(warned(cfg, "pci.cfg:13:", "unknown key 'colour'", NULL));
	assert_true(warned(cfg, "pci.cfg:14:", "duplicate key 'node'", NULL));
	assert_true(warned(cfg, "pci.cfg:15:", "without a key", NULL));
	mapping_free(cfg);

	/* a NUL byte: that line is ignored */
	{
		static const char text[] = "gpu1\n" A "\tdescription a\0b\n";
		struct mapping_cfg *c2 = NULL;

		assert_int_equal(mapping_parse(text, sizeof(text) - 1, &c2, NULL), 0);
		assert_int_equal(c2->n, 1);
		assert_null(c2->v[0].description);
		assert_true(warned(c2, "pci.cfg:3:", "NUL", NULL));
		mapping_free(c2);
	}
}

/* A fake host: node pve1 with two identical GPUs (the audio functions
 * have their own device id), a NIC with and one without IOMMU group, and an
 * iGPU that offers mdev types. */
static struct fx *setup(void)
{
	struct fx *fx = fx_new(NULL);

	assert_int_equal(
	    fx_spec(
		fx,
		"dev 0000:01:00.0 vendor=10de device=1f08 subsys=3842:2167 group=13\n"
		"dev 0000:01:00.1 vendor=10de device=10f9 subsys=3842:2167 group=13\n"
		"dev 0000:02:00.0 vendor=10de device=1f08 subsys=3842:2167 group=14\n"
		"dev 0000:02:00.1 vendor=10de device=10f9 subsys=3842:2167 group=14\n"
		"dev 0000:03:00.0 vendor=8086 device=10d3 group=15\n"
		"dev 0000:04:00.0 vendor=8086 device=10d3 nogroup\n"
		"dev 0000:00:02.0 vendor=8086 device=3e92 subsys=8086:2212 group=0 mdev\n"),
	    0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	return fx;
}

/* mapping_alternatives of the file's first mapping as hostpci1 */
static int alts(const char *cfgtext, struct strv **out, size_t *n, char **err)
{
	struct mapping_cfg *cfg = parse(cfgtext);
	struct strv present = {0};
	int r;

	assert_int_equal(inventory_list(&present), 0);
	r = mapping_alternatives(cfg->n ? &cfg->v[0] : NULL, "gpu", 1, &present, out, n,
				 err);
	strv_clear(&present);
	mapping_free(cfg);
	return r;
}

static void alts_free(struct strv *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strv_clear(&a[i]);
	free(a);
}

/* Expect "PCI device mapping invalid (hardware probably changed)" and words. */
static void invalid(const char *text, ...)
{
	struct strv *a = NULL;
	size_t n = 9;
	char *err = NULL;
	va_list ap;

	assert_int_equal(alts(text, &a, &n, &err), -EINVAL);
	assert_null(a);
	assert_int_equal(n, 0);
	if (!strstr(err,
		    "hostpci1: PCI device mapping invalid (hardware probably changed): "))
		fail_msg("error '%s' is not about an invalid mapping", err);
	va_start(ap, text);
	assert_err_has(err, ap);
	va_end(ap);
}

static void valid(const char *text, size_t n_alts, size_t n_first)
{
	struct strv *a = NULL;
	size_t n = 0;
	char *err = NULL;

	if (alts(text, &a, &n, &err) != 0)
		fail_msg("'%s' should be valid: %s", text, err);
	assert_int_equal(n, n_alts);
	assert_int_equal(a[0].n, n_first);
	alts_free(a, n);
}

#define GPU1 "gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=13"
#define SUB ",subsystem-id=3842:2167"

static void test_assert_valid(void **state)
{
	struct fx *fx = setup();

	(void)state;
	valid(GPU1 SUB "\n", 1, 1);
	/* vendor:device, in Proxmox's words: expected != configured */
	invalid("gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:2204,iommugroup=13" SUB
		"\n",
		"'id' does not match for 'gpu' (10de:1f08 != 10de:2204)", "0000:01:00.0",
		"line 2", NULL);
	/* compared as text: uppercase differs */
	invalid("gpu\n\tmap node=pve1,path=0000:01:00.0,id=10DE:1F08,iommugroup=13" SUB
		"\n",
		"'id' does not match", "lowercase", NULL);
	/* ids on EVERY path: the audio function has another device id */
	invalid("gpu\n\tmap node=pve1,path=0000:01:00.0;0000:01:00.1,id=10de:1f08,"
		"iommugroup=13" SUB "\n",
		"'id' does not match for 'gpu' (10de:10f9 != 10de:1f08)", "0000:01:00.1",
		NULL);
	invalid("gpu\n\tmap node=pve1,path=0000:01:00.0;0000:01:00.7,id=10de:1f08" SUB
		",iommugroup=13\n",
		"pci device '0000:01:00.7' not found", NULL);
	/* subsystem ids: compared on every path, and required when sysfs has them */
	invalid(GPU1 ",subsystem-id=3842:3000\n",
		"'subsystem-id' does not match for 'gpu' (3842:2167 != 3842:3000)", NULL);
	invalid(GPU1 "\n",
		"missing expected property 'subsystem-id' for device '0000:01:00.0'",
		NULL);
	/* the IOMMU group of the first path, required when sysfs has one */
	invalid("gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=14" SUB
		"\n",
		"'iommugroup' does not match for 'gpu' (13 != 14)", NULL);
	invalid("gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08" SUB "\n",
		"missing expected property 'iommugroup' for device '0000:01:00.0'", NULL);
	invalid("gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=013" SUB
		"\n",
		"'iommugroup' does not match for 'gpu' (13 != 013)", NULL);
	/* ... but only of the first path */
	valid("gpu\n\tmap node=pve1,path=0000:01:00.0;0000:02:00.0,id=10de:1f08,"
	      "iommugroup=13" SUB "\n",
	      1, 2);
	/* a device without IOMMU group: the mapping must not name one */
	valid(
	    "gpu\n\tmap node=pve1,path=0000:04:00.0,id=8086:10d3,subsystem-id=0000:0000\n",
	    1, 1);
	invalid(
	    "gpu\n\tmap node=pve1,path=0000:04:00.0,id=8086:10d3,subsystem-id=0000:0000,"
	    "iommugroup=4\n",
	    "unexpected property 'iommugroup' configured for device '0000:04:00.0'",
	    NULL);
	/* a path without function is checked as .0 and takes every function */
	valid("gpu\n\tmap node=pve1,path=0000:01:00,id=10de:1f08,iommugroup=13" SUB "\n",
	      1, 2);
	invalid("gpu\n\tmap node=pve1,path=0000:01:00,id=10de:10f9,iommugroup=13" SUB
		"\n",
		"(10de:1f08 != 10de:10f9)", "0000:01:00.0", NULL);
	invalid("gpu\n\tmap node=pve1,path=0000:07:00,id=10de:1f08,iommugroup=13" SUB
		"\n",
		"pci device '0000:07:00.0' not found", NULL);
	/* a 5-digit domain is a valid map path but no device Proxmox finds */
	invalid("gpu\n\tmap node=pve1,path=00000:01:00.0,id=10de:1f08,iommugroup=13" SUB
		"\n",
		"pci device '00000:01:00.0' not found", NULL);
	/* the mdev flag must match whether the device offers mdev types */
	valid("gpu\n\tmap node=pve1,path=0000:00:02.0,id=8086:3e92,iommugroup=0,"
	      "subsystem-id=8086:2212\n\tmdev 1\n",
	      1, 1);
	invalid("gpu\n\tmap node=pve1,path=0000:00:02.0,id=8086:3e92,iommugroup=0,"
		"subsystem-id=8086:2212\n",
		"'mdev' does not match for 'gpu' (1 != 0)", "offers mediated", NULL);
	invalid(GPU1 SUB "\n\tmdev 1\n", "'mdev' does not match for 'gpu' (0 != 1)",
		"offers no mediated", NULL);
	/* every entry of this node is validated, even when the first would do;
	 * other nodes' entries are not */
	invalid("gpu\n"
		"\tmap node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=13" SUB "\n"
		"\tmap node=pve2,path=0000:08:00.0,id=dead:beef\n"
		"\tmap node=pve1,path=0000:02:00.0,id=10de:1f08,iommugroup=99" SUB "\n",
		"(14 != 99)", "line 4", NULL);
	valid("gpu\n"
	      "\tmap node=pve2,path=0000:08:00.0,id=dead:beef\n"
	      "\tmap node=pve1,path=0000:01:00,id=10de:1f08,iommugroup=13" SUB "\n"
	      "\tmap node=pve1,path=0000:02:00,id=10de:1f08,iommugroup=14" SUB "\n",
	      2, 2);
	host_cleanup();
	fx_free(fx, 0);
}

static void test_not_found(void **state)
{
	struct fx *fx = setup();
	struct strv *a = NULL, present = {0};
	size_t n = 0;
	char *err = NULL;

	(void)state;
	/* no such mapping */
	assert_int_equal(alts("", &a, &n, &err), -ENOENT);
	assert_non_null(strstr(err, "hostpci1: PCI device mapping not found for 'gpu'"));
	free(err), err = NULL;
	/* no entry for this node */
	assert_int_equal(
	    alts("gpu\n\tmap node=pve2,path=0000:01:00.0,id=10de:1f08\n", &a, &n, &err),
	    -ENOENT);
	assert_non_null(strstr(err, "hostpci1: PCI device mapping not found for 'gpu'"));
	assert_non_null(strstr(err, "pve1"));
	free(err), err = NULL;
	/* valid, but nothing present matches the path */
	{
		struct mapping_cfg *cfg = parse(GPU1 SUB "\n");

		assert_int_equal(
		    mapping_alternatives(&cfg->v[0], "gpu", 1, &present, &a, &n, &err),
		    -ENODEV);
		assert_non_null(
		    strstr(err, "hostpci1: no PCI device found for '0000:01:00.0'"));
		free(err);
		mapping_free(cfg);
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
	assert_int_equal(fx_file(fx, "/etc/pve/mapping/pci.cfg", "gpu\n" A B), 0);
	assert_int_equal(mapping_read(&cfg, &err), 0);
	assert_int_equal(cfg->n, 1);
	assert_int_equal(cfg->v[0].n_maps, 2);
	mapping_free(cfg);
	/* a broken file is read leniently, not refused */
	assert_int_equal(fx_file(fx, "/etc/pve/mapping/pci.cfg", "gpu\n\tmap node=x\n"),
			 0);
	assert_int_equal(mapping_read(&cfg, &err), 0);
	assert_null(err);
	assert_int_equal(cfg->n, 0);
	assert_true(warned(cfg, "/etc/pve/mapping/pci.cfg:2:", NULL));
	mapping_free(cfg);
	host_cleanup();
	fx_free(fx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),	 cmocka_unit_test(test_parse_lenient),
	    cmocka_unit_test(test_assert_valid), cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
