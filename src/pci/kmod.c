// SPDX-License-Identifier: GPL-2.0-or-later
#include "pci/kmod.h"

#include <errno.h>
#include <libkmod.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"

int kmod_ensure(const char *name, char **err)
{
	struct kmod_ctx *ctx;
	struct kmod_list *list = NULL, *l;
	int r, loaded = 0;

	char sysname[64];

	if (!host_is_real()) {
		log_debug("not loading module %s: root is %s, not /", name, host_root());
		return 0;
	}
	/* loaded (or built in with parameters): nothing to look up, which also
	 * spares a host without /lib/modules/$(uname -r) a needless failure */
	snprintf(sysname, sizeof(sysname), "%s", name);
	for (char *c = sysname; *c; c++)
		if (*c == '-')
			*c = '_';
	if (host_exists("/sys/module/%s/initstate", sysname) ||
	    host_exists("/sys/module/%s/parameters", sysname)) {
		log_debug("module %s is already loaded", name);
		return 0;
	}
	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return errf(err, "cannot load module %s: libkmod could not start", name),
		       -ENOMEM;
	kmod_load_resources(ctx);
	r = kmod_module_new_from_lookup(ctx, name, &list);
	if (r < 0 || !list) {
		kmod_unref(ctx);
		errf(
		    err,
		    "module %s not found for kernel (/lib/modules/$(uname -r)): install the kernel's modules package",
		    name);
		return r < 0 ? r : -ENOENT;
	}
	kmod_list_foreach (l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);
		int state = kmod_module_get_initstate(mod);

		if (state == KMOD_MODULE_LIVE || state == KMOD_MODULE_BUILTIN) {
			loaded = 1;
		} else {
			log_info("loading kernel module %s", kmod_module_get_name(mod));
			r = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL,
							    NULL);
			if (r == 0 || r == -EEXIST)
				loaded = 1;
			else
				errf(
				    err,
				    "cannot load module %s: %s; try 'modprobe %s' and read dmesg",
				    kmod_module_get_name(mod), strerror(r < 0 ? -r : r),
				    name);
		}
		kmod_module_unref(mod);
		if (loaded)
			break;
	}
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return loaded ? 0 : -EIO;
}
