// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The hook phases as Proxmox calls them (proxmox-facts.md):
 *   pre-start   observe → plan → apply → verify; non-zero aborts the start
 *   post-start  nothing yet
 *   pre-stop    nothing yet
 *   post-stop   reset, then give devices back (also `vfiohook release VMID`)
 *
 * The journal /run/vfiohook/<vmid>.json holds each device's driver before
 * we touched it and the intent of every step before the step, so a run
 * killed at any point is finished or undone by the next one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "cli.h"
#include "engine/observe.h"
#include "pci/bind.h"
#include "pci/kmod.h"
#include "pci/reset.h"
#include "pci/usage.h"
#include "state/journal.h"
#include "state/lock.h"

static int save(struct journal *j)
{
	_cleanup_free_ char *err = NULL;
	int r = journal_save(j, &err);

	if (r < 0)
		log_err("%s", err ? err : "cannot write the journal");
	return r;
}

static void set_phase(struct journal *j, const char *phase, bool complete)
{
	free(j->phase);
	j->phase = xstrdup(phase);
	j->complete = complete;
}

/*
 * Who else holds the device, as a sentence, or NULL: another VM's journal,
 * or a process with its vfio group open (our own QEMU has exited by
 * post-stop, and `release` refuses while the VM runs).
 */
static char *other_holder(struct usage_ctx *u, const struct holders *h,
			  const struct jdev *jd)
{
	struct usage_list open = {0};
	unsigned holder = holders_find(h, jd->bdf);
	_cleanup_free_ char *g = NULL;
	char *why = NULL;

	if (holder)
		return xasprintf("VM %u holds it now", holder);
	if (u &&
	    host_readlink_base(&g, "/sys/bus/pci/devices/%s/iommu_group", jd->bdf) == 0 &&
	    usage_check_vfio_group(u, atoi(g), &open) == 0 && open.n > 0)
		why = xstrdup(open.v[0].what);
	usage_list_clear(&open);
	return why;
}

/* What post-stop does with one journaled device. */
enum gb_kind {
	GB_DONE,  /* already given back */
	GB_LEAVE, /* not ours to touch (gone, another holder, found on vfio-pci) */
	GB_STAY,  /* reset, then stays on vfio-pci */
	GB_MOVE,  /* reset, then to *target (NULL: the kernel's choice, or none) */
};

/*
 * Decide, without changing anything, what to do with jd under pol.  *why
 * (allocated, may stay NULL) says it for the log; for GB_MOVE, *target and
 * *probe are the arguments of bind_give_back().
 */
static enum gb_kind decide(const struct jdev *jd, const struct policy *pol,
			   struct usage_ctx *u, const struct holders *h,
			   const char **target, bool *probe, char **why)
{
	*target = NULL;
	*probe = true;
	*why = NULL;
	if (jd->state == JDEV_RELEASED)
		return GB_DONE;
	if (!host_exists("/sys/bus/pci/devices/%s", jd->bdf)) {
		*why = xasprintf(
		    "%s is gone from the host (removed or hot-unplugged); nothing to give back",
		    jd->bdf);
		return GB_LEAVE;
	}
	*why = other_holder(u, h, jd);
	if (*why) {
		char *w = xasprintf("%s: left alone: %s", jd->bdf, *why);
		free(*why);
		*why = w;
		return GB_LEAVE;
	}
	if (jd->state == JDEV_UNTOUCHED && pol->rebind != POLICY_REBIND_HOST)
		return GB_LEAVE;
	if (pol->rebind == POLICY_REBIND_NEVER) {
		*why = xasprintf("%s: stays on vfio-pci (rebind = never)", jd->bdf);
		return GB_STAY;
	}
	if (pol->rebind == POLICY_REBIND_RESTORE) {
		if (streq(jd->orig_driver, "vfio-pci")) {
			*why = xasprintf(
			    "%s: stays on vfio-pci, where it was before the VM started",
			    jd->bdf);
			return GB_STAY;
		}
		*target = jd->orig_driver;
		*probe = jd->orig_driver != NULL;
	}
	return GB_MOVE;
}

