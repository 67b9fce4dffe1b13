// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Who uses a device: block devices, network interfaces, framebuffers and
 * open device nodes below a PCI device.  See usage.h for what each reason
 * looks at.  Everything is read under the root (host.h), once per context.
 */
#include "pci/usage.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"

/* Holder chains (dm on md on a partition, ...) are short; bound them
 * anyway against a malformed tree with a loop. */
#define HOLDER_DEPTH_MAX 8

struct mnt {
	unsigned maj, min;
	char *point;
	char *fstype;
	char *source;
};

/* One entry of a /sys/class directory with its resolved path. */
struct cls {
	char *name;
	char *real;
};

struct clsset {
	bool loaded;
	struct cls *v;
	size_t n;
};

/* An open file of interest: /dev/vfio/... or /dev/dri/... */
struct fdhit {
	int pid;
	char *target;
};

struct ifaddr_ent {
	char *ifname;
	char *addr;
	bool subnet; /* addr is "192.168.0.0/24": the fake-root route heuristic */
};

struct usage_ctx {
	struct mnt *mnt;
	size_t nmnt;
	struct strv swaps; /* Filename column of /proc/swaps */
	struct clsset block, net, graphics, drm;
	bool fds_loaded;
	struct fdhit *fds;
	size_t nfds;
	bool addrs_loaded;
	struct ifaddr_ent *addrs;
	size_t naddrs;
};

const char *usage_kind_name(enum usage_kind kind)
{
	static const char *const names[] = {
	    [USAGE_MOUNT] = "mount",	      [USAGE_SWAP] = "swap",
	    [USAGE_HOLDER] = "holder",	      [USAGE_ZFS] = "zfs",
	    [USAGE_NET_ADDR] = "net-address", [USAGE_NET_MASTER] = "net-master",
	    [USAGE_CONSOLE] = "console",      [USAGE_DRM_OPEN] = "drm-open",
	    [USAGE_VFIO_OPEN] = "vfio-open",  [USAGE_RESERVED] = "reserved",
	};

	if ((unsigned)kind < ARRAY_SIZE(names) && names[kind])
		return names[kind];
	return "unknown";
}

void usage_list_add(struct usage_list *l, enum usage_kind kind, const char *what,
		    unsigned other_vmid, int pid)
{
	struct usage_reason *r;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	r = &l->v[l->n++];
	r->kind = kind;
	r->what = xstrdup(what);
	r->other_vmid = other_vmid;
	r->pid = pid;
}

static void _printf_(3, 4)
    add_reasonf(struct usage_list *l, enum usage_kind kind, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	usage_list_add(l, kind, s, 0, 0);
}

void usage_list_clear(struct usage_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].what);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* mountinfo and swaps escape ' ', '\t', '\n' and '\\' as \ooo */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
		    r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ =
			    (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/*
 * "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
 * (proc(5)): the optional fields end at a lone "-".
 */
static int parse_mountinfo_line(char *line, struct mnt *m)
{
	char *save = NULL, *tok[6];
	char *t;
	int i;

	for (i = 0; i < 6; i++) {
		tok[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!tok[i])
			return -EINVAL;
	}
	if (sscanf(tok[2], "%u:%u", &m->maj, &m->min) != 2)
		return -EINVAL;
	while ((t = strtok_r(NULL, " ", &save)) && !streq(t, "-"))
		;
	if (!t)
		return -EINVAL;
	t = strtok_r(NULL, " ", &save);
	if (!t)
		return -EINVAL;
	m->fstype = xstrdup(t);
	t = strtok_r(NULL, " ", &save);
	m->source = xstrdup(t ? t : "");
	unescape_octal(m->source);
	m->point = xstrdup(tok[4]);
	unescape_octal(m->point);
	return 0;
}

static int load_mounts(struct usage_ctx *u)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	int lineno = 0, r;

	r = host_read(&text, "/proc/self/mountinfo");
	if (r < 0) {
		log_debug("cannot read %s/proc/self/mountinfo: %s", host_root(),
			  strerror(-r));
		return r;
	}
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct mnt m = {0};

		lineno++;
		if (parse_mountinfo_line(line, &m) < 0) {
			log_warn("%s/proc/self/mountinfo line %d: cannot parse, ignored",
				 host_root(), lineno);
			free(m.fstype);
			free(m.source);
			continue;
		}
		u->mnt = xrealloc(u->mnt, (u->nmnt + 1) * sizeof(*u->mnt));
		u->mnt[u->nmnt++] = m;
	}
	return 0;
}

