// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/mapping.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"
#include "pve/hostpci.h"
#include "pve/propstr.h"

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
	free(e->iommugroup);
	free(e->description);
}

static void mapping_clear(struct pci_mapping *m)
{
	for (size_t i = 0; i < m->n_maps; i++)
		entry_clear(&m->maps[i]);
	free(m->maps);
	free(m->name);
	free(m->description);
	memset(m, 0, sizeof(*m));
}

void mapping_free(struct mapping_cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++)
		mapping_clear(&cfg->v[i]);
	free(cfg->v);
	strv_clear(&cfg->warnings);
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

static void warn(struct mapping_cfg *cfg, unsigned line, const char *fmt, ...)
    _printf_(3, 4);
static void warn(struct mapping_cfg *cfg, unsigned line, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	strv_push(&cfg->warnings, xasprintf(MAPPING_FILE ":%u: %s", line, msg));
}

/* ^[+-]?\d+$ (JSONSchema integer) */
static bool integer_valid(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A map value against Mapping/PCI.pm $map_fmt; *err says what is wrong. */
static int parse_map(const char *value, unsigned line, struct pci_map_entry *e,
		     char **err)
{
	struct propkv *kv = NULL;
	size_t n = 0;
	int r;

	memset(e, 0, sizeof(*e));
	e->line = line;
	r = propstr_split(value, NULL, &kv, &n, err);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *k = kv[i].key, *v = kv[i].value;

		if (streq(k, "node")) {
			if (!node_valid(v))
				r = errf(err, "node '%s' is not a node name", v);
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
					    "path '%s': '%s' is not a PCI address with domain (expected dddd:bb:dd[.f] in lowercase hex, several joined by ';')",
					    v, id);
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
				    "%s '%s': expected vendor:device as 4+4 hex digits, e.g. 10de:1f08",
				    k, v);
			else if (streq(k, "id"))
				e->id = xstrdup(v);
			else
				e->subsystem_id = xstrdup(v);
		} else if (streq(k, "iommugroup")) {
			if (!integer_valid(v))
				r = errf(err, "iommugroup '%s' is not a group number", v);
			else
				e->iommugroup = xstrdup(v);
		} else if (streq(k, "description")) {
			if (strlen(v) > DESCR_MAX)
				r = errf(err, "description longer than %d characters",
					 DESCR_MAX);
			else
				e->description = xstrdup(v);
		} else {
			r = errf(
			    err,
			    "unknown key '%s' (known: node, path, id, subsystem-id, iommugroup, description)",
			    k);
		}
	}
	propkv_free(kv, n);
	if (r == 0 && (!e->node || e->path.n == 0 || !e->id))
		r = errf(err, "missing %s (node, path and id are required)",
			 !e->node	  ? "node"
			 : e->path.n == 0 ? "path"
					  : "id");
	if (r < 0)
		entry_clear(e);
	return r;
}

/* The section being read. */
struct section {
	struct pci_mapping m;
	bool seen_descr, seen_mdev, seen_lm;
};

/* One "key value" line of section sec (v NULL: no value). */
static void section_line(struct mapping_cfg *cfg, struct section *sec, const char *k,
			 const char *v, unsigned line)
{
	struct pci_mapping *m = &sec->m;
	bool *seen = NULL, *flag = NULL;

	if (v && strchr(v, '\r')) {
		warn(
		    cfg, line,
		    "(section '%s') value of '%s' holds a carriage return: dropped, as Proxmox drops it",
		    m->name, k);
		return;
	}
	if (streq(k, "map")) {
		struct pci_map_entry e;
		_cleanup_free_ char *why = NULL;

		if (!v) {
			warn(cfg, line, "(section '%s') 'map' without a value: dropped",
			     m->name);
			return;
		}
		if (parse_map(v, line, &e, &why) < 0) {
			warn(
			    cfg, line,
			    "(section '%s') unable to parse value of 'map': %s; this map entry is dropped, as Proxmox drops it",
			    m->name, why ? why : "invalid");
			return;
		}
		m->maps = xrealloc(m->maps, (m->n_maps + 1) * sizeof(*m->maps));
		m->maps[m->n_maps++] = e;
		return;
	}
	if (streq(k, "description")) {
		seen = &sec->seen_descr;
	} else if (streq(k, "mdev")) {
		seen = &sec->seen_mdev;
		flag = &m->mdev;
	} else if (streq(k, "live-migration-capable")) {
		seen = &sec->seen_lm;
		flag = &m->live_migration;
	} else {
		warn(
		    cfg, line,
		    "(section '%s') unknown key '%s': dropped, as Proxmox drops it (known: map, description, mdev, live-migration-capable)",
		    m->name, k);
		return;
	}
	if (*seen) {
		warn(
		    cfg, line,
		    "(section '%s') '%s' given twice: the first one counts, as in Proxmox",
		    m->name, k);
		return;
	}
	if (!flag) {
		if (!v || strlen(v) > DESCR_MAX) {
			warn(cfg, line, "(section '%s') description %s: dropped", m->name,
			     v ? "longer than 4096 characters" : "without a value");
			return;
		}
		*seen = true;
		m->description = xstrdup(v);
		return;
	}
	/* SectionConfig: a boolean without value is 1; JSONSchema takes only
	 * 1 and 0 */
	if (v && !streq(v, "1") && !streq(v, "0")) {
		warn(
		    cfg, line,
		    "(section '%s') %s '%s' is not a boolean (Proxmox takes 1 or 0 here): dropped",
		    m->name, k, v);
		return;
	}
	*seen = true;
	*flag = !v || streq(v, "1");
}

