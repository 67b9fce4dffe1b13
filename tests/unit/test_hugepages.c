// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pages a start needs, per size and host node, against every rule of
 * qemu-server's Memory.pm (hugepages_topology, hugepages_size, config()'s
 * checks, foreach_dimm): proxmox-facts.md "Hugepages as Proxmox does them".
 * The VM comes from config text, as Proxmox's own file would hold it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pve/hugepages.h"
#include "pve/pveconf.h"
#include "testutil.h"

/* The host: which page sizes and NUMA nodes exist. */
static struct {
	bool has2, has1g;
	unsigned long long nodes; /* bit per node */
} host;

static bool size_exists(unsigned mib, void *ctx)
{
	(void)ctx;
	return mib == 2 ? host.has2 : mib == 1024 ? host.has1g : false;
}

static bool node_exists(unsigned node, void *ctx)
{
	(void)ctx;
	return node < 64 && (host.nodes >> node) & 1;
}

static const struct hp_host hh = {.size_exists = size_exists, .node_exists = node_exists};

static void set_host(bool has2, bool has1g, unsigned long long nodes)
{
	host.has2 = has2;
	host.has1g = has1g;
	host.nodes = nodes;
}

static struct vm *vm_of(const char *text)
{
	struct vmconf *c = NULL;
	struct vm *vm = NULL;
	char *err = NULL;

	if (vmconf_parse(text, strlen(text), "/etc/pve/qemu-server/100.conf", 100, &c,
			 &err) < 0 ||
	    vm_from_conf(c, &vm, &err) < 0)
		fail_msg("config does not parse: %s", err);
	return vm;
}

/* The needs as text: "2M:0=2048 1G:1=4" (by size, then node). */
static char *need_text(const struct hp_need *n)
{
	char buf[512] = "";
	size_t len = 0;

	for (size_t i = 0; i < n->n; i++)
		len += (size_t)snprintf(
		    buf + len, sizeof(buf) - len, "%s%s:%u=%llu", len ? " " : "",
		    n->v[i].size_mib == 2 ? "2M" : "1G", n->v[i].node, n->v[i].pages);
	return strdup(buf);
}

static void need_is(const char *conf, const char *want)
{
	struct vm *vm = vm_of(conf);
	struct hp_need n;
	char *err = NULL, *got;
	int r = hugepages_need(vm, &hh, &n, &err);

	if (r != 1)
		fail_msg("hugepages_need = %d (%s) for:\n%s", r, err ? err : "", conf);
	got = need_text(&n);
	if (strcmp(got, want) != 0)
		fail_msg("needs '%s', want '%s' for:\n%s", got, want, conf);
	free(got);
	hp_need_clear(&n);
	vm_free(vm);
}

static void need_none(const char *conf)
{
	struct vm *vm = vm_of(conf);
	struct hp_need n;

	assert_int_equal(hugepages_need(vm, &hh, &n, NULL), 0);
	assert_int_equal(n.n, 0);
	vm_free(vm);
}

/* Refused, with each of the words in the message. */
static void refused(const char *conf, ...)
{
	struct vm *vm = vm_of(conf);
	struct hp_need n;
	char *err = NULL;
	va_list ap;

	assert_int_equal(hugepages_need(vm, &hh, &n, &err), -EINVAL);
	assert_int_equal(n.n, 0);
	va_start(ap, conf);
	assert_err_has(err, ap);
	va_end(ap);
	vm_free(vm);
}

#define TWO_NODES 0x3ULL

static void test_off(void **state)
{
	(void)state;
	set_host(true, true, TWO_NODES);
	need_none("memory: 4096\nnuma: 1\n");
	/* a template never starts with its resources */
	need_none("memory: 4096\nnuma: 1\nhugepages: 2\ntemplate: 1\n");
	/* Proxmox keeps "0" (the schema's enum is not checked when the file is
	 * read) and it is false in Perl: no hugepages, even without numa */
	need_none("memory: 4096\nhugepages: 0\n");
	need_none("memory: 4096\nnuma: 1\nhugepages: 2\nhugepages: 0\n");
}

