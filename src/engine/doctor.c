// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The doctor's judgement: a pure function from the facts doctor_gather()
 * read to findings.  Each check says what it found where, why it matters
 * (what Proxmox, QEMU or the kernel will do), and the fix, with the file
 * to edit and the command that applies it.
 */
#include "engine/doctor.h"

#include <stdio.h>

#include "base/util.h"
#include "pci/vendorreset.h"

#define PCI_VENDOR_NVIDIA 0x10de
#define PCI_CLASS_DISPLAY 0x03
#define PCI_CLASS_DISPLAY_VGA 0x0300

/* Drivers the guides blacklist so the host never touches a GPU (or its
 * audio function).  fbdev drivers such as nvidiafb are not here: Proxmox
 * itself blacklists nvidiafb (/etc/modprobe.d/pve-blacklist.conf), and
 * without them nothing is lost. */
static const char *const guide_drivers[] = {
    "nouveau", "nvidia", "nvidia_drm", "nvidia_modeset", "radeon",
    "amdgpu",  "i915",	 "xe",	       "snd_hda_intel",	 "snd_hda_codec_hdmi",
};

static bool guide_driver(const char *module)
{
	for (size_t i = 0; i < ARRAY_SIZE(guide_drivers); i++)
		if (streq(module, guide_drivers[i]))
			return true;
	return false;
}

/* "module" with '-' as '_' */
static bool module_is(const char *module, const char *name)
{
	size_t i;

	for (i = 0; module[i] && name[i]; i++)
		if ((module[i] == '-' ? '_' : module[i]) !=
		    (name[i] == '-' ? '_' : name[i]))
			return false;
	return !module[i] && !name[i];
}

/* "intel_iommu=on" as it stands on the command line */
static char *param_text(const char *key, const char *value)
{
	return *value ? xasprintf("%s=%s", key, value) : xstrdup(key);
}

/*
 * Where parameter key was set and how to take it out: "remove 'K=V' from
 * GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub (line 6), run update-grub
 * and reboot".
 */
static char *removal(const struct doctor_host *h, const char *key, const char *value)
{
	const struct bootsrc *src = bootcfg_find(&h->boot, key);
	_cleanup_free_ char *p = param_text(key, value);

	if (!src)
		return xasprintf(
		    "remove '%s' from the kernel command line: it is in none of /etc/default/grub, /etc/default/grub.d/*.cfg and /etc/kernel/cmdline, so it was typed at the boot menu or comes from elsewhere; reboot without it",
		    p);
	if (src->var)
		return xasprintf(
		    "remove '%s' from %s in %s (line %u), run update-grub and reboot", p,
		    src->var, src->file, src->line);
	return xasprintf("remove '%s' from %s, run proxmox-boot-tool refresh and reboot",
			 p, src->file);
}

/* " (from /etc/default/grub:6, GRUB_CMDLINE_LINUX_DEFAULT)" */
static char *set_where(const struct doctor_host *h, const char *key)
{
	const struct bootsrc *src = bootcfg_find(&h->boot, key);
	_cleanup_free_ char *where = NULL;

	if (!src)
		return xstrdup(
		    " (in no boot configuration file: not in /etc/default/grub, /etc/default/grub.d or /etc/kernel/cmdline)");
	where = bootsrc_describe(src);
	return xasprintf(" (from %s)", where);
}

/* ---- host: IOMMU ---- */

static bool iommu_off_value(const char *v)
{
	return v && (streq(v, "off") || startswith(v, "off,") || strstr(v, ",off"));
}

static void judge_iommu_off(const struct doctor_host *h, struct findings *out)
{
	static const char *const off_keys[] = {"intel_iommu", "amd_iommu", "iommu"};
	bool amd = h->cpu_vendor && streq(h->cpu_vendor, "AuthenticAMD");
	bool intel = h->cpu_vendor && streq(h->cpu_vendor, "GenuineIntel");
	const struct bootsrc *pending = bootcfg_find(&h->boot, "intel_iommu");

	for (size_t i = 0; i < h->iommu_units.n && !amd && !intel; i++) {
		amd = startswith(h->iommu_units.v[i], "ivhd");
		intel = startswith(h->iommu_units.v[i], "dmar");
	}
	/* turned off on the command line */
	for (size_t i = 0; i < ARRAY_SIZE(off_keys); i++) {
		const char *v = cmdline_get(&h->cmdline, off_keys[i]);
		_cleanup_free_ char *p = NULL, *where = NULL, *fix = NULL;

		if (!iommu_off_value(v))
			continue;
		p = param_text(off_keys[i], v);
		where = set_where(h, off_keys[i]);
		fix = removal(h, off_keys[i], v);
		findings_add(
		    out, FINDING_ERROR, "host-iommu-off", fix,
		    "the IOMMU is off: the kernel command line has '%s'%s, so there are no IOMMU groups and no device can be passed through",
		    p, where);
		return;
	}
	/* set in a file, but the running kernel did not get it */
	if (pending && h->cmdline_known && !cmdline_get(&h->cmdline, "intel_iommu") &&
	    !iommu_off_value(cmdline_get(&pending->params, "intel_iommu"))) {
		_cleanup_free_ char *where = bootsrc_describe(pending);
		_cleanup_free_ char *fix = NULL;

		if (pending->var && h->boot.loader == BOOT_SYSTEMD_BOOT)
			fix = xstrdup(
			    "this host boots with systemd-boot, which takes its command line from /etc/kernel/cmdline, not from /etc/default/grub: add intel_iommu=on to the line in /etc/kernel/cmdline, run proxmox-boot-tool refresh and reboot");
		else if (!pending->var && h->boot.loader == BOOT_GRUB)
			fix = xstrdup(
			    "this host boots with GRUB, which takes its command line from /etc/default/grub, not from /etc/kernel/cmdline: add intel_iommu=on to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run update-grub and reboot");
		else
			fix = xasprintf("run %s and reboot",
					pending->var ? "update-grub"
						     : "proxmox-boot-tool refresh");
		findings_add(
		    out, FINDING_ERROR, "host-iommu-off", fix,
		    "the IOMMU is off: intel_iommu is set in %s, but the running kernel's command line (/proc/cmdline) does not have it, so there are no IOMMU groups and no device can be passed through",
		    where);
		return;
	}
	if (h->iommu_units.n > 0) {
		_cleanup_free_ char *fix = NULL;

		if (amd)
			fix = xstrdup(
			    "AMD-Vi is on by default once the firmware enables it: check 'dmesg | grep -i -e AMD-Vi -e IOMMU' for why it was not used, and that the firmware's IOMMU setting is 'Enabled' rather than 'Auto'");
		else
			fix = xasprintf(
			    "add intel_iommu=on to %s, run %s and reboot (Proxmox kernels from 6.8 on turn it on by default)",
			    boot_loader_file(h->boot.loader),
			    boot_loader_apply(h->boot.loader));
		findings_add(
		    out, FINDING_ERROR, "host-iommu-off", fix,
		    "the IOMMU is present (%s in /sys/class/iommu) but not in use: there are no IOMMU groups (/sys/kernel/iommu_groups), so no device can be passed through",
		    h->iommu_units.v[0]);
		return;
	}
	{
		_cleanup_free_ char *fix = NULL;

		if (amd)
			fix = xstrdup(
			    "enable the IOMMU (AMD-Vi, often called 'IOMMU' next to SVM) in the firmware setup and reboot; the kernel uses it by default");
		else if (intel)
			fix = xasprintf(
			    "enable VT-d ('Intel VT for Directed I/O') in the firmware setup, add intel_iommu=on to %s and run %s (Proxmox kernels from 6.8 on do without it), then reboot",
			    boot_loader_file(h->boot.loader),
			    boot_loader_apply(h->boot.loader));
		else
			fix = xasprintf(
			    "enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup; on Intel also add intel_iommu=on to %s and run %s (Proxmox kernels from 6.8 on do without it); then reboot",
			    boot_loader_file(h->boot.loader),
			    boot_loader_apply(h->boot.loader));
		findings_add(
		    out, FINDING_ERROR, "host-iommu-off", fix,
		    "no IOMMU found: /sys/class/iommu is empty and there are no IOMMU groups, so no device can be passed through: VT-d or AMD-Vi is off in the firmware, or the platform lacks it");
	}
}

