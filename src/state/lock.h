/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Advisory file locks (flock(2)) with a bounded wait (design.md "State: the
 * journal and the locks").  One global lock, /run/vfiohook/lock, serialises
 * our runs that write (hook phases, release, reset); hugepage work also
 * takes Proxmox's own /var/lock/hugepages.lck (lock_take() on that path), so
 * we never race Proxmox's allocator.
 *
 * flock locks belong to the open file description: they are released when
 * the last descriptor for it is closed, including copies a fork()ed child
 * still holds.  The descriptors we return are O_CLOEXEC.
 */
#ifndef VFIOHOOK_LOCK_H
#define VFIOHOOK_LOCK_H

#define LOCK_GLOBAL_PATH "/run/vfiohook/lock"
#define LOCK_GLOBAL_TIMEOUT_MS 120000
#define LOCK_HUGEPAGES_PATH "/var/lock/hugepages.lck"

/*
 * Take an exclusive flock on abs_path (an absolute path under the host
 * root).  The file is created with mode 0600 if missing (its directory with
 * mode 0700 if missing); a symlink there is refused (-ELOOP), never followed.
 * Waits at most timeout_ms (polling LOCK_NB with short sleeps; 0 = try once),
 * and says once at info level when it waits longer than about a second.
 * Returns 0 with *fd_out, or -ETIMEDOUT / -errno with *err naming the file
 * and, where /proc/locks tells, the process that holds it.
 */
int lock_take(const char *abs_path, int timeout_ms, int *fd_out, char **err);

/* The global vfiohook lock: /run/vfiohook made safe (journal_dir_ensure()),
 * then lock_take(LOCK_GLOBAL_PATH, LOCK_GLOBAL_TIMEOUT_MS, ...). */
int lock_global(int *fd_out, char **err);

/* Unlock and close; fd < 0 is ignored. */
void lock_release(int fd);

/* Root-prefixed path of abs_path, for messages (allocated, never NULL). */
char *lock_path(const char *abs_path);

#endif
