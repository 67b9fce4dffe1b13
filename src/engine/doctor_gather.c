// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The doctor's facts, read in one place: everything doctor_judge() looks at
 * comes from here, and nothing here judges.  Read-only: no module is
 * loaded, no sysfs file written.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "engine/doctor.h"
#include "pci/vendorreset.h"
#include "pve/mapping.h"
#include "pve/storage.h"

/* ---- VMs ---- */

/* A line "hostpciN:" in the part of the config before the first section. */
static bool has_hostpci(const char *text)
{
	for (const char *p = text; p && *p;) {
		if (*p == '[')
			return false;
		if (startswith(p, "hostpci") && p[7] >= '0' && p[7] <= '9')
			return true;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The VMs of this node whose config names PCI devices, sorted. */
static void list_vms(unsigned **out, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	*out = NULL;
	*n = 0;
	if (host_path(path, sizeof(path), "/etc/pve/qemu-server") < 0)
		return;
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		_cleanup_free_ char *name = xstrdup(e->d_name);
		_cleanup_free_ char *text = NULL;
		char *dot = strrchr(name, '.');
		unsigned vmid;

		if (!dot || !streq(dot, ".conf"))
			continue;
		*dot = '\0';
		if (vmid_parse(name, &vmid) < 0)
			continue;
		if (host_read(&text, "/etc/pve/qemu-server/%u.conf", vmid) < 0 ||
		    !has_hostpci(text))
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = vmid;
	}
	closedir(dir);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_unsigned);
}

static char *conf_value(const struct vmconf *c, const char *key)
{
	const struct pveconf_line *l = vmconf_get(c, key);

	return l ? xstrdup(l->value) : NULL;
}

/* "machine: type=q35,viommu=intel" or "machine: pc-q35-8.1" -> the type */
static char *machine_type(const struct vmconf *c)
{
	const struct pveconf_line *l = vmconf_get(c, "machine");
	struct propkv *kv = NULL;
	size_t n = 0;
	char *type = NULL;

	if (!l)
		return NULL;
	if (propstr_split(l->value, "type", &kv, &n, NULL) < 0)
		return xstrdup(l->value);
	for (size_t i = 0; i < n; i++)
		if (streq(kv[i].key, "type"))
			type = xstrdup(kv[i].value);
	propkv_free(kv, n);
	return type;
}

