/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hostpciN values of a Proxmox VM config: parsed and validated with
 * qemu-server's schema (PVE/QemuServer/PCI.pm, $hostpci_fmt) and expanded
 * against the devices present the way PVE::SysFSTools::lspci() matches them
 * (proxmox-facts.md, "hostpciN").
 */
#ifndef VFIOHOOK_HOSTPCI_H
#define VFIOHOOK_HOSTPCI_H

#include <stdbool.h>

#include "base/util.h"

#define HOSTPCI_MAX 16

struct hostpci {
	unsigned index; /* N of hostpciN */
	unsigned line;	/* config line, 0 if unknown */
	/* host ids as written ("01:00.0", "0000:01:00"), ';' list split; lowercase
	 * hex only (Proxmox rejects uppercase); empty when mapping is used */
	struct strv host;
	char *mapping; /* mapping name or NULL (exclusive with host) */
	int pcie, rombar, x_vga, legacy_igd; /* -1 unset, 0, 1 (rombar: unset means 1) */
	char *romfile;			     /* relative to /usr/share/kvm/, or NULL */
	char *mdev;			     /* mediated device type, or NULL */
	int vendor_id, device_id, sub_vendor_id,
	    sub_device_id; /* -1 unset, else 0..0xffff */
	bool driver_keep;  /* driver=keep (PVE >= 9.0.25): neither reset nor bound */
	/* resolved full BDFs ("0000:01:00.0") in Proxmox's order: filled by
	 * hostpci_expand or the mapping's chosen alternative (engine/observe.c) */
	struct strv devs;
};

/*
 * Parse the value of hostpciN.  The schema is Proxmox's: a bare first
 * element is `host`; `host` and `mapping` are exclusive and one is needed;
 * host ids [dddd:]bb:dd[.f] (lowercase hex, domain of 4 or more digits)
 * joined by ';'; mapping [a-zA-Z][a-zA-Z0-9_-]+ (pve-configid); pcie,
 * rombar, x-vga, legacy-igd booleans; romfile a file under /usr/share/kvm/
 * (no ',' ';' and no ".." component or leading '/'); mdev [^/.:]+;
 * vendor-id, device-id, sub-vendor-id, sub-device-id "0x" + 4 hex digits;
 * driver vfio|keep.  Unknown or duplicate keys are errors.
 *
 * Error messages name the key and value and the expected form, but not
 * "hostpciN" or the config line: vm_from_conf() puts them in front.
 */
int hostpci_parse(const char *value, unsigned index, struct hostpci **out, char **err);
void hostpci_free(struct hostpci *h);

/* Is id a valid Proxmox host PCI id ([dddd:]bb:dd[.f], lowercase)? */
bool hostpci_id_valid(const char *id);
/* "01:00.0" -> "0000:01:00.0"; ids with a domain are copied. */
char *hostpci_id_normalize(const char *id);
/* Append to out every entry of present (sorted) that id (normalized) is a
 * prefix of, as SysFSTools::lspci($filter) returns them; a device already
 * in out is appended again, as PCI.pm parse_hostpci concatenates.
 * Returns the number of matches. */
size_t hostpci_match(const char *id, const struct strv *present, struct strv *out);
/*
 * Add to `present` (sorted) the devices under /sys/bus/pci/devices that the
 * id can match, found by probing at most 8 names: the same result as
 * matching against a full listing, at a cost that does not grow with the
 * number of devices on the host.
 */
void hostpci_probe_present(const char *id, struct strv *present);

/*
 * Expand h->host against the devices present (full BDF names as in
 * /sys/bus/pci/devices, any order) into h->devs: an id without domain gets
 * "0000:", each id is a prefix ("01:00" -> every 0000:01:00.*), each id's
 * results sorted and appended in the order of the ids, a device named twice
 * kept twice (Proxmox refuses it: "assigned more than once").  An id matching nothing is
 * an error "hostpciN: no PCI device found for '<id>'" with a hint.  For an entry that
 * uses a mapping, use mapping_alternatives() instead (-EINVAL here).
 */
int hostpci_expand(struct hostpci *h, const struct strv *present, char **err);

#endif
