// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Disks below a device: mounted, swap, held by dm/md/LVM/bcache, members of
 * a ZFS pool or a multi-device btrfs (usage.h).  What holds the root
 * filesystem or active swap, at any depth of the holder chain, is critical.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "pci/usage_int.h"

/* Holder chains (dm on md on a partition, ...) are short; bound them
 * anyway against a malformed tree with a loop. */
#define HOLDER_DEPTH_MAX 8

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
	usage_unescape_octal(m->source);
	m->point = xstrdup(tok[4]);
	usage_unescape_octal(m->point);
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
		char *end, *type;

		if (first) { /* "Filename Type Size Used Priority" */
			first = false;
			continue;
		}
		end = line + strcspn(line, " \t");
		type = end + strspn(end, " \t");
		type[strcspn(type, " \t")] = '\0';
		*end = '\0';
		if (!*line)
			continue;
		usage_unescape_octal(line);
		strv_add(&u->swaps, line);
		strv_add(&u->swaptypes, type);
	}
}

int usage_block_load(struct usage_ctx *u)
{
	int r = load_mounts(u);

	if (r < 0)
		return r;
	load_swaps(u);
	return 0;
}

void usage_block_free(struct usage_ctx *u)
{
	for (size_t i = 0; i < u->nmnt; i++) {
		free(u->mnt[i].point);
		free(u->mnt[i].fstype);
		free(u->mnt[i].source);
	}
	free(u->mnt);
	u->mnt = NULL;
	u->nmnt = 0;
	strv_clear(&u->swaps);
	strv_clear(&u->swaptypes);
	usage_clsset_clear(&u->block);
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

/* The mount a path lies on: the longest mount point that prefixes it. */
static const struct mnt *mount_of(const struct usage_ctx *u, const char *path)
{
	const struct mnt *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < u->nmnt; i++) {
		const char *p = u->mnt[i].point;
		size_t n = strlen(p);

		if (streq(p, "/"))
			n = 0;
		else if (strncmp(path, p, n) != 0 || (path[n] && path[n] != '/'))
			continue;
		if (!best || n >= best_len) {
			best = &u->mnt[i];
			best_len = n;
		}
	}
	return best;
}

/* "mounted at / (the host's root filesystem), /srv" or NULL if not mounted;
 * "/" comes first: it is what matters most.  *root: "/" is among them;
 * *swapfile: the first active swap file on one of them, or NULL. */
static char *mount_points(struct usage_ctx *u, unsigned maj, unsigned min,
			  const char *name, const char *dm_name, bool *root,
			  const char **swapfile)
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
			*root |= streq(m->point, "/");
			for (size_t k = 0; k < u->swaps.n && !*swapfile; k++)
				if (streq(u->swaptypes.v[k], "file") &&
				    mount_of(u, u->swaps.v[k]) == m)
					*swapfile = u->swaps.v[k];
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
	_cleanup_free_ char *dm_name = usage_read_at(real, "dm/name");
	_cleanup_free_ char *dm_uuid = usage_read_at(real, "dm/uuid");

	if (dm_name && *dm_name) {
		if (dm_uuid && startswith(dm_uuid, "LVM-"))
			return xasprintf("%s (LVM volume %s)", name, dm_name);
		if (dm_uuid && startswith(dm_uuid, "CRYPT-"))
			return xasprintf("%s (encrypted volume %s)", name, dm_name);
		return xasprintf("%s (device-mapper device %s)", name, dm_name);
	}
	if (usage_exists_at(real, "md"))
		return xasprintf("%s (software RAID)", name);
	if (usage_exists_at(real, "bcache"))
		return xasprintf("%s (bcache)", name);
	return xstrdup(name);
}

/* ZFS membership from udev's database (best effort, see usage.h).
 * *root: the pool is mounted at /. */
static char *zfs_use(struct usage_ctx *u, unsigned maj, unsigned min, bool *root)
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
	if (mounted) {
		*root = streq(mounted, "/");
		return xasprintf("is a member of ZFS pool %s, which is mounted at %s%s",
				 pool, mounted, mount_note(mounted));
	}
	if (host_exists("/proc/spl/kstat/zfs/%s", pool))
		return xasprintf("is a member of ZFS pool %s, which is imported", pool);
	return NULL;
}

/*
 * A device of a mounted multi-device btrfs that mountinfo does not name
 * (its source field shows one device only): /sys/fs/btrfs/<fsid>/devices/
 * lists them all while the filesystem is mounted.  Returns the fsid; *at
 * is the mount point when a btrfs mount's source is a device of the same
 * filesystem ("/" preferred), else NULL.
 */
static char *btrfs_member(struct usage_ctx *u, const char *name, const char **at)
{
	char path[PATH_MAX];
	struct dirent *e;
	char *fsid = NULL;
	DIR *dir;

	*at = NULL;
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
	for (size_t i = 0; fsid && i < u->nmnt; i++) {
		const struct mnt *m = &u->mnt[i];

		if (!streq(m->fstype, "btrfs") || !startswith(m->source, "/dev/"))
			continue;
		if (!host_exists("/sys/fs/btrfs/%s/devices/%s", fsid,
				 usage_basename(m->source)))
			continue;
		if (!*at || streq(m->point, "/"))
			*at = m->point;
	}
	return fsid;
}

