// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hugepages and CPUs through the engine, on fake roots: the plan of the
 * pools; pre-start raising them (with a fake kernel that grants pages as a
 * fragmented host does: some per write, up to a limit), refusing with the
 * numbers and putting every pool back; post-stop's give-back (free pages
 * only, keephugepages, after Proxmox shrank the pool); isolation of cgroups
 * at post-start and their exact restore, also from a journal alone.
 */
#include <errno.h>
#include <json.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/host.h"
#include "engine/hugestep.h"
#include "engine/lifecycle.h"
#include "engine/prepare.h"
#include "fixture.h"
#include "state/journal.h"
#include "sys/irq.h"
#include "testutil.h"

/* ---- a fake kernel for the pools -------------------------------------------- */

static struct {
	long cap[2];	      /* pages node N can have at most (its memory) */
	long reach[2];	      /* ... that a write finds without compaction */
	long compact_gain[2]; /* each compaction makes this many more reachable */
	long used[2];	      /* pages in use by a QEMU */
	int writes, compactions, drops;
	bool drop_frees; /* dropping the cache lifts the cap */
} k;

static void put_long(long v, const char *fmt, unsigned node)
{
	char val[32], path[PATH_MAX];
	FILE *f;

	snprintf(val, sizeof(val), "%ld\n", v);
	host_path(path, sizeof(path), fmt, node);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(val, f);
	fclose(f);
}

#define POOL "/sys/devices/system/node/node%u/hugepages/hugepages-2048kB/"

static void set_pool(unsigned node, long nr, long used)
{
	k.used[node] = used;
	put_long(nr, POOL "nr_hugepages", node);
	put_long(nr - used, POOL "free_hugepages", node);
}

static long pool_nr(unsigned node)
{
	struct hugetlb_pool p;

	assert_int_equal(hugetlb_read((int)node, 2048, &p), 0);
	return p.nr;
}

static int fake_write(int node, unsigned long kb, long nr, char **err)
{
	struct hugetlb_pool p;
	long now;

	(void)err;
	assert_int_equal(kb, 2048);
	k.writes++;
	hugetlb_read(node, kb, &p);
	now = p.nr;
	if (nr > now) {
		long to = nr;

		if (to > k.reach[node])
			to = k.reach[node];
		if (to > k.cap[node])
			to = k.cap[node];
		now = to > now ? to : now;
	} else {
		/* pages in use stay (they become surplus in a real kernel) */
		now = nr > k.used[node] ? nr : k.used[node];
	}
	set_pool((unsigned)node, now, k.used[node]);
	return 0;
}

static int fake_compact(unsigned node, char **err)
{
	(void)err;
	k.compactions++;
	k.reach[node] += k.compact_gain[node];
	return 0;
}

static int fake_drop(char **err)
{
	(void)err;
	k.drops++;
	if (k.drop_frees)
		k.cap[0] = k.cap[1] = 100000;
	return 0;
}

static const struct hp_ops fake_ops = {
    .read = hugetlb_read,
    .write_nr = fake_write,
    .compact = fake_compact,
    .drop_caches = fake_drop,
};

/* Two nodes of two CPUs (one core each), 2 MiB and 1 GiB pages. */
static const char spec[] =
    "file /sys/devices/system/cpu/online 0-3\n"
    "cpu 0 siblings=0-1\ncpu 1 siblings=0-1\ncpu 2 siblings=2-3\ncpu 3 siblings=2-3\n"
    "node 0 cpus=0-1 memfree=1048576 pool=2048:0:0 pool=1048576:0:0\n"
    "node 1 cpus=2-3 memfree=2097152 pool=2048:0:0 pool=1048576:0:0\n"
    "file /proc/cmdline BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet\n";

static int setup(void **state)
{
	if (fx_test_setup(state) < 0 || fx_spec(*state, spec) < 0)
		return -1;
	memset(&k, 0, sizeof(k));
	k.cap[0] = k.cap[1] = 100000;
	k.reach[0] = k.reach[1] = 100000;
	hp_step_set_ops(&fake_ops);
	return 0;
}

static int teardown(void **state)
{
	hp_step_set_ops(NULL);
	return fx_test_teardown(state);
}

