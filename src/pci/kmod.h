/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel modules through libkmod (like modprobe, without running it).
 * vfio-pci does not pull in vfio_iommu_type1, which QEMU needs too
 * (kernel-facts.md), so both are loaded explicitly.
 *
 * libkmod's own messages go through our logger at debug level
 * (kmod_set_log_fn): what it could not do reaches the caller as an error
 * code and a message of ours.
 * (kernel-facts.md), so both are loaded explicitly; the reset ladder loads
 * vendor-reset.
 */
#ifndef VFIOHOOK_KMOD_H
#define VFIOHOOK_KMOD_H

#include "base/util.h"
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

/*
 * Read-only questions about modules, for the doctor: is a module loaded,
 * built in, installed for the running kernel, or missing?  The module index
 * read is <root>/lib/modules/<release> (release from
 * <root>/proc/sys/kernel/osrelease, which is `uname -r` on a real host),
 * and the modprobe.d configuration under the root, so a fake tree answers
 * for itself.
 */
enum kmod_state {
	KMOD_STATE_MISSING,   /* neither loaded, built in nor installed */
	KMOD_STATE_AVAILABLE, /* installed (a .ko for this kernel), not loaded */
	KMOD_STATE_BUILTIN,   /* built into the kernel */
	KMOD_STATE_LOADED,    /* loaded (/sys/module/NAME/initstate) */
};
const char *kmod_state_name(enum kmod_state s);

struct kmod_db;

/*
 * Open the module index of the running kernel.  Fails with -errno and *err
 * naming the directory and the fix (`depmod -a`) when the release is
 * unknown or libkmod cannot load the index (kmod_load_resources()).  *out
 * is freed with kmod_db_close(), also after an error (it may be NULL).
 */
int kmod_db_open(struct kmod_db **out, char **err);
void kmod_db_close(struct kmod_db *db);
/* The directory the index was read from, "/lib/modules/6.8.12-4-pve" (no root prefix). */
const char *kmod_db_dir(const struct kmod_db *db);

/*
 * The state of module `name` ("vfio-pci" and "vfio_pci" are the same).
 * db may be NULL (no index): then only LOADED, BUILTIN (from
 * /sys/module/NAME) or -ENOENT (unknown) can be told.  With path non-NULL,
 * *path gets the module file of an AVAILABLE module
 * ("/lib/modules/6.8.12-4-pve/updates/dkms/vendor-reset.ko", without the
 * root prefix), else NULL.
 * Returns 0 or -ENOENT (db NULL and not in /sys/module).
 */
int kmod_db_state(struct kmod_db *db, const char *name, enum kmod_state *state,
		  char **path);
/* True when module `name` is loaded: /sys/module/<name, '-' as '_'>. */
bool kmod_loaded(const char *name);

/*
 * True when this kernel has module `name` (modules.dep, or built in),
 * loaded or not.  Under a root other than "/": the same as kmod_loaded().
 */
bool kmod_available(const char *name);

#endif
