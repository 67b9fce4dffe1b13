// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PCI inventory: libpci for ids, class and names; sysfs for the rest.
 *
 * Why not pci_scan_bus(): libpci's sysfs back-end calls the error handler
 * (which must not return) for any directory entry it cannot parse and for
 * a missing vendor/device/class file, and it would then abandon the whole
 * scan with its directory stream and a half-built device leaked.  We list
 * <root>/sys/bus/pci/devices ourselves (the same one readdir libpci does),
 * and read each device with pci_get_dev() + pci_fill_info() under a
 * setjmp guard, so one broken device costs only itself.  pci_get_dev() +
 * pci_fill_info() is exactly what pci_scan_bus() + pci_fill_info() do per
 * device with libpci 3.9's lazy sysfs scan, so the cost is the same.
 *
 * The driver and IOMMU group links are read with one readlink(2) each:
 * libpci's PCI_FILL_DRIVER / PCI_FILL_IOMMU_GROUP resolve the links
 * component by component (some 15 readlink calls per device, measured
 * with strace on libpci 3.9), which would dominate `groups`.
 */
#include "pci/inventory.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"

/* Debian's pci.ids package, then the hwdata location other distributions use. */
static const char *const ids_paths[] = {"/usr/share/misc/pci.ids",
					"/usr/share/hwdata/pci.ids"};

struct inventory {
	struct pci_access *acc;
	char *sysfs_path;
	char *error; /* last libpci error message */
};

/*
 * The guard: libpci's handlers take no context, so the innermost active
 * jump buffer and the message live in thread-local storage.
 */
static __thread jmp_buf *pci_guard;
static __thread char pci_msg[512];

static void __attribute__((noreturn, format(printf, 1, 2))) on_pci_error(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(pci_msg, sizeof(pci_msg), msg, ap);
	va_end(ap);
	if (pci_guard)
		longjmp(*pci_guard, 1);
	/* A libpci call outside a guard is a bug in this file; returning
	 * into libpci is not allowed, and exit() would skip the journal. */
	log_err("libpci: %s (unguarded call; this is a vfiohook bug)", pci_msg);
	abort();
}

static void __attribute__((format(printf, 1, 2))) on_pci_warning(char *msg, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	log_debug("libpci: warning: %s", buf);
}

static void __attribute__((format(printf, 1, 2))) on_pci_debug(char *msg, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	log_debug("libpci: %s", buf);
}

static void set_error(struct inventory *inv)
{
	free(inv->error);
	inv->error = xstrdup(pci_msg);
}

/*
 * Each guarded call sits in its own small function so that nothing local
 * is modified between setjmp() and a possible longjmp().
 */
static int guarded_init(struct pci_access *acc)
{
	jmp_buf jb;
	jmp_buf *saved = pci_guard;

	if (setjmp(jb)) {
		pci_guard = saved;
		return -EIO;
	}
	pci_guard = &jb;
	pci_init(acc);
	pci_guard = saved;
	return 0;
}

static struct pci_dev *guarded_get_dev(struct pci_access *acc, const struct pdev *d)
{
	jmp_buf jb;
	jmp_buf *saved = pci_guard;
	struct pci_dev *pd;

	if (setjmp(jb)) {
		pci_guard = saved;
		return NULL;
	}
	pci_guard = &jb;
	pd = pci_get_dev(acc, (int)d->domain, (int)d->bus, (int)d->dev, (int)d->func);
	pci_guard = saved;
	return pd;
}

static int guarded_fill(struct pci_dev *pd, int fill)
{
	jmp_buf jb;
	jmp_buf *saved = pci_guard;

	if (setjmp(jb)) {
		pci_guard = saved;
		return -EIO;
	}
	pci_guard = &jb;
	pci_fill_info(pd, fill);
	pci_guard = saved;
	return 0;
}

static int guarded_names(struct pci_access *acc, struct pdev *d)
{
	const int nf = PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB;
	jmp_buf jb;
	jmp_buf *saved = pci_guard;
	char buf[256];
	const char *s;

	if (setjmp(jb)) {
		pci_guard = saved;
		return -EIO;
	}
	pci_guard = &jb;
	s = pci_lookup_name(acc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | nf, d->vendor);
	if (s)
		d->vendor_name = xstrdup(s);
	s = pci_lookup_name(acc, buf, sizeof(buf), PCI_LOOKUP_DEVICE | nf, d->vendor,
			    d->device);
	if (s)
		d->device_name = xstrdup(s);
	s = pci_lookup_name(acc, buf, sizeof(buf), PCI_LOOKUP_CLASS | nf,
			    d->class_code >> 8);
	if (s)
		d->class_name = xstrdup(s);
	pci_guard = saved;
	return 0;
}

