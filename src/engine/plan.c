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

enum obs_problem_kind obs_problem_kind_of(const char *code)
{
	static const char *const device[] = {"device-unreadable", "device-missing"};
	static const char *const mapping[] = {"mapping-not-found", "mapping-invalid",
					      "no-free-device"};

	for (size_t i = 0; i < ARRAY_SIZE(device); i++)
		if (streq(code, device[i]))
			return OBS_PROBLEM_DEVICE;
	for (size_t i = 0; i < ARRAY_SIZE(mapping); i++)
		if (streq(code, mapping[i]))
			return OBS_PROBLEM_MAPPING;
	return OBS_PROBLEM_CONFIG;
}

static void add_problem(struct obs_problem **v, size_t *n, const char *code,
			const char *id, char *owned_msg)
{
	size_t idlen = strlen(id);

	/* "hostpci1: hostpci1: no PCI device ...": the id is printed first */
	if (idlen && !strncmp(owned_msg, id, idlen) && owned_msg[idlen] == ':' &&
	    owned_msg[idlen + 1] == ' ')
		memmove(owned_msg, owned_msg + idlen + 2,
			strlen(owned_msg + idlen + 2) + 1);
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].kind = obs_problem_kind_of(code);
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

/* The classes of usage reasons, in the order a refusal names them. */
enum use_class {
	USE_OPEN,     /* an open VFIO node: another VM or process has the group */
	USE_CRITICAL, /* the host cannot run without it */
	USE_CLIENTS,  /* programs use it through the NVIDIA driver */
	USE_HOST,     /* any other host use: steal = force may take it */
};

static enum use_class use_class(const struct usage_reason *r)
{
	if (r->kind == USAGE_VFIO_OPEN)
		return USE_OPEN;
	if (r->critical)
		return USE_CRITICAL;
	if (r->kind == USAGE_NVIDIA_OPEN)
		return USE_CLIENTS;
	return USE_HOST;
}

/* "a; b; c" from the reasons in l of class c, or NULL when there are none. */
static char *join_usage(const struct usage_list *l, enum use_class c)
{
	char *s = NULL;

	for (size_t i = 0; i < l->n; i++) {
		char *n;

		if (use_class(&l->v[i]) != c)
			continue;
		n = xasprintf("%s%s%s", s ? s : "", s ? "; " : "", l->v[i].what);
		free(s);
		s = n;
	}
	return s;
}

static bool is_vfio_pci(const struct pdev *d)
{
	return streq(d->driver, "vfio-pci");
}

/* "; driver=keep on hostpci1 cannot protect it: ..." for a keep_lost device, or "" */
static char *keep_note(const struct observation *obs, const struct obs_dev *od)
{
	const struct obs_dev *via;

	if (!od->keep_lost || od->via < 0)
		return xstrdup("");
	via = &obs->devs[od->via];
	return xasprintf(
	    " (driver=keep on hostpci%d cannot protect it here: Proxmox binds the whole IOMMU group of hostpci%d, keep entries included)",
	    od->hostpci, via->hostpci);
}

/* Why the device must not be taken, or NULL. *forced: steal = force takes
 * it anyway (the text says so); *why: the class of refusal. */
