// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: a VM config file through vmconf_parse and vm_from_conf. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pve/pveconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct vmconf *c = NULL;
	struct vm *vm = NULL;
	char *err = NULL;

	if (vmconf_parse(text, "/etc/pve/qemu-server/100.conf", 100, &c, &err) == 0) {
		/* every line can be looked up again */
		for (size_t i = 0; i < c->n_lines; i++)
			if (vmconf_get(c, c->lines[i].key) != &c->lines[i])
				abort();
		if (vm_from_conf(c, &vm, &err) == 0) {
			for (int i = 0; i < 16; i++)
				if (vm->hostpci[i] &&
				    vm->hostpci[i]->index != (unsigned)i)
					abort();
			vm_free(vm);
		} else if (!err) {
			abort(); /* an error always says why */
		}
	} else if (!err) {
		abort();
	}
	free(err);
	free(text);
	return 0;
}