int inventory_open(struct inventory **out, char **err)
{
	struct inventory *inv = xcalloc(1, sizeof(*inv));
	char devs[PATH_MAX];

	*out = NULL;
	inv->sysfs_path = host_pathdup("/sys/bus/pci");
	snprintf(devs, sizeof(devs), "%s/devices", inv->sysfs_path);
	if (access(devs, R_OK) < 0) {
		int e = -errno;

		errf(err, "cannot read %s: %s (is sysfs mounted, or is --root wrong?)",
		     devs, strerror(-e));
		inventory_close(inv);
		return e;
	}
	inv->acc = pci_alloc();
	if (!inv->acc) {
		errf(err, "libpci: out of memory");
		inventory_close(inv);
		return -ENOMEM;
	}
	inv->acc->error = on_pci_error;
	inv->acc->warning = on_pci_warning;
	inv->acc->debug = on_pci_debug;
	inv->acc->debugging = log_get_level() >= LOGL_DEBUG;
	inv->acc->method = PCI_ACCESS_SYS_BUS_PCI;
	if (pci_set_param(inv->acc, "sysfs.path", inv->sysfs_path) < 0 ||
	    pci_set_param(inv->acc, "hwdb.disable", "1") < 0)
		log_debug("libpci: a parameter is unknown to this libpci version");
	for (size_t i = 0; i < ARRAY_SIZE(ids_paths); i++) {
		if (access(ids_paths[i], R_OK) == 0) {
			pci_set_name_list_path(inv->acc, (char *)ids_paths[i], 0);
			break;
		}
	}
	if (guarded_init(inv->acc) < 0) {
		errf(err, "libpci: cannot use %s: %s", inv->sysfs_path, pci_msg);
		/* pci_init failed half-way: do not call pci_cleanup on it */
		inv->acc = NULL;
		inventory_close(inv);
		return -EIO;
	}
	*out = inv;
	return 0;
}

void inventory_close(struct inventory *inv)
{
	if (!inv)
		return;
	if (inv->acc)
		pci_cleanup(inv->acc);
	free(inv->sysfs_path);
	free(inv->error);
	free(inv);
}

const char *inventory_error(const struct inventory *inv)
{
	return inv ? inv->error : NULL;
}

struct bdf_key {
	uint64_t key;
	char *name;
};

static int cmp_key(const void *a, const void *b)
{
	const struct bdf_key *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * The PCI addresses among the entries of directory path (under the root),
 * in numeric order (domain, bus, device, function) appended to out.
 */
static int list_bdfs(const char *path, struct strv *out)
{
	struct bdf_key *keys = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *dir;

	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		unsigned dm, b, dv, f;

		if (e->d_name[0] == '.')
			continue;
		if (bdf_parse(e->d_name, &dm, &b, &dv, &f) < 0) {
			log_warn("skipping %s/%s: not a PCI address (DDDD:BB:DD.F)", path,
				 e->d_name);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			keys = xrealloc(keys, cap * sizeof(*keys));
		}
		keys[n].key = (uint64_t)dm << 16 | b << 8 | dv << 3 | f;
		keys[n].name = xstrdup(e->d_name);
		n++;
	}
	closedir(dir);
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < n; i++)
		strv_push(out, keys[i].name);
	free(keys);
	return 0;
}

int inventory_list(struct strv *out)
{
	char path[PATH_MAX];
	int r;

	r = host_path(path, sizeof(path), "/sys/bus/pci/devices");
	if (r < 0)
		return r;
	return list_bdfs(path, out);
}

/* ids and class through libpci; -EIO with inv->error set on failure */
static int read_ids(struct inventory *inv, struct pdev *d, unsigned flags)
{
	int fill = PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT;
	struct pci_dev *pd;
	int r;

	if (flags & INV_SUBSYS)
		fill |= PCI_FILL_SUBSYS;
	pd = guarded_get_dev(inv->acc, d);
	if (!pd) {
		set_error(inv);
		return -EIO;
	}
	r = guarded_fill(pd, fill);
	if (r < 0) {
		set_error(inv);
	} else {
		d->vendor = pd->vendor_id;
		d->device = pd->device_id;
		d->class_code = (unsigned)pd->device_class << 8 | pd->prog_if;
		if (flags & INV_SUBSYS) {
			d->sub_vendor = pd->subsys_vendor_id;
			d->sub_device = pd->subsys_id;
		}
	}
	pci_free_dev(pd);
	return r;
}

