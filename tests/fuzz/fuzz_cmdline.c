// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer: a /proc/<pid>/cmdline (any process's, so anyone's words)
 * through pve_cmdline_pidfile, as the start watcher and Proxmox's running
 * test read it.  Oracles besides the sanitizers: the pid file found lies
 * inside the input, is one whole NUL-terminated word that does not start
 * with '-', and the nearest non-empty word before it is -pidfile or
 * --pidfile.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/runstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pf, *prev;
	size_t off, wl;
	char *cmd;

	if (size > 65536)
		return 0;
	/* as host_read_len gives it: a NUL after the last byte */
	cmd = malloc(size + 1);
	if (!cmd)
		return 0;
	memcpy(cmd, data, size);
	cmd[size] = '\0';
	pf = pve_cmdline_pidfile(cmd, size);
	if (pf) {
		if (pf <= cmd || pf >= cmd + size)
			abort();
		off = (size_t)(pf - cmd);
		wl = strlen(pf);
		if (wl == 0 || off + wl > size || pf[-1] != '\0' || pf[0] == '-')
			abort();
		/* the nearest word before that is not empty (empty ones are
		 * skipped, as parse_cmdline skips them) */
		prev = pf - 1;
		while (prev > cmd && prev[-1] == '\0')
			prev--;
		while (prev > cmd && prev[-1] != '\0')
			prev--;
		if (strcmp(prev, "-pidfile") != 0 && strcmp(prev, "--pidfile") != 0)
			abort();
	}
	free(cmd);
	return 0;
}