/*
 * Give back every device the journal holds, per policy.  `reset` is false
 * when undoing a failed pre-start (QEMU never ran).  With dry_run, only say
 * what would be done.  Returns 0 when every device was handled (the journal
 * is then removed), -1 otherwise.
 */
static int give_back(struct journal *j, const struct policy *pol, bool reset,
		     const char *phase, bool dry_run)
{
	struct strv ours = {0};
	struct usage_ctx *u = NULL;
	struct holders *holders = holders_load(j->vmid);
	int failed = 0;

	if (usage_open(&u) < 0)
		u = NULL;
	if (!dry_run) {
		set_phase(j, phase, false);
		if (save(j) < 0) {
			usage_close(u);
			holders_free(holders);
			return -1;
		}
	}
	for (size_t i = 0; i < j->n_devs; i++)
		strv_add(&ours, j->devs[i].bdf);
	for (size_t i = 0; i < j->n_devs; i++) {
		struct jdev *jd = &j->devs[i];
		_cleanup_free_ char *err = NULL, *drv = NULL, *why = NULL;
		const char *target;
		bool probe;
		enum gb_kind k = decide(jd, pol, u, holders, &target, &probe, &why);
		int r;

		if (dry_run) {
			if (k == GB_LEAVE || k == GB_STAY)
				log_info("would leave %s", why ? why : jd->bdf);
			else if (k == GB_MOVE)
				log_info(
				    "%s: would be reset if needed and given back to %s",
				    jd->bdf,
				    target  ? target
				    : probe ? "the kernel's choice of driver"
					    : "no driver");
			continue;
		}
		if (k == GB_DONE)
			continue;
		if (k == GB_LEAVE) {
			if (why)
				log_warn("%s", why);
			jd->state = JDEV_RELEASED;
			continue;
		}
		drv = bind_current_driver(jd->bdf);
		if (reset && streq(drv, "vfio-pci")) {
			r = reset_device(jd->bdf, (enum reset_mode)pol->reset,
					 pol->reset_methods, &ours, &err);
			if (r < 0) {
				_cleanup_free_ char *hung = NULL;

				/* only a device that no longer answers is kept from
				 * the host's drivers; a failed reset of a healthy one
				 * is not worth stranding it on vfio-pci */
				if (reset_verify(jd->bdf, &hung) < 0) {
					log_err(
					    "%s; %s; it stays on vfio-pci so no host driver touches a hung device: reboot the host",
					    err, hung);
					failed++;
					continue;
				}
				log_warn(
				    "%s; the device still answers, giving it back anyway",
				    err);
			}
		}
		if (k == GB_STAY) {
			log_info("%s", why);
			jd->state = JDEV_RELEASED;
			continue;
		}
		jd->state = JDEV_RELEASING;
		if (save(j) < 0) {
			failed++;
			break;
		}
		free(err);
		err = NULL;
		r = bind_give_back(jd->bdf, target, probe, &err);
		if (r < 0) {
			log_err("%s", err);
			failed++;
			continue;
		}
		jd->state = JDEV_RELEASED;
		if (save(j) < 0) {
			failed++;
			break;
		}
	}
	strv_clear(&ours);
	usage_close(u);
	holders_free(holders);
	if (dry_run)
		return 0;
	if (failed) {
		save(j);
		return -1;
	}
	journal_remove(j->vmid);
	return 0;
}

static void load_policy(unsigned vmid, struct policy *pol)
{
	struct vm *vm = NULL;
	_cleanup_free_ char *err = NULL;

	policy_defaults(pol);
	if (vm_load(vmid, &vm, &err) < 0) {
		/* the VM may have been destroyed: the node-wide policy still applies */
		log_debug("%s", err ? err : "no VM config");
		free(err);
		err = NULL;
	}
	if (policy_load(vmid, vm ? vm->conf->description : NULL, pol, &err) < 0) {
		log_warn("%s; using the defaults", err);
		policy_clear(pol);
		policy_defaults(pol);
	}
	vm_free(vm);
}