static void judge_iommu(const struct doctor_host *h, struct findings *out)
{
	static const char *const on_keys[] = {"intel_iommu", "amd_iommu"};
	const char *key = NULL, *value = NULL;
	_cleanup_free_ char *how = NULL;
	const char *pt = cmdline_get(&h->cmdline, "iommu");

	if (h->n_groups == 0) {
		judge_iommu_off(h, out);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(on_keys); i++) {
		const char *v = cmdline_get(&h->cmdline, on_keys[i]);

		if (v && !iommu_off_value(v)) {
			key = on_keys[i];
			value = v;
		}
	}
	if (key) {
		_cleanup_free_ char *p = param_text(key, value);
		_cleanup_free_ char *where = set_where(h, key);

		how = xasprintf("enabled by '%s' on the kernel command line%s", p, where);
		if (!bootcfg_find(&h->boot, key)) {
			_cleanup_free_ char *fix =
			    xasprintf("add '%s' to %s and run %s", p,
				      boot_loader_file(h->boot.loader),
				      boot_loader_apply(h->boot.loader));

			findings_add(
			    out, FINDING_WARNING, "host-iommu-cmdline-unsaved", fix,
			    "'%s' is on the running kernel's command line, but in no boot configuration file (/etc/default/grub, /etc/default/grub.d/*.cfg, /etc/kernel/cmdline): the next boot may come up without the IOMMU",
			    p);
		}
	} else if (h->cmdline_known) {
		how = xstrdup(
		    "enabled by the kernel's default (no intel_iommu= or amd_iommu= on the command line)");
	} else {
		how = xstrdup(
		    "how it was enabled is unknown (/proc/cmdline cannot be read)");
	}
	findings_add(out, FINDING_INFO, "host-iommu-on", NULL,
		     "the IOMMU is on: %d IOMMU groups, %s%s", h->n_groups, how,
		     pt && streq(pt, "pt") ? "; iommu=pt: host devices skip translation"
					   : "");
}

/* ---- host: interrupt remapping, ACS override ---- */

static const struct modconf_line *find_option(const struct doctor_host *h,
					      const char *module, const char *key,
					      char **value)
{
	const struct modconf_line *found = NULL;

	*value = NULL;
	for (size_t i = 0; i < h->modconf.n; i++) {
		const struct modconf_line *l = &h->modconf.v[i];
		char *v;

		if (l->kind != MODCONF_OPTIONS || !module_is(l->module, module))
			continue;
		v = modconf_option(l, key);
		if (v) {
			free(*value);
			*value = v;
			found = l;
		}
	}
	return found;
}

static bool truthy(const char *v)
{
	return v && (streq(v, "1") || streq(v, "Y") || streq(v, "y") || streq(v, "on") ||
		     streq(v, ""));
}

/* A vfio module parameter: sysfs when the module is loaded, else what
 * modprobe.d or the command line would set at its next load. */
static int module_param(const struct doctor_host *h, int sysfs, const char *module,
			const char *key)
{
	_cleanup_free_ char *v = NULL;
	_cleanup_free_ char *dotted = xasprintf("%s.%s", module, key);
	const char *c;

	if (sysfs >= 0)
		return sysfs;
	c = cmdline_get(&h->cmdline, dotted);
	if (c)
		return truthy(c);
	find_option(h, module, key, &v);
	return truthy(v);
}

