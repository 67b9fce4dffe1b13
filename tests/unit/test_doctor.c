// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The doctor on fake roots: a host and VM that are ready for passthrough
 * give nothing but information; each test then breaks one thing and looks
 * for the finding (id, severity, the words that name what and where) and its
 * fix.  Facts from proxmox-facts.md, kernel-facts.md and the Proxmox sources
 * (PCI.pm parse_hostpci_devices, Memory.pm, GuestHelpers check_hookscript).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "engine/doctor.h"
#include "fixture.h"
#include "pve/mapping.h"

/* A Proxmox host with the IOMMU on (set in GRUB), interrupt remapping, the
 * vfio modules installed, and VM 100 passing a whole GPU through. */
static const char host_ok[] =
    "file /proc/sys/kernel/osrelease 6.8.12-4-pve\n"
    "module vfio-pci kernel/drivers/vfio/pci/vfio-pci.ko\n"
    "module vfio_iommu_type1 kernel/drivers/vfio/vfio_iommu_type1.ko\n"
    "file /proc/cmdline BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt\n"
    "file /etc/default/grub GRUB_DEFAULT=0\\nGRUB_TIMEOUT=5\\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\\nGRUB_CMDLINE_LINUX=\"\"\\n\n"
    "file /proc/interrupts            CPU0       CPU1\\n  0:         40          0   IO-APIC   2-edge      timer\\n 24:          0          0  IR-PCI-MSI 512000-edge      ahci[0000:00:17.0]\\n\n"
    "file /sys/devices/system/cpu/online 0-7\n"
    "mkdir /sys/class/iommu/dmar0\n"
    "file /proc/iomem 00000000-00000fff : Reserved\\n00100000-7fffffff : System RAM\\n\n"
    "file /etc/pve/storage.cfg dir: local\\n\\tpath /var/lib/vz\\n\\tcontent iso,vztmpl,backup,snippets\\n\n"
    "file /var/lib/vz/snippets/vfiohook #!/bin/sh\\n\n"
    "chmod 755 /var/lib/vz/snippets/vfiohook\n"
    "dev 0000:00:01.0 vendor=8086 device=1901 class=060400 bridge group=1 driver=pcieport\n"
    "dev 0000:01:00.0 vendor=10de device=2484 class=030000 parent=0000:00:01.0 group=13 driver=nvidia bar0=f6000000-f6ffffff bar1=e0000000-efffffff\n"
    "dev 0000:01:00.1 vendor=10de device=228b class=040300 parent=0000:00:01.0 group=13 driver=snd_hda_intel\n"
    "dev 0000:00:17.0 vendor=8086 device=a352 class=010601 group=5 driver=ahci\n";

static const char vm_ok[] =
    "bios: ovmf\\nboot: order=scsi0\\ncores: 4\\ncpu: host\\nefidisk0: local-lvm:vm-100-disk-0,efitype=4m,size=4M\\nhookscript: local:snippets/vfiohook\\nhostpci0: 0000:01:00,pcie=1,x-vga=1\\nmachine: q35\\nmemory: 8192\\n";

struct env {
	struct fx *fx;
	struct doctor *d;
	struct findings f;
	int r;
};

/* Build the host (host_ok unless `bare`), then `spec`, and run the doctor
 * for vmid (0: every VM with hostpci entries). */
static struct env *run(bool bare, const char *spec, unsigned vmid)
{
	struct env *e = xcalloc(1, sizeof(*e));
	char *err = NULL;

	e->fx = fx_new(NULL);
	if (!bare)
		assert_int_equal(fx_spec(e->fx, host_ok), 0);
	assert_int_equal(fx_spec(e->fx, spec), 0);
	assert_int_equal(host_setup(fx_root(e->fx), "pve1"), 0);
	e->r = doctor_gather(vmid, &e->d, &err);
	if (e->r == 0)
		doctor_judge(e->d, &e->f);
	free(err);
	return e;
}

/* The host with VM 100 as vm_ok, with text appended to its config. */
static struct env *run_vm(const char *host_extra, const char *vm_conf)
{
	_cleanup_free_ char *spec =
	    xasprintf("%s\nfile /etc/pve/qemu-server/100.conf %s\n",
		      host_extra ? host_extra : "", vm_conf);

	return run(false, spec, 100);
}

static void done(struct env *e)
{
	findings_clear(&e->f);
	doctor_free(e->d);
	host_cleanup();
	fx_free(e->fx, 0);
	free(e);
}

static void dump(const struct env *e)
{
	for (size_t i = 0; i < e->f.n; i++)
		print_message("  %s %s: %s | fix: %s\n",
			      finding_severity_name(e->f.v[i].severity), e->f.v[i].id,
			      e->f.v[i].message, e->f.v[i].fix);
}

static size_t count_id(const struct env *e, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < e->f.n; i++)
		n += streq(e->f.v[i].id, id);
	return n;
}

/*
 * The first finding with id must exist with this severity, and its message
 * and fix together contain each word of the NULL-terminated list.
 */
static const struct finding *expect(const struct env *e, const char *id,
				    enum finding_severity sev, ...)
{
	const struct finding *f = NULL;
	const char *w;
	va_list ap;

	for (size_t i = 0; i < e->f.n && !f; i++)
		if (streq(e->f.v[i].id, id))
			f = &e->f.v[i];
	if (!f) {
		dump(e);
		fail_msg("no finding '%s'", id);
	}
	if (f->severity != sev) {
		dump(e);
		fail_msg("'%s' is %s, expected %s", id,
			 finding_severity_name(f->severity), finding_severity_name(sev));
	}
	va_start(ap, sev);
	while ((w = va_arg(ap, const char *)))
		if (!strstr(f->message, w) && !strstr(f->fix, w)) {
			dump(e);
			fail_msg("'%s' does not say '%s'", id, w);
		}
	va_end(ap);
	return f;
}