static void conf(const char *text)
{
	assert_int_equal(host_mkdir_p(0755, "/etc/pve/qemu-server"), 0);
	assert_int_equal(
	    host_write_atomic(text, strlen(text), 0644, "/etc/pve/qemu-server/100.conf"),
	    0);
}

static int prestart(char **err)
{
	struct prestart_result res;
	struct plan_ctx pc;
	int r;

	assert_int_equal(plan_ctx_make(&pc, 100, err), 0);
	assert_true(pc.plan->ok);
	r = lifecycle_prestart(&pc, NULL, &res, err);
	plan_ctx_free(&pc);
	return r;
}

static int poststop(char **err)
{
	struct journal *j = NULL;
	struct policy pol;
	int r;

	assert_int_equal(journal_load(100, &j, err), 0);
	lifecycle_policy(100, &pol);
	r = lifecycle_release(j, &pol, GB_POST_STOP, "post-stop", false, err);
	policy_clear(&pol);
	journal_free(j);
	return r;
}

#define TWO_SOCKETS "memory: 1024\nnuma: 1\nhugepages: 2\nsockets: 2\n"

static void test_plan_pools(void **state)
{
	struct plan_ctx pc;
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	set_pool(1, 100, 0);
	assert_int_equal(plan_ctx_make(&pc, 100, &err), 0);
	assert_true(pc.res.hp_asked && pc.res.hp_reserve);
	/* 2 MiB only: both nodes, 256 pages each */
	assert_int_equal(pc.res.n_pools, 2);
	assert_int_equal(pc.res.pools[0].node, 0);
	assert_int_equal(pc.res.pools[0].pages, 256);
	assert_int_equal(pc.res.pools[0].add, 256);
	assert_int_equal(pc.res.pools[1].now.free, 100);
	assert_int_equal(pc.res.pools[1].add, 156);
	assert_int_equal(pc.res.pools[1].memfree_kb, 2097152);
	plan_ctx_free(&pc);
	/* a start Proxmox refuses is a problem of the plan */
	conf("memory: 1024\nhugepages: 2\n");
	assert_int_equal(plan_ctx_make(&pc, 100, &err), 0);
	assert_false(pc.plan->ok);
	assert_string_equal(pc.plan->problems[0].id, "hugepages");
	assert_non_null(strstr(pc.plan->problems[0].message, "numa needs to be enabled"));
	plan_ctx_free(&pc);
	/* ... unless vfiohook leaves hugepages alone */
	assert_int_equal(host_write_atomic("[vm 100]\nhugepages = off\n", 25, 0644,
					   "/etc/vfiohook.conf"),
			 0);
	assert_int_equal(plan_ctx_make(&pc, 100, &err), 0);
	assert_true(pc.plan->ok);
	assert_false(pc.res.hp_reserve);
	plan_ctx_free(&pc);
}

static void test_raise_and_give_back(void **state)
{
	struct journal *j = NULL;
	struct jsection *sec;
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	set_pool(0, 10, 10); /* someone else's 10 pages, in use */
	assert_int_equal(prestart(&err), 0);
	assert_int_equal(pool_nr(0), 266);
	assert_int_equal(pool_nr(1), 256);
	assert_int_equal(journal_load(100, &j, &err), 0);
	assert_true(j->complete);
	sec = journal_section(j, "hugepages", false);
	assert_non_null(sec);
	assert_int_equal(sec->n, 2);
	assert_string_equal(sec->v[0].subject, "node0/2048kB");
	assert_int_equal(sec->v[0].state, JSTEP_APPLIED);
	journal_free(j);
	/* QEMU ran and took its pages; at post-stop they are free again */
	assert_int_equal(poststop(&err), 0);
	assert_int_equal(pool_nr(0), 10);
	assert_int_equal(pool_nr(1), 0);
	assert_false(host_exists("/run/vfiohook/100.json"));
}

static void test_free_pages_only(void **state)
{
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	assert_int_equal(prestart(&err), 0);
	/* another process holds 200 of node 1's pages at post-stop */
	set_pool(1, 256, 200);
	assert_int_equal(poststop(&err), 0);
	assert_int_equal(pool_nr(1), 200);
	assert_int_equal(pool_nr(0), 0);
}

/* Someone else grew the pool while the VM ran (another VM's start with
 * keephugepages, say): post-stop gives back only the pages this start added. */