static char *refusal(const struct observation *obs, const struct obs_dev *od,
		     const struct policy *pol, bool *forced, enum plan_why *why)
{
	const struct pdev *d = od->dev;
	const struct obs_dev *via = od->via >= 0 ? &obs->devs[od->via] : NULL;
	_cleanup_free_ char *open_by = join_usage(&od->usage, USE_OPEN);
	_cleanup_free_ char *critical = join_usage(&od->usage, USE_CRITICAL);
	_cleanup_free_ char *clients = join_usage(&od->usage, USE_CLIENTS);
	_cleanup_free_ char *what = join_usage(&od->usage, USE_HOST);
	_cleanup_free_ char *keep = keep_note(obs, od);

	*forced = false;
	*why = PLAN_WHY_OTHER_VM;
	if (d->group < 0) {
		*why = PLAN_WHY_NO_IOMMU;
		return xasprintf(
		    "has no IOMMU group: the IOMMU is off or not supported; enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD)");
	}
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
	/* what the host runs on: never taken, whatever the policy says, and
	 * no word of force (design.md "Policy") */
	if (critical) {
		*why = PLAN_WHY_CRITICAL;
		if (via)
			return xasprintf(
			    "the host cannot run without it: %s%s%s; it shares IOMMU group %d with %s (hostpci%d), and Proxmox binds the whole group, so hostpci%d cannot be passed through from that slot: move that card to another slot, one whose IOMMU group holds nothing the host needs (an ACS override is no fix: it only hides that the devices are not isolated)%s",
			    critical, what ? "; also: " : "", what ? what : "", d->group,
			    via->dev->bdf, via->hostpci, via->hostpci, keep);
		return xasprintf(
		    "the host cannot run without it: %s%s%s; it is never given to a VM: remove hostpci%d and pass through another device",
		    critical, what ? "; also: " : "", what ? what : "", od->hostpci);
	}
	/* the nvidia driver waits for its clients when unbound: taking the
	 * device would hang, so no policy takes it either */
	if (clients) {
		*why = PLAN_WHY_DRIVER_CLIENTS;
		if (via)
			return xasprintf(
			    "programs use it through the host's NVIDIA driver, which hangs when unbound under them: %s; it shares IOMMU group %d with %s (hostpci%d)%s",
			    clients, d->group, via->dev->bdf, via->hostpci, keep);
		return xasprintf(
		    "programs use it through the host's NVIDIA driver, which hangs when unbound under them: %s",
		    clients);
	}
	if (what) {
		*why = PLAN_WHY_HOST_USE;
		if (pol && pol->steal == POLICY_STEAL_FORCE) {
			*forced = true;
			return xasprintf(
			    "taken although the host uses it (steal=force): %s%s", what,
			    keep);
		}
		if (via)
			return xasprintf(
			    "the host needs it: %s; it shares IOMMU group %d with %s (hostpci%d), and Proxmox would bind the whole group: move the card to a slot with its own group, remove hostpci%d, or set 'steal = force' to take it anyway%s",
			    what, d->group, via->dev->bdf, via->hostpci, via->hostpci,
			    keep);
		return xasprintf(
		    "the host needs it: %s; remove hostpci%d from the VM or stop using the device on the host first",
		    what, od->hostpci);
	}
	*why = PLAN_WHY_NONE;
	return NULL;
}

static char *bind_reason(const struct observation *obs, const struct obs_dev *od)
{
	const struct pdev *d = od->dev;
	const char *from = d->driver ? d->driver : "no driver";
	const struct obs_dev *via = od->via >= 0 ? &obs->devs[od->via] : NULL;
	int entry = od->hostpci >= 0 ? od->hostpci : via ? via->hostpci : -1;
	_cleanup_free_ char *variant = NULL;
	const char *v;

	if (d->vfio_dev && d->driver)
		variant = xasprintf(
		    " (%s is a vfio variant driver; Proxmox rebinds it to vfio-pci all the same: set driver=keep on hostpci%d to keep it)",
		    d->driver, entry);
	v = variant ? variant : "";
	if (od->keep_lost && via)
		return xasprintf(
		    "driver=keep cannot protect it here: it shares IOMMU group %d with %s (hostpci%d), and Proxmox binds that whole group: %s -> vfio-pci%s",
		    d->group, via->dev->bdf, via->hostpci, from, v);
	if (!via)
		return xasprintf("%s -> vfio-pci%s", from, v);
	return xasprintf("same IOMMU group (%d) as %s (hostpci%d): %s -> vfio-pci%s",
			 d->group, via->dev->bdf, via->hostpci, from, v);
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
		why = refusal(obs, od, pol, &forced, &pd->why);
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
		pd->why = PLAN_WHY_NONE;
		if (forced)
			p->n_forced++;
		if (is_vfio_pci(d)) {
			pd->action = PLAN_NONE;
			if (why)
				pd->reason = why;
			else if (obs->running_pid)
				pd->reason = xstrdup(
				    "on vfio-pci, in use by this VM, which is running");
			else
				pd->reason = xstrdup("already on vfio-pci");
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
