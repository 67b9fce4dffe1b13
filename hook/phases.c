// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The hook phases as Proxmox calls them (proxmox-facts.md):
 *   pre-start   observe → plan → apply → verify; non-zero aborts the start
 *   post-start  pin vCPUs, isolate, steer interrupts; Proxmox only warns on a
 *               non-zero exit, so what was not done is said loudly
 *   pre-stop    nothing yet
 *   post-stop   undo: isolation, hugepages, then reset and give devices back
 *               (also `vfiohook release VMID`)
 *
 * The work is the engine's (src/engine/lifecycle.h); this file takes the
 * global lock, finishes what an interrupted run left in the journal, and
 * turns results into the task log and an exit status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "cli.h"
#include "engine/lifecycle.h"
#include "engine/observe.h"
#include "engine/watcher.h"
#include "pve/runstate.h"
#include "state/journal.h"
#include "state/lock.h"

/* post-stop for the VM of the loaded journal j (freed by the caller). */
static int release_journal(struct journal *j, const char *phase, bool by_hand,
			   bool dry_run)
{
	_cleanup_free_ char *err = NULL;
	struct policy pol;
	long starting;
	int r;

	if (observe_vm_running(j->vmid)) {
		log_err(
		    "VM %u is running: its devices cannot be given back now; stop it first",
		    j->vmid);
		return EXIT_REFUSED;
	}
	starting = pve_vm_starting_pid(j->vmid);
	if (starting > 0) {
		log_err(
		    "VM %u is starting (QEMU pid %ld, no pid file yet): its devices cannot be given back from under it; wait for the start to end, or stop it with 'qm stop %u'",
		    j->vmid, starting, j->vmid);
		return EXIT_REFUSED;
	}
	lifecycle_policy(j->vmid, &pol);
	if (pol.log == POLICY_LOG_VERBOSE && log_get_level() < LOGL_DEBUG)
		log_setup(LOGL_DEBUG, true);
	log_msg(dry_run ? LOGL_INFO : LOGL_DEBUG, "VM %u: %s %zu device(s) (rebind = %s)",
		j->vmid, dry_run ? "would give back" : "giving back", j->n_devs,
		policy_rebind_name(pol.rebind));
	r = lifecycle_release(j, &pol, GB_POST_STOP, phase, dry_run, &err);
	if (r == 0 && !dry_run)
		log_info("VM %u: %s given back", j->vmid,
			 j->n_devs ? "devices" : "hugepages and CPUs");
	else if (r < 0) {
		log_err("%s", err);
		if (by_hand)
			log_err(
			    "VM %u: some devices could not be given back; the journal stays in /run/vfiohook/%u.json",
			    j->vmid, j->vmid);
	}
	policy_clear(&pol);
	return r == 0 ? EXIT_OK : EXIT_REFUSED;
}

static int release(unsigned vmid, const char *phase, bool by_hand, bool dry_run)
{
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_free_ char *err = NULL;
	int r = journal_load(vmid, &j, &err);

	if (r == -ENOENT) {
		log_info("VM %u: no devices to give back (no journal in /run/vfiohook)",
			 vmid);
		return EXIT_OK;
	}
	if (r < 0) {
		log_err("%s", err);
		return EXIT_REFUSED;
	}
	return release_journal(j, phase, by_hand, dry_run);
}

/* What a refusal's summary says for each class of reason, in this order. */
static const char *refusal_phrase(enum plan_why w)
{
	switch (w) {
	case PLAN_WHY_NO_IOMMU:
		return "the IOMMU is off, so no device can be passed through";
	case PLAN_WHY_OTHER_VM:
		return "another VM or process holds a device it needs";
	case PLAN_WHY_CRITICAL:
		return "it would take a device the host cannot run without";
	case PLAN_WHY_DRIVER_CLIENTS:
		return "programs on the host use its GPU through the NVIDIA driver";
	case PLAN_WHY_HOST_USE:
		return "it would take a device the host uses";
	case PLAN_WHY_NONE:
		break;
	}
	return NULL;
}

static const char *problem_phrase(enum obs_problem_kind k)
{
	switch (k) {
	case OBS_PROBLEM_DEVICE:
		return "a device it names is missing or unreadable";
	case OBS_PROBLEM_MAPPING:
		return "a PCI mapping it uses does not fit this host";
	case OBS_PROBLEM_CONFIG:
		return "its configuration has something Proxmox refuses at start";
	}
	return NULL;
}

/* The summary says the real reasons, then each refused device and each
 * problem once, devices named as lspci names them. */
