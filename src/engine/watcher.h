/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The start watcher.  Proxmox runs no post-stop when a start fails after
 * pre-start (a mapping check, a bind, QEMU itself): the cleanup flag is only
 * written once QEMU is up (proxmox-facts.md).  So pre-start leaves a small
 * detached process behind that waits, bounded, for the VM's QEMU:
 *
 *   - QEMU comes up (pid file naming a live process, or Proxmox's cleanup
 *     flag): it exits at once; post-stop will come;
 *   - the journal goes away or is replaced (post-stop, release, a new
 *     start): it exits;
 *   - the start timeout passes (Proxmox's config-aware timeout + 5 s, or
 *     policy start-timeout): under the global lock it gives every device
 *     back as it was before pre-start (the guest never ran, so storage
 *     controllers go back too), removes the journal and exits.  While a
 *     QEMU of the VM is still starting (its command line names the VM's
 *     pid file, which it has not written yet), the timeout waits for it,
 *     up to Proxmox's own start timeout + 5 s (by then Proxmox has given
 *     up on that QEMU): devices are never pulled from under a QEMU that is
 *     opening them.
 *
 * It never outlives the larger of the two timeouts by more than one
 * give-back.  Its output goes to syslog (its stdout and stderr are
 * /dev/null: Proxmox reads the hook's output until EOF, and the task must
 * not wait for the watcher).
 */
#ifndef VFIOHOOK_WATCHER_H
#define VFIOHOOK_WATCHER_H

#include <stdbool.h>
#include <stdint.h>

enum watch_result {
	WATCH_QEMU_UP,
	WATCH_JOURNAL_GONE, /* removed, or no longer this start's */
	WATCH_TIMED_OUT,
};

/* True when the VM's QEMU is up (or has been: Proxmox's cleanup flag). */
bool watcher_qemu_seen(unsigned vmid);

/*
 * Wait until one of the above, polling every poll_ms, for at most
 * timeout_ms, or while a QEMU of the VM is starting for at most hold_ms.
 * started identifies the start (the journal's "started").
 */
enum watch_result watcher_wait(unsigned vmid, long long started, uint64_t timeout_ms,
			       uint64_t hold_ms, unsigned poll_ms);

/*
 * After WATCH_TIMED_OUT: take the global lock, check again that the start
 * is still unanswered, give the devices back, remove the journal.
 * Returns 0 (also when there was nothing left to do), 1 when may_hold and a
 * QEMU of the VM began starting in the meantime (wait again; nothing
 * changed), or -errno with *err.
 */
int watcher_give_back(unsigned vmid, long long started, bool may_hold, char **err);

/*
 * Leave the watcher for this start: a double fork, the grandchild in its
 * own session with no descriptor of ours (the global lock in particular).
 * timeout_s is the start timeout, hold_s how long a starting QEMU may hold
 * it (Proxmox's own start timeout + 5 s).  Returns 0 once it is on its way
 * (the caller does not wait for it), or -errno with *err.
 */
int watcher_start(unsigned vmid, long long started, unsigned timeout_s, unsigned hold_s,
		  char **err);

#endif
