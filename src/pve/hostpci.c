// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/hostpci.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "base/host.h"
#include "base/util.h"
#include "pve/propstr.h"

static bool is_lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_uhex(char c)
{
	return c >= 'A' && c <= 'F';
}

/* Count lowercase hex digits at s, at most max. */
static size_t lhex_run(const char *s, size_t max)
{
	size_t i = 0;

	while (i < max && is_lhex(s[i]))
		i++;
	return i;
}

/* Proxmox's $PCIRE, anchored: (?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])? */
bool hostpci_id_valid(const char *id)
{
	const char *p = id;
	size_t n;

	if (!id)
		return false;
	n = lhex_run(p, SIZE_MAX);
	if (n >= 4 && p[n] == ':') {
		/* a domain, unless this is "bb:dd" with the 2-digit bus only */
		p += n + 1;
		n = lhex_run(p, SIZE_MAX);
	}
	if (n != 2 || p[2] != ':')
		return false;
	p += 3;
	if (lhex_run(p, SIZE_MAX) != 2)
		return false;
	p += 2;
	if (*p == '\0')
		return true;
	return p[0] == '.' && is_lhex(p[1]) && p[2] == '\0';
}

char *hostpci_id_normalize(const char *id)
{
	size_t n = lhex_run(id, SIZE_MAX);

	if (n >= 4 && id[n] == ':')
		return xstrdup(id);
	return xasprintf("0000:%s", id);
}

static void strv_add_sorted_unique(struct strv *s, const char *str)
{
	size_t i;

	if (strv_contains(s, str))
		return;
	strv_add(s, str);
	/* insertion sort step: keep the vector sorted */
	for (i = s->n - 1; i > 0 && strcmp(s->v[i - 1], s->v[i]) > 0; i--) {
		char *t = s->v[i - 1];

		s->v[i - 1] = s->v[i];
		s->v[i] = t;
	}
}

size_t hostpci_match(const char *id, const struct strv *present, struct strv *out)
{
	_cleanup_free_ char *norm = hostpci_id_normalize(id);
	size_t nl = strlen(norm), found = 0;

	/* PCI.pm parse_hostpci pushes each id's matches (sorted, as present
	 * is) after the earlier ones: a device named twice stays twice, and
	 * choose_hostpci_devices refuses it ("assigned more than once") */
	for (size_t i = 0; present && i < present->n; i++) {
		if (strncmp(present->v[i], norm, nl) == 0) {
			strv_add(out, present->v[i]);
			found++;
		}
	}
	return found;
}

void hostpci_probe_present(const char *id, struct strv *present)
{
	_cleanup_free_ char *norm = hostpci_id_normalize(id);

	/* DDDD:BB:DD.F names one function; DDDD:BB:DD the up to 8 functions of
	 * a slot (ARI functions beyond 7 show up as further slots) */
	if (strchr(norm, '.')) {
		if (host_exists("/sys/bus/pci/devices/%s", norm))
			strv_add_sorted_unique(present, norm);
		return;
	}
	for (unsigned f = 0; f < 8; f++) {
		char bdf[64];

		snprintf(bdf, sizeof(bdf), "%s.%u", norm, f);
		if (host_exists("/sys/bus/pci/devices/%s", bdf))
			strv_add_sorted_unique(present, bdf);
	}
}

void hostpci_free(struct hostpci *h)
{
	if (!h)
		return;
	strv_clear(&h->host);
	strv_clear(&h->devs);
	free(h->mapping);
	free(h->romfile);
	free(h->mdev);
	free(h);
}

/* Explain why id is not a valid host id. */
static int bad_id(const char *id, char **err)
{
	for (const char *c = id; *c; c++)
		if (is_uhex(*c)) {
			_cleanup_free_ char *lower = xstrdup(id);

			for (char *l = lower; *l; l++)
				if (is_uhex(*l))
					*l = (char)(*l - 'A' + 'a');
			return errf(
			    err,
			    "host id '%s' has uppercase hex digits: Proxmox accepts lowercase only (write '%s')",
			    id, lower);
		}
	{
		size_t n = lhex_run(id, SIZE_MAX);

		_cleanup_free_ char *rest = NULL;

		if (n > 0 && n < 4 && id[n] == ':')
			rest = xasprintf("0000:%s", id + n + 1);
		if (rest && hostpci_id_valid(rest))
			return errf(
			    err,
			    "host id '%s': a PCI domain needs at least 4 hex digits (e.g. 0000:01:00.0)",
			    id);
	}
	return errf(
	    err,
	    "host id '%s' is not a PCI address: expected [domain:]bus:device[.function] in lowercase hex, e.g. 01:00.0, 0000:01:00 or 01:00.0;01:00.1",
	    id);
}

static int parse_host(struct hostpci *h, const char *v, char **err)
{
	const char *p = v;

	for (;;) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		_cleanup_free_ char *id = xstrndup(p, len);

		if (len == 0)
			return errf(
			    err,
			    "host '%s' has an empty id: ids are joined by ';' without spaces or empty parts",
			    v);
		if (!hostpci_id_valid(id))
			return bad_id(id, err);
		strv_add(&h->host, id);
		if (!semi)
			return 0;
		p = semi + 1;
	}
}

/* pve-configid: [a-z][a-z0-9_-]+, case-insensitive (PVE::JSONSchema $CONFIGID_RE) */
static bool configid_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int parse_hexid(const char *k, const char *v, int *out, char **err)
{
	unsigned x = 0;

	if (strlen(v) != 6 || v[0] != '0' || v[1] != 'x')
		goto bad;
	for (int i = 2; i < 6; i++) {
		char c = v[i];

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (unsigned)(c - 'A' + 10);
		else
			goto bad;
	}
	*out = (int)x;
	return 0;
bad:
	return errf(err, "%s '%s': expected 0x and 4 hex digits, e.g. 0x10de", k, v);
}