static void test_needs_numa(void **state)
{
	(void)state;
	set_host(true, true, TWO_NODES);
	refused("memory: 4096\nhugepages: 2\n",
		"numa needs to be enabled to use hugepages", "numa: 1", NULL);
	refused("memory: 4096\nnuma: 0\nhugepages: any\n", "numa needs to be enabled",
		NULL);
}

/* Without numaN: memory split over sockets, guest node i on host node i. */
static void test_sockets_split(void **state)
{
	(void)state;
	set_host(true, true, TWO_NODES);
	need_is("memory: 4096\nnuma: 1\nhugepages: 2\n", "2M:0=2048");
	/* the default memory is 512 MiB */
	need_is("numa: 1\nhugepages: 2\n", "2M:0=256");
	need_is("memory: 8192\nnuma: 1\nhugepages: 2\nsockets: 2\ncores: 4\n",
		"2M:0=2048 2M:1=2048");
	need_is("memory: 8192\nnuma: 1\nhugepages: 1024\nsockets: 2\n", "1G:0=4 1G:1=4");
	refused("memory: 8192\nnuma: 1\nhugepages: 2\nsockets: 3\n",
		"host NUMA node2 doesn't exist", "sockets", NULL);
	/* nodes 0 to 9 */
	set_host(true, true, 0x3ffULL);
	need_is("memory: 20480\nnuma: 1\nhugepages: 1024\nsockets: 10\n",
		"1G:0=2 1G:1=2 1G:2=2 1G:3=2 1G:4=2 1G:5=2 1G:6=2 1G:7=2 1G:8=2 1G:9=2");
	/* a split is not limited to one digit: node10 only has to exist */
	refused("memory: 22528\nnuma: 1\nhugepages: 1024\nsockets: 11\n",
		"host NUMA node10 doesn't exist", NULL);
	set_host(true, true, 0x7ffULL);
	need_is(
	    "memory: 22528\nnuma: 1\nhugepages: 1024\nsockets: 11\n",
	    "1G:0=2 1G:1=2 1G:2=2 1G:3=2 1G:4=2 1G:5=2 1G:6=2 1G:7=2 1G:8=2 1G:9=2 1G:10=2");
}

/* hugepages_size(): the page size of a chunk. */
static void test_page_size(void **state)
{
	(void)state;
	set_host(true, true, TWO_NODES);
	/* any: 1 GiB when it exists and the chunk is a multiple */
	need_is("memory: 4096\nnuma: 1\nhugepages: any\n", "1G:0=4");
	/* any: 2 MiB when the chunk is not a multiple of 1024, whatever is free */
	need_is("memory: 3072\nnuma: 1\nhugepages: any\nsockets: 2\n",
		"2M:0=768 2M:1=768");
	/* any: 2 MiB when the host has no 1 GiB pages */
	set_host(true, false, TWO_NODES);
	need_is("memory: 4096\nnuma: 1\nhugepages: any\n", "2M:0=2048");
	refused("memory: 4096\nnuma: 1\nhugepages: 1024\n",
		"your system doesn't support hugepages of 1024 MB", NULL);
	/* no fallback from 1 GiB to 2 MiB: only the size's existence counts */
	set_host(false, true, TWO_NODES);
	refused("memory: 4096\nnuma: 1\nhugepages: 2\n",
		"your system doesn't support hugepages of 2 MB", NULL);
	refused("memory: 3072\nnuma: 1\nhugepages: any\nsockets: 2\n",
		"host only supports 1024 GB hugepages", "'1536'", NULL);
	need_is("memory: 4096\nnuma: 1\nhugepages: any\n", "1G:0=4");
	set_host(false, false, TWO_NODES);
	refused("memory: 4096\nnuma: 1\nhugepages: any\n",
		"your system doesn't support hugepages", NULL);
	set_host(true, true, TWO_NODES);
	refused("memory: 3072\nnuma: 1\nhugepages: 1024\nsockets: 2\n",
		"Memory size 1536 is not a multiple of the requested hugepages size 1024",
		NULL);
	/* the chunk must be a positive even number of MiB (its whole part) */
	refused("memory: 1025\nnuma: 1\nhugepages: 2\n", "memory size '1025'",
		"not a positive even integer", NULL);
	refused("memory: 1000\nnuma: 1\nhugepages: 2\nsockets: 3\n",
		"memory size '333.333333333333'", NULL);
	/* 2048 / 3 = 682.67: Perl checks 682 and QEMU rounds each backend up */
	set_host(true, true, 0x7ULL);
	need_is("memory: 2048\nnuma: 1\nhugepages: 2\nsockets: 3\n",
		"2M:0=342 2M:1=342 2M:2=342");
}

