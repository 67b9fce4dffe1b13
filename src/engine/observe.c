// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/observe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"
#include "pci/usage.h"
#include "pve/hostpci.h"
#include "pve/mapping.h"
#include "pve/nodeaddr.h"
#include "pve/propstr.h"
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

long observe_vm_pid(unsigned vmid)
{
	long pid;

	/* Proxmox writes /var/run/qemu-server/<vmid>.pid; /var/run is /run */
	if (host_read_long(&pid, "/run/qemu-server/%u.pid", vmid) < 0 &&
	    host_read_long(&pid, "/var/run/qemu-server/%u.pid", vmid) < 0)
		return 0;
	return pid > 0 && host_exists("/proc/%ld", pid) ? pid : 0;
}

bool observe_vm_running(unsigned vmid)
{
	return observe_vm_pid(vmid) > 0;
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
		    obs, "device-unreadable", bdf,
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

/* One hostpci entry on its way to devices (PCI.pm parse_hostpci: a list of
 * alternatives, each a list of devices). */
struct entry {
	struct strv *alts; /* NULL when the entry could not be resolved */
	size_t n_alts;
};

static void entry_clear(struct entry *e)
{
	for (size_t i = 0; i < e->n_alts; i++)
		strv_clear(&e->alts[i]);
	free(e->alts);
	memset(e, 0, sizeof(*e));
}

/* A problem that refuses the start, unless the VM is a template: Proxmox
 * starts a template (for a backup) without its hostpci devices. */
static void entry_problem(struct observation *obs, const char *code, unsigned index,
			  const char *fmt, ...) _printf_(4, 5);
static void entry_problem(struct observation *obs, const char *code, unsigned index,
			  const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	char id[16];
	va_list ap;

	if (obs->is_template)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	snprintf(id, sizeof(id), "hostpci%u", index);
	observation_add_problem(obs, code, id, "%s", msg);
}

static const char *mapping_code(int r)
{
	switch (r) {
	case -ENOENT:
		return "mapping-not-found";
	case -ENODEV:
		return "device-missing";
	default:
		return "mapping-invalid";
	}
}

/*
 * PCI.pm parse_hostpci_devices's checks of one resolved entry, which
 * Proxmox makes after pre-start (proxmox-facts.md): mdev on several
 * functions, and the legacy-igd rules; *igd_seen counts legacy-igd entries.
 */
static void check_entry(struct observation *obs, const struct vm *vm,
			const struct hostpci *h, const struct entry *e, bool *igd_seen)
{
	const char *why = NULL;
	bool multifunction = false;

	for (size_t a = 0; a < e->n_alts; a++)
		multifunction |= e->alts[a].n > 1;
	if (multifunction && h->mdev)
		entry_problem(
		    obs, "mdev-multifunction", h->index,
		    "hostpci%u: cannot use mediated device with multifunction device (%s names %zu functions); name one function (e.g. %s) or drop mdev",
		    h->index, h->mapping ? "the mapping" : "host", e->alts[0].n,
		    e->alts[0].n ? e->alts[0].v[0] : "01:00.0");
	if (h->legacy_igd != 1)
		return;
	if (*igd_seen)
		why = "only one device can be assigned in legacy-igd mode";
	else if (!streq(vm->vga, "none"))
		why =
		    "legacy IGD assignment requires VGA mode to be 'none' (set vga: none)";
	else if (h->rombar == 0)
		why =
		    "legacy IGD assignment requires rombar to be enabled (drop rombar=0)";
	else if (h->x_vga == 1)
		why = "legacy IGD assignment is not compatible with x-vga";
	else if (h->mdev)
		why = "legacy IGD assignment is not compatible with mdev";
	else if (vm->q35)
		why =
		    "legacy IGD assignment is not compatible with q35 (it needs the i440fx machine)";
	else if (multifunction)
		why =
		    "legacy IGD assignment is not compatible with multifunction devices (name the IGD function 00:02.0 alone)";
	else if (e->n_alts > 1)
		why =
		    "legacy IGD assignment is not compatible with alternate devices (the mapping has several entries for this node)";
	else if (e->n_alts == 0 || e->alts[0].n == 0 || strlen(e->alts[0].v[0]) < 4 ||
		 strcmp(e->alts[0].v[0] + strlen(e->alts[0].v[0]) - 4, "02.0") != 0)
		why = "legacy IGD assignment only works for devices on host bus 00:02.0";
	else if (h->index != 0)
		/* proxmox-facts.md: legacy-igd only as hostpci0 */
		why =
		    "legacy IGD assignment is only supported as hostpci0 (move the entry to hostpci0)";
	*igd_seen = true;
	if (why)
		entry_problem(obs, "legacy-igd-rules", h->index, "hostpci%u: %s",
			      h->index, why);
}

/* Why alternative alt cannot be chosen (allocated), or NULL: PCI.pm
 * choose_hostpci_devices skips one with a device used by an earlier entry
 * or reserved by another VM; one another VM's pre-start holds (its fresh
 * vfiohook journal) is as taken, since its reservation comes right after. */
static char *alt_busy(const struct strv *alt, const struct strv *used, unsigned vmid,
		      const struct reservations *res, const struct holders *holders)
{
	for (size_t j = 0; j < alt->n; j++) {
		const char *bdf = alt->v[j];
		unsigned other;

		if (strv_contains(used, bdf))
			return xasprintf("%s is used by an earlier hostpci entry", bdf);
		if ((other = reservation_other_vm(res, bdf, vmid)))
			return xasprintf("%s is reserved by VM %u", bdf, other);
		if ((other = holders_find(holders, bdf)))
			return xasprintf("%s is held by VM %u (its pre-start bound it)",
					 bdf, other);
	}
	return NULL;
}

static void add_named(struct named **nv, size_t *n, const char *bdf,
		      const struct hostpci *h)
{
	*nv = xrealloc(*nv, (*n + 1) * sizeof(**nv));
	(*nv)[*n].bdf = xstrdup(bdf);
	(*nv)[*n].hostpci = (int)h->index;
	(*nv)[*n].keep = h->driver_keep;
	(*nv)[*n].mdev = h->mdev != NULL;
	(*n)++;
}

/*
 * Resolve every hostpci entry to devices as qemu-server does after
 * pre-start: parse_hostpci_devices (mapping lookup and assert_valid,
 * prefix expansion, the pcie/q35, mdev and legacy-igd checks), then
 * choose_hostpci_devices (one alternative per entry, no device twice).
 */
/* The machine type of `machine:` (its default key, or type=), for messages;
 * NULL when none is given (i440fx). */
static char *machine_type(const char *machine)
{
	struct propkv *kv = NULL;
	size_t n = 0;
	char *type = NULL;

	if (!machine || propstr_split(machine, "type", &kv, &n, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < n && !type; i++)
		if (streq(kv[i].key, "type"))
			type = xstrdup(kv[i].value);
	propkv_free(kv, n);
	return type;
}

static int resolve_entries(struct observation *obs, struct vm *vm,
			   const struct reservations *res, const struct holders *holders,
			   const struct mapping_cfg *given_maps, struct named **out,
			   size_t *n_out, char **err)
{
	_cleanup_free_ char *mtype = machine_type(vm->machine);
	struct strv present = {0}; /* the devices the ids can name, probed */
	struct mapping_cfg *own_maps = NULL;
	const struct mapping_cfg *maps = given_maps;
	struct entry entries[HOSTPCI_MAX];
	struct strv used = {0};
	struct named *nv = NULL;
	bool igd_seen = false;
	size_t n = 0;
	int r = 0;

	memset(entries, 0, sizeof(entries));
	for (unsigned i = 0; i < HOSTPCI_MAX; i++) {
		const struct hostpci *h = vm->hostpci[i];

		if (h && h->mapping && !maps) {
			/* given_maps NULL: the file (else the API's) */
			r = mapping_read(&own_maps, err);
			if (r < 0)
				goto out;
			maps = own_maps;
			for (size_t w = 0; w < maps->warnings.n; w++)
				strv_add(&obs->warnings, maps->warnings.v[w]);
		}
	}
	/* parse_hostpci_devices */
	for (unsigned i = 0; i < HOSTPCI_MAX; i++) {
		struct hostpci *h = vm->hostpci[i];
		struct entry *e = &entries[i];
		_cleanup_free_ char *msg = NULL;

		if (!h)
			continue;
		if (h->pcie == 1 && !vm->q35)
			entry_problem(
			    obs, "pcie-needs-q35", i,
			    "hostpci%u: q35 machine model is not enabled: pcie=1 needs the q35 machine, and this VM's is %s (set machine: q35, or drop pcie=1)",
			    i, mtype ? mtype : "i440fx (the default)");
		if (h->mapping) {
			const struct pci_mapping *m = mapping_find(maps, h->mapping);

			for (size_t k = 0; m && k < m->n_maps; k++) {
				const struct pci_map_entry *me = &m->maps[k];

				if (!streq(me->node, host_node()))
					continue;
				for (size_t p = 0; p < me->path.n; p++)
					hostpci_probe_present(me->path.v[p], &present);
			}
			r = mapping_alternatives(m, h->mapping, i, &present, &e->alts,
						 &e->n_alts, &msg);
			if (r < 0) {
				entry_problem(obs, mapping_code(r), i, "%s",
					      msg ? msg : strerror(-r));
				r = 0;
				continue;
			}
		} else {
			for (size_t k = 0; k < h->host.n; k++)
				hostpci_probe_present(h->host.v[k], &present);
			r = hostpci_expand(h, &present, &msg);
			if (r < 0) {
				entry_problem(obs, "device-missing", i, "%s",
					      msg ? msg : strerror(-r));
				r = 0;
				continue;
			}
			e->alts = xcalloc(1, sizeof(*e->alts));
			e->n_alts = 1;
			for (size_t k = 0; k < h->devs.n; k++)
				strv_add(&e->alts[0], h->devs.v[k]);
		}
		check_entry(obs, vm, h, e, &igd_seen);
	}
	/* choose_hostpci_devices */
	for (unsigned i = 0; i < HOSTPCI_MAX; i++) {
		struct hostpci *h = vm->hostpci[i];
		struct entry *e = &entries[i];
		const struct strv *chosen = NULL;
		_cleanup_free_ char *why = NULL;

		if (!h || !e->alts)
			continue;
		strv_clear(&h->devs);
		if (h->mdev) {
			/* the mdev is created on the first alternative that
			 * allows it; its parent is not reserved nor bound */
			if (e->alts[0].n)
				strv_add(&h->devs, e->alts[0].v[0]);
			for (size_t k = 0; k < h->devs.n; k++)
				add_named(&nv, &n, h->devs.v[k], h);
			continue;
		}
		if (e->n_alts == 1) {
			chosen = &e->alts[0];
		} else {
			for (size_t a = 0; a < e->n_alts && !chosen; a++) {
				char *busy =
				    alt_busy(&e->alts[a], &used, vm->vmid, res, holders);

				if (!busy) {
					chosen = &e->alts[a];
					break;
				}
				if (why) {
					char *w = xasprintf("%s; %s", why, busy);

					free(why);
					free(busy);
					why = w;
				} else {
					why = busy;
				}
			}
			if (!chosen) {
				entry_problem(
				    obs, "no-free-device", i,
				    "hostpci%u: could not find a free device for 'hostpci%u' (mapping '%s' on %s: %s); stop the other VM or add another device to the mapping",
				    i, i, h->mapping ? h->mapping : "-", host_node(),
				    why ? why : "no alternative");
				continue;
			}
		}
		for (size_t k = 0; k < chosen->n; k++) {
			const char *bdf = chosen->v[k];

			strv_add(&h->devs, bdf);
			if (strv_contains(&used, bdf)) {
				int first = -1;

				for (size_t j = 0; j < n; j++)
					if (streq(nv[j].bdf, bdf))
						first = nv[j].hostpci;
				if (first == (int)i)
					entry_problem(
					    obs, "device-twice", i,
					    "hostpci%u: device '%s' assigned more than once (hostpci%u names it twice): a device can be passed through only once; name it once",
					    i, bdf, i);
				else
					entry_problem(
					    obs, "device-twice", i,
					    "hostpci%u: device '%s' assigned more than once (also by hostpci%d): a device can be passed through only once; remove it from one of the entries",
					    i, bdf, first);
				continue;
			}
			strv_add(&used, bdf);
			add_named(&nv, &n, bdf, h);
		}
	}
out:
	for (unsigned i = 0; i < HOSTPCI_MAX; i++)
		entry_clear(&entries[i]);
	mapping_free(own_maps);
	strv_clear(&used);
	strv_clear(&present);
	*out = nv;
	*n_out = n;
	return r;
}

/*
 * A driver=keep entry that shares its IOMMU group with a bound entry (vfio,
 * no mdev) is bound by Proxmox all the same: its group bind takes every
 * non-bridge member (proxmox-facts.md).  Plan it as that entry's companion.
 */
static void mark_keep_lost(struct observation *obs)
{
	for (size_t i = 0; i < obs->n_devs; i++) {
		struct obs_dev *od = &obs->devs[i];

		if (!od->keep || od->mdev || od->hostpci < 0 || od->dev->group < 0 ||
		    od->dev->bridge)
			continue;
		for (size_t k = 0; k < obs->n_devs; k++) {
			const struct obs_dev *b = &obs->devs[k];

			if (k == i || b->hostpci < 0 || b->keep || b->keep_lost ||
			    b->mdev || b->dev->group != od->dev->group)
				continue;
			od->keep = false;
			od->keep_lost = true;
			od->via = (int)k;
			break;
		}
	}
}

/* The node's own addresses (pve/nodeaddr.h): the network they are on is
 * never taken. */
static void add_node_addresses(struct usage_ctx *u)
{
	struct strv addrs = {0}, whys = {0};

	nodeaddr_read(host_node(), &addrs, &whys);
	for (size_t i = 0; i < addrs.n; i++)
		usage_add_node_address(u, addrs.v[i], whys.v[i]);
	strv_clear(&addrs);
	strv_clear(&whys);
}

/* A running VM's own QEMU has its groups open: that is the VM itself, not
 * another user of its devices. */
static void drop_own_qemu(struct usage_list *l, unsigned vmid)
{
	size_t w = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].kind == USAGE_VFIO_OPEN && l->v[i].other_vmid == vmid)
			free(l->v[i].what);
		else
			l->v[w++] = l->v[i];
	}
	l->n = w;
}

