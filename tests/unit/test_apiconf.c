// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The API's JSON answers (shapes as pve-manager and qemu-server return
 * them) turned into the structures the file parsers make: the same VM and
 * the same mappings as from the files, or an error naming the answer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "pve/apiconf.h"
#include "testutil.h"

#define WHERE "https://pve1:8006/api2/json/nodes/pve1/qemu/100/config?current=1"

static json_object *js(const char *text)
{
	json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	return o;
}

static void assert_same_hostpci(const struct hostpci *a, const struct hostpci *b)
{
	if (!a || !b) {
		assert_ptr_equal(a, b);
		return;
	}
	assert_int_equal(a->index, b->index);
	assert_int_equal(a->host.n, b->host.n);
	for (size_t i = 0; i < a->host.n; i++)
		assert_string_equal(a->host.v[i], b->host.v[i]);
	if (a->mapping || b->mapping)
		assert_string_equal(a->mapping, b->mapping);
	if (a->mdev || b->mdev)
		assert_string_equal(a->mdev, b->mdev);
	assert_int_equal(a->pcie, b->pcie);
	assert_int_equal(a->x_vga, b->x_vga);
	assert_int_equal(a->legacy_igd, b->legacy_igd);
	assert_int_equal(a->rombar, b->rombar);
	assert_int_equal(a->driver_keep, b->driver_keep);
}

