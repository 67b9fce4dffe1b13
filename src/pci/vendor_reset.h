/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The AMD GPUs with the reset bug that the out-of-tree module vendor-reset
 * (github.com/gnif/vendor-reset) handles: Polaris, Vega and Navi 1x do not
 * reset by FLR, so after their VM stops they hang until the host reboots
 * unless vendor-reset's device-specific reset is used (kernel-facts.md,
 * "The AMD reset bug and vendor-reset").  Navi 2x and later and APUs are
 * not supported by it.  The one table of these ids: the doctor and the
 * reset ladder both use it.
 */
#ifndef VFIOHOOK_VENDOR_RESET_H
#define VFIOHOOK_VENDOR_RESET_H

#include <stdbool.h>

#define VENDOR_RESET_MODULE "vendor-reset"
#define PCI_VENDOR_AMD_ATI 0x1002

/* The family ("Polaris 10", "Vega 10", "Navi 14", ...) when vendor-reset
 * supports vendor:device, else NULL.  Pure. */
const char *vendor_reset_family(unsigned vendor, unsigned device);

#endif
