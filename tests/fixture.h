/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel-shaped fake roots for tests: /sys trees with the kernel's relative
 * symlinks, the files libpci needs (vendor device class irq resource
 * config), /proc and /etc/pve files.  One builder serves the cmocka tests
 * (fx_* calls) and the shell tests and benchmarks (build/mkroot, which
 * reads the same spec language from a file or stdin).
 *
 * Spec language, one statement a line ('#' comments, blank lines ignored):
 *
 *   dev BDF [key=value|flag]...
 *       vendor=10de device=1f08 class=030000 subsys=3842:2167 group=13
 *       driver=nvidia override=vfio-pci parent=BDF (a bridge given before)
 *       numa=0 cpus=0-3 boot_vga=1 reset_method=flr,bus rev=a1
 *       power=D3cold d3cold=0 (power_state, d3cold_allowed; default D0, 1)
 *       bar0=c0000000-cfffffff ... bar5= (memory BARs in `resource`, hex)
 *       flags: bridge (pci_bus/ dir, header type 1), vfio_dev (vfio-dev/),
 *              noreset (no reset file), nogroup (no iommu_group link),
 *              mdev (mdev_supported_types/ with one type)
 *   block BDF SUBPATH MAJ:MIN    block device at <dev>/SUBPATH (nvme/nvme0/nvme0n1,
 *                                host0/target0:0:0/0:0:0:0/block/sda, or a
 *                                partition below one); /sys/class/block link,
 *                                /sys/block link for whole disks
 *   holder BLOCKNAME HOLDER      /sys/class/block/BLOCKNAME/holders/HOLDER (dm-0, md0)
 *   net BDF IFNAME [master=BR] [operstate=up]   <dev>/net/IFNAME, /sys/class/net link
 *   fb BDF fbN                   /sys/class/graphics/fbN with device link
 *   drm BDF NAME                 /sys/class/drm/NAME (card0, renderD128) with device link
 *   proc PID COMM [ARG...]       /proc/PID/comm, cmdline, stat (state S) and
 *                                status (uid 0)
 *   fd PID N TARGET              /proc/PID/fd/N -> TARGET (absolute, as the kernel shows)
 *   cpu N [siblings=LIST]        /sys/devices/system/cpu/cpuN/topology/
 *                                thread_siblings_list (the online list is a
 *                                `file` of its own)
 *   node N [cpus=LIST] [memfree=KB] [pool=KB:NR:FREE]...
 *                                /sys/devices/system/node/nodeN: cpulist, meminfo,
 *                                and a hugepage pool per size (its
 *                                hugepages-KBkB dir in /sys/kernel/mm/hugepages too)
 *   task PID TID COMM... [cpus=LIST]
 *                                /proc/PID/task/TID/{comm,status} (COMM may have
 *                                spaces: "CPU 0/KVM"; status has Cpus_allowed_list)
 *   file PATH CONTENT...         a file; "\n" and "\t" in CONTENT are escapes
 *   link PATH TARGET             a symlink, target as given
 *   chmod MODE PATH              set an existing file's mode (octal: 755)
 *   module NAME loaded|builtin|PATH.ko
 *                                a loaded module (/sys/module/NAME/initstate), one
 *                                built in (modules.builtin) or an installed file
 *                                /lib/modules/REL/PATH.ko; REL from
 *                                /proc/sys/kernel/osrelease (default 6.8.12-4-pve,
 *                                written when missing); the index is rebuilt with
 *                                `depmod -b` after the spec (kmod must be installed)
 *   mkdir PATH
 */
#ifndef VFIOHOOK_TESTS_FIXTURE_H
#define VFIOHOOK_TESTS_FIXTURE_H

struct fx;

/* A new root under $TMPDIR (or at dir, if not NULL), with the skeleton:
 * /sys/bus/pci/{devices,drivers,drivers_probe,rescan}, /sys/kernel/iommu_groups,
 * /proc/self/mountinfo (empty), /proc/swaps, /etc/pve, /run, /var/lock, /dev. */
struct fx *fx_new(const char *dir);
const char *fx_root(const struct fx *fx);
/* Run spec statements (several lines allowed); returns 0 or -1 with a
 * message on stderr naming the line. */
int fx_spec(struct fx *fx, const char *text);
int fx_specf(struct fx *fx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write a file below the root (directories made as needed). */
int fx_file(struct fx *fx, const char *path, const char *content);
/* Remove the tree (unless keep is set) and free. NULL is fine. */
void fx_free(struct fx *fx, int keep);

#endif
