// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/pcistep.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/host.h"
#include "base/log.h"
#include "engine/observe.h"
#include "pci/bind.h"
#include "pci/inventory.h"
#include "pci/reset.h"
#include "pci/usage.h"

#define PCI_CTX 0 /* our slot in run.kind_ctx */

/* the policy's reset values are passed to the ladder as they are */
_Static_assert((int)POLICY_RESET_AUTO == (int)RESET_AUTO &&
		   (int)POLICY_RESET_OFF == (int)RESET_OFF &&
		   (int)POLICY_RESET_METHODS == (int)RESET_METHODS,
	       "enum policy_reset and enum reset_mode differ");

static const struct pci_ops real_ops = {
    .to_vfio = bind_to_vfio,
    .give_back = bind_give_back,
    .set_override = bind_set_override,
    .reset = reset_device,
    .verify_alive = reset_verify,
};
static const struct pci_ops *ops = &real_ops;

void pci_step_set_ops(const struct pci_ops *o)
{
	ops = o ? o : &real_ops;
}

struct pci_data {
	struct jdev *jd; /* in r->j: every entry exists before the run starts */
	char *label;
	bool move;	     /* apply: bind it (else it is on vfio-pci already) */
	bool variant_ok;     /* apply: none on a vfio variant driver */
	struct give_back gb; /* undo */
};

struct pci_ctx {
	struct strv ours; /* every device of the VM: a bus reset must only hit these */
};

static void pci_data_free(void *p)
{
	struct pci_data *d = p;

	if (!d)
		return;
	free(d->label);
	free(d->gb.why);
	free(d);
}

char *pci_label(const struct pdev *d)
{
	_cleanup_free_ char *name = pdev_name(d);

	return name ? xasprintf("%s (%s)", d->bdf, name) : xstrdup(d->bdf);
}

/* The lane key of a device's bus: the sysfs directory of its parent. */
static char *bus_key(const char *bdf)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;

	if (host_path(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf) < 0 ||
	    !realpath(path, real))
		return xasprintf("dev:%s", bdf);
	slash = strrchr(real, '/');
	if (slash)
		*slash = '\0';
	return xasprintf("bus:%s", real);
}

/* Put the devices of one group, and groups sharing a bus, into one lane. */
static void assign_lanes(struct steps *st, size_t first, const int *groups)
{
	struct lanes l = {0};

	for (size_t i = first; i < st->n; i++) {
		_cleanup_free_ char *b = bus_key(st->v[i].subject);
		_cleanup_free_ char *g = groups[i - first] >= 0
					     ? xasprintf("group:%d", groups[i - first])
					     : xasprintf("dev:%s", st->v[i].subject);

		lanes_join(&l, b, g);
		lanes_join(&l, g, st->v[i].subject);
	}
	for (size_t i = first; i < st->n; i++)
		st->v[i].lane = lanes_find(&l, st->v[i].subject);
	lanes_clear(&l);
}

/* ---- pre-start ---------------------------------------------------------- */

