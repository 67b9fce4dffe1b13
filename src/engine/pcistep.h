/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PCI device kind of step (run.h): pre-start moves a device to
 * vfio-pci, verify reads the driver link back, undo resets it where that
 * helps and gives it back as giveback.h decides.  Its journal section is
 * the journal's "devices".
 *
 * Lanes: the devices of one IOMMU group, and of every group that shares a
 * bus with it, form one lane (a bus reset resets every device behind the
 * bridge, and a group moves as a whole); independent groups run side by
 * side.
 */
#ifndef VFIOHOOK_PCISTEP_H
#define VFIOHOOK_PCISTEP_H

#include "engine/giveback.h"
#include "engine/plan.h"
#include "engine/run.h"
#include "pci/reset.h"

extern const struct step_kind pci_step_kind;

/* The kernel operations the kind uses (pci/bind.h, pci/reset.h).  Unit
 * tests replace them, so the apply loop, its rollback and post-stop's
 * choices can run on a fake root where no kernel answers a write. */
struct pci_ops {
	int (*to_vfio)(const char *bdf, char **err);
	int (*give_back)(const char *bdf, const char *driver, bool probe, char **err);
	int (*set_override)(const char *bdf, const char *value, char **err);
	int (*reset)(const char *bdf, enum reset_mode mode, const char *methods,
		     const struct strv *ours, char **note, char **err);
	int (*verify_alive)(const char *bdf, char **err);
};
/* NULL: the real ones. */
void pci_step_set_ops(const struct pci_ops *o);

/*
 * The pre-start steps of plan p: one per device the plan puts on vfio-pci
 * (bind, or none when it is there already), in plan order.  Each device
 * gets its journal entry (origins: driver, driver_override, reset_method,
 * class) in r->j, as "planned" (bind) or "untouched" (none), unless the
 * journal has it already (a resumed start).  Returns the number of devices
 * to move.
 */
size_t pci_prestart_steps(struct run *r, const struct plan *p, struct steps *out);

/*
 * The undo steps for the devices in r->j, decided per device with `mode`
 * and the policy (r->pol), from facts read now.  Devices with nothing to
 * do get no step.  Sets up the kind's context in r (freed by
 * pci_undo_done()).  Returns 0 or -errno with *err.
 */
int pci_undo_steps(struct run *r, enum give_back_mode mode, struct steps *out,
		   char **err);
void pci_undo_done(struct run *r);

/* "0000:01:00.0 (Intel Corporation 82574L Gigabit Network Connection)", or
 * the address alone when pci.ids does not know it (allocated). */
char *pci_label(const struct pdev *d);

#endif
