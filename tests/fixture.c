// SPDX-License-Identifier: GPL-2.0-or-later
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fxdev {
	char bdf[32];
	char *
	    dir; /* absolute path below root, e.g. /sys/devices/pci0000:00/0000:00:01.0 */
	struct fxdev *next;
};

struct fx {
	char *root;
	struct fxdev *devs;
	int lineno;
	int depmod; /* module statements changed /lib/modules: rebuild the index */
};

static int fail(struct fx *fx, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fixture: line %d: ", fx->lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Write content below the root; path is absolute within the root. */
static int put(struct fx *fx, const char *path, const char *content, size_t len)
{
	char full[PATH_MAX], dir[PATH_MAX];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", fx->root, path);
	snprintf(dir, sizeof(dir), "%s", full);
	*strrchr(dir, '/') = '\0';
	if (mkdirs(dir) < 0)
		return fail(fx, "mkdir %s: %s", dir, strerror(errno));
	f = fopen(full, "w");
	if (!f)
		return fail(fx, "create %s: %s", full, strerror(errno));
	fwrite(content, 1, len, f);
	fclose(f);
	return 0;
}

static int putf(struct fx *fx, const char *content, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return put(fx, path, content, strlen(content));
}

static int mkdirf(struct fx *fx, const char *fmt, ...)
{
	char path[PATH_MAX], full[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s%s", fx->root, path);
	if (mkdirs(full) < 0)
		return fail(fx, "mkdir %s: %s", full, strerror(errno));
	return 0;
}

/* A symlink at `at` pointing to `to` (both absolute within the root),
 * written relative, as the kernel's sysfs links are. */
static int rel_link(struct fx *fx, const char *at, const char *to)
{
	char rel[PATH_MAX] = "", full[PATH_MAX], dir[PATH_MAX];
	const char *a = at, *t = to;
	size_t common = 0;

	/* longest common directory prefix */
	for (size_t i = 0; a[i] && a[i] == t[i]; i++)
		if (a[i] == '/')
			common = i + 1;
	for (const char *p = at + common; *p; p++)
		if (*p == '/')
			strcat(rel, "../");
	strcat(rel, to + common);
	snprintf(full, sizeof(full), "%s%s", fx->root, at);
	snprintf(dir, sizeof(dir), "%s", full);
	*strrchr(dir, '/') = '\0';
	if (mkdirs(dir) < 0)
		return fail(fx, "mkdir %s: %s", dir, strerror(errno));
	unlink(full);
	if (symlink(rel, full) < 0)
		return fail(fx, "symlink %s: %s", full, strerror(errno));
	return 0;
}

static struct fxdev *find_dev(struct fx *fx, const char *bdf)
{
	for (struct fxdev *d = fx->devs; d; d = d->next)
		if (strcmp(d->bdf, bdf) == 0)
			return d;
	return NULL;
}

struct fx *fx_new(const char *dir)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char tmpl[PATH_MAX];

	if (dir) {
		fx->root = strdup(dir);
		if (mkdirs(dir) < 0) {
			perror(dir);
			exit(99);
		}
	} else {
		const char *t = getenv("TMPDIR");
		snprintf(tmpl, sizeof(tmpl), "%s/vfiohook-fx-XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(tmpl)) {
			perror("mkdtemp");
			exit(99);
		}
		fx->root = strdup(tmpl);
	}
	mkdirf(fx, "/sys/bus/pci/devices");
	mkdirf(fx, "/sys/bus/pci/drivers");
	mkdirf(fx, "/sys/kernel/iommu_groups");
	mkdirf(fx, "/sys/class/block");
	mkdirf(fx, "/sys/class/net");
	mkdirf(fx, "/sys/block");
	putf(fx, "", "/sys/bus/pci/drivers_probe");
	putf(fx, "", "/sys/bus/pci/rescan");
	putf(fx, "", "/proc/self/mountinfo");
	putf(fx, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", "/proc/swaps");
	putf(fx, "", "/proc/cmdline");
	mkdirf(fx, "/etc/pve/qemu-server");
	mkdirf(fx, "/run");
	mkdirf(fx, "/var/lock");
	mkdirf(fx, "/dev/vfio");
	return fx;
}

const char *fx_root(const struct fx *fx)
{
	return fx->root;
}

static int hexval(const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 16);

	if (!*s || *end)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int ensure_driver(struct fx *fx, const char *drv)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/%s/bind", fx->root, drv);
	if (access(p, F_OK) == 0)
		return 0;
	if (putf(fx, "", "/sys/bus/pci/drivers/%s/bind", drv) ||
	    putf(fx, "", "/sys/bus/pci/drivers/%s/unbind", drv) ||
	    putf(fx, "", "/sys/bus/pci/drivers/%s/new_id", drv))
		return -1;
	return 0;
}

static int do_dev(struct fx *fx, char **tok, int ntok)
{
	unsigned vendor = 0x8086, device = 0x10d3, cls = 0x020000, sv = 0, sd = 0,
		 rev = 0;
	const char *bdf = tok[1], *group = NULL, *driver = NULL, *override = NULL;
	const char *parent = NULL, *numa = "-1", *cpus = "0-1", *boot_vga = NULL;
	const char *power = "D0", *d3cold = "1";
	unsigned long long bar_start[6] = {0}, bar_end[6] = {0};
	char reset_method[128] = "flr bus";
	int bridge = 0, vfio_dev = 0, noreset = 0, nogroup = 0, mdev = 0;
	unsigned dom, bus, slot, fn;
	unsigned char cfg[256];
	struct fxdev *d;
	char dir[PATH_MAX], p[PATH_MAX];

	/* a domain of 4 or more digits (Intel VMD's are 10000 and up) */
	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4 || strlen(bdf) < 12 ||
	    strlen(strchr(bdf, ':')) != 8)
		return fail(fx, "bad BDF '%s' (want DDDD:BB:DD.F)", bdf);
	for (int i = 2; i < ntok; i++) {
		char *k = tok[i], *v = strchr(k, '=');
		int bad = 0;

		if (v)
			*v++ = '\0';
		if (!v) {
			if (!strcmp(k, "bridge"))
				bridge = 1;
			else if (!strcmp(k, "vfio_dev"))
				vfio_dev = 1;
			else if (!strcmp(k, "noreset"))
				noreset = 1;
			else if (!strcmp(k, "nogroup"))
				nogroup = 1;
			else if (!strcmp(k, "mdev"))
				mdev = 1;
			else
				return fail(fx, "unknown flag '%s'", k);
			continue;
		}
		if (!strcmp(k, "vendor"))
			bad = hexval(v, &vendor);
		else if (!strcmp(k, "device"))
			bad = hexval(v, &device);
		else if (!strcmp(k, "class"))
			bad = hexval(v, &cls);
		else if (!strcmp(k, "rev"))
			bad = hexval(v, &rev);
		else if (!strcmp(k, "subsys")) {
			char *c = strchr(v, ':');
			if (!c)
				bad = 1;
			else {
				*c = '\0';
				bad = hexval(v, &sv) || hexval(c + 1, &sd);
			}
		} else if (!strcmp(k, "group"))
			group = v;
		else if (!strcmp(k, "driver"))
			driver = v;
		else if (!strcmp(k, "override"))
			override = v;
		else if (!strcmp(k, "parent"))
			parent = v;
		else if (!strcmp(k, "numa"))
			numa = v;
		else if (!strcmp(k, "cpus"))
			cpus = v;
		else if (!strcmp(k, "boot_vga"))
			boot_vga = v;
		else if (!strcmp(k, "power"))
			power = v;
		else if (!strcmp(k, "d3cold"))
			d3cold = v;
		else if (!strncmp(k, "bar", 3) && k[3] >= '0' && k[3] <= '5' && !k[4]) {
			int b = k[3] - '0';
			char *end;

			bar_start[b] = strtoull(v, &end, 16);
			bad = *end != '-';
			if (!bad)
				bar_end[b] = strtoull(end + 1, &end, 16);
			bad = bad || *end || bar_end[b] < bar_start[b];
		} else if (!strcmp(k, "reset_method")) {
			snprintf(reset_method, sizeof(reset_method), "%s", v);
			for (char *c = reset_method; *c; c++)
				if (*c == ',')
					*c = ' ';
		} else
			return fail(fx, "unknown key '%s'", k);
		if (bad)
			return fail(fx, "bad value '%s' for %s", v, k);
	}
	if (find_dev(fx, bdf))
		return fail(fx, "device %s given twice", bdf);
	if (parent) {
		struct fxdev *pd = find_dev(fx, parent);
		if (!pd)
			return fail(fx, "parent %s not defined before %s", parent, bdf);
		snprintf(dir, sizeof(dir), "%s/%s", pd->dir, bdf);
	} else {
		snprintf(dir, sizeof(dir), "/sys/devices/pci%04x:%02x/%s", dom, bus, bdf);
	}
	d = calloc(1, sizeof(*d));
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	d->dir = strdup(dir);
	d->next = fx->devs;
	fx->devs = d;

	/* the attributes libpci and we read */
	snprintf(p, sizeof(p), "0x%04x\n", vendor);
	putf(fx, p, "%s/vendor", dir);
	snprintf(p, sizeof(p), "0x%04x\n", device);
	putf(fx, p, "%s/device", dir);
	snprintf(p, sizeof(p), "0x%06x\n", cls);
	putf(fx, p, "%s/class", dir);
	snprintf(p, sizeof(p), "0x%04x\n", sv);
	putf(fx, p, "%s/subsystem_vendor", dir);
	snprintf(p, sizeof(p), "0x%04x\n", sd);
	putf(fx, p, "%s/subsystem_device", dir);
	snprintf(p, sizeof(p), "0x%02x\n", rev);
	putf(fx, p, "%s/revision", dir);
	putf(fx, "0\n", "%s/irq", dir);
	{
		/* "start end flags" per region as the kernel prints it; a BAR
		 * given is memory (IORESOURCE_MEM) */
		char res[7 * 60 + 1] = "";
		for (int i = 0; i < 7; i++) {
			char l[64];

			if (i < 6 && bar_end[i])
				snprintf(l, sizeof(l), "0x%016llx 0x%016llx 0x%016x\n",
					 bar_start[i], bar_end[i], 0x200);
			else
				snprintf(l, sizeof(l), "0x%016x 0x%016x 0x%016x\n", 0, 0,
					 0);
			strcat(res, l);
		}
		putf(fx, res, "%s/resource", dir);
	}
	memset(cfg, 0, sizeof(cfg));
	cfg[0] = vendor & 0xff, cfg[1] = vendor >> 8;
	cfg[2] = device & 0xff, cfg[3] = device >> 8;
	cfg[8] = rev;
	cfg[9] = cls & 0xff, cfg[10] = (cls >> 8) & 0xff, cfg[11] = (cls >> 16) & 0xff;
	cfg[14] = bridge ? 1 : 0;
	if (!bridge) {
		cfg[0x2c] = sv & 0xff, cfg[0x2d] = sv >> 8;
		cfg[0x2e] = sd & 0xff, cfg[0x2f] = sd >> 8;
	}
	snprintf(p, sizeof(p), "%s/config", dir);
	put(fx, p, (const char *)cfg, sizeof(cfg));
	snprintf(p, sizeof(p), "%s\n", numa);
	putf(fx, p, "%s/numa_node", dir);
	snprintf(p, sizeof(p), "%s\n", cpus);
	putf(fx, p, "%s/local_cpulist", dir);
	/* the kernel shows an unset override as "(null)" */
	snprintf(p, sizeof(p), "%s\n", override ? override : "(null)");
	putf(fx, p, "%s/driver_override", dir);
	snprintf(p, sizeof(p), "%s\n", power);
	putf(fx, p, "%s/power_state", dir);
	putf(fx, "auto\n", "%s/power/control", dir);
	snprintf(p, sizeof(p), "%s\n", d3cold);
	putf(fx, p, "%s/d3cold_allowed", dir);
	putf(fx, "1\n", "%s/enable", dir);
	putf(fx, "", "%s/remove", dir);
	putf(fx, "", "%s/rescan", dir);
	if (!noreset) {
		snprintf(p, sizeof(p), "%s\n", reset_method);
		putf(fx, p, "%s/reset_method", dir);
		putf(fx, "", "%s/reset", dir);
	}
	/* the kernel creates boot_vga only for VGA-class devices */
	if (boot_vga || (cls >> 8) == 0x0300)
		putf(fx, boot_vga && !strcmp(boot_vga, "1") ? "1\n" : "0\n",
		     "%s/boot_vga", dir);
	if (bridge)
		mkdirf(fx, "%s/pci_bus/%04x:%02x", dir, dom, bus + 1);
	if (vfio_dev)
		mkdirf(fx, "%s/vfio-dev/vfio0", dir);
	if (mdev) {
		mkdirf(fx, "%s/mdev_supported_types/i915-GVTg_V5_4", dir);
		putf(fx, "1\n",
		     "%s/mdev_supported_types/i915-GVTg_V5_4/available_instances", dir);
	}

	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s", bdf);
	if (rel_link(fx, p, dir))
		return -1;
	if (group && !nogroup) {
		char g[PATH_MAX];
		snprintf(g, sizeof(g), "/sys/kernel/iommu_groups/%s", group);
		mkdirf(fx, "%s/devices", g);
		snprintf(p, sizeof(p), "%s/devices/%s", g, bdf);
		if (rel_link(fx, p, dir))
			return -1;
		snprintf(p, sizeof(p), "%s/iommu_group", dir);
		if (rel_link(fx, p, g))
			return -1;
	}
	if (driver) {
		char dd[PATH_MAX];
		if (ensure_driver(fx, driver))
			return -1;
		snprintf(dd, sizeof(dd), "/sys/bus/pci/drivers/%s", driver);
		snprintf(p, sizeof(p), "%s/driver", dir);
		if (rel_link(fx, p, dd))
			return -1;
		snprintf(p, sizeof(p), "%s/%s", dd, bdf);
		if (rel_link(fx, p, dir))
			return -1;
	}
	return 0;
}

