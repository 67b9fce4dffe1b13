// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The plan: a pure function from the observation and the policy to one
 * action per device.  Proxmox binds every non-bridge member of a passed
 * device's IOMMU group to vfio-pci right after pre-start, without asking
 * whether the host needs it (proxmox-facts.md); this is where we ask.
 */
#include "engine/plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "base/util.h"

const char *plan_action_name(enum plan_action a)
{
	switch (a) {
	case PLAN_BIND:
		return "bind";
	case PLAN_NONE:
		return "none";
	case PLAN_KEEP:
		return "keep";
	case PLAN_SKIP:
		return "skip";
	case PLAN_REFUSE:
		return "refuse";
	}
	return "?";
}

static void add_problem(struct obs_problem **v, size_t *n, const char *code,
			const char *id, char *owned_msg)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].id = xstrdup(id);
	(*v)[*n].code = xstrdup(code);
	(*v)[*n].message = owned_msg;
	(*n)++;
}

void observation_add_problem(struct observation *obs, const char *code, const char *id,
			     const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	add_problem(&obs->problems, &obs->n_problems, code, id, msg);
}

void observation_free(struct observation *obs)
{
	if (!obs)
		return;
	for (size_t i = 0; i < obs->n_devs; i++) {
		pdev_free(obs->devs[i].dev);
		usage_list_clear(&obs->devs[i].usage);
	}
	free(obs->devs);
	for (size_t i = 0; i < obs->n_problems; i++) {
		free(obs->problems[i].id);
		free(obs->problems[i].code);
		free(obs->problems[i].message);
	}
	free(obs->problems);
	strv_clear(&obs->warnings);
	free(obs->node);
	free(obs);
}

/*
 * "a; b; c" from the reasons in l that are (open == true) or are not
 * (open == false) an open vfio node, or NULL when there are none.  An open
 * vfio node means another VM or process has the device: no policy may
 * override that, while what the host itself uses, steal = force may take.
 */
static char *join_usage(const struct usage_list *l, bool open)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < l->n; i++)
		if ((l->v[i].kind == USAGE_VFIO_OPEN) == open)
			len += strlen(l->v[i].what) + 2;
	if (len == 1)
		return NULL;
	s = xcalloc(1, len);
	for (size_t i = 0; i < l->n; i++) {
		if ((l->v[i].kind == USAGE_VFIO_OPEN) != open)
			continue;
		if (*s)
			strcat(s, "; ");
		strcat(s, l->v[i].what);
	}
	return s;
}

static bool is_vfio_pci(const struct pdev *d)
{
	return streq(d->driver, "vfio-pci");
}

/* Why the device must not be taken, or NULL. */
static char *refusal(const struct observation *obs, const struct obs_dev *od,
		     const struct policy *pol, bool *forced)
{
	const struct pdev *d = od->dev;
	const struct obs_dev *via = od->hostpci < 0 ? &obs->devs[od->via] : NULL;
	_cleanup_free_ char *open_by = join_usage(&od->usage, true);
	_cleanup_free_ char *what = join_usage(&od->usage, false);

	*forced = false;
	if (d->group < 0)
		return xasprintf(
		    "has no IOMMU group: the IOMMU is off or not supported; enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD)");
	if (open_by)
		return xasprintf(
		    "IOMMU group %d is in use: %s; stop that VM or process first",
		    d->group, open_by);
	if (od->reserved_by)
		return xasprintf(
		    "Proxmox has reserved it for VM %u (/run/qemu-server/pci-id-reservations); stop VM %u first",
		    od->reserved_by, od->reserved_by);
	if (od->held_by)
		return xasprintf(
		    "VM %u holds it (vfiohook journal /run/vfiohook/%u.json); stop VM %u first, or run 'vfiohook release %u' if it is not running",
		    od->held_by, od->held_by, od->held_by, od->held_by);
	if (what) {
		if (pol && pol->steal == POLICY_STEAL_FORCE) {
			*forced = true;
			return xasprintf(
			    "taken although the host uses it (steal=force): %s", what);
		}
		if (via)
			return xasprintf(
			    "the host needs it: %s; it shares IOMMU group %d with %s (hostpci%d), and Proxmox would bind the whole group: move the card to a slot with its own group, remove hostpci%d, or set 'steal = force' to take it anyway",
			    what, d->group, via->dev->bdf, via->hostpci, via->hostpci);
		return xasprintf(
		    "the host needs it: %s; remove hostpci%d from the VM or stop using the device on the host first",
		    what, od->hostpci);
	}
	return NULL;
}

