// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/runstate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "base/host.h"
#include "base/util.h"

/* The pid on the first line of the pid file, digits only, or 0. */
static long read_pidfile(unsigned vmid)
{
	_cleanup_free_ char *s = NULL;
	unsigned long long pid;
	char *nl;

	if (host_read(&s, "/var/run/qemu-server/%u.pid", vmid) < 0 &&
	    host_read(&s, "/run/qemu-server/%u.pid", vmid) < 0)
		return 0;
	nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
	if (parse_uint(s, 0x7fffffff, &pid) < 0 || pid == 0)
		return 0;
	return (long)pid;
}

static bool endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Helpers.pm parse_cmdline: argv[0] =~ m|kvm$| or m@(?:^|/)qemu-system-[^/]+$@ */
static bool is_qemu(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	if (endswith(argv0, "kvm"))
		return true;
	return startswith(base, "qemu-system-") && base[12] != '\0';
}

const char *pve_cmdline_pidfile(const char *cmd, size_t len)
{
	const char *pending = NULL, *pidfile = NULL;
	size_t i = 0;
	bool first = true;

	while (i < len) {
		const char *w = cmd + i;
		size_t wl = strnlen(w, len - i);

		i += wl + 1;
		if (first) {
			first = false;
			if (wl == 0 || !is_qemu(w))
				return NULL;
			continue;
		}
		if (wl == 0)
			continue;
		if (w[0] == '-') {
			pending = w + (w[1] == '-' ? 2 : 1);
			if (streq(pending, "pidfile"))
				pidfile = NULL; /* given again: the later one counts */
			continue;
		}
		if (pending && streq(pending, "pidfile"))
			pidfile = w;
		pending = NULL;
	}
	return pidfile;
}

/* PVE::ProcFSTools::check_process_running: /proc/<pid>/stat, not a zombie */
static bool process_running(long pid)
{
	_cleanup_free_ char *st = NULL;
	const char *close;

	if (host_read(&st, "/proc/%ld/stat", pid) < 0)
		return false;
	close = strrchr(st, ')');
	return close && close[1] == ' ' && close[2] && close[2] != 'Z';
}

long pve_vm_running_pid(unsigned vmid)
{
	_cleanup_free_ char *cmd = NULL, *want = NULL;
	const char *pidfile;
	size_t len = 0;
	long pid = read_pidfile(vmid);

	if (pid <= 0 || host_read_len(&cmd, &len, "/proc/%ld/cmdline", pid) < 0)
		return 0;
	pidfile = pve_cmdline_pidfile(cmd, len);
	want = xasprintf("/var/run/qemu-server/%u.pid", vmid);
	if (!streq(pidfile, want) || !process_running(pid))
		return 0;
	return pid;
}

/* Effective uid 0 (/proc/<pid>/status "Uid:" real, effective, ...):
 * Proxmox's QEMU runs as root; anyone may name a process "kvm". */
static bool runs_as_root(long pid)
{
	_cleanup_free_ char *st = NULL;
	unsigned long real, eff;
	const char *uid;

	if (host_read(&st, "/proc/%ld/status", pid) < 0)
		return false;
	uid = strstr(st, "\nUid:");
	return uid && sscanf(uid + 5, "%lu %lu", &real, &eff) == 2 && eff == 0;
}

long pve_vm_starting_pid(unsigned vmid)
{
	_cleanup_free_ char *want = xasprintf("/var/run/qemu-server/%u.pid", vmid);
	char path[PATH_MAX];
	struct dirent *e;
	long found = 0;
	DIR *proc;

	if (host_path(path, sizeof(path), "/proc") < 0 || !(proc = opendir(path)))
		return 0;
	while (!found && (e = readdir(proc))) {
		_cleanup_free_ char *cmd = NULL;
		unsigned long long pid;
		size_t len = 0;

		if (parse_uint(e->d_name, 0x7fffffff, &pid) < 0 || pid == 0 ||
		    host_read_len(&cmd, &len, "/proc/%llu/cmdline", pid) < 0)
			continue;
		if (streq(pve_cmdline_pidfile(cmd, len), want) &&
		    process_running((long)pid) && runs_as_root((long)pid))
			found = (long)pid;
	}
	closedir(proc);
	return found;
}

unsigned pve_config_aware_timeout(const struct vm *vm)
{
	unsigned long long timeout = 30;
	bool hostpci = false;

	/* "Based on user reported startup time for vm with 512GiB @ 4-5 minutes" */
	if (vm->memory_mib > 30720)
		timeout = vm->memory_mib / 1024;
	for (size_t i = 0; i < ARRAY_SIZE(vm->hostpci); i++)
		hostpci |= vm->hostpci[i] != NULL;
	if (hostpci)
		timeout *= 4;
	if (vm->conf && vmconf_resumes(vm->conf) && timeout < 300)
		timeout = 300;
	if (vm->hugepages && timeout < 150)
		timeout = 150;
	timeout += 5ULL * vm->n_nets;
	return timeout > 0xffffff ? 0xffffff : (unsigned)timeout;
}

unsigned pve_start_timeout(const struct vm *vm)
{
	return pve_config_aware_timeout(vm) + 5;
}
