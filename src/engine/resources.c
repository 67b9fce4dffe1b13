// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/resources.h"

#include <errno.h>
#include <json.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "engine/observe.h"
#include "pve/hugepages.h"
#include "pve/propstr.h"
#include "state/journal.h"
#include "sys/cpu.h"

char *hp_subject(unsigned node, unsigned long kb)
{
	return xasprintf("node%u/%lukB", node, kb);
}

unsigned resources_vcpus(const struct vm *vm)
{
	if (vm->vcpus)
		return vm->vcpus;
	return (vm->sockets ? vm->sockets : 1) * (vm->cores ? vm->cores : 1);
}

void res_plan_clear(struct res_plan *rp)
{
	free(rp->hp_size);
	free(rp->hp_error);
	free(rp->pools);
	cpu_map_clear(&rp->map);
	free(rp->cpu_problem);
	strv_clear(&rp->warnings);
	memset(rp, 0, sizeof(*rp));
}

/* ---- other VMs ------------------------------------------------------------ */

/* Calls fn for each other VM's journal entry of kind, with whether that VM
 * runs and whether its start is still pending (pre-start done, no QEMU). */
static void foreach_other(unsigned vmid, const char *kind,
			  void (*fn)(const struct jentry *e, bool running, bool pending,
				     void *ctx),
			  void *ctx)
{
	unsigned *vmids = NULL;
	size_t n = 0;

	if (journal_list(&vmids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct journal *j = NULL;
		_cleanup_free_ char *err = NULL;
		struct jsection *sec;
		bool running, pending;

		if (vmids[i] == vmid || journal_load(vmids[i], &j, &err) < 0)
			continue;
		sec = journal_section(j, kind, false);
		running = observe_vm_running(j->vmid);
		pending = !running && observe_start_pending(j);
		for (size_t k = 0; sec && k < sec->n; k++)
			fn(&sec->v[k], running, pending, ctx);
		journal_free(j);
	}
	free(vmids);
}

static long long jint(const struct jentry *e, const char *key, long long dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(e->data, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

struct promised_ctx {
	unsigned node;
	unsigned long kb;
	long long pages;
};

static void add_promised(const struct jentry *e, bool running, bool pending, void *p)
{
	struct promised_ctx *c = p;

	(void)running;
	if (!pending || e->state != JSTEP_APPLIED ||
	    jint(e, "node", -1) != (long long)c->node ||
	    jint(e, "kb", -1) != (long long)c->kb)
		return;
	c->pages += jint(e, "want", 0) > 0 ? jint(e, "want", 0) : 0;
}

long long resources_promised(unsigned vmid, unsigned node, unsigned long kb)
{
	struct promised_ctx c = {.node = node, .kb = kb};

	foreach_other(vmid, "hugepages", add_promised, &c);
	return c.pages;
}

static void add_taken(const struct jentry *e, bool running, bool pending, void *p)
{
	struct cpuset *taken = p;
	long long cpu = jint(e, "cpu", -1);

	if ((running || pending) && e->state == JSTEP_APPLIED && cpu >= 0 &&
	    cpu < CPUSET_MAX)
		cpuset_set(taken, (unsigned)cpu);
}

/* ---- hugepages ------------------------------------------------------------ */

static bool size_exists(unsigned mib, void *ctx)
{
	(void)ctx;
	return hugetlb_size_exists((unsigned long)mib * 1024);
}

static bool node_exists(unsigned node, void *ctx)
{
	(void)ctx;
	return hugetlb_node_exists(node);
}

static void plan_hugepages(const struct vm *vm, const struct policy *pol,
			   struct res_plan *rp)
{
	struct hp_host host = {.size_exists = size_exists, .node_exists = node_exists};
	struct hp_need need = {0};
	unsigned *nodes = NULL, n_nodes = 0;
	int r;

	r = hugepages_need(vm, &host, &need, &rp->hp_error);
	if (r == 0)
		return;
	rp->hp_asked = true;
	rp->hp_reserve = pol->hugepages == POLICY_HUGEPAGES_AUTO;
	rp->hp_size = xstrdup(vm->hugepages);
	rp->hp_keep = vm->keephugepages;
	if (r < 0)
		return;
	hugetlb_nodes(&nodes, &n_nodes);
	/* every node of every size used: Proxmox shrinks the whole size */
	for (unsigned size = 2; size <= 1024; size *= 512) {
		if (!hp_need_total(&need, size))
			continue;
		for (unsigned k = 0; k < n_nodes; k++) {
			struct hp_pool_plan *pp;
			long long usable;

			rp->pools =
			    xrealloc(rp->pools, (rp->n_pools + 1) * sizeof(*rp->pools));
			pp = &rp->pools[rp->n_pools++];
			memset(pp, 0, sizeof(*pp));
			pp->size_mib = size;
			pp->kb = (unsigned long)size * 1024;
			pp->node = nodes[k];
			for (size_t i = 0; i < need.n; i++)
				if (need.v[i].size_mib == size &&
				    need.v[i].node == nodes[k])
					pp->pages = (long long)need.v[i].pages;
			hugetlb_read((int)pp->node, pp->kb, &pp->now);
			pp->promised = resources_promised(vm->vmid, pp->node, pp->kb);
			usable = pp->now.free - pp->promised;
			pp->add = pp->pages > usable
				      ? pp->pages - (usable > 0 ? usable : 0)
				      : 0;
			if (hugetlb_node_memfree(pp->node, &pp->memfree_kb) < 0)
				pp->memfree_kb = -1;
		}
	}
	free(nodes);
	hp_need_clear(&need);
}

/* ---- CPUs ------------------------------------------------------------------ */

static void read_topo(struct cpu_topo *t)
{
	unsigned *nodes = NULL, n_nodes = 0;
	int top = -1;

	memset(t, 0, sizeof(*t));
	if (cpu_online(&t->online) < 0)
		cpuset_zero(&t->online);
	cpuset_foreach(c, &t->online) top = c;
	t->n_cpus = (unsigned)(top + 1);
	t->siblings = xcalloc(t->n_cpus + 1, sizeof(*t->siblings));
	cpuset_foreach(c, &t->online) cpu_siblings((unsigned)c, &t->siblings[c]);
	hugetlb_nodes(&nodes, &n_nodes);
	for (unsigned k = 0; k < n_nodes; k++) {
		if (nodes[k] >= CPUPLAN_MAX_NODES)
			continue;
		cpu_node_cpus(nodes[k], &t->node_cpus[nodes[k]]);
		if (nodes[k] + 1 > t->n_nodes)
			t->n_nodes = nodes[k] + 1;
	}
	free(nodes);
}

/* The CPUs local to the devices, and their nodes. */
static void device_locality(const struct strv *bdfs, const struct cpu_topo *t,
			    struct cpuset *local, unsigned long long *nodes)
{
	cpuset_zero(local);
	*nodes = 0;
	for (size_t i = 0; bdfs && i < bdfs->n; i++) {
		long node;

		if (host_read_long(&node, "/sys/bus/pci/devices/%s/numa_node",
				   bdfs->v[i]) < 0 ||
		    node < 0 || node >= CPUPLAN_MAX_NODES)
			continue; /* no NUMA information: every CPU is as near */
		*nodes |= 1ULL << node;
		cpuset_or(local, local, &t->node_cpus[node]);
	}
}

static char *nodes_text(unsigned long long mask)
{
	char buf[256] = "";
	size_t len = 0;

	for (unsigned n = 0; n < 64; n++)
		if (mask & (1ULL << n))
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u",
						len ? "," : "", n);
	return xstrdup(buf);
}

static void plan_cpus(const struct vm *vm, const struct policy *pol,
		      const struct strv *dev_bdfs, struct res_plan *rp)
{
	struct cpu_topo topo;
	struct cpu_request rq = {.pin = pol->pin, .vcpus = resources_vcpus(vm)};

	rp->pin = pol->pin;
	rp->isolate = pol->isolate;
	rp->irq = pol->irq;
	/* every use of the CPU plan is under pin, isolate or irq: the common
	 * start reads no CPU topology */
	if (pol->pin == POLICY_PIN_OFF && !pol->isolate && !pol->irq)
		return;
	read_topo(&topo);
	device_locality(dev_bdfs, &topo, &rq.local, &rp->dev_nodes);
	if (vm->affinity && pve_cpuset(vm->affinity, &rq.affinity, NULL) == 0)
		rq.has_affinity = true;
	if (pol->pin != POLICY_PIN_OFF)
		foreach_other(vm->vmid, "cpus", add_taken, &rq.taken);
	cpu_plan(&topo, &rq, &rp->map);
	if (rp->map.ok)
		rp->vm_cpus = rp->map.vm_set;
	else if (pol->pin == POLICY_PIN_OFF && rq.has_affinity)
		cpuset_and(&rp->vm_cpus, &rq.affinity, &topo.online);
	if (pol->pin != POLICY_PIN_OFF && !rp->map.ok)
		rp->cpu_problem = xstrdup(rp->map.problem);
	else if ((pol->isolate || (pol->irq && dev_bdfs && dev_bdfs->n)) &&
		 cpuset_empty(&rp->vm_cpus))
		rp->cpu_problem = xasprintf(
		    "%s needs the VM's CPUs: set pin = on or auto, or give the VM an affinity",
		    pol->isolate ? "isolate = on" : "irq = on");
	else if (pol->isolate && cpuset_subset(&topo.online, &rp->vm_cpus))
		rp->cpu_problem = xstrdup(
		    "isolate = on would leave host tasks no CPU: the VM's CPUs are all the online CPUs");
	/* placement: memory, devices and vCPUs on the same nodes */
	if (rp->hp_asked && rp->map.ok && rp->n_pools) {
		unsigned long long mem = 0,
				   cpu = cpu_topo_nodes_of(&topo, &rp->map.vcpu_set);

		for (size_t i = 0; i < rp->n_pools; i++)
			if (rp->pools[i].pages > 0)
				mem |= 1ULL << rp->pools[i].node;
		if (mem != cpu || (rp->dev_nodes && rp->dev_nodes != mem)) {
			_cleanup_free_ char *m = nodes_text(mem), *c = nodes_text(cpu),
					    *d = nodes_text(rp->dev_nodes);

			strv_push(
			    &rp->warnings,
			    xasprintf(
				"placement: the VM's memory (hugepages) is on NUMA node %s, its vCPUs on node %s%s%s: every access across nodes is slower; put memory and vCPUs where the devices are (numaN: ...,hostnodes=N,policy=bind; pin = auto)",
				m, c, rp->dev_nodes ? ", its devices on node " : "",
				rp->dev_nodes ? d : ""));
		}
	}
	cpu_topo_clear(&topo);
}

void resources_plan_cpus(const struct vm *vm, const struct policy *pol,
			 const struct strv *dev_bdfs, struct res_plan *out)
{
	memset(out, 0, sizeof(*out));
	plan_cpus(vm, pol, dev_bdfs, out);
}

void resources_plan(const struct vm *vm, const struct policy *pol,
		    const struct strv *dev_bdfs, struct res_plan *out)
{
	memset(out, 0, sizeof(*out));
	plan_hugepages(vm, pol, out);
	plan_cpus(vm, pol, dev_bdfs, out);
}