static void load_swaps(struct usage_ctx *u)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	bool first = true;
	int r;

	r = host_read(&text, "/proc/swaps");
	if (r < 0) {
		/* no /proc/swaps: a kernel without swap support */
		log_debug("%s/proc/swaps: %s; assuming no swap", host_root(),
			  strerror(-r));
		return;
	}
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *end;

		if (first) { /* "Filename Type Size Used Priority" */
			first = false;
			continue;
		}
		end = line + strcspn(line, " \t");
		*end = '\0';
		if (!*line)
			continue;
		unescape_octal(line);
		strv_add(&u->swaps, line);
	}
}

int usage_open(struct usage_ctx **out)
{
	struct usage_ctx *u = xcalloc(1, sizeof(*u));
	int r;

	*out = NULL;
	r = load_mounts(u);
	if (r < 0) {
		usage_close(u);
		return r;
	}
	load_swaps(u);
	*out = u;
	return 0;
}

static void clsset_clear(struct clsset *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].real);
	}
	free(c->v);
}

void usage_close(struct usage_ctx *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nmnt; i++) {
		free(u->mnt[i].point);
		free(u->mnt[i].fstype);
		free(u->mnt[i].source);
	}
	free(u->mnt);
	strv_clear(&u->swaps);
	clsset_clear(&u->block);
	clsset_clear(&u->net);
	clsset_clear(&u->graphics);
	clsset_clear(&u->drm);
	for (size_t i = 0; i < u->nfds; i++)
		free(u->fds[i].target);
	free(u->fds);
	for (size_t i = 0; i < u->naddrs; i++) {
		free(u->addrs[i].ifname);
		free(u->addrs[i].addr);
	}
	free(u->addrs);
	free(u);
}

static int cmp_cls(const void *a, const void *b)
{
	return strcmp(((const struct cls *)a)->name, ((const struct cls *)b)->name);
}

/* Resolve every entry of /sys/class/<name> once. */
static struct clsset *classes(struct clsset *c, const char *name)
{
	char path[PATH_MAX], full[PATH_MAX * 2];
	struct dirent *e;
	DIR *dir;

	if (c->loaded)
		return c;
	c->loaded = true;
	if (host_path(path, sizeof(path), "/sys/class/%s", name) < 0)
		return c;
	dir = opendir(path);
	if (!dir) {
		log_debug("%s: %s; nothing of that class", path, strerror(errno));
		return c;
	}
	while ((e = readdir(dir))) {
		char *real;

		if (e->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		real = realpath(full, NULL);
		if (!real)
			continue;
		c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
		c->v[c->n].name = xstrdup(e->d_name);
		c->v[c->n].real = real;
		c->n++;
	}
	closedir(dir);
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_cls);
	return c;
}

/* path lies strictly below dir ('/' boundary: .../01:00.1 is not below .../01:00.10) */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static char *read_at(const char *dir, const char *attr)
{
	char path[PATH_MAX * 2];
	char buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return xstrdup(buf);
}

static bool exists_at(const char *dir, const char *attr)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return access(path, F_OK) == 0;
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static const char *mount_note(const char *point)
{
	if (streq(point, "/"))
		return " (the host's root filesystem)";
	if (streq(point, "/boot"))
		return " (the host's /boot)";
	if (streq(point, "/boot/efi"))
		return " (the host's EFI system partition)";
	if (streq(point, "/var/lib/vz"))
		return " (Proxmox's local storage)";
	return "";
}

/* /dev/NAME, or /dev/mapper/DM_NAME for a device-mapper device */
static bool is_dev_path(const char *path, const char *name, const char *dm_name)
{
	if (!startswith(path, "/dev/"))
		return false;
	if (streq(path + 5, name))
		return true;
	return dm_name && startswith(path, "/dev/mapper/") && streq(path + 12, dm_name);
}

static bool mount_matches(const struct mnt *m, unsigned maj, unsigned min,
			  const char *name, const char *dm_name)
{
	if (m->maj == maj && m->min == min)
		return true;
	/* btrfs shows an anonymous 0:N device in mountinfo, never the disk's
	 * major:minor; its source field still names the device */
	return is_dev_path(m->source, name, dm_name);
}

/* "mounted at / (the host's root filesystem), /srv" or NULL if not mounted;
 * "/" comes first: it is what matters most. */
