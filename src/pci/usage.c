// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Who uses a device: the context and usage_check(), which asks every part
 * (usage_int.h) about one device.  See usage.h for what each reason looks
 * at.  Everything is read under the root (host.h), once per context.
 */
#include "pci/usage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "base/host.h"
#include "pci/usage_int.h"

int usage_open(struct usage_ctx **out)
{
	struct usage_ctx *u = xcalloc(1, sizeof(*u));
	int r;

	*out = NULL;
	r = usage_block_load(u);
	if (r < 0) {
		usage_close(u);
		return r;
	}
	*out = u;
	return 0;
}

void usage_close(struct usage_ctx *u)
{
	if (!u)
		return;
	usage_block_free(u);
	usage_net_free(u);
	usage_dev_free(u);
	usage_proc_free(u);
	usage_nvidia_free(u);
	free(u);
}

int usage_check(struct usage_ctx *u, const struct pdev *d, struct usage_list *out)
{
	char path[PATH_MAX];
	_cleanup_free_ char *devreal = NULL;
	int r;

	r = host_path(path, sizeof(path), "/sys/bus/pci/devices/%s", d->bdf);
	if (r < 0)
		return r;
	devreal = realpath(path, NULL);
	if (!devreal)
		return -errno;
	usage_check_blocks(u, devreal, out);
	usage_check_nets(u, devreal, out);
	usage_check_console(u, d, devreal, out);
	usage_check_drm(u, devreal, out);
	usage_check_nvidia(u, d, out);
	if (d->group >= 0)
		usage_check_vfio_group(u, d->group, out);
	if (d->vfio_dev)
		usage_check_vfio_cdev(u, devreal, out);
	return 0;
}