static void test_only_what_was_added(void **state)
{
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	assert_int_equal(prestart(&err), 0);
	assert_int_equal(pool_nr(0), 256);
	set_pool(0, 768, 0);
	assert_int_equal(poststop(&err), 0);
	assert_int_equal(pool_nr(0), 512);
	assert_int_equal(pool_nr(1), 0);
}

static void test_proxmox_shrank(void **state)
{
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	set_pool(0, 300, 0); /* the admin's runtime pool: enough already */
	assert_int_equal(prestart(&err), 0);
	assert_int_equal(pool_nr(0), 300);
	/* right after QEMU started, Proxmox set the pool to the boot value, 0 */
	set_pool(0, 0, 0);
	assert_int_equal(poststop(&err), 0);
	assert_int_equal(pool_nr(0), 300); /* as it was before the start */
}

static void test_keephugepages(void **state)
{
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS "keephugepages: 1\n");
	assert_int_equal(prestart(&err), 0);
	assert_int_equal(poststop(&err), 0);
	assert_int_equal(pool_nr(0), 256);
	assert_int_equal(pool_nr(1), 256);
	assert_false(host_exists("/run/vfiohook/100.json"));
}

static void test_compacts_when_short(void **state)
{
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	/* node 1 is fragmented: a write finds 100 pages, each compaction 100 more */
	k.reach[1] = 100;
	k.compact_gain[1] = 100;
	assert_int_equal(prestart(&err), 0);
	assert_int_equal(pool_nr(1), 256);
	assert_int_equal(k.writes, 1 + 3);
	assert_int_equal(k.compactions, 2);
	assert_int_equal(k.drops, 0);
}

static void test_short_refuses_and_puts_back(void **state)
{
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	k.reach[1] = 50;
	k.compact_gain[1] = 50;
	k.cap[1] = 120;
	assert_int_equal(prestart(&err), -EIO);
	assert_non_null(err);
	assert_non_null(
	    strstr(err, "node 1: the VM needs 256 free 2 MiB hugepages, got 120"));
	assert_non_null(strstr(err, "node 1 has 2048 MiB of memory free"));
	assert_non_null(strstr(err, "hugepagesz=2M hugepages=0:256,1:256"));
	/* Proxmox reads no boot value from per-node counts and sets the pool
	 * to 0 after each start: the remedy needs keephugepages too */
	assert_non_null(strstr(err, "keephugepages: 1"));
	/* rounds while they gained (50, 100, 120), then one that gained nothing */
	assert_int_equal(k.compactions, 3);
	assert_int_equal(k.writes, 1 + 4 + 2 /* node 0, node 1, rollback */);
	/* every pool as it was, no journal */
	assert_int_equal(pool_nr(0), 0);
	assert_int_equal(pool_nr(1), 0);
	assert_false(host_exists("/run/vfiohook/100.json"));
	free(err);
}

static void test_drop_caches_only_when_allowed(void **state)
{
	char *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	k.cap[1] = 100;
	k.drop_frees = true;
	assert_int_equal(prestart(&err), -EIO);
	assert_int_equal(k.drops, 0);
	free(err);
	err = NULL;
	assert_int_equal(host_write_atomic("[vm 100]\nhugepages-drop-caches = on\n", 36,
					   0644, "/etc/vfiohook.conf"),
			 0);
	k.cap[1] = 100;
	k.compactions = 0;
	assert_int_equal(prestart(&err), 0);
	assert_int_equal(k.drops, 1);
	/* write, compact + write (no gain), drop, compact + write */
	assert_int_equal(k.compactions, 2);
	assert_int_equal(pool_nr(1), 256);
}

/* Pages another VM's pre-start reserved, whose QEMU is not up yet, are not
 * free for us. */
