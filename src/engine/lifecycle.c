// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/lifecycle.h"
#include "engine/observe.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "base/host.h"
#include "base/log.h"
#include "engine/cpustep.h"
#include "engine/hugestep.h"
#include "engine/irqwatch.h"
#include "engine/pcistep.h"
#include "engine/run.h"
#include "pci/kmod.h"
#include "state/lock.h"

static void set_phase(struct journal *j, const char *phase, bool complete)
{
	free(j->phase);
	j->phase = xstrdup(phase);
	j->complete = complete;
}

/* The first error of the failed steps, for *err; the others are logged. */
static void collect_errors(const struct steps *st, char **err)
{
	for (size_t i = 0; i < st->n; i++) {
		const struct step *s = &st->v[i];

		if (s->result >= 0 || s->result == -ECANCELED)
			continue;
		if (err && !*err)
			*err = xstrdup(s->err ? s->err : strerror(-s->result));
		else
			log_err("%s", s->err ? s->err : strerror(-s->result));
	}
}

static void roll_back(struct journal *j, const struct policy *pol)
{
	_cleanup_free_ char *err = NULL;

	log_warn("VM %u: undoing what this start changed", j->vmid);
	if (lifecycle_release(j, pol, GB_ROLLBACK, "pre-start", false, &err) < 0)
		log_err("%s", err);
}

/* Run the apply and verify of st; on failure, the first error in *err. */
static int apply_steps(struct run *r, struct steps *st, char **err)
{
	size_t failed = run_steps(r, st, RUN_APPLY, true);

	if (failed == 0)
		failed = run_steps(r, st, RUN_VERIFY, false);
	if (!failed)
		return 0;
	collect_errors(st, err);
	return -EIO;
}

/* The hugepage steps, under Proxmox's own lock, so its allocator and ours
 * never run at the same time (Memory.pm hugepages_update_locked: 60 s). */
static int apply_hugepages(struct run *r, struct steps *st, char **err)
{
	int fd = -1, ret;

	ret = lock_take(LOCK_HUGEPAGES_PATH, 60000, &fd, err);
	if (ret < 0)
		return ret;
	ret = apply_steps(r, st, err);
	lock_release(fd);
	return ret;
}

int lifecycle_prestart(const struct plan_ctx *pc, struct journal *j,
		       struct prestart_result *res, char **err)
{
	struct steps st = {0}, hst = {0};
	struct run r;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	if (!j) {
		j = journal_new(pc->plan->vmid);
		j->started = (long long)time(NULL);
	}
	res->started = j->started;
	run_init(&r, pc->plan->vmid, "pre-start", &pc->pol, j);
	res->n_moved = pci_prestart_steps(&r, pc->plan, &st);
	res->n_vfio = st.n;
	hp_prestart_steps(&r, &pc->res, &hst);
	/* pools that hold the VM's pages because this start reserved them */
	for (size_t i = 0; pc->res.hp_reserve && i < pc->res.n_pools; i++)
		res->n_pools += pc->res.pools[i].pages > 0;
	if (st.n == 0 && hst.n == 0)
		goto out;
	if (st.n) {
		ret = kmod_ensure("vfio-pci", err);
		if (ret == 0)
			ret = kmod_ensure("vfio_iommu_type1", err);
		if (ret < 0)
			goto out;
	}
	/* intents first: every device's origins before anything moves */
	set_phase(j, "pre-start", false);
	ret = run_save(&r, err);
	if (ret < 0)
		goto out;
	/* devices first, then memory: a start refused for its hugepages gives
	 * the devices back too */
	if (st.n)
		ret = apply_steps(&r, &st, err);
	if (ret == 0 && hst.n)
		ret = apply_hugepages(&r, &hst, err);
	if (ret < 0) {
		roll_back(j, &pc->pol);
		goto out;
	}
	set_phase(j, "pre-start", true);
	ret = run_save(&r, err);
	if (ret < 0)
		roll_back(j, &pc->pol);
out:
	steps_clear(&st);
	steps_clear(&hst);
	run_destroy(&r);
	journal_free(j);
	return ret;
}

/* ---- post-start ------------------------------------------------------------ */

void poststart_result_clear(struct poststart_result *res)
{
	free(res->cpus);
	memset(res, 0, sizeof(*res));
}

