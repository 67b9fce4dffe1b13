// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/cpuplan.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/util.h"

void cpu_map_clear(struct cpu_map *m)
{
	free(m->problem);
	free(m->cpu_of);
	memset(m, 0, sizeof(*m));
}

void cpu_topo_clear(struct cpu_topo *t)
{
	free(t->siblings);
	memset(t, 0, sizeof(*t));
}

unsigned long long cpu_topo_nodes_of(const struct cpu_topo *t, const struct cpuset *set)
{
	unsigned long long mask = 0;
	struct cpuset both;

	for (unsigned n = 0; n < t->n_nodes && n < 64; n++) {
		cpuset_and(&both, &t->node_cpus[n], set);
		if (!cpuset_empty(&both))
			mask |= 1ULL << n;
	}
	return mask;
}

static void refuse(struct cpu_map *m, const char *fmt, ...) _printf_(2, 3);
static void refuse(struct cpu_map *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(m->problem);
	m->problem = xvasprintf(fmt, ap);
	va_end(ap);
	m->ok = false;
}

static void finish(struct cpu_map *m)
{
	cpuset_or(&m->vm_set, &m->vcpu_set, &m->others);
	m->ok = true;
}

static void plan_on(const struct cpu_topo *t, const struct cpu_request *rq,
		    struct cpu_map *m)
{
	struct cpuset offline;
	_cleanup_free_ char *list = NULL, *off = NULL, *online = NULL;

	if (!rq->has_affinity) {
		refuse(
		    m, "%s",
		    "pin = on needs the VM's affinity list, and it has none: set one (qm set VMID --affinity 2-5), or use pin = auto");
		return;
	}
	list = cpuset_format(&rq->affinity);
	cpuset_andnot(&offline, &rq->affinity, &t->online);
	if (!cpuset_empty(&offline)) {
		off = cpuset_format(&offline);
		online = cpuset_format(&t->online);
		refuse(
		    m,
		    "affinity %s names CPUs that are offline (%s; online: %s): fix the affinity or bring them online",
		    list, off, online);
		return;
	}
	if (cpuset_count(&rq->affinity) < rq->vcpus) {
		refuse(
		    m,
		    "affinity %s has %u CPU(s) for %u vCPUs: pin = on runs vCPU n on the n-th CPU of the list, so it needs at least one CPU per vCPU",
		    list, cpuset_count(&rq->affinity), rq->vcpus);
		return;
	}
	for (unsigned i = 0; i < rq->vcpus; i++) {
		m->cpu_of[i] = cpuset_nth(&rq->affinity, i);
		cpuset_set(&m->vcpu_set, (unsigned)m->cpu_of[i]);
	}
	cpuset_andnot(&m->others, &rq->affinity, &m->vcpu_set);
	if (cpuset_empty(&m->others))
		m->others = rq->affinity;
	finish(m);
}

/* A core (sibling set) fully within allowed. */
static bool core_usable(const struct cpuset *core, const struct cpuset *allowed)
{
	return cpuset_subset(core, allowed);
}

static void plan_auto(const struct cpu_topo *t, const struct cpu_request *rq,
		      struct cpu_map *m)
{
	struct cpuset allowed, chosen, seen, cpu0core;
	unsigned n_chosen = 0, n_taken_skipped = 0;
	_cleanup_free_ char *where = NULL;

	allowed = t->online;
	if (!cpuset_empty(&rq->local))
		cpuset_and(&allowed, &allowed, &rq->local);
	if (rq->has_affinity)
		cpuset_and(&allowed, &allowed, &rq->affinity);
	cpuset_zero(&cpu0core);
	if (t->n_cpus > 0 && cpuset_has(&t->online, 0))
		cpu0core = t->siblings[0];
	cpuset_set(&cpu0core, 0);
	cpuset_zero(&chosen);
	cpuset_zero(&seen);
	cpuset_foreach(c, &allowed)
	{
		const struct cpuset *core;
		struct cpuset both;

		if (n_chosen >= rq->vcpus)
			break;
		if ((unsigned)c >= t->n_cpus || cpuset_has(&seen, (unsigned)c))
			continue;
		core = &t->siblings[c];
		cpuset_or(&seen, &seen, core);
		cpuset_and(&both, core, &cpu0core);
		if (!cpuset_empty(&both) || !core_usable(core, &allowed))
			continue;
		cpuset_and(&both, core, &rq->taken);
		if (!cpuset_empty(&both)) {
			n_taken_skipped++;
			continue;
		}
		cpuset_or(&chosen, &chosen, core);
		n_chosen = cpuset_count(&chosen);
	}
	if (n_chosen < rq->vcpus) {
		_cleanup_free_ char *al = cpuset_format(&allowed);

		where = cpuset_empty(&rq->local) ? xstrdup("the online CPUs")
						 : xasprintf("the devices' local CPUs");
		refuse(
		    m,
		    "pin = auto found %u CPU(s) in whole free cores for %u vCPUs among %s (%s%s), leaving out CPU 0's core%s: give the VM fewer vCPUs, or pin = on with an affinity list",
		    n_chosen, rq->vcpus, where, *al ? al : "none",
		    rq->has_affinity ? ", within its affinity" : "",
		    n_taken_skipped ? " and cores other VMs are pinned to" : "");
		return;
	}
	for (unsigned i = 0; i < rq->vcpus; i++) {
		m->cpu_of[i] = cpuset_nth(&chosen, i);
		cpuset_set(&m->vcpu_set, (unsigned)m->cpu_of[i]);
	}
	cpuset_andnot(&m->others, &chosen, &m->vcpu_set);
	if (cpuset_empty(&m->others))
		m->others = chosen;
	finish(m);
}

void cpu_plan(const struct cpu_topo *t, const struct cpu_request *rq, struct cpu_map *m)
{
	memset(m, 0, sizeof(*m));
	m->vcpus = rq->vcpus;
	if (rq->pin == POLICY_PIN_OFF)
		return;
	if (rq->vcpus == 0 || rq->vcpus > CPUSET_MAX) {
		refuse(m, "the VM has no vCPUs to pin");
		return;
	}
	m->cpu_of = xcalloc(rq->vcpus, sizeof(*m->cpu_of));
	if (rq->pin == POLICY_PIN_ON)
		plan_on(t, rq, m);
	else
		plan_auto(t, rq, m);
}
