// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/watcher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/host.h"
#include "base/log.h"
#include "engine/lifecycle.h"
#include "engine/observe.h"
#include "pve/runstate.h"
#include "state/journal.h"
#include "state/lock.h"

bool watcher_qemu_seen(unsigned vmid)
{
	/* Proxmox's own test (a QEMU with that -pidfile), then its cleanup
	 * flag, written once QEMU was up: post-stop will come */
	return pve_vm_running_pid(vmid) > 0 ||
	       host_exists("/run/qemu-server/%u.cleanup", vmid) ||
	       host_exists("/var/run/qemu-server/%u.cleanup", vmid);
}

/* The journal still describes this start, unanswered. */
static bool still_ours(unsigned vmid, long long started, struct journal **out)
{
	struct journal *j = NULL;
	_cleanup_free_ char *err = NULL;

	if (journal_load(vmid, &j, &err) < 0)
		return false;
	if (!streq(j->phase, "pre-start") || j->started != started) {
		journal_free(j);
		return false;
	}
	if (out)
		*out = j;
	else
		journal_free(j);
	return true;
}

enum watch_result watcher_wait(unsigned vmid, long long started, uint64_t timeout_ms,
			       uint64_t hold_ms, unsigned poll_ms)
{
	uint64_t now = host_now_ms(), deadline = now + timeout_ms, hold = now + hold_ms;
	bool told = false;

	for (;;) {
		long starting;

		if (watcher_qemu_seen(vmid))
			return WATCH_QEMU_UP;
		if (!still_ours(vmid, started, NULL))
			return WATCH_JOURNAL_GONE;
		now = host_now_ms();
		if (now >= deadline) {
			/* a QEMU of the VM that has not written its pid file yet
			 * is a start still under way: never pull its devices,
			 * until Proxmox itself has given up on it */
			starting = now < hold ? pve_vm_starting_pid(vmid) : 0;
			if (!starting)
				return WATCH_TIMED_OUT;
			if (!told)
				log_info(
				    "VM %u: its QEMU (pid %ld) is still starting after the start timeout; waiting for it before giving anything back",
				    vmid, starting);
			told = true;
		}
		host_sleep_ms(poll_ms);
	}
}

int watcher_give_back(unsigned vmid, long long started, bool may_hold, char **err)
{
	struct journal *j = NULL;
	struct policy pol;
	int fd = -1, r;
	bool up;

	r = lock_global(&fd, err);
	if (r < 0)
		return r;
	up = watcher_qemu_seen(vmid);
	/* a QEMU that began starting in the meantime: wait for it again */
	if (!up && may_hold && pve_vm_starting_pid(vmid) > 0) {
		lock_release(fd);
		return 1;
	}
	/* a start that came late, or a post-stop or release, wins the race */
	if (up || !still_ours(vmid, started, &j)) {
		lock_release(fd);
		return 0;
	}
	log_warn(
	    "VM %u: no QEMU came up after its pre-start: giving its devices back as they were",
	    vmid);
	lifecycle_policy(vmid, &pol);
	r = lifecycle_release(j, &pol, GB_NEVER_RAN, "watcher", false, err);
	if (r == 0)
		log_info("VM %u: devices given back", vmid);
	policy_clear(&pol);
	journal_free(j);
	lock_release(fd);
	return r;
}

struct watch_args {
	unsigned vmid;
	long long started;
	unsigned timeout_s, hold_s;
};

static void watch_detached(void *arg)
{
	const struct watch_args *a = arg;
	uint64_t timeout_ms = (uint64_t)a->timeout_s * 1000;
	unsigned hold_s = a->hold_s > a->timeout_s ? a->hold_s : a->timeout_s;
	uint64_t hold_until = host_now_ms() + (uint64_t)hold_s * 1000;
	_cleanup_free_ char *e = NULL;
	int r = 1;

	log_debug("VM %u: watching for its QEMU for %u s (%u s while one is starting)",
		  a->vmid, a->timeout_s, hold_s);
	while (r == 1) {
		uint64_t now = host_now_ms(),
			 hold = hold_until > now ? hold_until - now : 0;

		if (watcher_wait(a->vmid, a->started, timeout_ms, hold, 250) !=
		    WATCH_TIMED_OUT)
			break;
		r = watcher_give_back(a->vmid, a->started, host_now_ms() < hold_until,
				      &e);
		timeout_ms = 0; /* past the timeout: only a starting QEMU holds it */
	}
	if (r < 0)
		log_err("VM %u: %s", a->vmid, e ? e : "giving the devices back failed");
}

int watcher_start(unsigned vmid, long long started, unsigned timeout_s, unsigned hold_s,
		  char **err)
{
	struct watch_args a = {vmid, started, timeout_s, hold_s};
	int r = host_spawn_detached(watch_detached, &a);

	if (r < 0)
		return errnof(err, r, "cannot start the start watcher: %s", strerror(-r));
	return 0;
}
