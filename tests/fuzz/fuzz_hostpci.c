// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: a hostpciN value through hostpci_parse and hostpci_expand. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pve/hostpci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const devs[] = {"0000:00:02.0", "0000:01:00.0", "0000:01:00.1",
					   "0001:01:00.0", "10000:e1:00.0"};
	struct strv present = {0};
	char *text = xstrndup((const char *)data, size);
	struct hostpci *h = NULL;
	char *err = NULL;

	for (size_t i = 0; i < sizeof(devs) / sizeof(*devs); i++)
		strv_add(&present, devs[i]);
	if (hostpci_parse(text, 3, &h, &err) == 0) {
		/* exactly one of host and mapping */
		if ((h->host.n > 0) == (h->mapping != NULL))
			abort();
		for (size_t i = 0; i < h->host.n; i++)
			if (!hostpci_id_valid(h->host.v[i]))
				abort();
		if (!h->mapping && hostpci_expand(h, &present, &err) == 0) {
			if (h->devs.n == 0)
				abort();
			/* each a present device; in Proxmox's order, repeats kept
			 * (a device named twice is refused later, as Proxmox does) */
			for (size_t i = 0; i < h->devs.n; i++) {
				bool known = false;

				for (size_t k = 0; k < present.n && !known; k++)
					known = strcmp(h->devs.v[i], present.v[k]) == 0;
				if (!known)
					abort();
			}
		}
		hostpci_free(h);
	} else if (!err) {
		abort();
	}
	free(err);
	free(text);
	strv_clear(&present);
	return 0;
}