size_t pci_prestart_steps(struct run *r, const struct plan *p, struct steps *out)
{
	size_t first = out->n, n_move = 0;
	int *groups = xcalloc(p->n_devs + 1, sizeof(*groups));

	for (size_t i = 0; i < p->n_devs; i++) {
		const struct plan_dev *pd = &p->devs[i];
		const struct pdev *d = pd->obs->dev;
		struct pci_data *data;
		struct jdev *jd;

		if (pd->action != PLAN_BIND && pd->action != PLAN_NONE)
			continue;
		jd = journal_dev(r->j, d->bdf);
		if (!jd) {
			jd = journal_dev_add(r->j, d->bdf);
			jd->orig_driver = d->driver ? xstrdup(d->driver) : NULL;
			jd->orig_override = d->override ? xstrdup(d->override) : NULL;
			jd->orig_reset_method =
			    d->reset_method ? xstrdup(d->reset_method) : NULL;
			jd->class_code = (int)d->class_code;
			jd->group = d->group;
			if (pd->obs->hostpci >= 0)
				jd->hostpci = xasprintf("hostpci%d", pd->obs->hostpci);
			jd->state =
			    pd->action == PLAN_BIND ? JDEV_PLANNED : JDEV_UNTOUCHED;
		} else if (pd->action == PLAN_BIND && !jdev_holds(jd)) {
			jd->state = JDEV_PLANNED;
		}
		data = xcalloc(1, sizeof(*data));
		data->label = pci_label(d);
		data->move = pd->action == PLAN_BIND;
		data->variant_ok = pd->action == PLAN_NONE && d->vfio_dev && d->driver;
		n_move += data->move;
		groups[out->n - first] = d->group;
		steps_add(out, &pci_step_kind, d->bdf, plan_action_name(pd->action), 0,
			  data, "%s", pd->reason);
	}
	/* jd pointers are taken after every journal_dev_add(): the array is final */
	for (size_t i = first; i < out->n; i++)
		((struct pci_data *)out->v[i].data)->jd =
		    journal_dev(r->j, out->v[i].subject);
	assign_lanes(out, first, groups);
	free(groups);
	return n_move;
}

static int set_state(struct run *r, struct jdev *jd, enum jdev_state st, char **err)
{
	int ret;

	run_lock(r);
	jd->state = st;
	ret = run_save_locked(r, err);
	run_unlock(r);
	return ret;
}

static int pci_apply(struct run *r, struct step *s, char **err)
{
	struct pci_data *d = s->data;
	_cleanup_free_ char *from = NULL;
	uint64_t t0 = host_now_ms();
	int ret;

	if (!d->move)
		return 0;
	from = bind_current_driver(s->subject);
	if (streq(from, "vfio-pci") && d->jd->state == JDEV_BOUND)
		return 0; /* a resumed start found it done */
	ret = set_state(r, d->jd, JDEV_BINDING, err);
	if (ret < 0)
		return ret;
	/* announced before the slow writes, so a hang shows in the task log */
	log_info("%s: moving from %s to vfio-pci", d->label, from ? from : "no driver");
	ret = ops->to_vfio(s->subject, err);
	if (ret < 0)
		return ret;
	ret = set_state(r, d->jd, JDEV_BOUND, err);
	if (ret < 0)
		return ret;
	log_info("%s: on vfio-pci (%.1f s)", s->subject,
		 (double)(host_now_ms() - t0) / 1000);
	return 0;
}

static int pci_verify(struct run *r, struct step *s, char **err)
{
	struct pci_data *d = s->data;
	_cleanup_free_ char *drv = bind_current_driver(s->subject);

	if (!streq(drv, "vfio-pci") && !(d->variant_ok && drv))
		return errnof(
		    err, -EIO,
		    "%s is on %s, not vfio-pci, after binding; something else rebinds it (driverctl? a udev rule?)",
		    s->subject, drv ? drv : "no driver");
	/* a run killed after the kernel bound it but before the journal said
	 * so left it "binding": it is verified bound now */
	if (d->jd->state == JDEV_BINDING || (d->move && d->jd->state == JDEV_PLANNED)) {
		run_lock(r);
		d->jd->state = JDEV_BOUND;
		run_unlock(r);
	}
	return 0;
}

/* ---- undo ----------------------------------------------------------------- */

/* Who else holds it now, as a phrase: a process with its vfio group open. */
static char *open_by(struct usage_ctx *u, const struct jdev *jd)
{
	struct usage_list open = {0};
	_cleanup_free_ char *g = NULL;
	char *why = NULL;

	if (u &&
	    host_readlink_base(&g, "/sys/bus/pci/devices/%s/iommu_group", jd->bdf) == 0 &&
	    usage_check_vfio_group(u, atoi(g), &open) == 0 && open.n > 0)
		why = xstrdup(open.v[0].what);
	usage_list_clear(&open);
	return why;
}

static int sysfs_class(const char *bdf)
{
	long v;

	if (host_read_long(&v, "/sys/bus/pci/devices/%s/class", bdf) < 0 || v < 0 ||
	    v > 0xffffff)
		return -1;
	return (int)v;
}

