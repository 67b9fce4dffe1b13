/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIOHOOK_PREPARE_H
#define VFIOHOOK_PREPARE_H

#include <errno.h>
#include <stdbool.h>

#include "engine/observe.h"
#include "engine/plan.h"
#include "engine/policy.h"
#include "engine/resources.h"
#include "pci/inventory.h"
#include "pve/pveconf.h"

/* How this run sees the VM (see struct vm_load_opts). */
struct plan_ctx_opts {
	/* the source node on a live migration's target (hook mode:
	 * PVE_MIGRATED_FROM), else NULL or "" */
	const char *migrated_from;
	/* apply [PENDING] as the start will: `plan`, run before a start;
	 * pre-start runs after Proxmox applied them and reads the file as is */
	bool apply_pending;
};

/* The observation and plan of one VM, shared by plan and pre-start. */
struct plan_ctx {
	struct vm *vm;
	struct policy pol;
	struct inventory *inv;
	struct observation *obs;
	struct plan *plan;
	struct plan_ctx_opts opts; /* as made */
	/* when plan_ctx_make fails: what could not be used, as an id for a
	 * problem ("/etc/pve/qemu-server/100.conf", "/etc/vfiohook.conf",
	 * "VM 100 notes", "/sys/bus/pci", "host") */
	char *failed_at;
	struct mapping_cfg *maps; /* given to plan_ctx_make_from, or NULL */
	struct res_plan res;	  /* hugepages and CPUs */
};

enum {
	PLAN_CTX_BAD_INPUT = -EINVAL, /* config or policy unreadable: exit status 2 */
	PLAN_CTX_FAILED = -EIO,	      /* the host cannot be read: exit status 1 */
};

/*
 * Load and plan VM vmid.  Returns 0, or PLAN_CTX_BAD_INPUT / PLAN_CTX_FAILED
 * with *err saying why; *pc is freed with plan_ctx_free() in every case.
 * What Proxmox would warn about in the VM config and pci.cfg (lines it
 * skips, keys given twice, a misspelt hostpciN) is logged at WARN here, so
 * plan and pre-start both show it; it is kept in pc->vm->conf->warnings and
 * pc->obs->warnings as well.
 */
int plan_ctx_make_opts(struct plan_ctx *pc, unsigned vmid, const struct plan_ctx_opts *o,
		       char **err);
/* plan_ctx_make_opts() with the options set by plan_ctx_set_defaults() (none
 * until then). */
int plan_ctx_make(struct plan_ctx *pc, unsigned vmid, char **err);
/* The options plan_ctx_make() uses: the program sets them once per run (hook
 * mode: the migration source from PVE_MIGRATED_FROM).  o is copied; the
 * strings it points to must outlive the run. */
void plan_ctx_set_defaults(const struct plan_ctx_opts *o);
/* The same for a VM config and PCI mappings read elsewhere (the API: pve/
 * apiconf.h); takes ownership of vm and maps (NULL: read pci.cfg) also on
 * error. */
int plan_ctx_make_from(struct plan_ctx *pc, struct vm *vm, struct mapping_cfg *maps,
		       char **err);
void plan_ctx_free(struct plan_ctx *pc);

#endif