static void none(const struct env *e, const char *id)
{
	if (count_id(e, id)) {
		dump(e);
		fail_msg("unexpected finding '%s'", id);
	}
}

/* ---- the baseline ---- */

static void test_ready_host_only_informs(void **state)
{
	struct env *e = run_vm(NULL, vm_ok);

	(void)state;
	assert_int_equal(e->r, 0);
	if (findings_count(&e->f, FINDING_WARNING)) {
		dump(e);
		fail_msg("a ready host and VM gave warnings or errors");
	}
	/* and says how the IOMMU was enabled */
	expect(e, "host-iommu-on", FINDING_INFO, "3 IOMMU groups", "intel_iommu=on",
	       "/etc/default/grub:3", "GRUB_CMDLINE_LINUX_DEFAULT", "iommu=pt", NULL);
	done(e);
}

static void test_unknown_vm(void **state)
{
	struct env *e = run(false, "", 123);

	(void)state;
	assert_int_equal(e->r, -ENOENT);
	done(e);
}

static void test_every_vm_with_hostpci(void **state)
{
	struct env *e =
	    run(false,
		"file /etc/pve/qemu-server/100.conf hostpci0: 01:00,pcie=1\n"
		"file /etc/pve/qemu-server/101.conf cores: 2\\nmemory: 2048\n"
		"file /etc/pve/qemu-server/102.conf hostpci3: 01:00.0\\nmachine: q35\n"
		"file /etc/pve/qemu-server/103.conf cores: 1\\n[snap]\\nhostpci0: 01:00\n"
		"file /etc/pve/qemu-server/notes.txt hostpci0: 01:00\n",
		0);

	(void)state;
	assert_int_equal(e->r, 0);
	/* VMs without hostpci entries (also only in a snapshot) are left out */
	assert_int_equal(e->d->n_vms, 2);
	assert_int_equal(e->d->vms[0].vmid, 100);
	assert_int_equal(e->d->vms[1].vmid, 102);
	expect(e, "vm-pcie-needs-q35", FINDING_ERROR, "VM 100", NULL);
	/* the host's findings come first */
	assert_string_equal(e->f.v[0].id, "host-iommu-on");
	done(e);
}

/* ---- host: IOMMU ---- */

static void test_iommu_off_no_hardware(void **state)
{
	/* the guides' first step not done: no group, no IOMMU unit */
	struct env *e =
	    run(true,
		"file /proc/cmdline BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro quiet\n"
		"file /proc/cpuinfo processor\\t: 0\\nvendor_id\\t: GenuineIntel\\n\n"
		"dev 0000:01:00.0 vendor=10de device=2484 class=030000 driver=nvidia\n"
		"file /etc/pve/qemu-server/100.conf hostpci0: 01:00\n",
		0);

	(void)state;
	expect(e, "host-iommu-off", FINDING_ERROR, "no IOMMU found", "VT-d", "firmware",
	       "intel_iommu=on", "/etc/default/grub", "update-grub", NULL);
	none(e, "host-iommu-on");
	/* the plan refuses the device too */
	expect(e, "vm-device-refused", FINDING_ERROR, "0000:01:00.0", "no IOMMU group",
	       NULL);
	done(e);
}

static void test_iommu_off_unit_present(void **state)
{
	/* systemd-boot: the fix names /etc/kernel/cmdline */
	struct env *e = run(
	    true,
	    "file /proc/cmdline initrd=\\\\EFI\\\\proxmox\\\\6.5\\\\initrd.img root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"
	    "file /etc/kernel/cmdline root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"
	    "mkdir /sys/class/iommu/dmar0\n"
	    "dev 0000:01:00.0 vendor=10de device=2484 class=030000 driver=nvidia\n",
	    0);

	(void)state;
	expect(e, "host-iommu-off", FINDING_ERROR, "dmar0", "not in use",
	       "intel_iommu=on", "/etc/kernel/cmdline", "proxmox-boot-tool refresh",
	       NULL);
	done(e);
}

static void test_iommu_off_amd(void **state)
{
	struct env *e = run(true,
			    "file /proc/cmdline BOOT_IMAGE=/boot/vmlinuz ro\n"
			    "file /proc/cpuinfo vendor_id\\t: AuthenticAMD\\n\n",
			    0);

	(void)state;
	expect(e, "host-iommu-off", FINDING_ERROR, "AMD-Vi", "firmware", NULL);
	done(e);
}

static void test_iommu_turned_off_on_cmdline(void **state)
{
	struct env *e = run(
	    true,
	    "file /proc/cmdline BOOT_IMAGE=/boot/vmlinuz ro quiet intel_iommu=off\n"
	    "file /etc/default/grub GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=off\"\n"
	    "mkdir /sys/class/iommu/dmar0\n",
	    0);

	(void)state;
	expect(
	    e, "host-iommu-off", FINDING_ERROR, "'intel_iommu=off'",
	    "remove 'intel_iommu=off' from GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub (line 1)",
	    "update-grub", NULL);
	done(e);
}