static char *mount_points(struct usage_ctx *u, unsigned maj, unsigned min,
			  const char *name, const char *dm_name)
{
	char *out = NULL;
	size_t shown = 0, more = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < u->nmnt; i++) {
			const struct mnt *m = &u->mnt[i];
			char *n;

			if (!mount_matches(m, maj, min, name, dm_name))
				continue;
			if ((pass == 0) != streq(m->point, "/"))
				continue;
			if (shown == 3) {
				more++;
				continue;
			}
			n = xasprintf("%s%s%s%s", out ? out : "mounted at ",
				      out ? ", " : "", m->point, mount_note(m->point));
			free(out);
			out = n;
			shown++;
		}
	}
	if (more) {
		char *n = xasprintf("%s and %zu more", out, more);
		free(out);
		out = n;
	}
	return out;
}

static bool in_swap(struct usage_ctx *u, const char *name, const char *dm_name)
{
	for (size_t i = 0; i < u->swaps.n; i++)
		if (is_dev_path(u->swaps.v[i], name, dm_name))
			return true;
	return false;
}

/* "LVM volume pve-root", "software RAID md0", ... for a holder's sysfs dir */
static char *holder_desc(const char *real, const char *name)
{
	_cleanup_free_ char *dm_name = read_at(real, "dm/name");
	_cleanup_free_ char *dm_uuid = read_at(real, "dm/uuid");

	if (dm_name && *dm_name) {
		if (dm_uuid && startswith(dm_uuid, "LVM-"))
			return xasprintf("%s (LVM volume %s)", name, dm_name);
		if (dm_uuid && startswith(dm_uuid, "CRYPT-"))
			return xasprintf("%s (encrypted volume %s)", name, dm_name);
		return xasprintf("%s (device-mapper device %s)", name, dm_name);
	}
	if (exists_at(real, "md"))
		return xasprintf("%s (software RAID)", name);
	if (exists_at(real, "bcache"))
		return xasprintf("%s (bcache)", name);
	return xstrdup(name);
}

/* ZFS membership from udev's database (best effort, see usage.h). */
static char *zfs_use(struct usage_ctx *u, unsigned maj, unsigned min)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_free_ char *pool = NULL;
	bool member = false;
	char *save = NULL;
	const char *mounted = NULL;

	if (host_read(&data, "/run/udev/data/b%u:%u", maj, min) < 0)
		return NULL;
	for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (streq(l, "E:ID_FS_TYPE=zfs_member"))
			member = true;
		else if (startswith(l, "E:ID_FS_LABEL="))
			pool = xstrdup(l + 14);
	}
	if (!member || !pool || !*pool)
		return NULL;
	for (size_t i = 0; i < u->nmnt; i++) {
		const struct mnt *m = &u->mnt[i];
		size_t n = strlen(pool);

		if (!streq(m->fstype, "zfs"))
			continue;
		if (strncmp(m->source, pool, n) != 0 ||
		    (m->source[n] && m->source[n] != '/'))
			continue;
		if (!mounted || streq(m->point, "/"))
			mounted = m->point;
	}
	if (mounted)
		return xasprintf("is a member of ZFS pool %s, which is mounted at %s%s",
				 pool, mounted, mount_note(mounted));
	if (host_exists("/proc/spl/kstat/zfs/%s", pool))
		return xasprintf("is a member of ZFS pool %s, which is imported", pool);
	return NULL;
}

/*
 * A device of a mounted multi-device btrfs that mountinfo does not name
 * (its source field shows one device only): /sys/fs/btrfs/<fsid>/devices/
 * lists them all while the filesystem is mounted.  Returns the fsid.
 */
static char *btrfs_member(const char *name)
{
	char path[PATH_MAX];
	struct dirent *e;
	char *fsid = NULL;
	DIR *dir;

	if (host_path(path, sizeof(path), "/sys/fs/btrfs") < 0)
		return NULL;
	dir = opendir(path);
	if (!dir)
		return NULL;
	while (!fsid && (e = readdir(dir))) {
		if (e->d_name[0] == '.' || streq(e->d_name, "features"))
			continue;
		if (host_exists("/sys/fs/btrfs/%s/devices/%s", e->d_name, name))
			fsid = xstrdup(e->d_name);
	}
	closedir(dir);
	return fsid;
}

/*
 * What uses the block device at real (sysfs dir) named name: phrases that
 * start with "is ...", collected in out with their kinds.
 */