static void test_promised_pages(void **state)
{
	static const char other[] =
	    "{\"version\":2,\"vmid\":101,\"phase\":\"pre-start\",\"complete\":true,"
	    "\"started\":%lld,\"devices\":[],\"sections\":{\"hugepages\":[{\"subject\":"
	    "\"node1/2048kB\",\"state\":\"applied\",\"node\":1,\"kb\":2048,\"want\":100,"
	    "\"orig\":0,\"added\":100,\"keep\":false}]}}";
	char text[512], *err = NULL;

	(void)state;
	conf(TWO_SOCKETS);
	set_pool(1, 100, 0);
	snprintf(text, sizeof(text), other, (long long)time(NULL));
	assert_int_equal(journal_dir_ensure(&err), 0);
	assert_int_equal(
	    host_write_atomic(text, strlen(text), 0600, "/run/vfiohook/101.json"), 0);
	assert_int_equal(resources_promised(100, 1, 2048), 100);
	assert_int_equal(resources_promised(101, 1, 2048), 0);
	assert_int_equal(prestart(&err), 0);
	assert_int_equal(pool_nr(1), 356);
	/* and post-stop leaves them too */
	assert_int_equal(poststop(&err), 0);
	assert_int_equal(pool_nr(1), 100);
}

static void test_remedy_text(void **state)
{
	struct res_plan rp;
	struct hp_pool_plan pools[3] = {
	    {.size_mib = 2, .kb = 2048, .node = 0, .pages = 512},
	    {.size_mib = 1024, .kb = 1048576, .node = 0, .pages = 2},
	    {.size_mib = 1024, .kb = 1048576, .node = 1, .pages = 2},
	};
	char *s;

	(void)state;
	memset(&rp, 0, sizeof(rp));
	rp.pools = pools;
	rp.n_pools = 3;
	s = hp_remedy(&rp);
	assert_string_equal(
	    s, "hugepagesz=1G hugepages=0:2,1:2 hugepagesz=2M hugepages=0:512");
	free(s);
	/* a host of one node: the plain count, the form Proxmox reads back as
	 * the boot value (hugepages_default_nr_hugepages) */
	rp.n_pools = 1;
	s = hp_remedy(&rp);
	assert_string_equal(s, "hugepagesz=2M hugepages=512");
	free(s);
}

/* ---- isolation ------------------------------------------------------------------ */

static const char cgroups[] =
    "file /sys/fs/cgroup/cgroup.controllers cpuset cpu io memory\n"
    "file /sys/fs/cgroup/cgroup.subtree_control cpuset cpu memory\n"
    "file /sys/fs/cgroup/cgroup.procs 1\n"
    "file /sys/fs/cgroup/system.slice/cgroup.procs 100\n"
    "file /sys/fs/cgroup/system.slice/cpuset.cpus \\n\n"
    "file /sys/fs/cgroup/system.slice/cpuset.cpus.effective 0-3\\n\n"
    "file /sys/fs/cgroup/user.slice/cgroup.procs 200\n"
    "file /sys/fs/cgroup/user.slice/cpuset.cpus 0-2\\n\n"
    "file /sys/fs/cgroup/user.slice/cpuset.cpus.effective 0-2\\n\n"
    "file /sys/fs/cgroup/qemu.slice/cgroup.procs \n"
    "file /sys/fs/cgroup/qemu.slice/cgroup.subtree_control cpuset\n"
    "file /sys/fs/cgroup/qemu.slice/100.scope/cgroup.procs 4242\n"
    "file /sys/fs/cgroup/qemu.slice/100.scope/cpuset.cpus \\n\n"
    "file /sys/fs/cgroup/qemu.slice/101.scope/cgroup.procs 5000\n"
    "file /sys/fs/cgroup/qemu.slice/101.scope/cpuset.cpus \\n\n"
    "file /sys/fs/cgroup/qemu.slice/101.scope/cpuset.cpus.effective 0-3\\n\n"
    "file /var/run/qemu-server/100.pid 4242\n"
    "mkdir /proc/4242\n"
    "task 4242 4242 kvm cpus=0-3\n"
    "task 4242 4250 CPU 0/KVM cpus=0-3\n"
    "task 4242 4251 CPU 1/KVM cpus=0-3\n"
    "file /etc/vfiohook.conf [vm 100]\\npin = auto\\nisolate = on\\n\n";

static char *cpus_of(const char *cg)
{
	char *s = NULL;

	assert_int_equal(host_read(&s, "/sys/fs/cgroup/%s/cpuset.cpus", cg), 0);
	return s;
}

static void assert_cpus(const char *cg, const char *want)
{
	char *s = cpus_of(cg);

	if (strcmp(s, want) != 0)
		fail_msg("%s/cpuset.cpus is '%s', want '%s'", cg, s, want);
	free(s);
}