static void test_iommu_set_but_not_applied(void **state)
{
	/* edited GRUB on a systemd-boot host: the classic */
	struct env *e = run(
	    true,
	    "file /proc/cmdline initrd=\\\\EFI\\\\proxmox\\\\6.5\\\\initrd.img root=ZFS=rpool/ROOT/pve-1\n"
	    "file /etc/default/grub GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n"
	    "file /etc/kernel/cmdline root=ZFS=rpool/ROOT/pve-1 boot=zfs\n",
	    0);

	(void)state;
	expect(e, "host-iommu-off", FINDING_ERROR, "/etc/default/grub:1",
	       "does not have it", "systemd-boot", "/etc/kernel/cmdline",
	       "proxmox-boot-tool refresh", NULL);
	done(e);
}

static void test_iommu_not_saved(void **state)
{
	struct env *e = run_vm(
	    "file /etc/default/grub GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n", vm_ok);

	(void)state;
	expect(e, "host-iommu-on", FINDING_INFO, "in no boot configuration file", NULL);
	expect(e, "host-iommu-cmdline-unsaved", FINDING_WARNING, "intel_iommu=on",
	       "GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub", "update-grub", NULL);
	done(e);
}

static void test_iommu_on_by_default(void **state)
{
	struct env *e =
	    run_vm("file /proc/cmdline BOOT_IMAGE=/boot/vmlinuz ro quiet\n", vm_ok);

	(void)state;
	expect(e, "host-iommu-on", FINDING_INFO, "kernel's default", NULL);
	none(e, "host-iommu-cmdline-unsaved");
	done(e);
}

/* ---- host: interrupt remapping, ACS ---- */

static void test_irq_remapping(void **state)
{
	struct env *e = run_vm(
	    "file /proc/interrupts            CPU0\\n  0:   40   IO-APIC   2-edge      timer\\n 24:    0  PCI-MSI 512000-edge      ahci\\n\n"
	    "file /etc/modprobe.d/iommu_unsafe_interrupts.conf options vfio_iommu_type1 allow_unsafe_interrupts=1\n",
	    vm_ok);

	(void)state;
	expect(e, "host-irq-remapping-off", FINDING_WARNING, "interrupt remapping is off",
	       "/etc/modprobe.d/iommu_unsafe_interrupts.conf:1", "firmware", NULL);
	done(e);
	/* unknown (no /proc/interrupts): nothing is claimed */
	e = run(true, "dev 0000:01:00.0 group=3\n", 0);
	none(e, "host-irq-remapping-off");
	done(e);
}

static void test_acs_override(void **state)
{
	struct env *e = run_vm(
	    "file /proc/cmdline BOOT_IMAGE=/boot/vmlinuz ro quiet intel_iommu=on pcie_acs_override=downstream,multifunction\n"
	    "file /etc/default/grub GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on pcie_acs_override=downstream,multifunction\"\n",
	    vm_ok);
	const struct finding *f;

	(void)state;
	f = expect(e, "host-acs-override", FINDING_WARNING,
		   "pcie_acs_override=downstream,multifunction", "isolation",
		   "GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub (line 1)",
		   "update-grub", NULL);
	assert_non_null(strstr(f->fix, "remove"));
	done(e);
}

/* ---- host: modules and guides' leftovers ---- */

static void test_vfio_modules(void **state)
{
	/* an index without vfio-pci */
	struct env *e = run(true,
			    "file /proc/sys/kernel/osrelease 6.1.0-13-amd64\n"
			    "module kvm kernel/arch/x86/kvm/kvm.ko\n"
			    "module vfio_iommu_type1 loaded\n",
			    0);

	(void)state;
	expect(e, "host-vfio-module-missing", FINDING_ERROR, "vfio-pci",
	       "/lib/modules/6.1.0-13-amd64", NULL);
	assert_int_equal(count_id(e, "host-vfio-module-missing"), 1);
	none(e, "host-modules-index");
	done(e);
	/* no index at all: say so, claim nothing */
	e = run(true, "file /proc/sys/kernel/osrelease 6.8.12-4-pve\n", 0);
	expect(e, "host-modules-index", FINDING_WARNING, "/lib/modules/6.8.12-4-pve",
	       NULL);
	none(e, "host-vfio-module-missing");
	done(e);
}

static void test_modprobe_leftovers(void **state)
{
	struct env *e = run_vm(
	    "file /etc/modprobe.d/vfio.conf options vfio-pci ids=10de:2484,10de:228b disable_vga=1\\nsoftdep nouveau pre: vfio-pci\\n\n"
	    "file /etc/modprobe.d/blacklist.conf # GPU passthrough\\nblacklist nouveau\\nblacklist nvidia\\ninstall amdgpu /bin/false\\n\n"
	    "file /etc/modprobe.d/pve-blacklist.conf blacklist nvidiafb\n"
	    "file /proc/cmdline BOOT_IMAGE=/boot/vmlinuz ro intel_iommu=on vfio-pci.ids=10de:2484 modprobe.blacklist=nouveau,snd-hda-intel\n",
	    vm_ok);
	const struct finding *f;

	(void)state;
	f = expect(e, "host-modprobe-vfio-ids", FINDING_WARNING,
		   "/etc/modprobe.d/vfio.conf:1", "10de:2484,10de:228b",
		   "update-initramfs -u -k all", NULL);
	(void)f;
	expect(e, "host-modprobe-softdep", FINDING_WARNING, "/etc/modprobe.d/vfio.conf:2",
	       "softdep nouveau pre: vfio-pci", NULL);
	expect(e, "host-modprobe-blacklist", FINDING_WARNING,
	       "/etc/modprobe.d/blacklist.conf:2", "nouveau", NULL);
	/* nouveau, nvidia, amdgpu: three; Proxmox's own nvidiafb line is fine */
	assert_int_equal(count_id(e, "host-modprobe-blacklist"), 3);
	expect(e, "host-cmdline-vfio-ids", FINDING_WARNING, "vfio-pci.ids=10de:2484",
	       "in no boot configuration file", NULL);
	expect(e, "host-cmdline-blacklist", FINDING_WARNING, "modprobe.blacklist", NULL);
	/* x-vga with OVMF: Proxmox leaves x-vga out, so disable_vga is no matter */
	none(e, "vm-xvga-disabled");
	done(e);
}

