/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside usage: the context every part shares and the helpers they use.
 * Not for other modules (usage.h is the API).  The parts, each in its own
 * file, in the order they depend on each other:
 *   usage_core.c    reason lists, sysfs helpers, /sys/class sets, tree walks
 *   usage_proc.c    the /proc/PID/fd scan: who has a device node open
 *   usage_block.c   disks: mounts, swap, holders (LVM, md, dm-crypt), ZFS, btrfs
 *   usage_net.c     network interfaces: addresses, bridges and bonds, the
 *                   node's own network
 *   usage_dev.c     the console, DRM nodes, VFIO groups and devices
 *   usage_nvidia.c  the NVIDIA driver's device nodes
 *   usage.c         the context and usage_check, which asks every part
 */
#ifndef VFIOHOOK_USAGE_INT_H
#define VFIOHOOK_USAGE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"
#include "pci/usage.h"

struct mnt {
	unsigned maj, min;
	char *point;
	char *fstype;
	char *source;
};

/* One entry of a /sys/class directory with its resolved path. */
struct cls {
	char *name;
	char *real;
};

struct clsset {
	bool loaded;
	struct cls *v;
	size_t n;
};

/* An open file of interest: /dev/vfio/..., /dev/dri/..., /dev/nvidia... */
struct fdhit {
	int pid;
	char *target;
};

struct ifaddr_ent {
	char *ifname;
	char *addr;  /* as shown: "192.0.2.1", or "192.168.0.0/24" when subnet */
	bool subnet; /* the fake-root route heuristic: an address in this subnet */
	int family;  /* AF_INET or AF_INET6 */
	unsigned char bytes[16];
	unsigned plen; /* prefix length when subnet */
};

struct node_addr {
	char *addr; /* as given */
	int family;
	unsigned char bytes[16];
	char *why; /* "pve1 in /etc/hosts" */
};

struct usage_ctx {
	/* usage_block.c */
	struct mnt *mnt;
	size_t nmnt;
	struct strv swaps;     /* Filename column of /proc/swaps */
	struct strv swaptypes; /* Type column: partition, file */
	struct clsset block;
	/* usage_net.c */
	struct clsset net;
	bool addrs_loaded;
	struct ifaddr_ent *addrs;
	size_t naddrs;
	bool routes_loaded;
	struct strv default_route; /* interfaces with a default route */
	struct strv default_via;   /* the gateway of each, "" if none */
	struct node_addr *node;	   /* the node's own addresses (usage_add_node_address) */
	size_t nnode;
	/* usage_dev.c */
	struct clsset graphics, drm;
	/* usage_proc.c */
	bool fds_loaded;
	struct fdhit *fds;
	size_t nfds;
	/* usage_nvidia.c */
	bool nvidia_loaded;
	struct strv nvidia_gpus; /* BDFs the nvidia driver serves, sorted */
};

/* ---- usage_core.c ---- */

/* Append a reason with a formatted text. */
void usage_addf(struct usage_list *l, enum usage_kind kind, bool critical,
		const char *fmt, ...) _printf_(4, 5);
/* The content of dir/attr without trailing newline and blanks, or NULL. */
char *usage_read_at(const char *dir, const char *attr);
bool usage_exists_at(const char *dir, const char *attr);
const char *usage_basename(const char *p);
/* path lies strictly below dir ('/' boundary: .../01:00.1 is not below .../01:00.10) */
bool usage_below(const char *path, const char *dir);
/* Every entry of /sys/class/<name>, resolved once, sorted by name. */
struct clsset *usage_classes(struct clsset *c, const char *name);
void usage_clsset_clear(struct clsset *c);
bool usage_known_real(const struct clsset *c, const char *real);
/* "mountinfo and swaps escape ' ', '\t', '\n' and '\\' as \ooo" */
void usage_unescape_octal(char *s);

/*
 * A depth-first walk of a device's own sysfs subtree, for trees whose
 * /sys/class directories do not list everything below the device.  Links
 * are not followed.  The visitor gets each directory with the flag its
 * parent returned, and returns the flag for the directory's children, or
 * -1 to skip them.
 */
struct usage_walk {
	struct usage_ctx *u;
	const struct clsset *known; /* found through /sys/class already */
	struct usage_list *out;
	int (*visit)(struct usage_walk *w, const char *path, const char *name, int flag);
	int max_depth;
};
void usage_walk_tree(struct usage_walk *w, const char *dir, int depth, int flag);

/* ---- usage_proc.c ---- */

/*
 * A reason of kind for each process holding target open (each process
 * once): "<subject> is open by <process> (pid N)", with the VM of a
 * Proxmox QEMU, and, when hint is set, what to stop ("; stop it: ...").
 */
void usage_check_open(struct usage_ctx *u, const char *target, enum usage_kind kind,
		      const char *subject, bool hint, struct usage_list *out);
void usage_proc_free(struct usage_ctx *u);

/* ---- usage_block.c ---- */

int usage_block_load(struct usage_ctx *u); /* mountinfo (required) and swaps */
void usage_block_free(struct usage_ctx *u);
void usage_check_blocks(struct usage_ctx *u, const char *devreal, struct usage_list *out);

/* ---- usage_net.c ---- */

void usage_net_free(struct usage_ctx *u);
void usage_check_nets(struct usage_ctx *u, const char *devreal, struct usage_list *out);

/* ---- usage_dev.c ---- */

void usage_dev_free(struct usage_ctx *u);
void usage_check_console(struct usage_ctx *u, const struct pdev *d, const char *devreal,
			 struct usage_list *out);
void usage_check_drm(struct usage_ctx *u, const char *devreal, struct usage_list *out);
void usage_check_vfio_cdev(struct usage_ctx *u, const char *devreal,
			   struct usage_list *out);

/* ---- usage_nvidia.c ---- */

void usage_nvidia_free(struct usage_ctx *u);
void usage_check_nvidia(struct usage_ctx *u, const struct pdev *d,
			struct usage_list *out);

#endif
