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

void plan_ctx_free(struct plan_ctx *pc)
{
	res_plan_clear(&pc->res);
	plan_free(pc->plan);
	observation_free(pc->obs);
	inventory_close(pc->inv);
	policy_clear(&pc->pol);
	vm_free(pc->vm);
	memset(pc, 0, sizeof(*pc));
}

/* The hugepages and CPUs of the VM; a start Proxmox would refuse for its
 * hugepages is a problem of the plan (when vfiohook reserves them). */
static void plan_resources(struct plan_ctx *pc)
{
	struct strv bdfs = {0};

	for (size_t i = 0; i < pc->obs->n_devs; i++)
		if (pc->obs->devs[i].hostpci >= 0)
			strv_add(&bdfs, pc->obs->devs[i].dev->bdf);
	resources_plan(pc->vm, &pc->pol, &bdfs, &pc->res);
	strv_clear(&bdfs);
	if (pc->res.hp_error && pc->res.hp_reserve)
		observation_add_problem(pc->obs, "hugepages", "%s", pc->res.hp_error);
}

int plan_ctx_make(struct plan_ctx *pc, unsigned vmid, char **err)
{
	int r;

	memset(pc, 0, sizeof(*pc));
	policy_defaults(&pc->pol);
	r = vm_load(vmid, &pc->vm, err);
	if (r < 0)
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	r = policy_load(vmid, pc->vm->conf->description, &pc->pol, err);
	if (r < 0)
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	r = inventory_open(&pc->inv, err);
	if (r < 0)
		return errf(err, "%s", strerror(-r)), PLAN_CTX_FAILED;
	r = observe_vm(pc->vm, pc->inv, &pc->obs, err);
	if (r < 0)
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	plan_resources(pc);
	plan_make(pc->obs, &pc->pol, &pc->plan);
	return 0;
}
