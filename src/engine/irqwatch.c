// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/irqwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "sys/irq.h"

int irq_steer(const struct strv *bdfs, const struct cpuset *cpus, char **err)
{
	_cleanup_free_ char *list = cpuset_format(cpus);
	struct vfio_irq *v = NULL;
	size_t n = 0;
	int steered = 0, ret;

	ret = irq_list_vfio(bdfs, &v, &n);
	if (ret < 0) {
		free(v);
		return errnof(err, ret, "cannot read /proc/interrupts: %s",
			      strerror(-ret));
	}
	for (size_t i = 0; i < n; i++) {
		struct cpuset now;

		if (irq_affinity(v[i].irq, &now) == 0 && cpuset_equal(&now, cpus))
			continue;
		ret = irq_set_affinity(v[i].irq, cpus, err);
		if (ret < 0) {
			free(v);
			return ret;
		}
		log_info("interrupt %u (%s) to CPU(s) %s", v[i].irq, v[i].name, list);
		steered++;
	}
	free(v);
	return steered;
}

static void watch(unsigned vmid, pid_t qemu, const struct strv *bdfs,
		  const struct cpuset *cpus, unsigned seconds)
{
	uint64_t deadline = host_now_ms() + (uint64_t)seconds * 1000;

	while (host_now_ms() < deadline && host_exists("/proc/%d", (int)qemu)) {
		_cleanup_free_ char *err = NULL;

		if (irq_steer(bdfs, cpus, &err) < 0) {
			log_warn("VM %u: %s; interrupt steering stops", vmid, err);
			return;
		}
		host_sleep_ms(IRQWATCH_POLL_MS);
	}
	log_debug("VM %u: interrupt watcher done", vmid);
}

/* In the grandchild: nothing of the hook's stays open, so Proxmox, which
 * reads the hook's output until EOF, does not wait for us. */
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

int irqwatch_start(unsigned vmid, pid_t qemu, const struct strv *bdfs,
		   const struct cpuset *cpus, unsigned seconds, char **err)
{
	pid_t pid, w;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return errnof(err, -errno, "cannot start the interrupt watcher: fork: %s",
			      strerror(errno));
	if (pid == 0) {
		if (setsid() < 0 || (pid = fork()) < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		detach();
		log_setup(log_get_level(), true);
		watch(vmid, qemu, bdfs, cpus, seconds);
		_exit(0);
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return errnof(err, -ECHILD, "cannot start the interrupt watcher");
	return 0;
}