/* numaN entries: pages on their host node, summed. */
static void test_custom_topology(void **state)
{
	(void)state;
	set_host(true, true, TWO_NODES);
	need_is("memory: 4096\nnuma: 1\nhugepages: 2\n"
		"numa0: cpus=0-1,memory=2048,hostnodes=1,policy=bind\n"
		"numa1: cpus=2-3,memory=2048,hostnodes=1,policy=bind\n",
		"2M:1=2048");
	need_is("memory: 3072\nnuma: 1\nhugepages: any\n"
		"numa0: cpus=0,memory=1024,hostnodes=0,policy=preferred\n"
		"numa1: cpus=1,memory=2048,hostnodes=1,policy=bind\n",
		"1G:0=1 1G:1=2");
	/* each entry its own size: 1024 MiB -> 1 GiB, 512 MiB -> 2 MiB */
	need_is("memory: 1536\nnuma: 1\nhugepages: any\n"
		"numa0: cpus=0,memory=1024,hostnodes=0,policy=bind\n"
		"numa2: cpus=1,memory=512,hostnodes=0,policy=bind\n",
		"2M:0=256 1G:0=1");
	refused(
	    "memory: 4096\nnuma: 1\nhugepages: 2\nnuma0: cpus=0-3,hostnodes=0,policy=bind\n",
	    "missing NUMA node0 memory value", NULL);
	refused("memory: 4096\nnuma: 1\nhugepages: 2\nnuma0: cpus=0-3,memory=4096\n",
		"numa hostnodes need to be defined to use hugepages", NULL);
	refused(
	    "memory: 4096\nnuma: 1\nhugepages: 2\nnuma0: cpus=0-3,memory=4096,hostnodes=0\n",
	    "you need to define a policy for hostnode 0", NULL);
	refused("memory: 4096\nnuma: 1\nhugepages: 2\n"
		"numa0: cpus=0-3,memory=2048,hostnodes=0,policy=bind\n",
		"total memory for NUMA nodes must be equal to vm static memory", "2048",
		"4096", NULL);
	refused("memory: 4096\nnuma: 1\nhugepages: 2\n"
		"numa0: cpus=0-3,memory=4096,hostnodes=3,policy=bind\n",
		"host NUMA node3 doesn't exist", NULL);
	/* with hugepages, one host node per entry, and a single digit */
	refused("memory: 4096\nnuma: 1\nhugepages: 2\n"
		"numa0: cpus=0-3,memory=4096,hostnodes=0;1,policy=interleave\n",
		"more than 1 hostnode value in numa node", NULL);
	refused("memory: 4096\nnuma: 1\nhugepages: 2\n"
		"numa0: cpus=0-3,memory=4096,hostnodes=0-1,policy=interleave\n",
		"more than 1 hostnode value in numa node", NULL);
	set_host(true, true, 0x7ffULL);
	need_is("memory: 4096\nnuma: 1\nhugepages: 2\n"
		"numa0: cpus=0-3,memory=4096,hostnodes=9,policy=bind\n",
		"2M:9=2048");
	refused("memory: 4096\nnuma: 1\nhugepages: 2\n"
		"numa0: cpus=0-3,memory=4096,hostnodes=10,policy=bind\n",
		"more than 1 hostnode value in numa node", "hostnodes=10", NULL);
}