/* post-stop for the VM of the loaded journal j (freed by the caller). */
static int release_journal(struct journal *j, const char *phase, bool by_hand,
			   bool dry_run)
{
	struct policy pol;
	int r;

	if (observe_vm_running(j->vmid)) {
		log_err(
		    "VM %u is running: its devices cannot be given back now; stop it first",
		    j->vmid);
		return EXIT_REFUSED;
	}
	load_policy(j->vmid, &pol);
	log_info("VM %u: %s %zu device(s) (rebind = %s)", j->vmid,
		 dry_run ? "would give back" : "giving back", j->n_devs,
		 policy_rebind_name(pol.rebind));
	r = give_back(j, &pol, true, phase, dry_run);
	if (r == 0 && !dry_run)
		log_info("VM %u: all devices given back", j->vmid);
	else if (r < 0 && by_hand)
		log_err(
		    "VM %u: some devices could not be given back; the journal stays in /run/vfiohook/%u.json",
		    j->vmid, j->vmid);
	policy_clear(&pol);
	return r == 0 ? EXIT_OK : EXIT_REFUSED;
}

static int release(unsigned vmid, const char *phase, bool by_hand, bool dry_run)
{
	struct journal *j = NULL;
	_cleanup_free_ char *err = NULL;
	int r;

	r = journal_load(vmid, &j, &err);
	if (r == -ENOENT) {
		log_info("VM %u: no devices to give back (no journal in /run/vfiohook)",
			 vmid);
		return EXIT_OK;
	}
	if (r < 0) {
		log_err("%s", err);
		return EXIT_REFUSED;
	}
	r = release_journal(j, phase, by_hand, dry_run);
	journal_free(j);
	return r;
}

/* Undo what this pre-start did, after a failure. */
static void roll_back(struct journal *j, const struct policy *pol)
{
	struct policy undo = *pol;

	log_warn("VM %u: undoing what this start changed", j->vmid);
	undo.rebind = POLICY_REBIND_RESTORE;
	give_back(j, &undo, false, "pre-start", false);
}

static void log_refusal(const struct plan *p)
{
	log_err(
	    "refusing to start VM %u: starting it would take devices the host or another VM needs; nothing was changed",
	    p->vmid);
	for (size_t i = 0; i < p->n_devs; i++)
		if (p->devs[i].action == PLAN_REFUSE)
			log_err("%s: %s", p->devs[i].obs->dev->bdf, p->devs[i].reason);
	for (size_t i = 0; i < p->n_problems; i++)
		log_err("%s: %s", p->problems[i].id, p->problems[i].message);
}

