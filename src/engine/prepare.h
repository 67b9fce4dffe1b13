/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIOHOOK_PREPARE_H
#define VFIOHOOK_PREPARE_H

#include <errno.h>

#include "engine/observe.h"
#include "engine/plan.h"
#include "engine/policy.h"
#include "engine/resources.h"
#include "pci/inventory.h"
#include "pve/pveconf.h"

/* The observation and plan of one VM, shared by plan and pre-start. */
struct plan_ctx {
	struct vm *vm;
	struct policy pol;
	struct inventory *inv;
	struct observation *obs;
	struct plan *plan;
	struct res_plan res; /* hugepages and CPUs */
};

enum {
	PLAN_CTX_BAD_INPUT = -EINVAL, /* config or policy unreadable: exit status 2 */
	PLAN_CTX_FAILED = -EIO,	      /* the host cannot be read: exit status 1 */
};

/* Load and plan VM vmid.  Returns 0, or PLAN_CTX_BAD_INPUT / PLAN_CTX_FAILED
 * with *err saying why; *pc is freed with plan_ctx_free() in every case. */
int plan_ctx_make(struct plan_ctx *pc, unsigned vmid, char **err);
void plan_ctx_free(struct plan_ctx *pc);

#endif