static void cfg_remove(struct mapping_cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n; i++) {
		if (!streq(cfg->v[i].name, name))
			continue;
		mapping_clear(&cfg->v[i]);
		memmove(&cfg->v[i], &cfg->v[i + 1], (cfg->n - i - 1) * sizeof(*cfg->v));
		cfg->n--;
		return;
	}
}

/* The section ended: keep it (replacing one of the same id) or drop it. */
static void section_end(struct mapping_cfg *cfg, struct section *sec)
{
	const struct pci_mapping *old = mapping_find(cfg, sec->m.name);

	if (sec->m.n_maps == 0) {
		/* check_config: 'map' is required; Proxmox's $ids->{id} becomes
		 * undef, so an earlier section of that id is gone too */
		warn(
		    cfg, sec->m.line,
		    "(skip section '%s'): missing value for required option 'map'%s",
		    sec->m.name,
		    old ? "; the earlier section of that id is dropped too, as Proxmox does"
			: "");
		cfg_remove(cfg, sec->m.name);
		mapping_clear(&sec->m);
		return;
	}
	if (old) {
		warn(
		    cfg, sec->m.line,
		    "mapping '%s' defined again: this section replaces the one on line %u, as Proxmox reads the file",
		    sec->m.name, old->line);
		cfg_remove(cfg, sec->m.name);
	}
	cfg->v = xrealloc(cfg->v, (cfg->n + 1) * sizeof(*cfg->v));
	cfg->v[cfg->n++] = sec->m;
	memset(sec, 0, sizeof(*sec));
}

#define SHOW(len) ((int)((len) > 80 ? 80 : (len)))

int mapping_parse(const char *text, size_t len, struct mapping_cfg **out, char **err)
{
	struct mapping_cfg *cfg = xcalloc(1, sizeof(*cfg));
	const char *p = text ? text : "", *end = p + (text ? len : 0);
	struct section sec;
	bool in = false, skip = false;
	unsigned lineno = 0;

	(void)err;
	memset(&sec, 0, sizeof(sec));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *s = p;
		size_t i = 0;

		p = nl ? nl + 1 : end;
		lineno++;
		while (i < l && is_ws(s[i]))
			i++;
		if (i < l && s[i] == '#')
			continue; /* comments, also inside a section */
		/* Perl's false lines, "" and "0", end a section (and are
		 * skipped outside one) */
		if (l == 0 || (l == 1 && s[0] == '0')) {
			if (in && !skip)
				section_end(cfg, &sec);
			in = skip = false;
			continue;
		}
		if (memchr(s, '\0', l)) {
			warn(
			    cfg, lineno,
			    "line holds a NUL byte: ignored, as Proxmox cannot parse it");
			continue;
		}
		if (!in) {
			/* a section header: ^(\S+)\s*$ */
			size_t e = 0;

			while (e < l && !is_ws(s[e]))
				e++;
			if (e == 0 || !all_ws(s + e, l - e)) {
				warn(
				    cfg, lineno,
				    "ignore config line '%.*s' (expected a mapping id alone on the line; an empty line ends a section)",
				    SHOW(l), s);
				continue;
			}
			in = true;
			sec.m.name = xstrndup(s, e);
			sec.m.line = lineno;
			if (!configid_valid(sec.m.name)) {
				warn(
				    cfg, lineno,
				    "(skip section '%s'): invalid mapping id (expected a letter, then letters, digits, '_' or '-'); its lines are ignored",
				    sec.m.name);
				skip = true;
				mapping_clear(&sec.m);
			}
			continue;
		}
		if (skip)
			continue;
		{
			/* ^\s+(\S+)(\s+(.*\S))?\s*$ */
			size_t ks = i, ke = i, vs, ve = l;
			_cleanup_free_ char *k = NULL, *v = NULL;

			if (i == 0 || i == l) {
				warn(
				    cfg, lineno,
				    "(section '%s') ignore config line '%.*s' (a new mapping starts only after an empty line)",
				    sec.m.name, SHOW(l), s);
				continue;
			}
			while (ke < l && !is_ws(s[ke]))
				ke++;
			vs = ke;
			while (vs < l && is_ws(s[vs]))
				vs++;
			while (ve > vs && is_ws(s[ve - 1]))
				ve--;
			k = xstrndup(s + ks, ke - ks);
			if (ve > vs)
				v = xstrndup(s + vs, ve - vs);
			section_line(cfg, &sec, k, v, lineno);
		}
	}
	if (in && !skip)
		section_end(cfg, &sec);
	*out = cfg;
	return 0;
}

