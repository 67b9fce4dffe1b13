// SPDX-License-Identifier: GPL-2.0-or-later
/* plan_make() is pure: drive it with hand-made observations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/util.h"
#include "engine/plan.h"

static struct pdev *mkdev(const char *bdf, int group, const char *driver)
{
	struct pdev *d = xcalloc(1, sizeof(*d));

	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	d->group = group;
	d->driver = driver ? xstrdup(driver) : NULL;
	d->numa_node = -1;
	d->boot_vga = -1;
	return d;
}

static struct obs_dev *add(struct observation *o, const char *bdf, int group,
			   const char *driver, int hostpci, int via)
{
	struct obs_dev *od;

	o->devs = xrealloc(o->devs, (o->n_devs + 1) * sizeof(*o->devs));
	od = &o->devs[o->n_devs++];
	memset(od, 0, sizeof(*od));
	od->dev = mkdev(bdf, group, driver);
	od->hostpci = hostpci;
	od->via = via;
	return od;
}

static struct usage_reason *use(struct obs_dev *od, enum usage_kind kind,
				const char *what, unsigned vmid)
{
	struct usage_list *l = &od->usage;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n].kind = kind;
	l->v[l->n].what = xstrdup(what);
	l->v[l->n].other_vmid = vmid;
	return &l->v[l->n++];
}

static struct observation *obs_new(void)
{
	struct observation *o = xcalloc(1, sizeof(*o));

	o->vmid = 100;
	o->node = xstrdup("pve1");
	return o;
}

static struct plan *mkplan(struct observation *o, enum policy_steal steal)
{
	struct policy pol;
	struct plan *p = NULL;

	policy_defaults(&pol);
	pol.steal = steal;
	assert_int_equal(plan_make(o, &pol, &p), 0);
	policy_clear(&pol);
	return p;
}

static void test_gpu_and_audio_bind(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	add(o, "0000:01:00.0", 13, "nvidia", 0, -1);
	add(o, "0000:01:00.1", 13, "snd_hda_intel", -1, 0);
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_true(p->ok);
	assert_int_equal(p->devs[0].action, PLAN_BIND);
	assert_int_equal(p->devs[1].action, PLAN_BIND);
	assert_non_null(strstr(p->devs[1].reason, "same IOMMU group"));
	assert_non_null(strstr(p->devs[1].reason, "0000:01:00.0"));
	plan_free(p);
	observation_free(o);
}

static void test_states_that_need_nothing(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	add(o, "0000:01:00.0", 13, "vfio-pci", 0, -1);
	add(o, "0000:01:00.1", 13, "mlx5_vfio_pci", -1, 0)->dev->vfio_dev = true;
	add(o, "0000:00:01.0", 13, "pcieport", -1, 0)->dev->bridge = true;
	/* unbound and pci-stub companions are viable for QEMU, but Proxmox
	 * binds every non-bridge member, so the plan binds them first */
	add(o, "0000:01:00.2", 13, NULL, -1, 0);
	add(o, "0000:01:00.3", 13, "pci-stub", -1, 0);
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_true(p->ok);
	assert_int_equal(p->devs[0].action, PLAN_NONE);
	/* a vfio variant driver is not vfio-pci to Proxmox: it rebinds it
	 * unless driver=keep, so the plan binds it, and says so */
	assert_int_equal(p->devs[1].action, PLAN_BIND);
	assert_non_null(strstr(p->devs[1].reason, "mlx5_vfio_pci"));
	assert_non_null(strstr(p->devs[1].reason, "driver=keep"));
	assert_int_equal(p->devs[2].action, PLAN_SKIP);
	assert_int_equal(p->devs[3].action, PLAN_BIND);
	assert_int_equal(p->devs[4].action, PLAN_BIND);
	plan_free(p);
	observation_free(o);
}