static char *bind_reason(const struct observation *obs, const struct obs_dev *od)
{
	const struct pdev *d = od->dev;
	const char *from = d->driver ? d->driver : "no driver";
	int entry = od->hostpci >= 0 ? od->hostpci : obs->devs[od->via].hostpci;
	_cleanup_free_ char *variant = NULL;

	if (d->vfio_dev && d->driver)
		variant = xasprintf(
		    " (%s is a vfio variant driver; Proxmox rebinds it to vfio-pci all the same: set driver=keep on hostpci%d to keep it)",
		    d->driver, entry);
	if (od->hostpci >= 0)
		return xasprintf("hostpci%d: %s -> vfio-pci%s", od->hostpci, from,
				 variant ? variant : "");
	return xasprintf("same IOMMU group (%d) as %s (hostpci%d): %s -> vfio-pci%s",
			 d->group, obs->devs[od->via].dev->bdf,
			 obs->devs[od->via].hostpci, from, variant ? variant : "");
}

int plan_make(const struct observation *obs, const struct policy *pol, struct plan **out)
{
	struct plan *p = xcalloc(1, sizeof(*p));

	p->vmid = obs->vmid;
	p->n_devs = obs->n_devs;
	p->devs = xcalloc(obs->n_devs, sizeof(*p->devs));
	for (size_t i = 0; i < obs->n_problems; i++)
		add_problem(&p->problems, &p->n_problems, obs->problems[i].code,
			    obs->problems[i].id, xstrdup(obs->problems[i].message));

	for (size_t i = 0; i < obs->n_devs; i++) {
		const struct obs_dev *od = &obs->devs[i];
		const struct pdev *d = od->dev;
		struct plan_dev *pd = &p->devs[i];
		bool forced = false;
		char *why;

		pd->obs = od;
		if (obs->is_template) {
			pd->action = PLAN_SKIP;
			pd->reason = xstrdup(
			    "template VM (template: 1): it never starts with its devices");
			continue;
		}
		if (d->bridge) {
			/* kernel-facts: bridges on pcieport do not break viability, and
			 * Proxmox skips members with a pci_bus directory too */
			pd->action = PLAN_SKIP;
			pd->reason = xstrdup(
			    "bridge: it may stay on its driver, QEMU accepts it and Proxmox skips bridges too");
			continue;
		}
		if (od->mdev) {
			pd->action = PLAN_SKIP;
			pd->reason = xasprintf(
			    "hostpci%d uses a mediated device: the parent stays on its host driver",
			    od->hostpci);
			continue;
		}
		if (od->keep) {
			pd->action = PLAN_KEEP;
			pd->reason = xasprintf(
			    "hostpci%d has driver=keep: Proxmox neither binds nor resets it",
			    od->hostpci);
			continue;
		}
		why = refusal(obs, od, pol, &forced);
		if (why && !forced) {
			pd->action = PLAN_REFUSE;
			pd->reason = why;
			if (d->vfio_dev && d->driver && !is_vfio_pci(d)) {
				/* Proxmox would rebind it all the same */
				pd->reason = xasprintf(
				    "%s; it is on the vfio variant driver %s, which Proxmox replaces by vfio-pci unless hostpci%d has driver=keep",
				    why, d->driver,
				    od->hostpci >= 0 ? od->hostpci
						     : obs->devs[od->via].hostpci);
				free(why);
			}
			continue;
		}
		if (forced)
			p->n_forced++;
		if (is_vfio_pci(d)) {
			pd->action = PLAN_NONE;
			pd->reason = why ? why : xstrdup("already on vfio-pci");
			continue;
		}
		/* a vfio variant driver (mlx5_vfio_pci, ...) is not vfio-pci to
		 * Proxmox: it rebinds such a device unless driver=keep
		 * (proxmox-facts.md), so it is bound like any other */
		pd->action = PLAN_BIND;
		if (why) {
			pd->reason = why;
		} else {
			pd->reason = bind_reason(obs, od);
		}
	}

	p->ok = p->n_problems == 0;
	for (size_t i = 0; i < p->n_devs; i++)
		if (p->devs[i].action == PLAN_REFUSE)
			p->ok = false;
	*out = p;
	return 0;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_devs; i++)
		free(p->devs[i].reason);
	free(p->devs);
	for (size_t i = 0; i < p->n_problems; i++) {
		free(p->problems[i].id);
		free(p->problems[i].code);
		free(p->problems[i].message);
	}
	free(p->problems);
	free(p);
}