/* ---- host: the devices the VMs want ---- */

static void test_framebuffer_on_bar(void **state)
{
	struct env *e = run_vm(
	    "file /proc/iomem 00000000-00000fff : Reserved\\ne0000000-efffffff : PCI Bus 0000:01\\n  e0000000-efffffff : 0000:01:00.0\\n    e0000000-e07fffff : BOOTFB\\nfd000000-fdffffff : simple-framebuffer.0\\n\n",
	    vm_ok);
	const struct finding *f;

	(void)state;
	f = expect(e, "host-framebuffer-bar", FINDING_ERROR, "0000:01:00.0",
		   "hostpci0 of VM 100", "BAR 1", "BOOTFB", "0xe0000000-0xe07fffff",
		   "initcall_blacklist=sysfb_init", "/etc/default/grub", "update-grub",
		   NULL);
	(void)f;
	/* the framebuffer elsewhere is none of this card's business */
	assert_int_equal(count_id(e, "host-framebuffer-bar"), 1);
	done(e);
}

static void test_boot_gpu(void **state)
{
	struct env *e = run_vm(
	    "dev 0000:02:00.0 vendor=1002 device=73bf class=030000 group=20 driver=amdgpu boot_vga=1\n",
	    "hostpci0: 02:00.0\\nmachine: q35\\ncpu: host\\nhookscript: local:snippets/vfiohook\\n");

	(void)state;
	expect(e, "host-boot-gpu", FINDING_INFO, "0000:02:00.0", "boot GPU", NULL);
	done(e);
}

static void test_d3cold(void **state)
{
	struct env *e = run_vm(
	    "dev 0000:02:00.0 vendor=8086 device=2723 class=028000 group=20 driver=vfio-pci power=D3cold\n"
	    "dev 0000:03:00.0 vendor=144d device=a808 class=010802 group=21 driver=vfio-pci\n",
	    "hostpci0: 02:00.0\\nhostpci1: 03:00.0\\nmachine: q35\\ncpu: host\\nhookscript: local:snippets/vfiohook\\n");

	(void)state;
	expect(e, "host-d3cold", FINDING_WARNING, "0000:02:00.0", "D3cold",
	       "/sys/bus/pci/devices/0000:02:00.0/d3cold_allowed", "disable_idle_d3=1",
	       NULL);
	expect(e, "host-d3cold-allowed", FINDING_INFO, "0000:03:00.0",
	       "disable_idle_d3=1", NULL);
	done(e);
	/* vfio-pci already runs with disable_idle_d3: no hint */
	e = run_vm(
	    "dev 0000:03:00.0 vendor=144d device=a808 class=010802 group=21 driver=vfio-pci\n"
	    "file /sys/module/vfio_pci/parameters/disable_idle_d3 Y\n",
	    "hostpci1: 03:00.0\\ncpu: host\\nhookscript: local:snippets/vfiohook\\n");
	none(e, "host-d3cold-allowed");
	none(e, "host-d3cold");
	done(e);
}

static void test_vendor_reset(void **state)
{
	static const char polaris[] =
	    "dev 0000:03:00.0 vendor=1002 device=67df class=030000 group=14 driver=amdgpu reset_method=pm,bus\n"
	    "dev 0000:03:00.1 vendor=1002 device=aaf0 class=040300 group=14 driver=snd_hda_intel\n";
	_cleanup_free_ char *installed =
	    xasprintf("%smodule vendor-reset updates/dkms/vendor-reset.ko\n", polaris);
	_cleanup_free_ char *loaded =
	    xasprintf("%smodule vendor-reset loaded\n", polaris);
	_cleanup_free_ char *selected = xasprintf(
	    "module vendor-reset loaded\n"
	    "dev 0000:03:00.0 vendor=1002 device=67df class=030000 group=14 driver=vfio-pci reset_method=device_specific,pm,bus\n");
	struct env *e;

	(void)state;
	/* a Polaris card no VM names yet: still named, with what it needs */
	e = run_vm(polaris, vm_ok);
	expect(e, "host-vendor-reset-missing", FINDING_WARNING, "0000:03:00.0",
	       "Polaris 10", "1002:67df", "reset bug", "not installed",
	       "vendor-reset-dkms",
	       "device_specific > /sys/bus/pci/devices/0000:03:00.0/reset_method", NULL);
	/* the audio function has no reset bug of its own */
	assert_int_equal(count_id(e, "host-vendor-reset-missing"), 1);
	done(e);
	e = run_vm(installed, vm_ok);
	expect(e, "host-vendor-reset-unloaded", FINDING_WARNING, "not loaded",
	       "modprobe vendor-reset", "/etc/modules-load.d/vendor-reset.conf", NULL);
	done(e);
	e = run_vm(loaded, "hostpci0: 03:00,pcie=1\\nmachine: q35\\ncpu: host\\n");
	expect(e, "host-vendor-reset-unselected", FINDING_WARNING, "hostpci0 of VM 100",
	       "'pm bus'", "device_specific", NULL);
	done(e);
	e = run_vm(selected, vm_ok);
	none(e, "host-vendor-reset-missing");
	none(e, "host-vendor-reset-unloaded");
	none(e, "host-vendor-reset-unselected");
	done(e);
	/* no module index: still named, as not loaded */
	e = run(true, polaris, 0);
	expect(e, "host-vendor-reset-missing", FINDING_WARNING, "not loaded", NULL);
	done(e);
	/* Navi 21: vendor-reset has nothing for it */
	e = run_vm(
	    "dev 0000:03:00.0 vendor=1002 device=73bf class=030000 group=14 driver=amdgpu\n",
	    vm_ok);
	none(e, "host-vendor-reset-missing");
	done(e);
}

