// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/mapping.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"
#include "pve/hostpci.h"
#include "pve/propstr.h"
#include "pve/reservation.h"

#define DESCR_MAX 4096

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool all_ws(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_ws(s[i]))
			return false;
	return true;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* pve-configid, case-insensitive */
static bool configid_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* pve-node: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
static bool node_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* ^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$ */
static bool vendev_valid(const char *s)
{
	if (strlen(s) != 9 || s[4] != ':')
		return false;
	for (int i = 0; i < 9; i++)
		if (i != 4 && !is_hex(s[i]))
			return false;
	return true;
}

/* [a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])? : the domain is required */
static bool map_path_valid(const char *s)
{
	size_t n = 0;

	while (is_lhex(s[n]))
		n++;
	return n >= 4 && s[n] == ':' && hostpci_id_valid(s);
}

static void entry_clear(struct pci_map_entry *e)
{
	free(e->node);
	strv_clear(&e->path);
	free(e->id);
	free(e->subsystem_id);
	free(e->description);
}

static void mapping_clear(struct pci_mapping *m)
{
	for (size_t i = 0; i < m->n_maps; i++)
		entry_clear(&m->maps[i]);
	free(m->maps);
	free(m->name);
	free(m->description);
}

void mapping_free(struct mapping_cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++)
		mapping_clear(&cfg->v[i]);
	free(cfg->v);
	free(cfg);
}

const struct pci_mapping *mapping_find(const struct mapping_cfg *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->n; i++)
		if (streq(cfg->v[i].name, name))
			return &cfg->v[i];
	return NULL;
}

static int parse_map(const char *value, unsigned line, struct pci_map_entry *e,
		     char **err)
{
	struct propkv *kv = NULL;
	_cleanup_free_ char *e2 = NULL;
	size_t n = 0;
	int r;

	memset(e, 0, sizeof(*e));
	e->line = line;
	e->iommugroup = -1;
	r = propstr_split(value, NULL, &kv, &n, &e2);
	if (r < 0)
		return errf(err, MAPPING_FILE ":%u: map: %s", line, e2);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *k = kv[i].key, *v = kv[i].value;

		if (streq(k, "node")) {
			if (!node_valid(v))
				r = errf(err,
					 MAPPING_FILE
					 ":%u: map: node '%s' is not a node name",
					 line, v);
			else
				e->node = xstrdup(v);
		} else if (streq(k, "path")) {
			const char *p = v;

			for (;;) {
				const char *semi = strchr(p, ';');
				size_t len = semi ? (size_t)(semi - p) : strlen(p);
				_cleanup_free_ char *id = xstrndup(p, len);

				if (!map_path_valid(id)) {
					r = errf(
					    err,
					    MAPPING_FILE
					    ":%u: map: path '%s': '%s' is not a PCI address with domain (expected dddd:bb:dd[.f] in lowercase hex, several joined by ';')",
					    line, v, id);
					break;
				}
				strv_add(&e->path, id);
				if (!semi)
					break;
				p = semi + 1;
			}
		} else if (streq(k, "id") || streq(k, "subsystem-id")) {
			if (!vendev_valid(v))
				r = errf(
				    err,
				    MAPPING_FILE
				    ":%u: map: %s '%s': expected vendor:device as 4+4 hex digits, e.g. 10de:1f08",
				    line, k, v);
			else if (streq(k, "id"))
				e->id = xstrdup(v);
			else
				e->subsystem_id = xstrdup(v);
		} else if (streq(k, "iommugroup")) {
			unsigned long long g;

			if (parse_uint(v, 0x7fffffff, &g) < 0)
				r = errf(
				    err,
				    MAPPING_FILE
				    ":%u: map: iommugroup '%s' is not a group number",
				    line, v);
			else
				e->iommugroup = (int)g;
		} else if (streq(k, "description")) {
			if (strlen(v) > DESCR_MAX)
				r = errf(err,
					 MAPPING_FILE
					 ":%u: map: description longer than %d",
					 line, DESCR_MAX);
			else
				e->description = xstrdup(v);
		} else {
			r = errf(
			    err,
			    MAPPING_FILE
			    ":%u: map: unknown key '%s' (known: node, path, id, subsystem-id, iommugroup, description)",
			    line, k);
		}
	}
	propkv_free(kv, n);
	if (r == 0 && (!e->node || e->path.n == 0 || !e->id))
		r = errf(err,
			 MAPPING_FILE
			 ":%u: map: missing %s (node, path and id are required)",
			 line,
			 !e->node	  ? "node"
			 : e->path.n == 0 ? "path"
					  : "id");
	if (r < 0)
		entry_clear(e);
	return r;
}