static void block_uses(struct usage_ctx *u, const char *name, const char *real, int depth,
		       struct usage_list *out)
{
	_cleanup_free_ char *dev = read_at(real, "dev");
	_cleanup_free_ char *dm_name = read_at(real, "dm/name");
	char holders[PATH_MAX * 2];
	unsigned maj, min;
	struct dirent *e;
	DIR *dir;

	if (!dev || sscanf(dev, "%u:%u", &maj, &min) != 2) {
		/* no such device number: only the name can match */
		maj = min = UINT_MAX;
	}
	{
		_cleanup_free_ char *mp = mount_points(u, maj, min, name, dm_name);
		_cleanup_free_ char *zfs = NULL;

		if (mp) {
			add_reasonf(out, USAGE_MOUNT, "is %s", mp);
		} else {
			_cleanup_free_ char *fsid = btrfs_member(name);

			if (fsid)
				add_reasonf(
				    out, USAGE_MOUNT,
				    "is a device of the mounted btrfs filesystem %s",
				    fsid);
		}
		if (maj != UINT_MAX)
			zfs = zfs_use(u, maj, min);
		if (zfs)
			usage_list_add(out, USAGE_ZFS, zfs, 0, 0);
	}
	if (in_swap(u, name, dm_name))
		usage_list_add(out, USAGE_SWAP, "is in use as swap", 0, 0);

	snprintf(holders, sizeof(holders), "%s/holders", real);
	dir = opendir(holders);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char hpath[PATH_MAX * 3];
		_cleanup_free_ char *hreal = NULL;
		_cleanup_free_ char *desc = NULL;
		struct usage_list sub = {0};

		if (e->d_name[0] == '.')
			continue;
		snprintf(hpath, sizeof(hpath), "%s/%s", holders, e->d_name);
		hreal = realpath(hpath, NULL);
		desc = hreal ? holder_desc(hreal, e->d_name) : xstrdup(e->d_name);
		if (hreal && depth < HOLDER_DEPTH_MAX)
			block_uses(u, e->d_name, hreal, depth + 1, &sub);
		if (sub.n == 0) {
			add_reasonf(out, USAGE_HOLDER, "is held by %s", desc);
		} else {
			_cleanup_free_ char *chain = xstrdup(sub.v[0].what);

			for (size_t i = 1; i < sub.n; i++) {
				char *n = xasprintf("%s and %s", chain, sub.v[i].what);
				free(chain);
				chain = n;
			}
			add_reasonf(out, USAGE_HOLDER, "is held by %s, which %s", desc,
				    chain);
		}
		usage_list_clear(&sub);
	}
	closedir(dir);
}

/* The reasons the block device at real (sysfs dir) named name is in use. */
static void report_block(struct usage_ctx *u, const char *name, const char *real,
			 struct usage_list *out)
{
	_cleanup_free_ char *desc = NULL;
	struct usage_list uses = {0};

	if (exists_at(real, "partition")) {
		char disk[PATH_MAX];

		snprintf(disk, sizeof(disk), "%s", real);
		*strrchr(disk, '/') = '\0';
		desc = xasprintf("its disk %s (partition %s)", basename_of(disk), name);
	} else {
		desc = xasprintf("its disk %s", name);
	}
	block_uses(u, name, real, 0, &uses);
	for (size_t j = 0; j < uses.n; j++)
		add_reasonf(out, uses.v[j].kind, "%s %s", desc, uses.v[j].what);
	usage_list_clear(&uses);
}

/* An NVMe namespace or its partition: nvme0n1, nvme0n1p2. */
static bool nvme_ns_name(const char *n)
{
	unsigned a, b, c;
	char tail;

	return sscanf(n, "nvme%un%up%u%c", &a, &b, &c, &tail) == 3 ||
	       (sscanf(n, "nvme%un%u%c", &a, &b, &tail) == 2);
}

/*
 * A depth-first walk of a device's own sysfs subtree, for trees whose
 * /sys/class directories do not list everything below the device.  Links
 * are not followed.  The visitor gets each directory with the flag its
 * parent returned, and returns the flag for the directory's children, or
 * -1 to skip them.
 */
struct walk {
	struct usage_ctx *u;
	const struct clsset *known; /* found through /sys/class already */
	struct usage_list *out;
	int (*visit)(struct walk *w, const char *path, const char *name, int flag);
	int max_depth;
};