/* stat(2) under the root, following symlinks as Perl's -f and -x do */
static bool regular_file(const char *path, bool *exec)
{
	char full[PATH_MAX];
	struct stat st;

	if (exec)
		*exec = false;
	if (host_path(full, sizeof(full), "%s", path) < 0 || stat(full, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return false;
	if (exec)
		*exec = (st.st_mode & 0111) != 0; /* -x for root: any x bit */
	return true;
}

static void gather_hookscript(struct doctor_vm *vm, struct storage_cfg **storage)
{
	_cleanup_free_ char *e = NULL, *id = NULL;
	int r;

	if (!vm->hookscript)
		return;
	if (!*storage && storage_read(storage, &e) < 0) {
		vm->hook_error =
		    e ? xstrdup(e) : xstrdup("cannot read /etc/pve/storage.cfg");
		return;
	}
	/* PVE::GuestHelpers::check_hookscript: the volume's type comes from
	 * its name (snippets/NAME), not the storage's content list */
	r = storage_snippet_file(*storage, vm->hookscript, &vm->hook_path, &id, &e);
	if (r < 0) {
		vm->hook_error = e ? xstrdup(e) : xstrdup(strerror(-r));
		return;
	}
	if (!storage_has_content(storage_find(*storage, id), "snippets"))
		vm->hook_nocontent = xstrdup(id);
	vm->hook_exists = regular_file(vm->hook_path, &vm->hook_exec);
}

/* The IOMMU group a mapping entry expects of its first path, and the one it
 * has; from the mappings the plan was given (the API's), else pci.cfg. */
static void gather_mappings(struct doctor_vm *vm, struct mapping_cfg **file)
{
	const struct mapping_cfg *maps = vm->pc.maps;

	for (unsigned i = 0; i < HOSTPCI_MAX; i++) {
		const struct hostpci *h = vm->pc.vm->hostpci[i];
		const struct pci_mapping *m;

		if (!h || !h->mapping)
			continue;
		if (!maps && !*file && mapping_read(file, NULL) < 0)
			return;
		m = mapping_find(maps ? maps : *file, h->mapping);
		for (size_t k = 0; m && k < m->n_maps; k++) {
			const struct pci_map_entry *me = &m->maps[k];
			struct doctor_mapgroup *g;
			_cleanup_free_ char *link = NULL;
			unsigned long long grp, want;
			char path[32];

			if (!streq(me->node, host_node()) || !me->iommugroup ||
			    parse_uint(me->iommugroup, INT_MAX, &want) < 0 ||
			    me->path.n == 0)
				continue;
			/* Mapping/PCI.pm: a path without function is checked as .0 */
			snprintf(path, sizeof(path), "%s%s", me->path.v[0],
				 strchr(me->path.v[0], '.') ? "" : ".0");
			vm->maps =
			    xrealloc(vm->maps, (vm->n_maps + 1) * sizeof(*vm->maps));
			g = &vm->maps[vm->n_maps++];
			memset(g, 0, sizeof(*g));
			g->hostpci = i;
			g->mapping = xstrdup(m->name);
			/* the API's mappings have no lines of pci.cfg */
			g->line = maps ? 0 : me->line;
			g->path = xstrdup(path);
			g->expected = (int)want;
			g->actual = -1;
			if (host_readlink_base(&link,
					       "/sys/bus/pci/devices/%s/iommu_group",
					       path) == 0 &&
			    parse_uint(link, INT_MAX, &grp) == 0)
				g->actual = (int)grp;
		}
	}
}

/* The other functions of each display device's slot that no entry names
 * (the guides' first pitfall: 01:00.0 where 01:00 was meant). */
static void gather_siblings(struct doctor_vm *vm)
{
	const struct observation *obs = vm->pc.obs;

	for (size_t i = 0; i < obs->n_devs; i++) {
		const struct obs_dev *od = &obs->devs[i];
		const struct pdev *d = od->dev;

		if (od->hostpci < 0 || d->class_code >> 16 != 0x03)
			continue;
		for (unsigned f = 0; f < 8; f++) {
			char bdf[16];
			bool named = false;

			snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%u", d->domain, d->bus,
				 d->dev, f);
			if (f == d->func || !host_exists("/sys/bus/pci/devices/%s", bdf))
				continue;
			for (size_t k = 0; k < obs->n_devs; k++)
				named |= obs->devs[k].hostpci >= 0 &&
					 streq(obs->devs[k].dev->bdf, bdf);
			if (named)
				continue;
			vm->siblings = xrealloc(vm->siblings, (vm->n_siblings + 1) *
								  sizeof(*vm->siblings));
			vm->siblings[vm->n_siblings].hostpci = (unsigned)od->hostpci;
			snprintf(vm->siblings[vm->n_siblings].dev, sizeof(bdf), "%s",
				 d->bdf);
			snprintf(vm->siblings[vm->n_siblings].sibling, sizeof(bdf), "%s",
				 bdf);
			vm->n_siblings++;
		}
	}
}

/* With vm->pc planned (or vm->error set): the facts around the plan. */
static void gather_vm(struct doctor_vm *vm, struct storage_cfg **storage,
		      struct mapping_cfg **maps)
{
	const struct vmconf *conf;

	vm->path = xasprintf("/etc/pve/qemu-server/%u.conf", vm->vmid);
	if (vm->error)
		return;
	/* the config as the plan read it: [PENDING] applied as the start will */
	conf = vm->pc.vm->conf;
	vm->machine = machine_type(conf);
	vm->bios = conf_value(conf, "bios");
	vm->cpu = conf_value(conf, "cpu");
	vm->vga = conf_value(conf, "vga");
	vm->hookscript = conf_value(conf, "hookscript");
	vm->efidisk = vmconf_get(conf, "efidisk0") != NULL;
	for (unsigned i = 0; i < HOSTPCI_MAX; i++) {
		const struct hostpci *h = vm->pc.vm->hostpci[i];

		if (h && h->romfile) {
			_cleanup_free_ char *rom =
			    xasprintf("/usr/share/kvm/%s", h->romfile);

			vm->romfile_present[i] = regular_file(rom, NULL);
		}
	}
	gather_hookscript(vm, storage);
	gather_mappings(vm, maps);
	gather_siblings(vm);
}

/* The plan of a VM, or why there is none, in vm->error. */
static void plan_result(struct doctor_vm *vm, int r, char *e)
{
	if (r < 0)
		vm->error = e ? e : xstrdup(strerror(-r));
	else
		free(e);
}

/* ---- the host ---- */

/* "Y"/"N" (bool module parameters) or "1"/"0"; -1 when absent */
static int read_flag(const char *fmt, const char *a, const char *b)
{
	_cleanup_free_ char *s = NULL;

	if (host_read(&s, fmt, a, b) < 0)
		return -1;
	return streq(s, "Y") || streq(s, "1") || streq(s, "y");
}

static int count_entries(const char *dir, struct strv *names)
{
	char path[PATH_MAX];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (host_path(path, sizeof(path), "%s", dir) < 0)
		return 0;
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (names)
			strv_add(names, e->d_name);
	}
	closedir(d);
	if (names)
		strv_sort(names);
	return n;
}