static void test_host_needs_companion(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	add(o, "0000:03:00.0", 7, "xhci_hcd", 0, -1);
	use(add(o, "0000:04:00.0", 7, "nvme", -1, 0), USAGE_MOUNT,
	    "nvme0n1p2 is mounted at /", 0);
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_false(p->ok);
	assert_int_equal(p->devs[1].action, PLAN_REFUSE);
	assert_non_null(strstr(p->devs[1].reason, "mounted at /"));
	assert_non_null(strstr(p->devs[1].reason, "group 7"));
	assert_non_null(strstr(p->devs[1].reason, "steal"));
	plan_free(p);

	/* steal = force takes it, loudly */
	p = mkplan(o, POLICY_STEAL_FORCE);
	assert_true(p->ok);
	assert_int_equal(p->devs[1].action, PLAN_BIND);
	assert_int_equal(p->n_forced, 1);
	assert_non_null(strstr(p->devs[1].reason, "steal=force"));
	plan_free(p);
	observation_free(o);
}

static void test_hostpci_device_itself_used(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	use(add(o, "0000:02:00.0", 9, "igb", 0, -1), USAGE_NET_MASTER,
	    "eno1 is a port of vmbr0", 0);
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_false(p->ok);
	assert_int_equal(p->devs[0].action, PLAN_REFUSE);
	assert_non_null(strstr(p->devs[0].reason, "remove hostpci0"));
	plan_free(p);
	observation_free(o);
}

static void test_conflicts_with_other_vms(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	use(add(o, "0000:01:00.0", 13, "vfio-pci", 0, -1), USAGE_VFIO_OPEN,
	    "/dev/vfio/13 is open by kvm (VM 103)", 103);
	add(o, "0000:02:00.0", 14, "nvidia", 1, -1)->reserved_by = 101;
	add(o, "0000:03:00.0", 15, "nvidia", 2, -1)->held_by = 102;
	p = mkplan(o, POLICY_STEAL_FORCE); /* force never overrides another VM */
	assert_false(p->ok);
	assert_int_equal(p->devs[0].action, PLAN_REFUSE);
	assert_non_null(strstr(p->devs[0].reason, "VM 103"));
	assert_int_equal(p->devs[1].action, PLAN_REFUSE);
	assert_non_null(strstr(p->devs[1].reason, "VM 101"));
	assert_int_equal(p->devs[2].action, PLAN_REFUSE);
	assert_non_null(strstr(p->devs[2].reason, "VM 102"));
	plan_free(p);
	observation_free(o);
}

static void test_keep_mdev_template_no_iommu(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	add(o, "0000:01:00.0", 13, "nvidia", 0, -1)->keep = true;
	add(o, "0000:02:00.0", 14, "i915", 1, -1)->mdev = true;
	add(o, "0000:03:00.0", -1, "igb", 2, -1);
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_int_equal(p->devs[0].action, PLAN_KEEP);
	assert_int_equal(p->devs[1].action, PLAN_SKIP);
	assert_int_equal(p->devs[2].action, PLAN_REFUSE);
	assert_non_null(strstr(p->devs[2].reason, "intel_iommu=on"));
	assert_false(p->ok);
	plan_free(p);

	o->is_template = true;
	p = mkplan(o, POLICY_STEAL_SAFE);
	for (size_t i = 0; i < p->n_devs; i++)
		assert_int_equal(p->devs[i].action, PLAN_SKIP);
	assert_true(p->ok);
	plan_free(p);
	observation_free(o);
}

static void test_problems_block(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	add(o, "0000:01:00.0", 13, "nvidia", 0, -1);
	observation_add_problem(o, "device-missing", "hostpci1",
				"no PCI device found for '%s'", "09:00");
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_false(p->ok);
	assert_int_equal(p->n_problems, 1);
	assert_string_equal(p->problems[0].id, "hostpci1");
	assert_string_equal(p->problems[0].code, "device-missing");
	assert_int_equal(p->devs[0].action, PLAN_BIND);
	plan_free(p);
	observation_free(o);
}

