/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v2 cpusets, for keeping host tasks off a VM's CPUs
 * (kernel-facts.md "CPUs and IRQs"): cpuset.cpus of a cgroup under
 * /sys/fs/cgroup (empty = all of the parent's), the cpuset controller
 * enabled in every ancestor's cgroup.subtree_control.
 *
 * Where systemd runs (/run/systemd/system), it owns those files: the same
 * is done with `systemctl set-property --runtime UNIT AllowedCPUs=...`
 * (and read with `systemctl show -p AllowedCPUs --value UNIT`).  systemctl
 * is run only on the real host (host_is_real()); on a fake root it is
 * skipped and said at debug level.
 *
 * Cgroups are named by their path below /sys/fs/cgroup ("" is the root,
 * "system.slice", "qemu.slice/101.scope").  Functions return 0 or -errno,
 * with *err where they write.
 */
#ifndef VFIOHOOK_CGROUP_H
#define VFIOHOOK_CGROUP_H

#include <stdbool.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

/* The unified hierarchy is mounted at /sys/fs/cgroup. */
bool cgroup_v2(void);
bool cgroup_exists(const char *cg);
/* systemd is the init system (it creates /run/systemd/system at boot). */
bool systemd_running(void);

/* cpuset.cpus of cg ("" when it has none of its own); -ENOENT when the
 * cpuset controller is not enabled for it. */
int cgroup_cpus(const char *cg, char **out);
int cgroup_set_cpus(const char *cg, const char *cpus, char **err);
/* cpuset.cpus.effective: what its tasks may use now. */
int cgroup_effective_cpus(const char *cg, char **out);

/* Whether ctrl ("cpuset") is in cg's cgroup.subtree_control. */
int cgroup_subtree_has(const char *cg, const char *ctrl, bool *on);
/* Write "+ctrl" or "-ctrl" to cg's cgroup.subtree_control. */
int cgroup_subtree_set(const char *cg, const char *ctrl, bool on, char **err);

/* The child cgroups of cg (names, sorted). */
int cgroup_children(const char *cg, char ***names, unsigned *n);

/* systemctl show -p AllowedCPUs --value UNIT ("" = not set). */
int systemd_allowed_cpus(const char *unit, char **out, char **err);
/* systemctl set-property --runtime UNIT AllowedCPUs=cpus ("" resets).
 * *skipped is set on a fake root, where nothing is run. */
int systemd_set_allowed_cpus(const char *unit, const char *cpus, bool *skipped,
			     char **err);

#endif