static void walk_tree(struct walk *w, const char *dir, int depth, int flag)
{
	struct dirent *e;
	DIR *d;

	if (depth > w->max_depth)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		int child;

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >=
		    sizeof(sub))
			continue;
		child = w->visit(w, sub, e->d_name, flag);
		if (child >= 0)
			walk_tree(w, sub, depth + 1, child);
	}
	closedir(d);
}

static bool known_real(const struct clsset *c, const char *real)
{
	for (size_t i = 0; i < c->n; i++)
		if (streq(c->v[i].real, real))
			return true;
	return false;
}

/* A block device: a directory with a dev file below a "block" directory
 * (SCSI, virtio: .../block/sda) or named like an NVMe namespace
 * (.../nvme/nvme0/nvme0n1). flag: below a "block" directory. */
static int visit_block(struct walk *w, const char *path, const char *name, int in_block)
{
	if ((in_block || nvme_ns_name(name)) && exists_at(path, "dev") &&
	    !known_real(w->known, path))
		report_block(w->u, name, path, w->out);
	return in_block || streq(name, "block");
}

static void check_blocks(struct usage_ctx *u, const char *devreal, struct usage_list *out)
{
	struct clsset *c = classes(&u->block, "block");
	struct walk w = {u, c, out, visit_block, 12};

	for (size_t i = 0; i < c->n; i++)
		if (below(c->v[i].real, devreal))
			report_block(u, c->v[i].name, c->v[i].real, out);
	walk_tree(&w, devreal, 0, 0);
}

static void add_addr(struct usage_ctx *u, const char *ifname, const char *addr,
		     bool subnet)
{
	char name[IF_NAMESIZE + 1];

	/* IPv4 alias labels ("eth0:1") belong to the interface */
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(ifname, ":"), ifname);
	u->addrs = xrealloc(u->addrs, (u->naddrs + 1) * sizeof(*u->addrs));
	u->addrs[u->naddrs].ifname = xstrdup(name);
	u->addrs[u->naddrs].addr = xstrdup(addr);
	u->addrs[u->naddrs].subnet = subnet;
	u->naddrs++;
}

static void load_addrs_real(struct usage_ctx *u)
{
	struct ifaddrs *ifa, *i;
	char buf[INET6_ADDRSTRLEN];

	if (getifaddrs(&ifa) < 0) {
		log_warn("getifaddrs: %s; network addresses are not checked",
			 strerror(errno));
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_name)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)i->ifa_addr;

			inet_ntop(AF_INET, &s->sin_addr, buf, sizeof(buf));
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s = (const void *)i->ifa_addr;

			/* every up interface has one: it says nothing about use */
			if (IN6_IS_ADDR_LINKLOCAL(&s->sin6_addr) ||
			    IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
				continue;
			inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof(buf));
		} else {
			continue;
		}
		add_addr(u, i->ifa_name, buf, false);
	}
	freeifaddrs(ifa);
}

