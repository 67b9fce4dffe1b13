/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM's device and resource lifecycle, as the hook phases and `release`
 * drive it:
 *
 *   lifecycle_prestart  journal the origins, move every planned device to
 *                       vfio-pci (groups side by side), verify; then raise
 *                       the hugepage pools the VM needs (hugestep.h); undo
 *                       all of it when any step fails
 *   lifecycle_poststart pin the vCPU threads, keep host tasks off the VM's
 *                       CPUs, steer the devices' interrupts (cpustep.h,
 *                       irqwatch.h); Proxmox only warns when it fails
 *   lifecycle_release   undo every kind the journal holds, newest kind
 *                       first (isolation, pinning, hugepages, then the
 *                       devices: reset where it helps and give back) for
 *                       post-stop, release, a rollback and the start
 *                       watcher, then remove the journal
 *
 * Messages for the task log are logged here at info (at most two lines per
 * device) and warning; errors are returned in *err for the program to log.
 */
#ifndef VFIOHOOK_LIFECYCLE_H
#define VFIOHOOK_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/giveback.h"
#include "engine/policy.h"
#include "engine/prepare.h"
#include "state/journal.h"

struct prestart_result {
	size_t n_vfio;	   /* devices on vfio-pci for the VM */
	size_t n_moved;	   /* of those, moved by this start */
	long long started; /* the journal's "started": identifies this start */
	size_t n_pools;	   /* hugepage pools that hold the VM's pages */
};

/*
 * Carry out pc's plan (which must be ok).  j is the VM's journal of an
 * interrupted pre-start to resume, or NULL; it is consumed.  On failure,
 * everything this start changed is given back (rollback) and *err says
 * what failed.  Returns 0, or -errno.
 */
int lifecycle_prestart(const struct plan_ctx *pc, struct journal *j,
		       struct prestart_result *res, char **err);

struct poststart_result {
	bool nothing;	   /* pin, isolate and irq are all off */
	unsigned pinned;   /* vCPU threads pinned */
	unsigned isolated; /* cgroups or units isolated */
	unsigned irqs;	   /* interrupts steered now */
	bool watcher;	   /* the interrupt watcher was left behind */
	char *cpus;	   /* the VM's CPUs, "2-3" (allocated) */
};

/*
 * post-start of vmid: pin, isolate, steer as the policy says, journaling
 * what isolation changed.  Returns 0, or -errno with *err saying what was
 * not done (whatever was done stays, and post-stop undoes it).
 */
int lifecycle_poststart(unsigned vmid, struct poststart_result *res, char **err);
void poststart_result_clear(struct poststart_result *res);

/*
 * Give back what j holds (j is not freed).  phase names the run in the
 * journal ("post-stop", "release", "pre-start" for a rollback, "watcher").
 * With dry_run only say what would be done.  Returns 0 when every device
 * was handled (the journal is then removed), or -EIO with *err when some
 * could not be (the journal stays, saying which).
 */
int lifecycle_release(struct journal *j, const struct policy *pol,
		      enum give_back_mode mode, const char *phase, bool dry_run,
		      char **err);

/* The policy for a release of vmid: its config's notes may be gone with the
 * VM; then the node-wide file still applies.  Never fails: on a bad policy
 * the defaults are used, with a warning. */
void lifecycle_policy(unsigned vmid, struct policy *pol);

#endif
