// SPDX-License-Identifier: GPL-2.0-or-later
#include "pci/kmod.h"

#include <errno.h>
#include <libkmod.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"

/* The module's name as /sys/module shows it: '-' becomes '_'. */
static void sys_name(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s", name);
	for (char *c = out; *c; c++)
		if (*c == '-')
			*c = '_';
}

bool kmod_loaded(const char *name)
{
	char sysname[64];

	sys_name(name, sysname, sizeof(sysname));
	/* loaded (or built in with parameters) */
	return host_exists("/sys/module/%s/initstate", sysname) ||
	       host_exists("/sys/module/%s/parameters", sysname);
}

/* kmod_module_new_from_lookup() for name: 0 with *list (maybe empty), or
 * -errno with *err. */
static int lookup(const char *name, struct kmod_ctx **ctx, struct kmod_list **list,
		  char **err)
{
	int r;

	*list = NULL;
	*ctx = kmod_new(NULL, NULL);
	if (!*ctx)
		return errf(err, "cannot look up module %s: libkmod could not start",
			    name),
		       -ENOMEM;
	kmod_load_resources(*ctx);
	r = kmod_module_new_from_lookup(*ctx, name, list);
	if (r < 0) {
		kmod_unref(*ctx);
		*ctx = NULL;
		return errnof(err, r, "cannot look up module %s: %s", name, strerror(-r));
	}
	return 0;
}

bool kmod_available(const char *name)
{
	struct kmod_ctx *ctx;
	struct kmod_list *list;
	bool found;

	if (!host_is_real() || kmod_loaded(name))
		return kmod_loaded(name);
	if (lookup(name, &ctx, &list, NULL) < 0)
		return false;
	found = list != NULL;
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return found;
}

int kmod_ensure(const char *name, char **err)
{
	struct kmod_ctx *ctx;
	struct kmod_list *list = NULL, *l;
	int r, ret = -ENOENT;

	if (!host_is_real()) {
		log_debug("not loading module %s: root is %s, not /", name, host_root());
		return 0;
	}
	/* loaded: nothing to look up, which also spares a host without
	 * /lib/modules/$(uname -r) a needless failure */
	if (kmod_loaded(name)) {
		log_debug("module %s is already loaded", name);
		return 0;
	}
	r = lookup(name, &ctx, &list, err);
	if (r < 0)
		return r;
	if (!list) {
		kmod_unref(ctx);
		return errnof(
		    err, -ENOENT,
		    "module %s not found for kernel (/lib/modules/$(uname -r)): install the kernel's modules package",
		    name);
	}
	kmod_list_foreach (l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);
		int state = kmod_module_get_initstate(mod);

		if (state == KMOD_MODULE_LIVE || state == KMOD_MODULE_BUILTIN) {
			ret = 0;
		} else {
			log_info("loading kernel module %s", kmod_module_get_name(mod));
			r = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL,
							    NULL);
			if (r == 0 || r == -EEXIST) {
				ret = 0;
			} else {
				/* the kernel's errno, as init_module(2) gave it:
				 * EKEYREJECTED is Secure Boot refusing the module */
				ret = r < 0 ? r : -EIO;
				errnof(
				    err, ret,
				    "cannot load module %s: %s; try 'modprobe %s' and read dmesg",
				    kmod_module_get_name(mod), strerror(-ret), name);
			}
		}
		kmod_module_unref(mod);
		if (ret == 0)
			break;
	}
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return ret;
}
