// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Everything a plan of one VM needs, in the order a start reads it: the
 * VM config, the policy, the PCI inventory, the observation, the plan.
 * Shared by `vfiohook plan` and pre-start, so both print the same plan;
 * plan_ctx_make_from() is the same for a config and mappings read from the
 * API (`plan --source api`).
 */
#include "engine/prepare.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "pve/mapping.h"

static struct plan_ctx_opts defaults;

void plan_ctx_set_defaults(const struct plan_ctx_opts *o)
{
	if (o)
		defaults = *o;
	else
		memset(&defaults, 0, sizeof(defaults));
}

void plan_ctx_free(struct plan_ctx *pc)
{
	res_plan_clear(&pc->res);
	plan_free(pc->plan);
	observation_free(pc->obs);
	inventory_close(pc->inv);
	policy_clear(&pc->pol);
	vm_free(pc->vm);
	mapping_free(pc->maps);
	free(pc->failed_at);
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
		observation_add_problem(pc->obs, "hugepages", "hugepages", "%s",
					pc->res.hp_error);
}

static void log_warnings(const struct strv *w)
{
	for (size_t i = 0; w && i < w->n; i++)
		log_warn("%s", w->v[i]);
}

/*
 * A value Proxmox drops (vm->dropped) refuses the start only where vfiohook
 * needs it: the hugepage arithmetic when it reserves them, the CPU map when
 * it pins, isolates or steers interrupts.  Elsewhere it stays a warning, and
 * the VM starts as Proxmox starts it.
 */
static const char *needed_value_dropped(const struct vm *vm, const struct policy *pol,
					const char **what)
{
	static const char *const mem_keys[] = {
	    "memory", "sockets", "numa",  "keephugepages", "numa0", "numa1",
	    "numa2",  "numa3",	 "numa4", "numa5",	   "numa6", "numa7"};
	static const char *const cpu_keys[] = {"affinity", "vcpus", "sockets"};
	const char *m;

	if (vm->hugepages && !vm->is_template && pol->hugepages == POLICY_HUGEPAGES_AUTO)
		for (size_t i = 0; i < ARRAY_SIZE(mem_keys); i++)
			if ((m = vm_dropped(vm, mem_keys[i]))) {
				*what = "the VM's hugepages";
				return m;
			}
	if (pol->pin != POLICY_PIN_OFF || pol->isolate || pol->irq)
		for (size_t i = 0; i < ARRAY_SIZE(cpu_keys); i++)
			if ((m = vm_dropped(vm, cpu_keys[i]))) {
				*what = "the VM's CPUs (pin, isolate, irq)";
				return m;
			}
	return NULL;
}

/* With pc->vm (and pc->maps) in place: policy, inventory, observation, plan. */
static int finish(struct plan_ctx *pc, char **err)
{
	unsigned vmid = pc->vm->vmid;
	int r;

	log_warnings(&pc->vm->conf->warnings);
	r = policy_load(vmid, pc->vm->conf->description, &pc->pol, err);
	if (r < 0) {
		/* errors from the notes name "VM N description line L" */
		if (err && *err && strstr(*err, " description line "))
			pc->failed_at = xasprintf("VM %u notes", vmid);
		else
			pc->failed_at = xstrdup(POLICY_CONF_PATH);
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	}
	{
		const char *what = NULL,
			   *m = needed_value_dropped(pc->vm, &pc->pol, &what);

		if (m) {
			pc->failed_at = xstrdup(pc->vm->conf->path);
			return errf(
				   err,
				   "%s: vfiohook needs this value to prepare %s, and Proxmox would drop it; fix the line",
				   m, what),
			       PLAN_CTX_BAD_INPUT;
		}
	}
	r = inventory_open(&pc->inv, err);
	if (r < 0) {
		pc->failed_at = xstrdup("/sys/bus/pci");
		return errf(err, "%s", strerror(-r)), PLAN_CTX_FAILED;
	}
	r = observe_vm_maps(pc->vm, pc->inv, pc->maps, &pc->obs, err);
	if (r < 0) {
		pc->failed_at = xstrdup("host");
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	}
	log_warnings(&pc->obs->warnings);
	plan_resources(pc);
	plan_make(pc->obs, &pc->pol, &pc->plan);
	return 0;
}

int plan_ctx_make_opts(struct plan_ctx *pc, unsigned vmid, const struct plan_ctx_opts *o,
		       char **err)
{
	struct vm_load_opts lo = {0};
	int r;

	memset(pc, 0, sizeof(*pc));
	if (o)
		pc->opts = *o;
	policy_defaults(&pc->pol);
	lo.migrated_from = pc->opts.migrated_from;
	/* a migration target's start takes the source's state: no pending */
	lo.apply_pending = pc->opts.apply_pending &&
			   !(pc->opts.migrated_from && *pc->opts.migrated_from);
	r = vm_load_opts(vmid, &lo, &pc->vm, err);
	if (r < 0) {
		pc->failed_at = xasprintf("/etc/pve/qemu-server/%u.conf", vmid);
		return errf(err, "%s", strerror(-r)), PLAN_CTX_BAD_INPUT;
	}
	return finish(pc, err);
}

int plan_ctx_make(struct plan_ctx *pc, unsigned vmid, char **err)
{
	return plan_ctx_make_opts(pc, vmid, &defaults, err);
}

int plan_ctx_make_from(struct plan_ctx *pc, struct vm *vm, struct mapping_cfg *maps,
		       char **err)
{
	memset(pc, 0, sizeof(*pc));
	policy_defaults(&pc->pol);
	pc->vm = vm;
	pc->maps = maps;
	return finish(pc, err);
}