static int do_block(struct fx *fx, char **tok, int ntok)
{
	struct fxdev *d;
	char path[PATH_MAX], parentdev[PATH_MAX], full[PATH_MAX], p[PATH_MAX];
	const char *name;

	if (ntok != 4)
		return fail(fx, "usage: block BDF SUBPATH MAJ:MIN");
	d = find_dev(fx, tok[1]);
	if (!d)
		return fail(fx, "block: unknown device %s", tok[1]);
	snprintf(path, sizeof(path), "%s/%s", d->dir, tok[2]);
	name = strrchr(path, '/') + 1;
	snprintf(p, sizeof(p), "%s\n", tok[3]);
	putf(fx, p, "%s/dev", path);
	mkdirf(fx, "%s/holders", path);
	putf(fx, "0\n", "%s/removable", path);
	snprintf(p, sizeof(p), "/sys/class/block/%s", name);
	if (rel_link(fx, p, path))
		return -1;
	/* a partition sits in its disk's directory, which has a dev file */
	snprintf(parentdev, sizeof(parentdev), "%s", path);
	*strrchr(parentdev, '/') = '\0';
	snprintf(full, sizeof(full), "%s%s/dev", fx->root, parentdev);
	if (access(full, F_OK) == 0) {
		putf(fx, "1\n", "%s/partition", path);
	} else {
		snprintf(p, sizeof(p), "/sys/block/%s", name);
		if (rel_link(fx, p, path))
			return -1;
	}
	return 0;
}