static void judge_irq_remap(const struct doctor_host *h, struct findings *out)
{
	_cleanup_free_ char *opt = NULL;
	_cleanup_free_ char *unsafe = NULL;
	const struct modconf_line *l;
	const char *intremap = cmdline_get(&h->cmdline, "intremap");

	if (h->n_groups == 0 || h->irq_remap != 0)
		return;
	l = find_option(h, "vfio_iommu_type1", "allow_unsafe_interrupts", &opt);
	if (h->unsafe_interrupts == 1)
		unsafe = xstrdup(
		    "; vfio_iommu_type1 runs with allow_unsafe_interrupts=1, so passthrough works, without that protection");
	else if (l && truthy(opt))
		unsafe = xasprintf(
		    "; %s:%u sets allow_unsafe_interrupts=1, so passthrough works, without that protection",
		    l->file, l->line);
	else
		unsafe = xstrdup("");
	findings_add(
	    out, FINDING_WARNING, "host-irq-remapping-off",
	    intremap && streq(intremap, "off")
		? "remove intremap=off from the kernel command line; interrupt remapping must also be enabled in the firmware (with VT-d/AMD-Vi, x2APIC)"
		: "enable interrupt remapping in the firmware (it comes with VT-d/AMD-Vi and x2APIC on most boards) and check 'dmesg | grep -i remapping'; keep allow_unsafe_interrupts only on hosts whose guests are trusted",
	    "interrupt remapping is off (no IR- interrupt chips in /proc/interrupts): vfio refuses to assign devices ('No interrupt remapping support') unless vfio_iommu_type1 allow_unsafe_interrupts=1, which lets a guest's device raise interrupts the host cannot tell apart from its own%s",
	    unsafe);
}

static void judge_acs(const struct doctor_host *h, struct findings *out)
{
	const char *v = cmdline_get(&h->cmdline, "pcie_acs_override");
	_cleanup_free_ char *p = NULL, *where = NULL, *fix = NULL;

	if (!v)
		return;
	p = param_text("pcie_acs_override", v);
	where = set_where(h, "pcie_acs_override");
	fix = removal(h, "pcie_acs_override", v);
	findings_add(
	    out, FINDING_WARNING, "host-acs-override", fix,
	    "the kernel command line has '%s'%s: IOMMU isolation is weakened; the kernel splits IOMMU groups by pretending that devices which can reach each other cannot, so a VM's device may read and write the memory of devices left on the host (peer-to-peer DMA); put the card in a slot whose IOMMU group holds only it ('vfiohook groups') instead",
	    p, where);
}

/* ---- host: modules and what the guides leave behind ---- */

static void judge_modules(const struct doctor_host *h, struct findings *out)
{
	const struct {
		const char *name;
		const struct doctor_mod *m;
	} need[] = {{"vfio-pci", &h->vfio_pci}, {"vfio_iommu_type1", &h->vfio_type1}};
	const char *dir = h->modules_dir ? h->modules_dir : "/lib/modules/$(uname -r)";

	if (h->modules_error && (!h->vfio_pci.known || !h->vfio_type1.known))
		findings_add(
		    out, FINDING_WARNING, "host-modules-index",
		    "run 'depmod -a'; if the directory is missing, reinstall the running kernel's package or reboot into an installed kernel",
		    "cannot tell which modules the kernel can load: %s",
		    h->modules_error);
	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		_cleanup_free_ char *fix = NULL;

		if (!need[i].m->known || need[i].m->state != KMOD_STATE_MISSING)
			continue;
		fix = xasprintf(
		    "reinstall the running kernel's package ('dpkg -S %s' names it) or boot a Proxmox kernel, which has the vfio modules",
		    dir);
		findings_add(
		    out, FINDING_ERROR, "host-vfio-module-missing", fix,
		    "the kernel module %s is neither loaded, built in nor installed in %s: no device can be bound for passthrough",
		    need[i].name, dir);
	}
}

static void judge_modprobe(const struct doctor_host *h, struct findings *out)
{
	static const char initramfs[] =
	    "run 'update-initramfs -u -k all' (the initramfs keeps a copy of modprobe.d) and reboot";

	for (size_t i = 0; i < h->modconf.n; i++) {
		const struct modconf_line *l = &h->modconf.v[i];
		_cleanup_free_ char *ids = modconf_option(l, "ids");
		_cleanup_free_ char *fix = NULL;

		if (l->kind == MODCONF_OPTIONS && module_is(l->module, "vfio_pci") &&
		    ids) {
			fix = xasprintf(
			    "remove the line: vfiohook binds each VM's devices at pre-start and gives them back at post-stop; then %s",
			    initramfs);
			findings_add(
			    out, FINDING_WARNING, "host-modprobe-vfio-ids", fix,
			    "%s:%u: '%s': vfio-pci takes every device with these ids (%s) as soon as it loads, for good, so the host never gets them back between VM runs, and the per-VM binding has nothing left to give back",
			    l->file, l->line, l->text, ids);
		} else if ((l->kind == MODCONF_BLACKLIST ||
			    (l->kind == MODCONF_INSTALL &&
			     (startswith(l->args, "/bin/false") ||
			      startswith(l->args, "/bin/true")))) &&
			   guide_driver(l->module)) {
			fix = xasprintf(
			    "remove the line unless the host must never use %s; then %s",
			    l->module, initramfs);
			findings_add(
			    out, FINDING_WARNING, "host-modprobe-blacklist", fix,
			    "%s:%u: '%s': the host never loads %s by itself, so a card vfiohook gives back after its VM stops stays without a driver (and unmanaged power)",
			    l->file, l->line, l->text, l->module);
		} else if (l->kind == MODCONF_SOFTDEP && strstr(l->args, "vfio")) {
			fix = xasprintf(
			    "remove the line: vfiohook moves the devices to vfio-pci when their VM starts; then %s",
			    initramfs);
			findings_add(
			    out, FINDING_WARNING, "host-modprobe-softdep", fix,
			    "%s:%u: '%s': this makes vfio-pci load first so that it grabs cards by id at boot, which takes them from the host for good",
			    l->file, l->line, l->text);
		}
	}
}