/* ---- VMs: Proxmox's own refusals after pre-start ---- */

static void test_pcie_needs_q35(void **state)
{
	struct env *e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00,pcie=1\\n");

	(void)state;
	expect(e, "vm-pcie-needs-q35", FINDING_ERROR, "VM 100", "hostpci0", "pcie=1",
	       "i440fx", "q35 machine model is not enabled", "qm set 100 --machine q35",
	       NULL);
	done(e);
	e = run_vm(NULL,
		   "cpu: host\\nhostpci0: 01:00,pcie=1\\nmachine: pc-i440fx-8.1\\n");
	expect(e, "vm-pcie-needs-q35", FINDING_ERROR, "pc-i440fx-8.1", NULL);
	done(e);
	e = run_vm(NULL,
		   "cpu: host\\nhostpci0: 01:00,pcie=1\\nmachine: pc-q35-8.1+pve0\\n");
	none(e, "vm-pcie-needs-q35");
	done(e);
	e = run_vm(
	    NULL,
	    "cpu: host\\nhostpci0: 01:00,pcie=on\\nmachine: type=q35,viommu=intel\\n");
	none(e, "vm-pcie-needs-q35");
	done(e);
}

static void test_legacy_igd(void **state)
{
	static const char igd[] =
	    "dev 0000:00:02.0 vendor=8086 device=3e92 class=030000 group=0 driver=i915\n"
	    "dev 0000:04:00.0 vendor=8086 device=56a0 class=030000 group=22 driver=i915\n";
	struct env *e;

	(void)state;
	/* all rules kept: i440fx, vga none, the IGD at 00:02.0 alone */
	e = run_vm(igd, "cpu: host\\nhostpci0: 00:02.0,legacy-igd=1\\nvga: none\\n");
	none(e, "vm-legacy-igd-rules");
	done(e);
	e = run_vm(
	    igd,
	    "cpu: host\\nhostpci0: 00:02.0,legacy-igd=1,x-vga=1,rombar=0\\nmachine: q35\\n");
	expect(e, "vm-legacy-igd-rules", FINDING_ERROR, "requires VGA mode to be 'none'",
	       "qm set 100 --vga none", NULL);
	/* vga, rombar, x-vga, q35 all broken: Proxmox stops at the first */
	assert_int_equal(count_id(e, "vm-legacy-igd-rules"), 1);
	done(e);
	e = run_vm(igd, "cpu: host\\nhostpci0: 04:00.0,legacy-igd=1\\nvga: none\\n"
			"hostpci1: 00:02.0,legacy-igd=1\\n");
	expect(e, "vm-legacy-igd-rules", FINDING_ERROR,
	       "only works for devices on host bus 00:02.0", NULL);
	/* and the second entry: only one device in legacy-igd mode */
	assert_int_equal(count_id(e, "vm-legacy-igd-rules"), 2);
	done(e);
}

static void test_xvga(void **state)
{
	/* a 3D controller (class 0302) has no VGA region */
	static const char tesla[] =
	    "dev 0000:02:00.0 vendor=10de device=1db4 class=030200 group=20 driver=nvidia\n";
	struct env *e;

	(void)state;
	e = run_vm(tesla, "cpu: host,hidden=1\\nhostpci0: 02:00.0,x-vga=1\\n");
	expect(e, "vm-xvga-not-vga", FINDING_ERROR, "0000:02:00.0", "0302", "x-vga",
	       NULL);
	done(e);
	/* OVMF: Proxmox leaves x-vga out */
	e = run_vm(
	    tesla,
	    "bios: ovmf\\nefidisk0: x:1\\ncpu: host\\nhostpci0: 02:00.0,x-vga=1\\n");
	none(e, "vm-xvga-not-vga");
	done(e);
	e = run_vm("file /sys/module/vfio_pci/parameters/disable_vga Y\n",
		   "cpu: host\\nhostpci0: 01:00,x-vga=1\\n");
	expect(e, "vm-xvga-disabled", FINDING_ERROR, "disable_vga=1", NULL);
	done(e);
}

/* ---- VMs: the rest of the checklist ---- */

static void test_efidisk(void **state)
{
	struct env *e = run_vm(NULL, "bios: ovmf\\ncpu: host\\nhostpci0: 01:00\\n");

	(void)state;
	expect(e, "vm-efidisk-missing", FINDING_WARNING, "OVMF", "efidisk0",
	       "qm set 100 --efidisk0", NULL);
	done(e);
}

static void test_romfile(void **state)
{
	struct env *e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00,romfile=TU104.rom\\n");

	(void)state;
	expect(e, "vm-romfile-missing", FINDING_ERROR, "/usr/share/kvm/TU104.rom",
	       "hostpci0", NULL);
	done(e);
	e = run_vm("file /usr/share/kvm/TU104.rom x\n",
		   "cpu: host\\nhostpci0: 01:00,romfile=TU104.rom\\n");
	none(e, "vm-romfile-missing");
	done(e);
}

