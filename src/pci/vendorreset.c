// SPDX-License-Identifier: GPL-2.0-or-later
#include "pci/vendorreset.h"

#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include "base/util.h"

/* vendor-reset's device table (its src/device-db.h), by generation. */
static const struct {
	const char *generation;
	unsigned short ids[16];
} supported[] = {
    {"Polaris 10",
     {0x67c0, 0x67c1, 0x67c2, 0x67c4, 0x67c7, 0x67d0, 0x67df, 0x67c8, 0x67c9, 0x67ca,
      0x67cc, 0x67cf, 0x6fdf}},
    {"Polaris 11",
     {0x67e0, 0x67e3, 0x67e8, 0x67eb, 0x67ef, 0x67ff, 0x67e1, 0x67e7, 0x67e9}},
    {"Polaris 12", {0x6980, 0x6981, 0x6985, 0x6986, 0x6987, 0x6995, 0x6997, 0x699f}},
    {"Vega 10",
     {0x6860, 0x6861, 0x6862, 0x6863, 0x6864, 0x6867, 0x6868, 0x6869, 0x686a, 0x686b,
      0x686c, 0x686d, 0x686e, 0x686f, 0x687f}},
    {"Vega 20", {0x66a0, 0x66a1, 0x66a2, 0x66a3, 0x66a4, 0x66a7, 0x66af}},
    {"Navi 10", {0x7310, 0x7312, 0x7318, 0x7319, 0x731a, 0x731b, 0x731e, 0x731f}},
    {"Navi 14", {0x7340, 0x7341, 0x7347, 0x734f}},
    {"Navi 12", {0x7360, 0x7362}},
    {"MI100", {0x738c}},
};

/*
 * RDNA2 and newer, by device id range (amdgpu's id blocks per chip, as
 * pci.ids lists them): vendor-reset has nothing for these and never will;
 * the ranges also hold the cards' USB-C functions, hence the class test.
 */
static const struct {
	unsigned short first, last;
	const char *generation;
} unhelped[] = {
    {0x73a0, 0x73bf, "Navi 21"}, {0x73c0, 0x73df, "Navi 22"}, {0x73e0, 0x73ff, "Navi 23"},
    {0x7420, 0x743f, "Navi 24"}, {0x7440, 0x745f, "Navi 31"}, {0x7460, 0x747f, "Navi 32"},
    {0x7480, 0x749f, "Navi 33"}, {0x7550, 0x755f, "Navi 48"}, {0x7590, 0x759f, "Navi 44"},
};

const char *vendor_reset_generation(unsigned vendor, unsigned device)
{
	if (vendor != VENDOR_RESET_AMD)
		return NULL;
	for (size_t g = 0; g < ARRAY_SIZE(supported); g++)
		for (size_t i = 0;
		     i < ARRAY_SIZE(supported[g].ids) && supported[g].ids[i]; i++)
			if (supported[g].ids[i] == device)
				return supported[g].generation;
	return NULL;
}

bool vendor_reset_supports(unsigned vendor, unsigned device)
{
	return vendor_reset_generation(vendor, device) != NULL;
}

const char *vendor_reset_rdna2_or_newer(unsigned vendor, unsigned device,
					unsigned class_code)
{
	if (vendor != VENDOR_RESET_AMD || (class_code >> 16) != 0x03)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(unhelped); i++)
		if (device >= unhelped[i].first && device <= unhelped[i].last)
			return unhelped[i].generation;
	return NULL;
}

/* vendor-reset's include/vendor-reset-ioctl.h: magic 'r', number 1. */
struct vendor_reset_ioctl_arg {
	int type; /* 1: PCI */
	int domain;
	int bus;
	int devfn;
};
#define VENDOR_RESET_TYPE_PCI 1
#define VENDOR_RESET_IOCTL_RESET _IOW('r', 1, struct vendor_reset_ioctl_arg)

int vendor_reset_ioctl(int fd, unsigned domain, unsigned bus, unsigned devfn)
{
	struct vendor_reset_ioctl_arg a = {
	    .type = VENDOR_RESET_TYPE_PCI,
	    .domain = (int)domain,
	    .bus = (int)bus,
	    .devfn = (int)devfn,
	};

	if (ioctl(fd, VENDOR_RESET_IOCTL_RESET, &a) < 0)
		return -errno;
	return 0;
}