/* Handle one "key value" line of section m. */
static int section_line(struct pci_mapping *m, const char *k, const char *v,
			unsigned line, bool *seen_descr, bool *seen_mdev, bool *seen_lm,
			char **err)
{
	bool *seen = NULL;

	if (streq(k, "map")) {
		struct pci_map_entry e;
		int r;

		if (!v)
			return errf(err, MAPPING_FILE ":%u: 'map' of '%s' has no value",
				    line, m->name);
		r = parse_map(v, line, &e, err);
		if (r < 0)
			return r;
		m->maps = xrealloc(m->maps, (m->n_maps + 1) * sizeof(*m->maps));
		m->maps[m->n_maps++] = e;
		return 0;
	}
	if (streq(k, "description"))
		seen = seen_descr;
	else if (streq(k, "mdev"))
		seen = seen_mdev;
	else if (streq(k, "live-migration-capable"))
		seen = seen_lm;
	else {
		log_debug(MAPPING_FILE ":%u: ignoring unknown key '%s' of mapping '%s'",
			  line, k, m->name);
		return 0;
	}
	if (*seen)
		return errf(err, MAPPING_FILE ":%u: '%s' given twice for mapping '%s'",
			    line, k, m->name);
	*seen = true;
	if (!v)
		return errf(err, MAPPING_FILE ":%u: '%s' of '%s' has no value", line, k,
			    m->name);
	if (streq(k, "description")) {
		if (strlen(v) > DESCR_MAX)
			return errf(err, MAPPING_FILE ":%u: description longer than %d",
				    line, DESCR_MAX);
		m->description = xstrdup(v);
		return 0;
	}
	if (pve_parse_bool(v, streq(k, "mdev") ? &m->mdev : &m->live_migration) < 0)
		return errf(
		    err, MAPPING_FILE ":%u: %s '%s' is not a boolean (expected 0 or 1)",
		    line, k, v);
	return 0;
}

int mapping_parse(const char *text, struct mapping_cfg **out, char **err)
{
	struct mapping_cfg *cfg = xcalloc(1, sizeof(*cfg));
	const char *p = text ? text : "";
	struct pci_mapping *cur = NULL;
	bool seen_descr = false, seen_mdev = false, seen_lm = false;
	unsigned lineno = 0;
	int r = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *s = p;
		size_t i = 0;

		p = nl ? nl + 1 : p + len;
		lineno++;
		while (i < len && is_ws(s[i]))
			i++;
		if (i < len && s[i] == '#')
			continue; /* comments, also inside a section */
		if (len == 0) {
			cur = NULL; /* an empty line ends the section */
			continue;
		}
		if (i == len)
			continue; /* white space only: Proxmox ignores the line */
		if (i == 0) {
			/* a section header: the mapping id alone on the line */
			size_t e = 0;
			_cleanup_free_ char *id = NULL;

			while (e < len && !is_ws(s[e]))
				e++;
			if (!all_ws(s + e, len - e)) {
				r = errf(
				    err,
				    MAPPING_FILE
				    ":%u: expected a mapping id alone on the line, got '%.*s' (did a blank line end the section before it?)",
				    lineno, (int)(len > 80 ? 80 : len), s);
				goto fail;
			}
			id = xstrndup(s, e);
			if (!configid_valid(id)) {
				r = errf(
				    err,
				    MAPPING_FILE
				    ":%u: invalid mapping id '%s' (expected a letter, then letters, digits, '_' or '-')",
				    lineno, id);
				goto fail;
			}
			if (mapping_find(cfg, id)) {
				r = errf(
				    err,
				    MAPPING_FILE
				    ":%u: mapping '%s' defined twice (first on line %u)",
				    lineno, id, mapping_find(cfg, id)->line);
				goto fail;
			}
			cfg->v = xrealloc(cfg->v, (cfg->n + 1) * sizeof(*cfg->v));
			cur = &cfg->v[cfg->n++];
			memset(cur, 0, sizeof(*cur));
			cur->name = id;
			id = NULL;
			cur->line = lineno;
			seen_descr = seen_mdev = seen_lm = false;
			continue;
		}
		if (!cur) {
			r = errf(
			    err,
			    MAPPING_FILE
			    ":%u: indented line outside a mapping section: '%.*s' (an empty line ends a section)",
			    lineno, (int)(len > 80 ? 80 : len), s);
			goto fail;
		}
		{
			/* ^\s+(\S+)(\s+(.*\S))?\s*$ */
			size_t ks = i, ke = i, vs, ve = len;
			_cleanup_free_ char *k = NULL, *v = NULL;

			while (ke < len && !is_ws(s[ke]))
				ke++;
			vs = ke;
			while (vs < len && is_ws(s[vs]))
				vs++;
			while (ve > vs && is_ws(s[ve - 1]))
				ve--;
			k = xstrndup(s + ks, ke - ks);
			if (ve > vs)
				v = xstrndup(s + vs, ve - vs);
			r = section_line(cur, k, v, lineno, &seen_descr, &seen_mdev,
					 &seen_lm, err);
			if (r < 0)
				goto fail;
		}
	}
	*out = cfg;
	return 0;