int mapping_read(struct mapping_cfg **out, char **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = host_read_len(&text, &len, MAPPING_FILE);
	if (r == -ENOENT)
		return mapping_parse("", 0, out, err);
	if (r < 0)
		return errnof(err, r, "cannot read " MAPPING_FILE ": %s", strerror(-r));
	return mapping_parse(text, len, out, err);
}

/* ---- choosing a device at start ---- */

/* A sysfs id file ("0x10de") without its leading "0x"; NULL if unreadable
 * or not of that form (SysFSTools::pci_device_info: s/^0x//). */
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

/* Proxmox compares the ids as text: mention case when it is the only
 * difference. */
static const char *case_hint(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0
		   ? " (Proxmox compares them case-sensitively: write the ids in lowercase)"
		   : "";
}

/* SysFSTools $pciregex, anchored: [a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}\.[a-f0-9]
 * (a domain of 4 or more digits: Intel VMD's are 10000 and up) */
static bool full_bdf(const char *s)
{
	static const char shape[] = ":xx:xx.x";
	size_t d = 0;

	while (is_lhex(s[d]))
		d++;
	if (d < 4 || strlen(s + d) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !is_lhex(s[d + i]) : s[d + i] != shape[i])
			return false;
	return true;
}

/* "" -> NULL, for the "0x"-less copies */
static char *strip0x(const char *s)
{
	char *r, *o;

	if (!s)
		return NULL;
	r = xstrdup(s);
	/* Perl: s/0x//g */
	while ((o = strstr(r, "0x")))
		memmove(o, o + 2, strlen(o + 2) + 1);
	return r;
}

/* One property of assert_valid: NULL when fine, else the reason. */
static char *check_prop(const char *name, const char *prop, const char *path,
			const char *expected, const char *configured, unsigned line)
{
	_cleanup_free_ char *ex = NULL, *co = NULL;

	if (!expected && !configured)
		return NULL;
	if (expected && !configured)
		return xasprintf(
		    "missing expected property '%s' for device '%s' (the map entry on line %u lacks %s=%s, which sysfs has; the GUI writes it: edit the mapping under Datacenter > Resource Mappings)",
		    prop, path, line, prop, expected);
	if (!expected)
		return xasprintf(
		    "unexpected property '%s' configured for device '%s' (the map entry on line %u has %s=%s, sysfs has none%s)",
		    prop, path, line, prop, configured,
		    streq(prop, "iommugroup") ? ": is the IOMMU enabled?" : "");
	ex = strip0x(expected);
	co = strip0x(configured);
	if (streq(ex, co))
		return NULL;
	return xasprintf(
	    "'%s' does not match for '%s' (%s != %s): device %s, map entry on line %u%s",
	    prop, name, ex, co, path, line, case_hint(ex, co));
}