static int do_holder(struct fx *fx, char **tok, int ntok)
{
	char blk[PATH_MAX], target[PATH_MAX], hp[PATH_MAX], at[PATH_MAX];
	ssize_t n;

	if (ntok != 3)
		return fail(fx, "usage: holder BLOCKNAME HOLDER");
	snprintf(blk, sizeof(blk), "%s/sys/class/block/%s", fx->root, tok[1]);
	n = readlink(blk, target, sizeof(target) - 1);
	if (n < 0)
		return fail(fx, "holder: unknown block device %s", tok[1]);
	target[n] = '\0';
	snprintf(hp, sizeof(hp), "/sys/devices/virtual/block/%s", tok[2]);
	mkdirf(fx, "%s/slaves", hp);
	putf(fx, "253:0\n", "%s/dev", hp);
	snprintf(at, sizeof(at), "/sys/class/block/%s", tok[2]);
	rel_link(fx, at, hp);
	snprintf(at, sizeof(at), "/sys/block/%s", tok[2]);
	rel_link(fx, at, hp);
	/* target is relative to /sys/class/block */
	{
		char abs[2 * PATH_MAX];
		char *s = target;
		while (!strncmp(s, "../", 3))
			s += 3;
		snprintf(abs, sizeof(abs), "/sys/%s/holders/%s", s, tok[2]);
		return rel_link(fx, abs, hp);
	}
}

