// SPDX-License-Identifier: GPL-2.0-or-later
#include "pci/bind.h"

#include <errno.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"

char *bind_current_driver(const char *bdf)
{
	char *drv = NULL;

	if (host_readlink_base(&drv, "/sys/bus/pci/devices/%s/driver", bdf) < 0)
		return NULL;
	return drv;
}

char *bind_current_override(const char *bdf)
{
	char *s = NULL;

	if (host_read(&s, "/sys/bus/pci/devices/%s/driver_override", bdf) < 0)
		return NULL;
	if (!*s || streq(s, "(null)")) {
		free(s);
		return NULL;
	}
	return s;
}

int bind_wait_driver(const char *bdf, const char *want, int timeout_ms)
{
	uint64_t deadline = host_now_ms() + (uint64_t)timeout_ms;
	unsigned nap = 1;

	for (;;) {
		_cleanup_free_ char *drv = bind_current_driver(bdf);

		if (want ? streq(drv, want) : !drv)
			return 0;
		if (host_now_ms() >= deadline)
			return -ETIMEDOUT;
		host_sleep_ms(nap);
		if (nap < 50)
			nap *= 2;
	}
}

/* A bounded sysfs write, announced first (at debug level: the engine
 * announces the whole move in the task log), with a message on failure. */
static int kwrite(const char *what, const char *value, char **err, const char *path)
{
	int r;

	log_debug("%s", what);
	r = host_write_timeout(BIND_WRITE_TIMEOUT_MS, value, "%s", path);
	if (r == -ETIMEDOUT)
		return errf(
			   err,
			   "%s: writing '%s' to %s did not return within %d s; the driver is stuck (check dmesg); a host reboot may be needed",
			   what, value, path, BIND_WRITE_TIMEOUT_MS / 1000),
		       r;
	if (r < 0)
		return errf(err, "%s: writing '%s' to %s failed: %s", what, value, path,
			    strerror(-r)),
		       r;
	return 0;
}

static int set_override(const char *bdf, const char *value, char **err)
{
	char path[96], what[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if (value)
		snprintf(what, sizeof(what), "%s: driver_override = %s", bdf, value);
	else
		snprintf(what, sizeof(what), "%s: clearing driver_override", bdf);
	return kwrite(what, value ? value : "", err, path);
}

static int unbind(const char *bdf, const char *drv, char **err)
{
	char path[128], what[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", drv);
	snprintf(what, sizeof(what), "%s: unbinding from %s", bdf, drv);
	return kwrite(what, bdf, err, path);
}

static int probe(const char *bdf, char **err)
{
	char what[96];

	snprintf(what, sizeof(what), "%s: asking the kernel to probe drivers", bdf);
	return kwrite(what, bdf, err, "/sys/bus/pci/drivers_probe");
}

int bind_to_vfio(const char *bdf, char **err)
{
	_cleanup_free_ char *drv = bind_current_driver(bdf);
	_cleanup_free_ char *ovr = bind_current_override(bdf);
	int r;

	if (!streq(ovr, "vfio-pci")) {
		r = set_override(bdf, "vfio-pci", err);
		if (r < 0)
			return r;
	}
	if (streq(drv, "vfio-pci"))
		return 0;
	if (drv) {
		r = unbind(bdf, drv, err);
		/* it may have gone away meanwhile: the probe below decides */
		if (r < 0 && bind_current_driver(bdf))
			return r;
	}
	r = probe(bdf, err);
	if (r < 0)
		return r;
	r = bind_wait_driver(bdf, "vfio-pci", BIND_WAIT_MS);
	if (r < 0) {
		_cleanup_free_ char *now = bind_current_driver(bdf);
		return errf(
			   err,
			   "%s did not bind to vfio-pci within %d s (driver now: %s); check dmesg for vfio-pci errors",
			   bdf, BIND_WAIT_MS / 1000, now ? now : "none"),
		       r;
	}
	log_debug("%s: on vfio-pci", bdf);
	return 0;
}

int bind_set_override(const char *bdf, const char *value, char **err)
{
	return set_override(bdf, value, err);
}

int bind_give_back(const char *bdf, const char *driver, bool do_probe, char **err)
{
	_cleanup_free_ char *drv = bind_current_driver(bdf);
	int r;

	/* driver_override = the original driver makes the probe choose exactly
	 * it; without one, the kernel picks by ids (kernel-facts.md) */
	r = set_override(bdf, driver, err);
	if (r < 0)
		return r;
	if (drv && !streq(drv, driver)) {
		r = unbind(bdf, drv, err);
		if (r < 0 && bind_current_driver(bdf))
			return r;
	}
	if (driver || do_probe) {
		r = probe(bdf, err);
		if (r < 0)
			return r;
	}
	if (driver) {
		r = bind_wait_driver(bdf, driver, BIND_WAIT_MS);
		if (r < 0) {
			_cleanup_free_ char *now = bind_current_driver(bdf);
			errf(
			    err,
			    "%s did not bind back to %s within %d s (driver now: %s); is module %s loaded? check dmesg",
			    bdf, driver, BIND_WAIT_MS / 1000, now ? now : "none", driver);
			set_override(bdf, NULL, NULL);
			return r;
		}
		r = set_override(bdf, NULL, err);
		if (r < 0)
			return r;
		log_debug("%s: back on %s", bdf, driver);
	} else if (do_probe) {
		/* the override was cleared before the probe, so the kernel chose
		 * by ids (a vfio-pci.ids= table may pick vfio-pci again) */
		_cleanup_free_ char *now = bind_current_driver(bdf);

		log_debug("%s: the kernel chose %s", bdf, now ? now : "no driver");
	} else {
		log_debug("%s: left without a driver, as it was before", bdf);
	}
	return 0;
}
