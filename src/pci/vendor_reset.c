// SPDX-License-Identifier: GPL-2.0-or-later
#include "pci/vendor_reset.h"

#include <stddef.h>

#include "base/util.h"

/* vendor-reset's device table (src/device-db.h), as kernel-facts.md lists it */
static const struct {
	unsigned first, last;
	const char *family;
} amd_ids[] = {
    /* Polaris 10 */
    {0x67c0, 0x67c2, "Polaris 10"},
    {0x67c4, 0x67c4, "Polaris 10"},
    {0x67c7, 0x67ca, "Polaris 10"}, /* 67C7 67C8 67C9 67CA */
    {0x67cc, 0x67cc, "Polaris 10"},
    {0x67cf, 0x67d0, "Polaris 10"},
    {0x67df, 0x67df, "Polaris 10"},
    {0x6fdf, 0x6fdf, "Polaris 10"},
    /* Polaris 11 */
    {0x67e0, 0x67e1, "Polaris 11"},
    {0x67e3, 0x67e3, "Polaris 11"},
    {0x67e7, 0x67e9, "Polaris 11"},
    {0x67eb, 0x67eb, "Polaris 11"},
    {0x67ef, 0x67ef, "Polaris 11"},
    {0x67ff, 0x67ff, "Polaris 11"},
    /* Polaris 12 */
    {0x6980, 0x6981, "Polaris 12"},
    {0x6985, 0x6987, "Polaris 12"},
    {0x6995, 0x6995, "Polaris 12"},
    {0x6997, 0x6997, "Polaris 12"},
    {0x699f, 0x699f, "Polaris 12"},
    /* Vega 10 */
    {0x6860, 0x6864, "Vega 10"},
    {0x6867, 0x686f, "Vega 10"},
    {0x687f, 0x687f, "Vega 10"},
    /* Vega 20 */
    {0x66a0, 0x66a4, "Vega 20"},
    {0x66a7, 0x66a7, "Vega 20"},
    {0x66af, 0x66af, "Vega 20"},
    /* Navi 10 */
    {0x7310, 0x7310, "Navi 10"},
    {0x7312, 0x7312, "Navi 10"},
    {0x7318, 0x731b, "Navi 10"},
    {0x731e, 0x731f, "Navi 10"},
    /* Navi 14 */
    {0x7340, 0x7341, "Navi 14"},
    {0x7347, 0x7347, "Navi 14"},
    {0x734f, 0x734f, "Navi 14"},
    /* Navi 12 */
    {0x7360, 0x7360, "Navi 12"},
    {0x7362, 0x7362, "Navi 12"},
    /* Arcturus (Instinct MI100) */
    {0x738c, 0x738c, "MI100"},
};

const char *vendor_reset_family(unsigned vendor, unsigned device)
{
	if (vendor != PCI_VENDOR_AMD_ATI)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(amd_ids); i++)
		if (device >= amd_ids[i].first && device <= amd_ids[i].last)
			return amd_ids[i].family;
	return NULL;
}