static int do_net(struct fx *fx, char **tok, int ntok)
{
	struct fxdev *d;
	char path[PATH_MAX], p[PATH_MAX];
	const char *master = NULL, *oper = "up";

	if (ntok < 3)
		return fail(fx, "usage: net BDF IFNAME [master=BR] [operstate=S]");
	d = find_dev(fx, tok[1]);
	if (!d)
		return fail(fx, "net: unknown device %s", tok[1]);
	for (int i = 3; i < ntok; i++) {
		if (!strncmp(tok[i], "master=", 7))
			master = tok[i] + 7;
		else if (!strncmp(tok[i], "operstate=", 10))
			oper = tok[i] + 10;
		else
			return fail(fx, "net: unknown option %s", tok[i]);
	}
	snprintf(path, sizeof(path), "%s/net/%s", d->dir, tok[2]);
	snprintf(p, sizeof(p), "%s\n", oper);
	putf(fx, p, "%s/operstate", path);
	putf(fx, "52:54:00:12:34:56\n", "%s/address", path);
	snprintf(p, sizeof(p), "/sys/class/net/%s", tok[2]);
	if (rel_link(fx, p, path))
		return -1;
	if (master) {
		char m[PATH_MAX];
		snprintf(m, sizeof(m), "/sys/devices/virtual/net/%s", master);
		putf(fx, "up\n", "%s/operstate", m);
		mkdirf(fx, "%s/bridge", m);
		snprintf(p, sizeof(p), "/sys/class/net/%s", master);
		rel_link(fx, p, m);
		snprintf(p, sizeof(p), "%s/master", path);
		if (rel_link(fx, p, m))
			return -1;
		snprintf(p, sizeof(p), "%s/lower_%s", m, tok[2]);
		rel_link(fx, p, path);
	}
	return 0;
}