/*
 * What uses the block device at real (sysfs dir) named name: phrases that
 * start with "is ...", collected in out with their kinds and criticality.
 */
static void block_uses(struct usage_ctx *u, const char *name, const char *real, int depth,
		       struct usage_list *out)
{
	_cleanup_free_ char *dev = usage_read_at(real, "dev");
	_cleanup_free_ char *dm_name = usage_read_at(real, "dm/name");
	char holders[PATH_MAX * 2];
	unsigned maj, min;
	struct dirent *e;
	DIR *dir;

	if (!dev || sscanf(dev, "%u:%u", &maj, &min) != 2) {
		/* no such device number: only the name can match */
		maj = min = UINT_MAX;
	}
	{
		bool root = false, zroot = false;
		const char *swapfile = NULL;
		_cleanup_free_ char *mp =
		    mount_points(u, maj, min, name, dm_name, &root, &swapfile);
		_cleanup_free_ char *zfs = NULL;

		if (mp) {
			usage_addf(out, USAGE_MOUNT, root, "is %s", mp);
		} else {
			const char *at = NULL;
			_cleanup_free_ char *fsid = btrfs_member(u, name, &at);

			if (fsid && at)
				usage_addf(
				    out, USAGE_MOUNT, streq(at, "/"),
				    "is a device of the btrfs filesystem %s, which is mounted at %s%s",
				    fsid, at, mount_note(at));
			else if (fsid)
				usage_addf(
				    out, USAGE_MOUNT, false,
				    "is a device of the mounted btrfs filesystem %s",
				    fsid);
		}
		if (swapfile)
			usage_addf(out, USAGE_SWAP, true, "holds the active swap file %s",
				   swapfile);
		if (maj != UINT_MAX)
			zfs = zfs_use(u, maj, min, &zroot);
		if (zfs)
			usage_addf(out, USAGE_ZFS, zroot, "%s", zfs);
	}
	if (in_swap(u, name, dm_name))
		usage_addf(out, USAGE_SWAP, true, "is in use as swap");

	snprintf(holders, sizeof(holders), "%s/holders", real);
	dir = opendir(holders);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char hpath[PATH_MAX * 3];
		_cleanup_free_ char *hreal = NULL;
		_cleanup_free_ char *desc = NULL;
		struct usage_list sub = {0};
		bool critical = false;

		if (e->d_name[0] == '.')
			continue;
		snprintf(hpath, sizeof(hpath), "%s/%s", holders, e->d_name);
		hreal = realpath(hpath, NULL);
		desc = hreal ? holder_desc(hreal, e->d_name) : xstrdup(e->d_name);
		if (hreal && depth < HOLDER_DEPTH_MAX)
			block_uses(u, e->d_name, hreal, depth + 1, &sub);
		if (sub.n == 0) {
			usage_addf(out, USAGE_HOLDER, false, "is held by %s", desc);
		} else {
			_cleanup_free_ char *chain = xstrdup(sub.v[0].what);

			critical = sub.v[0].critical;
			for (size_t i = 1; i < sub.n; i++) {
				char *n = xasprintf("%s and %s", chain, sub.v[i].what);
				free(chain);
				chain = n;
				critical |= sub.v[i].critical;
			}
			usage_addf(out, USAGE_HOLDER, critical, "is held by %s, which %s",
				   desc, chain);
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

	if (usage_exists_at(real, "partition")) {
		char disk[PATH_MAX];

		snprintf(disk, sizeof(disk), "%s", real);
		*strrchr(disk, '/') = '\0';
		desc =
		    xasprintf("its disk %s (partition %s)", usage_basename(disk), name);
	} else {
		desc = xasprintf("its disk %s", name);
	}
	block_uses(u, name, real, 0, &uses);
	for (size_t j = 0; j < uses.n; j++)
		usage_addf(out, uses.v[j].kind, uses.v[j].critical, "%s %s", desc,
			   uses.v[j].what);
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

/* A block device: a directory with a dev file below a "block" directory
 * (SCSI, virtio: .../block/sda) or named like an NVMe namespace
 * (.../nvme/nvme0/nvme0n1). flag: below a "block" directory. */
static int visit_block(struct usage_walk *w, const char *path, const char *name,
		       int in_block)
{
	if ((in_block || nvme_ns_name(name)) && usage_exists_at(path, "dev") &&
	    !usage_known_real(w->known, path))
		report_block(w->u, name, path, w->out);
	return in_block || streq(name, "block");
}

void usage_check_blocks(struct usage_ctx *u, const char *devreal, struct usage_list *out)
{
	struct clsset *c = usage_classes(&u->block, "block");
	struct usage_walk w = {u, c, out, visit_block, 12};

	for (size_t i = 0; i < c->n; i++)
		if (usage_below(c->v[i].real, devreal))
			report_block(u, c->v[i].name, c->v[i].real, out);
	usage_walk_tree(&w, devreal, 0, 0);
}
