// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device's own nodes: the console on its framebuffer, its DRM nodes
 * open by a compositor or a transcoder, its VFIO group or VFIO device open
 * by another VM or a process (usage.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "base/host.h"
#include "pci/usage_int.h"

void usage_dev_free(struct usage_ctx *u)
{
	usage_clsset_clear(&u->graphics);
	usage_clsset_clear(&u->drm);
}

/* Firmware framebuffers sit on the boot display without a link to it. */
static bool firmware_fb(const char *devreal)
{
	const char *b = usage_basename(devreal);

	return startswith(b, "efi-framebuffer") || startswith(b, "simple-framebuffer") ||
	       startswith(b, "vesa-framebuffer");
}

void usage_check_console(struct usage_ctx *u, const struct pdev *d, const char *devreal,
			 struct usage_list *out)
{
	struct clsset *c;

	if (d->boot_vga != 1)
		return;
	c = usage_classes(&u->graphics, "graphics");
	for (size_t i = 0; i < c->n; i++) {
		const struct cls *fb = &c->v[i];
		char link[PATH_MAX * 2];
		_cleanup_free_ char *fbdev = NULL;
		_cleanup_free_ char *fbname = NULL;

		if (!startswith(fb->name, "fb"))
			continue;
		snprintf(link, sizeof(link), "%s/device", fb->real);
		fbdev = realpath(link, NULL);
		if (!usage_below(fb->real, devreal) &&
		    !(fbdev && (streq(fbdev, devreal) || usage_below(fbdev, devreal) ||
				firmware_fb(fbdev))))
			continue;
		fbname = usage_read_at(fb->real, "name");
		usage_addf(
		    out, USAGE_CONSOLE, false,
		    "it is the boot display (boot_vga=1) and framebuffer %s%s%s%s is bound to it: the host console runs on it",
		    fb->name, fbname && *fbname ? " (" : "", fbname ? fbname : "",
		    fbname && *fbname ? ")" : "");
		return;
	}
}

static bool drm_node_name(const char *name)
{
	/* card0-DP-1 and the like are connectors, not nodes */
	return (startswith(name, "card") || startswith(name, "renderD")) &&
	       !strchr(name, '-');
}

static void check_drm_node(struct usage_ctx *u, const char *name, struct usage_list *out)
{
	char target[PATH_MAX], subject[PATH_MAX + 32];

	snprintf(target, sizeof(target), "/dev/dri/%s", name);
	snprintf(subject, sizeof(subject), "its DRM node %s", target);
	usage_check_open(u, target, USAGE_DRM_OPEN, subject, false, out);
}

void usage_check_drm(struct usage_ctx *u, const char *devreal, struct usage_list *out)
{
	struct clsset *c = usage_classes(&u->drm, "drm");
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	for (size_t i = 0; i < c->n; i++)
		if (drm_node_name(c->v[i].name) && usage_below(c->v[i].real, devreal))
			check_drm_node(u, c->v[i].name, out);
	/* nodes in the device's own drm/ directory that /sys/class/drm lacks */
	if ((size_t)snprintf(dir, sizeof(dir), "%s/drm", devreal) >= sizeof(dir))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char sub[PATH_MAX * 2];

		if (!drm_node_name(e->d_name))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (!usage_known_real(c, sub))
			check_drm_node(u, e->d_name, out);
	}
	closedir(d);
}

int usage_check_vfio_group(struct usage_ctx *u, int group, struct usage_list *out)
{
	char target[64], subject[128];

	if (group < 0)
		return -EINVAL;
	snprintf(target, sizeof(target), "/dev/vfio/%d", group);
	snprintf(subject, sizeof(subject), "IOMMU group %d (%s)", group, target);
	usage_check_open(u, target, USAGE_VFIO_OPEN, subject, false, out);
	return 0;
}

/* The iommufd-style per-device node /dev/vfio/devices/vfioN (6.1+ vfio-dev/). */
void usage_check_vfio_cdev(struct usage_ctx *u, const char *devreal,
			   struct usage_list *out)
{
	char path[PATH_MAX * 2];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/vfio-dev", devreal);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char target[PATH_MAX], subject[PATH_MAX + 32];

		if (!startswith(e->d_name, "vfio"))
			continue;
		snprintf(target, sizeof(target), "/dev/vfio/devices/%s", e->d_name);
		snprintf(subject, sizeof(subject), "its VFIO device %s", target);
		usage_check_open(u, target, USAGE_VFIO_OPEN, subject, false, out);
	}
	closedir(dir);
}