static int do_classlink(struct fx *fx, char **tok, int ntok, const char *cls)
{
	struct fxdev *d;
	char path[PATH_MAX], p[PATH_MAX];

	if (ntok != 3)
		return fail(fx, "usage: %s BDF NAME", tok[0]);
	d = find_dev(fx, tok[1]);
	if (!d)
		return fail(fx, "%s: unknown device %s", tok[0], tok[1]);
	/* /sys/class/X/NAME -> ../../devices/.../BDF/X/NAME, whose device -> BDF */
	snprintf(path, sizeof(path), "%s/%s/%s", d->dir, cls, tok[2]);
	putf(fx, "", "%s/uevent", path);
	snprintf(p, sizeof(p), "%s/device", path);
	if (rel_link(fx, p, d->dir))
		return -1;
	snprintf(p, sizeof(p), "/sys/class/%s/%s", cls, tok[2]);
	return rel_link(fx, p, path);
}

/* The fake kernel's release: <root>/proc/sys/kernel/osrelease, written
 * with a default the first time a module statement needs it. */
static void release(struct fx *fx, char *buf, size_t size)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/proc/sys/kernel/osrelease", fx->root);
	f = fopen(p, "r");
	if (f) {
		if (!fgets(buf, (int)size, f))
			buf[0] = '\0';
		fclose(f);
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0])
			return;
	}
	snprintf(buf, size, "%s", "6.8.12-4-pve");
	putf(fx, "6.8.12-4-pve\n", "/proc/sys/kernel/osrelease");
}

/*
 * module NAME loaded            /sys/module/NAME/initstate (dashes as '_')
 * module NAME builtin           listed in /lib/modules/REL/modules.builtin
 * module NAME PATH.ko           an (empty) module file /lib/modules/REL/PATH.ko
 * The index (modules.dep.bin, ...) is rebuilt with depmod -b at the end of
 * the spec, as libkmod reads only the binary index.
 */