fail:
	mapping_free(cfg);
	return r;
}

int mapping_read(struct mapping_cfg **out, char **err)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = host_read(&text, MAPPING_FILE);
	if (r == -ENOENT)
		return mapping_parse("", out, err);
	if (r < 0) {
		errf(err, "cannot read " MAPPING_FILE ": %s", strerror(-r));
		return r;
	}
	return mapping_parse(text, out, err);
}

/* ---- choosing a device at start ---- */

/* Read a sysfs id file ("0x10de") as "10de"; NULL if unreadable. */
static char *read_id(const char *bdf, const char *attr)
{
	char *s = NULL;

	if (host_read(&s, "/sys/bus/pci/devices/%s/%s", bdf, attr) < 0)
		return NULL;
	if (startswith(s, "0x")) {
		memmove(s, s + 2, strlen(s + 2) + 1);
		return s;
	}
	free(s);
	return NULL;
}

/* Compare two vendor:device strings as Proxmox does (string equality after
 * dropping "0x"); mention case when that is the only difference. */
static const char *case_hint(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0
		   ? " (Proxmox compares them case-sensitively: write the ids in lowercase)"
		   : "";
}

/*
 * Mapping/PCI.pm assert_valid for one entry: returns a description of the
 * first difference (allocated), or NULL when the entry matches sysfs.
 */
static char *entry_mismatch(const struct pci_map_entry *e)
{
	for (size_t j = 0; j < e->path.n; j++) {
		_cleanup_free_ char *path = NULL, *ven = NULL, *dev = NULL, *sv = NULL,
				    *sd = NULL, *grp = NULL, *found = NULL, *sub = NULL;
		const char *fn = strchr(e->path.v[j], '.');
		unsigned long long g = 0;
		bool has;

		/* a path without function names the whole device: check .0 */
		path = fn ? xstrdup(e->path.v[j]) : xasprintf("%s.0", e->path.v[j]);
		ven = read_id(path, "vendor");
		dev = read_id(path, "device");
		if (!ven || !dev)
			return xasprintf(
			    "pci device '%s' not found (map entry on line %u)", path,
			    e->line);
		/*
		 * The entry's ids describe its first device: a multifunction set
		 * (a GPU and its audio function) shares one `id`, and
		 * proxmox-facts.md checks the group on the first path only.
		 * subsystem-id and iommugroup are optional: checked when given.
		 */
		if (j > 0)
			continue;
		found = xasprintf("%s:%s", ven, dev);
		if (!streq(found, e->id))
			return xasprintf(
			    "'id' does not match for device %s: the mapping (line %u) says %s, sysfs has %s%s",
			    path, e->line, e->id, found, case_hint(e->id, found));
		has = host_readlink_base(&grp, "/sys/bus/pci/devices/%s/iommu_group",
					 path) == 0 &&
		      parse_uint(grp, 0x7fffffff, &g) == 0;
		if (e->iommugroup >= 0 && !has)
			return xasprintf(
			    "'iommugroup' configured but device %s has no IOMMU group (is the IOMMU enabled?); the mapping (line %u) says %d",
			    path, e->line, e->iommugroup);
		if (e->iommugroup >= 0 && (unsigned long long)e->iommugroup != g)
			return xasprintf(
			    "'iommugroup' does not match for device %s: the mapping (line %u) says %d, sysfs has %llu",
			    path, e->line, e->iommugroup, g);
		if (!e->subsystem_id)
			continue;
		sv = read_id(path, "subsystem_vendor");
		sd = read_id(path, "subsystem_device");
		if (!sv || !sd)
			return xasprintf(
			    "'subsystem-id' configured but device %s has no subsystem ids; the mapping (line %u) says %s",
			    path, e->line, e->subsystem_id);
		sub = xasprintf("%s:%s", sv, sd);
		if (!streq(sub, e->subsystem_id))
			return xasprintf(
			    "'subsystem-id' does not match for device %s: the mapping (line %u) says %s, sysfs has %s%s",
			    path, e->line, e->subsystem_id, sub,
			    case_hint(e->subsystem_id, sub));
	}
	return NULL;
}

