// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/irqwatch.h"

#include <errno.h>
#include <stdio.h>

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

struct watch_args {
	unsigned vmid;
	pid_t qemu;
	const struct strv *bdfs;
	const struct cpuset *cpus;
	unsigned seconds;
};

static void watch_detached(void *arg)
{
	const struct watch_args *a = arg;

	watch(a->vmid, a->qemu, a->bdfs, a->cpus, a->seconds);
}

int irqwatch_start(unsigned vmid, pid_t qemu, const struct strv *bdfs,
		   const struct cpuset *cpus, unsigned seconds, char **err)
{
	struct watch_args a = {vmid, qemu, bdfs, cpus, seconds};
	int r = host_spawn_detached(watch_detached, &a);

	if (r < 0)
		return errnof(err, r, "cannot start the interrupt watcher: %s",
			      strerror(-r));
	return 0;
}
