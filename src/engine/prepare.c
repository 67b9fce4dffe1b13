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
	plan_free(pc->plan);
	observation_free(pc->obs);
	inventory_close(pc->inv);
	policy_clear(&pc->pol);
	vm_free(pc->vm);
	free(pc->failed_at);
	memset(pc, 0, sizeof(*pc));
}

int plan_ctx_make(struct plan_ctx *pc, unsigned vmid, char **err)
{
	int r;

	memset(pc, 0, sizeof(*pc));
	policy_defaults(&pc->pol);
	r = vm_load(vmid, &pc->vm, err);
	if (r < 0) {
		pc->failed_at = xasprintf("/etc/pve/qemu-server/%u.conf", vmid);
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	}
	r = policy_load(vmid, pc->vm->conf->description, &pc->pol, err);
	if (r < 0) {
		/* errors from the notes name "VM N description line L" */
		if (err && *err && strstr(*err, " description line "))
			pc->failed_at = xasprintf("VM %u notes", vmid);
		else
			pc->failed_at = xstrdup(POLICY_CONF_PATH);
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	}
	r = inventory_open(&pc->inv, err);
	if (r < 0) {
		pc->failed_at = xstrdup("/sys/bus/pci");
		return errf(err, "%s", strerror(-r)), PLAN_CTX_FAILED;
	}
	r = observe_vm(pc->vm, pc->inv, &pc->obs, err);
	if (r < 0) {
		pc->failed_at = xstrdup("host");
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	}
	plan_make(pc->obs, &pc->pol, &pc->plan);
	return 0;
}
