// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static int log_level = LOGL_INFO;
static bool log_syslog;

static const char *const level_names[] = {
    [LOGL_ERR] = "ERROR",
    [LOGL_WARN] = "WARNING",
    [LOGL_INFO] = "INFO",
    [LOGL_DEBUG] = "DEBUG",
};

static const int level_prio[] = {
    [LOGL_ERR] = LOG_ERR,
    [LOGL_WARN] = LOG_WARNING,
    [LOGL_INFO] = LOG_INFO,
    [LOGL_DEBUG] = LOG_DEBUG,
};

void log_setup(int level, bool use_syslog)
{
	log_level = level;
	if (use_syslog && !log_syslog)
		openlog("vfiohook", LOG_PID, LOG_DAEMON);
	log_syslog = use_syslog;
}

int log_get_level(void)
{
	return log_level;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	char buf[2048];

	if (level < LOGL_ERR)
		level = LOGL_ERR;
	if (level > LOGL_DEBUG)
		level = LOGL_DEBUG;
	/* syslog gets info and above even when -q silences stderr */
	if (level > log_level && !(log_syslog && level <= LOGL_INFO))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (level <= log_level) {
		fprintf(stderr, "vfiohook: %s: %s\n", level_names[level], buf);
		fflush(stderr);
	}
	if (log_syslog)
		syslog(level_prio[level], "%s: %s", level_names[level], buf);
}
