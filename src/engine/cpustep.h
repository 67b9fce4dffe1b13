/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CPU kinds of step (run.h), applied at post-start, when QEMU runs:
 *
 * "cpus" (policy pin): one step per vCPU thread ("vcpu0": the thread named
 *   "CPU 0/KVM", or "CPU 0/TCG" under emulation, to its one host CPU) and
 *   one for QEMU's other threads ("threads").  Proxmox itself only runs
 *   the whole process under `taskset --all-tasks` (affinity).  Nothing to
 *   undo: the threads end with QEMU; the journal entries tell other VMs'
 *   pin = auto which CPUs are taken.
 *
 * "isolate" (policy isolate): host tasks off the VM's CPUs while it runs:
 *   cpuset.cpus of system.slice, user.slice, init.scope and the other VMs'
 *   qemu.slice/<vmid>.scope, through systemd (`systemctl set-property
 *   --runtime UNIT AllowedCPUs=`) where it runs, else in the cgroup v2 files
 *   directly, with the cpuset controller enabled where it was not
 *   ("subtree:/", "subtree:qemu.slice").  Each entry journals the value it
 *   found before it writes; undo puts exactly that back (also after a
 *   SIGKILL, from the journal), unless someone changed the value meanwhile:
 *   then only our CPUs are added back.
 */
#ifndef VFIOHOOK_CPUSTEP_H
#define VFIOHOOK_CPUSTEP_H

#include <stddef.h>
#include <sys/types.h>

#include "engine/resources.h"
#include "engine/run.h"
#include "sys/cpu.h"

extern const struct step_kind cpu_step_kind;
extern const struct step_kind iso_step_kind;

/* The pin steps for QEMU pid, whose threads are tasks[0..n). */
size_t cpu_pin_steps(struct run *r, const struct res_plan *rp, pid_t pid,
		     const struct task *tasks, size_t n, struct steps *out);
/* Mark the journal's pin entries undone (the threads are gone). */
size_t cpu_undo_steps(struct run *r, struct steps *out);

/* The isolation steps for rp->vm_cpus.  Returns 0, or -errno with *err when
 * the host cannot be isolated (cgroup v1). */
int iso_steps(struct run *r, const struct res_plan *rp, struct steps *out, char **err);
size_t iso_undo_steps(struct run *r, struct steps *out);

#endif
