// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: /etc/pve/mapping/pci.cfg text (NUL bytes and all) through
 * mapping_parse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pve/mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapping_cfg *cfg = NULL;
	char *err = NULL;

	/* lenient: every input parses */
	if (mapping_parse((const char *)data, size, &cfg, &err) != 0 || err)
		abort();
	for (size_t i = 0; i < cfg->n; i++) {
		const struct pci_mapping *m = &cfg->v[i];

		if (mapping_find(cfg, m->name) != m)
			abort(); /* names are unique */
		if (m->n_maps == 0)
			abort(); /* a section without map is dropped */
		for (size_t j = 0; j < m->n_maps; j++)
			if (!m->maps[j].node || !m->maps[j].id || m->maps[j].path.n == 0)
				abort(); /* required keys */
	}
	for (size_t i = 0; i < cfg->warnings.n; i++)
		if (!strstr(cfg->warnings.v[i], "/etc/pve/mapping/pci.cfg:"))
			abort(); /* warnings name the file and line */
	mapping_free(cfg);
	return 0;
}
