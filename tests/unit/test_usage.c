// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/host.h"
#include "base/log.h"
#include "fixture.h"
#include "pci/inventory.h"
#include "pci/usage.h"

struct env {
	struct fx *fx;
	struct inventory *inv;
	struct usage_ctx *u;
};

/* Build the root; mountinfo/swaps (if not NULL) before usage_open reads them. */
static struct env *env_new(const char *spec, const char *mountinfo, const char *swaps)
{
	struct env *e = calloc(1, sizeof(*e));
	char *err = NULL;

	e->fx = fx_new(NULL);
	assert_int_equal(fx_spec(e->fx, spec), 0);
	if (mountinfo)
		assert_int_equal(fx_file(e->fx, "/proc/self/mountinfo", mountinfo), 0);
	if (swaps)
		assert_int_equal(fx_file(e->fx, "/proc/swaps", swaps), 0);
	assert_int_equal(host_setup(fx_root(e->fx), "pve1"), 0);
	assert_int_equal(inventory_open(&e->inv, &err), 0);
	assert_int_equal(usage_open(&e->u), 0);
	return e;
}

static void env_free(struct env *e)
{
	usage_close(e->u);
	inventory_close(e->inv);
	host_cleanup();
	fx_free(e->fx, 0);
	free(e);
}

/* usage_check of one device into l (cleared first) */
static void check(struct env *e, const char *bdf, struct usage_list *l)
{
	struct pdev *d = NULL;

	usage_list_clear(l);
	assert_int_equal(inventory_get(e->inv, bdf, 0, &d), 0);
	assert_int_equal(usage_check(e->u, d, l), 0);
	pdev_free(d);
}

/* Index of the first reason of kind whose text contains every needle, or -1. */
static int find(const struct usage_list *l, enum usage_kind kind, const char *n1,
		const char *n2)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].kind != kind)
			continue;
		if (n1 && !strstr(l->v[i].what, n1))
			continue;
		if (n2 && !strstr(l->v[i].what, n2))
			continue;
		return (int)i;
	}
	return -1;
}

static void dump(const struct usage_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		print_message("  [%s] %s\n", usage_kind_name(l->v[i].kind), l->v[i].what);
}

#define NVME_SPEC                                                                        \
	"dev 0000:05:00.0 vendor=144d device=a808 class=010802 group=20 driver=nvme\n"   \
	"block 0000:05:00.0 nvme/nvme0/nvme0n1 259:0\n"                                  \
	"block 0000:05:00.0 nvme/nvme0/nvme0n1/nvme0n1p1 259:1\n"                        \
	"block 0000:05:00.0 nvme/nvme0/nvme0n1/nvme0n1p2 259:2\n"                        \
	"block 0000:05:00.0 nvme/nvme0/nvme0n1/nvme0n1p3 259:3\n"                        \
	"dev 0000:06:00.0 vendor=144d device=a808 class=010802 group=21 driver=nvme\n"   \
	"block 0000:06:00.0 nvme/nvme1/nvme1n1 259:4\n"                                  \
	"block 0000:06:00.0 nvme/nvme1/nvme1n1/nvme1n1p1 259:5\n"

static void test_root_partition_and_swap(void **state)
{
	struct env *e = env_new(
	    NVME_SPEC,
	    "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro\n"
	    "25 22 259:1 / /boot/efi rw,relatime shared:7 master:3 - vfat /dev/nvme0n1p1 rw\n"
	    "26 22 0:22 / /proc rw,nosuid shared:12 - proc proc rw\n",
	    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
	    "/dev/nvme0n1p3                          partition\t8388604\t\t0\t\t-2\n");
	struct usage_list l = {0};
	int i;

	(void)state;
	check(e, "0000:05:00.0", &l);
	dump(&l);
	i = find(&l, USAGE_MOUNT,
		 "its disk nvme0n1 (partition nvme0n1p2) is mounted at /",
		 "the host's root filesystem");
	assert_true(i >= 0);
	assert_int_equal(l.v[i].pid, 0);
	assert_int_equal(l.v[i].other_vmid, 0);
	assert_true(l.v[i].critical);
	/* /boot/efi is the host's, but the host runs without it: not critical */
	i = find(&l, USAGE_MOUNT, "partition nvme0n1p1", "/boot/efi");
	assert_true(i >= 0);
	assert_false(l.v[i].critical);
	i = find(&l, USAGE_SWAP, "partition nvme0n1p3) is in use as swap", NULL);
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	assert_int_equal(l.n, 3);

	/* the second, unmounted disk: not in use */
	check(e, "0000:06:00.0", &l);
	assert_int_equal(l.n, 0);
	usage_list_clear(&l);
	env_free(e);
}