int observe_vm(struct vm *vm, struct inventory *inv, struct observation **out, char **err)
{
	return observe_vm_maps(vm, inv, NULL, out, err);
}

int observe_vm_maps(struct vm *vm, struct inventory *inv, const struct mapping_cfg *maps,
		    struct observation **out, char **err)
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
	obs->running_pid = observe_vm_pid(vm->vmid);

	r = reservation_read(&res, err);
	if (r < 0)
		goto fail;
	holders = holders_load(vm->vmid);
	r = resolve_entries(obs, vm, res, holders, maps, &nv, &n_named, err);
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

	mark_keep_lost(obs);

	/* who uses what */
	r = usage_open(&uctx);
	if (r < 0) {
		errf(err, "cannot read the host's mounts and processes: %s",
		     strerror(-r));
		goto fail;
	}
	add_node_addresses(uctx);
	for (size_t i = 0; i < obs->n_devs; i++) {
		struct obs_dev *od = &obs->devs[i];

		if (od->dev->bridge || od->keep || od->mdev)
			continue;
		usage_check(uctx, od->dev, &od->usage);
		if (obs->running_pid)
			drop_own_qemu(&od->usage, vm->vmid);
		od->reserved_by = reservation_other_vm(res, od->dev->bdf, vm->vmid);
		od->held_by = holders_find(holders, od->dev->bdf);
	}
	usage_close(uctx);
	for (size_t i = 0; i < n_named; i++)
		free(nv[i].bdf);
	free(nv);
	holders_free(holders);
	reservation_free(res);
	*out = obs;
	return 0;
fail:
	for (size_t i = 0; i < n_named; i++)
		free(nv[i].bdf);
	free(nv);
	holders_free(holders);
	reservation_free(res);
	observation_free(obs);
	return r < 0 ? r : -EINVAL;
}