/* Under a fake root: /proc/net/if_inet6 and the connected routes of /proc/net/route. */
static void load_addrs_fake(struct usage_ctx *u)
{
	_cleanup_free_ char *v6 = NULL;
	_cleanup_free_ char *route = NULL;
	char *save = NULL;

	if (host_read(&v6, "/proc/net/if_inet6") == 0) {
		for (char *l = strtok_r(v6, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char hex[33], ifname[IF_NAMESIZE + 1], buf[INET6_ADDRSTRLEN];
			unsigned idx, plen, scope, flags;
			struct in6_addr a;

			if (sscanf(l, "%32s %x %x %x %x %16s", hex, &idx, &plen, &scope,
				   &flags, ifname) != 6 ||
			    strlen(hex) != 32)
				continue;
			/* scope 0x20 link-local, 0x10 host (loopback) */
			if (scope == 0x20 || scope == 0x10)
				continue;
			for (int k = 0; k < 16; k++) {
				unsigned byte = 0;

				sscanf(hex + (size_t)2 * k, "%2x", &byte);
				a.s6_addr[k] = (unsigned char)byte;
			}
			inet_ntop(AF_INET6, &a, buf, sizeof(buf));
			add_addr(u, ifname, buf, false);
		}
	}
	save = NULL;
	if (host_read(&route, "/proc/net/route") == 0) {
		bool first = true;

		for (char *l = strtok_r(route, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char ifname[IF_NAMESIZE + 1], buf[INET_ADDRSTRLEN + 8];
			unsigned dst, gw, fl, mask;
			struct in_addr a;

			if (first) {
				first = false;
				continue;
			}
			if (sscanf(l, "%16s %x %x %x %*d %*d %*d %x", ifname, &dst, &gw,
				   &fl, &mask) != 5)
				continue;
			/* RTF_UP without RTF_GATEWAY: a subnet the interface has an
			 * address in */
			if (!(fl & 1) || (fl & 2) || gw != 0 || dst == 0)
				continue;
			a.s_addr = dst; /* the file holds the address in network order */
			inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%d",
				 __builtin_popcount(mask));
			add_addr(u, ifname, buf, true);
		}
	}
}

/* "address 192.0.2.1", "addresses A, B", "an address in 192.168.0.0/24", or NULL */
static char *addr_phrase(struct usage_ctx *u, const char *ifname)
{
	char *exact = NULL, *subnets = NULL, *out;
	unsigned nexact = 0;

	for (size_t j = 0; j < u->naddrs; j++) {
		const struct ifaddr_ent *a = &u->addrs[j];
		char **acc = a->subnet ? &subnets : &exact;
		char *s;

		if (!streq(a->ifname, ifname))
			continue;
		s = xasprintf("%s%s%s", *acc ? *acc : "", *acc ? ", " : "", a->addr);
		free(*acc);
		*acc = s;
		nexact += !a->subnet;
	}
	if (!exact && !subnets)
		return NULL;
	out =
	    xasprintf("%s%s%s%s%s", exact ? (nexact > 1 ? "addresses " : "address ") : "",
		      exact ? exact : "", exact && subnets ? " and " : "",
		      subnets ? "an address in " : "", subnets ? subnets : "");
	free(exact);
	free(subnets);
	return out;
}

/* The interface a link at dir/link points to: its name and real dir. */
static char *link_target(const char *dir, const char *link, char **real)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, link);
	*real = realpath(path, NULL);
	return *real ? xstrdup(basename_of(*real)) : NULL;
}

static const char *master_kind(const char *mreal)
{
	if (exists_at(mreal, "bonding"))
		return "a member of bond";
	if (exists_at(mreal, "bridge"))
		return "a port of bridge";
	return "enslaved to";
}

static const char *vmbr0_note(const char *name)
{
	return streq(name, "vmbr0") ? " (Proxmox's management bridge is usually vmbr0)"
				    : "";
}

/* What uses the network interface name (sysfs dir real). */
static void check_iface(struct usage_ctx *u, const char *name, const char *real,
			struct usage_list *out)
{
	_cleanup_free_ char *oper = read_at(real, "operstate");
	_cleanup_free_ char *mreal = NULL, *master = link_target(real, "master", &mreal);
	_cleanup_free_ char *ureal = NULL, *upper = NULL, *addrs = NULL;

	/* the master link sits in the interface's own directory, so this works
	 * whether or not /sys/class/net lists the interface */
	if (master) {
		/* a bond is usually itself a port of the bridge */
		upper = link_target(mreal, "master", &ureal);
		if (upper)
			add_reasonf(out, USAGE_NET_MASTER,
				    "its network interface %s is %s %s, which is %s %s%s",
				    name, master_kind(mreal), master, master_kind(ureal),
				    upper, vmbr0_note(upper));
		else
			add_reasonf(out, USAGE_NET_MASTER,
				    "its network interface %s is %s %s%s", name,
				    master_kind(mreal), master, vmbr0_note(master));
	}
	if (!u->addrs_loaded) {
		u->addrs_loaded = true;
		if (host_is_real())
			load_addrs_real(u);
		else
			load_addrs_fake(u);
	}
	addrs = addr_phrase(u, name);
	if (addrs)
		add_reasonf(out, USAGE_NET_ADDR,
			    "its network interface %s has %s (link %s)", name, addrs,
			    oper ? oper : "state unknown");
}

/* An interface: a directory inside a "net" directory (.../net/eno1,
 * .../virtio1/net/ens18). flag: the parent is a "net" directory. */
static int visit_net(struct walk *w, const char *path, const char *name, int in_net)
{
	if (!in_net)
		return streq(name, "net");
	if (!known_real(w->known, path))
		check_iface(w->u, name, path, w->out);
	return -1;
}

static void check_nets(struct usage_ctx *u, const char *devreal, struct usage_list *out)
{
	struct clsset *c = classes(&u->net, "net");
	struct walk w = {u, c, out, visit_net, 6};

	for (size_t i = 0; i < c->n; i++)
		if (below(c->v[i].real, devreal))
			check_iface(u, c->v[i].name, c->v[i].real, out);
	walk_tree(&w, devreal, 0, 0);
}

