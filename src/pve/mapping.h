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

#define MAPPING_FILE "/etc/pve/mapping/pci.cfg"

/* One "map" line: one alternative device (set) on one node. */
struct pci_map_entry {
	unsigned line;
	char *node;
	struct strv path;   /* "0000:01:00.0" or "0000:01:00" (whole device), ';' split */
	char *id;	    /* vendor:device as written, "10de:1f08" */
	char *subsystem_id; /* "3842:2167" or NULL */
	char *iommugroup;   /* as written ("13"; Proxmox compares it as text), or NULL */
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
	/* what PVE::SectionConfig would warn about and drop, as
	 * "/etc/pve/mapping/pci.cfg:LINE: ..." */
	struct strv warnings;
};

/*
 * Parse the file's text (len bytes; NUL bytes allowed) as pve-common's
 * SectionConfig parse_config reads it for PVE::Mapping::PCI; pure, fuzzed,
 * never fails.  Lines of optional white space and '#' are comments
 * anywhere.  A section is a header line (the mapping id alone, a
 * pve-configid) followed by indented "key value" lines; an empty line ends
 * it.  Leniency as in Proxmox, each with a warning: a line that does not
 * parse is ignored (a non-indented line inside a section does NOT start a
 * new one); a section with an invalid id is skipped; a bad value of map,
 * description, mdev or live-migration-capable drops that value; an unknown
 * key is dropped; a key other than map given twice keeps the first; a
 * boolean key without value means 1; a section left without a valid map
 * is dropped and removes an earlier section of the same id; a section given
 * again replaces the earlier one.  map values are checked against the map
 * schema (node, path, id required; path with domain; vendor:device ids).
 * Always returns 0 (err is never set).
 */
int mapping_parse(const char *text, size_t len, struct mapping_cfg **out, char **err);
/* Read and parse <root>/etc/pve/mapping/pci.cfg; an absent file gives an
 * empty cfg and 0; an unreadable one -errno with *err. */
int mapping_read(struct mapping_cfg **out, char **err);
const struct pci_mapping *mapping_find(const struct mapping_cfg *cfg, const char *name);
void mapping_free(struct mapping_cfg *cfg);

/*
 * PVE::Mapping::PCI::assert_valid of entry e of mapping m against sysfs:
 * NULL when it matches, else Proxmox's reason (allocated) with our hint.
 * For each path (one without function is checked as ".0"; it must name an
 * existing device with a 4-digit domain), in this order: 'id' (vendor:
 * device), 'iommugroup' (first path only), 'mdev' (the mapping's flag vs
 * whether the device has mdev_supported_types/), 'subsystem-id'.  A
 * property sysfs has but the entry lacks is "missing expected property", one
 * the entry has but sysfs lacks "unexpected property"; values are compared
 * as text, case-sensitively, after dropping "0x".
 */
char *mapping_entry_mismatch(const struct pci_mapping *m, const struct pci_map_entry *e);

/*
 * What PVE/QemuServer/PCI.pm parse_hostpci makes of hostpci<index> =
 * mapping=<name> on this node (host_node()): m is mapping_find()'s result
 * (NULL: no such mapping).  The entries whose node is this node, in file
 * order, are each validated (mapping_entry_mismatch) and then expanded like
 * host ids (prefix match on `present`) into *alts, one sorted strv per entry
 * (free each with strv_clear, then the array).  Errors, "hostpciN: " and
 * Proxmox's words first:
 *   -ENOENT  "PCI device mapping not found for '<name>'" (no such mapping,
 *            or no entry for this node);
 *   -EINVAL  "PCI device mapping invalid (hardware probably changed): ...";
 *   -ENODEV  "no PCI device found for '<path>'".
 */
int mapping_alternatives(const struct pci_mapping *m, const char *name,
			 unsigned hostpci_index, const struct strv *present,
			 struct strv **alts, size_t *n_alts, char **err);

#endif