/* btrfs reports an anonymous device number in mountinfo: match the source */
static void test_btrfs_root_by_source(void **state)
{
	struct env *e = env_new(
	    NVME_SPEC,
	    "22 1 0:31 /@root / rw,relatime shared:1 - btrfs /dev/nvme1n1p1 rw,ssd,subvol=/@root\n",
	    NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:06:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_MOUNT,
			 "partition nvme1n1p1) is mounted at / (the host's root",
			 NULL) >= 0);
	/* nvme0n1p1 is no prefix match of nvme1n1p1, and a name is no number */
	check(e, "0000:05:00.0", &l);
	assert_int_equal(l.n, 0);
	/* the second device of a btrfs RAID1: only /sys/fs/btrfs names it */
	assert_int_equal(
	    fx_spec(
		e->fx,
		"mkdir /sys/fs/btrfs/features\n"
		"mkdir /sys/fs/btrfs/0f3c-uuid/devices\n"
		"link /sys/fs/btrfs/0f3c-uuid/devices/nvme1n1p1 ../../../../devices/pci0000:06/0000:06:00.0/nvme/nvme1/nvme1n1/nvme1n1p1\n"
		"link /sys/fs/btrfs/0f3c-uuid/devices/nvme0n1p2 ../../../../devices/pci0000:05/0000:05:00.0/nvme/nvme0/nvme0n1/nvme0n1p2\n"),
	    0);
	check(e, "0000:05:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(
	    find(&l, USAGE_MOUNT,
		 "partition nvme0n1p2) is a device of the btrfs filesystem 0f3c-uuid",
		 "which is mounted at / (the host's root filesystem)") >= 0);
	assert_true(l.v[0].critical);
	usage_list_clear(&l);
	env_free(e);
}

static void test_whole_disk_and_escaped_mountpoint(void **state)
{
	struct env *e =
	    env_new(NVME_SPEC,
		    "22 1 259:9 / / rw shared:1 - ext4 /dev/sdz rw\n"
		    "40 22 259:4 / /mnt/my\\040disk rw,relatime - xfs /dev/nvme1n1 rw\n"
		    "41 22 259:4 / /srv/bind rw,relatime - xfs /dev/nvme1n1 rw\n",
		    NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:06:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_MOUNT,
			 "its disk nvme1n1 is mounted at /mnt/my disk, /srv/bind",
			 NULL) >= 0);
	check(e, "0000:05:00.0", &l);
	assert_int_equal(l.n, 0);
	usage_list_clear(&l);
	env_free(e);
}

/* A SATA disk behind AHCI: deep below the device; LVM root on a partition. */
static void test_lvm_holder_on_sata(void **state)
{
	struct env *e = env_new(
	    "dev 0000:00:17.0 vendor=8086 device=a352 class=010601 group=8 driver=ahci\n"
	    "block 0000:00:17.0 ata1/host0/target0:0:0/0:0:0:0/block/sda 8:0\n"
	    "block 0000:00:17.0 ata1/host0/target0:0:0/0:0:0:0/block/sda/sda3 8:3\n"
	    "holder sda3 dm-0\n"
	    "file /sys/devices/virtual/block/dm-0/dm/name pve-root\\n\n"
	    "file /sys/devices/virtual/block/dm-0/dm/uuid LVM-Xyz123\\n\n",
	    "22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/pve-root rw\n", NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:00:17.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(
	    find(
		&l, USAGE_HOLDER,
		"its disk sda (partition sda3) is held by dm-0 (LVM volume pve-root), which is mounted at / (the host's root filesystem)",
		NULL) >= 0);
	assert_true(l.v[0].critical);
	usage_list_clear(&l);
	env_free(e);
}

static void test_holder_not_mounted_and_dm_swap(void **state)
{
	struct env *e = env_new(
	    "dev 0000:00:17.0 vendor=8086 device=a352 class=010601 group=8 driver=ahci\n"
	    "block 0000:00:17.0 ata1/host0/target0:0:0/0:0:0:0/block/sdb 8:16\n"
	    "holder sdb dm-0\n"
	    "file /sys/devices/virtual/block/dm-0/dm/name pve-swap\\n\n"
	    "file /sys/devices/virtual/block/dm-0/dm/uuid LVM-abc\\n\n",
	    NULL,
	    "Filename\tType\tSize\tUsed\tPriority\n"
	    "/dev/mapper/pve-swap\tpartition\t1000\t0\t-2\n");
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:00:17.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_HOLDER,
			 "its disk sdb is held by dm-0 (LVM volume pve-swap)",
			 "which is in use as swap") >= 0);
	assert_true(l.v[0].critical);
	usage_list_clear(&l);
	env_free(e);
}

static void test_zfs_member(void **state)
{
	struct env *e =
	    env_new(NVME_SPEC "file /run/udev/data/b259:3 E:ID_FS_TYPE=zfs_member\\n"
			      "E:ID_FS_LABEL=rpool\\nE:ID_FS_UUID=123\\n\n"
			      "file /run/udev/data/b259:5 E:ID_FS_TYPE=zfs_member\\n"
			      "E:ID_FS_LABEL=tank\\n\n"
			      "file /run/udev/data/b259:1 E:ID_FS_TYPE=vfat\\n\n",
		    "22 1 0:21 / / rw,relatime shared:1 - zfs rpool/ROOT/pve-1 rw,xattr\n"
		    "23 22 0:22 / /rpool rw,relatime shared:2 - zfs rpool rw,xattr\n",
		    NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:05:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_ZFS,
			 "partition nvme0n1p3) is a member of ZFS pool rpool",
			 "mounted at / (the host's root filesystem)") >= 0);
	assert_true(l.v[0].critical);
	/* tank: a member of an exported pool (not mounted, not imported) */
	check(e, "0000:06:00.0", &l);
	assert_int_equal(l.n, 0);
	/* once imported (e.g. zvols only, nothing mounted) it is in use */
	assert_int_equal(fx_spec(e->fx, "mkdir /proc/spl/kstat/zfs/tank\n"), 0);
	check(e, "0000:06:00.0", &l);
	assert_true(find(&l, USAGE_ZFS, "ZFS pool tank, which is imported", NULL) >= 0);
	assert_false(l.v[0].critical);
	usage_list_clear(&l);
	env_free(e);
}