static void log_refusal(const struct plan *p)
{
	_cleanup_free_ char *why = NULL;
	static const enum plan_why order[] = {
	    PLAN_WHY_NO_IOMMU,	     PLAN_WHY_CRITICAL, PLAN_WHY_OTHER_VM,
	    PLAN_WHY_DRIVER_CLIENTS, PLAN_WHY_HOST_USE,
	};
	static const enum obs_problem_kind korder[] = {
	    OBS_PROBLEM_DEVICE,
	    OBS_PROBLEM_MAPPING,
	    OBS_PROBLEM_CONFIG,
	};

	for (size_t k = 0; k < ARRAY_SIZE(korder); k++) {
		bool seen = false;

		for (size_t i = 0; i < p->n_problems && !seen; i++)
			seen = p->problems[i].kind == korder[k];
		if (seen) {
			char *n = xasprintf("%s%s%s", why ? why : "", why ? "; " : "",
					    problem_phrase(korder[k]));
			free(why);
			why = n;
		}
	}
	for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
		bool seen = false;

		for (size_t i = 0; i < p->n_devs && !seen; i++)
			seen = p->devs[i].action == PLAN_REFUSE &&
			       p->devs[i].why == order[k];
		if (seen) {
			char *n = xasprintf("%s%s%s", why ? why : "", why ? "; " : "",
					    refusal_phrase(order[k]));
			free(why);
			why = n;
		}
	}
	log_err("refusing to start VM %u: %s; nothing was changed", p->vmid,
		why ? why : "the plan says no");
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct pdev *d = p->devs[i].obs->dev;
		_cleanup_free_ char *name = NULL;

		if (p->devs[i].action != PLAN_REFUSE)
			continue;
		name = pdev_name(d);
		log_err("%s (%s): %s", d->bdf, name, p->devs[i].reason);
	}
	for (size_t i = 0; i < p->n_problems; i++)
		log_err("%s: %s", p->problems[i].id, p->problems[i].message);
}

static int pre_start(struct cli *c, unsigned vmid)
{
	struct prestart_result res;
	struct plan_ctx pc;
	struct journal *j = NULL;
	_cleanup_free_ char *err = NULL;
	int r;

	/* a release that was interrupted is finished first, from its journal */
	r = journal_load(vmid, &j, &err);
	if (r == 0 && !streq(j->phase, "pre-start") && !c->dry_run) {
		log_info("VM %u: finishing the interrupted %s first", vmid, j->phase);
		r = release_journal(j, "release", false, false);
		journal_free(j);
		j = NULL;
		if (r != EXIT_OK)
			return r;
	} else if (r < 0 && r != -ENOENT) {
		log_err("%s; remove it after checking the devices with 'vfiohook status'",
			err);
		return EXIT_REFUSED;
	}

	free(err);
	err = NULL;
	r = plan_ctx_make(&pc, vmid, &err);
	if (r < 0) {
		log_err("%s", err);
		r = r == PLAN_CTX_BAD_INPUT ? EXIT_USAGE : EXIT_REFUSED;
		goto out;
	}
	if (pc.pol.log == POLICY_LOG_VERBOSE && log_get_level() < LOGL_DEBUG)
		log_setup(LOGL_DEBUG, true);
	if (pc.plan->ok && pc.plan->n_devs == 0 && !pc.res.hp_reserve) {
		log_info("VM %u has no hostpci devices: nothing to do", vmid);
		goto out;
	}
	/* the whole plan only with -v (or log = verbose): the task log of a
	 * normal start has a line or two per device */
	if (log_get_level() >= LOGL_DEBUG || c->dry_run) {
		plan_print_text(stdout, &pc);
		fflush(stdout);
	}
	if (!pc.plan->ok) {
		log_refusal(pc.plan);
		r = EXIT_REFUSED;
		goto out;
	}
	if (c->dry_run)
		goto out;
	if (pc.plan->n_forced)
		log_warn(
		    "steal = force: taking %zu device(s) the host uses; the host may lose its disk, network or console",
		    pc.plan->n_forced);
	free(err);
	err = NULL;
	for (size_t i = 0; i < pc.res.warnings.n; i++)
		log_warn("VM %u: %s", vmid, pc.res.warnings.v[i]);
	r = lifecycle_prestart(&pc, j, &res, &err);
	j = NULL;
	if (r < 0) {
		log_err("%s", err);
		log_err(
		    "VM %u was not started: its devices or hugepages could not be made ready; nothing stays changed",
		    vmid);
		r = EXIT_REFUSED;
		goto out;
	}
	if (res.n_vfio == 0 && pc.plan->n_devs)
		log_info("VM %u: no device to put on vfio-pci", vmid);
	if (res.n_vfio || res.n_pools) {
		/* Proxmox runs no post-stop when the start fails after us: if
		 * no QEMU comes up in time, the watcher gives back what this
		 * start took (devices, hugepages) */
		unsigned timeout = pc.pol.start_timeout ? pc.pol.start_timeout
							: pve_start_timeout(pc.vm);

		free(err);
		err = NULL;
		if (watcher_start(vmid, res.started, timeout, pve_start_timeout(pc.vm),
				  &err) < 0)
			log_warn(
			    "%s: if the start fails, give back what it took with 'vfiohook release %u'",
			    err, vmid);
	}
	if (res.n_vfio)
		log_info("VM %u: %zu device(s) on vfio-pci (%zu moved), ready for QEMU",
			 vmid, res.n_vfio, res.n_moved);
	if (res.n_pools)
		log_info("VM %u: its hugepages are free on %zu pool(s), ready for QEMU",
			 vmid, res.n_pools);
	r = EXIT_OK;
out:
	journal_free(j);
	plan_ctx_free(&pc);
	return r;
}

