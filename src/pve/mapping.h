/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cluster-wide PCI mappings, /etc/pve/mapping/pci.cfg (PVE::Mapping::PCI in
 * pve-guest-common, a PVE::SectionConfig file):
 *
 *   gpu1
 *   	map node=pve1,path=0000:01:00.0,id=10de:1f08,iommugroup=13,subsystem-id=3842:2167
 *   	map node=pve2,path=0000:02:00.0;0000:02:00.1,id=10de:1f08
 *   	description my GPU
 *   	mdev 1
 *
 * and how qemu-server picks a device from one at VM start (PCI.pm
 * parse_hostpci, choose_hostpci_devices; Mapping/PCI.pm assert_valid).
 */
#ifndef VFIOHOOK_MAPPING_H
#define VFIOHOOK_MAPPING_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

struct reservations;

#define MAPPING_FILE "/etc/pve/mapping/pci.cfg"

/* One "map" line: one alternative device (set) on one node. */
struct pci_map_entry {
	unsigned line;
	char *node;
	struct strv path;   /* "0000:01:00.0" or "0000:01:00" (whole device), ';' split */
	char *id;	    /* vendor:device as written, "10de:1f08" */
	char *subsystem_id; /* "3842:2167" or NULL */
	int iommugroup;	    /* -1 unset */
	char *description;  /* NULL if none */
};

struct pci_mapping {
	char *name;
	unsigned line; /* of the section header */
	struct pci_map_entry *maps;
	size_t n_maps;
	char *description;
	bool mdev;
	bool live_migration; /* live-migration-capable */
};

struct mapping_cfg {
	struct pci_mapping *v;
	size_t n;
};

/*
 * Parse the file's text; pure, fuzzed.  A section is a header line (the
 * mapping id, pve-configid) followed by indented "key value" lines; an empty
 * line ends it; lines starting with optional white space and '#' are
 * comments anywhere.  Keys: map (repeatable), description, mdev,
 * live-migration-capable; other keys are ignored, as Proxmox ignores them.
 * A malformed header, line or map entry, an id given twice or a key given
 * twice is an error naming "/etc/pve/mapping/pci.cfg:LINE".
 */
int mapping_parse(const char *text, struct mapping_cfg **out, char **err);
/* Read and parse <root>/etc/pve/mapping/pci.cfg; an absent file gives an
 * empty cfg and 0. */
int mapping_read(struct mapping_cfg **out, char **err);
const struct pci_mapping *mapping_find(const struct mapping_cfg *cfg, const char *name);
void mapping_free(struct mapping_cfg *cfg);

/*
 * Choose the devices for hostpci<hostpci_index> = mapping m of VM vmid on
 * this node (host_node()), as qemu-server does:
 *  1. take m's entries whose node is this node, in file order; none is an
 *     error ("PCI device mapping not found");
 *  2. validate EVERY one against sysfs (Mapping/PCI.pm assert_valid): for
 *     each path (a path without function is checked as ".0") vendor:device,
 *     and subsystem vendor:device (the mapping must give subsystem-id when
 *     sysfs has the ids, and may not when it has not); the IOMMU group of
 *     the first path likewise.  Any mismatch is an error
 *     "hostpciN: PCI device mapping '<name>' invalid (hardware probably
 *     changed): <what differs>" naming the path, expected and found;
 *  3. expand each entry's paths like host ids (prefix match on `present`);
 *  4. pick the first entry none of whose devices is in `taken` (devices of
 *     earlier hostpci entries of the same VM) nor reserved by another VM
 *     (reservation_other_vm(res, bdf, vmid) != 0; res may be NULL).
 * out_devs is cleared, then gets the chosen sorted BDFs.
 */
int mapping_resolve(const struct pci_mapping *m, unsigned hostpci_index, unsigned vmid,
		    const struct strv *taken, const struct reservations *res,
		    const struct strv *present, struct strv *out_devs, char **err);

#endif
