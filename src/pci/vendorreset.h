/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The AMD reset bug and the out-of-tree module vendor-reset
 * (kernel-facts.md "The AMD reset bug and vendor-reset"): the one table of
 * the GPUs vendor-reset has a device-specific reset for, and of the AMD GPUs
 * it cannot help.  Pure functions of the PCI ids; everything that asks "does
 * this card need vendor-reset?" (the reset ladder, the doctor) asks here.
 *
 *   vendor_reset_generation(0x1002, 0x67df)  -> "Polaris 10"
 *   vendor_reset_supports(0x1002, 0x67df)    -> true
 *   vendor_reset_rdna2_or_newer(0x1002, 0x73bf, 0x030000) -> "Navi 21"
 *
 * The ids are those of vendor-reset's device table (Polaris 10/11/12,
 * Vega 10/20, Navi 10/12/14, MI100).  Navi 2x and later (RDNA2, RDNA3,
 * RDNA4) and APUs are not in it, and no vendor reset exists for them.
 */
#ifndef VFIOHOOK_VENDORRESET_H
#define VFIOHOOK_VENDORRESET_H

#include <stdbool.h>

#define VENDOR_RESET_AMD 0x1002u
/* The module as modprobe names it, and as /sys/module shows it. */
#define VENDOR_RESET_MODULE "vendor-reset"
#define VENDOR_RESET_SYSMODULE "vendor_reset"
/* Its misc device: ioctl VENDOR_RESET_IOCTL_RESET (vendorreset.c). */
#define VENDOR_RESET_DEV "/dev/vendor_reset"

/*
 * The GPU generation vendor-reset resets for vendor:device ("Polaris 10",
 * "Vega 10", "Navi 14", "MI100"), or NULL when vendor-reset does not know
 * the id.  Static string.
 */
const char *vendor_reset_generation(unsigned vendor, unsigned device);

/* True when vendor-reset has a device-specific reset for vendor:device. */
bool vendor_reset_supports(unsigned vendor, unsigned device);

/*
 * For an AMD GPU (vendor 0x1002, display class 0x03) of RDNA2 or newer
 * (Navi 21/22/23/24, Navi 31/32/33, Navi 44/48), for which no vendor reset
 * exists: its generation ("Navi 21").  NULL for anything else, including
 * those cards' audio and USB functions, which reset normally.
 */
const char *vendor_reset_rdna2_or_newer(unsigned vendor, unsigned device,
					unsigned class_code);

/*
 * Reset the device through /dev/vendor_reset's ioctl (type PCI).  fd is
 * the open device.  Returns 0 or -errno as the module gives it: -EAGAIN
 * while the device is locked (the caller retries), -ENOTTY while amdgpu
 * still drives the card, -EOPNOTSUPP when the module does not know the id,
 * -ENODEV when there is no such device.
 */
int vendor_reset_ioctl(int fd, unsigned domain, unsigned bus, unsigned devfn);

#endif