static void test_net_master_and_addresses(void **state)
{
	int i;
	struct env *e = env_new(
	    "dev 0000:03:00.0 vendor=8086 device=10d3 class=020000 group=5 driver=e1000e\n"
	    "net 0000:03:00.0 eno1 master=vmbr0\n"
	    "dev 0000:04:00.0 vendor=8086 device=10d3 class=020000 group=6 driver=e1000e\n"
	    "net 0000:04:00.0 eno2\n"
	    "dev 0000:04:00.1 vendor=8086 device=10d3 class=020000 group=7 driver=e1000e\n"
	    "net 0000:04:00.1 eno3 operstate=down\n"
	    "dev 0000:04:00.2 vendor=8086 device=10d3 class=020000 group=9 driver=e1000e\n"
	    "net 0000:04:00.2 eno4\n"
	    "dev 0000:04:00.3 vendor=8086 device=10d3 class=020000 group=10 driver=e1000e\n"
	    "net 0000:04:00.3 eno5 operstate=down\n"
	    "file /proc/net/if_inet6 20010db8000000000000000000000010 02 40 00 80     eno2\\n"
	    "fe800000000000000000000000000001 03 40 20 80     eno3\\n"
	    "00000000000000000000000000000001 01 80 10 80       lo\\n\n"
	    "file /proc/net/route Iface\\tDestination\\tGateway \\tFlags\\tRefCnt\\tUse\\tMetric\\tMask\\t\\tMTU\\tWindow\\tIRTT\\n"
	    "eno4\\t0000A8C0\\t00000000\\t0001\\t0\\t0\\t0\\t00FFFFFF\\t0\\t0\\t0\\n"
	    "eno4\\t00000000\\t0100A8C0\\t0003\\t0\\t0\\t0\\t00000000\\t0\\t0\\t0\\n"
	    "eno5\\t00000000\\t0100000A\\t0003\\t0\\t0\\t0\\t00000000\\t0\\t0\\t0\\n\n",
	    NULL, NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:03:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_NET_MASTER,
			 "its network interface eno1 is a port of bridge vmbr0",
			 "Proxmox's management bridge is usually vmbr0") >= 0);
	/* a bridge without the node's address or route: a host use, not critical */
	assert_false(l.v[0].critical);

	check(e, "0000:04:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(
	    find(&l, USAGE_NET_ADDR, "eno2 has address 2001:db8::10", "(link up)") >= 0);

	/* down, link-local only, no master: not in use */
	check(e, "0000:04:00.1", &l);
	assert_int_equal(l.n, 0);

	check(e, "0000:04:00.2", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(&l, USAGE_NET_ADDR, "eno4 has an address in 192.168.0.0/24",
		 "it carries the host's default route (via 192.168.0.1)");
	assert_true(i >= 0);
	assert_true(l.v[i].critical);

	/* no address seen, but the default route goes out there: the host's
	 * way out, critical */
	check(e, "0000:04:00.3", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(&l, USAGE_NET_ADDR,
		 "eno5 (link down) carries the host's default route (via 10.0.0.1)",
		 NULL);
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	usage_list_clear(&l);
	env_free(e);
}

static void test_bond_below_bridge(void **state)
{
	struct env *e = env_new(
	    "dev 0000:03:00.0 vendor=8086 device=10d3 class=020000 group=5 driver=e1000e\n"
	    "net 0000:03:00.0 enp3s0 master=bond0\n"
	    "mkdir /sys/devices/virtual/net/bond0/bonding\n"
	    "link /sys/devices/virtual/net/bond0/master ../vmbr0\n"
	    "mkdir /sys/devices/virtual/net/vmbr0/bridge\n"
	    "link /sys/class/net/vmbr0 ../../devices/virtual/net/vmbr0\n",
	    NULL, NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:03:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_NET_MASTER, "enp3s0 is a member of bond bond0",
			 "which is a port of bridge vmbr0") >= 0);
	usage_list_clear(&l);
	env_free(e);
}

static void test_console(void **state)
{
	struct env *e = env_new(
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 driver=nvidia boot_vga=1\n"
	    "fb 0000:01:00.0 fb0\n"
	    "dev 0000:02:00.0 vendor=1002 device=73bf class=030000 group=14 driver=amdgpu boot_vga=0\n"
	    "fb 0000:02:00.0 fb1\n"
	    "dev 0000:03:00.0 vendor=1002 device=73bf class=030000 group=15 driver=amdgpu boot_vga=1\n",
	    NULL, NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:01:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(
	    find(&l, USAGE_CONSOLE, "boot display (boot_vga=1)", "framebuffer fb0") >= 0);
	/* a framebuffer but not the boot display */
	check(e, "0000:02:00.0", &l);
	assert_int_equal(l.n, 0);
	/* the boot display without any framebuffer on it */
	check(e, "0000:03:00.0", &l);
	assert_int_equal(l.n, 0);
	usage_list_clear(&l);
	env_free(e);
}

/* efifb lives on a platform device, with no link to the GPU it draws on. */
static void test_console_efifb(void **state)
{
	struct env *e = env_new(
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 boot_vga=1\n"
	    "dev 0000:02:00.0 vendor=10de device=1f08 class=030000 group=14 boot_vga=0\n"
	    "file /sys/devices/platform/efi-framebuffer.0/graphics/fb0/name EFI VGA\\n\n"
	    "link /sys/devices/platform/efi-framebuffer.0/graphics/fb0/device ../..\n"
	    "link /sys/class/graphics/fb0 ../../devices/platform/efi-framebuffer.0/graphics/fb0\n",
	    NULL, NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:01:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_CONSOLE, "framebuffer fb0 (EFI VGA)", NULL) >= 0);
	check(e, "0000:02:00.0", &l);
	assert_int_equal(l.n, 0);
	usage_list_clear(&l);
	env_free(e);
}

