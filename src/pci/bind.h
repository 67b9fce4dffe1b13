/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Moving a device between drivers with the canonical sequence that
 * driverctl and libvirt use (kernel-facts.md): driver_override, unbind,
 * drivers_probe, then read the driver link back.  Never new_id: it grabs
 * every other device with the same ids, now and at every later probe.
 *
 * Every step is idempotent, so a run killed half-way is finished by
 * running the same function again.  Each slow kernel write is announced
 * at info level first, so a hang is visible in Proxmox's task log, and is
 * bounded in time.
 */
#ifndef VFIOHOOK_BIND_H
#define VFIOHOOK_BIND_H

#include <stdbool.h>

/* How long one sysfs write or the wait for a driver link may take. */
#define BIND_WRITE_TIMEOUT_MS 30000
#define BIND_WAIT_MS 10000

/* Current driver of bdf (NULL when unbound) and driver_override (NULL when
 * unset; the kernel shows "(null)"). */
char *bind_current_driver(const char *bdf);
char *bind_current_override(const char *bdf);

/* Put bdf on vfio-pci and leave driver_override = vfio-pci, so that no
 * rescan hands it back to a host driver while the VM runs. */
int bind_to_vfio(const char *bdf, char **err);

/*
 * Give bdf back: to `driver` when not NULL (the one it had before), to
 * whatever the kernel picks when driver is NULL and probe is true, or
 * leave it unbound when probe is false.  driver_override is cleared.
 */
int bind_give_back(const char *bdf, const char *driver, bool probe, char **err);

/* Write driver_override (NULL or "": clear it), bounded and announced. */
int bind_set_override(const char *bdf, const char *value, char **err);

/* Wait (bounded) until bdf's driver is `want` (NULL: unbound). */
int bind_wait_driver(const char *bdf, const char *want, int timeout_ms);

#endif