/* Interrupt remapping shows as "IR-PCI-MSI", "IR-IO-APIC", ... chips in
 * /proc/interrupts; read line by line (it is big on big hosts). */
static int read_irq_remap(void)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	if (host_path(path, sizeof(path), "/proc/interrupts") < 0)
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, " IR-") != NULL;
	free(line);
	fclose(f);
	return found;
}

static char *read_cpu_vendor(void)
{
	_cleanup_free_ char *text = NULL;
	const char *p;
	size_t len;

	if (host_read(&text, "/proc/cpuinfo") < 0)
		return NULL;
	p = strstr(text, "vendor_id");
	if (!p || !(p = strchr(p, ':')))
		return NULL;
	for (p++; *p == ' ' || *p == '\t'; p++)
		;
	len = strcspn(p, "\n");
	return len ? xstrndup(p, len) : NULL;
}

static void gather_module(struct kmod_db *db, const char *name, struct doctor_mod *m)
{
	m->known = kmod_db_state(db, name, &m->state, NULL) == 0;
}

static void dev_fill(struct doctor_dev *dd, const struct pdev *d, struct inventory *inv)
{
	_cleanup_free_ char *ps = NULL;
	long v;

	memset(dd, 0, sizeof(*dd));
	snprintf(dd->bdf, sizeof(dd->bdf), "%s", d->bdf);
	dd->hostpci = -1;
	dd->vendor = d->vendor;
	dd->device = d->device;
	dd->class_code = d->class_code;
	dd->driver = d->driver ? xstrdup(d->driver) : NULL;
	dd->boot_vga = d->boot_vga;
	dd->reset_method = d->reset_method ? xstrdup(d->reset_method) : NULL;
	dd->d3cold_allowed = -1;
	if (host_read_long(&v, "/sys/bus/pci/devices/%s/d3cold_allowed", d->bdf) == 0)
		dd->d3cold_allowed = v != 0;
	if (host_read(&ps, "/sys/bus/pci/devices/%s/power_state", d->bdf) == 0) {
		dd->power_state = ps;
		ps = NULL;
	}
	if (inv && inventory_bars(inv, d->bdf, dd->bars, &dd->n_bars) < 0)
		log_debug("%s: no BARs: %s", d->bdf, inventory_error(inv));
}

/* The devices the VMs name (hostpciN), each once, from their observations. */
static void gather_wanted(struct doctor *d, struct inventory *inv)
{
	struct doctor_host *h = &d->host;

	for (size_t i = 0; i < d->n_vms; i++) {
		const struct observation *obs = d->vms[i].pc.obs;

		for (size_t k = 0; obs && k < obs->n_devs; k++) {
			const struct obs_dev *od = &obs->devs[k];
			bool dup = false;

			if (od->hostpci < 0)
				continue;
			for (size_t j = 0; j < h->n_want; j++)
				dup |= streq(h->want[j].bdf, od->dev->bdf);
			if (dup)
				continue;
			h->want = xrealloc(h->want, (h->n_want + 1) * sizeof(*h->want));
			dev_fill(&h->want[h->n_want], od->dev, inv);
			h->want[h->n_want].vmid = d->vms[i].vmid;
			h->want[h->n_want].hostpci = od->hostpci;
			h->n_want++;
		}
	}
}

