// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/observe.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"
#include "pci/usage.h"
#include "pve/hostpci.h"
#include "pve/mapping.h"
#include "pve/reservation.h"
#include "state/journal.h"

/* A device named by a hostpci entry, before companions are added. */
struct named {
	char *bdf;
	int hostpci;
	bool keep, mdev;
};

static ssize_t find_obs(const struct observation *obs, const char *bdf)
{
	for (size_t i = 0; i < obs->n_devs; i++)
		if (streq(obs->devs[i].dev->bdf, bdf))
			return (ssize_t)i;
	return -1;
}

bool observe_vm_running(unsigned vmid)
{
	long pid;

	/* Proxmox writes /var/run/qemu-server/<vmid>.pid; /var/run is /run */
	if (host_read_long(&pid, "/run/qemu-server/%u.pid", vmid) < 0 &&
	    host_read_long(&pid, "/var/run/qemu-server/%u.pid", vmid) < 0)
		return false;
	return pid > 0 && host_exists("/proc/%ld", pid);
}

/*
 * Proxmox starts QEMU only after pre-start returns, so a VM whose pre-start
 * just bound its devices holds them before its pid file exists.  A start
 * that failed after our pre-start leaves such a journal behind; after this
 * long it no longer blocks others (and post-stop of that VM leaves alone
 * what another VM took meanwhile).
 */
#define OBSERVE_START_GRACE_S 300

static bool journal_fresh(const struct journal *j)
{
	long long now = (long long)time(NULL);

	return streq(j->phase, "pre-start") && j->started > 0 && now >= j->started &&
	       now - j->started < OBSERVE_START_GRACE_S;
}

bool observe_start_pending(const struct journal *j)
{
	return journal_fresh(j) && !observe_vm_running(j->vmid);
}

struct holders {
	struct journal **v; /* journals of other VMs that hold devices */
	size_t n;
};

struct holders *holders_load(unsigned vmid)
{
	struct holders *h = xcalloc(1, sizeof(*h));
	unsigned *vmids = NULL;
	size_t n = 0;

	if (journal_list(&vmids, &n) < 0)
		return h;
	h->v = xcalloc(n, sizeof(*h->v));
	for (size_t i = 0; i < n; i++) {
		struct journal *j = NULL;
		_cleanup_free_ char *err = NULL;

		if (vmids[i] == vmid || journal_load(vmids[i], &j, &err) < 0)
			continue;
		if (observe_vm_running(j->vmid) || journal_fresh(j))
			h->v[h->n++] = j;
		else
			journal_free(j);
	}
	free(vmids);
	return h;
}

unsigned holders_find(const struct holders *h, const char *bdf)
{
	for (size_t i = 0; h && i < h->n; i++) {
		const struct jdev *jd = journal_dev(h->v[i], bdf);

		if (jdev_holds(jd))
			return h->v[i]->vmid;
	}
	return 0;
}

void holders_free(struct holders *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		journal_free(h->v[i]);
	free(h->v);
	free(h);
}

static int add_dev(struct observation *obs, struct inventory *inv, const char *bdf,
		   int hostpci, int via)
{
	struct pdev *d = NULL;
	struct obs_dev *od;
	int r;

	r = inventory_get(inv, bdf, INV_NAMES, &d);
	if (r < 0) {
		/* libpci's own words name the sysfs file it could not read */
		const char *why = r == -EIO ? inventory_error(inv) : NULL;

		observation_add_problem(
		    obs, bdf,
		    "cannot read device %s: %s; the start is refused until its sysfs entry reads cleanly (check dmesg)",
		    bdf, why ? why : strerror(-r));
		return r;
	}
	obs->devs = xrealloc(obs->devs, (obs->n_devs + 1) * sizeof(*obs->devs));
	od = &obs->devs[obs->n_devs++];
	memset(od, 0, sizeof(*od));
	od->dev = d;
	od->hostpci = hostpci;
	od->via = via;
	return 0;
}