static void judge_cmdline_guides(const struct doctor_host *h, struct findings *out)
{
	static const char *const ids_keys[] = {"vfio_pci.ids"};
	static const char *const bl_keys[] = {"modprobe.blacklist", "module_blacklist"};

	for (size_t i = 0; i < ARRAY_SIZE(ids_keys); i++) {
		const char *v = cmdline_get(&h->cmdline, ids_keys[i]);
		_cleanup_free_ char *where = NULL, *fix = NULL;

		if (!v)
			continue;
		where = set_where(h, ids_keys[i]);
		fix = removal(h, ids_keys[i], v);
		findings_add(
		    out, FINDING_WARNING, "host-cmdline-vfio-ids", fix,
		    "the kernel command line has 'vfio-pci.ids=%s'%s: vfio-pci takes every device with these ids at boot, for good, so the host never gets them back between VM runs; vfiohook binds them per VM instead",
		    v, where);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bl_keys); i++) {
		const char *v = cmdline_get(&h->cmdline, bl_keys[i]);
		_cleanup_free_ char *list = NULL, *where = NULL, *fix = NULL;
		bool hit = false;

		if (!v)
			continue;
		list = xstrdup(v);
		for (char *save = NULL, *m = strtok_r(list, ",", &save); m;
		     m = strtok_r(NULL, ",", &save)) {
			for (char *c = m; *c; c++)
				if (*c == '-')
					*c = '_';
			hit |= guide_driver(m);
		}
		if (!hit)
			continue;
		where = set_where(h, bl_keys[i]);
		fix = removal(h, bl_keys[i], v);
		findings_add(
		    out, FINDING_WARNING, "host-cmdline-blacklist", fix,
		    "the kernel command line has '%s=%s'%s: the host never loads these drivers, so a card vfiohook gives back after its VM stops stays without a driver",
		    bl_keys[i], v, where);
	}
}

/* ---- host: devices the VMs want ---- */

static char *dev_who(const struct doctor_dev *dd)
{
	if (dd->vmid && dd->hostpci >= 0)
		return xasprintf("%s (hostpci%d of VM %u)", dd->bdf, dd->hostpci,
				 dd->vmid);
	return xstrdup(dd->bdf);
}

static void judge_framebuffers(const struct doctor_host *h, struct findings *out)
{
	for (size_t i = 0; i < h->n_want; i++) {
		const struct doctor_dev *dd = &h->want[i];

		for (size_t b = 0; b < dd->n_bars; b++) {
			const struct pdev_bar *bar = &dd->bars[b];

			for (size_t k = 0; bar->mem && k < h->n_fbs; k++) {
				const struct iomem_range *fb = &h->fbs[k];
				_cleanup_free_ char *who = NULL, *fix = NULL;

				if (fb->start > bar->end || bar->start > fb->end)
					continue;
				who = dev_who(dd);
				fix = xasprintf(
				    "keep the host off the boot framebuffer: add initcall_blacklist=sysfb_init to %s (video=efifb:off video=vesafb:off on kernels before 5.15), run %s and reboot; or make another GPU the primary display in the firmware",
				    boot_loader_file(h->boot.loader),
				    boot_loader_apply(h->boot.loader));
				findings_add(
				    out, FINDING_ERROR, "host-framebuffer-bar", fix,
				    "%s: BAR %u [mem 0x%llx-0x%llx] holds the framebuffer '%s' (0x%llx-0x%llx in /proc/iomem): the host keeps that memory, vfio-pci cannot reserve the BAR ('BAR %u: can't reserve') and the guest gets a broken card (black screen, error 43)",
				    who, bar->index, bar->start, bar->end, fb->name,
				    fb->start, fb->end, bar->index);
			}
		}
		if (dd->boot_vga == 1) {
			_cleanup_free_ char *who = dev_who(dd);

			findings_add(
			    out, FINDING_INFO, "host-boot-gpu",
			    "if the guest shows nothing, keep the host console off it (initcall_blacklist=sysfb_init) and give the VM a clean copy of its ROM (romfile=), or make another GPU the primary display in the firmware",
			    "%s is the boot GPU: the firmware and the host console start on it, which can leave a framebuffer on its BAR and its ROM shadowed",
			    who);
		}
	}
}

static void judge_d3cold(const struct doctor_host *h, struct findings *out)
{
	int disable = module_param(h, h->disable_idle_d3, "vfio_pci", "disable_idle_d3");
	struct strv idle = {0};

	for (size_t i = 0; i < h->n_want; i++) {
		const struct doctor_dev *dd = &h->want[i];

		if (dd->power_state && streq(dd->power_state, "D3cold")) {
			_cleanup_free_ char *who = dev_who(dd);
			_cleanup_free_ char *fix = xasprintf(
			    "if the VM's start fails with 'Unable to change power state from D3cold to D0, device inaccessible': echo 0 > /sys/bus/pci/devices/%s/d3cold_allowed, or set 'options vfio-pci disable_idle_d3=1' in /etc/modprobe.d/vfio.conf, run 'update-initramfs -u -k all' and reboot",
			    dd->bdf);

			findings_add(
			    out, FINDING_WARNING, "host-d3cold", fix,
			    "%s is in D3cold (powered off) now: some devices do not come back from it when their VM starts",
			    who);
		} else if (!disable && dd->d3cold_allowed == 1 && dd->driver &&
			   streq(dd->driver, "vfio-pci")) {
			strv_add(&idle, dd->bdf);
		}
	}
	if (idle.n) {
		size_t len = 1;
		char *list;

		for (size_t i = 0; i < idle.n; i++)
			len += strlen(idle.v[i]) + 2;
		list = xcalloc(1, len);
		for (size_t i = 0; i < idle.n; i++) {
			if (i)
				strcat(list, ", ");
			strcat(list, idle.v[i]);
		}
		findings_add(
		    out, FINDING_INFO, "host-d3cold-allowed",
		    "only if a start fails with 'Unable to change power state from D3cold to D0': set 'options vfio-pci disable_idle_d3=1' in /etc/modprobe.d/vfio.conf, run 'update-initramfs -u -k all' and reboot, or echo 0 > /sys/bus/pci/devices/BDF/d3cold_allowed for that device",
		    "vfio-pci lets idle devices sleep, down to D3cold where the platform allows it (d3cold_allowed=1): %s; a device that does not wake from D3cold fails its VM's start",
		    list);
		free(list);
	}
	strv_clear(&idle);
}

