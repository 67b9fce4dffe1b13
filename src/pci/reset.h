/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Resetting a device after its VM stopped, only where it helps
 * (kernel-facts.md "Reset"): vfio-pci already resets a device with FLR
 * (or whatever method works) when QEMU closes it, so `reset = auto` adds
 * a reset only for a device-specific method (vendor-reset) or a bus reset
 * for a device without FLR whose bus holds nothing but this VM's devices.
 */
#ifndef VFIOHOOK_RESET_H
#define VFIOHOOK_RESET_H

#include "base/util.h"

enum reset_mode {
	RESET_AUTO,    /* only where it helps (see above) */
	RESET_OFF,     /* never */
	RESET_METHODS, /* these reset_method names, in this order */
};

/*
 * Reset bdf per mode (methods: space-separated, for RESET_METHODS).  `ours` lists every
 * device of this VM (a bus reset resets every device behind the bridge, so all must be
 * ours and idle).  *note (allocated, also on failure) says what was done or why no reset
 * was needed ("reset by bus").  Returns 0 when reset or when no reset was needed, -errno
 * with *err when a reset was tried and failed or the device does not answer afterwards.
 */
int reset_device(const char *bdf, enum reset_mode mode, const char *methods,
		 const struct strv *ours, char **note, char **err);

/* The device answers config reads (vendor != 0xffff) and is in D0. */
int reset_verify(const char *bdf, char **err);

#endif
