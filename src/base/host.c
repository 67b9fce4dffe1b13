// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

static char *root_prefix; /* "" for "/" */
static char *node_name;

int host_setup(const char *root, const char *node)
{
	size_t len;

	host_cleanup();
	if (!root || !*root)
		root = "/";
	if (root[0] != '/')
		return -EINVAL;
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	root_prefix = (len == 1) ? xstrdup("") : xstrndup(root, len);
	if (node && *node) {
		node_name = xstrdup(node);
	} else {
		char hn[256] = "";
		char *dot;

		if (gethostname(hn, sizeof(hn) - 1) < 0)
			return -errno;
		/* Proxmox node names are the short host name */
		dot = strchr(hn, '.');
		if (dot)
			*dot = '\0';
		node_name = xstrdup(hn);
	}
	return 0;
}

void host_cleanup(void)
{
	free(root_prefix);
	free(node_name);
	root_prefix = node_name = NULL;
}

const char *host_root(void)
{
	return root_prefix ? root_prefix : "";
}

bool host_is_real(void)
{
	return !root_prefix || !*root_prefix;
}

const char *host_node(void)
{
	return node_name ? node_name : "localhost";
}

static int vpath(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t r = strlen(host_root());
	int n;

	if (r >= size)
		return -ENAMETOOLONG;
	memcpy(buf, host_root(), r);
	n = vsnprintf(buf + r, size - r, fmt, ap);
	if (n < 0 || (size_t)n >= size - r)
		return -ENAMETOOLONG;
	return 0;
}

int host_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpath(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

char *host_pathdup(const char *fmt, ...)
{
	va_list ap;
	_cleanup_free_ char *rel = NULL;

	va_start(ap, fmt);
	rel = xvasprintf(fmt, ap);
	va_end(ap);
	return xasprintf("%s%s", host_root(), rel);
}

#define VPATH_OR_RETURN(buf, fmt)                                                        \
	do {                                                                             \
		va_list ap_;                                                             \
		int r_;                                                                  \
		va_start(ap_, fmt);                                                      \
		r_ = vpath(buf, sizeof(buf), fmt, ap_);                                  \
		va_end(ap_);                                                             \
		if (r_ < 0)                                                              \
			return r_;                                                       \
	} while (0)

static int read_fd_all(int fd, char **out)
{
	size_t cap = 256, len = 0;
	char *buf = xcalloc(1, cap);

	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			if (cap >= (1u << 20)) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			free(buf);
			return (int)n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	*out = buf;
	return (int)len;
}

/* Read the whole file at path (root-prefixed already): its length, or -errno. */
static int read_path(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = read_fd_all(fd, out);
	close(fd);
	return r;
}

int host_read(char **out, const char *fmt, ...)
{
	char path[PATH_MAX];
	int r;

	VPATH_OR_RETURN(path, fmt);
	r = read_path(path, out);
	return r < 0 ? r : 0;
}

int host_read_len(char **out, size_t *len, const char *fmt, ...)
{
	char path[PATH_MAX];
	int r;

	VPATH_OR_RETURN(path, fmt);
	r = read_path(path, out);
	if (r < 0)
		return r;
	*len = (size_t)r;
	return 0;
}

int host_read_long(long *out, const char *fmt, ...)
{
	char path[PATH_MAX];
	_cleanup_free_ char *s = NULL;
	char *end;
	int r;

	VPATH_OR_RETURN(path, fmt);
	r = read_path(path, &s);
	if (r < 0 || !s)
		return r < 0 ? r : -EIO;
	errno = 0;
	*out = strtol(s, &end, 0);
	if (errno || end == s || (*end && *end != '\n' && *end != ' '))
		return -EINVAL;
	return 0;
}

int host_readlink_base(char **out, const char *fmt, ...)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	VPATH_OR_RETURN(path, fmt);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	*out = xstrdup(base ? base + 1 : target);
	return 0;
}

bool host_exists(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	return r == 0 && access(path, F_OK) == 0;
}

static int write_path(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	/* O_TRUNC as a shell's `>` does: sysfs, procfs and cgroupfs ignore it,
	 * and on a fake root the file then holds the value alone */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* sysfs takes one write(2); an empty value still needs a byte to clear
	 * driver_override, so write a newline as echo does. */
	if (len == 0)
		n = write(fd, "\n", 1), len = 1;
	else
		n = write(fd, value, len);
	if (n < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (close(fd) < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int host_write(const char *value, const char *fmt, ...)
{
	char path[PATH_MAX];

	VPATH_OR_RETURN(path, fmt);
	return write_path(path, value);
}

int host_write_timeout(int timeout_ms, const char *value, const char *fmt, ...)
{
	char path[PATH_MAX];
	uint64_t deadline, now;
	unsigned nap = 1;
	int pfd;
	pid_t pid;

	VPATH_OR_RETURN(path, fmt);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Proxmox reads our stdout/stderr until EOF: a child stuck in
		 * the kernel must not hold them open. */
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		/* nor may it keep our flock on /run/vfiohook/lock alive if it
		 * hangs: a flock lives as long as any copy of its descriptor */
		close_range(3, ~0U, 0);
		_exit(-write_path(path, value) & 0xff);
	}
	deadline = host_now_ms() + (uint64_t)timeout_ms;
	/* a pidfd becomes readable the moment the child exits (Linux 5.3+);
	 * without one, poll waitpid with short naps */
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			if (pfd >= 0)
				close(pfd);
			if (WIFEXITED(status))
				return -WEXITSTATUS(status);
			return -EINTR;
		}
		if (w < 0 && errno != EINTR) {
			int e = -errno;
			if (pfd >= 0)
				close(pfd);
			return e;
		}
		now = host_now_ms();
		if (now >= deadline) {
			if (pfd >= 0)
				close(pfd);
			return -ETIMEDOUT;
		}
		if (pfd >= 0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};
			poll(&p, 1, (int)(deadline - now));
		} else {
			host_sleep_ms(nap);
			if (nap < 20)
				nap *= 2;
		}
	}
}

int host_mkdir_p(unsigned mode, const char *fmt, ...)
{
	char path[PATH_MAX];
	size_t skip = strlen(host_root());

	VPATH_OR_RETURN(path, fmt);
	for (char *p = path + skip + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int host_write_atomic(const char *data, size_t len, unsigned mode, const char *fmt, ...)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], dir[PATH_MAX];
	char *slash;
	int fd, r = 0;

	VPATH_OR_RETURN(path, fmt);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
fail:
	r = -errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

uint64_t host_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void host_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* In the grandchild: nothing of the hook's stays open. */
static void detach(void)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	close_range(3, ~0U, 0);
	if (chdir("/") < 0)
		_exit(1);
	signal(SIGHUP, SIG_IGN);
}

int host_spawn_detached(void (*fn)(void *arg), void *arg)
{
	pid_t pid, w;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setsid() < 0 || (pid = fork()) < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		detach();
		log_setup(log_get_level(), true);
		fn(arg);
		_exit(0);
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}
