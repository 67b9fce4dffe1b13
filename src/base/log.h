/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One logger for the whole program: "vfiohook: LEVEL: message" on stderr
 * (Proxmox copies it into the task log) and, when enabled, the same line
 * to syslog, because post-stop after an in-guest shutdown runs under
 * qmeventd and its stderr only reaches the journal of that service.
 */
#ifndef VFIOHOOK_LOG_H
#define VFIOHOOK_LOG_H

#include <stdbool.h>

#include "base/util.h"

enum log_level {
	LOGL_ERR = 0,
	LOGL_WARN = 1,
	LOGL_INFO = 2,
	LOGL_DEBUG = 3,
};

/* level: messages above it are dropped; syslog: also send to syslog(3). */
void log_setup(int level, bool use_syslog);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) _printf_(2, 3);

#define log_err(...) log_msg(LOGL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

#endif