/* What the host runs on is never taken: not by steal = force, and the
 * refusal says what to do instead, without a word of force. */
static void test_critical_never_forced(void **state)
{
	struct observation *o = obs_new();
	struct obs_dev *nvme;
	struct plan *p;

	(void)state;
	add(o, "0000:03:00.0", 7, "xhci_hcd", 0, -1);
	nvme = add(o, "0000:04:00.0", 7, "nvme", -1, 0);
	use(nvme, USAGE_MOUNT,
	    "its disk nvme0n1 (partition nvme0n1p1) is mounted at /boot/efi", 0);
	use(nvme, USAGE_MOUNT, "its disk nvme0n1 (partition nvme0n1p2) is mounted at /",
	    0)
	    ->critical = true;
	use(add(o, "0000:05:00.0", 8, "igb", 1, -1), USAGE_NET_MASTER,
	    "its network interface eno1 is a port of bridge vmbr0, which carries the node's own address",
	    0)
	    ->critical = true;
	for (int force = 0; force < 2; force++) {
		p = mkplan(o, force ? POLICY_STEAL_FORCE : POLICY_STEAL_SAFE);
		assert_false(p->ok);
		assert_int_equal(p->n_forced, 0);
		assert_int_equal(p->devs[1].action, PLAN_REFUSE);
		assert_int_equal(p->devs[1].why, PLAN_WHY_CRITICAL);
		/* the critical use first, the other one after it */
		assert_true(
		    strstr(
			p->devs[1].reason,
			"the host cannot run without it: its disk nvme0n1 (partition nvme0n1p2) is mounted at /; also: ") ==
		    p->devs[1].reason);
		assert_non_null(strstr(p->devs[1].reason, "/boot/efi"));
		assert_non_null(
		    strstr(p->devs[1].reason, "move that card to another slot"));
		assert_non_null(strstr(p->devs[1].reason, "ACS override is no fix"));
		assert_null(strstr(p->devs[1].reason, "force"));
		assert_null(strstr(p->devs[1].reason, "steal"));
		/* the entry device itself: remove it, nothing else */
		assert_int_equal(p->devs[2].action, PLAN_REFUSE);
		assert_int_equal(p->devs[2].why, PLAN_WHY_CRITICAL);
		assert_non_null(strstr(p->devs[2].reason, "remove hostpci1"));
		assert_null(strstr(p->devs[2].reason, "force"));
		plan_free(p);
	}
	observation_free(o);
}

/* Programs on the NVIDIA driver: unbinding under them hangs, so force does
 * not take the GPU either; the refusal names them. */
static void test_driver_clients_never_forced(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	use(add(o, "0000:01:00.0", 13, "nvidia", 0, -1), USAGE_NVIDIA_OPEN,
	    "/dev/nvidiactl is open by nvidia-persistenced (pid 812); stop it: 'systemctl stop nvidia-persistenced'",
	    0);
	add(o, "0000:01:00.1", 13, "snd_hda_intel", -1, 0);
	p = mkplan(o, POLICY_STEAL_FORCE);
	assert_false(p->ok);
	assert_int_equal(p->n_forced, 0);
	assert_int_equal(p->devs[0].action, PLAN_REFUSE);
	assert_int_equal(p->devs[0].why, PLAN_WHY_DRIVER_CLIENTS);
	assert_non_null(strstr(p->devs[0].reason, "nvidia-persistenced (pid 812)"));
	assert_non_null(strstr(p->devs[0].reason, "systemctl stop nvidia-persistenced"));
	assert_null(strstr(p->devs[0].reason, "force"));
	assert_int_equal(p->devs[1].action, PLAN_BIND);
	assert_int_equal(p->devs[1].why, PLAN_WHY_NONE);
	plan_free(p);
	observation_free(o);
}

/* A keep entry in a bound entry's group is bound by Proxmox all the same:
 * planned like a companion, and its reason says keep cannot protect it. */