static void test_nvidia_hidden(void **state)
{
	struct env *e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00\\n");

	(void)state;
	expect(e, "vm-nvidia-hidden", FINDING_INFO, "0000:01:00.0", "hidden=1",
	       "qm set 100 --cpu host,hidden=1", NULL);
	done(e);
	e = run_vm(NULL, "cpu: host,hidden=1\\nhostpci0: 01:00\\n");
	none(e, "vm-nvidia-hidden");
	done(e);
	/* the VM as the start will see it: its [PENDING] applied */
	e = run_vm(NULL,
		   "cpu: host\\nhostpci0: 01:00\\n\\n[PENDING]\\ncpu: host,hidden=1\\n");
	none(e, "vm-nvidia-hidden");
	done(e);
	e = run_vm(NULL,
		   "cpu: host,hidden=1\\nhostpci0: 01:00\\n\\n[PENDING]\\ncpu: host\\n");
	expect(e, "vm-nvidia-hidden", FINDING_INFO, "hidden=1", NULL);
	done(e);
}

static void test_function_left_out(void **state)
{
	struct env *e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00.0,x-vga=1\\n");

	(void)state;
	expect(e, "vm-function-left-out", FINDING_WARNING, "hostpci0", "0000:01:00.0",
	       "0000:01:00.1", "IOMMU group 13", "hostpci0: 0000:01:00", "All Functions",
	       NULL);
	/* said once, though both the group and the slot show it */
	assert_int_equal(count_id(e, "vm-function-left-out"), 1);
	none(e, "vm-group-companion");
	done(e);
	/* the audio function in a group of its own: still left out of the guest */
	e = run(
	    true,
	    "dev 0000:01:00.0 vendor=10de device=2484 class=030000 group=13 driver=nvidia\n"
	    "dev 0000:01:00.1 vendor=10de device=228b class=040300 group=14 driver=snd_hda_intel\n"
	    "dev 0000:01:00.2 vendor=10de device=2487 class=0c0330 group=15 driver=xhci_hcd\n"
	    "file /etc/pve/qemu-server/100.conf hostpci0: 01:00.0\\nhostpci1: 01:00.2\n",
	    100);
	expect(e, "vm-function-left-out", FINDING_WARNING, "0000:01:00.1",
	       "hostpci0: 0000:01:00 without the function", NULL);
	assert_int_equal(count_id(e, "vm-function-left-out"), 1);
	done(e);
	/* a NIC port left to the host is no pitfall: only display devices */
	e = run(
	    true,
	    "dev 0000:02:00.0 vendor=8086 device=1521 class=020000 group=20 driver=igb\n"
	    "dev 0000:02:00.1 vendor=8086 device=1521 class=020000 group=21 driver=igb\n"
	    "file /etc/pve/qemu-server/100.conf hostpci0: 02:00.0\n",
	    100);
	none(e, "vm-function-left-out");
	done(e);
	/* both functions named: nothing left out */
	e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00.0,x-vga=1\\nhostpci1: 01:00.1\\n");
	none(e, "vm-function-left-out");
	done(e);
}

static void test_group_companion(void **state)
{
	/* a USB controller in the GPU's group, behind the same bridge */
	struct env *e = run_vm(
	    "dev 0000:01:00.2 vendor=1b21 device=2142 class=0c0330 parent=0000:00:01.0 group=13 driver=xhci_hcd\n"
	    "dev 0000:02:00.0 vendor=1b21 device=2142 class=0c0330 parent=0000:00:01.0 group=13 driver=xhci_hcd\n",
	    vm_ok);

	(void)state;
	expect(e, "vm-group-companion", FINDING_WARNING, "0000:02:00.0", "xhci_hcd",
	       "IOMMU group 13", "0000:01:00.0 (hostpci0)", NULL);
	assert_int_equal(count_id(e, "vm-group-companion"), 1);
	done(e);
}

static void test_plan_refusals(void **state)
{
	/* the root disk's controller in the GPU's group; a device that is gone */
	struct env *e = run_vm(
	    "dev 0000:01:00.2 vendor=8086 device=a352 class=010601 parent=0000:00:01.0 group=13 driver=ahci\n"
	    "block 0000:01:00.2 ata1/host0/target0:0:0/0:0:0:0/block/sda 8:0\n"
	    "file /proc/self/mountinfo 22 1 8:0 / / rw,relatime - ext4 /dev/sda rw\n",
	    "cpu: host\\nhostpci0: 01:00.0;01:00.1,x-vga=1\\nhostpci1: 05:00\\n");

	(void)state;
	expect(e, "vm-device-refused", FINDING_ERROR, "0000:01:00.2", "hostpci0",
	       "the host's root filesystem", NULL);
	expect(e, "vm-device-missing", FINDING_ERROR, "VM 100", "05:00", "lspci -D",
	       NULL);
	done(e);
}

static void test_hugepages_numa(void **state)
{
	struct env *e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00\\nhugepages: 1024\\n");

	(void)state;
	expect(e, "vm-hugepages-no-numa", FINDING_ERROR, "numa needs to be enabled",
	       "qm set 100 --numa 1", NULL);
	/* the plan's own refusal of it (hugepages = auto) is not said twice */
	none(e, "vm-hugepages");
	done(e);
	e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00\\nhugepages: 1024\\nnuma: 1\\n");
	none(e, "vm-hugepages-no-numa");
	done(e);
}

