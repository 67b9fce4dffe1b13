/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Proxmox's PCI id reservations, /run/qemu-server/pci-id-reservations
 * (PVE/QemuServer/PCI.pm reserve_pci_usage): one line per id,
 *   "<pciid> <vmid> time:<epoch>"  reserved while a start is under way,
 *   "<pciid> <vmid> pid:<pid>"     held by a running QEMU.
 * Read-only here: Proxmox writes it under its own lock file.
 */
#ifndef VFIOHOOK_RESERVATION_H
#define VFIOHOOK_RESERVATION_H

#include <stdbool.h>
#include <stddef.h>

struct reservation {
	char *id; /* full BDF: ids without a domain get "0000:" */
	unsigned vmid;
	/* time: the epoch is still in the future; pid: the VM runs with that pid
	 * (pve_vm_running_pid), as Proxmox checks before taking the device */
	bool live;
	char kind;	 /* 't' (time) or 'p' (pid) */
	long long value; /* the epoch or the pid */
};

struct reservations {
	struct reservation *v;
	size_t n;
};

/*
 * Parse the file's text (pure except for the liveness checks, which use
 * `now` and pve_vm_running_pid()).  Lines of another shape are
 * ignored, as Proxmox ignores them; for an id listed twice the later line
 * wins, as in Proxmox's hash.
 */
int reservation_parse(const char *text, long long now, struct reservations **out);
/* Read <root>/run/qemu-server/pci-id-reservations; absent file: empty list. */
int reservation_read(struct reservations **out, char **err);
/* The vmid of another VM (not vmid) holding a live reservation of bdf, or 0. */
unsigned reservation_other_vm(const struct reservations *r, const char *bdf,
			      unsigned vmid);
void reservation_free(struct reservations *r);

#endif
