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
#include "pve/hostpci.h"
#include "pve/pveconf.h"
#include "testutil.h"

#define CONF "/etc/pve/qemu-server/100.conf"

static struct vmconf *parse_ok(const char *text)
{
	struct vmconf *c = NULL;
	char *err = NULL;
	int r = vmconf_parse(text, CONF, 100, &c, &err);

	if (r < 0)
		fail_msg("unexpected error: %s", err);
	assert_null(err);
	return c;
}

/* Parse and expect an error containing each of the NULL-terminated words. */
static void parse_fails(const char *text, ...)
{
	struct vmconf *c = NULL;
	char *err = NULL;
	va_list ap;

	assert_int_equal(vmconf_parse(text, CONF, 100, &c, &err), -EINVAL);
	assert_null(c);
	va_start(ap, text);
	assert_err_has(err, ap);
	va_end(ap);
}

static struct vm *vm_ok(const char *text)
{
	struct vm *vm = NULL;
	char *err = NULL;

	if (vm_from_conf(parse_ok(text), &vm, &err) < 0)
		fail_msg("unexpected error: %s", err);
	return vm;
}

static void vm_fails(const char *text, ...)
{
	struct vm *vm = NULL;
	char *err = NULL;
	va_list ap;

	assert_int_equal(vm_from_conf(parse_ok(text), &vm, &err), -EINVAL);
	assert_null(vm);
	va_start(ap, text);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_lines_and_sections(void **state)
{
	struct vmconf *c;
	const struct pveconf_line *l;

	(void)state;
	c = parse_ok("boot: order=scsi0\n"
		     "\n"
		     "   \t\n"
		     "cores: 4\n"
		     "hostpci0: 0000:01:00,pcie=1\n"
		     "memory:   8192   \n"
		     "scsi0: local-lvm:vm-100-disk-0,size=32G\n"
		     "vga-x: none\n"
		     "numa0: cpus=0-3,memory=4096\n"
		     "[PENDING]\n"
		     "hostpci1: 02:00.0\n"
		     "cores: 8\n"
		     "[snap1]\n"
		     "hostpci0: 03:00.0\n"
		     "this is not parsed at all\n");
	assert_int_equal(c->vmid, 100);
	assert_string_equal(c->path, CONF);
	assert_int_equal(c->n_lines, 7);
	assert_null(c->description);
	assert_string_equal(c->lines[0].key, "boot");
	assert_int_equal(c->lines[1].line, 4);
	l = vmconf_get(c, "memory");
	assert_non_null(l);
	assert_string_equal(l->value, "8192"); /* trimmed */
	assert_int_equal(l->line, 6);
	assert_string_equal(vmconf_get(c, "hostpci0")->value, "0000:01:00,pcie=1");
	assert_string_equal(vmconf_get(c, "cores")->value, "4"); /* not the pending 8 */
	assert_null(vmconf_get(c, "hostpci1"));			 /* only in [PENDING] */
	assert_non_null(vmconf_get(c, "vga-x"));
	assert_string_equal(vmconf_get(c, "numa0")->value, "cpus=0-3,memory=4096");
	assert_null(vmconf_get(c, "nope"));
	vmconf_free(c);

	/* special sections and snapshots end the main section too */
	c = parse_ok("cores: 2\n[special:cloudinit]\nipconfig0: ip=dhcp\n");
	assert_int_equal(c->n_lines, 1);
	vmconf_free(c);
	c = parse_ok("cores: 2\n[special:fleecing]  \nfleecing0: x\n");
	assert_int_equal(c->n_lines, 1);
	vmconf_free(c);
	/* CRLF line ends: the value is trimmed */
	c = parse_ok("cores: 2\r\nsockets: 1\r\n");
	assert_string_equal(vmconf_get(c, "cores")->value, "2");
	vmconf_free(c);
	/* empty text and no final newline */
	c = parse_ok("");
	assert_int_equal(c->n_lines, 0);
	vmconf_free(c);
	c = parse_ok("cores: 3");
	assert_string_equal(vmconf_get(c, "cores")->value, "3");
	vmconf_free(c);
	vmconf_free(NULL);
}

static void test_description(void **state)
{
	struct vmconf *c;

	(void)state;
	c = parse_ok("#GPU VM%3A passthrough\n"
		     "#vfiohook%3A steal=force\n"
		     "#\n"
		     "cores: 2\n");
	assert_string_equal(c->description, "GPU VM: passthrough\nvfiohook: steal=force");
	assert_int_equal(c->n_lines, 1);
	vmconf_free(c);
	/* bad escapes stay; %00 would cut the string and stays too */
	c = parse_ok("#100%25 %zz %4 %00 end\ncores: 1\n");
	assert_string_equal(c->description, "100% %zz %4 %00 end");
	vmconf_free(c);
	/* the description of a snapshot is not the VM's */
	c = parse_ok("cores: 1\n[snap]\n#snapshot note\n");
	assert_null(c->description);
	vmconf_free(c);
	/* old style description key */
	c = parse_ok("description: hello%20world\ncores: 1\n");
	assert_string_equal(c->description, "hello world");
	assert_null(vmconf_get(c, "description"));
	vmconf_free(c);
}

static void test_bad_lines(void **state)
{
	(void)state;
	parse_fails("cores: 2\nCores: 4\n", CONF ":2:", "Cores", NULL);
	parse_fails("cores 2\n", CONF ":1:", "key: value", NULL);
	parse_fails("cores:\n", CONF ":1:", "no value", NULL);
	parse_fails("cores:    \n", CONF ":1:", "no value", NULL);
	parse_fails("1cores: 2\n", CONF ":1:", NULL);
	parse_fails("hostpci0x: 01:00.0\n", CONF ":1:", NULL);
	parse_fails("  cores: 2\n", CONF ":1:", NULL);
	parse_fails("cores: 2\n[bad section\n", CONF ":2:", "section", NULL);
	parse_fails("cores: 2\n[]\n", CONF ":2:", NULL);
	/* duplicate keys are refused: which one would Proxmox use? */
	parse_fails("hostpci0: 01:00.0\ncores: 1\nhostpci0: 02:00.0\n",
		    CONF ":3:", "hostpci0", "given twice", "line 1", NULL);
	/* a duplicate after the first section does not count */
	vmconf_free(parse_ok("hostpci0: 01:00.0\n[snap]\nhostpci0: 02:00.0\n"));
}

static void test_propstr(void **state)
{
	struct propkv *kv = NULL;
	size_t n = 0;
	char *err = NULL;

	(void)state;
	assert_int_equal(propstr_split("01:00.0,pcie=1,x-vga=on", "host", &kv, &n, &err),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(kv[0].key, "host");
	assert_string_equal(kv[0].value, "01:00.0");
	assert_string_equal(kv[1].key, "pcie");
	assert_string_equal(kv[2].value, "on");
	propkv_free(kv, n);
	/* empty parts are skipped, '=' inside a value is kept */
	assert_int_equal(propstr_split(",a=b=c,, ,d=1,", NULL, &kv, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(kv[0].key, "a");
	assert_string_equal(kv[0].value, "b=c");
	propkv_free(kv, n);
	assert_int_equal(propstr_split("", NULL, &kv, &n, &err), 0);
	assert_int_equal(n, 0);
	propkv_free(kv, n);

	assert_int_equal(propstr_split("a=1,a=2", NULL, &kv, &n, &err), -EINVAL);
	assert_non_null(strstr(err, "duplicate key 'a'"));
	free(err), err = NULL;
	assert_int_equal(propstr_split("01:00.0,02:00.0", "host", &kv, &n, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "duplicate key 'host': '02:00.0' has no key"));
	free(err), err = NULL;
	assert_int_equal(propstr_split("host=01:00.0,02:00.0", "host", &kv, &n, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "already '01:00.0'"));
	free(err), err = NULL;
	assert_int_equal(propstr_split("01:00.0,host=02:00.0", "host", &kv, &n, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "duplicate key 'host'"));
	free(err), err = NULL;
	assert_int_equal(propstr_split("x", NULL, &kv, &n, &err), -EINVAL);
	assert_non_null(strstr(err, "without a key"));
	free(err), err = NULL;
	assert_int_equal(propstr_split("=x", NULL, &kv, &n, &err), -EINVAL);
	assert_non_null(strstr(err, "missing key"));
	free(err), err = NULL;
	assert_int_equal(propstr_split("k=", NULL, &kv, &n, &err), -EINVAL);
	assert_non_null(strstr(err, "empty value"));
	free(err), err = NULL;
	assert_null(kv);
	assert_int_equal(n, 0);
}

static void test_bool(void **state)
{
	static const char *const yes[] = {"1",	"on",  "yes",  "true",
					  "ON", "Yes", "TRUE", "tRuE"};
	static const char *const no[] = {"0", "off", "no", "false", "OFF", "No", "FALSE"};
	static const char *const bad[] = {"",	    "2",     "y",  "n",
					  "enable", "truee", " 1", "01"};
	bool b;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		b = false;
		assert_int_equal(pve_parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		b = true;
		assert_int_equal(pve_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(pve_parse_bool(bad[i], &b), -EINVAL);
	assert_int_equal(pve_parse_bool(NULL, &b), -EINVAL);
}

static void test_vm_defaults_and_values(void **state)
{
	struct vm *vm;

	(void)state;
	vm = vm_ok("name: x\n");
	assert_int_equal(vm->vmid, 100);
	assert_false(vm->is_template);
	assert_int_equal(vm->sockets, 1);
	assert_int_equal(vm->cores, 1);
	assert_int_equal(vm->memory_mib, 512);
	assert_null(vm->hugepages);
	assert_null(vm->affinity);
	assert_null(vm->lock);
	assert_false(vm->numa);
	assert_false(vm->keephugepages);
	for (int i = 0; i < HOSTPCI_MAX; i++)
		assert_null(vm->hostpci[i]);
	vm_free(vm);

	vm = vm_ok(
	    "template: 1\nsockets: 2\ncores: 6\nmemory: 16384\nnuma: 1\n"
	    "hugepages: 1024\nkeephugepages: yes\naffinity: 0-5,8-13\nlock: backup\n"
	    "hostpci0: 01:00,pcie=1\nhostpci15: mapping=gpu1\n"
	    "numa0: cpus=0-5,memory=8192,hostnodes=0,policy=bind\n"
	    "numa1: cpus=6-11;14,hostnodes=1-2\n");
	assert_true(vm->is_template);
	assert_int_equal(vm->sockets, 2);
	assert_int_equal(vm->cores, 6);
	assert_int_equal(vm->memory_mib, 16384);
	assert_true(vm->numa);
	assert_string_equal(vm->hugepages, "1024");
	assert_true(vm->keephugepages);
	assert_string_equal(vm->affinity, "0-5,8-13");
	assert_string_equal(vm->lock, "backup");
	assert_non_null(vm->hostpci[0]);
	assert_int_equal(vm->hostpci[0]->index, 0);
	assert_int_equal(vm->hostpci[0]->line, 10);
	assert_int_equal(vm->hostpci[0]->pcie, 1);
	assert_string_equal(vm->hostpci[0]->host.v[0], "01:00");
	assert_int_equal(vm->hostpci[0]->devs.n, 0); /* not expanded */
	assert_string_equal(vm->hostpci[15]->mapping, "gpu1");
	assert_int_equal(vm->hostpci[15]->index, 15);
	assert_true(vm->numa_nodes[0].set);
	assert_string_equal(vm->numa_nodes[0].cpus, "0-5");
	assert_int_equal(vm->numa_nodes[0].memory_mib, 8192);
	assert_string_equal(vm->numa_nodes[0].hostnodes, "0");
	assert_string_equal(vm->numa_nodes[0].policy, "bind");
	assert_true(vm->numa_nodes[1].set);
	assert_string_equal(vm->numa_nodes[1].cpus, "6-11;14");
	assert_int_equal(vm->numa_nodes[1].memory_mib, 0);
	assert_string_equal(vm->numa_nodes[1].hostnodes, "1-2");
	assert_null(vm->numa_nodes[1].policy);
	assert_false(vm->numa_nodes[2].set);
	assert_non_null(vm->conf);
	vm_free(vm);
	vm_free(NULL);

	vm = vm_ok("memory: current=4096\ntemplate: 0\nhugepages: any\n");
	assert_int_equal(vm->memory_mib, 4096);
	assert_false(vm->is_template);
	assert_string_equal(vm->hugepages, "any");
	vm_free(vm);
	vm = vm_ok("hugepages: 2\nkeephugepages: 0\n");
	assert_string_equal(vm->hugepages, "2");
	vm_free(vm);
	/* snapshot hostpci entries are not the VM's */
	vm = vm_ok("cores: 1\n[snap]\nhostpci0: 01:00.0\nhugepages: 1024\n");
	assert_null(vm->hostpci[0]);
	assert_null(vm->hugepages);
	vm_free(vm);
}

static void test_vm_errors(void **state)
{
	(void)state;
	vm_fails("cores: 1\nhostpci0: 01:00.0,pcie=maybe\n", CONF ":2: hostpci0:", "pcie",
		 "maybe", "boolean", NULL);
	vm_fails("hostpci3: host=01:00.0,mapping=gpu\n", CONF ":1: hostpci3:", "both",
		 NULL);
	vm_fails("hostpci16: 01:00.0\n", CONF ":1: hostpci16:", "hostpci15", NULL);
	vm_fails("hugepages: 4\n", CONF ":1: hugepages:", "any, 2 or 1024", NULL);
	vm_fails("hugepages: 1G\n", "hugepages", NULL);
	vm_fails("hugepages: ANY\n", "hugepages", NULL);
	vm_fails("template: perhaps\n", "template", "boolean", NULL);
	vm_fails("keephugepages: 2\n", "keephugepages", NULL);
	vm_fails("numa: x\n", "numa", NULL);
	vm_fails("sockets: 0\n", "sockets", NULL);
	vm_fails("cores: two\n", "cores", NULL);
	vm_fails("memory: 8\n", "memory", "16", NULL);
	vm_fails("memory: 1G\n", "memory", NULL);
	vm_fails("memory: max=4096\n", "memory", "unknown key", NULL);
	/* affinity as PVE::CpuSet parses it */
	vm_fails("affinity: 5-3\n", CONF ":1: affinity:", "5-3", NULL);
	vm_fails("affinity: 0-3,,5\n", "affinity", NULL);
	vm_fails("affinity: a-b\n", "affinity", NULL);
	vm_fails("affinity: 0;1\n", "affinity", NULL);
	vm_fails("affinity: -1\n", "affinity", NULL);
	vm_fails("affinity: 8192\n", "affinity", "out of range", NULL);
	/* numaN */
	vm_fails("numa0: memory=1024\n", CONF ":1: numa0:", "cpus", NULL);
	vm_fails("numa0: cpus=0-3,policy=strict\n", "numa0", "policy", NULL);
	vm_fails("numa1: cpus=0-3,hostnodes=0,1\n", "numa1", NULL); /* ',' splits keys */
	vm_fails("numa0: cpus=0-3,mem=1\n", "numa0", "unknown key 'mem'", NULL);
	vm_fails("numa0: cpus=0-3,memory=lots\n", "numa0", "memory", NULL);
	vm_fails("numa0: 0-3\n", "numa0", "without a key", NULL);
	vm_fails("numa0: cpus=0-3;\n", "numa0", "cpus", NULL);
	vm_fails("numa8: cpus=0\n", "numa8", NULL);
}

static void test_affinity_ok(void **state)
{
	static const char *const ok[] = {"0",	"0-5,8-13", "1,3,5",
					 "2-2", " 0 - 3",   "8191"};
	struct vm *vm;
	char *text;

	(void)state;
	/* " 0 - 3" is not ok: the ranges must be digits; only leading and trailing
	 * white space of each part is allowed, which the config trims */
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		char *err = NULL;
		int r = pve_parse_cpuset(ok[i], &err);

		if (i == 4) {
			assert_int_equal(r, -EINVAL);
			free(err);
			continue;
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(pve_parse_cpuset("0, 2", NULL), 0);
	assert_int_equal(pve_parse_cpuset("", NULL), -EINVAL);
	{
		/* the same syntax as bits: 0-2, 9, 8191 */
		unsigned char bits[PVE_MAX_CPUID / 8] = {0};

		assert_int_equal(pve_cpuset_bits("0-2, 9,8191", bits, NULL), 0);
		assert_int_equal(bits[0], 0x07);
		assert_int_equal(bits[1], 0x02);
		assert_int_equal(bits[PVE_MAX_CPUID / 8 - 1], 0x80);
		assert_int_equal(pve_cpuset_bits("8192", bits, NULL), -EINVAL);
	}
	text = "affinity: 0-3, 8-11\n";
	vm = vm_ok(text);
	assert_string_equal(vm->affinity, "0-3, 8-11");
	vm_free(vm);
}

static void test_read_and_load(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct vmconf *c = NULL;
	struct vm *vm = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(
	    fx_file(fx, "/etc/pve/qemu-server/101.conf",
		    "#my vm\ncores: 4\nhostpci0: 0000:01:00.0;0000:01:00.1,x-vga=1\n"),
	    0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	assert_int_equal(vmconf_read(101, &c, &err), 0);
	assert_string_equal(c->path, "/etc/pve/qemu-server/101.conf");
	assert_string_equal(c->description, "my vm");
	vmconf_free(c);
	assert_int_equal(vm_load(101, &vm, &err), 0);
	assert_int_equal(vm->vmid, 101);
	assert_int_equal(vm->hostpci[0]->host.n, 2);
	assert_int_equal(vm->hostpci[0]->x_vga, 1);
	vm_free(vm);

	assert_int_equal(vmconf_read(100, &c, &err), -ENOENT);
	assert_non_null(strstr(
	    err,
	    "VM 100 has no config file /etc/pve/qemu-server/100.conf on this node (pve1)"));
	free(err), err = NULL;
	assert_int_equal(vm_load(100, &vm, &err), -ENOENT);
	free(err), err = NULL;

	assert_int_equal(
	    fx_file(fx, "/etc/pve/qemu-server/102.conf", "hostpci0: 01:00.0,rombar=2\n"),
	    0);
	assert_int_equal(vm_load(102, &vm, &err), -EINVAL);
	assert_non_null(
	    strstr(err, "/etc/pve/qemu-server/102.conf:1: hostpci0: rombar '2'"));
	free(err);
	host_cleanup();
	fx_free(fx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_and_sections),
	    cmocka_unit_test(test_description),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_propstr),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_vm_defaults_and_values),
	    cmocka_unit_test(test_vm_errors),
	    cmocka_unit_test(test_affinity_ok),
	    cmocka_unit_test(test_read_and_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
