/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What to do with one journaled device when its VM has stopped (post-stop,
 * `release`), when a pre-start is undone (rollback), or when a start never
 * came (the watcher): a pure function of what the journal recorded before
 * pre-start, a few facts read now, and the policy.  No I/O, so every rule
 * is unit-tested (tests/unit/test_giveback.c).
 */
#ifndef VFIOHOOK_GIVEBACK_H
#define VFIOHOOK_GIVEBACK_H

#include <stdbool.h>

#include "engine/policy.h"
#include "state/journal.h"

enum give_back_kind {
	GB_DONE,  /* already given back, or never touched: nothing to do */
	GB_LEAVE, /* not ours to touch now: gone, another holder; said why */
	GB_STAY,  /* (reset, then) stays on vfio-pci */
	GB_MOVE,  /* (reset, then) to target, or the kernel's choice */
};

/* Facts read from the host just before deciding. */
struct give_back_facts {
	bool present;	     /* the device is still in /sys/bus/pci/devices */
	unsigned holder;     /* another VM whose journal holds it now, or 0 */
	const char *open_by; /* a process that has its vfio group open, or NULL */
	int class_code;	     /* PCI class (journal's, else sysfs), -1 unknown */
};

enum give_back_mode {
	GB_POST_STOP, /* the VM ran and stopped: post-stop, release */
	GB_ROLLBACK,  /* undo this run's own failed pre-start: only what it changed */
	GB_NEVER_RAN, /* the start never came: everything back as it was */
};

struct give_back {
	enum give_back_kind kind;
	bool reset;	    /* reset before (the VM used the device) */
	const char *target; /* driver to bind back to; NULL: see probe */
	bool probe;	    /* target NULL: let the kernel choose (else leave unbound) */
	const char *override; /* driver_override to leave behind; NULL = none */
	bool set_override;    /* whether to write override at all */
	char *why;	      /* one sentence for the task log (allocated), or NULL */
};

/* Decide for jd.  out->why is freed by the caller. */
void give_back_decide(const struct jdev *jd, const struct give_back_facts *f,
		      enum policy_rebind rebind, enum give_back_mode mode,
		      struct give_back *out);

/* PCI class 01 (mass storage: NVMe, SATA/SAS HBAs, RAID): under rebind=auto
 * it stays on vfio-pci after the VM stopped. */
static inline bool give_back_is_storage(int class_code)
{
	return class_code >= 0 && (class_code >> 16) == 0x01;
}

#endif