/* Resolve every hostpci entry to devices, in entry order. */
static int resolve_entries(struct observation *obs, struct vm *vm,
			   const struct reservations *res, struct named **out,
			   size_t *n_out, char **err)
{
	struct strv present = {0}; /* the devices the ids can name, probed */
	struct mapping_cfg *maps = NULL;
	struct strv taken = {0};
	struct named *nv = NULL;
	size_t n = 0;
	int r = 0;

	for (unsigned i = 0; i < HOSTPCI_MAX; i++) {
		struct hostpci *h = vm->hostpci[i];
		char id[16];
		_cleanup_free_ char *e = NULL;

		if (!h)
			continue;
		snprintf(id, sizeof(id), "hostpci%u", i);
		if (h->mapping) {
			const struct pci_mapping *m;

			if (!maps) {
				r = mapping_read(&maps, err);
				if (r < 0)
					goto out;
			}
			m = mapping_find(maps, h->mapping);
			for (size_t k = 0; m && k < m->n_maps; k++) {
				const struct pci_map_entry *me = &m->maps[k];

				if (!streq(me->node, host_node()))
					continue;
				for (size_t p = 0; p < me->path.n; p++)
					hostpci_probe_present(me->path.v[p], &present);
			}
			if (!m) {
				observation_add_problem(
				    obs, id,
				    "%s: no PCI mapping '%s' in /etc/pve/mapping/pci.cfg; create it under Datacenter > Resource Mappings or fix the name",
				    id, h->mapping);
				continue;
			}
			strv_clear(&h->devs);
			r = mapping_resolve(m, i, vm->vmid, &taken, res, &present,
					    &h->devs, &e);
		} else {
			for (size_t k = 0; k < h->host.n; k++)
				hostpci_probe_present(h->host.v[k], &present);
			r = hostpci_expand(h, &present, &e);
		}
		if (r < 0) {
			observation_add_problem(obs, id, "%s", e ? e : strerror(-r));
			r = 0;
			continue;
		}
		for (size_t k = 0; k < h->devs.n; k++) {
			const char *bdf = h->devs.v[k];
			bool dup = false;

			for (size_t j = 0; j < n; j++)
				if (streq(nv[j].bdf, bdf)) {
					observation_add_problem(
					    obs, bdf,
					    "%s is named by both hostpci%d and hostpci%u; a device can be passed through only once",
					    bdf, nv[j].hostpci, i);
					dup = true;
				}
			if (dup)
				continue;
			nv = xrealloc(nv, (n + 1) * sizeof(*nv));
			nv[n].bdf = xstrdup(bdf);
			nv[n].hostpci = (int)i;
			nv[n].keep = h->driver_keep;
			nv[n].mdev = h->mdev != NULL;
			n++;
			strv_add(&taken, bdf);
		}
	}
out:
	mapping_free(maps);
	strv_clear(&taken);
	strv_clear(&present);
	*out = nv;
	*n_out = n;
	return r;
}

int observe_vm(struct vm *vm, struct inventory *inv, struct observation **out, char **err)
{
	struct observation *obs = xcalloc(1, sizeof(*obs));
	struct reservations *res = NULL;
	struct usage_ctx *uctx = NULL;
	struct holders *holders = NULL;
	struct named *nv = NULL;
	size_t n_named = 0;
	int r;

	obs->vmid = vm->vmid;
	obs->node = xstrdup(host_node());
	obs->is_template = vm->is_template;

	r = reservation_read(&res, err);
	if (r < 0)
		goto fail;
	r = resolve_entries(obs, vm, res, &nv, &n_named, err);
	if (r < 0)
		goto fail;

	/* the named devices in entry order, each followed by its group companions */
	for (size_t i = 0; i < n_named; i++) {
		ssize_t at = find_obs(obs, nv[i].bdf);
		struct obs_dev *od;
		struct strv members = {0};
		size_t self;

		if (at < 0 && add_dev(obs, inv, nv[i].bdf, nv[i].hostpci, -1) < 0)
			continue;
		self = at >= 0 ? (size_t)at : obs->n_devs - 1;
		od = &obs->devs[self];
		/* one that came in earlier as a companion is an entry device itself */
		od->hostpci = nv[i].hostpci;
		od->via = -1;
		od->keep = nv[i].keep;
		od->mdev = nv[i].mdev;
		/* Proxmox binds the group only for vfio entries without mdev */
		if (od->keep || od->mdev || od->dev->group < 0)
			continue;
		if (inventory_group_members(od->dev->group, &members) < 0)
			continue;
		for (size_t k = 0; k < members.n; k++) {
			bool named = false;

			for (size_t j = 0; j < n_named; j++)
				named |= streq(nv[j].bdf, members.v[k]);
			if (!named && find_obs(obs, members.v[k]) < 0)
				add_dev(obs, inv, members.v[k], -1, (int)self);
		}
		strv_clear(&members);
	}

	/* who uses what */
	r = usage_open(&uctx);
	if (r < 0) {
		errf(err, "cannot read the host's mounts and processes: %s",
		     strerror(-r));
		goto fail;
	}
	holders = holders_load(vm->vmid);
	for (size_t i = 0; i < obs->n_devs; i++) {
		struct obs_dev *od = &obs->devs[i];

		if (od->dev->bridge || od->keep || od->mdev)
			continue;
		usage_check(uctx, od->dev, &od->usage);
		od->reserved_by = reservation_other_vm(res, od->dev->bdf, vm->vmid);
		od->held_by = holders_find(holders, od->dev->bdf);
	}
	holders_free(holders);
	usage_close(uctx);
	for (size_t i = 0; i < n_named; i++)
		free(nv[i].bdf);
	free(nv);
	reservation_free(res);
	*out = obs;
	return 0;
fail:
	for (size_t i = 0; i < n_named; i++)
		free(nv[i].bdf);
	free(nv);
	reservation_free(res);
	observation_free(obs);
	return r < 0 ? r : -EINVAL;
}