static void test_keep_in_bound_group(void **state)
{
	struct observation *o = obs_new();
	struct obs_dev *od;
	struct plan *p;

	(void)state;
	add(o, "0000:02:00.0", 15, "igb", 0, -1);
	od = add(o, "0000:02:00.1", 15, "igb", 1, 0);
	od->keep_lost = true;
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_true(p->ok);
	assert_int_equal(p->devs[1].action, PLAN_BIND);
	assert_non_null(strstr(p->devs[1].reason, "driver=keep cannot protect it here"));
	assert_non_null(strstr(p->devs[1].reason, "0000:02:00.0 (hostpci0)"));
	assert_non_null(strstr(p->devs[1].reason, "igb -> vfio-pci"));
	plan_free(p);

	use(od, USAGE_NET_MASTER, "its network interface eno2 is a port of bridge vmbr1",
	    0);
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_false(p->ok);
	assert_int_equal(p->devs[1].action, PLAN_REFUSE);
	assert_int_equal(p->devs[1].why, PLAN_WHY_HOST_USE);
	assert_non_null(strstr(p->devs[1].reason,
			       "shares IOMMU group 15 with 0000:02:00.0 (hostpci0)"));
	assert_non_null(
	    strstr(p->devs[1].reason, "driver=keep on hostpci1 cannot protect it here"));
	plan_free(p);
	observation_free(o);
}

/* Reasons never repeat the id printed before them; the class of each
 * refusal is kept for the summary. */
static void test_prefixes_and_classes(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	add(o, "0000:01:00.0", 13, "nvidia", 0, -1);
	add(o, "0000:03:00.0", -1, "igb", 1, -1);
	add(o, "0000:04:00.0", 16, "igb", 2, -1)->reserved_by = 101;
	observation_add_problem(o, "device-missing", "hostpci3",
				"hostpci3: no PCI device found for '%s'", "09:00");
	observation_add_problem(o, "mapping-invalid", "hostpci1", "hostpci10: not mine");
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_string_equal(p->devs[0].reason, "nvidia -> vfio-pci");
	assert_int_equal(p->devs[1].why, PLAN_WHY_NO_IOMMU);
	assert_int_equal(p->devs[2].why, PLAN_WHY_OTHER_VM);
	assert_string_equal(p->problems[0].message, "no PCI device found for '09:00'");
	assert_int_equal(p->problems[0].kind, OBS_PROBLEM_DEVICE);
	assert_string_equal(p->problems[1].message, "hostpci10: not mine");
	assert_int_equal(p->problems[1].kind, OBS_PROBLEM_MAPPING);
	assert_string_equal(p->problems[1].code, "mapping-invalid");
	plan_free(p);
	observation_free(o);
}

/* A running VM's devices are in use by it: said, not refused. */
static void test_running_vm(void **state)
{
	struct observation *o = obs_new();
	struct plan *p;

	(void)state;
	o->running_pid = 4242;
	add(o, "0000:01:00.0", 13, "vfio-pci", 0, -1);
	p = mkplan(o, POLICY_STEAL_SAFE);
	assert_true(p->ok);
	assert_int_equal(p->devs[0].action, PLAN_NONE);
	assert_non_null(strstr(p->devs[0].reason, "in use by this VM, which is running"));
	plan_free(p);
	observation_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gpu_and_audio_bind),
	    cmocka_unit_test(test_states_that_need_nothing),
	    cmocka_unit_test(test_host_needs_companion),
	    cmocka_unit_test(test_hostpci_device_itself_used),
	    cmocka_unit_test(test_conflicts_with_other_vms),
	    cmocka_unit_test(test_keep_mdev_template_no_iommu),
	    cmocka_unit_test(test_problems_block),
	    cmocka_unit_test(test_critical_never_forced),
	    cmocka_unit_test(test_driver_clients_never_forced),
	    cmocka_unit_test(test_keep_in_bound_group),
	    cmocka_unit_test(test_prefixes_and_classes),
	    cmocka_unit_test(test_running_vm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
