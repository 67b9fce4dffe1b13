/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device interrupts (kernel-facts.md "CPUs and IRQs"): vfio-pci names the
 * interrupts of a passed-through device in /proc/interrupts
 * "vfio-msix[N](BDF)" or "vfio-msi[N](BDF)" once the guest's driver enables
 * them (seconds after the VM starts, and again when it reloads); they are
 * steered with /proc/irq/<irq>/smp_affinity_list.
 */
#ifndef VFIOHOOK_IRQ_H
#define VFIOHOOK_IRQ_H

#include <stddef.h>

#include "base/cpuset.h"
#include "base/util.h"

struct vfio_irq {
	unsigned irq;
	char bdf[16];  /* "0000:01:00.0" */
	char name[48]; /* "vfio-msix[3](0000:01:00.0)" */
};

/*
 * The vfio MSI and MSI-X interrupts in the text of /proc/interrupts whose
 * device is in bdfs (pure; fuzzed).  Lines of another shape are skipped.
 * *out is freed with free().
 */
int irq_parse_vfio(const char *text, const struct strv *bdfs, struct vfio_irq **out,
		   size_t *n);
/* The same, reading /proc/interrupts under the host root. */
int irq_list_vfio(const struct strv *bdfs, struct vfio_irq **out, size_t *n);

int irq_affinity(unsigned irq, struct cpuset *out);
int irq_set_affinity(unsigned irq, const struct cpuset *set, char **err);

#endif
