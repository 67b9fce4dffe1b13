// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/lifecycle.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "base/log.h"
#include "engine/pcistep.h"
#include "engine/run.h"
#include "pci/kmod.h"

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

int lifecycle_prestart(const struct plan_ctx *pc, struct journal *j,
		       struct prestart_result *res, char **err)
{
	struct steps st = {0};
	struct run r;
	size_t failed;
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
	if (st.n == 0)
		goto out;
	ret = kmod_ensure("vfio-pci", err);
	if (ret == 0)
		ret = kmod_ensure("vfio_iommu_type1", err);
	if (ret < 0)
		goto out;
	/* intents first: every device's origins before anything moves */
	set_phase(j, "pre-start", false);
	ret = run_save(&r, err);
	if (ret < 0)
		goto out;
	failed = run_steps(&r, &st, RUN_APPLY, true);
	if (failed == 0)
		failed = run_steps(&r, &st, RUN_VERIFY, false);
	if (failed) {
		collect_errors(&st, err);
		ret = -EIO;
		roll_back(j, &pc->pol);
		goto out;
	}
	set_phase(j, "pre-start", true);
	ret = run_save(&r, err);
	if (ret < 0)
		roll_back(j, &pc->pol);
out:
	steps_clear(&st);
	run_destroy(&r);
	journal_free(j);
	return ret;
}

int lifecycle_release(struct journal *j, const struct policy *pol,
		      enum give_back_mode mode, const char *phase, bool dry_run,
		      char **err)
{
	struct steps st = {0};
	struct run r;
	size_t failed = 0;
	int ret;

	run_init(&r, j->vmid, phase, pol, j);
	r.dry_run = dry_run;
	ret = pci_undo_steps(&r, mode, &st, err);
	if (ret < 0)
		goto out;
	if (!dry_run) {
		set_phase(j, phase, false);
		ret = run_save(&r, err);
		if (ret < 0)
			goto out;
	}
	failed = run_steps(&r, &st, RUN_UNDO, false);
	if (dry_run)
		goto out;
	if (failed) {
		collect_errors(&st, err);
		run_save(&r, NULL);
		ret = -EIO;
		goto out;
	}
	journal_remove(j->vmid);
out:
	pci_undo_done(&r);
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