static void test_isolate_and_restore(void **state)
{
	struct poststart_result res;
	struct journal *j = NULL;
	char *err = NULL;

	assert_int_equal(fx_spec(*state, cgroups), 0);
	conf("memory: 1024\ncores: 2\n");
	assert_int_equal(lifecycle_poststart(100, &res, &err), 0);
	/* auto: node 1's core (CPU 0's core is the host's) */
	assert_string_equal(res.cpus, "2-3");
	assert_int_equal(res.pinned, 2);
	assert_int_equal(res.isolated, 3); /* no init.scope here */
	poststart_result_clear(&res);
	assert_cpus("system.slice", "0-1");
	assert_cpus("user.slice", "0-1");
	assert_cpus("qemu.slice/101.scope", "0-1");
	assert_cpus("qemu.slice/100.scope", ""); /* the VM's own scope keeps them */
	assert_false(host_exists("/sys/fs/cgroup/init.scope/cpuset.cpus"));
	/* the journal holds what was there, and the vCPUs' CPUs */
	assert_int_equal(journal_load(100, &j, &err), 0);
	assert_string_equal(j->phase, "post-start");
	assert_true(j->complete);
	assert_int_equal(journal_section(j, "isolate", false)->n, 5);
	assert_int_equal(journal_section(j, "cpus", false)->n, 3);
	journal_free(j);
	/* post-stop puts back exactly what was there */
	assert_int_equal(poststop(&err), 0);
	assert_cpus("system.slice", "");
	assert_cpus("user.slice", "0-2");
	assert_cpus("qemu.slice/101.scope", "");
	assert_false(host_exists("/run/vfiohook/100.json"));
}

/* A value changed by someone else meanwhile: only our CPUs come back. */
static void test_isolate_changed_meanwhile(void **state)
{
	struct poststart_result res;
	char *err = NULL;

	assert_int_equal(fx_spec(*state, cgroups), 0);
	conf("memory: 1024\ncores: 2\n");
	assert_int_equal(lifecycle_poststart(100, &res, &err), 0);
	poststart_result_clear(&res);
	assert_int_equal(host_write("1", "/sys/fs/cgroup/user.slice/cpuset.cpus"), 0);
	assert_int_equal(poststop(&err), 0);
	assert_cpus("user.slice", "1-2"); /* 2 was ours to take: it had 0-2 */
	assert_cpus("system.slice", "");
}

/* A journal written by a post-start killed after its intent: undone from
 * the journal alone. */
static void test_isolate_from_journal(void **state)
{
	static const char killed[] =
	    "{\"version\":2,\"vmid\":100,\"phase\":\"post-start\",\"complete\":false,"
	    "\"started\":1,\"devices\":[],\"sections\":{\"isolate\":["
	    "{\"subject\":\"subtree:/\",\"state\":\"applied\",\"via\":\"subtree\",\"name\":\"\","
	    "\"was\":\"on\"},"
	    "{\"subject\":\"system.slice\",\"state\":\"applied\",\"via\":\"cgroup\","
	    "\"name\":\"system.slice\",\"orig\":\"\",\"set\":\"0-1\",\"removed\":\"2-3\"},"
	    "{\"subject\":\"user.slice\",\"state\":\"applying\",\"via\":\"cgroup\","
	    "\"name\":\"user.slice\",\"orig\":\"0-2\",\"set\":\"0-1\",\"removed\":\"2\"},"
	    "{\"subject\":\"../../etc\",\"state\":\"applied\",\"via\":\"cgroup\","
	    "\"name\":\"../../etc\",\"orig\":\"x\",\"set\":\"0\"}]}}";
	char *err = NULL;

	assert_int_equal(fx_spec(*state, cgroups), 0);
	conf("memory: 1024\n");
	assert_int_equal(host_write("0-1", "/sys/fs/cgroup/system.slice/cpuset.cpus"), 0);
	assert_int_equal(host_write("0-1", "/sys/fs/cgroup/user.slice/cpuset.cpus"), 0);
	assert_int_equal(journal_dir_ensure(&err), 0);
	assert_int_equal(
	    host_write_atomic(killed, strlen(killed), 0600, "/run/vfiohook/100.json"), 0);
	assert_int_equal(poststop(&err), 0);
	assert_cpus("system.slice", "");
	assert_cpus("user.slice", "0-2");
}