int mapping_resolve(const struct pci_mapping *m, unsigned hostpci_index, unsigned vmid,
		    const struct strv *taken, const struct reservations *res,
		    const struct strv *present, struct strv *out_devs, char **err)
{
	const char *node = host_node();
	const struct pci_map_entry **mine = NULL;
	struct strv *alts = NULL;
	_cleanup_free_ char *why = NULL;
	size_t n = 0;
	int r = 0;

	strv_clear(out_devs);
	for (size_t i = 0; i < m->n_maps; i++) {
		if (!streq(m->maps[i].node, node))
			continue;
		mine = xrealloc(mine, (n + 1) * sizeof(*mine));
		mine[n++] = &m->maps[i];
	}
	if (n == 0) {
		r = errf(
		    err,
		    "hostpci%u: PCI device mapping not found for '%s' on this node (%s): mapping '%s' (" MAPPING_FILE
		    ":%u) has no 'map node=%s,...' entry; add this node's device to it under Datacenter > Resource Mappings",
		    hostpci_index, m->name, node, m->name, m->line, node);
		goto out;
	}
	/* Proxmox validates every entry of this node before choosing one */
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *what = entry_mismatch(mine[i]);

		if (what) {
			r = errf(
			    err,
			    "hostpci%u: PCI device mapping '%s' invalid (hardware probably changed): %s; fix the mapping under Datacenter > Resource Mappings or the hardware",
			    hostpci_index, m->name, what);
			goto out;
		}
	}
	alts = xcalloc(n, sizeof(*alts));
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < mine[i]->path.n; j++) {
			if (hostpci_match(mine[i]->path.v[j], present, &alts[i]) == 0) {
				r = errf(
				    err,
				    "hostpci%u: no PCI device found for '%s' (mapping '%s', " MAPPING_FILE
				    ":%u)",
				    hostpci_index, mine[i]->path.v[j], m->name,
				    mine[i]->line);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *busy = NULL;
		unsigned other = 0;

		for (size_t j = 0; j < alts[i].n && !busy; j++) {
			if ((taken && strv_contains(taken, alts[i].v[j])) ||
			    (other = reservation_other_vm(res, alts[i].v[j], vmid)))
				busy = alts[i].v[j];
		}
		if (!busy) {
			*out_devs = alts[i];
			memset(&alts[i], 0, sizeof(alts[i]));
			goto out;
		}
		{
			char *w =
			    xasprintf("%s%s%s %s", why ? why : "", why ? "; " : "", busy,
				      other ? "" : "is used by an earlier hostpci entry");
			if (other) {
				char *w2 = xasprintf("%sis reserved by VM %u", w, other);
				free(w);
				w = w2;
			}
			free(why);
			why = w;
		}
	}
	/* PCI.pm choose_hostpci_devices, same words first */
	r = errf(
	    err,
	    "hostpci%u: could not find a free device for 'hostpci%u' (mapping '%s' on %s: %s); stop the other VM or add another device to the mapping",
	    hostpci_index, hostpci_index, m->name, node, why ? why : "no alternative");
out:
	if (alts)
		for (size_t i = 0; i < n; i++)
			strv_clear(&alts[i]);
	free(alts);
	free(mine);
	return r;
}