static void test_drm_open(void **state)
{
	struct env *e = env_new(
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 driver=nvidia\n"
	    "drm 0000:01:00.0 card0\n"
	    "drm 0000:01:00.0 renderD128\n"
	    "drm 0000:01:00.0 card0-DP-1\n"
	    "dev 0000:02:00.0 vendor=1002 device=73bf class=030000 group=14 driver=amdgpu\n"
	    "drm 0000:02:00.0 card1\n"
	    "drm 0000:02:00.0 renderD129\n"
	    "proc 999 Xorg /usr/lib/xorg/Xorg :0\n"
	    "fd 999 5 /dev/dri/card0\n"
	    "fd 999 6 /dev/dri/card0\n"
	    "fd 999 7 /dev/dri/renderD128\n"
	    "fd 999 8 /dev/null\n"
	    "proc 1200 ollama /usr/bin/ollama serve\n"
	    "fd 1200 3 /dev/dri/renderD128\n",
	    NULL, NULL);
	struct usage_list l = {0};
	int i;

	(void)state;
	check(e, "0000:01:00.0", &l);
	dump(&l);
	i = find(&l, USAGE_DRM_OPEN,
		 "its DRM node /dev/dri/card0 is open by Xorg (pid 999)", NULL);
	assert_true(i >= 0);
	assert_int_equal(l.v[i].pid, 999);
	assert_int_equal(l.v[i].other_vmid, 0);
	assert_true(find(&l, USAGE_DRM_OPEN, "/dev/dri/renderD128", "Xorg (pid 999)") >=
		    0);
	i = find(&l, USAGE_DRM_OPEN, "/dev/dri/renderD128", "ollama (pid 1200)");
	assert_true(i >= 0);
	assert_int_equal(l.v[i].pid, 1200);
	/* card0 opened twice by one process: one reason */
	assert_int_equal(l.n, 3);
	/* the other GPU's nodes are not open */
	check(e, "0000:02:00.0", &l);
	assert_int_equal(l.n, 0);
	usage_list_clear(&l);
	env_free(e);
}

