/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's hugepage pools (kernel-facts.md "Hugepages";
 * admin-guide/mm/hugetlbpage.rst), all paths under the host root:
 *
 *   /sys/kernel/mm/hugepages/hugepages-<kB>kB/{nr,free,surplus}_hugepages
 *   /sys/devices/system/node/node<N>/hugepages/hugepages-<kB>kB/...
 *
 * Writing nr_hugepages asks the kernel to grow or shrink a pool; it may
 * allocate fewer pages than asked (fragmentation; a 1 GiB write on a small
 * node "succeeds" with the count unchanged), so callers always read back.
 * Shrinking below the pages in use turns those into surplus pages, freed
 * when their user lets go.
 *
 * Functions return 0 or -errno; those that write pass a message out through
 * *err naming the file.  Nothing here logs above debug level.
 */
#ifndef VFIOHOOK_HUGETLB_H
#define VFIOHOOK_HUGETLB_H

#include <stdbool.h>

/* node for the system-wide pool */
#define HUGETLB_ALL_NODES (-1)

struct hugetlb_pool {
	long nr;      /* nr_hugepages: the persistent pool */
	long free;    /* free_hugepages */
	long surplus; /* surplus_hugepages */
};

/* The kernel offers pages of kb (the size directory exists). */
bool hugetlb_size_exists(unsigned long kb);
/* /sys/devices/system/node/node<N> exists. */
bool hugetlb_node_exists(unsigned node);
/* The NUMA nodes present, ascending (node<N> directories). */
int hugetlb_nodes(unsigned **out, unsigned *n);

/* Read one pool (node >= 0) or the system-wide one (HUGETLB_ALL_NODES). */
int hugetlb_read(int node, unsigned long kb, struct hugetlb_pool *out);
/* Write nr_hugepages of one pool; the caller reads back what it got. */
int hugetlb_write_nr(int node, unsigned long kb, long nr, char **err);

/* MemFree of a node in kB (its meminfo), or -errno. */
int hugetlb_node_memfree(unsigned node, long long *kb);

/* Ask the kernel to compact one node's memory (node<N>/compact). */
int hugetlb_compact(unsigned node, char **err);
/* sync, then drop clean page cache, dentries and inodes
 * (/proc/sys/vm/drop_caches = 3).  sync(2) only on the real host. */
int hugetlb_drop_caches(char **err);

#endif
