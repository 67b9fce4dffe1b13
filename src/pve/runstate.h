/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Is a VM's QEMU running, and how long may its start take — as qemu-server
 * decides both (PVE/QemuServer/Helpers.pm vm_running_locally and
 * config_aware_timeout; PVE/QemuServer.pm vm_start_nolock).
 */
#ifndef VFIOHOOK_RUNSTATE_H
#define VFIOHOOK_RUNSTATE_H

#include "pve/pveconf.h"

/*
 * The pid of the VM's running QEMU, or 0, by Proxmox's rule
 * (vm_running_locally): the pid file /var/run/qemu-server/<vmid>.pid holds
 * a pid (digits only on its first line), /proc/<pid>/cmdline is a QEMU
 * (argv[0] ends in "kvm" or is a qemu-system-* binary) whose -pidfile is
 * exactly that pid file, and /proc/<pid>/stat shows a process that is not
 * a zombie.  A pid file naming a reused pid or another program does not
 * count.  The pid file is looked up as /run/qemu-server/<vmid>.pid too
 * (/var/run is /run on Proxmox hosts).
 */
long pve_vm_running_pid(unsigned vmid);

/*
 * The value of the -pidfile (or --pidfile) option in a NUL-separated
 * command line of len bytes with cmd[len] == '\0' (as host_read_len gives
 * /proc/<pid>/cmdline), parsed as
 * Helpers.pm parse_cmdline does: "-x" or "--x" starts an option, the next
 * word that does not start with '-' is its value, a later -pidfile wins.
 * NULL when there is none or argv[0] is not a QEMU.  Points into cmd.
 */
const char *pve_cmdline_pidfile(const char *cmd, size_t len);

/*
 * The pid of a QEMU that is being started for the VM, or 0: a process
 * running as root (effective uid 0, as Proxmox's QEMU does; anyone can name
 * a process "kvm") whose command line is a QEMU with -pidfile
 * /var/run/qemu-server/<vmid>.pid and that is not a zombie, whether or not
 * it has written its pid file yet.  One pass over /proc.
 */
long pve_vm_starting_pid(unsigned vmid);

/*
 * Proxmox's config-aware start timeout in seconds (config_aware_timeout as
 * vm_start_nolock calls it): 30, or memory/1024 when the VM has more than
 * 30720 MiB; times 4 with any hostpciN; at least 300 when the VM resumes
 * from a suspended state (lock: suspended or vmstate); at least 150 with
 * hugepages; plus 5 per netN.  Pure.
 */
unsigned pve_config_aware_timeout(const struct vm *vm);

/*
 * How long after its pre-start a VM's start may still be under way: the
 * config-aware timeout plus the 5 s Proxmox adds to its PCI reservation
 * (reserve_pci_usage: now + timeout + 5).  Pure.
 */
unsigned pve_start_timeout(const struct vm *vm);

/* pve_start_timeout() of a VM whose config cannot be read: one with
 * passthrough and the defaults (4 * 30 + 5). */
#define PVE_START_TIMEOUT_UNKNOWN 125

#endif
