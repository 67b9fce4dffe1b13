// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/watcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* In the grandchild: nothing of the hook's stays open. */
static void detach(void)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	close_range(3, ~0U, 0);
	if (chdir("/") < 0)
		_exit(1);
	signal(SIGHUP, SIG_IGN);
}

int watcher_start(unsigned vmid, long long started, unsigned timeout_s, char **err)
{
	pid_t pid, w;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return errnof(err, -errno, "cannot start the start watcher: fork: %s",
			      strerror(errno));
	if (pid == 0) {
		_cleanup_free_ char *e = NULL;

		if (setsid() < 0 || (pid = fork()) < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		detach();
		log_setup(log_get_level(), true);
		log_debug("VM %u: watching for its QEMU for %u s", vmid, timeout_s);
		if (watcher_wait(vmid, started, (uint64_t)timeout_s * 1000, 250) ==
			WATCH_TIMED_OUT &&
		    watcher_give_back(vmid, started, &e) < 0)
			log_err("VM %u: %s", vmid,
				e ? e : "giving the devices back failed");
		_exit(0);
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return errnof(err, -ECHILD, "cannot start the start watcher");
	return 0;
}