/* Firmware framebuffers sit on the boot display without a link to it. */
static bool firmware_fb(const char *devreal)
{
	const char *b = basename_of(devreal);

	return startswith(b, "efi-framebuffer") || startswith(b, "simple-framebuffer") ||
	       startswith(b, "vesa-framebuffer");
}

static void check_console(struct usage_ctx *u, const struct pdev *d, const char *devreal,
			  struct usage_list *out)
{
	struct clsset *c;

	if (d->boot_vga != 1)
		return;
	c = classes(&u->graphics, "graphics");
	for (size_t i = 0; i < c->n; i++) {
		const struct cls *fb = &c->v[i];
		char link[PATH_MAX * 2];
		_cleanup_free_ char *fbdev = NULL;
		_cleanup_free_ char *fbname = NULL;

		if (!startswith(fb->name, "fb"))
			continue;
		snprintf(link, sizeof(link), "%s/device", fb->real);
		fbdev = realpath(link, NULL);
		if (!below(fb->real, devreal) &&
		    !(fbdev && (streq(fbdev, devreal) || below(fbdev, devreal) ||
				firmware_fb(fbdev))))
			continue;
		fbname = read_at(fb->real, "name");
		add_reasonf(
		    out, USAGE_CONSOLE,
		    "it is the boot display (boot_vga=1) and framebuffer %s%s%s%s is bound to it: the host console runs on it",
		    fb->name, fbname && *fbname ? " (" : "", fbname ? fbname : "",
		    fbname && *fbname ? ")" : "");
		return;
	}
}

static int cmp_fdhit(const void *a, const void *b)
{
	const struct fdhit *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->target, y->target);
}

/* One pass over /proc/[0-9]*\/fd, keeping only /dev/vfio/ and /dev/dri/ targets. */
static void load_fds(struct usage_ctx *u)
{
	char path[PATH_MAX];
	unsigned unreadable = 0;
	struct dirent *e;
	DIR *proc;
	int self = host_is_real() ? getpid() : -1;

	u->fds_loaded = true;
	if (host_path(path, sizeof(path), "/proc") < 0)
		return;
	proc = opendir(path);
	if (!proc) {
		log_warn("%s: %s; open device nodes are not checked", path,
			 strerror(errno));
		return;
	}
	while ((e = readdir(proc))) {
		unsigned long long pid;
		char fdpath[PATH_MAX + 64];
		struct dirent *f;
		DIR *fds;

		if (parse_uint(e->d_name, INT_MAX, &pid) < 0 || (int)pid == self)
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%llu/fd", path, pid);
		fds = opendir(fdpath);
		if (!fds) {
			/* a process that exited is fine; EACCES means not root */
			if (errno == EACCES)
				unreadable++;
			continue;
		}
		while ((f = readdir(fds))) {
			char target[PATH_MAX];
			ssize_t n;

			if (f->d_name[0] == '.')
				continue;
			n = readlinkat(dirfd(fds), f->d_name, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (!startswith(target, "/dev/vfio/") &&
			    !startswith(target, "/dev/dri/"))
				continue;
			u->fds = xrealloc(u->fds, (u->nfds + 1) * sizeof(*u->fds));
			u->fds[u->nfds].pid = (int)pid;
			u->fds[u->nfds].target = xstrdup(target);
			u->nfds++;
		}
		closedir(fds);
	}
	closedir(proc);
	if (u->nfds > 1)
		qsort(u->fds, u->nfds, sizeof(*u->fds), cmp_fdhit);
	if (unreadable)
		log_debug("could not read the open files of %u processes (not root?)",
			  unreadable);
}

/* "kvm (pid 4242)" and the VM id from a Proxmox QEMU's "-id N". */
static char *proc_desc(int pid, unsigned *vmid)
{
	_cleanup_free_ char *comm = NULL;
	char path[PATH_MAX], buf[8192];
	ssize_t n = 0;
	int fd;

	*vmid = 0;
	if (host_read(&comm, "/proc/%d/comm", pid) < 0)
		comm = xstrdup("?");
	if (host_path(path, sizeof(path), "/proc/%d/cmdline", pid) == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
	}
	if (n > 0) {
		buf[n] = '\0';
		for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
			char *next = a + strlen(a) + 1;
			unsigned long long id;

			if (streq(a, "-id") && next < buf + n &&
			    parse_uint(next, UINT_MAX, &id) == 0) {
				*vmid = (unsigned)id;
				break;
			}
		}
	}
	return xasprintf("%s (pid %d)", comm, pid);
}