static void test_affinity(void **state)
{
	struct env *e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00\\naffinity: 4-11\\n");

	(void)state;
	expect(e, "vm-affinity-cpus", FINDING_WARNING, "'4-11'", "8-11", "online: 0-7",
	       NULL);
	done(e);
	e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00\\naffinity: 16,18\\n");
	expect(e, "vm-affinity-cpus", FINDING_ERROR, "16,18", "taskset", NULL);
	done(e);
	e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00\\naffinity: 0-3, 6\\n");
	none(e, "vm-affinity-cpus");
	done(e);
}

static void test_cpu_not_host(void **state)
{
	struct env *e = run_vm(NULL, "cpu: x86-64-v2-AES\\nhostpci0: 01:00\\n");

	(void)state;
	expect(e, "vm-cpu-not-host", FINDING_INFO, "x86-64-v2-AES",
	       "qm set 100 --cpu host", NULL);
	done(e);
	e = run_vm(NULL, "hostpci0: 01:00\\n");
	expect(e, "vm-cpu-not-host", FINDING_INFO, "kvm64 (the default)", NULL);
	done(e);
	e = run_vm(NULL, "cpu: cputype=host,flags=+aes\\nhostpci0: 01:00\\n");
	none(e, "vm-cpu-not-host");
	done(e);
}

static void test_mapping_group_changed(void **state)
{
	struct env *e = run_vm(
	    "file /etc/pve/mapping/pci.cfg gpu\\n\\tmap node=pve1,path=0000:01:00.0,id=10de:2484,iommugroup=12,subsystem-id=0000:0000\\n\\tmap node=pve2,path=0000:02:00.0,id=10de:2484,iommugroup=99\\n\n",
	    "cpu: host\\nhostpci0: mapping=gpu\\n");

	(void)state;
	expect(e, "vm-mapping-group-changed", FINDING_ERROR, "mapping 'gpu'",
	       "0000:01:00.0", "IOMMU group 12", "is 13 now", "pci.cfg line 2", NULL);
	/* the other node's entry is not this host's business */
	assert_int_equal(count_id(e, "vm-mapping-group-changed"), 1);
	done(e);
}

/* VMs read elsewhere (the API): config and mappings given, the host as
 * always from the root; the mapping has no line in pci.cfg to name. */
static void test_gather_from(void **state)
{
	static const char conf[] = "cpu: host\nhostpci0: mapping=gpu\n";
	static const char maps[] =
	    "gpu\n\tmap node=pve1,path=0000:01:00.0,id=10de:2484,iommugroup=12,subsystem-id=0000:0000\n";
	struct doctor_vm_in in[2] = {{.vmid = 100}, {.vmid = 101}};
	struct env *e = xcalloc(1, sizeof(*e));
	struct vmconf *c = NULL;
	char *err = NULL;

	(void)state;
	e->fx = fx_new(NULL);
	assert_int_equal(fx_spec(e->fx, host_ok), 0);
	assert_int_equal(host_setup(fx_root(e->fx), "pve1"), 0);
	assert_int_equal(vmconf_parse(conf, strlen(conf), "api", 100, &c, &err), 0);
	assert_int_equal(vm_from_conf(c, &in[0].vm, &err), 0);
	assert_int_equal(mapping_parse(maps, strlen(maps), &in[0].maps, &err), 0);
	in[1].error = xstrdup("api:1: hostpci0: rombar 'maybe' is not a boolean");
	doctor_gather_from(in, 2, &e->d);
	assert_null(in[0].vm);
	assert_null(in[0].maps);
	assert_null(in[1].error);
	doctor_judge(e->d, &e->f);
	expect(e, "vm-mapping-group-changed", FINDING_ERROR, "mapping 'gpu'",
	       "IOMMU group 12", "is 13 now", "(/etc/pve/mapping/pci.cfg, mapping 'gpu')",
	       NULL);
	expect(e, "vm-config-invalid", FINDING_ERROR, "VM 101", "rombar 'maybe'", NULL);
	expect(e, "host-iommu-on", FINDING_INFO, NULL);
	done(e);
}

static void test_hookscript(void **state)
{
	struct env *e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00\\n");

	(void)state;
	expect(e, "vm-hookscript-none", FINDING_INFO, "qm set 100 --hookscript", NULL);
	done(e);
	e = run_vm(
	    "file /var/lib/vz/snippets/plain.sh #!/bin/sh\n",
	    "cpu: host\\nhostpci0: 01:00\\nhookscript: local:snippets/plain.sh\\n");
	expect(e, "vm-hookscript-not-executable", FINDING_ERROR,
	       "/var/lib/vz/snippets/plain.sh", "chmod +x", NULL);
	done(e);
	e = run_vm(NULL,
		   "cpu: host\\nhostpci0: 01:00\\nhookscript: local:snippets/gone\\n");
	expect(e, "vm-hookscript-missing", FINDING_ERROR, "/var/lib/vz/snippets/gone",
	       NULL);
	done(e);
	e = run_vm(
	    "file /etc/pve/storage.cfg dir: local\\n\\tpath /var/lib/vz\\n\\tcontent iso,backup\\n\n",
	    "cpu: host\\nhostpci0: 01:00\\nhookscript: local:snippets/vfiohook\\n");
	/* check_hookscript takes the type from the volume name: Proxmox still
	 * runs it, so a warning, and the file is checked as Proxmox checks it */
	expect(e, "vm-hookscript-storage", FINDING_WARNING, "snippets",
	       "Proxmox still runs /var/lib/vz/snippets/vfiohook", NULL);
	done(e);
	e = run_vm("file /etc/pve/storage.cfg dir: local\\n\\tpath /var/lib/vz\\n\\n"
		   "lvmthin: thin\\n\\tthinpool data\\n\\tvgname pve\\n\n",
		   "cpu: host\\nhostpci0: 01:00\\nhookscript: thin:snippets/vfiohook\\n");
	expect(e, "vm-hookscript-storage", FINDING_ERROR, "no file system path",
	       "refuses to start", NULL);
	done(e);
}

