// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the CPU list and mask parsers and the /proc/interrupts reader.
 * Oracles besides the sanitizers: a parsed list printed and parsed again
 * is the same set (in both formats); a refusal has a message; every
 * interrupt found names one of the devices asked for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpuset.h"
#include "sys/irq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct cpuset *s)
{
	struct cpuset again;
	char *text = cpuset_format(s), *mask = cpuset_format_mask(s);

	if (cpuset_parse(text, CPUSET_EMPTY_OK, &again, NULL) != 0 ||
	    !cpuset_equal(s, &again))
		abort();
	if (cpuset_parse_mask(mask, &again, NULL) != 0 || !cpuset_equal(s, &again))
		abort();
	free(text);
	free(mask);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flags[] = {0, CPUSET_LENIENT, CPUSET_EMPTY_OK,
					 CPUSET_LENIENT | CPUSET_EMPTY_OK};
	struct strv bdfs = {0};
	struct vfio_irq *v = NULL;
	struct cpuset s;
	size_t n = 0;
	char *buf, *err = NULL;

	if (size > 65536)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++) {
		if (cpuset_parse(buf, flags[i], &s, &err) == 0) {
			roundtrip(&s);
		} else {
			if (!err)
				abort();
			free(err);
			err = NULL;
		}
	}
	if (cpuset_parse_mask(buf, &s, &err) == 0) {
		roundtrip(&s);
	} else {
		if (!err)
			abort();
		free(err);
	}
	strv_add(&bdfs, "0000:81:00.0");
	strv_add(&bdfs, "0000:01:00.1");
	if (irq_parse_vfio(buf, &bdfs, &v, &n) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!strv_contains(&bdfs, v[i].bdf) || !strstr(v[i].name, v[i].bdf))
			abort();
	free(v);
	strv_clear(&bdfs);
	free(buf);
	return 0;
}
