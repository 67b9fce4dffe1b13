/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * observe: read everything a VM's start depends on — its hostpci entries
 * resolved to devices (prefix expansion or PCI mappings), their IOMMU group
 * companions, who uses each, Proxmox's reservations and our journals of
 * other VMs — into a struct observation for plan_make().
 */
#ifndef VFIOHOOK_OBSERVE_H
#define VFIOHOOK_OBSERVE_H

#include "engine/plan.h"
#include "pci/inventory.h"
#include "pve/pveconf.h"
#include "state/journal.h"

/*
 * Returns 0 with *out set, also when the start would be refused (devices
 * missing, a mapping that no longer matches: those are problems in the
 * observation).  Returns -EINVAL with *err for input that cannot be used at
 * all (an unreadable mapping file).
 */
int observe_vm(struct vm *vm, struct inventory *inv, struct observation **out,
	       char **err);
/* The same with the PCI mappings given (from the API, pve/apiconf.h) instead
 * of read from /etc/pve/mapping/pci.cfg; maps NULL reads the file. */
struct mapping_cfg;
int observe_vm_maps(struct vm *vm, struct inventory *inv, const struct mapping_cfg *maps,
		    struct observation **out, char **err);

/*
 * Other VMs' journals, read once: which VM (other than vmid) holds a device
 * — running, or just through its pre-start.  Used by observe and by
 * post-stop ("never touch a device another running VM holds").
 */
struct holders;
struct holders *holders_load(unsigned vmid);
unsigned holders_find(const struct holders *h, const char *bdf); /* vmid or 0 */
void holders_free(struct holders *h);

/* True when Proxmox's pid file for vmid names a live process. */
bool observe_vm_running(unsigned vmid);
/* That process's pid, or 0. */
long observe_vm_pid(unsigned vmid);

/* j is of a pre-start that finished recently (within the grace period a
 * start takes) whose QEMU has not come up yet: what it reserved is still
 * to be taken. */
bool observe_start_pending(const struct journal *j);

#endif
