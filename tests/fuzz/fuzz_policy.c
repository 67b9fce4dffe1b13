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
	    (unsigned)p->log > POLICY_LOG_VERBOSE ||
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
		    p.origin[0] || p.origin[1] || p.origin[2] || p.origin[3] || p.chain)
			abort();
		free(err);
		err = NULL;
	}
	check(&p);
	{
		struct policy_api a;

		/* the [api] section of the same text: the same verdict */
		if ((policy_api_parse(buf, "/etc/vfiohook.conf", &a, &err) < 0) !=
		    (r < 0))
			abort();
		policy_api_clear(&a);
		free(err);
		err = NULL;
	}
	r = policy_parse_description(desc, 105, &p, &err);
	if (r < 0) {
		if (!err || !strstr(err, "VM 105 description line "))
			abort();
		free(err);
	}
	check(&p);
	/* the notes never bring in what weakens host safety */
	if (p.origin[POLICY_KEY_STEAL] &&
	    strstr(p.origin[POLICY_KEY_STEAL], "description") &&
	    p.steal == POLICY_STEAL_FORCE)
		abort();
	if (p.origin[POLICY_KEY_REBIND] &&
	    strstr(p.origin[POLICY_KEY_REBIND], "description") &&
	    p.rebind == POLICY_REBIND_HOST)
		abort();
	policy_clear(&p);
	free(buf);
	return 0;
}