/*
 * Issue 11 (chaining): undo a completed pre-start of vmid because the
 * chained hookscript failed; called from hook_chain() without the lock.
 */
static void undo_pre_start(unsigned vmid)
{
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_free_ char *err = NULL;
	struct policy pol;
	int fd = -1;

	if (lock_global(&fd, &err) < 0) {
		log_err("%s", err);
		return;
	}
	if (journal_load(vmid, &j, &err) == 0) {
		log_warn("VM %u: undoing what this start changed", vmid);
		lifecycle_policy(vmid, &pol);
		if (lifecycle_release(j, &pol, GB_ROLLBACK, "pre-start", false, &err) < 0)
			log_err("%s", err);
		policy_clear(&pol);
	}
	lock_release(fd);
}

/* post-start: Proxmox ignores its exit status beyond a warning, so what was
 * not done is said at error level, with what the VM runs with instead. */
static int post_start(struct cli *c, unsigned vmid)
{
	_cleanup_free_ char *err = NULL;
	struct poststart_result res;
	int r;

	if (c->dry_run) {
		log_info("VM %u: post-start changes nothing with --dry-run", vmid);
		return EXIT_OK;
	}
	r = lifecycle_poststart(vmid, &res, &err);
	if (r < 0) {
		log_err("VM %u: %s", vmid, err);
		log_err(
		    "VM %u: vCPU pinning, isolation or interrupt steering was NOT (fully) done; the VM runs as Proxmox started it otherwise",
		    vmid);
		poststart_result_clear(&res);
		return EXIT_REFUSED;
	}
	if (res.nothing)
		log_debug(
		    "VM %u: post-start: nothing to do (pin, isolate and irq are off)",
		    vmid);
	if (res.pinned)
		log_info("VM %u: %u vCPU thread(s) pinned; the VM's CPUs are %s", vmid,
			 res.pinned, res.cpus);
	if (res.isolated)
		log_info("VM %u: host tasks kept off CPU(s) %s (%u cgroup(s))", vmid,
			 res.cpus, res.isolated);
	if (res.irqs || res.watcher)
		log_info("VM %u: %u interrupt(s) steered to CPU(s) %s%s", vmid, res.irqs,
			 res.cpus, res.watcher ? "; more as the guest enables them" : "");
	poststart_result_clear(&res);
	return EXIT_OK;
}

int hook_run(struct cli *c, unsigned vmid, const char *phase)
{
	_cleanup_free_ char *err = NULL;
	int fd = -1, r;

	if (streq(phase, "pre-stop")) {
		log_debug("VM %u: %s: nothing to do", vmid, phase);
		r = EXIT_OK;
		goto chain;
	}
	if (!c->dry_run && lock_global(&fd, &err) < 0) {
		log_err("%s", err);
		return EXIT_REFUSED;
	}
	if (streq(phase, "pre-start"))
		r = pre_start(c, vmid);
	else if (streq(phase, "post-start"))
		r = post_start(c, vmid);
	else
		r = release(vmid, "post-stop", false, c->dry_run);
	if (fd >= 0)
		lock_release(fd);
chain:
	/* issue 11: the VM's former hookscript (policy chain) runs after our work */
	return hook_chain(c, vmid, phase, r, undo_pre_start);
}

int cmd_release(struct cli *c)
{
	_cleanup_free_ char *err = NULL;
	unsigned vmid;
	int fd = -1, r;

	if (c->argc != 1 || vmid_parse(c->argv[0], &vmid) < 0) {
		log_err(
		    "usage: vfiohook release VMID (VMID is a positive number such as 100)");
		return EXIT_USAGE;
	}
	if (!c->dry_run && lock_global(&fd, &err) < 0) {
		log_err("%s", err);
		return EXIT_REFUSED;
	}
	r = release(vmid, "release", true, c->dry_run);
	if (fd >= 0)
		lock_release(fd);
	return r;
}
