/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel modules through libkmod (like modprobe, without running it).
 * vfio-pci does not pull in vfio_iommu_type1, which QEMU needs too
 * (kernel-facts.md), so both are loaded explicitly.
 */
#ifndef VFIOHOOK_KMOD_H
#define VFIOHOOK_KMOD_H

/*
 * Make sure module `name` is loaded (or built in).  Under a root other than
 * "/" nothing is loaded (a fake tree cannot load modules): it returns 0 and
 * says so at debug level.  Returns 0 or -errno with *err naming the module
 * and the fix.
 */
int kmod_ensure(const char *name, char **err);

#endif
