// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The CPU of each vCPU (engine/cpuplan.h): pin = on follows the affinity
 * list; pin = auto takes whole cores (SMT siblings together) local to the
 * devices, never CPU 0's core, never a core another VM is pinned to.
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

#include "engine/cpuplan.h"

/*
 * A host of n_nodes nodes with cores_per_node cores each, `smt` threads per
 * core, numbered the way Linux numbers them on x86: the first threads of
 * every core first, then the second threads (0-3 + 8-11 on node 0 of a
 * 2-node, 4-core, SMT-2 host), so siblings are cpu and cpu + n_cores.
 */
static void make_host(struct cpu_topo *t, unsigned n_nodes, unsigned cores_per_node,
		      unsigned smt)
{
	unsigned n_cores = n_nodes * cores_per_node;

	memset(t, 0, sizeof(*t));
	t->n_cpus = n_cores * smt;
	t->n_nodes = n_nodes;
	t->siblings = calloc(t->n_cpus, sizeof(*t->siblings));
	for (unsigned core = 0; core < n_cores; core++) {
		struct cpuset sib;

		cpuset_zero(&sib);
		for (unsigned k = 0; k < smt; k++)
			cpuset_set(&sib, core + k * n_cores);
		for (unsigned k = 0; k < smt; k++) {
			unsigned cpu = core + k * n_cores;

			t->siblings[cpu] = sib;
			cpuset_set(&t->online, cpu);
			cpuset_set(&t->node_cpus[core / cores_per_node], cpu);
		}
	}
}

static struct cpu_request req(enum policy_pin pin, unsigned vcpus)
{
	struct cpu_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.pin = pin;
	rq.vcpus = vcpus;
	return rq;
}

static void set_of(struct cpuset *s, const char *list)
{
	assert_int_equal(cpuset_parse(list, CPUSET_EMPTY_OK, s, NULL), 0);
}

/* "0>2 1>10 | others 3,11" */
static char *map_text(const struct cpu_map *m)
{
	char buf[512] = "", *o;
	size_t len = 0;

	if (!m->ok)
		return strdup(m->problem ? m->problem : "(no map)");
	for (unsigned i = 0; i < m->vcpus; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u>%d",
					i ? " " : "", i, m->cpu_of[i]);
	o = cpuset_format(&m->others);
	snprintf(buf + len, sizeof(buf) - len, " | others %s", o);
	free(o);
	return strdup(buf);
}

static void map_is(const struct cpu_topo *t, const struct cpu_request *rq,
		   const char *want)
{
	struct cpu_map m;
	char *got;

	cpu_plan(t, rq, &m);
	got = map_text(&m);
	if (strcmp(got, want) != 0)
		fail_msg("map '%s', want '%s'", got, want);
	free(got);
	cpu_map_clear(&m);
}

static void refused(const struct cpu_topo *t, const struct cpu_request *rq,
		    const char *word)
{
	struct cpu_map m;

	cpu_plan(t, rq, &m);
	assert_false(m.ok);
	if (!m.problem || !strstr(m.problem, word))
		fail_msg("problem '%s' lacks '%s'", m.problem ? m.problem : "(none)",
			 word);
	cpu_map_clear(&m);
}

static void test_off(void **state)
{
	struct cpu_topo t;
	struct cpu_request rq = req(POLICY_PIN_OFF, 4);
	struct cpu_map m;

	(void)state;
	make_host(&t, 1, 4, 1);
	cpu_plan(&t, &rq, &m);
	assert_false(m.ok);
	assert_null(m.problem);
	cpu_map_clear(&m);
	cpu_topo_clear(&t);
}

static void test_on(void **state)
{
	struct cpu_topo t;
	struct cpu_request rq = req(POLICY_PIN_ON, 2);

	(void)state;
	make_host(&t, 1, 8, 1);
	refused(&t, &rq, "needs the VM's affinity");
	rq.has_affinity = true;
	/* vCPU n to the n-th CPU of the list; the rest for other threads */
	set_of(&rq.affinity, "2-5");
	map_is(&t, &rq, "0>2 1>3 | others 4-5");
	set_of(&rq.affinity, "6,1");
	map_is(&t, &rq, "0>1 1>6 | others 1,6");
	rq.vcpus = 3;
	refused(&t, &rq, "has 2 CPU(s) for 3 vCPUs");
	set_of(&rq.affinity, "5-9");
	refused(&t, &rq, "offline (8-9; online: 0-7)");
	cpu_topo_clear(&t);
}