/* Every present AMD GPU that vendor-reset supports. */
static void gather_amd(struct doctor_host *h, struct inventory *inv)
{
	struct pdev **v = NULL;
	size_t n = 0;

	if (inventory_scan(inv, 0, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct pdev *full = NULL;
		struct doctor_dev *dd;

		if (!vendor_reset_generation(v[i]->vendor, v[i]->device))
			continue;
		if (inventory_get(inv, v[i]->bdf, 0, &full) < 0)
			continue;
		h->amd = xrealloc(h->amd, (h->n_amd + 1) * sizeof(*h->amd));
		dd = &h->amd[h->n_amd++];
		dev_fill(dd, full, NULL);
		for (size_t j = 0; j < h->n_want; j++)
			if (streq(h->want[j].bdf, dd->bdf)) {
				dd->vmid = h->want[j].vmid;
				dd->hostpci = h->want[j].hostpci;
			}
		pdev_free(full);
	}
	pdev_freev(v, n);
}

static void gather_host(struct doctor *d)
{
	struct doctor_host *h = &d->host;
	struct inventory *inv = NULL;
	struct kmod_db *db = NULL;
	_cleanup_free_ char *text = NULL;
	char *e = NULL;

	if (host_read(&h->release, "/proc/sys/kernel/osrelease") < 0)
		h->release = NULL;
	if (host_read(&text, "/proc/cmdline") == 0) {
		h->cmdline_known = true;
		cmdline_split(text, &h->cmdline);
	}
	free(text);
	text = NULL;
	bootcfg_read(&h->boot, h->cmdline_known ? &h->cmdline : NULL);

	h->n_groups = count_entries("/sys/kernel/iommu_groups", NULL);
	count_entries("/sys/class/iommu", &h->iommu_units);
	if (h->n_groups == 0)
		h->cpu_vendor = read_cpu_vendor();
	h->irq_remap = read_irq_remap();
	h->unsafe_interrupts = read_flag("/sys/module/%s/parameters/%s",
					 "vfio_iommu_type1", "allow_unsafe_interrupts");
	h->disable_idle_d3 =
	    read_flag("/sys/module/%s/parameters/%s", "vfio_pci", "disable_idle_d3");
	h->disable_vga =
	    read_flag("/sys/module/%s/parameters/%s", "vfio_pci", "disable_vga");

	if (kmod_db_open(&db, &e) < 0) {
		h->modules_error = e;
		e = NULL;
	}
	h->modules_dir = kmod_db_dir(db) ? xstrdup(kmod_db_dir(db)) : NULL;
	gather_module(h->modules_error ? NULL : db, "vfio-pci", &h->vfio_pci);
	gather_module(h->modules_error ? NULL : db, "vfio_iommu_type1", &h->vfio_type1);
	gather_module(h->modules_error ? NULL : db, VENDOR_RESET_MODULE,
		      &h->vendor_reset);
	kmod_db_close(db);
	modconf_read(&h->modconf);

	if (host_read(&text, "/proc/iomem") == 0) {
		struct iomem_range *v = NULL;
		size_t n = 0;

		iomem_parse(text, &v, &n);
		for (size_t i = 0; i < n; i++) {
			if (!iomem_is_framebuffer(v[i].name))
				continue;
			h->fbs = xrealloc(h->fbs, (h->n_fbs + 1) * sizeof(*h->fbs));
			h->fbs[h->n_fbs] = v[i];
			h->fbs[h->n_fbs++].name = xstrdup(v[i].name);
		}
		iomem_free(v, n);
	}
	if (host_read(&h->cpus_online, "/sys/devices/system/cpu/online") == 0)
		h->cpus_known = cpuset_parse(h->cpus_online, 0, &h->cpus, NULL) == 0;
	else
		h->cpus_online = NULL;

	if (inventory_open(&inv, &e) < 0) {
		log_debug("no device facts: %s", e ? e : "inventory");
		free(e);
		return;
	}
	gather_wanted(d, inv);
	gather_amd(h, inv);
	inventory_close(inv);
}

/* The VMs' facts (each doctor_vm with its vmid and plan or error), then the host's. */
static struct doctor *gather_all(struct doctor *d)
{
	struct storage_cfg *storage = NULL;
	struct mapping_cfg *maps = NULL;

	for (size_t i = 0; i < d->n_vms; i++)
		gather_vm(&d->vms[i], &storage, &maps);
	storage_free(storage);
	mapping_free(maps);
	gather_host(d);
	return d;
}

int doctor_gather(unsigned vmid, struct doctor **out, char **err)
{
	/* as the start will read it: [PENDING] applied, as `plan` shows it */
	const struct plan_ctx_opts opts = {.apply_pending = true};
	struct doctor *d = xcalloc(1, sizeof(*d));
	unsigned *vmids = NULL;
	size_t n = 0;

	*out = NULL;
	if (vmid) {
		if (!host_exists("/etc/pve/qemu-server/%u.conf", vmid)) {
			free(d);
			return errnof(
			    err, -ENOENT,
			    "VM %u has no config file /etc/pve/qemu-server/%u.conf on this node (%s): check the VM id, or whether the VM lives on another cluster node (/etc/pve/.vmlist)",
			    vmid, vmid, host_node());
		}
		vmids = xcalloc(1, sizeof(*vmids));
		vmids[n++] = vmid;
	} else {
		list_vms(&vmids, &n);
	}
	d->vms = xcalloc(n, sizeof(*d->vms));
	d->n_vms = n;
	for (size_t i = 0; i < n; i++) {
		char *e = NULL;
		int r = plan_ctx_make_opts(&d->vms[i].pc, vmids[i], &opts, &e);

		d->vms[i].vmid = vmids[i];
		plan_result(&d->vms[i], r, e);
	}
	free(vmids);
	*out = gather_all(d);
	return 0;
}

void doctor_gather_from(struct doctor_vm_in *in, size_t n, struct doctor **out)
{
	struct doctor *d = xcalloc(1, sizeof(*d));

	d->vms = xcalloc(n, sizeof(*d->vms));
	d->n_vms = n;
	for (size_t i = 0; i < n; i++) {
		char *e = NULL;

		d->vms[i].vmid = in[i].vmid;
		if (in[i].error) {
			d->vms[i].error = in[i].error;
			vm_free(in[i].vm);
			mapping_free(in[i].maps);
		} else {
			plan_result(
			    &d->vms[i],
			    plan_ctx_make_from(&d->vms[i].pc, in[i].vm, in[i].maps, &e),
			    e);
		}
		memset(&in[i], 0, sizeof(in[i]));
	}
	*out = gather_all(d);
}

static void dev_clear(struct doctor_dev *dd)
{
	free(dd->driver);
	free(dd->reset_method);
	free(dd->power_state);
}

void doctor_free(struct doctor *d)
{
	struct doctor_host *h;

	if (!d)
		return;
	h = &d->host;
	free(h->release);
	strv_clear(&h->cmdline);
	bootcfg_clear(&h->boot);
	strv_clear(&h->iommu_units);
	free(h->cpu_vendor);
	free(h->modules_error);
	free(h->modules_dir);
	modconf_clear(&h->modconf);
	iomem_free(h->fbs, h->n_fbs);
	free(h->cpus_online);
	for (size_t i = 0; i < h->n_want; i++)
		dev_clear(&h->want[i]);
	free(h->want);
	for (size_t i = 0; i < h->n_amd; i++)
		dev_clear(&h->amd[i]);
	free(h->amd);
	for (size_t i = 0; i < d->n_vms; i++) {
		struct doctor_vm *vm = &d->vms[i];

		free(vm->path);
		free(vm->error);
		plan_ctx_free(&vm->pc);
		free(vm->machine);
		free(vm->bios);
		free(vm->cpu);
		free(vm->vga);
		free(vm->hookscript);
		free(vm->hook_path);
		free(vm->hook_error);
		free(vm->hook_nocontent);
		for (size_t k = 0; k < vm->n_maps; k++) {
			free(vm->maps[k].mapping);
			free(vm->maps[k].path);
		}
		free(vm->maps);
		free(vm->siblings);
	}
	free(d->vms);
	free(d);
}
