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

static struct vmconf *parse_len(const char *text, size_t len)
{
	struct vmconf *c = NULL;
	char *err = NULL;

	assert_int_equal(vmconf_parse(text, len, CONF, 100, &c, &err), 0);
	assert_null(err);
	return c;
}

static struct vmconf *parse_ok(const char *text)
{
	return parse_len(text, strlen(text));
}

/* True when some warning of c contains every word of the NULL-terminated list. */
static bool warned(const struct strv *w, ...)
{
	for (size_t i = 0; i < w->n; i++) {
		const char *word;
		bool all = true;
		va_list ap;

		va_start(ap, w);
		while ((word = va_arg(ap, const char *)))
			all &= strstr(w->v[i], word) != NULL;
		va_end(ap);
		if (all)
			return true;
	}
	return false;
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

/* text's value of key fails its type: dropped as Proxmox drops it, with a
 * warning and vm_dropped() naming it, and the VM still made */
static struct vm *vm_drops(const char *text, const char *key, ...)
{
	struct vm *vm = vm_ok(text);
	const char *m = vm_dropped(vm, key);
	va_list ap;

	if (!m)
		fail_msg("'%s' of '%s' is not dropped", key, text);
	va_start(ap, key);
	assert_err_has(xstrdup(m), ap);
	va_end(ap);
	assert_true(vm->conf->warnings.n >= 1);
	assert_non_null(strstr(vm->conf->warnings.v[vm->conf->warnings.n - 1],
			       "Proxmox drops this value"));
	return vm;
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

/* parse_vm_config: what Proxmox warns about and skips, never a refusal */
static void test_lenient_lines(void **state)
{
	struct vmconf *c;

	(void)state;
	c = parse_ok("cores: 2\n"
		     "Cores: 4\n"	     /* 2: junk (uppercase key) */
		     "cores 2\n"	     /* 3: no ':' */
		     "memory:\n"	     /* 4: no value */
		     "sockets:    \n"	     /* 5: no value */
		     "1cores: 2\n"	     /* 6 */
		     "hostpci0x: 01:00.0\n"  /* 7 */
		     "  #indented comment\n" /* 8: not a description line */
		     "  cores: 5\n"	     /* 9: indented */
		     "[bad section\n"	     /* 10: junk, stays in main */
		     "delete: cores\n"	     /* 11: only in [PENDING] */
		     "name: vm\n");
	assert_int_equal(c->n_lines, 2);
	assert_string_equal(vmconf_get(c, "cores")->value, "2");
	assert_string_equal(vmconf_get(c, "name")->value, "vm");
	assert_null(vmconf_get(c, "memory"));
	assert_null(c->description);
	for (unsigned l = 2; l <= 11; l++) {
		char where[64];

		snprintf(where, sizeof(where), CONF ":%u:", l);
		if (!warned(&c->warnings, where, NULL))
			fail_msg("no warning for line %u", l);
	}
	assert_true(warned(&c->warnings, CONF ":4:", "'memory' has no value", NULL));
	assert_true(warned(&c->warnings, CONF ":11:", "only allowed in [PENDING]", NULL));
	vmconf_free(c);

	/* a key given again: the later line wins, with a warning */
	c = parse_ok("hostpci0: 01:00.0\ncores: 1\nhostpci0: 02:00.0\n");
	assert_string_equal(vmconf_get(c, "hostpci0")->value, "02:00.0");
	assert_int_equal(vmconf_get(c, "hostpci0")->line, 3);
	assert_int_equal(c->n_lines, 2);
	assert_true(
	    warned(&c->warnings, CONF ":3:", "'hostpci0' given again", "line 1", NULL));
	vmconf_free(c);
	/* a duplicate after the first section does not count */
	c = parse_ok("hostpci0: 01:00.0\n[snap]\nhostpci0: 02:00.0\n");
	assert_int_equal(c->warnings.n, 0);
	vmconf_free(c);

	/* an unknown section is skipped with its lines, a known one silently */
	c = parse_ok("cores: 2\n[]\nhostpci0: 01:00.0\n[foo bar]\nmemory: 1\n");
	assert_int_equal(c->n_lines, 1);
	assert_true(warned(&c->warnings, CONF ":2:", "unknown section", NULL));
	assert_true(warned(&c->warnings, CONF ":4:", "unknown section 'foo bar'", NULL));
	vmconf_free(c);

	/* NUL bytes: the line is skipped */
	{
		static const char t[] = "cores: 2\nhostpci0: 01:00.0\0x\nmemory: 1024\n";

		c = parse_len(t, sizeof(t) - 1);
		assert_null(vmconf_get(c, "hostpci0"));
		assert_string_equal(vmconf_get(c, "memory")->value, "1024");
		assert_true(warned(&c->warnings, CONF ":2:", "NUL", NULL));
		vmconf_free(c);
	}
	/* snapstate lines are swallowed, as parse_vm_config does */
	c = parse_ok("snapstate: prepare\ncores: 1\n");
	assert_int_equal(c->n_lines, 1);
	assert_int_equal(c->warnings.n, 0);
	vmconf_free(c);
}

static void test_misspelt_hostpci(void **state)
{
	static const char *const bad[] = {
	    "hostpic0", "hostpci",   "hotspci1",  "hostpc0",   "hostpci01",
	    "HostPCI0", "hostpci 0", "host-pci2", "hostpcie0", "hostpci_3"};
	static const char *const good[] = {
	    "hostpci0", "hostpci9", "hostpci15", "host",     "hotplug",	 "hookscript",
	    "cpu",	"scsihw",   "net0",	 "hostname", "hostpci16"};
	struct vmconf *c;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (!pveconf_looks_like_hostpci(bad[i], strlen(bad[i])))
			fail_msg("'%s' should look like a misspelt hostpciN", bad[i]);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (pveconf_looks_like_hostpci(good[i], strlen(good[i])))
			fail_msg("'%s' should not", good[i]);
	c = parse_ok("hostpic0: 01:00.0\nhostpci 1: 02:00.0\nhostpci0: 03:00.0\n");
	assert_true(
	    warned(&c->warnings, CONF ":1:", "'hostpic0'", "misspelt hostpciN", NULL));
	assert_true(warned(&c->warnings, CONF ":2:", "hostpciN: VALUE", NULL));
	assert_false(warned(&c->warnings, CONF ":3:", NULL));
	vmconf_free(c);
}

/* vmconfig_apply_pending: delete list first, then the values */
static void test_pending(void **state)
{
	struct vmconf *c;

	(void)state;
	c = parse_ok("#old notes\n"
		     "hostpci0: 01:00.0\n"
		     "hostpci1: 02:00.0\n"
		     "memory: 2048\n"
		     "unused0: local:vm-100-disk-1\n"
		     "[PENDING]\n"
		     "#new notes\n"
		     "delete: hostpci0;!hostpci1, unused0 memory\n"
		     "hostpci1: 03:00.0\n"
		     "hostpci2: 04:00.0\n"
		     "[snap]\n"
		     "hostpci5: 05:00.0\n");
	assert_true(c->has_pending);
	assert_false(c->pending_applied);
	assert_int_equal(c->n_pending, 2);
	assert_string_equal(c->pending_delete, "hostpci0;!hostpci1, unused0 memory");
	assert_string_equal(c->pending_description, "new notes");
	assert_string_equal(c->description, "old notes");
	assert_string_equal(vmconf_get(c, "hostpci1")->value, "02:00.0");
	assert_false(vmconf_resumes(c));
	vmconf_apply_pending(c);
	assert_true(c->pending_applied);
	assert_null(vmconf_get(c, "hostpci0"));
	assert_null(vmconf_get(c, "memory"));
	assert_string_equal(vmconf_get(c, "hostpci1")->value,
			    "03:00.0"); /* set after delete */
	assert_int_equal(vmconf_get(c, "hostpci1")->line, 9);
	assert_string_equal(vmconf_get(c, "hostpci2")->value, "04:00.0");
	assert_null(vmconf_get(c, "hostpci5"));
	/* unusedN cannot be deleted at start: Proxmox warns and keeps it */
	assert_non_null(vmconf_get(c, "unused0"));
	assert_true(warned(&c->warnings, CONF ":8:", "unused0", NULL));
	assert_string_equal(c->description, "new notes");
	assert_true(strv_contains(&c->pending_changes, "-hostpci0"));
	assert_true(strv_contains(&c->pending_changes, "hostpci2"));
	vmconf_free(c);

	/* no [PENDING]: nothing to do */
	c = parse_ok("hostpci0: 01:00.0\n");
	vmconf_apply_pending(c);
	assert_false(c->pending_applied);
	vmconf_free(c);
	/* the later [PENDING] replaces an earlier one */
	c = parse_ok("cores: 1\n[PENDING]\ncores: 2\nsockets: 2\n[pending]\ncores: 3\n");
	assert_int_equal(c->n_pending, 1);
	assert_true(warned(&c->warnings, CONF ":5:", "duplicate section", NULL));
	vmconf_apply_pending(c);
	assert_string_equal(vmconf_get(c, "cores")->value, "3");
	assert_null(vmconf_get(c, "sockets"));
	vmconf_free(c);
	/* a suspended VM resumes its saved machine (vm_start: lock suspended or
	 * vmstate) */
	c = parse_ok("lock: suspended\n");
	assert_true(vmconf_resumes(c));
	vmconf_free(c);
	c = parse_ok("vmstate: local:100/vm-100-state-suspend.raw\n");
	assert_true(vmconf_resumes(c));
	vmconf_free(c);
	c = parse_ok("lock: backup\n");
	assert_false(vmconf_resumes(c));
	vmconf_free(c);
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
	struct vm *vm;

	(void)state;
	/* what blocks wherever it is: hostpciN, and hugepages (an enum Proxmox
	 * keeps unchecked and then refuses the start over) */
	vm_fails("cores: 1\nhostpci0: 01:00.0,pcie=maybe\n", CONF ":2: hostpci0:", "pcie",
		 "maybe", "boolean", NULL);
	vm_fails("hostpci3: host=01:00.0,mapping=gpu\n", CONF ":1: hostpci3:", "both",
		 NULL);
	vm_fails("hugepages: 4\n", CONF ":1: hugepages:", "any, 2 or 1024", NULL);
	vm_fails("hugepages: 1G\n", "hugepages", NULL);
	vm_fails("hugepages: ANY\n", "hugepages", NULL);
	/* the rest: dropped, the default (or the earlier line) staying */
	vm = vm_drops("template: perhaps\n", "template", "boolean", NULL);
	assert_false(vm->is_template);
	vm_free(vm);
	vm_free(vm_drops("keephugepages: 2\n", "keephugepages", NULL));
	vm_free(vm_drops("numa: x\n", "numa", NULL));
	vm = vm_drops("sockets: 0\n", "sockets", NULL);
	assert_int_equal(vm->sockets, 1);
	vm_free(vm);
	vm = vm_drops("memory: 8\n", "memory", CONF ":1: memory:", "16", NULL);
	assert_int_equal(vm->memory_mib, VM_DEFAULT_MEMORY_MIB);
	vm_free(vm);
	vm_free(vm_drops("memory: 1G\n", "memory", NULL));
	vm_free(vm_drops("memory: max=4096\n", "memory", "unknown key", NULL));
	/* affinity as PVE::CpuSet parses it */
	vm = vm_drops("affinity: 5-3\n", "affinity", CONF ":1: affinity:", "5-3", NULL);
	assert_null(vm->affinity);
	vm_free(vm);
	vm_free(vm_drops("affinity: 0-3,,5\n", "affinity", NULL));
	vm_free(vm_drops("affinity: a-b\n", "affinity", NULL));
	vm_free(vm_drops("affinity: 0;1\n", "affinity", NULL));
	vm_free(vm_drops("affinity: -1\n", "affinity", NULL));
	vm_free(vm_drops("affinity: 8192\n", "affinity", "out of range", NULL));
	/* numaN: a bad line leaves the node unset, not half made */
	vm = vm_drops("numa0: cpus=0-1,memory=lots\n", "numa0",
		      CONF ":1: numa0:", "memory", NULL);
	assert_false(vm->numa_nodes[0].set);
	assert_null(vm->numa_nodes[0].cpus);
	vm_free(vm);
	vm_free(vm_drops("numa0: cpus=0-3,policy=strict\n", "numa0", "policy", NULL));
	vm_free(vm_drops("numa1: cpus=0-3,hostnodes=0,1\n", "numa1",
			 NULL)); /* ',' splits keys */
	vm_free(vm_drops("numa0: cpus=0-3,mem=1\n", "numa0", "unknown key 'mem'", NULL));
	vm_free(vm_drops("numa0: cpus=0-3,memory=lots\n", "numa0", "memory", NULL));
	vm_free(vm_drops("numa0: 0-3\n", "numa0", "without a key", NULL));
	vm = vm_drops("numa0: cpus=0-3;\n", "numa0", "cpus", NULL);
	assert_false(vm->numa_nodes[0].set);
	assert_null(vm_dropped(vm, "numa1"));
	vm_free(vm);
}

static void test_machine_and_more(void **state)
{
	static const char *const q35[] = {"q35", "pc-q35-9.2+pve1",
					  "type=q35,viommu=intel", "pc-q35-8.1.pxe",
					  "viommu=virtio,type=pc-q35-6.2"};
	static const char *const i440fx[] = {"pc",	    "pc-i440fx-8.1",
					     "pc-6.2+pve0", "viommu=virtio",
					     "virt",	    "virt-9.0+pve1"};
	struct vm *vm;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(q35); i++) {
		char *t = xasprintf("machine: %s\n", q35[i]);

		vm = vm_ok(t);
		if (!vm->q35)
			fail_msg("'%s' is q35", q35[i]);
		vm_free(vm);
		free(t);
	}
	for (size_t i = 0; i < ARRAY_SIZE(i440fx); i++) {
		char *t = xasprintf("machine: %s\n", i440fx[i]);

		vm = vm_ok(t);
		if (vm->q35)
			fail_msg("'%s' is not q35", i440fx[i]);
		vm_free(vm);
		free(t);
	}
	/* no machine: i440fx (pc) */
	vm = vm_ok("vga: none\nnet0: virtio=aa:bb:cc:dd:ee:ff,bridge=vmbr0\nnet1: e1000\n"
		   "vmstate: local:x\n");
	assert_false(vm->q35);
	assert_string_equal(vm->vga, "none");
	assert_string_equal(vm->vmstate, "local:x");
	assert_int_equal(vm->n_nets, 2);
	vm_free(vm);
	/* a machine value that fails Machine.pm's format: parse_vm_config warns
	 * and drops it, the VM starts as i440fx (not q35, whatever the type) */
	{
		static const char *const bad[][2] = {
		    {"q36", "q36"},
		    {"type=pc-q35", "pc-q35"},
		    {"pc,type=q35", "duplicate"},
		    {"Q35", "Q35"},
		    {"q35,foo=bar", "unknown key 'foo'"},
		    {"type=q35,viommu=amd", "viommu"},
		    {"q35,aw-bits=30", "aw-bits"},
		    {"q35,enable-s3=maybe", "enable-s3"},
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			char *t = xasprintf("machine: %s\n", bad[i][0]);

			vm = vm_ok(t);
			if (vm->q35 || vm->machine)
				fail_msg("'%s' is dropped", bad[i][0]);
			assert_true(warned(&vm->conf->warnings, CONF ":1: machine:",
					   bad[i][1], "drops", NULL));
			vm_free(vm);
			free(t);
		}
		vm = vm_ok(
		    "machine: q35,aw-bits=48,enable-s3=1,enable-s4=off,viommu=intel\n");
		assert_true(vm->q35);
		assert_int_equal(vm->conf->warnings.n, 0);
		vm_free(vm);
	}
	/* hostpci16 and numa8 are unknown settings to Proxmox: warned, dropped;
	 * cores is not a value a start here depends on */
	vm = vm_ok("hostpci16: 01:00.0\nnuma8: cpus=0\ncores: two\n");
	assert_true(
	    warned(&vm->conf->warnings, CONF ":1: hostpci16:", "hostpci15", NULL));
	assert_true(warned(&vm->conf->warnings, CONF ":2: numa8:", NULL));
	assert_int_equal(vm->cores, 1);
	vm_free(vm);
}

static void test_migration_and_pending_load(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct vm *vm = NULL;
	char *err = NULL;
	struct vm_load_opts o = {0};

	(void)state;
	assert_int_equal(fx_file(fx, "/etc/pve/nodes/pve2/qemu-server/120.conf",
				 "hostpci0: 01:00.0\n[PENDING]\nhostpci0: 02:00.0\n"),
			 0);
	assert_int_equal(fx_file(fx, "/etc/pve/qemu-server/121.conf",
				 "hostpci0: 01:00.0\nlock: suspended\n[PENDING]\n"
				 "hostpci0: 02:00.0\n"),
			 0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	/* a migration target reads the source node's config */
	assert_int_equal(vm_load(120, &vm, &err), -ENOENT);
	free(err), err = NULL;
	o.migrated_from = "pve2";
	assert_int_equal(vm_load_opts(120, &o, &vm, &err), 0);
	assert_string_equal(vm->conf->path, "/etc/pve/nodes/pve2/qemu-server/120.conf");
	assert_string_equal(vm->hostpci[0]->host.v[0], "01:00.0"); /* as is */
	vm_free(vm);
	o.apply_pending = true;
	assert_int_equal(vm_load_opts(120, &o, &vm, &err), 0);
	assert_string_equal(vm->hostpci[0]->host.v[0], "02:00.0");
	assert_true(vm->conf->pending_applied);
	vm_free(vm);
	o.migrated_from = "../../etc";
	assert_int_equal(vm_load_opts(120, &o, &vm, &err), -EINVAL);
	assert_non_null(strstr(err, "not a Proxmox node name"));
	free(err), err = NULL;
	o.migrated_from = "pve3";
	assert_int_equal(vm_load_opts(120, &o, &vm, &err), -ENOENT);
	assert_non_null(strstr(err, "/etc/pve/nodes/pve3/qemu-server/120.conf"));
	free(err), err = NULL;
	/* "" is a normal start */
	o.migrated_from = "";
	assert_int_equal(vm_load_opts(121, &o, &vm, &err), 0);
	/* resuming from suspend: [PENDING] is left alone */
	assert_string_equal(vm->hostpci[0]->host.v[0], "01:00.0");
	assert_false(vm->conf->pending_applied);
	vm_free(vm);
	host_cleanup();
	fx_free(fx, 0);
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
	assert_int_equal(vmconf_read(101, NULL, &c, &err), 0);
	assert_string_equal(c->path, "/etc/pve/qemu-server/101.conf");
	assert_string_equal(c->description, "my vm");
	vmconf_free(c);
	assert_int_equal(vm_load(101, &vm, &err), 0);
	assert_int_equal(vm->vmid, 101);
	assert_int_equal(vm->hostpci[0]->host.n, 2);
	assert_int_equal(vm->hostpci[0]->x_vga, 1);
	vm_free(vm);

	assert_int_equal(vmconf_read(100, NULL, &c, &err), -ENOENT);
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
	    cmocka_unit_test(test_lenient_lines),
	    cmocka_unit_test(test_misspelt_hostpci),
	    cmocka_unit_test(test_pending),
	    cmocka_unit_test(test_machine_and_more),
	    cmocka_unit_test(test_migration_and_pending_load),
	    cmocka_unit_test(test_propstr),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_vm_defaults_and_values),
	    cmocka_unit_test(test_vm_errors),
	    cmocka_unit_test(test_affinity_ok),
	    cmocka_unit_test(test_read_and_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
