// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/ids.h"

#include <errno.h>
#include <string.h>

#include "base/util.h"

int vmid_parse(const char *s, unsigned *vmid)
{
	unsigned long long v;

	if (!s || s[0] == '0' || parse_uint(s, VMID_MAX, &v) < 0 || v == 0)
		return -EINVAL;
	*vmid = (unsigned)v;
	return 0;
}

/* Parse at least n and at most n_max hex digits; NULL if fewer than n. */
static const char *hexfield(const char *s, int n, int n_max, unsigned *out)
{
	unsigned v = 0;
	int i = 0;

	for (; i < n_max && hex_digit(s[i]) >= 0; i++)
		v = v << 4 | (unsigned)hex_digit(s[i]);
	if (i < n)
		return NULL;
	*out = v;
	return s + i;
}

int bdf_parse(const char *s, unsigned *domain, unsigned *bus, unsigned *dev,
	      unsigned *func)
{
	unsigned dm, b, dv;
	const char *p = s;

	if (!p)
		return -EINVAL;
	/* the kernel prints "%04x:%02x:%02x.%d" */
	p = hexfield(p, 4, 8, &dm);
	if (!p || *p++ != ':')
		return -EINVAL;
	p = hexfield(p, 2, 2, &b);
	if (!p || *p++ != ':')
		return -EINVAL;
	p = hexfield(p, 2, 2, &dv);
	if (!p || *p++ != '.' || dv > 0x1f)
		return -EINVAL;
	if (*p < '0' || *p > '7' || p[1])
		return -EINVAL;
	if (domain)
		*domain = dm;
	if (bus)
		*bus = b;
	if (dev)
		*dev = dv;
	if (func)
		*func = (unsigned)(*p - '0');
	return 0;
}

bool bdf_canonical(const char *s)
{
	size_t dom;

	if (bdf_parse(s, NULL, NULL, NULL, NULL) < 0)
		return false;
	for (const char *c = s; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			return false;
	dom = strcspn(s, ":");
	return dom >= 4 && dom <= 6;
}
