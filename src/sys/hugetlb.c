// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/hugetlb.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "base/host.h"
#include "base/util.h"

/* The path of a pool's file, relative to the host root. */
static void pool_path(char *buf, size_t size, int node, unsigned long kb,
		      const char *file)
{
	if (node < 0)
		snprintf(buf, size, "/sys/kernel/mm/hugepages/hugepages-%lukB/%s", kb,
			 file);
	else
		snprintf(buf, size,
			 "/sys/devices/system/node/node%d/hugepages/hugepages-%lukB/%s",
			 node, kb, file);
}

bool hugetlb_size_exists(unsigned long kb)
{
	return host_exists("/sys/kernel/mm/hugepages/hugepages-%lukB", kb);
}

bool hugetlb_node_exists(unsigned node)
{
	return host_exists("/sys/devices/system/node/node%u", node);
}

int hugetlb_nodes(unsigned **out, unsigned *n)
{
	_cleanup_free_ char *dir = host_pathdup("/sys/devices/system/node");
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned *v = NULL, k = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		unsigned long long id;
		size_t i;

		if (!startswith(e->d_name, "node") ||
		    parse_uint(e->d_name + 4, 1u << 20, &id) < 0)
			continue;
		v = xrealloc(v, (k + 1) * sizeof(*v));
		for (i = k; i > 0 && v[i - 1] > id; i--)
			v[i] = v[i - 1];
		v[i] = (unsigned)id;
		k++;
	}
	closedir(d);
	*out = v;
	*n = k;
	return 0;
}

static int read_count(long *out, int node, unsigned long kb, const char *file)
{
	char path[256];
	int r;

	pool_path(path, sizeof(path), node, kb, file);
	r = host_read_long(out, "%s", path);
	if (r == 0 && *out < 0)
		r = -EINVAL;
	return r;
}

int hugetlb_read(int node, unsigned long kb, struct hugetlb_pool *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = read_count(&out->nr, node, kb, "nr_hugepages");
	if (r == 0)
		r = read_count(&out->free, node, kb, "free_hugepages");
	/* surplus_hugepages is there on every kernel we run on; a tree
	 * without it has none */
	if (r == 0 && read_count(&out->surplus, node, kb, "surplus_hugepages") < 0)
		out->surplus = 0;
	return r;
}

int hugetlb_write_nr(int node, unsigned long kb, long nr, char **err)
{
	char path[256], val[32];
	int r;

	pool_path(path, sizeof(path), node, kb, "nr_hugepages");
	snprintf(val, sizeof(val), "%ld", nr);
	r = host_write(val, "%s", path);
	if (r < 0) {
		_cleanup_free_ char *full = host_pathdup("%s", path);

		return errnof(err, r, "writing %ld to %s failed: %s", nr, full,
			      strerror(-r));
	}
	return 0;
}

int hugetlb_node_memfree(unsigned node, long long *kb)
{
	_cleanup_free_ char *text = NULL;
	const char *p;
	int r = host_read(&text, "/sys/devices/system/node/node%u/meminfo", node);

	if (r < 0)
		return r;
	/* "Node 0 MemFree:         995760 kB" */
	p = strstr(text, "MemFree:");
	if (!p || sscanf(p, "MemFree: %lld", kb) != 1)
		return -EINVAL;
	return 0;
}

int hugetlb_compact(unsigned node, char **err)
{
	int r = host_write("1", "/sys/devices/system/node/node%u/compact", node);

	if (r < 0)
		return errnof(err, r, "compacting node %u failed: %s", node,
			      strerror(-r));
	return 0;
}

int hugetlb_drop_caches(char **err)
{
	int r;

	/* dirty pages cannot be dropped: write them out first */
	if (host_is_real())
		sync();
	r = host_write("3", "/proc/sys/vm/drop_caches");
	if (r < 0)
		return errnof(err, r, "writing 3 to /proc/sys/vm/drop_caches failed: %s",
			      strerror(-r));
	return 0;
}
