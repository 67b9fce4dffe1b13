// SPDX-License-Identifier: GPL-2.0-or-later
#include "pci/reset.h"
#include "base/ids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "pci/inventory.h"

#define RESET_TIMEOUT_MS 30000

static bool has_method(const char *list, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = list; p && *p;) {
		while (*p == ' ')
			p++;
		if (strncmp(p, m, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p = strchr(p, ' ');
	}
	return false;
}

int reset_verify(const char *bdf, char **err)
{
	char path[PATH_MAX];
	unsigned char id[2];
	_cleanup_free_ char *ps = NULL;
	int fd;
	ssize_t n;

	if (host_path(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, "%s: cannot read config space: %s", bdf,
			    strerror(errno)),
		       -EIO;
	n = pread(fd, id, sizeof(id), 0);
	close(fd);
	if (n != 2 || (id[0] == 0xff && id[1] == 0xff))
		return errf(
			   err,
			   "%s does not answer after reset (vendor reads 0xffff): the device is hung; a host reboot may be needed",
			   bdf),
		       -EIO;
	/* vfio-pci parks an idle device in D3hot, so only D3cold (the device
	 * lost power) is worth a warning */
	if (host_read(&ps, "/sys/bus/pci/devices/%s/power_state", bdf) == 0 &&
	    startswith(ps, "D3cold"))
		log_warn(
		    "%s is in power state %s after reset; if it does not come back, load vfio-pci with disable_idle_d3=1",
		    bdf, ps);
	else if (ps)
		log_debug("%s: power state %s after reset", bdf, ps);
	return 0;
}

/* Every PCI device on the same bus (children of the same parent) is ours. */
static bool bus_is_ours(const char *bdf, const struct strv *ours, char **who)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;
	struct dirent *e;
	bool ok = true;
	DIR *d;

	if (host_path(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf) < 0 ||
	    !realpath(path, real))
		return false;
	slash = strrchr(real, '/');
	if (!slash)
		return false;
	*slash = '\0';
	d = opendir(real);
	if (!d)
		return false;
	while ((e = readdir(d))) {
		unsigned a, b, c, f;

		if (bdf_parse(e->d_name, &a, &b, &c, &f) < 0)
			continue;
		if (!strv_contains(ours, e->d_name)) {
			*who = xstrdup(e->d_name);
			ok = false;
			break;
		}
	}
	closedir(d);
	return ok;
}

/*
 * Reset with `methods` selected (NULL: as the device's reset_method is).
 * The reset_method the device had is put back afterwards: the admin's or
 * vendor-reset's choice ("device_specific") must survive, never "default"
 * by assumption.
 */
static int do_reset(const char *bdf, const char *methods, char **err)
{
	_cleanup_free_ char *saved = NULL;
	int r, r2 = 0;

	if (methods) {
		host_read(&saved, "/sys/bus/pci/devices/%s/reset_method", bdf);
		r = host_write(methods, "/sys/bus/pci/devices/%s/reset_method", bdf);
		if (r < 0)
			return errnof(
			    err, r,
			    "%s: reset method '%s' is not supported by this device (%s); see /sys/bus/pci/devices/%s/reset_method",
			    bdf, methods, strerror(-r), bdf);
	}
	log_debug("%s: resetting (%s)", bdf,
		  methods ? methods : "kernel's default method");
	r = host_write_timeout(RESET_TIMEOUT_MS, "1", "/sys/bus/pci/devices/%s/reset",
			       bdf);
	if (methods)
		r2 = host_write(saved && *saved ? saved : "default",
				"/sys/bus/pci/devices/%s/reset_method", bdf);
	if (r == -ENOTTY)
		return errnof(
		    err, r,
		    "%s: reset%s%s failed: the kernel could not reset it (ENOTTY)", bdf,
		    methods ? " by " : "", methods ? methods : "");
	if (r < 0)
		return errnof(err, r, "%s: reset failed: %s", bdf, strerror(-r));
	if (r2 < 0)
		log_warn("%s: could not put reset_method back to '%s': %s", bdf,
			 saved ? saved : "default", strerror(-r2));
	return reset_verify(bdf, err);
}

int reset_device(const char *bdf, enum reset_mode mode, const char *methods_wanted,
		 const struct strv *ours, char **note, char **err)
{
	_cleanup_free_ char *methods = NULL, *who = NULL;

	*note = NULL;
	if (mode == RESET_OFF) {
		*note = xstrdup("not reset (reset = off)");
		return 0;
	}
	if (!host_exists("/sys/bus/pci/devices/%s/reset", bdf)) {
		*note = xstrdup("no reset method: handed back as it is");
		return 0;
	}
	if (mode == RESET_METHODS) {
		*note = xasprintf("reset by %s", methods_wanted);
		return do_reset(bdf, methods_wanted, err);
	}

	host_read(&methods, "/sys/bus/pci/devices/%s/reset_method", bdf);
	if (has_method(methods, "device_specific")) {
		*note = xstrdup("reset by its device-specific method");
		return do_reset(bdf, NULL, err);
	}
	if (has_method(methods, "flr") || has_method(methods, "af_flr")) {
		*note = xstrdup("vfio-pci reset it with FLR when QEMU closed it");
		return 0;
	}
	if (has_method(methods, "bus")) {
		if (bus_is_ours(bdf, ours, &who)) {
			_cleanup_free_ char *bus_err = NULL;

			if (do_reset(bdf, "bus", &bus_err) == 0) {
				*note = xstrdup("reset by bus");
				return 0;
			}
			/* A secondary bus reset can fail where the kernel's first
			 * method works (6.1 gives ENOTTY when the link never
			 * reports active again): fall back to that, if there is
			 * another one. */
			if (!has_method(methods, "pm")) {
				*err = bus_err;
				bus_err = NULL;
				return -EIO;
			}
			*note = xasprintf(
			    "bus reset failed (%s), then reset by the kernel's default method",
			    bus_err);
			return do_reset(bdf, NULL, err);
		}
		*note = xasprintf("no bus reset: %s on the same bus is not this VM's",
				  who ? who : "another device");
		return 0;
	}
	*note = xasprintf("vfio-pci reset it (%s) when QEMU closed it",
			  methods ? methods : "no method");
	return 0;
}