static void judge_vendor_reset(const struct doctor_host *h, struct findings *out)
{
	for (size_t i = 0; i < h->n_amd; i++) {
		const struct doctor_dev *dd = &h->amd[i];
		const char *family = vendor_reset_generation(dd->vendor, dd->device);
		_cleanup_free_ char *who = dev_who(dd);
		_cleanup_free_ char *select = xasprintf(
		    "echo device_specific > /sys/bus/pci/devices/%s/reset_method (kernel 5.15 and later; after every boot, e.g. from a udev rule)",
		    dd->bdf);
		_cleanup_free_ char *fix = NULL;

		if (!family)
			continue;
		/* not loaded, and no readable module index says more: say what
		 * is known, the card still hangs after its VM stops */
		switch (h->vendor_reset.known ? h->vendor_reset.state
					      : KMOD_STATE_MISSING) {
		case KMOD_STATE_MISSING:
			fix = xasprintf(
			    "install vendor-reset: 'apt install vendor-reset-dkms' where packaged, else build github.com/gnif/vendor-reset with dkms (with Secure Boot, sign the module, or loading fails with 'Key was rejected by service'); load it at boot (echo vendor-reset > /etc/modules-load.d/vendor-reset.conf); then select its reset: %s",
			    select);
			findings_add(
			    out, FINDING_WARNING, "host-vendor-reset-missing", fix,
			    "%s is an AMD %s GPU (1002:%04x) with the AMD reset bug: it does not reset by FLR, so after its VM stops it hangs until the host reboots; the module vendor-reset, which resets it, is %s",
			    who, family, dd->device,
			    h->vendor_reset.known
				? "not installed"
				: "not loaded (and the module index cannot tell whether it is installed)");
			break;
		case KMOD_STATE_AVAILABLE:
			fix = xasprintf(
			    "modprobe vendor-reset and load it at every boot (echo vendor-reset > /etc/modules-load.d/vendor-reset.conf), before the card's first reset; then %s",
			    select);
			findings_add(
			    out, FINDING_WARNING, "host-vendor-reset-unloaded", fix,
			    "%s is an AMD %s GPU (1002:%04x) with the AMD reset bug; vendor-reset is installed but not loaded, so nothing resets the card after its VM stops and it hangs until the host reboots",
			    who, family, dd->device);
			break;
		case KMOD_STATE_LOADED:
		case KMOD_STATE_BUILTIN:
			if (!dd->reset_method ||
			    strstr(dd->reset_method, "device_specific"))
				break;
			findings_add(
			    out, FINDING_WARNING, "host-vendor-reset-unselected", select,
			    "%s is an AMD %s GPU (1002:%04x) with the AMD reset bug; vendor-reset is loaded, but the device's reset_method ('%s') does not list device_specific, so the kernel (5.15 and later) never uses vendor-reset's reset",
			    who, family, dd->device, dd->reset_method);
			break;
		}
	}
}

void doctor_judge_host(const struct doctor_host *h, struct findings *out)
{
	judge_iommu(h, out);
	judge_irq_remap(h, out);
	judge_acs(h, out);
	judge_modules(h, out);
	judge_modprobe(h, out);
	judge_cmdline_guides(h, out);
	judge_framebuffers(h, out);
	judge_d3cold(h, out);
	judge_vendor_reset(h, out);
}

/* ---- VMs ---- */

/* The finding id of a plan problem: "vm-" + its stable code
 * ("vm-pcie-needs-q35", "vm-legacy-igd-rules", "vm-mapping-invalid", ...). */
static char *problem_id(const struct obs_problem *p)
{
	return p->code ? xasprintf("vm-%s", p->code) : xstrdup("vm-start-refused");
}

/* The command that fixes a plan problem, where one command does (else NULL:
 * the plan's message says what to do). */
static char *problem_fix(const struct doctor_vm *vm, const struct obs_problem *p)
{
	if (streq(p->code, "pcie-needs-q35"))
		return xasprintf("qm set %u --machine q35, or drop pcie=1 from %s",
				 vm->vmid, p->id);
	if (streq(p->code, "legacy-igd-rules") && strstr(p->message, "VGA mode"))
		return xasprintf("qm set %u --vga none", vm->vmid);
	if (streq(p->code, "device-missing"))
		return xasprintf(
		    "compare 'lspci -D' with the VM's %s and fix the address (qm set %u --%s ...)",
		    p->id, vm->vmid, p->id);
	if (streq(p->code, "mapping-invalid") || streq(p->code, "mapping-not-found"))
		return xstrdup(
		    "fix the mapping under Datacenter > Resource Mappings (/etc/pve/mapping/pci.cfg)");
	return NULL;
}

/* A mapping whose IOMMU group changed is reported by judge_mappings()
 * with its own id; the plan's "mapping-invalid" for the same entry would
 * say it twice. */
static bool group_change_reported(const struct doctor_vm *vm, const struct obs_problem *p)
{
	if (!streq(p->code, "mapping-invalid"))
		return false;
	for (size_t i = 0; i < vm->n_maps; i++) {
		char id[24];

		snprintf(id, sizeof(id), "hostpci%u", vm->maps[i].hostpci);
		if (vm->maps[i].actual != vm->maps[i].expected && streq(p->id, id))
			return true;
	}
	return false;
}

static bool same_slot(const struct pdev *a, const struct pdev *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}

/* hugepages without numa: 1, which Proxmox refuses: its own finding,
 * vm-hugepages-no-numa, whether or not the plan reserves hugepages */
static bool hugepages_without_numa(const struct doctor_vm *vm)
{
	const struct vm *v = vm->pc.vm;

	return v->hugepages && !v->numa && !v->is_template;
}