static int do_module(struct fx *fx, char **tok, int ntok)
{
	char rel[128], sysname[128], p[PATH_MAX], full[PATH_MAX];
	FILE *f;

	if (ntok != 3)
		return fail(fx, "usage: module NAME loaded|builtin|PATH.ko");
	snprintf(sysname, sizeof(sysname), "%s", tok[1]);
	for (char *c = sysname; *c; c++)
		if (*c == '-')
			*c = '_';
	if (!strcmp(tok[2], "loaded"))
		return putf(fx, "live\n", "/sys/module/%s/initstate", sysname);
	release(fx, rel, sizeof(rel));
	if (mkdirf(fx, "/lib/modules/%s", rel))
		return -1;
	fx->depmod = 1;
	/* every kernel has the list, if empty (libkmod cannot map the empty
	 * modules.builtin.bin depmod writes without it) */
	snprintf(full, sizeof(full), "%s/lib/modules/%s/modules.builtin", fx->root, rel);
	f = fopen(full, "a");
	if (!f)
		return fail(fx, "%s: %s", full, strerror(errno));
	if (!strcmp(tok[2], "builtin"))
		fprintf(f, "kernel/%s.ko\n", tok[1]);
	fclose(f);
	if (!strcmp(tok[2], "builtin"))
		return 0;
	if (strlen(tok[2]) < 4 || strcmp(tok[2] + strlen(tok[2]) - 3, ".ko"))
		return fail(fx, "module: '%s' is not loaded, builtin or a PATH.ko",
			    tok[2]);
	snprintf(p, sizeof(p), "/lib/modules/%s/%s", rel, tok[2]);
	return put(fx, p, "", 0);
}

/* depmod -b ROOT REL, quietly: builds the index libkmod reads */
static int run_depmod(struct fx *fx)
{
	char rel[128];
	char *argv[] = {"depmod", "-b", fx->root, rel, NULL};
	char *envp[] = {"PATH=/usr/sbin:/sbin:/usr/bin:/bin", NULL};
	posix_spawn_file_actions_t fa;
	int status = 0;
	pid_t pid;

	fx->depmod = 0;
	release(fx, rel, sizeof(rel));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "depmod", &fa, NULL, argv, envp) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return fail(fx, "cannot run depmod (install kmod)");
	}
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail(fx, "depmod -b %s %s failed", fx->root, rel);
	return 0;
}

static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] == 'n')
			*w++ = '\n', r++;
		else if (r[0] == '\\' && r[1] == 't')
			*w++ = '\t', r++;
		else if (r[0] == '\\' && r[1] == '\\')
			*w++ = '\\', r++;
		else
			*w++ = *r;
	}
	*w = '\0';
}

/* "key=value" among tok[from..ntok), or NULL */
static const char *opt(char **tok, int from, int ntok, const char *key)
{
	size_t kl = strlen(key);

	for (int i = from; i < ntok; i++)
		if (!strncmp(tok[i], key, kl) && tok[i][kl] == '=')
			return tok[i] + kl + 1;
	return NULL;
}

/* cpu N [siblings=LIST] */
static int do_cpu(struct fx *fx, char **tok, int ntok)
{
	const char *sib = opt(tok, 2, ntok, "siblings");
	char v[128];

	snprintf(v, sizeof(v), "%s\n", sib ? sib : tok[1]);
	return putf(fx, v, "/sys/devices/system/cpu/cpu%s/topology/thread_siblings_list",
		    tok[1]);
}

