/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The doctor behind `vfiohook check [VMID]`: the checklist every
 * passthrough guide ends with, as read-only findings (engine/findings.h).
 *
 * Two steps, like observe -> plan: doctor_gather() reads every fact the
 * checks need from the host (under the root) into a struct doctor, in one
 * place; doctor_judge() is a pure function from those facts to findings,
 * so the unit tests can drive it with hand-made facts as well as with
 * facts gathered from a fake root.
 *
 * Host checks: the IOMMU and how it was enabled, interrupt remapping,
 * pcie_acs_override, the vfio modules, what the guides leave in modprobe.d
 * and on the command line (blacklists, vfio-pci ids=, softdeps), a
 * framebuffer on a BAR a VM wants, the boot GPU, D3cold, vendor-reset for
 * the AMD GPUs that need it.  VM checks: what Proxmox refuses after
 * pre-start (pcie=1 without q35, the legacy-igd rules), x-vga on a device
 * that is no VGA controller, OVMF without an EFI disk, a missing romfile,
 * NVIDIA without hidden=1, functions of a card left out, group companions
 * that would be taken, hugepages without NUMA, affinity naming CPUs that
 * are not there, cpu not host, a mapping whose IOMMU group changed, the
 * hookscript; and every problem and refusal of the VM's plan.
 */
#ifndef VFIOHOOK_DOCTOR_H
#define VFIOHOOK_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/cpuset.h"
#include "engine/findings.h"
#include "engine/hostcfg.h"
#include "engine/prepare.h"
#include "pci/inventory.h"
#include "pci/kmod.h"
#include "pve/hostpci.h"
#include "pve/propstr.h"

/* A device some VM passes through, or an AMD GPU with the reset bug. */
struct doctor_dev {
	char bdf[16];
	unsigned vmid; /* the first VM naming it; 0 for a device no VM names */
	int hostpci;   /* its hostpciN entry in that VM, -1 */
	unsigned vendor, device, class_code;
	char *driver;	    /* NULL: no driver */
	int boot_vga;	    /* -1 absent, 0, 1 */
	char *reset_method; /* NULL: no reset_method file (kernel < 5.15) */
	int d3cold_allowed; /* -1 unknown */
	char *power_state;  /* "D0", "D3cold", ...; NULL unknown */
	struct pdev_bar bars[6];
	size_t n_bars;
};

/* A module the checks ask about. */
struct doctor_mod {
	bool known;	       /* false: neither in /sys/module nor a readable index */
	enum kmod_state state; /* when known */
};

struct doctor_host {
	char *release; /* uname -r; NULL unknown */
	bool cmdline_known;
	struct strv cmdline;	 /* /proc/cmdline, split */
	struct bootcfg boot;	 /* where it is set, and the boot loader */
	int n_groups;		 /* entries of /sys/kernel/iommu_groups (0 when absent) */
	struct strv iommu_units; /* /sys/class/iommu: dmar0, ivhd0, ... */
	char *cpu_vendor;	 /* "GenuineIntel", "AuthenticAMD"; NULL unknown */
	int irq_remap;		 /* /proc/interrupts shows IR- chips: 1, 0, -1 unknown */
	/* vfio module parameters in /sys/module (-1: module not loaded) */
	int unsafe_interrupts; /* vfio_iommu_type1 allow_unsafe_interrupts */
	int disable_idle_d3;   /* vfio_pci disable_idle_d3 */
	int disable_vga;       /* vfio_pci disable_vga */
	char *modules_error;   /* the module index could not be read: why */
	char *modules_dir;     /* "/lib/modules/<release>" */
	struct doctor_mod vfio_pci, vfio_type1, vendor_reset;
	struct modconf modconf;	 /* modprobe.d */
	struct iomem_range *fbs; /* framebuffers in /proc/iomem */
	size_t n_fbs;
	bool cpus_known;
	char *cpus_online; /* /sys/devices/system/cpu/online as written */
	struct cpuset cpus;
	struct doctor_dev *want; /* devices the checked VMs name (hostpciN) */
	size_t n_want;
	struct doctor_dev *amd; /* present AMD GPUs vendor-reset supports */
	size_t n_amd;
};

/* A hostpci entry's PCI mapping entry of this node that gives an IOMMU group. */
struct doctor_mapgroup {
	unsigned hostpci;
	char *mapping;
	unsigned line; /* of the map entry in /etc/pve/mapping/pci.cfg; 0 unknown (API) */
	char *path;    /* its first path, "0000:01:00.0" */
	int expected;  /* iommugroup= */
	int actual;    /* the device's group now; -1 none or absent */
};

/* Another function, present on the host, of the slot of a display device a
 * hostpci entry names, that none of the VM's entries names. */
struct doctor_sibling {
	unsigned hostpci;
	char dev[16];	  /* the display device, "0000:01:00.0" */
	char sibling[16]; /* "0000:01:00.1" */
};

struct doctor_vm {
	unsigned vmid;
	char *path;  /* "/etc/pve/qemu-server/100.conf" */
	char *error; /* the config (or policy) cannot be used: why; nothing else is set */
	struct plan_ctx pc;
	/* settings as written, NULL when absent */
	char *machine, *bios, *cpu, *vga, *hookscript;
	bool efidisk;
	/* the hookscript volume: the file it names, or why it names none */
	char *hook_path, *hook_error;
	/* the storage has a path but not the content type snippets: Proxmox
	 * still runs the file (check_hookscript looks at the volume name, -f
	 * and -x), but the GUI and the storage content API do not list it */
	char *hook_nocontent;
	bool hook_exists, hook_exec;
	bool romfile_present[HOSTPCI_MAX]; /* /usr/share/kvm/<romfile> is a file */
	struct doctor_mapgroup *maps;
	size_t n_maps;
	struct doctor_sibling *siblings;
	size_t n_siblings;
};

struct doctor {
	struct doctor_host host;
	struct doctor_vm *vms; /* in vmid order */
	size_t n_vms;
};

/*
 * Gather the facts for the host and VM vmid, or (vmid 0) for every VM in
 * /etc/pve/qemu-server with hostpci entries.  Read-only.  Returns 0;
 * -ENOENT with *err when VM vmid has no config on this node.  A VM whose
 * config cannot be used is not an error here: its doctor_vm says why.
 * *out is freed with doctor_free().
 */
int doctor_gather(unsigned vmid, struct doctor **out, char **err);

/* A VM read elsewhere (the API, with its [PENDING] applied as the start
 * will): its config and the mappings it uses (NULL when it uses none), or
 * why its config cannot be used (then vm and maps are NULL). */
struct doctor_vm_in {
	unsigned vmid;
	struct vm *vm;
	struct mapping_cfg *maps;
	char *error;
};

/*
 * doctor_gather() for the VMs in[0..n) (in vmid order), planned with
 * plan_ctx_make_from(); the host's facts as always from this host.  Takes
 * what each in[i] holds and clears it.
 */
void doctor_gather_from(struct doctor_vm_in *in, size_t n, struct doctor **out);
void doctor_free(struct doctor *d);

/* Pure: the findings for the facts, the host's first, then each VM's. */
void doctor_judge(const struct doctor *d, struct findings *out);
void doctor_judge_host(const struct doctor_host *h, struct findings *out);
void doctor_judge_vm(const struct doctor_host *h, const struct doctor_vm *vm,
		     struct findings *out);

#endif