static int parse_flag(const char *k, const char *v, int *out, char **err)
{
	bool b;

	if (pve_parse_bool(v, &b) < 0)
		return errf(
		    err,
		    "%s '%s' is not a boolean (expected 1|on|yes|true or 0|off|no|false)",
		    k, v);
	*out = b ? 1 : 0;
	return 0;
}

static int parse_romfile(const char *v, char **out, char **err)
{
	const char *p = v;

	if (strchr(v, ';'))
		return errf(err, "romfile '%s' may not contain ';'", v);
	if (v[0] == '/')
		return errf(
		    err,
		    "romfile '%s': give a file name relative to /usr/share/kvm/, not an absolute path",
		    v);
	/* Proxmox passes /usr/share/kvm/<romfile> to QEMU: no way out of it */
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return errf(
			    err,
			    "romfile '%s' leaves /usr/share/kvm/ ('..'); put the ROM file into /usr/share/kvm/ and name it there",
			    v);
		if (!slash)
			break;
		p = slash + 1;
	}
	*out = xstrdup(v);
	return 0;
}

static const char known_keys[] =
    "host, mapping, pcie, rombar, x-vga, legacy-igd, romfile, mdev, vendor-id, device-id, sub-vendor-id, sub-device-id, driver";

static int apply_key(struct hostpci *h, const char *k, const char *v, bool *has_host,
		     char **err)
{
	if (streq(k, "host")) {
		*has_host = true;
		return parse_host(h, v, err);
	}
	if (streq(k, "mapping")) {
		if (!configid_valid(v))
			return errf(
			    err,
			    "mapping '%s' is not a mapping name: expected a letter and then letters, digits, '_' or '-' (at least 2 characters)",
			    v);
		h->mapping = xstrdup(v);
		return 0;
	}
	if (streq(k, "pcie"))
		return parse_flag(k, v, &h->pcie, err);
	if (streq(k, "rombar"))
		return parse_flag(k, v, &h->rombar, err);
	if (streq(k, "x-vga"))
		return parse_flag(k, v, &h->x_vga, err);
	if (streq(k, "legacy-igd"))
		return parse_flag(k, v, &h->legacy_igd, err);
	if (streq(k, "romfile"))
		return parse_romfile(v, &h->romfile, err);
	if (streq(k, "mdev")) {
		if (strpbrk(v, "/.:"))
			return errf(
			    err,
			    "mdev '%s': a mediated device type may not contain '/', '.' or ':' (e.g. nvidia-63, i915-GVTg_V5_4)",
			    v);
		h->mdev = xstrdup(v);
		return 0;
	}
	if (streq(k, "vendor-id"))
		return parse_hexid(k, v, &h->vendor_id, err);
	if (streq(k, "device-id"))
		return parse_hexid(k, v, &h->device_id, err);
	if (streq(k, "sub-vendor-id"))
		return parse_hexid(k, v, &h->sub_vendor_id, err);
	if (streq(k, "sub-device-id"))
		return parse_hexid(k, v, &h->sub_device_id, err);
	if (streq(k, "driver")) {
		if (streq(v, "keep"))
			h->driver_keep = true;
		else if (!streq(v, "vfio"))
			return errf(err, "driver '%s': expected vfio or keep", v);
		return 0;
	}
	return errf(err, "unknown key '%s' (known: %s)", k, known_keys);
}

int hostpci_parse(const char *value, unsigned index, struct hostpci **out, char **err)
{
	struct hostpci *h = xcalloc(1, sizeof(*h));
	struct propkv *kv = NULL;
	bool has_host = false;
	size_t n = 0;
	int r;

	h->index = index;
	h->pcie = h->rombar = h->x_vga = h->legacy_igd = -1;
	h->vendor_id = h->device_id = h->sub_vendor_id = h->sub_device_id = -1;
	r = propstr_split(value, "host", &kv, &n, err);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		r = apply_key(h, kv[i].key, kv[i].value, &has_host, err);
		if (r < 0)
			goto fail;
	}
	/* PVE/QemuServer/PCI.pm parse_hostpci, same words */
	if (has_host && h->mapping) {
		r = errf(err, "Cannot set both 'host' and 'mapping'.");
		goto fail;
	}
	if (!has_host && !h->mapping) {
		r = errf(err, "Either 'host' or 'mapping' must be set.");
		goto fail;
	}
	propkv_free(kv, n);
	*out = h;
	return 0;
fail:
	propkv_free(kv, n);
	hostpci_free(h);
	return r;
}

int hostpci_expand(struct hostpci *h, const struct strv *present, char **err)
{
	struct strv devs = {0};

	if (h->mapping || h->host.n == 0)
		return errf(err,
			    "hostpci%u uses mapping '%s': resolve it with the mapping",
			    h->index, h->mapping ? h->mapping : "");
	for (size_t i = 0; i < h->host.n; i++) {
		if (hostpci_match(h->host.v[i], present, &devs) == 0) {
			_cleanup_free_ char *norm = hostpci_id_normalize(h->host.v[i]);

			strv_clear(&devs);
			return errf(
			    err,
			    "hostpci%u: no PCI device found for '%s' (nothing in /sys/bus/pci/devices starts with %s); the address may have changed after a hardware, firmware or BIOS change: check `lspci -D` and fix hostpci%u",
			    h->index, h->host.v[i], norm, h->index);
		}
	}
	strv_clear(&h->devs);
	h->devs = devs;
	return 0;
}
