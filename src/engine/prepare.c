// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Everything a plan of one VM needs, in the order a start reads it: the
 * VM config, the policy, the PCI inventory, the observation, the plan.
 * Shared by `vfiohook plan` and pre-start, so both print the same plan.
 */
#include "engine/prepare.h"

#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "pve/mapping.h"

void plan_ctx_free(struct plan_ctx *pc)
{
	plan_free(pc->plan);
	observation_free(pc->obs);
	inventory_close(pc->inv);
	policy_clear(&pc->pol);
	vm_free(pc->vm);
	mapping_free(pc->maps);
	memset(pc, 0, sizeof(*pc));
}

int plan_ctx_make(struct plan_ctx *pc, unsigned vmid, char **err)
{
	struct vm *vm = NULL;
	int r;

	memset(pc, 0, sizeof(*pc));
	policy_defaults(&pc->pol);
	r = vm_load(vmid, &vm, err);
	if (r < 0)
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	return plan_ctx_make_from(pc, vm, NULL, err);
}

int plan_ctx_make_from(struct plan_ctx *pc, struct vm *vm, struct mapping_cfg *maps,
		       char **err)
{
	unsigned vmid = vm->vmid;
	int r;

	memset(pc, 0, sizeof(*pc));
	policy_defaults(&pc->pol);
	pc->vm = vm;
	pc->maps = maps;
	r = policy_load(vmid, pc->vm->conf->description, &pc->pol, err);
	if (r < 0)
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	r = inventory_open(&pc->inv, err);
	if (r < 0)
		return errf(err, "%s", strerror(-r)), PLAN_CTX_FAILED;
	r = observe_vm_maps(pc->vm, pc->inv, pc->maps, &pc->obs, err);
	if (r < 0)
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	plan_make(pc->obs, &pc->pol, &pc->plan);
	return 0;
}