static void judge_plan(const struct doctor_vm *vm, struct findings *out)
{
	const struct plan *p = vm->pc.plan;
	_cleanup_free_ char *fix =
	    xasprintf("'vfiohook plan %u' shows the whole plan", vm->vmid);

	for (size_t i = 0; i < p->n_problems; i++) {
		_cleanup_free_ char *id = NULL, *pfix = NULL;

		if (group_change_reported(vm, &p->problems[i]))
			continue;
		if (streq(p->problems[i].code, "hugepages") && hugepages_without_numa(vm))
			continue;
		id = problem_id(&p->problems[i]);
		pfix = problem_fix(vm, &p->problems[i]);
		findings_add(out, FINDING_ERROR, id, pfix ? pfix : fix,
			     "VM %u: the start would be refused: %s", vm->vmid,
			     p->problems[i].message);
	}
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct plan_dev *pd = &p->devs[i];
		const struct obs_dev *od = pd->obs;
		const struct obs_dev *via =
		    od->hostpci < 0 && od->via >= 0 ? &vm->pc.obs->devs[od->via] : NULL;
		const struct hostpci *h = via ? vm->pc.vm->hostpci[via->hostpci] : NULL;

		if (pd->action == PLAN_REFUSE) {
			_cleanup_free_ char *what =
			    od->hostpci >= 0
				? xasprintf("hostpci%d", od->hostpci)
				: xasprintf("in the IOMMU group of hostpci%d",
					    via ? via->hostpci : -1);

			findings_add(out, FINDING_ERROR, "vm-device-refused", fix,
				     "VM %u: %s (%s) would be refused: %s", vm->vmid,
				     od->dev->bdf, what, pd->reason);
			continue;
		}
		if (!via || od->dev->bridge ||
		    (pd->action != PLAN_BIND && pd->action != PLAN_NONE))
			continue;
		if (same_slot(od->dev, via->dev)) {
			_cleanup_free_ char *fix2 = NULL;

			if (h && h->mapping)
				fix2 = xasprintf(
				    "map the whole card in mapping '%s' (the path without function, 'Use with all functions')",
				    h->mapping);
			else
				fix2 = xasprintf(
				    "pass the whole card: hostpci%d: %04x:%02x:%02x without the function ('All Functions' in the GUI)",
				    via->hostpci, via->dev->domain, via->dev->bus,
				    via->dev->dev);
			findings_add(
			    out, FINDING_WARNING, "vm-function-left-out", fix2,
			    "VM %u: hostpci%d names %s, but %s, another function of the same card, is left out: the guest gets the card without it (a GPU without its HDMI audio), while it goes to vfio-pci anyway because it shares IOMMU group %d",
			    vm->vmid, via->hostpci, via->dev->bdf, od->dev->bdf,
			    od->dev->group);
		} else if (pd->action == PLAN_BIND) {
			findings_add(
			    out, FINDING_WARNING, "vm-group-companion",
			    "if the host needs it, move the card to a slot with an IOMMU group of its own ('vfiohook groups' lists them)",
			    "VM %u: %s (driver %s) shares IOMMU group %d with %s (hostpci%d): the start moves it to vfio-pci too, and the host goes without it while the VM runs",
			    vm->vmid, od->dev->bdf,
			    od->dev->driver ? od->dev->driver : "none", od->dev->group,
			    via->dev->bdf, via->hostpci);
		}
	}
}

/* A display device's other functions that no entry names and that are not
 * in its IOMMU group (judge_plan reports those): the guest gets the card
 * without them. */
static void judge_siblings(const struct doctor_vm *vm, struct findings *out)
{
	for (size_t i = 0; i < vm->n_siblings; i++) {
		const struct doctor_sibling *s = &vm->siblings[i];
		const struct hostpci *h = vm->pc.vm->hostpci[s->hostpci];
		_cleanup_free_ char *fix = NULL;
		bool companion = false;

		for (size_t k = 0; k < vm->pc.obs->n_devs; k++)
			companion |= streq(vm->pc.obs->devs[k].dev->bdf, s->sibling);
		if (companion)
			continue;
		if (h && h->mapping)
			fix = xasprintf(
			    "map the whole card in mapping '%s' (the path without function, 'Use with all functions')",
			    h->mapping);
		else
			fix = xasprintf(
			    "pass the whole card: hostpci%u: %.*s without the function ('All Functions' in the GUI)",
			    s->hostpci, (int)(strrchr(s->dev, '.') - s->dev), s->dev);
		findings_add(
		    out, FINDING_WARNING, "vm-function-left-out", fix,
		    "VM %u: hostpci%u names %s, but %s, another function of the same card, is left out: the guest gets the card without it (a GPU without its HDMI audio or USB-C controller)",
		    vm->vmid, s->hostpci, s->dev, s->sibling);
	}
}

static const struct obs_dev *first_dev(const struct doctor_vm *vm, unsigned hostpci)
{
	for (size_t i = 0; i < vm->pc.obs->n_devs; i++)
		if (vm->pc.obs->devs[i].hostpci == (int)hostpci)
			return &vm->pc.obs->devs[i];
	return NULL;
}

