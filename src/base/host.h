/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every path the program reads or writes under /sys, /proc, /dev, /etc/pve,
 * /run and /var/lock is built here, under one root (default "/"), so tests
 * can run the real binary on a kernel-shaped fake tree (design.md: "every
 * path under one root").  Like util-linux's path context, readers take
 * printf-style paths.
 *
 * All functions return 0 (or a byte count) on success and a negative errno
 * on failure; none of them logs, so callers decide what a missing file means.
 */
#ifndef VFIOHOOK_HOST_H
#define VFIOHOOK_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* Set the root ("/" or NULL: the real host) and the Proxmox node name
 * (NULL: the short host name). */
int host_setup(const char *root, const char *node);
void host_cleanup(void);

/* The root prefix without trailing slash: "" for the real host. */
const char *host_root(void);
/* True when the root is "/": only then are syscalls that a fake tree cannot
 * honour (module loading, sched_setaffinity, /proc scans of real pids) made. */
bool host_is_real(void);
const char *host_node(void);

/* Build "<root><abs path>" into buf; -ENAMETOOLONG if it does not fit. */
int host_path(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
/* The same, allocated (never NULL). */
char *host_pathdup(const char *fmt, ...) _printf_(1, 2);

/* Read a whole (small, <1 MiB) file; one trailing newline is stripped. */
int host_read(char **out, const char *fmt, ...) _printf_(2, 3);
/* The same, for text that may hold NUL bytes: *len is its length (after
 * the stripped newline). */
int host_read_len(char **out, size_t *len, const char *fmt, ...) _printf_(3, 4);
/* Read a file holding one integer (decimal, or 0x-hex). */
int host_read_long(long *out, const char *fmt, ...) _printf_(2, 3);
/* The last component of a symlink's target (driver, iommu_group links). */
int host_readlink_base(char **out, const char *fmt, ...) _printf_(2, 3);
bool host_exists(const char *fmt, ...) _printf_(1, 2);

/* Write value to an existing file (sysfs attribute): no O_CREAT, one
 * write(2) of the whole value, as sysfs wants. */
int host_write(const char *value, const char *fmt, ...) _printf_(2, 3);

/*
 * The same, but bounded in time: some drivers block in unbind for a long
 * time (nvidia with clients, amdgpu; kernel-facts.md).  The write happens in
 * a child process; after timeout_ms the caller gets -ETIMEDOUT and the child
 * is left to finish on its own (it cannot be killed while in the kernel).
 */
int host_write_timeout(int timeout_ms, const char *value, const char *fmt, ...)
    _printf_(3, 4);

/* Write a file atomically: temp file beside it (mode), fsync, rename,
 * fsync of the directory.  path is an absolute path under the root. */
int host_write_atomic(const char *data, size_t len, unsigned mode, const char *fmt, ...)
    _printf_(4, 5);

/* mkdir -p under the root, last component with mode. */
int host_mkdir_p(unsigned mode, const char *fmt, ...) _printf_(2, 3);

/* Monotonic milliseconds, for bounded waits. */
uint64_t host_now_ms(void);

/*
 * Run fn(arg) in a detached process (a grandchild in its own session, stdio
 * on /dev/null, no other descriptor of ours open, cwd /, SIGHUP ignored,
 * logging to syslog too) and return once it is on its way: Proxmox reads a
 * hook's output until EOF, so nothing of the hook's may stay open.  The
 * process exits when fn returns.  Returns 0, or -errno when it could not
 * be started.
 */
int host_spawn_detached(void (*fn)(void *arg), void *arg);
void host_sleep_ms(unsigned ms);

#endif
