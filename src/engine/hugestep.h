/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hugepages kind of step (run.h), journal section "hugepages", one
 * entry per pool the VM's start touches ("node1/2048kB"): every node of
 * every page size the VM uses, so that post-stop can put each pool back as
 * it was before pre-start, also after Proxmox set the system-wide pool back
 * to its boot value right after QEMU started (proxmox-facts.md).
 *
 *   apply   under Proxmox's own /var/lock/hugepages.lck (taken by the
 *           caller for all steps): note the pool's size, raise it so the
 *           node has the pages free that the VM needs, read back; where it
 *           came up short, compact the node and write again, a bounded
 *           number of times (see hugestep.c for what helps and why); still
 *           short: fail with the numbers and the boot-time remedy
 *           (hp_remedy()); the caller's rollback puts every pool back
 *   verify  the pages are still free
 *   undo    the pool back to what it was: free pages only (pages in use
 *           stay; the kernel frees them with their user), not at all after
 *           a run with keephugepages, raised again where Proxmox shrank it
 *
 * Pages other VMs' pre-starts reserved, whose QEMU has not taken them yet,
 * are not counted as free: Proxmox allocates only after pre-start and does
 * not hold its lock in between.
 */
#ifndef VFIOHOOK_HUGESTEP_H
#define VFIOHOOK_HUGESTEP_H

#include "engine/resources.h"
#include "engine/run.h"

extern const struct step_kind hp_step_kind;

/* The kernel operations the kind uses (sys/hugetlb.h); unit tests replace
 * them with a fake kernel that grants what they say. */
struct hp_ops {
	int (*read)(int node, unsigned long kb, struct hugetlb_pool *out);
	int (*write_nr)(int node, unsigned long kb, long nr, char **err);
	int (*compact)(unsigned node, char **err);
	int (*drop_caches)(char **err);
};
/* NULL: the real ones. */
void hp_step_set_ops(const struct hp_ops *o);

/* The pre-start steps for rp's pools (its journal entries are made in r->j
 * first, kept when a resumed start finds them).  Returns the number of
 * steps added. */
size_t hp_prestart_steps(struct run *r, const struct res_plan *rp, struct steps *out);

/* The undo steps for the journal's hugepage entries (newest first). */
size_t hp_undo_steps(struct run *r, struct steps *out);

/* What to put on the kernel command line so the pools exist from boot:
 * "hugepagesz=1G hugepages=0:2,1:2 hugepagesz=2M hugepages=1:512". */
char *hp_remedy(const struct res_plan *rp);

#endif