int pci_undo_steps(struct run *r, enum give_back_mode mode, struct steps *out, char **err)
{
	struct pci_ctx *ctx = xcalloc(1, sizeof(*ctx));
	struct holders *holders = holders_load(r->vmid);
	_cleanup_(inventory_closep) struct inventory *inv = NULL;
	_cleanup_(usage_closep) struct usage_ctx *u = NULL;
	size_t first = out->n;
	int *groups = xcalloc(r->j->n_devs + 1, sizeof(*groups));

	(void)err;
	r->kind_ctx[PCI_CTX] = ctx;
	/* who holds a device is asked only at post-stop */
	if (mode == GB_POST_STOP && usage_open(&u) < 0)
		u = NULL;
	if (inventory_open(&inv, NULL) < 0)
		inv = NULL;
	for (size_t i = 0; i < r->j->n_devs; i++)
		strv_add(&ctx->ours, r->j->devs[i].bdf);
	/* reverse order: undo what was done last first */
	for (size_t k = r->j->n_devs; k-- > 0;) {
		struct jdev *jd = &r->j->devs[k];
		_cleanup_free_ char *by = NULL;
		struct give_back_facts f = {0};
		struct pci_data *data = xcalloc(1, sizeof(*data));
		_cleanup_(pdev_freep) struct pdev *pd = NULL;

		f.present = host_exists("/sys/bus/pci/devices/%s", jd->bdf);
		f.holder = holders_find(holders, jd->bdf);
		if (f.present && !f.holder && mode == GB_POST_STOP) {
			by = open_by(u, jd);
			f.open_by = by;
		}
		f.class_code =
		    jd->class_code >= 0 ? jd->class_code : sysfs_class(jd->bdf);
		give_back_decide(jd, &f, r->pol->rebind, mode, &data->gb);
		if (data->gb.kind == GB_DONE) {
			pci_data_free(data);
			continue;
		}
		data->jd = jd;
		if (f.present && inv &&
		    inventory_get(inv, jd->bdf, INV_NAMES, &pd) == 0) {
			data->label = pci_label(pd);
		} else {
			data->label = xstrdup(jd->bdf);
		}
		groups[out->n - first] = jd->group;
		steps_add(out, &pci_step_kind, jd->bdf,
			  data->gb.kind == GB_LEAVE  ? "leave"
			  : data->gb.kind == GB_STAY ? "stay"
						     : "give back",
			  0, data, "%s", data->gb.why ? data->gb.why : "");
	}
	assign_lanes(out, first, groups);
	free(groups);
	holders_free(holders);
	return 0;
}

void pci_undo_done(struct run *r)
{
	struct pci_ctx *ctx = r->kind_ctx[PCI_CTX];

	if (!ctx)
		return;
	strv_clear(&ctx->ours);
	free(ctx);
	r->kind_ctx[PCI_CTX] = NULL;
}

/* Put back the reset_method the device had, if something changed it. */
static void restore_reset_method(const struct jdev *jd)
{
	_cleanup_free_ char *now = NULL;
	int ret;

	if (!jd->orig_reset_method ||
	    host_read(&now, "/sys/bus/pci/devices/%s/reset_method", jd->bdf) < 0 ||
	    streq(now, jd->orig_reset_method))
		return;
	ret = host_write(jd->orig_reset_method, "/sys/bus/pci/devices/%s/reset_method",
			 jd->bdf);
	if (ret < 0)
		log_warn("%s: could not put reset_method back to '%s': %s", jd->bdf,
			 jd->orig_reset_method, strerror(-ret));
	else
		log_debug("%s: reset_method is '%s' again", jd->bdf,
			  jd->orig_reset_method);
}

static const char *target_name(const struct give_back *gb)
{
	if (gb->target)
		return gb->target;
	return gb->probe ? "the kernel's choice of driver" : "no driver";
}

