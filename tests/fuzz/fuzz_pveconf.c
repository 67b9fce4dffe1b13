// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: a VM config file (NUL bytes and all) through vmconf_parse,
 * vmconf_apply_pending, vm_from_conf and the start timeout. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pve/pveconf.h"
#include "pve/runstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmconf *c = NULL;
	struct vm *vm = NULL;
	char *err = NULL;

	/* lenient: every input parses */
	if (vmconf_parse((const char *)data, size, "/etc/pve/qemu-server/100.conf", 100,
			 &c, &err) != 0 ||
	    err)
		abort();
	for (size_t i = 0; i < c->n_lines; i++) {
		/* one line per key, each found again */
		if (vmconf_get(c, c->lines[i].key) != &c->lines[i])
			abort();
		if (!c->lines[i].value[0])
			abort();
	}
	for (size_t i = 0; i < c->warnings.n; i++)
		if (strncmp(c->warnings.v[i], "/etc/pve/qemu-server/100.conf:", 30) != 0)
			abort(); /* warnings name the file and line */
	if (size && (data[0] & 1))
		vmconf_apply_pending(c);
	for (size_t i = 0; i < c->n_lines; i++)
		if (vmconf_get(c, c->lines[i].key) != &c->lines[i])
			abort();
	if (vm_from_conf(c, &vm, &err) == 0) {
		for (int i = 0; i < 16; i++)
			if (vm->hostpci[i] && vm->hostpci[i]->index != (unsigned)i)
				abort();
		if (pve_start_timeout(vm) < 35)
			abort();
		vm_free(vm);
	} else if (!err || !strstr(err, "/etc/pve/qemu-server/100.conf:")) {
		abort(); /* an error always says where and why */
	}
	free(err);
	return 0;
}