static void test_poststart_refuses_loudly(void **state)
{
	struct poststart_result res;
	char *err = NULL;

	assert_int_equal(fx_spec(*state, cgroups), 0);
	/* 4 vCPUs: node 1 has one free core */
	conf("memory: 1024\ncores: 4\n");
	assert_int_equal(lifecycle_poststart(100, &res, &err), -EINVAL);
	assert_non_null(strstr(err, "found 2 CPU(s) in whole free cores for 4 vCPUs"));
	free(err);
	poststart_result_clear(&res);
	/* nothing was isolated */
	assert_cpus("system.slice", "");
	assert_false(host_exists("/run/vfiohook/100.json"));
}

/* irq = on for a VM without devices: nothing to steer, nothing wrong; off
 * altogether: post-start does nothing */
static void test_poststart_nothing_to_do(void **state)
{
	struct poststart_result res;
	char *err = NULL;

	assert_int_equal(fx_spec(*state, cgroups), 0);
	conf("memory: 1024\ncores: 2\n");
	assert_int_equal(host_write("[vm 100]\nirq = on\n", "/etc/vfiohook.conf"), 0);
	assert_int_equal(lifecycle_poststart(100, &res, &err), 0);
	assert_int_equal(res.irqs, 0);
	assert_false(res.watcher);
	poststart_result_clear(&res);
	assert_int_equal(host_write("[vm 100]\npin = off\n", "/etc/vfiohook.conf"), 0);
	assert_int_equal(lifecycle_poststart(100, &res, &err), 0);
	assert_true(res.nothing);
	poststart_result_clear(&res);
	assert_false(host_exists("/run/vfiohook/100.json"));
}

/* ---- interrupts ------------------------------------------------------------------ */

static void test_irq_parse(void **state)
{
	static const char text[] =
	    "           CPU0       CPU1       CPU2       CPU3       \n"
	    "  0:        108          0          0          0  IR-IO-APIC   2-edge      timer\n"
	    " 45:          0          0         10          0  IR-PCI-MSI 524288-edge      vfio-msix[0](0000:81:00.0)\n"
	    " 46:          0          0          0          0  IR-PCI-MSI 524289-edge      vfio-msix[12](0000:81:00.0)\n"
	    " 47:          0          0          0          0  IR-PCI-MSI 524290-edge      vfio-msi[0](0000:82:00.0)\n"
	    " 48:          0          0          0          0  IR-PCI-MSI 524291-edge      vfio-msix[0](0000:81:00.0)x\n"
	    " 49:          0          0          0          0  IR-IO-APIC  16-fasteoi   vfio-intx(0000:81:00.0)\n"
	    "NMI:          0          0          0          0   Non-maskable interrupts\n";
	struct strv bdfs = {0};
	struct vfio_irq *v = NULL;
	size_t n = 0;

	(void)state;
	strv_add(&bdfs, "0000:81:00.0");
	assert_int_equal(irq_parse_vfio(text, &bdfs, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].irq, 45);
	assert_string_equal(v[1].name, "vfio-msix[12](0000:81:00.0)");
	assert_string_equal(v[1].bdf, "0000:81:00.0");
	free(v);
	strv_add(&bdfs, "0000:82:00.0");
	assert_int_equal(irq_parse_vfio(text, &bdfs, &v, &n), 0);
	assert_int_equal(n, 3);
	free(v);
	assert_int_equal(irq_parse_vfio("", &bdfs, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	strv_clear(&bdfs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plan_pools, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raise_and_give_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_pages_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_what_was_added, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proxmox_shrank, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keephugepages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compacts_when_short, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short_refuses_and_puts_back, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_drop_caches_only_when_allowed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_promised_pages, setup, teardown),
	    cmocka_unit_test(test_remedy_text),
	    cmocka_unit_test_setup_teardown(test_isolate_and_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_isolate_changed_meanwhile, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_isolate_from_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poststart_refuses_loudly, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_poststart_nothing_to_do, setup,
					    teardown),
	    cmocka_unit_test(test_irq_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
