// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: /etc/pve/storage.cfg text through storage_parse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pve/storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct storage_cfg *cfg = NULL;
	char *path = NULL, *err = NULL;

	if (storage_parse(text, &cfg) != 0)
		abort(); /* lenient: never fails */
	if (!storage_find(cfg, "local"))
		abort(); /* always has local */
	for (size_t i = 0; i < cfg->n; i++) {
		_cleanup_free_ char *vol = xasprintf("%s:snippets/x", cfg->v[i].id);

		if (storage_find(cfg, cfg->v[i].id) != &cfg->v[i])
			abort(); /* ids are unique */
		if (storage_snippet_file(cfg, vol, &path, NULL, &err) == 0 &&
		    (!path || path[0] != '/'))
			abort();
		free(path);
		free(err);
		path = err = NULL;
	}
	storage_free(cfg);
	free(text);
	return 0;
}