static void say_dry_run(const struct step *s, const struct pci_data *d)
{
	const struct give_back *gb = &d->gb;

	if (gb->kind == GB_LEAVE)
		log_info("would leave %s: %s", d->label, gb->why);
	else if (gb->kind == GB_STAY)
		log_info("%s: would %sstay on vfio-pci: %s", d->label,
			 gb->reset ? "be reset if needed and " : "", gb->why);
	else
		log_info("%s: would be %sgiven back to %s", d->label,
			 gb->reset ? "reset if needed and " : "", target_name(gb));
	(void)s;
}

static int pci_undo(struct run *r, struct step *s, char **err)
{
	struct pci_data *d = s->data;
	struct pci_ctx *ctx = r->kind_ctx[PCI_CTX];
	const struct give_back *gb = &d->gb;
	_cleanup_free_ char *drv = NULL, *note = NULL, *rerr = NULL;
	uint64_t t0 = host_now_ms();
	int ret;

	if (r->dry_run) {
		say_dry_run(s, d);
		return 0;
	}
	if (gb->kind == GB_LEAVE) {
		log_warn("%s %s", d->label, gb->why);
		return set_state(r, d->jd, JDEV_RELEASED, err);
	}
	drv = bind_current_driver(s->subject);
	if (gb->kind == GB_MOVE)
		log_info("%s: %sgiving back to %s", d->label,
			 gb->reset && streq(drv, "vfio-pci") ? "resetting, then " : "",
			 target_name(gb));
	if (gb->reset && streq(drv, "vfio-pci")) {
		ret = ops->reset(s->subject, (enum reset_mode)r->pol->reset,
				 r->pol->reset_methods, ctx ? &ctx->ours : NULL, &note,
				 &rerr);
		if (ret == -EINTR || ret == -ETIMEDOUT)
			/* a reset write that never finished: the device may still
			 * be in the middle of it, so no host driver gets it now */
			return errnof(
			    err, ret,
			    "%s; it stays on vfio-pci: check dmesg, then run 'vfiohook release %u'",
			    rerr, r->vmid);
		if (ret < 0) {
			_cleanup_free_ char *hung = NULL;

			/* only a device that no longer answers is kept from the
			 * host's drivers; a failed reset of a healthy one is not
			 * worth stranding it on vfio-pci */
			if (ops->verify_alive(s->subject, &hung) < 0)
				return errnof(
				    err, ret,
				    "%s; %s; it stays on vfio-pci so no host driver touches a hung device: reboot the host",
				    rerr, hung);
			log_warn("%s; the device still answers, giving it back anyway",
				 rerr);
		}
	}
	if (gb->kind == GB_STAY) {
		if (gb->set_override) {
			ret = ops->set_override(s->subject, gb->override, err);
			if (ret < 0)
				return ret;
		}
		restore_reset_method(d->jd);
		log_info("%s %s%s%s", d->label, gb->why, note ? "; " : "",
			 note ? note : "");
		return set_state(r, d->jd, JDEV_RELEASED, err);
	}
	ret = set_state(r, d->jd, JDEV_RELEASING, err);
	if (ret < 0)
		return ret;
	ret = ops->give_back(s->subject, gb->target, gb->probe, err);
	if (ret < 0)
		return ret;
	if (gb->set_override && gb->override) {
		ret = ops->set_override(s->subject, gb->override, err);
		if (ret < 0)
			return ret;
	}
	restore_reset_method(d->jd);
	ret = set_state(r, d->jd, JDEV_RELEASED, err);
	if (ret < 0)
		return ret;
	free(drv);
	drv = bind_current_driver(s->subject);
	log_info("%s: %s %s (%.1f s)%s%s", s->subject, drv ? "back on" : "left",
		 drv ? drv : "without a driver", (double)(host_now_ms() - t0) / 1000,
		 note ? "; " : "", note ? note : "");
	return 0;
}

const struct step_kind pci_step_kind = {
    .name = "devices",
    .apply = pci_apply,
    .verify = pci_verify,
    .undo = pci_undo,
    .free_data = pci_data_free,
};
