// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ground the usage parts stand on: reason lists, small sysfs readers,
 * the resolved /sys/class sets and the subtree walk (usage_int.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "pci/usage_int.h"

const char *usage_kind_name(enum usage_kind kind)
{
	static const char *const names[] = {
	    [USAGE_MOUNT] = "mount",
	    [USAGE_SWAP] = "swap",
	    [USAGE_HOLDER] = "holder",
	    [USAGE_ZFS] = "zfs",
	    [USAGE_NET_ADDR] = "net-address",
	    [USAGE_NET_MASTER] = "net-master",
	    [USAGE_CONSOLE] = "console",
	    [USAGE_DRM_OPEN] = "drm-open",
	    [USAGE_VFIO_OPEN] = "vfio-open",
	    [USAGE_RESERVED] = "reserved",
	    [USAGE_NVIDIA_OPEN] = "nvidia-open",
	};

	if ((unsigned)kind < ARRAY_SIZE(names) && names[kind])
		return names[kind];
	return "unknown";
}

static struct usage_reason *add(struct usage_list *l, enum usage_kind kind, char *what)
{
	struct usage_reason *r;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->what = what;
	return r;
}

void usage_list_add(struct usage_list *l, enum usage_kind kind, const char *what,
		    unsigned other_vmid, int pid)
{
	struct usage_reason *r = add(l, kind, xstrdup(what));

	r->other_vmid = other_vmid;
	r->pid = pid;
}

void usage_addf(struct usage_list *l, enum usage_kind kind, bool critical,
		const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	add(l, kind, s)->critical = critical;
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

void usage_unescape_octal(char *s)
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

char *usage_read_at(const char *dir, const char *attr)
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

bool usage_exists_at(const char *dir, const char *attr)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return access(path, F_OK) == 0;
}

const char *usage_basename(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

bool usage_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static int cmp_cls(const void *a, const void *b)
{
	return strcmp(((const struct cls *)a)->name, ((const struct cls *)b)->name);
}

struct clsset *usage_classes(struct clsset *c, const char *name)
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

void usage_clsset_clear(struct clsset *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].real);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

bool usage_known_real(const struct clsset *c, const char *real)
{
	for (size_t i = 0; i < c->n; i++)
		if (streq(c->v[i].real, real))
			return true;
	return false;
}

void usage_walk_tree(struct usage_walk *w, const char *dir, int depth, int flag)
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
			usage_walk_tree(w, sub, depth + 1, child);
	}
	closedir(d);
}
