// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hugepages_topology() of qemu-server's Memory.pm, with the checks its
 * config() makes first (hugepages.h).  The messages start with Proxmox's own
 * words, so an admin who searches for them finds the same thing.
 */
#include "pve/hugepages.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "base/util.h"

/* Memory.pm's $STATICMEM: the boot memory of a VM with memory hotplug. */
#define HP_STATIC_MEM 1024
/* foreach_dimm: 8 rounds of 32 DIMMs, the size doubling each round. */
#define HP_DIMM_ROUNDS 8
#define HP_DIMMS_PER_ROUND 32

void hp_need_clear(struct hp_need *n)
{
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

unsigned long long hp_need_total(const struct hp_need *n, unsigned size_mib)
{
	unsigned long long t = 0;

	for (size_t i = 0; i < n->n; i++)
		if (n->v[i].size_mib == size_mib)
			t += n->v[i].pages;
	return t;
}

static void add_pages(struct hp_need *n, unsigned size_mib, unsigned node,
		      unsigned long long pages)
{
	size_t i = 0;

	for (; i < n->n; i++) {
		struct hp_pool_need *p = &n->v[i];

		if (p->size_mib == size_mib && p->node == node) {
			p->pages += pages;
			return;
		}
		if (p->size_mib > size_mib || (p->size_mib == size_mib && p->node > node))
			break;
	}
	n->v = xrealloc(n->v, (n->n + 1) * sizeof(*n->v));
	memmove(&n->v[i + 1], &n->v[i], (n->n - i) * sizeof(*n->v));
	n->v[i] =
	    (struct hp_pool_need){.size_mib = size_mib, .node = node, .pages = pages};
	n->n++;
}

bool pve_memory_hotplug(const char *hotplug)
{
	static const char *const known[] = {"network", "disk", "cpu",
					    "memory",  "usb",  "cloudinit"};
	_cleanup_free_ char *copy = NULL;
	bool memory = false;
	char *save = NULL;

	if (!hotplug || streq(hotplug, "1") || streq(hotplug, "0"))
		return false; /* the default is network,disk,usb */
	copy = xstrdup(hotplug);
	for (char *t = strtok_r(copy, ",; \t\r\n\f\v", &save); t;
	     t = strtok_r(NULL, ",; \t\r\n\f\v", &save)) {
		bool ok = false;

		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			ok |= streq(t, known[i]);
		if (!ok)
			return false; /* the schema rejects it: the value is dropped */
		memory |= streq(t, "memory");
	}
	return memory;
}

/* A chunk of memory in MiB as Perl holds it: num / den (den = sockets). */
struct chunk {
	unsigned long long num, den;
};

static unsigned long long chunk_floor(struct chunk c)
{
	return c.num / c.den;
}

/* As Perl prints the number: "682.666666666667" or "512". */
static char *chunk_text(struct chunk c)
{
	if (c.num % c.den == 0)
		return xasprintf("%llu", c.num / c.den);
	return xasprintf("%.15g", (double)c.num / (double)c.den);
}

/* hugepages_size($conf, $size): the page size in MiB for one chunk. */
static int page_size(const struct vm *vm, const struct hp_host *h, struct chunk c,
		     unsigned *out, char **err)
{
	unsigned long long whole = chunk_floor(c);
	bool has2 = h->size_exists(2, h->ctx), has1g = h->size_exists(1024, h->ctx);
	_cleanup_free_ char *text = chunk_text(c);

	/* Perl's `$size & 1` works on the whole part */
	if (c.num == 0 || (whole & 1))
		return errf(
		    err,
		    "memory size '%s' is not a positive even integer; cannot use for hugepages (Proxmox refuses the start: give the VM, or each NUMA node, an even number of MiB)",
		    text);
	if (!has2 && !has1g)
		return errf(
		    err,
		    "your system doesn't support hugepages (no /sys/kernel/mm/hugepages/hugepages-2048kB or -1048576kB; Proxmox refuses the start: remove 'hugepages' from the VM)");
	if (streq(vm->hugepages, "any")) {
		if (has1g && whole % 1024 == 0)
			*out = 1024;
		else if (has2)
			*out = 2;
		else
			return errf(
			    err,
			    "host only supports 1024 GB hugepages, but requested size '%s' is not a multiple of 1024 MB (Proxmox refuses the start: make the memory of each NUMA node a multiple of 1024 MiB)",
			    text);
		return 0;
	}
	*out = streq(vm->hugepages, "1024") ? 1024 : 2;
	if (!h->size_exists(*out, h->ctx))
		return errf(
		    err,
		    "your system doesn't support hugepages of %u MB (Proxmox refuses the start: use 'hugepages: %s', or boot the host with hugepagesz=%s)",
		    *out, *out == 1024 ? "2" : "1024", *out == 1024 ? "1G" : "2M");
	if (whole % *out != 0)
		return errf(
		    err,
		    "Memory size %s is not a multiple of the requested hugepages size %u (Proxmox refuses the start: make the memory of each NUMA node a multiple of %u MiB)",
		    text, *out, *out);
	return 0;
}

/* Pages of size_mib for a chunk, rounded up as QEMU rounds its backend. */
static unsigned long long pages_of(struct chunk c, unsigned size_mib)
{
	unsigned long long per = c.den * size_mib;

	return (c.num + per - 1) / per;
}

/* One numaN entry's hostnodes as config() checks them: every node must
 * exist (print_numa_hostnodes), and a policy must be given. */
static int check_hostnodes(const struct vm_numa *nn, unsigned i, const struct hp_host *h,
			   char **err)
{
	_cleanup_free_ char *copy = xstrdup(nn->hostnodes);
	char *save = NULL;

	for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		unsigned long long from, to;

		if (parse_uint_range(t, strlen(t), ~0U, &from, &to) < 0)
			return errf(err, "numa%u: bad hostnodes '%s'", i, nn->hostnodes);
		for (unsigned long long n = from; n <= to; n++)
			if (!h->node_exists((unsigned)n, h->ctx))
				return errf(
				    err,
				    "host NUMA node%llu doesn't exist (numa%u: hostnodes=%s; Proxmox refuses the start: name a node under /sys/devices/system/node)",
				    n, i, nn->hostnodes);
	}
	if (!nn->policy)
		return errf(
		    err,
		    "you need to define a policy for hostnode %s (numa%u; Proxmox refuses the start: add policy=bind, preferred or interleave)",
		    nn->hostnodes, i);
	return 0;
}

