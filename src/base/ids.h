/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one place for the rules on the two kinds of names vfiohook passes
 * around: PCI addresses as sysfs spells them ("0000:01:00.0") and Proxmox
 * VM ids.  Pure functions.  (Proxmox's own, looser host id syntax in
 * hostpciN values, "01:00" without domain or function, is pve/hostpci.h.)
 */
#ifndef VFIOHOOK_IDS_H
#define VFIOHOOK_IDS_H

#include <stdbool.h>

/* Proxmox VM ids: 100..999999999 (PVE::JSONSchema pve-vmid); lower
 * numbers are reserved, but a positive number still names a file. */
#define VMID_MIN 100u
#define VMID_MAX 999999999u

/* "100" -> 100: decimal digits only, no leading zero, 1..VMID_MAX.
 * Returns 0 or -EINVAL. */
int vmid_parse(const char *s, unsigned *vmid);

/*
 * Parse "DDDD:BB:DD.F" (hex, case-insensitive; the domain has 4 to 8
 * digits, VMD domains have 5), device 00-1f, function 0-7.  Any of the
 * out pointers may be NULL.  Returns 0 or -EINVAL.
 */
int bdf_parse(const char *s, unsigned *domain, unsigned *bus, unsigned *dev,
	      unsigned *func);

/* True when s is a PCI address exactly as sysfs names it: lowercase hex,
 * a domain of 4 to 6 digits (so it fits struct pdev's bdf[16]). */
bool bdf_canonical(const char *s);

#endif
