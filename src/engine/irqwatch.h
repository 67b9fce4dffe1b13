/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Interrupt steering (policy irq): the passed-through devices' vfio-msi and
 * vfio-msix interrupts go to the VM's CPUs.  They appear in /proc/interrupts
 * only when the guest's driver enables them, seconds after post-start (and
 * again when it reloads), so post-start steers what is there and leaves a
 * small detached watcher that polls for the rest: it exits when the VM's
 * QEMU ends, or after IRQWATCH_SECONDS at most.
 *
 * Nothing is journaled: vfio frees the interrupts when QEMU lets the
 * device go, and the next ones start from the kernel's default affinity.
 */
#ifndef VFIOHOOK_IRQWATCH_H
#define VFIOHOOK_IRQWATCH_H

#include <sys/types.h>

#include "base/cpuset.h"
#include "base/util.h"

#define IRQWATCH_SECONDS 300
#define IRQWATCH_POLL_MS 500

/* Steer bdfs' vfio interrupts not yet on cpus.  Returns how many were
 * steered, or -errno with *err (the first write that failed). */
int irq_steer(const struct strv *bdfs, const struct cpuset *cpus, char **err);

/* Leave the watcher (double fork, own session, no descriptor of ours; its
 * messages go to syslog).  Returns 0 once it is on its way, or -errno. */
int irqwatch_start(unsigned vmid, pid_t qemu, const struct strv *bdfs,
		   const struct cpuset *cpus, unsigned seconds, char **err);

#endif