/* The x-vga rules of PCI.pm; Proxmox's refusals are the plan's problems. */
static void judge_hostpci_rules(const struct doctor_host *host,
				const struct doctor_vm *vm, struct findings *out)
{
	const struct vm *v = vm->pc.vm;
	bool ovmf = vm->bios && streq(vm->bios, "ovmf");
	int disable_vga =
	    module_param(host, host->disable_vga, "vfio_pci", "disable_vga");

	for (unsigned i = 0; i < HOSTPCI_MAX; i++) {
		const struct hostpci *h = v->hostpci[i];
		const struct obs_dev *first;

		if (!h)
			continue;
		first = first_dev(vm, i);
		/* pcie=1 without q35 and the legacy-igd rules are refusals
		 * the plan predicts (judge_plan: vm-pcie-needs-q35,
		 * vm-legacy-igd-rules) */
		/* Proxmox passes x-vga=on to QEMU only without OVMF (PCI.pm) */
		if (h->x_vga == 1 && !ovmf && first) {
			if (first->dev->class_code >> 8 != PCI_CLASS_DISPLAY_VGA) {
				_cleanup_free_ char *fix = xasprintf(
				    "drop x-vga=1 from hostpci%u: it is for a VGA controller that is the VM's primary display",
				    i);

				findings_add(
				    out, FINDING_ERROR, "vm-xvga-not-vga", fix,
				    "VM %u: hostpci%u has x-vga=1, but %s is not a VGA controller (class %04x): vfio-pci offers no VGA region for it and QEMU fails to start ('device does not support requested feature x-vga')",
				    vm->vmid, i, first->dev->bdf,
				    first->dev->class_code >> 8);
			} else if (disable_vga == 1) {
				_cleanup_free_ char *fix = xasprintf(
				    "drop x-vga=1 from hostpci%u, or remove disable_vga=1 from the vfio-pci options (modprobe.d, then update-initramfs -u -k all) and reboot",
				    i);

				findings_add(
				    out, FINDING_ERROR, "vm-xvga-disabled", fix,
				    "VM %u: hostpci%u has x-vga=1, but vfio-pci runs with disable_vga=1, so it offers no VGA region and QEMU fails to start",
				    vm->vmid, i);
			}
		}
		if (h->romfile && !vm->romfile_present[i]) {
			_cleanup_free_ char *fix = xasprintf(
			    "put the ROM file at /usr/share/kvm/%s, or drop romfile= from hostpci%u",
			    h->romfile, i);

			findings_add(
			    out, FINDING_ERROR, "vm-romfile-missing", fix,
			    "VM %u: hostpci%u: the romfile /usr/share/kvm/%s does not exist: QEMU fails to start ('failed to find romfile')",
			    vm->vmid, i, h->romfile);
		}
	}
}

