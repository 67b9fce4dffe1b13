/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which host CPU each vCPU of a VM runs on (policy pin), as a pure function
 * of the host's CPU topology and the VM's settings, so `plan` and
 * post-start compute the same map and the unit tests can drive it.
 *
 *   pin = on    vCPU n runs on the n-th CPU (ascending) of the VM's
 *               `affinity`; QEMU's other threads on the rest of that list
 *               (the whole list when nothing is left).  Refused when the
 *               list is missing, shorter than the vCPUs or names CPUs that
 *               are offline.
 *   pin = auto  whole cores (a core's SMT siblings always together) from
 *               the CPUs local to the passed-through devices' NUMA nodes
 *               (all online CPUs when no device tells), within `affinity`
 *               when it is set, never CPU 0's core (the host's
 *               housekeeping), never a core another running VM is pinned
 *               to; lowest cores first.  The vCPUs take the chosen CPUs in
 *               order; a sibling left over runs QEMU's other threads.
 *
 * The VM's CPU set (vcpu CPUs plus the others') is what isolation keeps
 * host tasks off and where device interrupts are steered.
 */
#ifndef VFIOHOOK_CPUPLAN_H
#define VFIOHOOK_CPUPLAN_H

#include <stdbool.h>

#include "base/cpuset.h"
#include "engine/policy.h"

#define CPUPLAN_MAX_NODES 64

struct cpu_topo {
	struct cpuset online;
	/* per online CPU: its SMT siblings, itself included */
	struct cpuset *siblings; /* indexed by CPU id, n_cpus entries */
	unsigned n_cpus;	 /* highest CPU id + 1 */
	struct cpuset node_cpus[CPUPLAN_MAX_NODES];
	unsigned n_nodes;
};

struct cpu_request {
	enum policy_pin pin;
	unsigned vcpus;		/* vCPU threads QEMU starts with */
	bool has_affinity;	/* the VM's `affinity` is set */
	struct cpuset affinity; /* ... to this */
	struct cpuset local;	/* CPUs local to the devices; empty = unknown */
	struct cpuset taken;	/* pinned by other running VMs */
};

struct cpu_map {
	bool ok;       /* a map was made (pin != off and nothing refused) */
	char *problem; /* why not, when pin != off; NULL otherwise */
	unsigned vcpus;
	int *cpu_of;		/* per vCPU: the host CPU */
	struct cpuset vcpu_set; /* the CPUs of the vCPUs */
	struct cpuset others;	/* QEMU's other threads */
	struct cpuset vm_set;	/* vcpu_set | others */
};

/* Pure.  Always fills *out (ok false with a problem when refused). */
void cpu_plan(const struct cpu_topo *t, const struct cpu_request *rq,
	      struct cpu_map *out);
void cpu_map_clear(struct cpu_map *m);

/* The NUMA nodes whose CPUs intersect set, as a bit mask (nodes < 64). */
unsigned long long cpu_topo_nodes_of(const struct cpu_topo *t, const struct cpuset *set);
void cpu_topo_clear(struct cpu_topo *t);

#endif
