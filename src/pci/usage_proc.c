// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Who has a device node open: one pass over /proc/[0-9]*\/fd, keeping the
 * targets that name devices a passthrough can take (/dev/vfio/, /dev/dri/,
 * /dev/nvidia*), and the words that name a process and what stops it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "pci/usage_int.h"

static int cmp_fdhit(const void *a, const void *b)
{
	const struct fdhit *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->target, y->target);
}

static bool target_of_interest(const char *t)
{
	return startswith(t, "/dev/vfio/") || startswith(t, "/dev/dri/") ||
	       startswith(t, "/dev/nvidia");
}

static void load_fds(struct usage_ctx *u)
{
	char path[PATH_MAX];
	unsigned unreadable = 0;
	struct dirent *e;
	DIR *proc;
	int self = host_is_real() ? getpid() : -1;

	u->fds_loaded = true;
	if (host_path(path, sizeof(path), "/proc") < 0)
		return;
	proc = opendir(path);
	if (!proc) {
		log_warn("%s: %s; open device nodes are not checked", path,
			 strerror(errno));
		return;
	}
	while ((e = readdir(proc))) {
		unsigned long long pid;
		char fdpath[PATH_MAX + 64];
		struct dirent *f;
		DIR *fds;

		if (parse_uint(e->d_name, INT_MAX, &pid) < 0 || (int)pid == self)
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%llu/fd", path, pid);
		fds = opendir(fdpath);
		if (!fds) {
			/* a process that exited is fine; EACCES means not root */
			if (errno == EACCES)
				unreadable++;
			continue;
		}
		while ((f = readdir(fds))) {
			char target[PATH_MAX];
			ssize_t n;

			if (f->d_name[0] == '.')
				continue;
			n = readlinkat(dirfd(fds), f->d_name, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (!target_of_interest(target))
				continue;
			u->fds = xrealloc(u->fds, (u->nfds + 1) * sizeof(*u->fds));
			u->fds[u->nfds].pid = (int)pid;
			u->fds[u->nfds].target = xstrdup(target);
			u->nfds++;
		}
		closedir(fds);
	}
	closedir(proc);
	if (u->nfds > 1)
		qsort(u->fds, u->nfds, sizeof(*u->fds), cmp_fdhit);
	if (unreadable)
		log_debug("could not read the open files of %u processes (not root?)",
			  unreadable);
}

void usage_proc_free(struct usage_ctx *u)
{
	for (size_t i = 0; i < u->nfds; i++)
		free(u->fds[i].target);
	free(u->fds);
	u->fds = NULL;
	u->nfds = 0;
}

/* A process as the admin knows it, and what it runs in. */
struct proc_info {
	char *name;    /* "nvidia-persistenced" */
	unsigned vmid; /* a Proxmox QEMU's "-id N", else 0 */
	unsigned ct;   /* the Proxmox container it runs in, else 0 */
	bool docker;   /* it runs in a Docker (or containerd) container */
	char *unit;    /* the systemd service it runs in ("jellyfin"), or NULL */
};

/* The number right after the first prefix in s ("/lxc/104/..." -> 104), or 0. */
static unsigned number_after(const char *s, const char *prefix)
{
	const char *at = strstr(s, prefix);
	unsigned long long id;
	char num[16];
	size_t n;

	if (!at)
		return 0;
	at += strlen(prefix);
	n = strspn(at, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return 0;
	memcpy(num, at, n);
	num[n] = '\0';
	return parse_uint(num, UINT_MAX, &id) == 0 ? (unsigned)id : 0;
}

/*
 * What pid runs in, from /proc/PID/cgroup: a Proxmox container
 * ("/lxc/101/..." before LXC 4, "/lxc.payload.101/..." since), a Docker or
 * containerd container, or a systemd service ("/system.slice/X.service").
 */
static void proc_container(int pid, struct proc_info *pi)
{
	_cleanup_free_ char *cg = NULL;
	const char *s;

	if (host_read(&cg, "/proc/%d/cgroup", pid) < 0)
		return;
	pi->ct = number_after(cg, "/lxc/");
	if (!pi->ct)
		pi->ct = number_after(cg, "/lxc.payload.");
	if (pi->ct)
		return;
	if (strstr(cg, "/docker") || strstr(cg, "docker-") || strstr(cg, "containerd")) {
		pi->docker = true;
		return;
	}
	/* "0::/system.slice/jellyfin.service": the unit systemctl stops */
	s = strstr(cg, "/system.slice/");
	if (s) {
		const char *name = s + strlen("/system.slice/");
		size_t n = strcspn(name, "/\n");

		if (n > 8 && !strncmp(name + n - 8, ".service", 8))
			pi->unit = xstrndup(name, n - 8);
	}
}

static void proc_info(int pid, struct proc_info *pi)
{
	_cleanup_free_ char *comm = NULL;
	char path[PATH_MAX], buf[8192];
	ssize_t n = 0;
	int fd;

	memset(pi, 0, sizeof(*pi));
	if (host_read(&comm, "/proc/%d/comm", pid) < 0)
		comm = xstrdup("?");
	if (host_path(path, sizeof(path), "/proc/%d/cmdline", pid) == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
	}
	if (n > 0) {
		const char *argv0;

		buf[n] = '\0';
		argv0 = usage_basename(buf);
		/* comm is cut at 15 characters ("nvidia-persiste"): the program's
		 * own name, when it starts so, is what the admin knows */
		if (strlen(comm) == 15 && startswith(argv0, comm))
			pi->name = xstrdup(argv0);
		for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
			char *next = a + strlen(a) + 1;
			unsigned long long id;

			if (streq(a, "-id") && next < buf + n &&
			    parse_uint(next, UINT_MAX, &id) == 0) {
				pi->vmid = (unsigned)id;
				break;
			}
		}
	}
	if (!pi->name)
		pi->name = xstrdup(comm);
	proc_container(pid, pi);
}

/* "; stop it: ..." for a process on a device node the host's driver
 * serves, or "" */
static char *stop_hint(const struct proc_info *pi)
{
	if (pi->ct)
		return xasprintf(
		    "; it runs in container %u: stop the container ('pct stop %u') or take the GPU out of its config",
		    pi->ct, pi->ct);
	if (pi->docker)
		return xstrdup(
		    "; it runs in a Docker container: stop that container ('docker stop')");
	if (streq(pi->unit, "nvidia-persistenced") ||
	    (!pi->unit && streq(pi->name, "nvidia-persistenced")))
		return xstrdup(
		    "; stop it: 'systemctl stop nvidia-persistenced' (and 'systemctl disable nvidia-persistenced' if the card is for VMs only)");
	if (pi->unit)
		return xasprintf("; stop it: 'systemctl stop %s'", pi->unit);
	return xstrdup("; stop that program first");
}

void usage_check_open(struct usage_ctx *u, const char *target, enum usage_kind kind,
		      const char *subject, bool hint, struct usage_list *out)
{
	int last = -1;

	if (!u->fds_loaded)
		load_fds(u);
	for (size_t i = 0; i < u->nfds; i++) {
		_cleanup_free_ char *what = NULL;
		_cleanup_free_ char *tip = NULL;
		struct proc_info pi;

		if (!streq(u->fds[i].target, target) || u->fds[i].pid == last)
			continue;
		last = u->fds[i].pid;
		proc_info(last, &pi);
		if (hint && !pi.vmid)
			tip = stop_hint(&pi);
		if (pi.vmid)
			what = xasprintf(
			    "%s is open by %s (pid %d), the QEMU process of VM %u",
			    subject, pi.name, last, pi.vmid);
		else
			what = xasprintf("%s is open by %s (pid %d)%s", subject, pi.name,
					 last, tip ? tip : "");
		usage_list_add(out, kind, what, pi.vmid, last);
		free(pi.name);
		free(pi.unit);
	}
}