/* A reason for each process holding target open (each process once). */
static void check_open(struct usage_ctx *u, const char *target, enum usage_kind kind,
		       const char *subject, struct usage_list *out)
{
	int last = -1;

	if (!u->fds_loaded)
		load_fds(u);
	for (size_t i = 0; i < u->nfds; i++) {
		_cleanup_free_ char *who = NULL;
		_cleanup_free_ char *what = NULL;
		unsigned vmid;

		if (!streq(u->fds[i].target, target) || u->fds[i].pid == last)
			continue;
		last = u->fds[i].pid;
		who = proc_desc(last, &vmid);
		if (vmid)
			what = xasprintf("%s is open by %s, the QEMU process of VM %u",
					 subject, who, vmid);
		else
			what = xasprintf("%s is open by %s", subject, who);
		usage_list_add(out, kind, what, vmid, last);
	}
}

static bool drm_node_name(const char *name)
{
	/* card0-DP-1 and the like are connectors, not nodes */
	return (startswith(name, "card") || startswith(name, "renderD")) &&
	       !strchr(name, '-');
}

static void check_drm_node(struct usage_ctx *u, const char *name, struct usage_list *out)
{
	char target[PATH_MAX], subject[PATH_MAX + 32];

	snprintf(target, sizeof(target), "/dev/dri/%s", name);
	snprintf(subject, sizeof(subject), "its DRM node %s", target);
	check_open(u, target, USAGE_DRM_OPEN, subject, out);
}

static void check_drm(struct usage_ctx *u, const char *devreal, struct usage_list *out)
{
	struct clsset *c = classes(&u->drm, "drm");
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	for (size_t i = 0; i < c->n; i++)
		if (drm_node_name(c->v[i].name) && below(c->v[i].real, devreal))
			check_drm_node(u, c->v[i].name, out);
	/* nodes in the device's own drm/ directory that /sys/class/drm lacks */
	if ((size_t)snprintf(dir, sizeof(dir), "%s/drm", devreal) >= sizeof(dir))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char sub[PATH_MAX * 2];

		if (!drm_node_name(e->d_name))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (!known_real(c, sub))
			check_drm_node(u, e->d_name, out);
	}
	closedir(d);
}

int usage_check_vfio_group(struct usage_ctx *u, int group, struct usage_list *out)
{
	char target[64], subject[128];

	if (group < 0)
		return -EINVAL;
	snprintf(target, sizeof(target), "/dev/vfio/%d", group);
	snprintf(subject, sizeof(subject), "IOMMU group %d (%s)", group, target);
	check_open(u, target, USAGE_VFIO_OPEN, subject, out);
	return 0;
}

/* The iommufd-style per-device node /dev/vfio/devices/vfioN (6.1+ vfio-dev/). */
static void check_vfio_cdev(struct usage_ctx *u, const char *devreal,
			    struct usage_list *out)
{
	char path[PATH_MAX * 2];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/vfio-dev", devreal);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char target[PATH_MAX], subject[PATH_MAX + 32];

		if (!startswith(e->d_name, "vfio"))
			continue;
		snprintf(target, sizeof(target), "/dev/vfio/devices/%s", e->d_name);
		snprintf(subject, sizeof(subject), "its VFIO device %s", target);
		check_open(u, target, USAGE_VFIO_OPEN, subject, out);
	}
	closedir(dir);
}

int usage_check(struct usage_ctx *u, const struct pdev *d, struct usage_list *out)
{
	char path[PATH_MAX];
	_cleanup_free_ char *devreal = NULL;
	int r;

	r = host_path(path, sizeof(path), "/sys/bus/pci/devices/%s", d->bdf);
	if (r < 0)
		return r;
	devreal = realpath(path, NULL);
	if (!devreal)
		return -errno;
	check_blocks(u, devreal, out);
	check_nets(u, devreal, out);
	check_console(u, d, devreal, out);
	check_drm(u, devreal, out);
	if (d->group >= 0)
		usage_check_vfio_group(u, d->group, out);
	if (d->vfio_dev)
		check_vfio_cdev(u, devreal, out);
	return 0;
}
