// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"

/* systemctl talks to PID 1; a hung manager must not hang a VM start */
#define SYSTEMCTL_TIMEOUT_MS 10000
#define SYSTEMCTL "/bin/systemctl"

bool cgroup_v2(void)
{
	return host_exists(CGROUP_ROOT "/cgroup.controllers");
}

bool cgroup_exists(const char *cg)
{
	return host_exists(CGROUP_ROOT "/%s%scgroup.procs", cg, *cg ? "/" : "");
}

bool systemd_running(void)
{
	struct stat st;
	_cleanup_free_ char *p = host_pathdup("/run/systemd/system");

	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int read_file(const char *cg, const char *file, char **out)
{
	return host_read(out, CGROUP_ROOT "/%s%s%s", cg, *cg ? "/" : "", file);
}

int cgroup_cpus(const char *cg, char **out)
{
	return read_file(cg, "cpuset.cpus", out);
}

int cgroup_effective_cpus(const char *cg, char **out)
{
	return read_file(cg, "cpuset.cpus.effective", out);
}

int cgroup_set_cpus(const char *cg, const char *cpus, char **err)
{
	int r = host_write(cpus, CGROUP_ROOT "/%s%scpuset.cpus", cg, *cg ? "/" : "");

	if (r < 0) {
		_cleanup_free_ char *p =
		    host_pathdup(CGROUP_ROOT "/%s%scpuset.cpus", cg, *cg ? "/" : "");

		return errnof(err, r, "writing '%s' to %s failed: %s", cpus, p,
			      strerror(-r));
	}
	return 0;
}

int cgroup_subtree_has(const char *cg, const char *ctrl, bool *on)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	int r = read_file(cg, "cgroup.subtree_control", &text);

	*on = false;
	if (r < 0)
		return r;
	for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		*on |= streq(t, ctrl);
	return 0;
}

int cgroup_subtree_set(const char *cg, const char *ctrl, bool on, char **err)
{
	char val[64];
	int r;

	snprintf(val, sizeof(val), "%c%s", on ? '+' : '-', ctrl);
	r = host_write(val, CGROUP_ROOT "/%s%scgroup.subtree_control", cg,
		       *cg ? "/" : "");
	if (r < 0) {
		_cleanup_free_ char *p = host_pathdup(
		    CGROUP_ROOT "/%s%scgroup.subtree_control", cg, *cg ? "/" : "");

		return errnof(err, r, "writing '%s' to %s failed: %s", val, p,
			      strerror(-r));
	}
	return 0;
}

int cgroup_children(const char *cg, char ***names, unsigned *n)
{
	_cleanup_free_ char *dir = host_pathdup(CGROUP_ROOT "/%s", cg);
	struct strv v = {0};
	struct dirent *e;
	DIR *d = opendir(dir);

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		strv_add(&v, e->d_name);
	}
	closedir(d);
	strv_sort(&v);
	*names = v.v;
	*n = (unsigned)v.n;
	return 0;
}

/* ---- systemctl ------------------------------------------------------------ */

/* Run argv (no shell), its stdout into *out (if not NULL), bounded in time. */
static int run(char *const argv[], char **out, char **err)
{
	int pipefd[2], status = 0;
	size_t len = 0, cap = 256;
	char *buf = xcalloc(1, cap);
	uint64_t deadline = host_now_ms() + SYSTEMCTL_TIMEOUT_MS;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(buf);
		return errnof(err, -errno, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		free(buf);
		close(pipefd[0]);
		close(pipefd[1]);
		return errnof(err, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(pipefd[1], 1);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		uint64_t now = host_now_ms();
		ssize_t k;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pipefd[0]);
			free(buf);
			return errnof(err, -ETIMEDOUT, "%s %s did not answer within %d s",
				      argv[0], argv[1], SYSTEMCTL_TIMEOUT_MS / 1000);
		}
		if (len + 128 > cap)
			buf = xrealloc(buf, cap *= 2);
		k = read(pipefd[0], buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(buf);
		return errnof(err, -EIO, "%s %s %s failed (exit status %d)", argv[0],
			      argv[1], argv[2] ? argv[2] : "",
			      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (out)
		*out = buf;
	else
		free(buf);
	return 0;
}

int systemd_allowed_cpus(const char *unit, char **out, char **err)
{
	char *argv[] = {SYSTEMCTL, "show",	 "-p", "AllowedCPUs",
			"--value", (char *)unit, NULL};

	*out = NULL;
	if (!host_is_real()) {
		log_debug("not asking systemd for %s's AllowedCPUs: the root is not /",
			  unit);
		*out = xstrdup("");
		return 0;
	}
	return run(argv, out, err);
}

int systemd_set_allowed_cpus(const char *unit, const char *cpus, bool *skipped,
			     char **err)
{
	_cleanup_free_ char *prop = xasprintf("AllowedCPUs=%s", cpus);
	char *argv[] = {SYSTEMCTL, "set-property", "--runtime", (char *)unit, prop, NULL};

	*skipped = !host_is_real();
	if (*skipped) {
		log_debug(
		    "not running systemctl set-property --runtime %s %s: the root is not /",
		    unit, prop);
		return 0;
	}
	return run(argv, NULL, err);
}
