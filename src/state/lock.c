// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flock(2) with a bounded wait (lock.h).  A blocking flock() could hang a
 * VM start forever behind a stuck run, so we poll LOCK_NB and give up with
 * a message that names the holder.
 */
#include "state/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"
#include "state/journal.h"

char *lock_path(const char *abs_path)
{
	return host_pathdup("%s", abs_path);
}

/* "pid 1234 (vfiohook 100 pre-start)" for the process /proc/locks says
 * holds a flock on st, or NULL when it does not tell (other pid namespace,
 * a fake root without /proc/locks). */
static char *lock_holder(const struct stat *st)
{
	_cleanup_free_ char *locks = NULL;
	char *save = NULL;

	if (host_read(&locks, "/proc/locks") < 0)
		return NULL;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; waiters are
	 * "1: -> FLOCK ..." and are skipped.  Major and minor are hex. */
	for (char *line = strtok_r(locks, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char kind[16], mode[16], rw[16];
		unsigned maj, min;
		unsigned long ino;
		char p[PATH_MAX], buf[256];
		ssize_t n;
		int pid, fd;

		if (strstr(line, "->"))
			continue;
		if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%lu", kind, mode, rw, &pid,
			   &maj, &min, &ino) != 7)
			continue;
		if (strcmp(kind, "FLOCK") != 0 || pid <= 0 ||
		    ino != (unsigned long)st->st_ino || maj != major(st->st_dev) ||
		    min != minor(st->st_dev))
			continue;
		/* cmdline is NUL-separated: read it by hand */
		if (host_path(p, sizeof(p), "/proc/%d/cmdline", pid) == 0 &&
		    (fd = open(p, O_RDONLY | O_CLOEXEC)) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			while (n > 0 && buf[n - 1] == '\0')
				n--;
			if (n > 0) {
				buf[n] = '\0';
				for (ssize_t i = 0; i < n; i++)
					if (buf[i] == '\0' || buf[i] == '\n')
						buf[i] = ' ';
				return xasprintf("pid %d (%s)", pid, buf);
			}
		}
		return xasprintf("pid %d", pid);
	}
	return NULL;
}

static int ensure_parent(const char *abs_path, char **err)
{
	_cleanup_free_ char *parent = xstrdup(abs_path);
	char *slash = strrchr(parent, '/');
	int r;

	if (!slash || slash == parent)
		return 0;
	*slash = '\0';
	if (host_exists("%s", parent))
		return 0;
	r = host_mkdir_p(0700, "%s", parent);
	if (r < 0) {
		_cleanup_free_ char *full = lock_path(parent);
		errf(err, "cannot create %s for the lock: %s", full, strerror(-r));
	}
	return r;
}

int lock_take(const char *abs_path, int timeout_ms, int *fd_out, char **err)
{
	_cleanup_free_ char *path = NULL;
	uint64_t start, now;
	unsigned nap = 10;
	bool told = false;
	int fd, r;

	*fd_out = -1;
	if (!abs_path || abs_path[0] != '/')
		return errf(err, "lock path '%s' is not absolute",
			    abs_path ? abs_path : "");
	path = lock_path(abs_path);
	r = ensure_parent(abs_path, err);
	if (r < 0)
		return r;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			errf(
			    err,
			    "refusing the lock file %s: it is a symlink (not followed); remove it after checking who made it",
			    path);
		else
			errf(err, "cannot open lock file %s: %s", path, strerror(-r));
		return r;
	}
	start = host_now_ms();
	for (;;) {
		struct stat st;
		_cleanup_free_ char *who = NULL;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			r = -errno;
			close(fd);
			errf(err, "cannot lock %s: %s", path, strerror(-r));
			return r;
		}
		now = host_now_ms();
		if (now - start >= (uint64_t)(timeout_ms > 0 ? timeout_ms : 0)) {
			if (fstat(fd, &st) == 0)
				who = lock_holder(&st);
			close(fd);
			errf(
			    err,
			    "timed out after %d.%03d s waiting for the lock %s%s%s: another vfiohook run (a hook of another VM, or a vfiohook command run by hand) or a Proxmox task holds it; wait for it to finish, or find it with 'fuser -v %s'",
			    timeout_ms / 1000, timeout_ms % 1000, path,
			    who ? ", held by " : "", who ? who : "", path);
			return -ETIMEDOUT;
		}
		if (!told && now - start >= 1000) {
			if (fstat(fd, &st) == 0)
				who = lock_holder(&st);
			log_info(
			    "waiting for %s: another vfiohook run%s%s holds it (up to %d s)",
			    path, who ? ", " : "", who ? who : "", timeout_ms / 1000);
			told = true;
		}
		host_sleep_ms(nap);
		if (nap < 100)
			nap *= 2;
	}
	log_debug("locked %s", path);
	*fd_out = fd;
	return 0;
}

int lock_global(int *fd_out, char **err)
{
	int r;

	*fd_out = -1;
	r = journal_dir_ensure(err);
	if (r < 0)
		return r;
	return lock_take(LOCK_GLOBAL_PATH, LOCK_GLOBAL_TIMEOUT_MS, fd_out, err);
}

void lock_release(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}
