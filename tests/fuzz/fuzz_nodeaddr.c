// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer: /etc/hosts and corosync.conf text (split at the first NUL)
 * through nodeaddr_parse_hosts and nodeaddr_parse_corosync.  Oracles
 * besides the sanitizers: every address from hosts is an IP literal that
 * is not loopback, every value is non-empty without blanks, none twice.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pve/nodeaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct strv *v, bool ip)
{
	for (size_t i = 0; i < v->n; i++) {
		unsigned char b[16];
		const char *s = v->v[i];

		if (!*s || strpbrk(s, " \t\r\n"))
			abort();
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v->v[j], s))
				abort();
		if (ip && inet_pton(AF_INET, s, b) != 1 && inet_pton(AF_INET6, s, b) != 1)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *coro;
	struct strv v = {0};

	if (size > 65536)
		return 0;
	buf = malloc(size + 2);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	coro = buf + strlen(buf) + 1;
	nodeaddr_parse_hosts(buf, "pve1", &v);
	check(&v, true);
	strv_clear(&v);
	nodeaddr_parse_corosync(coro, "pve1", &v);
	check(&v, false);
	strv_clear(&v);
	free(buf);
	return 0;
}