static void test_vfio_group_open(void **state)
{
	struct env *e = env_new(
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 driver=vfio-pci\n"
	    "dev 0000:01:00.1 vendor=10de device=10f9 class=040300 group=13 driver=vfio-pci\n"
	    "dev 0000:02:00.0 group=14 driver=vfio-pci\n"
	    "dev 0000:03:00.0 group=15 driver=vfio-pci\n"
	    "mkdir /sys/devices/pci0000:03/0000:03:00.0/vfio-dev/vfio3\n"
	    "proc 4242 kvm /usr/bin/kvm -id 101 -name vm101,debug-threads=on\n"
	    "fd 4242 17 /dev/vfio/13\n"
	    "fd 4242 18 /dev/vfio/vfio\n"
	    "proc 5000 qemu-system-x86 qemu-system-x86_64 -name test\n"
	    "fd 5000 9 /dev/vfio/14\n"
	    "proc 6000 kvm /usr/bin/kvm -id 202\n"
	    "fd 6000 30 /dev/vfio/devices/vfio3\n",
	    NULL, NULL);
	struct usage_list l = {0};
	int i;

	(void)state;
	check(e, "0000:01:00.1", &l);
	dump(&l);
	i = find(&l, USAGE_VFIO_OPEN,
		 "IOMMU group 13 (/dev/vfio/13) is open by kvm (pid 4242)",
		 "the QEMU process of VM 101");
	assert_true(i >= 0);
	assert_int_equal(l.v[i].other_vmid, 101);
	assert_int_equal(l.v[i].pid, 4242);
	assert_int_equal(l.n, 1); /* /dev/vfio/vfio (the container) is no group */

	/* a QEMU that is not Proxmox's: no VM id; comm is cut at 15
	 * characters, the program's own name is not */
	check(e, "0000:02:00.0", &l);
	dump(&l);
	i = find(&l, USAGE_VFIO_OPEN, "open by qemu-system-x86_64 (pid 5000)", NULL);
	assert_true(i >= 0);
	assert_int_equal(l.v[i].other_vmid, 0);
	assert_int_equal(l.n, 1);

	/* iommufd: the per-device node vfio3 is open by VM 202, group 15 is not */
	check(e, "0000:03:00.0", &l);
	dump(&l);
	i = find(&l, USAGE_VFIO_OPEN, "its VFIO device /dev/vfio/devices/vfio3",
		 "VM 202");
	assert_true(i >= 0);
	assert_int_equal(l.v[i].other_vmid, 202);
	assert_int_equal(l.v[i].pid, 6000);
	assert_int_equal(l.n, 1);

	usage_list_clear(&l);
	assert_int_equal(usage_check_vfio_group(e->u, 13, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].other_vmid, 101);
	usage_list_clear(&l);
	assert_int_equal(usage_check_vfio_group(e->u, 15, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(usage_check_vfio_group(e->u, -1, &l), -EINVAL);
	usage_list_clear(&l);
	env_free(e);
}

/* The root filesystem on dm-crypt on a partition, on md RAID, and swap on
 * LVM and in a swap file: everything below / or swap is critical. */
static void test_critical_chains(void **state)
{
	struct env *e = env_new(
	    "dev 0000:00:17.0 vendor=8086 device=a352 class=010601 group=8 driver=ahci\n"
	    "block 0000:00:17.0 ata1/host0/target0:0:0/0:0:0:0/block/sda 8:0\n"
	    "block 0000:00:17.0 ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2 8:2\n"
	    "holder sda2 dm-0\n"
	    "file /sys/devices/virtual/block/dm-0/dm/name luks-root\\n\n"
	    "file /sys/devices/virtual/block/dm-0/dm/uuid CRYPT-LUKS2-abc-luks-root\\n\n"
	    "holder dm-0 dm-1\n"
	    "file /sys/devices/virtual/block/dm-1/dev 253:1\\n\n"
	    "file /sys/devices/virtual/block/dm-1/dm/name vg0-root\\n\n"
	    "file /sys/devices/virtual/block/dm-1/dm/uuid LVM-xyz\\n\n"
	    "dev 0000:02:00.0 vendor=1000 device=0097 class=010700 group=9 driver=mpt3sas\n"
	    "block 0000:02:00.0 host1/target1:0:0/1:0:0:0/block/sdb 8:16\n"
	    "block 0000:02:00.0 host1/target1:0:0/1:0:0:0/block/sdb/sdb1 8:17\n"
	    "holder sdb1 md0\n"
	    "mkdir /sys/devices/virtual/block/md0/md\n"
	    "file /sys/devices/virtual/block/md0/dev 9:0\\n\n"
	    "dev 0000:03:00.0 vendor=144d device=a808 class=010802 group=10 driver=nvme\n"
	    "block 0000:03:00.0 nvme/nvme0/nvme0n1 259:0\n"
	    "dev 0000:04:00.0 vendor=144d device=a808 class=010802 group=11 driver=nvme\n"
	    "block 0000:04:00.0 nvme/nvme1/nvme1n1 259:1\n",
	    "22 1 253:1 / / rw shared:1 - ext4 /dev/mapper/vg0-root rw\n"
	    "23 22 9:0 / /srv rw shared:2 - xfs /dev/md0 rw\n"
	    "24 22 259:0 / /data rw shared:3 - ext4 /dev/nvme0n1 rw\n"
	    "25 22 259:1 / /scratch rw shared:4 - ext4 /dev/nvme1n1 rw\n",
	    "Filename\tType\tSize\tUsed\tPriority\n"
	    "/data/swap\\040file\tfile\t1000\t0\t-2\n");
	struct usage_list l = {0};
	int i;

	(void)state;
	/* root on LVM on dm-crypt on sda2 */
	check(e, "0000:00:17.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(
	    &l, USAGE_HOLDER, "sda2) is held by dm-0 (encrypted volume luks-root)",
	    "is held by dm-1 (LVM volume vg0-root), which is mounted at / (the host's root filesystem)");
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	/* md0 mounted at /srv: the host's, but not critical */
	check(e, "0000:02:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(&l, USAGE_HOLDER, "sdb1) is held by md0 (software RAID)",
		 "which is mounted at /srv");
	assert_true(i >= 0);
	assert_false(l.v[i].critical);
	/* a swap file (its name escaped in /proc/swaps) on /data */
	check(e, "0000:03:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 2);
	assert_false(
	    l.v[find(&l, USAGE_MOUNT, "nvme0n1 is mounted at /data", NULL)].critical);
	i = find(&l, USAGE_SWAP, "nvme0n1 holds the active swap file /data/swap file",
		 NULL);
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	/* /scratch holds no swap file: a prefix of /data is not enough */
	check(e, "0000:04:00.0", &l);
	assert_int_equal(l.n, 1);
	assert_false(l.v[0].critical);
	usage_list_clear(&l);
	env_free(e);
}

/* The node's own network: the address its name resolves to (the caller
 * says which), on the bridge a NIC is a port of, or on a bond below it;
 * an IPv6 default route. */
static void test_node_network(void **state)
{
	struct env *e = env_new(
	    "dev 0000:03:00.0 vendor=8086 device=1521 class=020000 group=5 driver=igb\n"
	    "net 0000:03:00.0 eno1 master=vmbr0\n"
	    "dev 0000:03:00.1 vendor=8086 device=1521 class=020000 group=6 driver=igb\n"
	    "net 0000:03:00.1 eno2 master=vmbr1\n"
	    "dev 0000:04:00.0 vendor=8086 device=1521 class=020000 group=7 driver=igb\n"
	    "net 0000:04:00.0 enp4s0 master=bond0\n"
	    "mkdir /sys/devices/virtual/net/bond0/bonding\n"
	    "link /sys/devices/virtual/net/bond0/master ../vmbr2\n"
	    "mkdir /sys/devices/virtual/net/vmbr2/bridge\n"
	    "dev 0000:05:00.0 vendor=8086 device=1521 class=020000 group=8 driver=igb\n"
	    "net 0000:05:00.0 eno5\n"
	    "file /proc/net/route Iface\\tDestination\\tGateway \\tFlags\\tRefCnt\\tUse\\tMetric\\tMask\\t\\tMTU\\tWindow\\tIRTT\\n"
	    "vmbr0\\t0001A8C0\\t00000000\\t0001\\t0\\t0\\t0\\t00FFFFFF\\t0\\t0\\t0\\n"
	    "vmbr1\\t0002A8C0\\t00000000\\t0001\\t0\\t0\\t0\\t00FFFFFF\\t0\\t0\\t0\\n"
	    "vmbr2\\t0000000A\\t00000000\\t0001\\t0\\t0\\t0\\t000000FF\\t0\\t0\\t0\\n\n"
	    "file /proc/net/ipv6_route "
	    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eno5\\n"
	    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\\n\n",
	    NULL, NULL);
	struct usage_list l = {0};
	int i;

	(void)state;
	usage_add_node_address(e->u, "192.168.1.10", "pve1 in /etc/hosts");
	usage_add_node_address(e->u, "10.0.0.5",
			       "ring0_addr of pve1 in /etc/pve/corosync.conf");
	usage_add_node_address(e->u, "192.168.1.10", "a second source");
	usage_add_node_address(e->u, "not-an-address", "ignored");
	check(e, "0000:03:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(&l, USAGE_NET_MASTER, "eno1 is a port of bridge vmbr0, which carries",
		 "the node's own address 192.168.1.10 (pve1 in /etc/hosts)");
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	/* vmbr1 has an address, but not the node's: a host use, not critical */
	check(e, "0000:03:00.1", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_false(l.v[0].critical);
	assert_null(strstr(l.v[0].what, "carries"));
	/* the corosync network on a bridge above a bond */
	check(e, "0000:04:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(
	    &l, USAGE_NET_MASTER,
	    "enp4s0 is a member of bond bond0, which is a port of bridge vmbr2, which carries",
	    "10.0.0.5 (ring0_addr of pve1 in /etc/pve/corosync.conf)");
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	/* the IPv6 default route (lo's unreachable default does not count) */
	check(e, "0000:05:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(&l, USAGE_NET_ADDR,
		 "eno5 (link up) carries the host's default route (via fe80::1)", NULL);
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	usage_list_clear(&l);
	env_free(e);
}

/* The management network on a VLAN interface above the bridge (a
 * VLAN-aware vmbr0 with vmbr0.10 carrying the node's address), or right on
 * the NIC (eno3.20 with the default route): found through upper_ links. */
static void test_node_network_on_vlan(void **state)
{
	struct env *e = env_new(
	    "dev 0000:03:00.0 vendor=8086 device=1521 class=020000 group=5 driver=igb\n"
	    "net 0000:03:00.0 eno1 master=vmbr0\n"
	    "mkdir /sys/devices/virtual/net/vmbr0.10\n"
	    "link /sys/devices/virtual/net/vmbr0/upper_vmbr0.10 ../vmbr0.10\n"
	    "dev 0000:06:00.0 vendor=8086 device=1521 class=020000 group=6 driver=igb\n"
	    "net 0000:06:00.0 eno3\n"
	    "mkdir /sys/devices/virtual/net/eno3.20\n"
	    "link /sys/devices/pci0000:06/0000:06:00.0/net/eno3/upper_eno3.20 ../../../../virtual/net/eno3.20\n"
	    "dev 0000:07:00.0 vendor=8086 device=1521 class=020000 group=7 driver=igb\n"
	    "net 0000:07:00.0 eno4 master=vmbr1\n"
	    "mkdir /sys/devices/virtual/net/vmbr1.30\n"
	    "link /sys/devices/virtual/net/vmbr1/upper_vmbr1.30 ../vmbr1.30\n"
	    "file /proc/net/route Iface\\tDestination\\tGateway \\tFlags\\tRefCnt\\tUse\\tMetric\\tMask\\t\\tMTU\\tWindow\\tIRTT\\n"
	    "vmbr0.10\\t000AA8C0\\t00000000\\t0001\\t0\\t0\\t0\\t00FFFFFF\\t0\\t0\\t0\\n"
	    "vmbr1.30\\t001EA8C0\\t00000000\\t0001\\t0\\t0\\t0\\t00FFFFFF\\t0\\t0\\t0\\n"
	    "eno3.20\\t00000000\\t0114A8C0\\t0003\\t0\\t0\\t0\\t00000000\\t0\\t0\\t0\\n\n",
	    NULL, NULL);
	struct usage_list l = {0};
	int i;

	(void)state;
	usage_add_node_address(e->u, "192.168.10.5", "pve1 in /etc/hosts");
	check(e, "0000:03:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(&l, USAGE_NET_MASTER,
		 "eno1 is a port of bridge vmbr0; vmbr0.10 above it carries",
		 "the node's own address 192.168.10.5 (pve1 in /etc/hosts)");
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	check(e, "0000:06:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(&l, USAGE_NET_MASTER, "eno3 has eno3.20 above it, which carries",
		 "the host's default route (via 192.168.20.1)");
	assert_true(i >= 0);
	assert_true(l.v[i].critical);
	/* a VLAN with an address that is not the node's: no more than before */
	check(e, "0000:07:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_false(l.v[0].critical);
	usage_list_clear(&l);
	env_free(e);
}

#define NV_SPEC                                                                          \
	"dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 driver=nvidia\n" \
	"dev 0000:01:00.1 vendor=10de device=10f9 class=040300 group=13 driver=snd_hda_intel\n"

/* A GPU the host's nvidia driver serves, alone: its node and the shared ones. */
static void test_nvidia_one_gpu(void **state)
{
	struct env *e = env_new(
	    NV_SPEC
	    "file /proc/driver/nvidia/gpus/0000:01:00.0/information Model: \\t\\t NVIDIA GeForce RTX 2060\\nIRQ:   \\t\\t 139\\nBus Location: \\t 0000:01:00.0\\nDevice Minor: \\t 0\\nGPU Excluded:\\t No\\n\n"
	    "proc 812 nvidia-persiste /usr/bin/nvidia-persistenced --user nvidia-persistenced\n"
	    "fd 812 3 /dev/nvidiactl\n"
	    "fd 812 4 /dev/nvidia0\n"
	    "proc 900 Plex /usr/lib/plexmediaserver/Plex\n"
	    "file /proc/900/comm Plex Transcoder\\n\n"
	    "fd 900 7 /dev/nvidia-uvm\n"
	    "file /proc/900/cgroup 0::/system.slice/plexmediaserver.service\\n\n"
	    "proc 950 jellyfin-ffmpeg /usr/lib/jellyfin-ffmpeg/ffmpeg\n"
	    "fd 950 5 /dev/nvidia-modeset\n"
	    "file /proc/950/cgroup 0::/lxc/104/ns/system.slice/jellyfin.service\\n\n"
	    "proc 960 bash /bin/bash\n"
	    "fd 960 1 /dev/null\n",
	    NULL, NULL);
	struct usage_list l = {0};
	int i;

	(void)state;
	check(e, "0000:01:00.0", &l);
	dump(&l);
	/* persistenced once (it holds two nodes), Plex, the container */
	assert_int_equal(l.n, 3);
	i = find(
	    &l, USAGE_NVIDIA_OPEN,
	    "its NVIDIA device node /dev/nvidia0 is open by nvidia-persistenced (pid 812)",
	    "'systemctl stop nvidia-persistenced'");
	assert_true(i >= 0);
	assert_int_equal(l.v[i].pid, 812);
	assert_false(l.v[i].critical);
	assert_true(
	    find(
		&l, USAGE_NVIDIA_OPEN,
		"/dev/nvidia-uvm (the NVIDIA driver's shared node; this is the host's only GPU on the nvidia driver) is open by Plex Transcoder (pid 900)",
		"stop it: 'systemctl stop plexmediaserver'") >= 0);
	assert_true(
	    find(&l, USAGE_NVIDIA_OPEN, "/dev/nvidia-modeset",
		 "it runs in container 104: stop the container ('pct stop 104')") >= 0);
	/* the audio function is not on the nvidia driver */
	check(e, "0000:01:00.1", &l);
	assert_int_equal(l.n, 0);
	usage_list_clear(&l);
	env_free(e);
}

/* Two GPUs on the nvidia driver: the shared nodes say nothing about which;
 * the minor comes from the information file, else from the driver's order. */
static void test_nvidia_two_gpus(void **state)
{
	struct env *e = env_new(
	    NV_SPEC
	    "dev 0000:02:00.0 vendor=10de device=2204 class=030000 group=14 driver=nvidia\n"
	    "file /proc/driver/nvidia/gpus/0000:01:00.0/information Model: \\t\\t A\\nDevice Minor: \\t 1\\n\n"
	    "file /proc/driver/nvidia/gpus/0000:02:00.0/information Model: \\t\\t B\\nDevice Minor: \\t 0\\n\n"
	    "proc 812 nvidia-persiste /usr/bin/nvidia-persistenced\n"
	    "fd 812 3 /dev/nvidiactl\n"
	    "proc 900 ffmpeg ffmpeg -hwaccel cuda\n"
	    "fd 900 3 /dev/nvidiactl\n"
	    "fd 900 4 /dev/nvidia1\n"
	    "file /proc/900/cgroup 0::/system.slice/docker-1234.scope\\n\n",
	    NULL, NULL);
	struct usage_list l = {0};
	int i;

	(void)state;
	/* 02:00.0 is minor 0: nobody has /dev/nvidia0 open */
	check(e, "0000:02:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 0);
	/* 01:00.0 is minor 1 (the information file says so) */
	check(e, "0000:01:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	i = find(&l, USAGE_NVIDIA_OPEN,
		 "its NVIDIA device node /dev/nvidia1 is open by ffmpeg (pid 900)",
		 "it runs in a Docker container");
	assert_true(i >= 0);
	/* without the information files: the order the driver lists them */
	assert_int_equal(
	    fx_spec(
		e->fx,
		"file /proc/driver/nvidia/gpus/0000:01:00.0/information Model: A\\n\n"
		"file /proc/driver/nvidia/gpus/0000:02:00.0/information Model: B\\n\n"),
	    0);
	usage_close(e->u);
	assert_int_equal(usage_open(&e->u), 0);
	check(e, "0000:01:00.0", &l);
	assert_int_equal(l.n, 0); /* minor 0 now, open by nobody */
	check(e, "0000:02:00.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_NVIDIA_OPEN, "/dev/nvidia1 is open by ffmpeg", NULL) >=
		    0);
	usage_list_clear(&l);
	env_free(e);
}

/* "below" needs a '/' boundary: 0000:01:00.10 is not below 0000:01:00.1 */
static void test_below_boundary_and_bridge(void **state)
{
	struct env *e = env_new(
	    "dev 0000:00:01.0 vendor=8086 device=1901 class=060400 bridge driver=pcieport group=1\n"
	    "dev 0000:01:00.0 vendor=144d device=a808 class=010802 parent=0000:00:01.0 group=2 driver=nvme\n"
	    "block 0000:01:00.0 nvme/nvme0/nvme0n1 259:0\n"
	    "dev 0000:02:00.1 group=3\n"
	    "file /sys/devices/pci0000:02/0000:02:00.10/block/sdz/dev 8:0\\n\n"
	    "link /sys/class/block/sdz ../../devices/pci0000:02/0000:02:00.10/block/sdz\n",
	    "22 1 259:0 / / rw - ext4 /dev/nvme0n1 rw\n"
	    "23 22 8:0 / /data rw - ext4 /dev/sdz rw\n",
	    NULL);
	struct usage_list l = {0};

	(void)state;
	/* the bridge above the NVMe: its disk is below the bridge too */
	check(e, "0000:00:01.0", &l);
	dump(&l);
	assert_int_equal(l.n, 1);
	assert_true(find(&l, USAGE_MOUNT, "its disk nvme0n1 is mounted at /", NULL) >= 0);
	check(e, "0000:02:00.1", &l);
	assert_int_equal(l.n, 0);
	usage_list_clear(&l);
	env_free(e);
}

static void test_not_in_use(void **state)
{
	struct env *e = env_new(
	    "dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 driver=nvidia boot_vga=0\n"
	    "drm 0000:01:00.0 card0\n"
	    "dev 0000:03:00.0 vendor=8086 device=10d3 class=020000 group=5\n"
	    "net 0000:03:00.0 eno1 operstate=down\n" NVME_SPEC
	    "proc 4242 kvm /usr/bin/kvm -id 101\n"
	    "fd 4242 17 /dev/vfio/99\n",
	    "22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n", NULL);
	struct usage_list l = {0};

	(void)state;
	check(e, "0000:01:00.0", &l);
	assert_int_equal(l.n, 0);
	check(e, "0000:03:00.0", &l);
	assert_int_equal(l.n, 0);
	check(e, "0000:05:00.0", &l);
	assert_int_equal(l.n, 0);
	usage_list_clear(&l);
	env_free(e);
}

static void test_open_errors_and_helpers(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct usage_ctx *u = (void *)1;
	struct usage_list l = {0};
	struct pdev d = {.bdf = "0000:09:00.0", .group = -1};
	char p[PATH_MAX];

	(void)state;
	assert_int_equal(fx_spec(fx, "file /proc/self/mountinfo garbage line\\n"
				     "22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\\n\n"),
			 0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	log_setup(LOGL_ERR, false); /* the garbage line warns */
	assert_int_equal(usage_open(&u), 0);
	log_setup(LOGL_WARN, false);
	/* an absent device */
	assert_int_equal(usage_check(u, &d, &l), -ENOENT);
	usage_close(u);

	snprintf(p, sizeof(p), "%s/proc/self/mountinfo", fx_root(fx));
	assert_int_equal(unlink(p), 0);
	log_setup(-1, false);
	assert_int_equal(usage_open(&u), -ENOENT);
	log_setup(LOGL_WARN, false);
	assert_null(u);
	usage_close(NULL);

	usage_list_add(&l, USAGE_RESERVED, "reserved by VM 105", 105, 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].other_vmid, 105);
	assert_string_equal(usage_kind_name(l.v[0].kind), "reserved");
	assert_string_equal(usage_kind_name(USAGE_MOUNT), "mount");
	assert_string_equal(usage_kind_name((enum usage_kind)99), "unknown");
	usage_list_clear(&l);
	usage_list_clear(NULL);
	host_cleanup();
	fx_free(fx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_partition_and_swap),
	    cmocka_unit_test(test_whole_disk_and_escaped_mountpoint),
	    cmocka_unit_test(test_btrfs_root_by_source),
	    cmocka_unit_test(test_lvm_holder_on_sata),
	    cmocka_unit_test(test_holder_not_mounted_and_dm_swap),
	    cmocka_unit_test(test_zfs_member),
	    cmocka_unit_test(test_critical_chains),
	    cmocka_unit_test(test_node_network),
	    cmocka_unit_test(test_node_network_on_vlan),
	    cmocka_unit_test(test_nvidia_one_gpu),
	    cmocka_unit_test(test_nvidia_two_gpus),
	    cmocka_unit_test(test_net_master_and_addresses),
	    cmocka_unit_test(test_bond_below_bridge),
	    cmocka_unit_test(test_console),
	    cmocka_unit_test(test_console_efifb),
	    cmocka_unit_test(test_drm_open),
	    cmocka_unit_test(test_vfio_group_open),
	    cmocka_unit_test(test_below_boundary_and_bridge),
	    cmocka_unit_test(test_not_in_use),
	    cmocka_unit_test(test_open_errors_and_helpers),
	};

	log_setup(LOGL_WARN, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