/* QEMU's vCPU threads, waited for (bounded): QEMU creates them while it
 * starts, and Proxmox runs post-start right after. */
#define VCPU_WAIT_MS 10000

static int wait_vcpus(pid_t pid, unsigned vcpus, struct task **tasks, size_t *n,
		      char **err)
{
	uint64_t deadline = host_now_ms() + VCPU_WAIT_MS;
	unsigned found = 0;

	for (;;) {
		int ret = task_list(pid, tasks, n);

		if (ret < 0)
			return errnof(err, ret, "QEMU (pid %d) is gone", (int)pid);
		found = 0;
		for (size_t i = 0; i < *n; i++)
			found +=
			    (*tasks)[i].vcpu >= 0 && (unsigned)(*tasks)[i].vcpu < vcpus;
		if (found >= vcpus || host_now_ms() >= deadline)
			break;
		free(*tasks);
		*tasks = NULL;
		host_sleep_ms(100);
	}
	if (found < vcpus)
		return errnof(
		    err, -ETIMEDOUT,
		    "found %u of %u vCPU threads ('CPU <n>/KVM') in QEMU (pid %d) after %d s: QEMU names them only with -name ...,debug-threads=on, which Proxmox always sets",
		    found, vcpus, (int)pid, VCPU_WAIT_MS / 1000);
	return 0;
}

int lifecycle_poststart(unsigned vmid, struct poststart_result *res, char **err)
{
	_cleanup_(journal_freep) struct journal *j = NULL;
	struct steps pst = {0}, ist = {0};
	struct policy pol;
	struct res_plan rp;
	struct strv bdfs = {0};
	struct task *tasks = NULL;
	struct vm *vm = NULL;
	size_t n_tasks = 0;
	struct run r;
	pid_t pid;
	int ret;

	memset(res, 0, sizeof(*res));
	memset(&rp, 0, sizeof(rp));
	policy_defaults(&pol);
	ret = vm_load(vmid, &vm, err);
	if (ret < 0)
		return ret;
	ret = policy_load(vmid, vm->conf->description, &pol, err);
	if (ret < 0)
		goto out_vm;
	if (pol.pin == POLICY_PIN_OFF && !pol.isolate && !pol.irq) {
		res->nothing = true;
		goto out_vm;
	}
	ret = journal_load(vmid, &j, err);
	if (ret == -ENOENT) {
		j = journal_new(vmid);
		ret = 0;
	} else if (ret < 0) {
		/* never write over a journal we cannot read: it may hold devices */
		goto out;
	}
	/* the devices this start put on vfio-pci: their NUMA node and IRQs */
	for (size_t i = 0; i < j->n_devs; i++)
		if (j->devs[i].hostpci && jdev_holds(&j->devs[i]))
			strv_add(&bdfs, j->devs[i].bdf);
	resources_plan_cpus(vm, &pol, &bdfs, &rp);
	if (rp.cpu_problem) {
		ret = errnof(err, -EINVAL, "%s", rp.cpu_problem);
		goto out;
	}
	res->cpus = cpuset_format(&rp.vm_cpus);
	pid = (pid_t)observe_vm_pid(vmid);
	if (!pid) {
		ret = errnof(
		    err, -ESRCH,
		    "VM %u has no running QEMU (no live pid in /var/run/qemu-server/%u.pid)",
		    vmid, vmid);
		goto out;
	}
	run_init(&r, vmid, "post-start", &pol, j);
	set_phase(j, "post-start", false);
	if (pol.pin != POLICY_PIN_OFF) {
		ret = wait_vcpus(pid, rp.map.vcpus, &tasks, &n_tasks, err);
		if (ret == 0) {
			cpu_pin_steps(&r, &rp, pid, tasks, n_tasks, &pst);
			ret = run_save(&r, err);
		}
		if (ret == 0)
			ret = apply_steps(&r, &pst, err);
		if (ret < 0)
			goto out_run;
		res->pinned = rp.map.vcpus;
	}
	if (pol.isolate) {
		ret = iso_steps(&r, &rp, &ist, err);
		if (ret == 0)
			ret = run_save(&r, err);
		if (ret == 0)
			ret = apply_steps(&r, &ist, err);
		if (ret < 0) {
			/* half an isolation helps nobody: put back what was done */
			struct steps ust = {0};

			r.rollback = true;
			iso_undo_steps(&r, &ust);
			run_steps(&r, &ust, RUN_UNDO, false);
			steps_clear(&ust);
			goto out_run;
		}
		for (size_t i = 0; i < ist.n; i++)
			res->isolated += ist.v[i].kind == &iso_step_kind &&
					 !startswith(ist.v[i].subject, "subtree:");
	}
	set_phase(j, "post-start", true);
	/* a VM that had no journal needs one only for what post-start changed */
	if (j->n_devs || j->n_sections)
		ret = run_save(&r, err);
	if (ret < 0)
		goto out_run;
	if (pol.irq && bdfs.n) {
		_cleanup_free_ char *e = NULL;
		int n = irq_steer(&bdfs, &rp.vm_cpus, &e);

		if (n < 0) {
			ret = errnof(err, n, "%s", e);
			goto out_run;
		}
		res->irqs = (unsigned)n;
		if (!host_is_real()) {
			log_debug("not leaving the interrupt watcher: the root is not /");
		} else {
			ret = irqwatch_start(vmid, pid, &bdfs, &rp.vm_cpus,
					     IRQWATCH_SECONDS, err);
			res->watcher = ret == 0;
		}
	}
out_run:
	run_destroy(&r);
out:
	steps_clear(&pst);
	steps_clear(&ist);
	free(tasks);
	strv_clear(&bdfs);
	res_plan_clear(&rp);
out_vm:
	policy_clear(&pol);
	vm_free(vm);
	return ret;
}