/* node N [cpus=LIST] [memfree=KB] [pool=KB:NR:FREE]... */
static int do_node(struct fx *fx, char **tok, int ntok)
{
	const char *cpus = opt(tok, 2, ntok, "cpus"),
		   *memfree = opt(tok, 2, ntok, "memfree");
	char v[256];

	snprintf(v, sizeof(v), "%s\n", cpus ? cpus : "");
	if (putf(fx, v, "/sys/devices/system/node/node%s/cpulist", tok[1]) < 0)
		return -1;
	snprintf(v, sizeof(v),
		 "Node %s MemTotal:       8388608 kB\nNode %s MemFree:        %s kB\n",
		 tok[1], tok[1], memfree ? memfree : "4194304");
	if (putf(fx, v, "/sys/devices/system/node/node%s/meminfo", tok[1]) < 0)
		return -1;
	for (int i = 2; i < ntok; i++) {
		unsigned long kb, nr, fr;

		if (strncmp(tok[i], "pool=", 5))
			continue;
		if (sscanf(tok[i] + 5, "%lu:%lu:%lu", &kb, &nr, &fr) != 3)
			return fail(fx, "pool=KB:NR:FREE expected, got '%s'", tok[i]);
		mkdirf(fx, "/sys/kernel/mm/hugepages/hugepages-%lukB", kb);
		snprintf(v, sizeof(v), "%lu\n", nr);
		putf(
		    fx, v,
		    "/sys/devices/system/node/node%s/hugepages/hugepages-%lukB/nr_hugepages",
		    tok[1], kb);
		snprintf(v, sizeof(v), "%lu\n", fr);
		putf(
		    fx, v,
		    "/sys/devices/system/node/node%s/hugepages/hugepages-%lukB/free_hugepages",
		    tok[1], kb);
		putf(
		    fx, "0\n",
		    "/sys/devices/system/node/node%s/hugepages/hugepages-%lukB/surplus_hugepages",
		    tok[1], kb);
	}
	return 0;
}

/* task PID TID COMM... [cpus=LIST] (COMM may hold spaces: "CPU 0/KVM") */
static int do_task(struct fx *fx, char **tok, int ntok)
{
	const char *cpus = opt(tok, 3, ntok, "cpus");
	char comm[256] = "", v[512];
	size_t len = 0;

	for (int i = 3; i < ntok; i++) {
		if (!strncmp(tok[i], "cpus=", 5))
			continue;
		len += (size_t)snprintf(comm + len, sizeof(comm) - len, "%s%s",
					len ? " " : "", tok[i]);
	}
	snprintf(v, sizeof(v), "%s\n", comm);
	if (putf(fx, v, "/proc/%s/task/%s/comm", tok[1], tok[2]) < 0)
		return -1;
	snprintf(v, sizeof(v), "Name:\t%s\nPid:\t%s\nCpus_allowed_list:\t%s\n", comm,
		 tok[2], cpus ? cpus : "0");
	return putf(fx, v, "/proc/%s/task/%s/status", tok[1], tok[2]);
}

