// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the pages a start needs (pve/hugepages.h) from VM config text, on a
 * host with 2 MiB and 1 GiB pages and nodes 0-3.  Oracles besides the
 * sanitizers: a refusal has a message and no needs; needs are sorted by
 * size then node, on existing nodes, each a positive count, and their total
 * covers the VM's memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/hugepages.h"
#include "pve/pveconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool size_exists(unsigned mib, void *ctx)
{
	(void)ctx;
	return mib == 2 || mib == 1024;
}

static bool node_exists(unsigned node, void *ctx)
{
	(void)ctx;
	return node < 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hp_host host = {.size_exists = size_exists,
					    .node_exists = node_exists};
	struct vmconf *c = NULL;
	struct vm *vm = NULL;
	struct hp_need need;
	char *buf, *err = NULL;
	unsigned long long mib = 0;
	int r;

	if (size > 16384)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (vmconf_parse(buf, strlen(buf), "/etc/pve/qemu-server/100.conf", 100, &c,
			 &err) < 0 ||
	    vm_from_conf(c, &vm, &err) < 0) {
		free(err);
		free(buf);
		return 0;
	}
	r = hugepages_need(vm, &host, &need, &err);
	if (r < 0) {
		if (r != -EINVAL || !err || need.n)
			abort();
		free(err);
	} else if (r == 0) {
		if (need.n)
			abort();
	} else {
		for (size_t i = 0; i < need.n; i++) {
			const struct hp_pool_need *p = &need.v[i];

			if (p->pages == 0 || p->node >= 4 ||
			    (p->size_mib != 2 && p->size_mib != 1024))
				abort();
			if (i && (p->size_mib < need.v[i - 1].size_mib ||
				  (p->size_mib == need.v[i - 1].size_mib &&
				   p->node <= need.v[i - 1].node)))
				abort();
			mib += p->pages * p->size_mib;
		}
		if (mib < vm->memory_mib)
			abort();
	}
	hp_need_clear(&need);
	vm_free(vm);
	free(buf);
	return 0;
}
