/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who uses a PCI device: the reasons the host (or another VM) still needs
 * it, so that taking it for a VM would harm the host (kernel-facts.md, "Who
 * is using a device").  Read-only: nothing here writes anywhere.
 *
 * "Below the device" means: the sysfs directory of a block device, network
 * interface, framebuffer or DRM node, with its links resolved, lies below
 * the device's resolved sysfs directory (a '/' boundary, any depth: an NVMe
 * namespace, a SATA disk behind an AHCI controller, a USB stick behind an
 * xHCI controller or a bridge all count).
 *
 * What each reason looks at:
 * - MOUNT: every block device below (disks and partitions) by the
 *   major:minor of its "dev" file in /proc/self/mountinfo, or by the mount's
 *   source /dev/NAME (btrfs shows an anonymous 0:N there); a further device
 *   of a mounted multi-device btrfs by /sys/fs/btrfs/<fsid>/devices/NAME
 *   (its mount: the btrfs mount whose source device is listed there too).
 * - SWAP: /proc/swaps device entries, by name (/dev/NAME, or
 *   /dev/mapper/NAME against a dm device's dm/name); a swap file by the
 *   mount it lies on (the longest mount point that prefixes its path).
 * - HOLDER: a non-empty holders/ (dm, md, LVM, bcache); the holder is
 *   named (LVM volume, dm name, RAID) and followed, so a disk that carries
 *   the LVM root says "... which is mounted at / (the host's root
 *   filesystem)".
 * - ZFS: best effort, from udev's database (/run/udev/data/bMAJ:MIN,
 *   ID_FS_TYPE=zfs_member and the pool name in ID_FS_LABEL): a member of a
 *   pool that is imported (/proc/spl/kstat/zfs/POOL exists) or mounted (a
 *   zfs mount whose source is POOL or POOL/...) is in use.  Without udev
 *   data a ZFS member is not detected.
 * - NET_ADDR: an interface below with a non-link-local address, whatever
 *   its link state (a configured NIC with its cable out is still the
 *   host's), or one that carries a default route (<root>/proc/net/route,
 *   <root>/proc/net/ipv6_route).  On the real host getifaddrs(3); under a
 *   fake root <root>/proc/net/if_inet6 (global scope) and, for IPv4,
 *   interfaces that own a directly connected route (gateway 0.0.0.0) in
 *   <root>/proc/net/route.
 * - NET_MASTER: an interface below enslaved to a bridge or bond (its
 *   "master" link), and a bond's own bridge.
 * - CONSOLE: boot_vga=1 and a framebuffer bound to it: an fb below the
 *   device, or a firmware framebuffer (efifb, simplefb, vesafb), which sits
 *   on the boot display.
 * - DRM_OPEN, VFIO_OPEN: a process (named by comm and pid) has the
 *   device's /dev/dri/cardN or renderDN, its /dev/vfio/GROUP or its
 *   /dev/vfio/devices/vfioN open; for a QEMU started by Proxmox ("-id N" on
 *   its command line) other_vmid is N.  On the real host our own process is
 *   skipped; processes whose fds we may not read are skipped (run as root).
 * - NVIDIA_OPEN: for a device on the nvidia driver, a process that has its
 *   /dev/nvidiaN open (N: "Device Minor:" in
 *   /proc/driver/nvidia/gpus/<bdf>/information, else the device's place in
 *   the driver's list of GPUs), or, while it is the only GPU the nvidia
 *   driver serves, /dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia-uvm-tools
 *   or /dev/nvidia-modeset (nvidia-persistenced, a transcoder, a container).
 *   The text says what to stop.  The nvidia driver waits for its clients
 *   when unbound: taking the device would hang, not just hurt.
 *
 * Critical reasons (->critical): what the host cannot run without, which no
 * policy may take — the root filesystem and what it sits on (partition,
 * LVM, md, dm-crypt, the ZFS pool mounted at /), active swap (a partition,
 * a volume, or the filesystem a swap file lies on), and the network of the
 * node's own address: an interface, or the bridge or bond it is part of,
 * that carries the default route or an address usage_add_node_address()
 * named.
 */
#ifndef VFIOHOOK_USAGE_H
#define VFIOHOOK_USAGE_H

#include <stddef.h>

#include "pci/inventory.h"

enum usage_kind {
	USAGE_MOUNT,
	USAGE_SWAP,
	USAGE_HOLDER,
	USAGE_ZFS,
	USAGE_NET_ADDR,
	USAGE_NET_MASTER,
	USAGE_CONSOLE,
	USAGE_DRM_OPEN,
	USAGE_VFIO_OPEN,
	USAGE_RESERVED, /* filled by the caller from Proxmox's reservations */
	USAGE_NVIDIA_OPEN,
};

struct usage_reason {
	enum usage_kind kind;
	/* a human sentence, e.g. "its disk nvme0n1 (partition nvme0n1p2) is
	 * mounted at / (the host's root filesystem)" */
	char *what;
	unsigned other_vmid; /* VFIO_OPEN by a QEMU of a VM ("-id N"), else 0 */
	int pid;	     /* DRM_OPEN, VFIO_OPEN, NVIDIA_OPEN: the process, else 0 */
	bool critical;	     /* the host cannot run without it (see above) */
};

struct usage_list {
	struct usage_reason *v;
	size_t n;
};

struct usage_ctx;

/*
 * Read /proc/self/mountinfo and /proc/swaps under the root once; the
 * sysfs class directories, network addresses and the /proc/PID/fd scan
 * are read lazily, once, when a check first needs them.  Fails (-errno)
 * only when mountinfo cannot be read: without it nothing can be proven
 * unused.
 */
int usage_open(struct usage_ctx **out);
void usage_close(struct usage_ctx *u);
DEFINE_CLEANUP_FUNC(struct usage_ctx *, usage_close)

/*
 * The node's own address (the one its name resolves to, its corosync ring
 * address): an interface that carries it, and the bridge or bond above
 * such an interface, is critical.  why says where it comes from ("pve1 in
 * /etc/hosts").  An address that does not parse is ignored.
 */
void usage_add_node_address(struct usage_ctx *u, const char *addr, const char *why);

/* A short name for a kind ("mount", "swap", ... "reserved"), for JSON. */
const char *usage_kind_name(enum usage_kind kind);

/*
 * Append to out every reason the device d is in use (see above), including
 * its open VFIO group.  Returns 0 (out may stay empty) or a negative errno
 * when the device's sysfs directory cannot be resolved.
 */
int usage_check(struct usage_ctx *u, const struct pdev *d, struct usage_list *out);

/* Append a reason for every process that has /dev/vfio/<group> open. */
int usage_check_vfio_group(struct usage_ctx *u, int group, struct usage_list *out);

/* Append a reason (what is copied, not critical); for callers adding
 * USAGE_RESERVED. */
void usage_list_add(struct usage_list *l, enum usage_kind kind, const char *what,
		    unsigned other_vmid, int pid);
void usage_list_clear(struct usage_list *l);

#endif