static void test_auto_whole_cores(void **state)
{
	struct cpu_topo t;
	struct cpu_request rq = req(POLICY_PIN_AUTO, 4);

	(void)state;
	/* 2 nodes x 4 cores x 2 threads: node 0 = 0-3,8-11; node 1 = 4-7,12-15 */
	make_host(&t, 2, 4, 2);
	/* no device locality: the lowest cores but CPU 0's core (0 and 8) */
	map_is(&t, &rq, "0>1 1>2 2>9 3>10 | others 1-2,9-10");
	/* devices on node 1: its cores */
	set_of(&rq.local, "4-7,12-15");
	map_is(&t, &rq, "0>4 1>5 2>12 3>13 | others 4-5,12-13");
	/* an odd count: the sibling left over runs the other threads */
	rq.vcpus = 3;
	map_is(&t, &rq, "0>4 1>5 2>12 | others 13");
	/* cores another VM is pinned to are skipped (one thread is enough) */
	set_of(&rq.taken, "12");
	map_is(&t, &rq, "0>5 1>6 2>13 | others 14");
	/* not enough: refused, not spread over another node */
	rq.vcpus = 8;
	refused(&t, &rq, "found 6 CPU(s) in whole free cores for 8 vCPUs");
	cpu_topo_clear(&t);
}

static void test_auto_never_cpu0_core(void **state)
{
	struct cpu_topo t;
	struct cpu_request rq = req(POLICY_PIN_AUTO, 2);

	(void)state;
	/* the rig: node 0 = one core with CPUs 0-1, node 1 = CPUs 2-3 */
	make_host(&t, 2, 1, 2);
	/* fix the numbering to the rig's: siblings 0-1 and 2-3 */
	cpuset_zero(&t.node_cpus[0]);
	cpuset_zero(&t.node_cpus[1]);
	set_of(&t.node_cpus[0], "0-1");
	set_of(&t.node_cpus[1], "2-3");
	set_of(&t.siblings[0], "0-1");
	set_of(&t.siblings[1], "0-1");
	set_of(&t.siblings[2], "2-3");
	set_of(&t.siblings[3], "2-3");
	map_is(&t, &rq, "0>2 1>3 | others 2-3");
	/* devices on node 0: its only core is CPU 0's */
	set_of(&rq.local, "0-1");
	refused(&t, &rq, "leaving out CPU 0's core");
	cpu_topo_clear(&t);
}

static void test_auto_within_affinity(void **state)
{
	struct cpu_topo t;
	struct cpu_request rq = req(POLICY_PIN_AUTO, 2);

	(void)state;
	make_host(&t, 1, 4, 2); /* cores {0,4} {1,5} {2,6} {3,7} */
	rq.has_affinity = true;
	/* half a core is no core: 2 alone does not count, {3,7} does */
	set_of(&rq.affinity, "2-3,7");
	map_is(&t, &rq, "0>3 1>7 | others 3,7");
	set_of(&rq.affinity, "2,3");
	refused(&t, &rq, "within its affinity");
	cpu_topo_clear(&t);
}

static void test_nodes_of(void **state)
{
	struct cpu_topo t;
	struct cpuset s;

	(void)state;
	make_host(&t, 2, 2, 1); /* node 0: 0-1, node 1: 2-3 */
	set_of(&s, "1-2");
	assert_int_equal(cpu_topo_nodes_of(&t, &s), 3);
	set_of(&s, "3");
	assert_int_equal(cpu_topo_nodes_of(&t, &s), 2);
	cpu_topo_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off),
	    cmocka_unit_test(test_on),
	    cmocka_unit_test(test_auto_whole_cores),
	    cmocka_unit_test(test_auto_never_cpu0_core),
	    cmocka_unit_test(test_auto_within_affinity),
	    cmocka_unit_test(test_nodes_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
