// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * post-stop's decision per device (giveback.h).  The rules, in order:
 *  1. a device already given back, or one this run never touched
 *     (planned, or "untouched" in a rollback), needs nothing;
 *  2. a device that is gone, or that another VM or process holds now, is
 *     left alone (never take a device from a running VM);
 *  3. after a start that never came, everything we moved goes back to where
 *     it was, with its own driver_override: the VM never used it;
 *  4. otherwise per policy: never → stays; auto → storage controllers stay
 *     (the guest's LVM/md/ZFS must not be activated by the host), the rest
 *     as restore; restore → the driver it had (stays when that was vfio-pci)
 *     with the driver_override it had; host → the kernel's choice, override
 *     cleared, also for a device found on vfio-pci.
 * A device the VM used is reset first (the reset module decides whether a
 * reset is worth it); a rollback never resets (QEMU never opened it).
 */
#include "engine/giveback.h"

#include <stdio.h>

#include "base/util.h"

static void restore_as_before(const struct jdev *jd, struct give_back *out)
{
	out->set_override = true;
	out->override = jd->orig_override;
	if (streq(jd->orig_driver, "vfio-pci")) {
		out->kind = GB_STAY;
		out->why =
		    xasprintf("stays on vfio-pci, where it was before the VM started");
		return;
	}
	out->kind = GB_MOVE;
	out->target = jd->orig_driver;
	out->probe = jd->orig_driver != NULL;
}

void give_back_decide(const struct jdev *jd, const struct give_back_facts *f,
		      enum policy_rebind rebind, enum give_back_mode mode,
		      struct give_back *out)
{
	bool moved = jd->state == JDEV_BINDING || jd->state == JDEV_BOUND ||
		     jd->state == JDEV_RELEASING;

	memset(out, 0, sizeof(*out));
	if (jd->state == JDEV_RELEASED || jd->state == JDEV_PLANNED) {
		out->kind = GB_DONE;
		return;
	}
	if (mode != GB_POST_STOP && !moved) {
		/* found on vfio-pci by this start: it stays as it was */
		out->kind = GB_DONE;
		return;
	}
	if (!f->present) {
		out->kind = GB_LEAVE;
		out->why = xasprintf(
		    "is gone from the host (removed or hot-unplugged); nothing to give back");
		return;
	}
	if (f->holder || f->open_by) {
		out->kind = GB_LEAVE;
		if (f->holder)
			out->why = xasprintf("left alone: VM %u holds it now", f->holder);
		else
			out->why = xasprintf("left alone: %s", f->open_by);
		return;
	}
	out->reset = mode == GB_POST_STOP;
	if (mode != GB_POST_STOP) {
		restore_as_before(jd, out);
		return;
	}
	if (jd->state == JDEV_UNTOUCHED && rebind != POLICY_REBIND_HOST) {
		/* it was on vfio-pci before the VM started: it stays there */
		out->kind = GB_STAY;
		out->why =
		    xasprintf("stays on vfio-pci, where it was before the VM started");
		return;
	}
	switch (rebind) {
	case POLICY_REBIND_NEVER:
		out->kind = GB_STAY;
		out->why = xasprintf("stays on vfio-pci (rebind = never)");
		return;
	case POLICY_REBIND_AUTO:
		if (give_back_is_storage(f->class_code)) {
			out->kind = GB_STAY;
			out->why = xasprintf(
			    "stays on vfio-pci: it is a storage controller, and the host's LVM, md or ZFS must not activate the guest's disks (rebind = auto; set rebind = restore to give it back)");
			return;
		}
		restore_as_before(jd, out);
		return;
	case POLICY_REBIND_RESTORE:
		restore_as_before(jd, out);
		return;
	case POLICY_REBIND_HOST:
		out->kind = GB_MOVE;
		out->probe = true;
		out->set_override = true;
		out->override = NULL;
		return;
	}
}