/* ---- release ---------------------------------------------------------------- */

/* Undo the steps of one kind; failed steps are collected into *err. */
static size_t undo_kind(struct run *r, struct steps *st, char **err)
{
	size_t failed = run_steps(r, st, RUN_UNDO, false);

	if (failed && !r->dry_run)
		collect_errors(st, err);
	return failed;
}

int lifecycle_release(struct journal *j, const struct policy *pol,
		      enum give_back_mode mode, const char *phase, bool dry_run,
		      char **err)
{
	struct steps ist = {0}, cst = {0}, hst = {0}, st = {0};
	struct run r;
	size_t failed = 0;
	int ret;

	run_init(&r, j->vmid, phase, pol, j);
	r.dry_run = dry_run;
	r.rollback = mode == GB_ROLLBACK;
	r.never_ran = mode == GB_NEVER_RAN;
	iso_undo_steps(&r, &ist);
	cpu_undo_steps(&r, &cst);
	hp_undo_steps(&r, &hst);
	ret = pci_undo_steps(&r, mode, &st, err);
	if (ret < 0)
		goto out;
	if (!dry_run) {
		set_phase(j, phase, false);
		ret = run_save(&r, err);
		if (ret < 0)
			goto out;
	}
	/* the newest kinds first, the devices last */
	failed += undo_kind(&r, &ist, err);
	failed += undo_kind(&r, &cst, err);
	if (hst.n && !dry_run) {
		/* pools change only under Proxmox's lock: a start of another VM
		 * may be between its allocation and its QEMU taking the pages */
		int fd = -1;

		if (lock_take(LOCK_HUGEPAGES_PATH, 60000, &fd, err) < 0)
			failed++;
		else
			failed += undo_kind(&r, &hst, err);
		lock_release(fd);
	} else {
		failed += undo_kind(&r, &hst, err);
	}
	failed += undo_kind(&r, &st, err);
	if (dry_run)
		goto out;
	if (failed) {
		run_save(&r, NULL);
		ret = -EIO;
		goto out;
	}
	journal_remove(j->vmid);
out:
	pci_undo_done(&r);
	steps_clear(&ist);
	steps_clear(&cst);
	steps_clear(&hst);
	steps_clear(&st);
	run_destroy(&r);
	return ret;
}

void lifecycle_policy(unsigned vmid, struct policy *pol)
{
	struct vm *vm = NULL;
	_cleanup_free_ char *err = NULL;

	policy_defaults(pol);
	if (vm_load(vmid, &vm, &err) < 0) {
		/* the VM may have been destroyed: the node-wide policy still applies */
		log_debug("%s", err ? err : "no VM config");
		free(err);
		err = NULL;
	}
	if (policy_load(vmid, vm ? vm->conf->description : NULL, pol, &err) < 0) {
		log_warn("%s; using the defaults", err);
		policy_clear(pol);
		policy_defaults(pol);
	}
	vm_free(vm);
}