static bool custom_topology(const struct vm *vm)
{
	for (size_t i = 0; i < VM_MAX_NUMA; i++)
		if (vm->numa_nodes[i].set)
			return true;
	return false;
}

static int custom_pages(const struct vm *vm, const struct hp_host *h,
			unsigned long long static_mib, struct hp_need *out, char **err)
{
	unsigned long long total = 0;
	unsigned sizes[VM_MAX_NUMA] = {0};
	int r;

	/* config(): each entry's memory, page size and host nodes, then the sum */
	for (unsigned i = 0; i < VM_MAX_NUMA; i++) {
		const struct vm_numa *nn = &vm->numa_nodes[i];
		struct chunk c = {.num = nn->memory_mib, .den = 1};

		if (!nn->set)
			continue;
		if (!nn->memory_mib)
			return errf(
			    err,
			    "missing NUMA node%u memory value (Proxmox refuses the start: add memory=MiB to numa%u)",
			    i, i);
		r = page_size(vm, h, c, &sizes[i], err);
		if (r < 0)
			return r;
		if (!nn->hostnodes)
			return errf(
			    err,
			    "numa hostnodes need to be defined to use hugepages (numa%u; Proxmox refuses the start: add hostnodes=N,policy=bind)",
			    i);
		r = check_hostnodes(nn, i, h, err);
		if (r < 0)
			return r;
		total += nn->memory_mib;
	}
	if (total != static_mib)
		return errf(
		    err,
		    "total memory for NUMA nodes must be equal to vm static memory (the numaN entries add up to %llu MiB, the VM has %llu MiB; Proxmox refuses the start)",
		    total, static_mib);
	/* hugepages_topology(): one host node per entry, $hostnodes =~ /^(\d)$/ */
	for (unsigned i = 0; i < VM_MAX_NUMA; i++) {
		const struct vm_numa *nn = &vm->numa_nodes[i];
		struct chunk c = {.num = nn->memory_mib, .den = 1};

		if (!nn->set || !nn->hostnodes)
			continue;
		if (strlen(nn->hostnodes) != 1 || nn->hostnodes[0] < '0' ||
		    nn->hostnodes[0] > '9')
			return errf(
			    err,
			    "more than 1 hostnode value in numa node is not supported when hugepages are enabled (numa%u: hostnodes=%s; Proxmox refuses the start: give each numaN one host node from 0 to 9)",
			    i, nn->hostnodes);
		add_pages(out, sizes[i], (unsigned)(nn->hostnodes[0] - '0'),
			  pages_of(c, sizes[i]));
	}
	return 0;
}

