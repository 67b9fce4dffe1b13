// SPDX-License-Identifier: GPL-2.0-or-later
#include "pci/kmod.h"

#include <errno.h>
#include <libkmod.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"

/* libkmod logs through this: its messages are details of an error we report
 * ourselves (or of none), so they go out at debug level. */
static void kmod_log(void *data _unused_, int priority _unused_,
		     const char *file _unused_, int line _unused_,
		     const char *fn _unused_, const char *format, va_list args)
{
	_cleanup_free_ char *msg = xvasprintf(format, args);
	size_t len = strlen(msg);

	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	log_debug("libkmod: %s", msg);
}

static void kmod_route_log(struct kmod_ctx *ctx)
{
	kmod_set_log_fn(ctx, kmod_log, NULL);
	kmod_set_log_priority(ctx, log_get_level() >= LOGL_DEBUG ? LOG_DEBUG : LOG_ERR);
}

/* "vfio-pci" -> "vfio_pci", as /sys/module names it */
static void sys_name(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s", name);
	for (char *c = buf; *c; c++)
		if (*c == '-')
			*c = '_';
}

bool kmod_loaded(const char *name)
{
	char sysname[64];

	sys_name(sysname, sizeof(sysname), name);
	/* loaded (or built in with parameters) */
	return host_exists("/sys/module/%s/initstate", sysname) ||
	       host_exists("/sys/module/%s/parameters", sysname);
}

/* kmod_module_new_from_lookup() for name, with libkmod's log routed to
 * ours and its index loaded: 0 with *ctx and *list (maybe empty), or
 * -errno with *err. */
static int lookup(const char *name, struct kmod_ctx **ctx, struct kmod_list **list,
		  char **err)
{
	int r;

	*list = NULL;
	*ctx = kmod_new(NULL, NULL);
	if (!*ctx)
		return errnof(err, -ENOMEM,
			      "cannot look up module %s: libkmod could not start", name);
	kmod_route_log(*ctx);
	r = kmod_load_resources(*ctx);
	if (r < 0)
		log_debug(
		    "libkmod: cannot load the module index: %s; looking up %s anyway",
		    strerror(-r), name);
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
	bool found, loaded = kmod_loaded(name);

	if (loaded || !host_is_real())
		return loaded;
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

/* ---- read-only questions (the doctor) ---- */

struct kmod_db {
	struct kmod_ctx *ctx;
	char *dir; /* "/lib/modules/<release>", without the root */
};

const char *kmod_state_name(enum kmod_state s)
{
	switch (s) {
	case KMOD_STATE_MISSING:
		return "missing";
	case KMOD_STATE_AVAILABLE:
		return "available";
	case KMOD_STATE_BUILTIN:
		return "built in";
	case KMOD_STATE_LOADED:
		return "loaded";
	}
	return "?";
}

void kmod_db_close(struct kmod_db *db)
{
	if (!db)
		return;
	if (db->ctx)
		kmod_unref(db->ctx);
	free(db->dir);
	free(db);
}

const char *kmod_db_dir(const struct kmod_db *db)
{
	return db ? db->dir : NULL;
}

int kmod_db_open(struct kmod_db **out, char **err)
{
	/* libkmod's default configuration directories (kmod 30), under the root */
	static const char *const conf_dirs[] = {
	    "/etc/modprobe.d",	   "/run/modprobe.d", "/usr/local/lib/modprobe.d",
	    "/usr/lib/modprobe.d", "/lib/modprobe.d",
	};
	_cleanup_free_ char *release = NULL;
	_cleanup_free_ char *full = NULL;
	char *confs[ARRAY_SIZE(conf_dirs) + 1] = {NULL};
	struct kmod_db *db;
	int r;

	*out = NULL;
	r = host_read(&release, "/proc/sys/kernel/osrelease");
	if (r < 0 || !*release)
		return errnof(
		    err, r < 0 ? r : -ENOENT,
		    "cannot tell the running kernel's release: /proc/sys/kernel/osrelease: %s",
		    r < 0 ? strerror(-r) : "empty");
	db = xcalloc(1, sizeof(*db));
	*out = db;
	db->dir = xasprintf("/lib/modules/%s", release);
	full = host_pathdup("%s", db->dir);
	for (size_t i = 0; i < ARRAY_SIZE(conf_dirs); i++)
		confs[i] = host_pathdup("%s", conf_dirs[i]);
	db->ctx = kmod_new(full, (const char *const *)confs);
	for (size_t i = 0; i < ARRAY_SIZE(conf_dirs); i++)
		free(confs[i]);
	if (!db->ctx)
		return errnof(err, -ENOMEM, "libkmod could not start on %s", db->dir);
	kmod_route_log(db->ctx);
	if (access(full, F_OK) < 0)
		return errnof(
		    err, -ENOENT,
		    "%s does not exist: the running kernel's modules are not installed (was its package removed after boot?); reinstall it, or reboot into an installed kernel",
		    db->dir);
	r = kmod_load_resources(db->ctx);
	if (r < 0)
		return errnof(
		    err, r,
		    "cannot read the module index in %s (%s): run 'depmod -a' to rebuild it",
		    db->dir, strerror(-r));
	return 0;
}

int kmod_db_state(struct kmod_db *db, const char *name, enum kmod_state *state,
		  char **path)
{
	struct kmod_list *list = NULL, *l;
	char sysname[64];
	int r;

	if (path)
		*path = NULL;
	sys_name(sysname, sizeof(sysname), name);
	/* /sys/module/NAME: initstate for a loaded module; a built-in one
	 * shows up there only when it has parameters */
	if (host_exists("/sys/module/%s/initstate", sysname)) {
		*state = KMOD_STATE_LOADED;
		return 0;
	}
	if (host_exists("/sys/module/%s", sysname)) {
		*state = KMOD_STATE_BUILTIN;
		return 0;
	}
	if (!db || !db->ctx)
		return -ENOENT;
	*state = KMOD_STATE_MISSING;
	r = kmod_module_new_from_lookup(db->ctx, name, &list);
	if (r < 0 || !list)
		return 0;
	kmod_list_foreach (l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);
		const char *p = kmod_module_get_path(mod);

		if (p) {
			/* the index can be stale: the file must be there */
			bool there = p[0] == '/' ? access(p, F_OK) == 0
						 : host_exists("%s/%s", db->dir, p);

			if (there && *state != KMOD_STATE_BUILTIN) {
				*state = KMOD_STATE_AVAILABLE;
				if (path && !*path) {
					size_t rl = strlen(host_root());

					/* libkmod made it absolute under our root */
					*path =
					    xstrdup(p[0] == '/' && rl &&
							    !strncmp(p, host_root(), rl)
							? p + rl
							: p);
				}
			}
		} else if (kmod_module_get_initstate(mod) == KMOD_MODULE_BUILTIN) {
			/* without a file, libkmod answers from the builtin index
			 * under our directory, without reading /sys */
			*state = KMOD_STATE_BUILTIN;
		}
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);
	return 0;
}
