/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hugepages a VM's start needs, per page size and host NUMA node,
 * computed exactly as qemu-server computes them (PVE::QemuServer::Memory,
 * hugepages_topology and the checks of config() that run before it;
 * proxmox-facts.md "Hugepages as Proxmox does them"):
 *
 *  - on when `hugepages` is set and the VM is not a template; needs
 *    `numa: 1`;
 *  - page size per memory chunk: `2` or `1024` (MiB) when the kernel offers
 *    that size (its hugepages-<kB>kB directory exists) and the chunk is a
 *    multiple; `any`: 1024 when 1 GiB pages exist and the chunk is a
 *    multiple of 1024, else 2 when 2 MiB pages exist.  Proxmox tests that
 *    the size exists, not that pages are free: there is no fallback from
 *    1 GiB to 2 MiB when 1 GiB pages cannot be had;
 *  - numaN entries with `memory` and one `hostnodes` node each: their pages
 *    go to that host node (summed over guest nodes); hostnodes must name a
 *    single node 0-9 (Proxmox matches /^(\d)$/) and a policy;
 *  - without numaN entries: the static memory split evenly over `sockets`,
 *    guest node i on host node i, which must exist;
 *  - with memory hotplug (`hotplug` lists memory): static memory is 1024 MiB
 *    (times sockets for 1 GiB pages) and DIMMs are added on top until
 *    `memory` is reached: 32 of 512 MiB (1024 MiB with hugepages: 1024),
 *    then 32 of twice that, and so on, guest node i % sockets each.
 *
 * Where Perl computes with fractions (memory / sockets that does not divide
 * evenly) the size checks use the whole MiB part, as Perl's `&` and `%` do,
 * and the page count is rounded up, as QEMU rounds a backend up to whole
 * pages.  Pure: the host facts come through callbacks.
 */
#ifndef VFIOHOOK_PVE_HUGEPAGES_H
#define VFIOHOOK_PVE_HUGEPAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "pve/pveconf.h"

struct hp_host {
	/* the kernel offers pages of size_mib (2 or 1024): its
	 * /sys/kernel/mm/hugepages/hugepages-<kB>kB directory exists */
	bool (*size_exists)(unsigned size_mib, void *ctx);
	/* /sys/devices/system/node/node<N> exists */
	bool (*node_exists)(unsigned node, void *ctx);
	void *ctx;
};

/* Pages of one size on one host node. */
struct hp_pool_need {
	unsigned size_mib; /* 2 or 1024 */
	unsigned node;
	unsigned long long pages;
};

struct hp_need {
	struct hp_pool_need *v; /* by size, then node */
	size_t n;
};

/*
 * Returns 1 with *out filled when the start needs hugepages, 0 when it
 * does not (no `hugepages`, or a template), -EINVAL with *err when Proxmox
 * refuses such a start (its reason, and what to change).
 */
int hugepages_need(const struct vm *vm, const struct hp_host *host, struct hp_need *out,
		   char **err);
void hp_need_clear(struct hp_need *n);

/* Pages of size_mib in n, over all nodes. */
unsigned long long hp_need_total(const struct hp_need *n, unsigned size_mib);

/* parse_hotplug_features($conf->{hotplug} // '1')->{memory}: "0" none,
 * "1" (and unset) Proxmox's default network,disk,usb, else a list split at
 * , ; and white space.  A value Proxmox's schema rejects is dropped by its
 * config parser, so it counts as unset. */
bool pve_memory_hotplug(const char *hotplug);

#endif