static int pre_start(struct cli *c, unsigned vmid)
{
	struct plan_ctx pc;
	struct journal *j = NULL;
	_cleanup_free_ char *err = NULL;
	size_t n_bind = 0, n_vfio = 0;
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
	for (size_t i = 0; i < pc.plan->n_devs; i++) {
		enum plan_action a = pc.plan->devs[i].action;

		n_bind += a == PLAN_BIND;
		n_vfio += a == PLAN_BIND || a == PLAN_NONE;
	}
	if (pc.plan->ok && pc.plan->n_devs == 0) {
		log_info("VM %u has no hostpci devices: nothing to do", vmid);
		goto out;
	}
	plan_print_text(stdout, &pc);
	fflush(stdout);
	if (!pc.plan->ok) {
		log_refusal(pc.plan);
		r = EXIT_REFUSED;
		goto out;
	}
	if (c->dry_run)
		goto out;
	if (n_vfio == 0 && !j) {
		/* only keep/skip devices (driver=keep, mdev, template) */
		log_info("VM %u: no device to put on vfio-pci", vmid);
		goto out;
	}
	if (pc.plan->n_forced)
		log_warn(
		    "steal = force: taking %zu device(s) the host uses; the host may lose its disk, network or console",
		    pc.plan->n_forced);
	if (n_vfio) {
		free(err);
		err = NULL;
		if (kmod_ensure("vfio-pci", &err) < 0 ||
		    kmod_ensure("vfio_iommu_type1", &err) < 0) {
			log_err("%s", err);
			r = EXIT_REFUSED;
			goto out;
		}
	}
	if (!j) {
		j = journal_new(vmid);
		j->started = (long long)time(NULL);
	}
	set_phase(j, "pre-start", false);
	/* intents first: every device's original driver before anything moves */
	for (size_t i = 0; i < pc.plan->n_devs; i++) {
		const struct plan_dev *pd = &pc.plan->devs[i];
		const struct pdev *d = pd->obs->dev;
		struct jdev *jd;

		if (pd->action != PLAN_BIND && pd->action != PLAN_NONE)
			continue;
		jd = journal_dev(j, d->bdf);
		if (!jd) {
			jd = journal_dev_add(j, d->bdf);
			jd->orig_driver = d->driver ? xstrdup(d->driver) : NULL;
			jd->orig_override = d->override ? xstrdup(d->override) : NULL;
			jd->group = d->group;
			if (pd->obs->hostpci >= 0)
				jd->hostpci = xasprintf("hostpci%d", pd->obs->hostpci);
			jd->state = JDEV_UNTOUCHED;
		}
		if (pd->action == PLAN_BIND && jd->state != JDEV_BOUND)
			jd->state = JDEV_BINDING;
	}
	if (save(j) < 0) {
		r = EXIT_REFUSED;
		goto out;
	}
	for (size_t i = 0; i < pc.plan->n_devs; i++) {
		const struct plan_dev *pd = &pc.plan->devs[i];
		struct jdev *jd;

		if (pd->action != PLAN_BIND)
			continue;
		jd = journal_dev(j, pd->obs->dev->bdf);
		free(err);
		err = NULL;
		if (bind_to_vfio(jd->bdf, &err) < 0) {
			log_err("%s", err);
			roll_back(j, &pc.pol);
			log_err(
			    "VM %u was not started: %s could not be moved to vfio-pci",
			    vmid, jd->bdf);
			r = EXIT_REFUSED;
			goto out;
		}
		jd->state = JDEV_BOUND;
		if (save(j) < 0) {
			roll_back(j, &pc.pol);
			r = EXIT_REFUSED;
			goto out;
		}
	}
	/* verify: read back what the kernel did */
	for (size_t i = 0; i < pc.plan->n_devs; i++) {
		const struct plan_dev *pd = &pc.plan->devs[i];
		_cleanup_free_ char *drv = NULL;
		struct jdev *jd;

		if (pd->action != PLAN_BIND && pd->action != PLAN_NONE)
			continue;
		drv = bind_current_driver(pd->obs->dev->bdf);
		if (!streq(drv, "vfio-pci") &&
		    !(pd->action == PLAN_NONE && pd->obs->dev->vfio_dev && drv)) {
			log_err(
			    "%s is on %s, not vfio-pci, after binding; something else rebinds it (driverctl? a udev rule?)",
			    pd->obs->dev->bdf, drv ? drv : "no driver");
			roll_back(j, &pc.pol);
			r = EXIT_REFUSED;
			goto out;
		}
		/* a run killed after the kernel bound it but before the journal
		 * said so left it "binding": it is verified bound now */
		jd = journal_dev(j, pd->obs->dev->bdf);
		if (jd && jd->state == JDEV_BINDING)
			jd->state = JDEV_BOUND;
	}
	set_phase(j, "pre-start", true);
	if (save(j) < 0) {
		roll_back(j, &pc.pol);
		r = EXIT_REFUSED;
		goto out;
	}
	log_info("VM %u: %zu device(s) on vfio-pci (%zu moved), ready for QEMU", vmid,
		 n_vfio, n_bind);
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
	struct journal *j = NULL;
	struct policy pol;
	_cleanup_free_ char *err = NULL;
	int fd = -1;

	if (lock_global(&fd, &err) < 0) {
		log_err("%s", err);
		return;
	}
	if (journal_load(vmid, &j, &err) == 0) {
		load_policy(vmid, &pol);
		roll_back(j, &pol);
		policy_clear(&pol);
		journal_free(j);
	}
	lock_release(fd);
}

int hook_run(struct cli *c, unsigned vmid, const char *phase)
{
	_cleanup_free_ char *err = NULL;
	int fd = -1, r;

	if (streq(phase, "post-start") || streq(phase, "pre-stop")) {
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
