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
			       unsigned poll_ms)
{
	uint64_t deadline = host_now_ms() + timeout_ms;

	for (;;) {
		if (watcher_qemu_seen(vmid))
			return WATCH_QEMU_UP;
		if (!still_ours(vmid, started, NULL))
			return WATCH_JOURNAL_GONE;
		if (host_now_ms() >= deadline)
			return WATCH_TIMED_OUT;
		host_sleep_ms(poll_ms);
	}
}

int watcher_give_back(unsigned vmid, long long started, char **err)
{
	struct journal *j = NULL;
	struct policy pol;
	int fd = -1, r;

	r = lock_global(&fd, err);
	if (r < 0)
		return r;
	/* a start that came late, or a post-stop or release, wins the race */
	if (watcher_qemu_seen(vmid) || !still_ours(vmid, started, &j)) {
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
	unsigned timeout_s;
};

static void watch_detached(void *arg)
{
	const struct watch_args *a = arg;
	_cleanup_free_ char *e = NULL;

	log_debug("VM %u: watching for its QEMU for %u s", a->vmid, a->timeout_s);
	if (watcher_wait(a->vmid, a->started, (uint64_t)a->timeout_s * 1000, 250) ==
		WATCH_TIMED_OUT &&
	    watcher_give_back(a->vmid, a->started, &e) < 0)
		log_err("VM %u: %s", a->vmid, e ? e : "giving the devices back failed");
}

int watcher_start(unsigned vmid, long long started, unsigned timeout_s, char **err)
{
	struct watch_args a = {vmid, started, timeout_s};
	int r = host_spawn_detached(watch_detached, &a);

	if (r < 0)
		return errnof(err, r, "cannot start the start watcher: %s", strerror(-r));
	return 0;
}
