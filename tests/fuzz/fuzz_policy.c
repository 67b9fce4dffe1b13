// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the policy parsers: the input is split at the first NUL byte into
 * file text and description.  Oracles besides the sanitizers: a refusal
 * comes with a message naming the line and leaves the policy untouched; a
 * success gives valid enum values and a method list only when the reset
 * policy is a method list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct policy *p)
{
	if ((unsigned)p->rebind > POLICY_REBIND_NEVER ||
	    (unsigned)p->reset > POLICY_RESET_METHODS ||
	    (unsigned)p->steal > POLICY_STEAL_FORCE ||
	    (unsigned)p->hugepages > POLICY_HUGEPAGES_OFF ||
	    (unsigned)p->pin > POLICY_PIN_AUTO)
		abort();
	if ((p->reset == POLICY_RESET_METHODS) != (p->reset_methods != NULL))
		abort();
	if (p->reset_methods && (!*p->reset_methods || strchr(p->reset_methods, ',')))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *desc;
	struct policy p;
	char *err = NULL;
	int r;

	if (size > 65536)
		return 0;
	buf = malloc(size + 2);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	desc = buf + strlen(buf) + 1;

	policy_defaults(&p);
	r = policy_parse_file(buf, "/etc/vfiohook.conf", 105, &p, &err);
	if (r < 0) {
		if (!err || !strstr(err, "/etc/vfiohook.conf:") || p.reset_methods ||
		    p.origin[0] || p.origin[1] || p.origin[2])
			abort();
		free(err);
		err = NULL;
	}
	check(&p);
	r = policy_parse_description(desc, 105, &p, &err);
	if (r < 0) {
		if (!err || !strstr(err, "VM 105 description line "))
			abort();
		free(err);
	}
	check(&p);
	policy_clear(&p);
	free(buf);
	return 0;
}