/* Memory hotplug: 1024 MiB static, then DIMMs (foreach_dimm). */
static void test_hotplug(void **state)
{
	(void)state;
	set_host(true, true, TWO_NODES);
	/* 1024 static over 2 sockets, then 6 DIMMs of 512 MiB, node i % 2 */
	need_is(
	    "memory: 4096\nnuma: 1\nhugepages: 2\nsockets: 2\nhotplug: disk,network,memory\n",
	    "2M:0=1024 2M:1=1024");
	/* hugepages 1024: static 1024 per socket, DIMMs of 1024 MiB */
	need_is("memory: 6144\nnuma: 1\nhugepages: 1024\nsockets: 2\nhotplug: memory\n",
		"1G:0=3 1G:1=3");
	/* any: static 1024 in 1 GiB pages, 32 DIMMs of 512 MiB in 2 MiB pages,
	 * then DIMMs of 1024 MiB in 1 GiB pages */
	need_is("memory: 19456\nnuma: 1\nhugepages: any\nhotplug: memory\n",
		"2M:0=8192 1G:0=3");
	/* memory at exactly the static size: no DIMM */
	need_is("memory: 1024\nnuma: 1\nhugepages: 2\nhotplug: memory\n", "2M:0=512");
	refused("memory: 1500\nnuma: 1\nhugepages: 2\nhotplug: memory\n",
		"memory size (1500) must be aligned to 512 for hotplugging", NULL);
	refused("memory: 512\nnuma: 1\nhugepages: 2\nhotplug: memory\n",
		"minimum memory must be 1024MB", NULL);
	refused("memory: 1024\nnuma: 1\nhugepages: 1024\nsockets: 2\nhotplug: memory\n",
		"minimum memory must be 2048MB", NULL);
	refused("memory: 4096\nhugepages: 2\nhotplug: memory\n",
		"NUMA needs to be enabled for memory hotplug", NULL);
	refused("memory: 4096\nnuma: 1\nhugepages: 2\nhotplug: memory\n"
		"numa0: cpus=0,memory=4096,hostnodes=0,policy=bind\n",
		"cannot enable memory hotplugging with custom NUMA topology", NULL);
	/* beyond the last DIMM (Proxmox's MAX_MEM is at most 4 TiB) */
	refused("memory: 4194304\nnuma: 1\nhugepages: 2\nhotplug: memory\n",
		"Total memory is bigger than the 4178944 MiB", NULL);
	/* hotplug without memory: no DIMMs */
	need_is("memory: 4096\nnuma: 1\nhugepages: 2\nhotplug: 1\n", "2M:0=2048");
}

static void test_hotplug_features(void **state)
{
	(void)state;
	assert_false(pve_memory_hotplug(NULL));
	assert_false(pve_memory_hotplug("1")); /* network,disk,usb */
	assert_false(pve_memory_hotplug("0"));
	assert_true(pve_memory_hotplug("memory"));
	assert_true(pve_memory_hotplug("network,disk,memory"));
	assert_true(pve_memory_hotplug("disk;memory usb"));
	assert_false(pve_memory_hotplug("disk,usb,cpu,cloudinit"));
	/* the schema rejects an unknown feature: the value is dropped */
	assert_false(pve_memory_hotplug("memory,bogus"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off),
	    cmocka_unit_test(test_needs_numa),
	    cmocka_unit_test(test_sockets_split),
	    cmocka_unit_test(test_page_size),
	    cmocka_unit_test(test_custom_topology),
	    cmocka_unit_test(test_hotplug),
	    cmocka_unit_test(test_hotplug_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