/* "cputype" and "hidden" of a cpu: value ("host,hidden=1") */
static void cpu_settings(const char *cpu, char **type, bool *hidden)
{
	struct propkv *kv = NULL;
	size_t n = 0;

	*type = NULL;
	*hidden = false;
	if (!cpu || propstr_split(cpu, "cputype", &kv, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (streq(kv[i].key, "cputype"))
			*type = xstrdup(kv[i].value);
		else if (streq(kv[i].key, "hidden"))
			pve_parse_bool(kv[i].value, hidden);
	}
	propkv_free(kv, n);
}

static void judge_cpu(const struct doctor_vm *vm, struct findings *out)
{
	const struct vm *v = vm->pc.vm;
	_cleanup_free_ char *type = NULL;
	bool hidden = false, xvga = false;
	const struct pdev *nvidia = NULL;

	cpu_settings(vm->cpu, &type, &hidden);
	for (unsigned i = 0; i < HOSTPCI_MAX; i++)
		xvga |= v->hostpci[i] && v->hostpci[i]->x_vga == 1;
	for (size_t i = 0; i < vm->pc.obs->n_devs && !nvidia; i++) {
		const struct obs_dev *od = &vm->pc.obs->devs[i];

		if (od->hostpci >= 0 && od->dev->vendor == PCI_VENDOR_NVIDIA &&
		    od->dev->class_code >> 16 == PCI_CLASS_DISPLAY)
			nvidia = od->dev;
	}
	/* x-vga makes Proxmox hide KVM itself (PCI.pm: $kvm_off) */
	if (nvidia && !hidden && !xvga) {
		_cleanup_free_ char *fix = xasprintf(
		    "only for drivers before 465: qm set %u --cpu %s,hidden=1 (keep the cpu: options you have)",
		    vm->vmid, type ? type : "host");

		findings_add(
		    out, FINDING_INFO, "vm-nvidia-hidden", fix,
		    "VM %u passes the NVIDIA GPU %s through without hidden=1 in 'cpu:': NVIDIA drivers before 465 stop with error 43 when they see a hypervisor; later ones do not mind",
		    vm->vmid, nvidia->bdf);
	}
	if (!type || !streq(type, "host")) {
		_cleanup_free_ char *fix = xasprintf(
		    "qm set %u --cpu host (live migration then needs hosts with the same CPU)",
		    vm->vmid);

		findings_add(
		    out, FINDING_INFO, "vm-cpu-not-host", fix,
		    "VM %u has cpu type %s, not host: the guest sees a reduced CPU model; GPU drivers and the software using passed-through devices often want the host's features",
		    vm->vmid, type ? type : "kvm64 (the default)");
	}
}

static void judge_memory_cpus(const struct doctor_host *host, const struct doctor_vm *vm,
			      struct findings *out)
{
	const struct vm *v = vm->pc.vm;
	struct cpuset want, both, missing;

	/* Memory.pm: "numa needs to be enabled to use hugepages" */
	if (hugepages_without_numa(vm)) {
		_cleanup_free_ char *fix = xasprintf("qm set %u --numa 1", vm->vmid);

		findings_add(
		    out, FINDING_ERROR, "vm-hugepages-no-numa", fix,
		    "VM %u has hugepages: %s without numa: 1: Proxmox refuses the start ('numa needs to be enabled to use hugepages')",
		    vm->vmid, v->hugepages);
	}
	if (!v->affinity || !host->cpus_known || pve_cpuset(v->affinity, &want, NULL) < 0)
		return;
	cpuset_andnot(&missing, &want, &host->cpus);
	if (cpuset_empty(&missing))
		return;
	cpuset_and(&both, &want, &host->cpus);
	{
		bool any = !cpuset_empty(&both);
		_cleanup_free_ char *missing_text = cpuset_format(&missing);
		_cleanup_free_ char *fix = NULL;

		fix = xasprintf("name online CPUs only (%s): qm set %u --affinity ...",
				host->cpus_online, vm->vmid);
		findings_add(
		    out, any ? FINDING_WARNING : FINDING_ERROR, "vm-affinity-cpus", fix,
		    "VM %u: affinity '%s' names CPUs this host does not have online (%s; online: %s): %s",
		    vm->vmid, v->affinity, missing_text, host->cpus_online,
		    any ? "QEMU runs on the others only"
			: "none of them is online, so taskset fails and the VM does not start");
	}
}

static void judge_firmware(const struct doctor_vm *vm, struct findings *out)
{
	if (vm->bios && streq(vm->bios, "ovmf") && !vm->efidisk) {
		_cleanup_free_ char *fix = xasprintf(
		    "add an EFI disk: qm set %u --efidisk0 STORAGE:1,efitype=4m,pre-enrolled-keys=0",
		    vm->vmid);

		findings_add(
		    out, FINDING_WARNING, "vm-efidisk-missing", fix,
		    "VM %u uses OVMF (bios: ovmf) without efidisk0: Proxmox starts it with temporary EFI variables ('no efidisk configured'), so boot entries and settings, such as those a GPU driver's installer writes, are lost at every stop",
		    vm->vmid);
	}
}

static void judge_mappings(const struct doctor_vm *vm, struct findings *out)
{
	for (size_t i = 0; i < vm->n_maps; i++) {
		const struct doctor_mapgroup *g = &vm->maps[i];
		_cleanup_free_ char *now = NULL, *fix = NULL;

		if (g->actual == g->expected)
			continue;
		now = g->actual < 0 ? xstrdup("none (device absent or IOMMU off)")
				    : xasprintf("%d", g->actual);
		if (g->line)
			fix = xasprintf(
			    "check the hardware, then update the mapping under Datacenter > Resource Mappings (/etc/pve/mapping/pci.cfg line %u)",
			    g->line);
		else
			fix = xasprintf(
			    "check the hardware, then update the mapping under Datacenter > Resource Mappings (/etc/pve/mapping/pci.cfg, mapping '%s')",
			    g->mapping);
		findings_add(
		    out, FINDING_ERROR, "vm-mapping-group-changed", fix,
		    "VM %u: hostpci%u uses mapping '%s', whose entry for this node expects %s in IOMMU group %d, but its group is %s now: Proxmox refuses the start ('PCI device mapping invalid (hardware probably changed)')",
		    vm->vmid, g->hostpci, g->mapping, g->path, g->expected, now);
	}
}

static void judge_hookscript(const struct doctor_vm *vm, bool passthrough,
			     struct findings *out)
{
	_cleanup_free_ char *fix = NULL;

	if (!vm->hookscript && !passthrough)
		return;
	if (!vm->hookscript) {
		fix = xasprintf(
		    "install vfiohook as a snippet and register it: cp vfiohook /var/lib/vz/snippets/ && qm set %u --hookscript local:snippets/vfiohook",
		    vm->vmid);
		findings_add(
		    out, FINDING_INFO, "vm-hookscript-none", fix,
		    "VM %u passes devices through without a hookscript: nothing checks or prepares its devices before Proxmox binds their whole IOMMU groups",
		    vm->vmid);
		return;
	}
	if (vm->hook_error) {
		findings_add(
		    out, FINDING_ERROR, "vm-hookscript-storage",
		    "put the hookscript in a storage with content type 'snippets' (local has /var/lib/vz/snippets) and set it again with qm set",
		    "VM %u: hookscript '%s': %s; Proxmox refuses to start the VM",
		    vm->vmid, vm->hookscript, vm->hook_error);
		return;
	}
	if (vm->hook_nocontent) {
		fix = xasprintf(
		    "add the content type snippets to storage '%s' (pvesm set %s --content <its current list>,snippets, or Datacenter > Storage > %s > Content)",
		    vm->hook_nocontent, vm->hook_nocontent, vm->hook_nocontent);
		findings_add(
		    out, FINDING_WARNING, "vm-hookscript-storage", fix,
		    "VM %u: hookscript '%s' is on storage '%s', which does not have the content type 'snippets': Proxmox still runs %s, but the GUI and the API's storage content lists do not show it, and 'vfiohook check --cluster' reads those",
		    vm->vmid, vm->hookscript, vm->hook_nocontent, vm->hook_path);
		free(fix);
		fix = NULL;
	}
	if (!vm->hook_exists) {
		fix = xasprintf(
		    "put the hookscript at %s, or change it: qm set %u --hookscript",
		    vm->hook_path, vm->vmid);
		findings_add(
		    out, FINDING_ERROR, "vm-hookscript-missing", fix,
		    "VM %u: hookscript '%s' names %s, which does not exist (or is no file): Proxmox refuses to start the VM",
		    vm->vmid, vm->hookscript, vm->hook_path);
		return;
	}
	if (!vm->hook_exec) {
		fix = xasprintf("chmod +x %s", vm->hook_path);
		findings_add(
		    out, FINDING_ERROR, "vm-hookscript-not-executable", fix,
		    "VM %u: hookscript %s is not executable: Proxmox refuses to start the VM ('script ... is not executable')",
		    vm->vmid, vm->hook_path);
	}
}

void doctor_judge_vm(const struct doctor_host *h, const struct doctor_vm *vm,
		     struct findings *out)
{
	bool passthrough = false;

	if (vm->error) {
		_cleanup_free_ char *fix = xasprintf(
		    "correct what the message names ('qm config %u' shows what Proxmox reads)",
		    vm->vmid);

		findings_add(out, FINDING_ERROR, "vm-config-invalid", fix,
			     "VM %u cannot be checked: %s", vm->vmid, vm->error);
		return;
	}
	judge_plan(vm, out);
	judge_siblings(vm, out);
	judge_hostpci_rules(h, vm, out);
	judge_firmware(vm, out);
	judge_memory_cpus(h, vm, out);
	judge_mappings(vm, out);
	for (unsigned i = 0; i < HOSTPCI_MAX; i++)
		passthrough |= vm->pc.vm->hostpci[i] != NULL;
	/* advice for passthrough, only where there is some */
	if (passthrough)
		judge_cpu(vm, out);
	judge_hookscript(vm, passthrough, out);
}

void doctor_judge(const struct doctor *d, struct findings *out)
{
	doctor_judge_host(&d->host, out);
	for (size_t i = 0; i < d->n_vms; i++)
		doctor_judge_vm(&d->host, &d->vms[i], out);
}