char *mapping_entry_mismatch(const struct pci_mapping *m, const struct pci_map_entry *e)
{
	for (size_t j = 0; j < e->path.n; j++) {
		_cleanup_free_ char *path = NULL, *ven = NULL, *dev = NULL, *irq = NULL,
				    *sv = NULL, *sd = NULL, *grp = NULL, *id = NULL,
				    *sub = NULL;
		const char *props[] = {"id", "iommugroup", "mdev", "subsystem-id"};
		const char *expected[4], *configured[4];
		unsigned long long g;
		bool mdev;

		/* a path without function names the whole device: check .0 */
		path = strpbrk(e->path.v[j], ".") ? xstrdup(e->path.v[j])
						  : xasprintf("%s.0", e->path.v[j]);
		/* SysFSTools::pci_device_info: the name, a numeric irq, ids */
		if (full_bdf(path)) {
			ven = read_id(path, "vendor");
			dev = read_id(path, "device");
		}
		if (host_read(&irq, "/sys/bus/pci/devices/%s/irq", path) < 0 ||
		    parse_uint(irq, ~0ULL, &g) < 0)
			g = ~0ULL;
		if (!ven || !dev || g == ~0ULL)
			return xasprintf(
			    "pci device '%s' not found (map entry on line %u): is the card seated, or did its address change? check `lspci -D`",
			    path, e->line);
		id = xasprintf("%s:%s", ven, dev);
		sv = read_id(path, "subsystem_vendor");
		sd = read_id(path, "subsystem_device");
		if (sv && sd)
			sub = xasprintf("%s:%s", sv, sd);
		if (host_exists("/sys/bus/pci/devices/%s/iommu_group", path) &&
		    host_readlink_base(&grp, "/sys/bus/pci/devices/%s/iommu_group",
				       path) == 0 &&
		    parse_uint(grp, 0x7fffffff, &g) == 0) {
			free(grp);
			grp = xasprintf("%llu", g);
		} else {
			free(grp);
			grp = NULL;
		}
		mdev = host_exists("/sys/bus/pci/devices/%s/mdev_supported_types", path);
		expected[0] = id;
		configured[0] = e->id;
		expected[1] = grp;
		configured[1] = e->iommugroup;
		expected[2] = mdev ? "1" : "0";
		configured[2] = m->mdev ? "1" : "0";
		expected[3] = sub;
		configured[3] = e->subsystem_id;
		for (size_t k = 0; k < ARRAY_SIZE(props); k++) {
			char *why;

			if (k == 1 && j > 0)
				continue; /* the IOMMU group only of the first device */
			why = check_prop(m->name, props[k], path, expected[k],
					 configured[k], e->line);
			if (why && k == 2) {
				char *w = xasprintf(
				    "%s: the mapping says mdev %s, but %s %s mediated device types",
				    why, configured[2], path,
				    mdev ? "offers" : "offers no");
				free(why);
				why = w;
			}
			if (why)
				return why;
		}
	}
	return NULL;
}

int mapping_alternatives(const struct pci_mapping *m, const char *name,
			 unsigned hostpci_index, const struct strv *present,
			 struct strv **alts_out, size_t *n_out, char **err)
{
	const char *node = host_node();
	struct strv *alts = NULL;
	size_t n = 0;
	int r = 0;

	*alts_out = NULL;
	*n_out = 0;
	for (size_t i = 0; m && i < m->n_maps; i++)
		n += streq(m->maps[i].node, node);
	if (n == 0) {
		if (!m)
			return errnof(
			    err, -ENOENT,
			    "hostpci%u: PCI device mapping not found for '%s': " MAPPING_FILE
			    " has no mapping '%s' (or it was dropped, see the warnings); create it under Datacenter > Resource Mappings or fix the name",
			    hostpci_index, name, name);
		return errnof(
		    err, -ENOENT,
		    "hostpci%u: PCI device mapping not found for '%s': mapping '%s' (" MAPPING_FILE
		    ":%u) has no valid 'map node=%s,...' entry; add this node's device to it under Datacenter > Resource Mappings",
		    hostpci_index, name, name, m->line, node);
	}
	/* Proxmox validates every entry of this node before choosing one */
	for (size_t i = 0; i < m->n_maps; i++) {
		_cleanup_free_ char *what = NULL;

		if (!streq(m->maps[i].node, node))
			continue;
		what = mapping_entry_mismatch(m, &m->maps[i]);
		if (what)
			return errnof(
			    err, -EINVAL,
			    "hostpci%u: PCI device mapping invalid (hardware probably changed): %s; fix the mapping under Datacenter > Resource Mappings or the hardware",
			    hostpci_index, what);
	}
	alts = xcalloc(n, sizeof(*alts));
	n = 0;
	for (size_t i = 0; i < m->n_maps && r == 0; i++) {
		const struct pci_map_entry *e = &m->maps[i];

		if (!streq(e->node, node))
			continue;
		for (size_t j = 0; j < e->path.n && r == 0; j++)
			if (hostpci_match(e->path.v[j], present, &alts[n]) == 0)
				r = errnof(
				    err, -ENODEV,
				    "hostpci%u: no PCI device found for '%s' (mapping '%s', " MAPPING_FILE
				    ":%u); check `lspci -D` and fix the mapping",
				    hostpci_index, e->path.v[j], m->name, e->line);
		n++;
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			strv_clear(&alts[i]);
		free(alts);
		return r;
	}
	*alts_out = alts;
	*n_out = n;
	return 0;
}
