/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel modules through libkmod (like modprobe, without running it).
 * vfio-pci does not pull in vfio_iommu_type1, which QEMU needs too
 * (kernel-facts.md), so both are loaded explicitly; the reset ladder loads
 * vendor-reset.
 */
#ifndef VFIOHOOK_KMOD_H
#define VFIOHOOK_KMOD_H

#include <stdbool.h>

/*
 * Make sure module `name` is loaded (or built in).  Under a root other than
 * "/" nothing is loaded (a fake tree cannot load modules): it returns 0 and
 * says so at debug level.  Returns 0, or with *err naming the module and
 * the fix: -ENOENT when this kernel has no such module, else the error the
 * kernel gave (-EKEYREJECTED / -ENOKEY: a signature the kernel does not
 * trust under Secure Boot; -ENOEXEC: built for another kernel; ...).
 */
int kmod_ensure(const char *name, char **err);

/* True when module `name` is loaded: /sys/module/<name, '-' as '_'>. */
bool kmod_loaded(const char *name);

/*
 * True when this kernel has module `name` (modules.dep, or built in),
 * loaded or not.  Under a root other than "/": the same as kmod_loaded().
 */
bool kmod_available(const char *name);

#endif
