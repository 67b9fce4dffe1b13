/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PCI device inventory: libpci (pointed at <root>/sys/bus/pci) for the
 * identity and the names from pci.ids, plain sysfs reads for what libpci
 * does not offer cheaply (driver, IOMMU group, driver_override, reset,
 * NUMA node, boot_vga).  kernel-facts.md, "Devices" and "IOMMU group
 * viability".
 *
 * libpci's error handler must never return (the default one calls
 * exit(1)); ours jumps back to the inventory call that was running, which
 * then reports -EIO with the library's message (inventory_error()), so a
 * malformed or changing sysfs tree can never end the process.
 *
 * Every function returns 0 or a negative errno.  Nothing here logs above
 * debug level except a skipped directory entry (warning).
 */
#ifndef VFIOHOOK_INVENTORY_H
#define VFIOHOOK_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

enum {
	INV_NAMES = 1,	 /* vendor/device/class names via pci_lookup_name from pci.ids */
	INV_SUBSYS = 2,	 /* subsystem vendor and device ids */
	INV_DETAILS = 4, /* inventory_scan only: override, reset, numa_node, boot_vga
			  * (inventory_get always fills them) */
};

struct pdev {
	char bdf[16]; /* "0000:01:00.0" */
	unsigned domain, bus, dev, func;
	unsigned vendor, device, sub_vendor, sub_device; /* sub_* only with INV_SUBSYS */
	unsigned class_code; /* 24-bit: class<<16|subclass<<8|progif, as sysfs "class" */
	char *driver;	     /* basename of the driver link, NULL when unbound */
	char *override;	     /* driver_override; NULL when "(null)", empty or absent */
	int group;	     /* IOMMU group number, -1 when none (no IOMMU) */
	bool bridge;	     /* has a pci_bus/ directory */
	bool vfio_dev;	     /* has vfio-dev/ (vfio-pci or a vfio variant driver) */
	char *reset_method;  /* content of reset_method, NULL when absent */
	bool has_reset;	     /* the reset file exists */
	int numa_node;	     /* -1 when unknown */
	int boot_vga;	     /* -1 absent, 0, 1 */
	/* only with INV_NAMES; NULL when pci.ids does not know the id */
	char *vendor_name, *device_name, *class_name;
	/* inventory_scan only: libpci could not read the device (it vanished
	 * or its sysfs directory is incomplete).  The ids are 0 then, the
	 * sysfs fields (driver, group, ...) are still filled. */
	char *error;
};

struct inventory;

/*
 * Set libpci up on <root>/sys/bus/pci (host.h must be set up first) with
 * our error/warning/debug handlers and the system pci.ids (names never come
 * from udev's hwdb: fast and independent of the root).  On failure *err (if
 * not NULL) gets a message.
 */
int inventory_open(struct inventory **out, char **err);
void inventory_close(struct inventory *inv);
/* The message of the last libpci error (after -EIO), or NULL. */
const char *inventory_error(const struct inventory *inv);

/* Sorted BDF names present under <root>/sys/bus/pci/devices (readdir only).
 * Entries that are not a BDF are skipped. -ENOENT if the directory is missing. */
int inventory_list(struct strv *out);

/*
 * One device, without scanning the bus (the cost of `plan` must not grow
 * with the host's device count).  Fills everything but the names (with
 * INV_NAMES) and the subsystem ids (with INV_SUBSYS).  Returns -EINVAL for
 * a malformed BDF, -ENOENT when absent, -EIO when libpci cannot read it
 * (inventory_error() says why).  *out is freed with pdev_free().
 */
int inventory_get(struct inventory *inv, const char *bdf, unsigned flags,
		  struct pdev **out);

/*
 * Every device, sorted by domain/bus/device/function, for `groups`.  Per
 * device: ids and class from libpci, driver and group links, bridge and
 * vfio-dev; names with INV_NAMES, subsystem ids with INV_SUBSYS, the rest
 * with INV_DETAILS.  A device libpci cannot read is still listed, with
 * ->error set.  *out is freed with pdev_freev().
 */
int inventory_scan(struct inventory *inv, unsigned flags, struct pdev ***out, size_t *n);

/* A memory or I/O region (BAR) a device decodes, as the kernel assigned it. */
struct pdev_bar {
	unsigned index;		       /* BAR number, 0..5 */
	unsigned long long start, end; /* inclusive, host physical (mem) or port (io) */
	bool mem;		       /* memory space (else I/O ports) */
};

/*
 * The regions of device bdf with a non-zero size, from libpci (which reads
 * the sysfs `resource` file), at most 6, in BAR order, into out[6].  Used
 * to find a firmware framebuffer sitting on a BAR (/proc/iomem).  Returns
 * 0, -EINVAL for a malformed BDF, -EIO when libpci cannot read it.
 */
int inventory_bars(struct inventory *inv, const char *bdf, struct pdev_bar out[6],
		   size_t *n);

/* Members of IOMMU group g (readdir /sys/kernel/iommu_groups/<g>/devices),
 * sorted.  -ENOENT when the group does not exist. */
int inventory_group_members(int group, struct strv *out);

/*
 * The device as lspci names it, with the vendor's company suffix dropped
 * ("NVIDIA TU106 [GeForce RTX 2060]", "Intel I350 Gigabit Network
 * Connection", "AMD/ATI Navi 10 [Radeon RX 5600 OEM/5600 XT / 5700/5700 XT]");
 * a device pci.ids lacks by its vendor and class ("Samsung Electronics
 * Non-Volatile memory controller"), or its class alone ("SATA controller");
 * "PCI device" when nothing is known.  Needs the names (INV_NAMES).
 * Allocated.
 */
char *pdev_name(const struct pdev *d);

void pdev_free(struct pdev *d);
DEFINE_CLEANUP_FUNC(struct pdev *, pdev_free)
DEFINE_CLEANUP_FUNC(struct inventory *, inventory_close)
void pdev_freev(struct pdev **v, size_t n);

#endif
