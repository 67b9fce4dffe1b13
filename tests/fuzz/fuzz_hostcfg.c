// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer: the doctor's host configuration parsers (engine/hostcfg.h) on
 * one input: kernel command line, GRUB defaults, /etc/kernel/cmdline,
 * modprobe.d and /proc/iomem text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "engine/hostcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct strv params = {0};
	struct bootcfg cfg = {0};
	struct modconf mc = {0};
	struct iomem_range *v = NULL;
	size_t n = 0;

	cmdline_split(text, &params);
	for (size_t i = 0; i < params.n; i++) {
		const char *eq = strchr(params.v[i], '=');
		_cleanup_free_ char *key =
		    eq ? xstrndup(params.v[i], (size_t)(eq - params.v[i]))
		       : xstrdup(params.v[i]);

		/* every parameter is found again by its name */
		if (*key && !cmdline_get(&params, key))
			abort();
		if (strpbrk(params.v[i], " \t\n") && !strchr(text, '"'))
			abort(); /* white space only inside quotes */
	}
	strv_clear(&params);

	bootcfg_parse_grub(&cfg, text, "/etc/default/grub");
	bootcfg_parse_kernel_cmdline(&cfg, text, "/etc/kernel/cmdline");
	for (size_t i = 0; i < cfg.n; i++) {
		char *d = bootsrc_describe(&cfg.v[i]);

		if (cfg.v[i].line < 1)
			abort();
		free(d);
	}
	bootcfg_clear(&cfg);

	modconf_parse(&mc, text, "/etc/modprobe.d/x.conf");
	for (size_t i = 0; i < mc.n; i++) {
		char *o = modconf_option(&mc.v[i], "ids");

		if (mc.v[i].line < 1 || strchr(mc.v[i].module, '-'))
			abort();
		free(o);
	}
	modconf_clear(&mc);

	iomem_parse(text, &v, &n);
	for (size_t i = 0; i < n; i++) {
		if (v[i].end < v[i].start || !v[i].name[0])
			abort();
		iomem_is_framebuffer(v[i].name);
	}
	iomem_free(v, n);
	free(text);
	return 0;
}