/* The file and the API's answer for the same VM give the same struct vm. */
static void test_vm_same_as_file(void **state)
{
	static const char file[] =
	    "#Gaming VM\n"
	    "#vfiohook%3A rebind=never\n"
	    "boot: order=scsi0\n"
	    "cores: 4\n"
	    "hostpci0: mapping=gpu,pcie=1\n"
	    "hostpci1: 02:00,driver=keep\n"
	    "hostpci12: 0000:03:00.0;0000:03:00.1,x-vga=on,rombar=0\n"
	    "hugepages: 1024\n"
	    "memory: 8192\n"
	    "numa: 1\n"
	    "numa0: cpus=0-3,hostnodes=0,memory=8192,policy=bind\n"
	    "sockets: 1\n"
	    "affinity: 0-3\n"
	    "\n"
	    "[PENDING]\n"
	    "hostpci3: 04:00.0\n";
	/* as qemu-server returns it: integers as numbers, the description
	 * decoded with a trailing newline, digest added, keys in any order */
	static const char answer[] =
	    "{\"sockets\": 1, \"numa0\": \"cpus=0-3,hostnodes=0,memory=8192,policy=bind\","
	    " \"digest\": \"0a1b3c\", \"hostpci12\": "
	    "\"0000:03:00.0;0000:03:00.1,x-vga=on,rombar=0\","
	    " \"description\": \"Gaming VM\\nvfiohook: rebind=never\\n\", \"numa\": 1,"
	    " \"hostpci0\": \"mapping=gpu,pcie=1\", \"cores\": 4, \"boot\": \"order=scsi0\","
	    " \"memory\": \"8192\", \"hostpci1\": \"02:00,driver=keep\", \"hugepages\": "
	    "\"1024\", \"affinity\": \"0-3\", \"unused\": null}";
	struct vmconf *fc = NULL, *ac = NULL;
	struct vm *fv = NULL, *av = NULL;
	json_object *o = js(answer);
	char *err = NULL;

	(void)state;
	assert_int_equal(vmconf_parse(file, strlen(file), "/etc/pve/qemu-server/100.conf",
				      100, &fc, &err),
			 0);
	assert_int_equal(apiconf_vmconf(o, 100, WHERE, &ac, &err), 0);
	json_object_put(o);
	assert_string_equal(ac->path, WHERE);
	assert_string_equal(ac->description, fc->description);
	assert_null(vmconf_get(ac, "digest"));
	assert_null(vmconf_get(ac, "unused"));
	assert_string_equal(vmconf_get(ac, "cores")->value, "4");
	assert_int_equal(ac->n_lines, fc->n_lines);
	for (size_t i = 0; i < fc->n_lines; i++)
		assert_string_equal(vmconf_get(ac, fc->lines[i].key)->value,
				    fc->lines[i].value);
	assert_int_equal(vm_from_conf(fc, &fv, &err), 0);
	assert_int_equal(vm_from_conf(ac, &av, &err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(fv->hostpci); i++)
		assert_same_hostpci(fv->hostpci[i], av->hostpci[i]);
	assert_null(av->hostpci[3]); /* pending is not what runs now */
	assert_string_equal(av->hugepages, fv->hugepages);
	assert_int_equal(av->numa, fv->numa);
	assert_int_equal(av->numa_nodes[0].memory_mib, fv->numa_nodes[0].memory_mib);
	assert_int_equal(av->memory_mib, fv->memory_mib);
	assert_int_equal(av->cores, fv->cores);
	assert_string_equal(av->affinity, fv->affinity);
	vm_free(fv);
	vm_free(av);
}

static void expect_vm_bad(const char *answer, ...)
{
	json_object *o = js(answer);
	struct vmconf *c = (struct vmconf *)1;
	char *err = NULL;
	va_list ap;

	assert_int_equal(apiconf_vmconf(o, 100, WHERE, &c, &err), -EINVAL);
	assert_null(c);
	json_object_put(o);
	va_start(ap, answer);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_vm_values(void **state)
{
	struct vmconf *c = NULL;
	struct vm *vm = NULL;
	char *err = NULL;
	json_object *o;

	(void)state;
	/* booleans and doubles become the text the file would hold */
	o = js(
	    "{\"template\": true, \"cpulimit\": 0.5, \"name\": \"  x  \", \"tags\": \"\"}");
	assert_int_equal(apiconf_vmconf(o, 100, WHERE, &c, &err), 0);
	json_object_put(o);
	assert_string_equal(vmconf_get(c, "template")->value, "1");
	assert_string_equal(vmconf_get(c, "cpulimit")->value, "0.5");
	assert_string_equal(vmconf_get(c, "name")->value, "x");
	assert_null(vmconf_get(c, "tags")); /* a line without value is never written */
	assert_null(c->description);
	assert_int_equal(vm_from_conf(c, &vm, &err), 0);
	assert_true(vm->is_template);
	vm_free(vm);

	/* a value the file parser would refuse is refused the same way, with
	 * the URL in place of the file */
	o = js("{\"hostpci0\": \"02:00.0,rombar=maybe\"}");
	assert_int_equal(apiconf_vmconf(o, 100, WHERE, &c, &err), 0);
	json_object_put(o);
	assert_int_equal(vm_from_conf(c, &vm, &err), -EINVAL);
	assert_non_null(strstr(err, WHERE));
	assert_non_null(strstr(err, "hostpci0"));
	assert_non_null(strstr(err, "rombar"));
	free(err);
	err = NULL;

	expect_vm_bad("[1, 2]", WHERE, "JSON object", "array", NULL);
	{
		struct vmconf *n = NULL;

		assert_int_equal(apiconf_vmconf(NULL, 100, WHERE, &n, &err), -EINVAL);
		assert_non_null(strstr(err, "got null"));
		free(err);
		err = NULL;
	}
	expect_vm_bad("{\"hostpci0\": {\"host\": \"02:00.0\"}}", "hostpci0",
		      "string or number", "object", NULL);
	expect_vm_bad("{\"hostpci0\": [\"02:00.0\"]}", "hostpci0", "array", NULL);
	expect_vm_bad("{\"Hostpci0\": \"02:00.0\"}", "'Hostpci0' is not a config key",
		      NULL);
	expect_vm_bad("{\"hostpci0\": \"02:00.0\\nhostpci1: 03:00.0\"}", "line break",
		      NULL);
}

static void test_mappings_same_as_file(void **state)
{
	static const char file[] =
	    "gpu\n"
	    "\tmap node=pve2,path=0000:05:00.0,id=10de:1e87\n"
	    "\tmap node=pve1,path=0000:01:00.0;0000:01:00.1,id=10de:1e87,iommugroup=13,"
	    "subsystem-id=3842:2167\n"
	    "\tdescription my GPU\n"
	    "\tmdev 1\n"
	    "\n"
	    "nic\n"
	    "\tmap node=pve1,path=0000:02:00.0,id=8086:1533\n";
	/* GET /cluster/mapping/pci: hash order, digest and type added */
	static const char answer[] =
	    "[{\"id\": \"nic\", \"type\": \"pci\", \"digest\": \"ff\", \"map\": "
	    "[\"node=pve1,path=0000:02:00.0,id=8086:1533\"]},"
	    " {\"id\": \"gpu\", \"type\": \"pci\", \"digest\": \"ff\", \"mdev\": 1,"
	    " \"description\": \"my GPU\", \"map\": [\"node=pve2,path=0000:05:00.0,id=10de:1e87\","
	    " \"node=pve1,path=0000:01:00.0;0000:01:00.1,id=10de:1e87,iommugroup=13,"
	    "subsystem-id=3842:2167\"], \"checks\": [{\"severity\": \"warning\", \"message\": "
	    "\"x\"}]}]";
	struct mapping_cfg *f = NULL, *a = NULL;
	json_object *o = js(answer);
	char *err = NULL;

	(void)state;
	assert_int_equal(mapping_parse(file, strlen(file), &f, &err), 0);
	assert_int_equal(apiconf_mappings(o, "/cluster/mapping/pci", &a, &err), 0);
	json_object_put(o);
	assert_int_equal(a->n, f->n);
	for (size_t i = 0; i < f->n; i++) {
		const struct pci_mapping *fm = &f->v[i], *am = mapping_find(a, fm->name);

		assert_non_null(am);
		assert_int_equal(am->mdev, fm->mdev);
		assert_int_equal(am->n_maps, fm->n_maps);
		if (fm->description)
			assert_string_equal(am->description, fm->description);
		for (size_t k = 0; k < fm->n_maps; k++) {
			const struct pci_map_entry *fe = &fm->maps[k], *ae = &am->maps[k];

			assert_string_equal(ae->node, fe->node);
			assert_string_equal(ae->id, fe->id);
			if (fe->iommugroup)
				assert_string_equal(ae->iommugroup, fe->iommugroup);
			else
				assert_null(ae->iommugroup);
			assert_int_equal(ae->path.n, fe->path.n);
			for (size_t p = 0; p < fe->path.n; p++)
				assert_string_equal(ae->path.v[p], fe->path.v[p]);
			if (fe->subsystem_id)
				assert_string_equal(ae->subsystem_id, fe->subsystem_id);
			else
				assert_null(ae->subsystem_id);
		}
	}
	mapping_free(f);
	mapping_free(a);
}

static void expect_maps_bad(const char *answer, ...)
{
	json_object *o = js(answer);
	struct mapping_cfg *m = (struct mapping_cfg *)1;
	char *err = NULL;
	va_list ap;

	assert_true(apiconf_mappings(o, "/cluster/mapping/pci", &m, &err) < 0);
	json_object_put(o);
	va_start(ap, answer);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_mappings_values(void **state)
{
	struct mapping_cfg *m = NULL;
	char *err = NULL;
	json_object *o;

	(void)state;
	/* an empty list; a mapping without map; a multi-line description */
	o = js("[]");
	assert_int_equal(apiconf_mappings(o, "x", &m, &err), 0);
	assert_int_equal(m->n, 0);
	mapping_free(m);
	json_object_put(o);
	o = js("[{\"id\": \"ab\", \"description\": \"two\\nlines\", \"mdev\": true,"
	       " \"map\": [\"node=pve1,path=0000:02:00.0,id=8086:1533\"]}]");
	assert_int_equal(apiconf_mappings(o, "x", &m, &err), 0);
	assert_string_equal(m->v[0].description, "two lines");
	assert_true(m->v[0].mdev);
	assert_int_equal(m->v[0].n_maps, 1);
	mapping_free(m);
	json_object_put(o);
	/* as SectionConfig reads pci.cfg: a mapping without a valid map entry
	 * is dropped with a warning, it does not fail the others */
	o = js(
	    "[{\"id\": \"ab\", \"map\": [\"node=pve1,path=01:00.0,id=10de:1e87\"]},"
	    " {\"id\": \"cd\", \"map\": [\"node=pve1,path=0000:02:00.0,id=8086:1533\"]}]");
	assert_int_equal(apiconf_mappings(o, "x", &m, &err), 0);
	assert_null(mapping_find(m, "ab"));
	assert_non_null(mapping_find(m, "cd"));
	assert_true(m->warnings.n > 0);
	mapping_free(m);
	json_object_put(o);

	expect_maps_bad("{}", "/cluster/mapping/pci", "array", NULL);
	expect_maps_bad("[{\"map\": []}]", "entry 0", "\"id\"", NULL);
	expect_maps_bad("[{\"id\": \"a b\"}]", "'a b' is not a mapping id", NULL);
	expect_maps_bad("[{\"id\": \"ab\", \"map\": [\"node=pve1\\n\\tmap x\"]}]",
			"mapping 'ab'", "line break", NULL);
	expect_maps_bad("[{\"id\": \"ab\", \"map\": [{\"node\": \"pve1\"}]}]",
			"mapping 'ab'", "string or number", NULL);
}

static void test_vms(void **state)
{
	struct api_vms v = {0};
	char *err = NULL;
	json_object *o = js(
	    "[{\"id\": \"qemu/101\", \"type\": \"qemu\", \"vmid\": 101, \"node\": \"pve2\","
	    " \"name\": \"b\", \"status\": \"stopped\", \"template\": 1},"
	    " {\"id\": \"lxc/200\", \"type\": \"lxc\", \"vmid\": 200, \"node\": \"pve1\"},"
	    " {\"id\": \"node/pve1\", \"type\": \"node\", \"node\": \"pve1\"},"
	    " {\"id\": \"qemu/100\", \"type\": \"qemu\", \"vmid\": \"100\", \"node\": \"pve1\","
	    " \"status\": \"running\"}]");

	(void)state;
	assert_int_equal(apiconf_vms(o, "r", &v, &err), 0);
	json_object_put(o);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.v[0].vmid, 100);
	assert_string_equal(v.v[0].node, "pve1");
	assert_null(v.v[0].name);
	assert_string_equal(v.v[0].status, "running");
	assert_false(v.v[0].is_template);
	assert_int_equal(v.v[1].vmid, 101);
	assert_true(v.v[1].is_template);
	api_vms_clear(&v);

	o = js("[{\"type\": \"qemu\", \"vmid\": 100, \"node\": \"../x\"}]");
	assert_int_equal(apiconf_vms(o, "r", &v, &err), -EINVAL);
	json_object_put(o);
	assert_non_null(strstr(err, "valid vmid and node"));
	free(err);
	err = NULL;
	o = js("[{\"type\": \"qemu\", \"vmid\": 99, \"node\": \"pve1\"}]");
	assert_int_equal(apiconf_vms(o, "r", &v, &err), -EINVAL);
	json_object_put(o);
	free(err);
	err = NULL;
	o = js("{}");
	assert_int_equal(apiconf_vms(o, "r", &v, &err), -EINVAL);
	json_object_put(o);
	free(err);
}

/* GET /nodes/{node}/qemu: entries without type or node, all of that node */
static void test_node_vms(void **state)
{
	struct api_vms v = {0};
	char *err = NULL;
	json_object *o =
	    js("[{\"vmid\": 102, \"name\": \"b\", \"status\": \"stopped\"},"
	       " {\"vmid\": \"100\", \"status\": \"running\", \"template\": 1}]");

	(void)state;
	assert_int_equal(apiconf_node_vms(o, "pve1", "r", &v, &err), 0);
	json_object_put(o);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.v[0].vmid, 100);
	assert_string_equal(v.v[0].node, "pve1");
	assert_true(v.v[0].is_template);
	assert_int_equal(v.v[1].vmid, 102);
	assert_string_equal(v.v[1].name, "b");
	api_vms_clear(&v);

	o = js("[{\"name\": \"no vmid\"}]");
	assert_int_equal(apiconf_node_vms(o, "pve1", "r", &v, &err), -EINVAL);
	assert_non_null(strstr(err, "r: entry 0"));
	free(err);
	err = NULL;
	assert_int_equal(apiconf_node_vms(o, "../x", "r", &v, &err), -EINVAL);
	json_object_put(o);
	free(err);
	err = NULL;
	o = js("{\"vmid\": 100}");
	assert_int_equal(apiconf_node_vms(o, "pve1", "r", &v, &err), -EINVAL);
	json_object_put(o);
	assert_non_null(strstr(err, "expected a JSON array of guests"));
	free(err);
}

static void ha(const char *res, const char *groups, const char *rules, unsigned vmid,
	       bool managed, bool restricted, const char *nodes)
{
	json_object *r = js(res), *g = groups ? js(groups) : NULL,
		    *u = rules ? js(rules) : NULL;
	struct strv n = {0};
	bool m = !managed, x = !restricted;
	char *err = NULL, joined[256] = "";

	assert_int_equal(apiconf_ha_nodes(r, g, u, vmid, &m, &x, &n, &err), 0);
	assert_int_equal(m, managed);
	assert_int_equal(x, restricted);
	for (size_t i = 0; i < n.n; i++) {
		strcat(joined, i ? " " : "");
		strcat(joined, n.v[i]);
	}
	assert_string_equal(joined, nodes);
	strv_clear(&n);
	json_object_put(r);
	json_object_put(g);
	json_object_put(u);
}

static void test_ha(void **state)
{
	static const char res[] =
	    "[{\"sid\": \"vm:101\", \"group\": \"g\", \"state\": \"started\"},"
	    " {\"sid\": \"vm:102\", \"state\": \"started\"},"
	    " {\"sid\": \"ct:100\", \"group\": \"g\"}]";
	static const char groups[] =
	    "[{\"group\": \"g\", \"nodes\": \"pve3:1,pve2:2\", \"restricted\": 1},"
	    " {\"group\": \"h\", \"nodes\": \"pve9\"}]";
	/* PVE 9: groups became node-affinity rules */
	static const char rules[] =
	    "[{\"rule\": \"r1\", \"type\": \"node-affinity\", \"resources\": \"vm:102,vm:103\","
	    " \"nodes\": \"pve1,pve4:3\", \"strict\": 1},"
	    " {\"rule\": \"r2\", \"type\": \"node-affinity\", \"resources\": \"vm:103\","
	    " \"nodes\": \"pve5\", \"disable\": 1},"
	    " {\"rule\": \"r3\", \"type\": \"resource-affinity\", \"resources\": \"vm:102\","
	    " \"affinity\": \"negative\"}]";

	(void)state;
	ha(res, groups, NULL, 100, false, false, ""); /* ct:100 is not vm:100 */
	ha(res, groups, NULL, 101, true, true, "pve2 pve3");
	ha("[{\"sid\": \"vm:101\", \"group\": \"h\"}]", groups, NULL, 101, true, false,
	   "pve9"); /* an unrestricted group only prefers */
	ha(res, groups, NULL, 102, true, false, ""); /* HA without group: any node */
	ha(res, NULL, rules, 102, true, true, "pve1 pve4");
	ha("[{\"sid\": \"vm:103\"}]", NULL, rules, 103, true, true, "pve1 pve4");
	ha(res, "{\"data\": 1}", "[]", 101, true, false, "");
}

static void test_small(void **state)
{
	json_object *c =
	    js("[{\"volid\": \"local:snippets/vfiohook\", \"format\": \"snippet\"},"
	       " {\"volid\": 3}, 7]");
	json_object *n = js("[{\"type\": \"cluster\", \"name\": \"c1\"},"
			    " {\"type\": \"node\", \"name\": \"pve2\", \"online\": 1},"
			    " {\"type\": \"node\", \"name\": \"pve1\"}]");
	json_object *n2 =
	    js("[{\"node\": \"pve2\", \"status\": \"online\", \"type\": \"node\"},"
	       " {\"node\": \"pve1\"}, {\"node\": \"bad name\"}]");
	struct strv nodes = {0};
	char *err = NULL;

	(void)state;
	assert_true(apiconf_has_volume(c, "local:snippets/vfiohook"));
	assert_false(apiconf_has_volume(c, "local:snippets/other"));
	assert_false(apiconf_has_volume(n, "local:snippets/vfiohook"));
	assert_int_equal(apiconf_nodes(n, "s", &nodes, &err), 0);
	assert_int_equal(nodes.n, 2);
	assert_string_equal(nodes.v[0], "pve1");
	strv_clear(&nodes);
	assert_int_equal(apiconf_nodes(n2, "s", &nodes, &err), 0);
	assert_int_equal(nodes.n, 2);
	assert_string_equal(nodes.v[1], "pve2");
	strv_clear(&nodes);
	assert_int_equal(apiconf_nodes(c, "s", &nodes, &err), 0);
	assert_int_equal(nodes.n, 0);
	json_object_put(c);
	json_object_put(n);
	json_object_put(n2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vm_same_as_file),
	    cmocka_unit_test(test_vm_values),
	    cmocka_unit_test(test_mappings_same_as_file),
	    cmocka_unit_test(test_mappings_values),
	    cmocka_unit_test(test_vms),
	    cmocka_unit_test(test_node_vms),
	    cmocka_unit_test(test_ha),
	    cmocka_unit_test(test_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
