/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * observe → plan for a VM's memory and CPUs: the hugepages its start needs
 * per page size and host node (pve/hugepages.h, as Proxmox computes them)
 * with each pool as it is now, and the host CPU of each vCPU
 * (engine/cpuplan.h) with the CPUs isolation and interrupt steering use.
 * `plan` prints it; pre-start raises the pools from it (hugestep.h);
 * post-start pins, isolates and steers from it (cpustep.h).
 */
#ifndef VFIOHOOK_RESOURCES_H
#define VFIOHOOK_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/cpuset.h"
#include "base/util.h"
#include "engine/cpuplan.h"
#include "engine/policy.h"
#include "pve/pveconf.h"
#include "sys/hugetlb.h"

/* One pool the start touches. */
struct hp_pool_plan {
	unsigned size_mib; /* 2 or 1024 */
	unsigned long kb;  /* 2048 or 1048576 */
	unsigned node;
	long long pages;	 /* the VM needs on this node; 0 = only recorded */
	struct hugetlb_pool now; /* as read */
	long long promised;	 /* free pages other VMs' pending starts count on */
	long long add;		 /* pages to add so `pages` are free: >= 0 */
	long long memfree_kb;	 /* the node's free memory, -1 unknown */
};

struct res_plan {
	/* hugepages */
	bool hp_asked;	 /* the config asks for hugepages (not a template) */
	bool hp_reserve; /* ... and policy hugepages = auto: pre-start reserves */
	char *hp_size;	 /* "any", "2", "1024" */
	bool hp_keep;	 /* keephugepages */
	char *hp_error;	 /* Proxmox refuses this start: why (a plan problem) */
	struct hp_pool_plan *pools; /* by size, then node */
	size_t n_pools;
	/* CPUs */
	enum policy_pin pin;
	bool isolate, irq;
	struct cpu_map map;
	/* the VM's CPUs for isolation and interrupts: the pinned ones, else
	 * its affinity; empty when neither */
	struct cpuset vm_cpus;
	char *cpu_problem;	      /* post-start would not pin/isolate/steer: why */
	unsigned long long dev_nodes; /* NUMA nodes of the devices (mask) */
	struct strv warnings;	      /* placement */
};

/*
 * Plan vm's resources under pol.  dev_bdfs: the devices its hostpci
 * entries name (for their NUMA nodes and local CPUs).  Reads the host
 * (pools, CPU topology, other VMs' journals); never fails: what cannot be
 * done is in hp_error, cpu_problem.
 */
void resources_plan(const struct vm *vm, const struct policy *pol,
		    const struct strv *dev_bdfs, struct res_plan *out);
/* Only the CPU part (post-start: pinning, isolation, interrupts). */
void resources_plan_cpus(const struct vm *vm, const struct policy *pol,
			 const struct strv *dev_bdfs, struct res_plan *out);
void res_plan_clear(struct res_plan *rp);

/* The vCPU threads QEMU starts: `vcpus`, else sockets * cores. */
unsigned resources_vcpus(const struct vm *vm);

/* Free pages of kb on node that other VMs' pre-starts reserved and their
 * QEMU has not taken yet. */
long long resources_promised(unsigned vmid, unsigned node, unsigned long kb);

/* "node1/2048kB" */
char *hp_subject(unsigned node, unsigned long kb);

#endif
