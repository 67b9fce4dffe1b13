/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Chaining: a Proxmox VM has one hookscript slot.  `vfiohook enable VMID
 * --chain` takes the slot and records the script that was there as policy
 * `chain = STORAGE:snippets/NAME` under [vm VMID] in /etc/vfiohook.conf
 * (root's file only: engine/policy.h).  vfiohook then runs it after its own
 * work in every phase, exactly as Proxmox would have (proxmox-facts.md):
 * exec'd directly with argv [path, VMID, PHASE], our environment (LC_ALL,
 * PATH, PVE_MIGRATED_FROM ... as Proxmox set them), our stdin, stdout and
 * stderr, no timeout.
 *
 * Functions return 0 or a negative errno with *err naming the volume and the
 * file; the caller adds what to do, which depends on where it is.
 */
#ifndef VFIOHOOK_CHAIN_H
#define VFIOHOOK_CHAIN_H

/*
 * The host path (under the root) of a snippets volume, checked as Proxmox
 * checks a hookscript: the storage has the `snippets` content type, the
 * file exists, is a regular file (symlinks followed) and executable.
 * -ELOOP when it is vfiohook itself (chaining it would run forever).
 */
int chain_resolve(const char *volid, char **path, char **err);

/*
 * Run the chained hookscript volid for vmid and phase and wait for it.
 * *status gets its exit status, or 128 + the signal that killed it.
 * Errors: chain_resolve's, or fork/exec failing.
 */
int chain_run(const char *volid, unsigned vmid, const char *phase, int *status,
	      char **err);

/*
 * The text of /etc/vfiohook.conf with `chain = volid` set under [vm vmid]
 * (volid NULL: every chain line of that VM removed).  Other lines, comments
 * and sections stay as they are; a missing section is appended.  Pure.
 */
char *chain_conf_edit(const char *text, unsigned vmid, const char *volid);

/*
 * Apply chain_conf_edit to POLICY_CONF_PATH under the root (created 0644 if
 * missing, written atomically, its mode kept).  Refused when the result
 * does not parse (a file already broken is named, not made worse).
 */
int chain_conf_write(unsigned vmid, const char *volid, char **err);

#endif