/*
 * Attributes are read relative to the device directory, opened once: on a
 * big host the path walk through /sys/bus/pci/devices/<bdf> (a symlink)
 * for every attribute costs more than the reads themselves.
 */
static char *at_read(int dfd, const char *attr)
{
	char buf[256];
	ssize_t n;
	int fd;

	fd = openat(dfd, attr, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return xstrdup(buf);
}

static char *at_readlink_base(int dfd, const char *name)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	n = readlinkat(dfd, name, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	base = strrchr(target, '/');
	return xstrdup(base ? base + 1 : target);
}

static bool at_exists(int dfd, const char *name)
{
	return faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool at_long(int dfd, const char *attr, long *out)
{
	_cleanup_free_ char *s = at_read(dfd, attr);
	char *end;

	if (!s)
		return false;
	errno = 0;
	*out = strtol(s, &end, 0);
	return !errno && end != s && !*end;
}

/* What sysfs tells directly: links, directories, optional attributes. */
static void read_sysfs(struct pdev *d, bool details)
{
	char path[PATH_MAX];
	char *s;
	long v;
	int dfd;

	d->group = -1;
	d->numa_node = -1;
	d->boot_vga = -1;
	if (host_path(path, sizeof(path), "/sys/bus/pci/devices/%s", d->bdf) < 0)
		return;
	dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_debug("%s: %s", path, strerror(errno));
		return;
	}
	d->driver = at_readlink_base(dfd, "driver");
	s = at_readlink_base(dfd, "iommu_group");
	if (s) {
		unsigned long long g;

		if (parse_uint(s, INT_MAX, &g) == 0)
			d->group = (int)g;
		else
			log_warn(
			    "%s: iommu_group link points at '%s', not a group number",
			    d->bdf, s);
		free(s);
	}
	d->bridge = at_exists(dfd, "pci_bus");
	d->vfio_dev = at_exists(dfd, "vfio-dev");
	if (!details)
		goto out;

	s = at_read(dfd, "driver_override");
	/* the kernel shows an unset override as "(null)" */
	if (s && (!*s || streq(s, "(null)"))) {
		free(s);
		s = NULL;
	}
	d->override = s;
	d->reset_method = at_read(dfd, "reset_method");
	d->has_reset = at_exists(dfd, "reset");
	if (at_long(dfd, "numa_node", &v) && v >= 0 && v < INT_MAX)
		d->numa_node = (int)v;
	/* the kernel shows boot_vga only on VGA devices (pci_is_vga(): class
	 * 0x0300 or the pre-2.0 VGA class 0x0001); spare the failing open */
	if (d->error || d->class_code >> 8 == 0x0300 || d->class_code >> 8 == 0x0001) {
		if (at_long(dfd, "boot_vga", &v))
			d->boot_vga = v ? 1 : 0;
	}
out:
	close(dfd);
}

static void read_names(struct inventory *inv, struct pdev *d)
{
	if (guarded_names(inv->acc, d) < 0) {
		set_error(inv);
		log_debug("%s: no names: libpci: %s", d->bdf, pci_msg);
	}
}

static struct pdev *pdev_new(unsigned dm, unsigned b, unsigned dv, unsigned f)
{
	struct pdev *d = xcalloc(1, sizeof(*d));

	d->domain = dm, d->bus = b, d->dev = dv, d->func = f;
	snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%u", dm, b, dv, f);
	d->group = -1;
	d->numa_node = -1;
	d->boot_vga = -1;
	return d;
}

int inventory_get(struct inventory *inv, const char *bdf, unsigned flags,
		  struct pdev **out)
{
	unsigned dm, b, dv, f;
	struct pdev *d;
	int r;

	*out = NULL;
	if (bdf_parse(bdf, &dm, &b, &dv, &f) < 0)
		return -EINVAL;
	d = pdev_new(dm, b, dv, f);
	if (!host_exists("/sys/bus/pci/devices/%s", d->bdf)) {
		pdev_free(d);
		return -ENOENT;
	}
	r = read_ids(inv, d, flags);
	if (r < 0) {
		pdev_free(d);
		return r;
	}
	read_sysfs(d, true);
	if (flags & INV_NAMES)
		read_names(inv, d);
	*out = d;
	return 0;
}

int inventory_scan(struct inventory *inv, unsigned flags, struct pdev ***out, size_t *n)
{
	struct strv names = {0};
	struct pdev **v;
	int r;

	*out = NULL;
	*n = 0;
	r = inventory_list(&names);
	if (r < 0)
		return r;
	v = xcalloc(names.n, sizeof(*v));
	for (size_t i = 0; i < names.n; i++) {
		unsigned dm, b, dv, f;
		struct pdev *d;

		/* inventory_list only returns parseable names */
		bdf_parse(names.v[i], &dm, &b, &dv, &f);
		d = pdev_new(dm, b, dv, f);
		if (read_ids(inv, d, flags) < 0) {
			d->error = xstrdup(inv->error);
			log_debug("%s: libpci: %s", d->bdf, inv->error);
		} else if (flags & INV_NAMES) {
			read_names(inv, d);
		}
		read_sysfs(d, flags & INV_DETAILS);
		v[i] = d;
	}
	*out = v;
	*n = names.n;
	strv_clear(&names);
	return 0;
}

int inventory_bars(struct inventory *inv, const char *bdf, struct pdev_bar out[6],
		   size_t *n)
{
	unsigned dm, b, dv, f;
	struct pci_dev *pd;
	struct pdev key = {0};

	*n = 0;
	if (bdf_parse(bdf, &dm, &b, &dv, &f) < 0)
		return -EINVAL;
	key.domain = dm, key.bus = b, key.dev = dv, key.func = f;
	pd = guarded_get_dev(inv->acc, &key);
	if (!pd) {
		set_error(inv);
		return -EIO;
	}
	if (guarded_fill(pd, PCI_FILL_BASES | PCI_FILL_SIZES | PCI_FILL_IO_FLAGS) < 0) {
		set_error(inv);
		pci_free_dev(pd);
		return -EIO;
	}
	for (unsigned i = 0; i < 6; i++) {
		pciaddr_t base = pd->base_addr[i] & PCI_ADDR_MEM_MASK;

		if (!pd->size[i])
			continue;
		out[*n].index = i;
		out[*n].start = base;
		out[*n].end = base + pd->size[i] - 1;
		/* libpci keeps the kernel's IORESOURCE_* flags with PCI_FILL_IO_FLAGS */
		out[*n].mem = (pd->flags[i] & PCI_IORESOURCE_MEM) != 0;
		(*n)++;
	}
	pci_free_dev(pd);
	return 0;
}

int inventory_group_members(int group, struct strv *out)
{
	char path[PATH_MAX];
	int r;

	if (group < 0)
		return -EINVAL;
	r = host_path(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", group);
	if (r < 0)
		return r;
	return list_bdfs(path, out);
}

/* "NVIDIA Corporation" -> "NVIDIA", "Advanced Micro Devices, Inc. [AMD/ATI]"
 * -> "AMD/ATI": the name people use for the company. */
static char *short_vendor(const char *v)
{
	/* longer first: " Co., Ltd." before ", Ltd." */
	static const char *const suffixes[] = {
	    " Co., Ltd.", " Co., Ltd", " Co. Ltd.", " Co Ltd",	" Corporation",
	    " Corp.",	  " Corp",     ", Inc.",    " Inc.",	" Inc",
	    ", Ltd.",	  " Ltd.",     " Ltd",	    " Limited", " GmbH",
	    " Co.",	  ",",
	};
	const char *lb = strrchr(v, '['), *rb = strrchr(v, ']');
	char *s;
	bool cut = true;

	/* pci.ids writes the usual short name in brackets */
	if (lb && rb > lb + 1 && rb[1] == '\0')
		return xstrndup(lb + 1, (size_t)(rb - lb - 1));
	s = xstrdup(v);
	while (cut) {
		size_t n = strlen(s);

		cut = false;
		for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
			size_t k = strlen(suffixes[i]);

			if (n > k && !strcmp(s + n - k, suffixes[i])) {
				s[n - k] = '\0';
				cut = true;
				break;
			}
		}
	}
	return s;
}

char *pdev_name(const struct pdev *d)
{
	_cleanup_free_ char *vendor =
	    d->vendor_name ? short_vendor(d->vendor_name) : NULL;

	if (vendor && d->device_name)
		return xasprintf("%s %s", vendor, d->device_name);
	if (d->class_name)
		return vendor ? xasprintf("%s %s", vendor, d->class_name)
			      : xstrdup(d->class_name);
	return vendor ? xasprintf("%s device", vendor) : xstrdup("PCI device");
}

void pdev_free(struct pdev *d)
{
	if (!d)
		return;
	free(d->driver);
	free(d->override);
	free(d->reset_method);
	free(d->vendor_name);
	free(d->device_name);
	free(d->class_name);
	free(d->error);
	free(d);
}

void pdev_freev(struct pdev **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		pdev_free(v[i]);
	free(v);
}