static int do_line(struct fx *fx, char *line)
{
	char *tok[64];
	int ntok = 0;
	char *rest = NULL, *s = line;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '#')
		return 0;
	/* "file PATH CONTENT": the content is the rest of the line, verbatim */
	if (!strncmp(s, "file ", 5)) {
		char *path = s + 5, *sp;
		while (*path == ' ')
			path++;
		sp = strchr(path, ' ');
		if (sp) {
			*sp = '\0';
			rest = sp + 1;
		} else {
			rest = "";
		}
		unescape(rest);
		return put(fx, path, rest, strlen(rest));
	}
	for (char *t = strtok(s, " \t"); t && ntok < 64; t = strtok(NULL, " \t"))
		tok[ntok++] = t;
	if (ntok == 0)
		return 0;
	if (!strcmp(tok[0], "dev") && ntok >= 2)
		return do_dev(fx, tok, ntok);
	if (!strcmp(tok[0], "block"))
		return do_block(fx, tok, ntok);
	if (!strcmp(tok[0], "holder"))
		return do_holder(fx, tok, ntok);
	if (!strcmp(tok[0], "net"))
		return do_net(fx, tok, ntok);
	if (!strcmp(tok[0], "fb"))
		return do_classlink(fx, tok, ntok, "graphics");
	if (!strcmp(tok[0], "drm"))
		return do_classlink(fx, tok, ntok, "drm");
	if (!strcmp(tok[0], "chmod") && ntok == 3) {
		char full[PATH_MAX];

		snprintf(full, sizeof(full), "%s%s", fx->root, tok[2]);
		if (chmod(full, (mode_t)strtoul(tok[1], NULL, 8)) < 0)
			return fail(fx, "chmod %s: %s", full, strerror(errno));
		return 0;
	}
	if (!strcmp(tok[0], "module"))
		return do_module(fx, tok, ntok);
	if (!strcmp(tok[0], "mkdir") && ntok == 2)
		return mkdirf(fx, "%s", tok[1]);
	if (!strcmp(tok[0], "cpu") && ntok >= 2)
		return do_cpu(fx, tok, ntok);
	if (!strcmp(tok[0], "node") && ntok >= 2)
		return do_node(fx, tok, ntok);
	if (!strcmp(tok[0], "task") && ntok >= 4)
		return do_task(fx, tok, ntok);
	if (!strcmp(tok[0], "link") && ntok == 3) {
		char full[PATH_MAX], dir[PATH_MAX];
		snprintf(full, sizeof(full), "%s%s", fx->root, tok[1]);
		snprintf(dir, sizeof(dir), "%s", full);
		*strrchr(dir, '/') = '\0';
		mkdirs(dir);
		unlink(full);
		if (symlink(tok[2], full) < 0)
			return fail(fx, "symlink %s: %s", full, strerror(errno));
		return 0;
	}
	if (!strcmp(tok[0], "proc") && ntok >= 3) {
		char cmd[4096];
		size_t len = 0;
		char comm[256];
		snprintf(comm, sizeof(comm), "%s\n", tok[2]);
		putf(fx, comm, "/proc/%s/comm", tok[1]);
		for (int i = 3; i < ntok && len < sizeof(cmd) - 256; i++) {
			size_t l = strlen(tok[i]);
			memcpy(cmd + len, tok[i], l + 1);
			len += l + 1;
		}
		{
			char p[PATH_MAX], st[512];
			snprintf(p, sizeof(p), "/proc/%s/cmdline", tok[1]);
			put(fx, p, cmd, len);
			/* proc(5): pid (comm) state ppid ... */
			snprintf(st, sizeof(st), "%s (%s) S 1 %s %s 0 -1 4194560\n",
				 tok[1], tok[2], tok[1], tok[1]);
			snprintf(p, sizeof(p), "/proc/%s/stat", tok[1]);
			put(fx, p, st, strlen(st));
			/* proc(5): Uid: real effective saved fs; root's */
			snprintf(st, sizeof(st), "Name:\t%s\nUid:\t0\t0\t0\t0\n", tok[2]);
			snprintf(p, sizeof(p), "/proc/%s/status", tok[1]);
			put(fx, p, st, strlen(st));
		}
		return mkdirf(fx, "/proc/%s/fd", tok[1]);
	}
	if (!strcmp(tok[0], "fd") && ntok == 4) {
		char full[PATH_MAX];
		mkdirf(fx, "/proc/%s/fd", tok[1]);
		snprintf(full, sizeof(full), "%s/proc/%s/fd/%s", fx->root, tok[1],
			 tok[2]);
		unlink(full);
		if (symlink(tok[3], full) < 0)
			return fail(fx, "symlink %s: %s", full, strerror(errno));
		return 0;
	}
	return fail(fx, "cannot parse '%s'", tok[0]);
}

int fx_spec(struct fx *fx, const char *text)
{
	char *copy = strdup(text), *save = NULL;
	int r = 0;

	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		fx->lineno++;
		if (do_line(fx, line) < 0) {
			r = -1;
			break;
		}
	}
	if (r == 0 && fx->depmod)
		r = run_depmod(fx);
	free(copy);
	return r;
}

int fx_specf(struct fx *fx, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	r = fx_spec(fx, s);
	free(s);
	return r;
}

int fx_file(struct fx *fx, const char *path, const char *content)
{
	return put(fx, path, content, strlen(content));
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

void fx_free(struct fx *fx, int keep)
{
	if (!fx)
		return;
	if (!keep && !getenv("FX_KEEP"))
		nftw(fx->root, rm_cb, 64, FTW_DEPTH | FTW_PHYS);
	while (fx->devs) {
		struct fxdev *n = fx->devs->next;
		free(fx->devs->dir);
		free(fx->devs);
		fx->devs = n;
	}
	free(fx->root);
	free(fx);
}
