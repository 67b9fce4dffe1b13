/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPUs and threads (kernel-facts.md "CPUs and IRQs"), all under the host
 * root:
 *
 *   /sys/devices/system/cpu/online, cpu<N>/topology/thread_siblings_list
 *   /sys/devices/system/node/node<N>/cpulist
 *   /proc/<pid>/task/<tid>/comm, .../status (Cpus_allowed_list)
 *
 * Setting a thread's affinity is sched_setaffinity(2), a syscall a fake
 * root cannot honour: it is made only on the real host (host_is_real()) and
 * said at debug level otherwise, as module loading is.
 *
 * Functions return 0 or -errno (with *err where they write).
 */
#ifndef VFIOHOOK_SYS_CPU_H
#define VFIOHOOK_SYS_CPU_H

#include <stddef.h>
#include <sys/types.h>

#include "base/cpuset.h"

/* The online CPUs. */
int cpu_online(struct cpuset *out);
/* The SMT siblings of cpu, itself included; {cpu} when the kernel does not
 * tell. */
int cpu_siblings(unsigned cpu, struct cpuset *out);
/* The CPUs of a NUMA node. */
int cpu_node_cpus(unsigned node, struct cpuset *out);

/* One thread of a process. */
struct task {
	pid_t tid;
	char comm[32]; /* "CPU 0/KVM", "CPU 1/TCG", "vhost-1234", ... */
	int vcpu;      /* n of "CPU <n>/KVM" or "CPU <n>/TCG", else -1 */
};

/* The threads of pid, by tid.  -ENOENT when the process is gone. */
int task_list(pid_t pid, struct task **out, size_t *n);
/* A thread's allowed CPUs, as /proc/<pid>/task/<tid>/status says. */
int task_affinity(pid_t pid, pid_t tid, struct cpuset *out);
/*
 * Pin a thread to set (sched_setaffinity).  Returns 0, also when skipped
 * on a fake root (*skipped is then true), or -errno with *err.
 */
int task_pin(pid_t tid, const struct cpuset *set, bool *skipped, char **err);

#endif
