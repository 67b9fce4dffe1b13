// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: /etc/pve/mapping/pci.cfg text through mapping_parse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pve/mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct mapping_cfg *cfg = NULL;
	char *err = NULL;

	if (mapping_parse(text, &cfg, &err) == 0) {
		for (size_t i = 0; i < cfg->n; i++) {
			const struct pci_mapping *m = &cfg->v[i];

			if (mapping_find(cfg, m->name) != m)
				abort(); /* names are unique */
			for (size_t j = 0; j < m->n_maps; j++)
				if (!m->maps[j].node || !m->maps[j].id ||
				    m->maps[j].path.n == 0)
					abort(); /* required keys */
		}
		mapping_free(cfg);
	} else if (!err || !strstr(err, "/etc/pve/mapping/pci.cfg:")) {
		abort(); /* errors name the file and line */
	}
	free(err);
	free(text);
	return 0;
}
