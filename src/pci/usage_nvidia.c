// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A GPU the host's NVIDIA driver serves is in use while a process holds
 * its device node /dev/nvidiaN open — nvidia-persistenced, a transcoder
 * (Plex, Jellyfin), nvidia-smi, a container given the GPU — or, when it is
 * the only GPU on the nvidia driver, the driver-wide nodes every CUDA or
 * NVENC client opens (/dev/nvidiactl, /dev/nvidia-uvm, ...): those belong
 * to that one GPU then.  The nvidia driver's remove waits for its clients
 * to close, so unbinding it under them hangs the writer (kernel-facts.md,
 * "Unbinding some drivers can block"): refuse and name what to stop.
 *
 * N is the "Device Minor:" line of /proc/driver/nvidia/gpus/<bdf>/information
 * (present in every driver since 2xx); without it, the device's place in
 * the driver's list of GPUs, which is the order the minors were given.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "base/host.h"
#include "base/ids.h"
#include "pci/usage_int.h"

/* Nodes the driver shares among all its GPUs (nvidia-uvm-tools: profilers). */
static const char *const shared_nodes[] = {
    "/dev/nvidiactl",
    "/dev/nvidia-uvm",
    "/dev/nvidia-uvm-tools",
    "/dev/nvidia-modeset",
};

static void add_bdfs_of(struct strv *out, const char *dirpath)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	if (host_path(path, sizeof(path), "%s", dirpath) < 0)
		return;
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		unsigned dm, b, dv, f;

		if (bdf_parse(e->d_name, &dm, &b, &dv, &f) < 0 ||
		    strv_contains(out, e->d_name))
			continue;
		strv_add(out, e->d_name);
	}
	closedir(dir);
}

/* The GPUs on the nvidia driver: bound to it in sysfs, or listed by it. */
static const struct strv *gpus(struct usage_ctx *u)
{
	if (!u->nvidia_loaded) {
		u->nvidia_loaded = true;
		add_bdfs_of(&u->nvidia_gpus, "/proc/driver/nvidia/gpus");
		add_bdfs_of(&u->nvidia_gpus, "/sys/bus/pci/drivers/nvidia");
		strv_sort(&u->nvidia_gpus);
	}
	return &u->nvidia_gpus;
}

void usage_nvidia_free(struct usage_ctx *u)
{
	strv_clear(&u->nvidia_gpus);
	u->nvidia_loaded = false;
}

/* The minor number of the GPU bdf, or -1. */
static int minor_of(struct usage_ctx *u, const char *bdf)
{
	_cleanup_free_ char *info = NULL;
	const struct strv *g;
	char *save = NULL;

	if (host_read(&info, "/proc/driver/nvidia/gpus/%s/information", bdf) == 0) {
		for (char *l = strtok_r(info, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			unsigned long long m;
			char *v;

			if (!startswith(l, "Device Minor:"))
				continue;
			v = l + strlen("Device Minor:");
			v += strspn(v, " \t");
			v[strcspn(v, " \t\r")] = '\0';
			if (parse_uint(v, 255, &m) == 0)
				return (int)m;
		}
	}
	g = gpus(u);
	for (size_t i = 0; i < g->n; i++)
		if (streq(g->v[i], bdf))
			return (int)i;
	return -1;
}

/* Drop the reasons after from whose process an earlier one (from on)
 * names already: a client of /dev/nvidia0 has /dev/nvidiactl open too. */
static void one_per_process(struct usage_list *l, size_t from)
{
	size_t w = from;

	for (size_t i = from; i < l->n; i++) {
		bool seen = false;

		for (size_t j = from; j < w && !seen; j++)
			seen = l->v[j].pid == l->v[i].pid;
		if (seen)
			free(l->v[i].what);
		else
			l->v[w++] = l->v[i];
	}
	l->n = w;
}

void usage_check_nvidia(struct usage_ctx *u, const struct pdev *d, struct usage_list *out)
{
	const struct strv *g;
	size_t from = out->n;
	int minor;

	if (!streq(d->driver, "nvidia"))
		return;
	minor = minor_of(u, d->bdf);
	if (minor >= 0) {
		char target[32], subject[64];

		snprintf(target, sizeof(target), "/dev/nvidia%d", minor);
		snprintf(subject, sizeof(subject), "its NVIDIA device node %s", target);
		usage_check_open(u, target, USAGE_NVIDIA_OPEN, subject, true, out);
	}
	/* with another GPU on the driver, a client of the shared nodes may be
	 * using that one: its own /dev/nvidiaN says which */
	g = gpus(u);
	if (g->n > 1 || (g->n == 1 && !streq(g->v[0], d->bdf)))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(shared_nodes); i++) {
		char subject[160];

		snprintf(
		    subject, sizeof(subject),
		    "%s (the NVIDIA driver's shared node; this is the host's only GPU on the nvidia driver)",
		    shared_nodes[i]);
		usage_check_open(u, shared_nodes[i], USAGE_NVIDIA_OPEN, subject, true,
				 out);
	}
	one_per_process(out, from);
}