/* foreach_dimm from static_mib up to memory, DIMMs round-robin over the
 * guest nodes 0..sockets-1, which map to the same host nodes. */
static int dimm_pages(const struct vm *vm, const struct hp_host *h,
		      unsigned long long static_mib, struct hp_need *out, char **err)
{
	unsigned long long current = static_mib, dimm;
	int r;

	if (current == vm->memory_mib)
		return 0;
	dimm = streq(vm->hugepages, "1024") ? 1024 : 512;
	for (unsigned round = 0; round < HP_DIMM_ROUNDS; round++, dimm *= 2) {
		for (unsigned i = 0; i < HP_DIMMS_PER_ROUND; i++) {
			struct chunk c = {.num = dimm, .den = 1};
			unsigned size;

			current += dimm;
			r = page_size(vm, h, c, &size, err);
			if (r < 0)
				return r;
			add_pages(out, size, i % vm->sockets, pages_of(c, size));
			if (current >= vm->memory_mib) {
				if (current > vm->memory_mib)
					return errf(
					    err,
					    "memory size (%llu) must be aligned to %llu for hotplugging (Proxmox refuses the start: set memory to %llu or %llu)",
					    vm->memory_mib, dimm, current - dimm,
					    current);
				return 0;
			}
		}
	}
	/* Proxmox's MAX_MEM (at most 4 TiB) refuses this before any DIMM */
	return errf(
	    err,
	    "Total memory is bigger than the %llu MiB memory hotplug can reach (memory: %llu; Proxmox refuses the start)",
	    current, vm->memory_mib);
}

int hugepages_need(const struct vm *vm, const struct hp_host *h, struct hp_need *out,
		   char **err)
{
	unsigned sockets = vm->sockets ? vm->sockets : 1;
	bool hotplug = pve_memory_hotplug(vm->hotplug), custom = custom_topology(vm);
	unsigned long long static_mib = vm->memory_mib;
	int r;

	memset(out, 0, sizeof(*out));
	if (!vm->hugepages || vm->is_template)
		return 0;
	if (hotplug) {
		if (!vm->numa)
			return errf(
			    err,
			    "NUMA needs to be enabled for memory hotplug (Proxmox refuses the start: set numa: 1)");
		if (custom)
			return errf(
			    err,
			    "cannot enable memory hotplugging with custom NUMA topology (Proxmox refuses the start: remove the numaN entries or memory from hotplug)");
		static_mib = HP_STATIC_MEM;
		if (streq(vm->hugepages, "1024"))
			static_mib *= sockets;
		if (vm->memory_mib < static_mib)
			return errf(
			    err,
			    "minimum memory must be %lluMB (memory hotplug with these hugepages; Proxmox refuses the start)",
			    static_mib);
	}
	if (!vm->numa)
		return errf(
		    err,
		    "numa needs to be enabled to use hugepages (Proxmox refuses the start: set numa: 1)");
	if (custom) {
		r = custom_pages(vm, h, static_mib, out, err);
	} else {
		struct chunk c = {.num = static_mib, .den = sockets};

		r = 0;
		for (unsigned i = 0; i < sockets && r == 0; i++) {
			unsigned size = 2;

			if (!h->node_exists(i, h->ctx)) {
				r = errf(
				    err,
				    "host NUMA node%u doesn't exist (hugepages split the memory over %u socket(s), guest node i on host node i; Proxmox refuses the start: lower sockets, or add numaN entries with hostnodes)",
				    i, sockets);
				break;
			}
			r = page_size(vm, h, c, &size, err);
			if (r == 0)
				add_pages(out, size, i, pages_of(c, size));
		}
	}
	if (r == 0 && hotplug)
		r = dimm_pages(vm, h, static_mib, out, err);
	if (r < 0) {
		hp_need_clear(out);
		return r;
	}
	return 1;
}