static void test_vm_without_passthrough(void **state)
{
	/* check 101: no hostpci, no passthrough advice; a broken hookscript
	 * still blocks its start */
	struct env *e = run(
	    false,
	    "file /etc/pve/qemu-server/101.conf cores: 2\\nhookscript: local:snippets/gone\n",
	    101);

	(void)state;
	none(e, "vm-cpu-not-host");
	none(e, "vm-hookscript-none");
	expect(e, "vm-hookscript-missing", FINDING_ERROR, "VM 101", NULL);
	done(e);
}

static void test_config_invalid(void **state)
{
	struct env *e = run_vm(NULL, "cpu: host\\nhostpci0: 01:00,bogus=1\\n");

	(void)state;
	expect(e, "vm-config-invalid", FINDING_ERROR, "VM 100", "100.conf:2", "bogus",
	       NULL);
	/* the host is still checked */
	expect(e, "host-iommu-on", FINDING_INFO, NULL);
	done(e);
	/* a line Proxmox skips (a repeated key) is no finding of its own */
	e = run_vm(NULL, "cpu: host\\ncpu: kvm64\\nhostpci0: 01:00\\n");
	assert_int_equal(count_id(e, "vm-config-invalid"), 0);
	done(e);
}

/* ---- pure judgement on hand-made facts ---- */

static void test_judge_pure(void **state)
{
	struct doctor_host h;
	struct findings f = {0};

	(void)state;
	memset(&h, 0, sizeof(h));
	h.irq_remap = -1;
	h.unsafe_interrupts = h.disable_idle_d3 = h.disable_vga = -1;
	h.vfio_pci.known = h.vfio_type1.known = true;
	h.vfio_pci.state = KMOD_STATE_LOADED;
	h.vfio_type1.state = KMOD_STATE_AVAILABLE;
	h.n_groups = 40;
	doctor_judge_host(&h, &f);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].id, "host-iommu-on");
	findings_clear(&f);
	/* interrupt remapping off and allowed unsafe by the loaded module */
	h.irq_remap = 0;
	h.unsafe_interrupts = 1;
	doctor_judge_host(&h, &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.v[1].id, "host-irq-remapping-off");
	assert_non_null(
	    strstr(f.v[1].message, "allow_unsafe_interrupts=1, so passthrough works"));
	findings_clear(&f);
	/* an AMD GPU on a host whose vendor-reset state is known missing */
	h.irq_remap = 1;
	h.vendor_reset.known = true;
	h.vendor_reset.state = KMOD_STATE_MISSING;
	h.amd = xcalloc(1, sizeof(*h.amd));
	h.n_amd = 1;
	snprintf(h.amd[0].bdf, sizeof(h.amd[0].bdf), "0000:0a:00.0");
	h.amd[0].vendor = 0x1002;
	h.amd[0].device = 0x731f;
	h.amd[0].hostpci = -1;
	doctor_judge_host(&h, &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.v[1].id, "host-vendor-reset-missing");
	assert_non_null(strstr(f.v[1].message, "Navi 10"));
	findings_clear(&f);
	free(h.amd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ready_host_only_informs),
	    cmocka_unit_test(test_unknown_vm),
	    cmocka_unit_test(test_every_vm_with_hostpci),
	    cmocka_unit_test(test_iommu_off_no_hardware),
	    cmocka_unit_test(test_iommu_off_unit_present),
	    cmocka_unit_test(test_iommu_off_amd),
	    cmocka_unit_test(test_iommu_turned_off_on_cmdline),
	    cmocka_unit_test(test_iommu_set_but_not_applied),
	    cmocka_unit_test(test_iommu_not_saved),
	    cmocka_unit_test(test_iommu_on_by_default),
	    cmocka_unit_test(test_irq_remapping),
	    cmocka_unit_test(test_acs_override),
	    cmocka_unit_test(test_vfio_modules),
	    cmocka_unit_test(test_modprobe_leftovers),
	    cmocka_unit_test(test_framebuffer_on_bar),
	    cmocka_unit_test(test_boot_gpu),
	    cmocka_unit_test(test_d3cold),
	    cmocka_unit_test(test_vendor_reset),
	    cmocka_unit_test(test_pcie_needs_q35),
	    cmocka_unit_test(test_legacy_igd),
	    cmocka_unit_test(test_xvga),
	    cmocka_unit_test(test_efidisk),
	    cmocka_unit_test(test_romfile),
	    cmocka_unit_test(test_nvidia_hidden),
	    cmocka_unit_test(test_function_left_out),
	    cmocka_unit_test(test_group_companion),
	    cmocka_unit_test(test_plan_refusals),
	    cmocka_unit_test(test_hugepages_numa),
	    cmocka_unit_test(test_affinity),
	    cmocka_unit_test(test_cpu_not_host),
	    cmocka_unit_test(test_mapping_group_changed),
	    cmocka_unit_test(test_gather_from),
	    cmocka_unit_test(test_hookscript),
	    cmocka_unit_test(test_vm_without_passthrough),
	    cmocka_unit_test(test_config_invalid),
	    cmocka_unit_test(test_judge_pure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
