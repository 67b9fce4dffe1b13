// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/pveconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "base/host.h"
#include "base/util.h"
#include "pve/hostpci.h"
#include "pve/propstr.h"

/* ---- the config file ---- */

static void lines_free(struct pveconf_line *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void vmconf_free(struct vmconf *c)
{
	if (!c)
		return;
	lines_free(c->lines, c->n_lines);
	lines_free(c->pending, c->n_pending);
	free(c->pending_delete);
	free(c->pending_description);
	strv_clear(&c->pending_changes);
	strv_clear(&c->warnings);
	free(c->path);
	free(c->description);
	free(c);
}

static ssize_t line_index(const struct pveconf_line *v, size_t n, const char *key,
			  size_t kl)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i].key) == kl && strncmp(v[i].key, key, kl) == 0)
			return (ssize_t)i;
	return -1;
}

const struct pveconf_line *vmconf_get(const struct vmconf *c, const char *key)
{
	ssize_t i;

	if (!c || !key)
		return NULL;
	i = line_index(c->lines, c->n_lines, key, strlen(key));
	return i < 0 ? NULL : &c->lines[i];
}

static void warn(struct vmconf *c, unsigned lineno, const char *fmt, ...) _printf_(3, 4);
static void warn(struct vmconf *c, unsigned lineno, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	strv_push(&c->warnings, xasprintf("%s:%u: %s", c->path, lineno, msg));
}

/* Length of a config key at s ([a-z][a-z_-]*\d*), 0 if none. */
static size_t key_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 1;
	     i < len && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || s[i] == '-'); i++)
		;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

static bool is_lower_alpha(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Optimal string alignment distance (Levenshtein with adjacent swaps) of two
 * short strings; capped at 9. */
static unsigned osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned d[16][16];

	if (la > 15 || lb > 15)
		return 9;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1, m = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < m)
				m = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1;
			d[i][j] = m;
		}
	}
	return d[la][lb];
}

bool pveconf_looks_like_hostpci(const char *s, size_t len)
{
	char norm[32];
	size_t n = 0, alpha;

	/* compare the text without case, blanks, '_' and '-' */
	for (size_t i = 0; i < len && s[i] != ':'; i++) {
		char c = lower(s[i]);

		if (str_is_space(c) || c == '_' || c == '-')
			continue;
		if (n + 1 >= sizeof(norm) || (!is_lower_alpha(c) && !is_digit(c)))
			return false;
		norm[n++] = c;
	}
	norm[n] = '\0';
	for (alpha = 0; alpha < n && is_lower_alpha(norm[alpha]); alpha++)
		;
	for (size_t i = alpha; i < n; i++)
		if (!is_digit(norm[i]))
			return false;
	if (alpha < 5 || osa_distance(norm, alpha, "hostpci", 7) > 2)
		return false;
	/* hostpciN as written, with N without leading zero, is not a
	 * misspelling (vm_from_conf() warns about N >= 16 itself) */
	return !(alpha == 7 && memcmp(norm, "hostpci", 7) == 0 && alpha < n &&
		 (norm[alpha] != '0' || n - alpha == 1) && len == n &&
		 memcmp(s, norm, n) == 0);
}

/* Perl's \s*$ from i on. */
static bool rest_blank(const char *s, size_t len, size_t i)
{
	return i >= len || str_is_blank(s + i, len - i);
}

/* Case-insensitive match of the literal lit at s. */
static bool has_prefix_ci(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != lower(lit[i]))
			return false;
	return true;
}

enum section_kind {
	SECT_NONE,    /* not a section header */
	SECT_PENDING, /* [PENDING] */
	SECT_OTHER,   /* [special:cloudinit|fleecing], a snapshot [name] */
	SECT_UNKNOWN, /* "[...]" of another shape: Proxmox warns and skips it */
};

/* Classify a line starting with '[' as parse_vm_config does. */
static enum section_kind section_kind(const char *s, size_t len, size_t *name_len)
{
	const char *close = memchr(s, ']', len);
	size_t nl;

	if (!close || !rest_blank(s, len, (size_t)(close - s) + 1))
		return SECT_NONE; /* a line that does not parse */
	nl = (size_t)(close - s) - 1;
	*name_len = nl;
	if (nl == 7 && has_prefix_ci(s + 1, nl, "PENDING"))
		return SECT_PENDING;
	if ((nl == 17 && has_prefix_ci(s + 1, nl, "special:cloudinit")) ||
	    (nl == 16 && has_prefix_ci(s + 1, nl, "special:fleecing")))
		return SECT_OTHER;
	/* a snapshot: [a-z][a-z0-9_\-]+, case-insensitive */
	if (nl >= 2 && (is_lower_alpha(lower(s[1])))) {
		size_t i;

		for (i = 2; i <= nl; i++) {
			char c = lower(s[i]);

			if (!is_lower_alpha(c) && !is_digit(c) && c != '_' && c != '-')
				break;
		}
		if (i > nl)
			return SECT_OTHER;
	}
	return SECT_UNKNOWN;
}

static void descr_append(char **descr, const char *raw, size_t len, bool newline)
{
	_cleanup_free_ char *enc = xstrndup(raw, len);
	_cleanup_free_ char *dec = pve_uri_decode(enc);
	char *n = xasprintf("%s%s%s", *descr ? *descr : "", dec, newline ? "\n" : "");

	free(*descr);
	*descr = n;
}

static void descr_finish(char *descr)
{
	size_t dl;

	if (!descr)
		return;
	dl = strlen(descr);
	while (dl > 0 && str_is_space(descr[dl - 1]))
		descr[--dl] = '\0';
}

/* Set key (kl bytes at k) in v: replaces an earlier line, returning its line
 * number, or appends and returns 0. */
static unsigned set_line(struct pveconf_line **v, size_t *n, const char *k, size_t kl,
			 const char *value, size_t vl, unsigned lineno)
{
	ssize_t i = line_index(*v, *n, k, kl);
	unsigned prev = 0;

	if (i >= 0) {
		prev = (*v)[i].line;
		free((*v)[i].value);
	} else {
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		i = (ssize_t)(*n)++;
		(*v)[i].key = xstrndup(k, kl);
	}
	(*v)[i].value = xstrndup(value, vl);
	(*v)[i].line = lineno;
	return prev;
}

/* "snapstate:\s*(prepare|delete)\s*$" anywhere in the line (unanchored in
 * parse_vm_config): Proxmox swallows such a line. */
static bool has_snapstate(const char *s, size_t len)
{
	for (size_t i = 0; i + 10 <= len; i++) {
		size_t j = i + 10;

		if (memcmp(s + i, "snapstate:", 10) != 0)
			continue;
		while (j < len && str_is_space(s[j]))
			j++;
		if (len - j >= 7 && memcmp(s + j, "prepare", 7) == 0 &&
		    rest_blank(s, len, j + 7))
			return true;
		if (len - j >= 6 && memcmp(s + j, "delete", 6) == 0 &&
		    rest_blank(s, len, j + 6))
			return true;
	}
	return false;
}

#define SHOW(len) ((int)((len) > 80 ? 80 : (len)))

int vmconf_parse(const char *text, size_t len, const char *path, unsigned vmid,
		 struct vmconf **out, char **err)
{
	struct vmconf *c = xcalloc(1, sizeof(*c));
	const char *p = text ? text : "", *end = p + (text ? len : 0);
	enum { IN_MAIN, IN_PENDING, IN_OTHER } in = IN_MAIN;
	unsigned lineno = 0;

	(void)err;
	c->vmid = vmid;
	c->path = xstrdup(path ? path : "(config)");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *s = p;
		size_t kl, vs, ve, name_len = 0;
		bool pend;

		p = nl ? nl + 1 : end;
		lineno++;
		if (str_is_blank(s, l))
			continue;
		if (memchr(s, '\0', l)) {
			if (in != IN_OTHER)
				warn(
				    c, lineno,
				    "line holds a NUL byte: skipped (Proxmox cannot parse it either); rewrite the line");
			continue;
		}
		if (s[0] == '[') {
			enum section_kind k = section_kind(s, l, &name_len);

			if (k == SECT_PENDING) {
				if (c->has_pending) {
					/* the later [PENDING] replaces the earlier */
					warn(
					    c, lineno,
					    "duplicate section [PENDING]: the earlier one is dropped, as Proxmox does");
					lines_free(c->pending, c->n_pending);
					c->pending = NULL;
					c->n_pending = 0;
					free(c->pending_delete);
					c->pending_delete = NULL;
					free(c->pending_description);
					c->pending_description = NULL;
				}
				c->has_pending = true;
				in = IN_PENDING;
				continue;
			}
			if (k == SECT_OTHER) {
				in = IN_OTHER;
				continue;
			}
			if (k == SECT_UNKNOWN) {
				warn(
				    c, lineno,
				    "skipping unknown section '%.*s' and its lines, as Proxmox does",
				    SHOW(name_len), s + 1);
				in = IN_OTHER;
				continue;
			}
		}
		if (in == IN_OTHER)
			continue; /* snapshots and special sections: not the VM that runs
				   */
		pend = in == IN_PENDING;
		if (s[0] == '#') {
			descr_append(pend ? &c->pending_description : &c->description,
				     s + 1, l - 1, true);
			continue;
		}
		kl = key_len(s, l);
		vs = kl + 1;
		while (vs < l && str_is_space(s[vs]))
			vs++;
		ve = l;
		while (ve > vs && str_is_space(s[ve - 1]))
			ve--;
		if (kl == 11 && kl < l && s[kl] == ':' && ve > vs &&
		    memcmp(s, "description", 11) == 0) {
			/* old style: description in a key, URI-encoded like '#' lines */
			descr_append(pend ? &c->pending_description : &c->description,
				     s + vs, ve - vs, false);
			continue;
		}
		if (has_snapstate(s, l))
			continue;
		if (kl == 6 && kl < l && s[kl] == ':' && ve > vs &&
		    memcmp(s, "delete", 6) == 0) {
			if (pend) {
				free(c->pending_delete);
				c->pending_delete = xstrndup(s + vs, ve - vs);
				c->pending_delete_line = lineno;
			} else {
				warn(
				    c, lineno,
				    "property 'delete' is only allowed in [PENDING]: line skipped, as Proxmox does");
			}
			continue;
		}
		if (kl == 0 || kl >= l || s[kl] != ':') {
			bool hp = pveconf_looks_like_hostpci(s, l);

			warn(
			    c, lineno,
			    "cannot parse '%.*s': expected 'key: value' with a key of lowercase letters, '_' or '-' and optional trailing digits; Proxmox skips this line too%s",
			    SHOW(l), s,
			    hp ? ", so no device is passed through for it: write it as hostpciN: VALUE with N from 0 to 15"
			       : "");
			continue;
		}
		if (ve == vs) {
			warn(c, lineno,
			     "key '%.*s' has no value: line skipped, as Proxmox skips it",
			     (int)kl, s);
			continue;
		}
		{
			unsigned prev = pend ? set_line(&c->pending, &c->n_pending, s, kl,
							s + vs, ve - vs, lineno)
					     : set_line(&c->lines, &c->n_lines, s, kl,
							s + vs, ve - vs, lineno);

			if (prev)
				warn(
				    c, lineno,
				    "key '%.*s' given again (first on line %u): this later line wins, as in Proxmox; remove the other one",
				    (int)kl, s, prev);
		}
		if (pveconf_looks_like_hostpci(s, kl))
			warn(
			    c, lineno,
			    "key '%.*s' looks like a misspelt hostpciN: Proxmox ignores it, so no device is passed through for it; write hostpci0 to hostpci15",
			    (int)kl, s);
	}
	descr_finish(c->description);
	descr_finish(c->pending_description);
	*out = c;
	return 0;
}

static bool node_name_valid(const char *s)
{
	size_t n = strlen(s);

	/* pve-node: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') ||
			     (s[i] >= 'A' && s[i] <= 'Z') || is_digit(s[i]);

		if (!alnum && (s[i] != '-' || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

int vmconf_read(unsigned vmid, const char *migrated_from, struct vmconf **out, char **err)
{
	_cleanup_free_ char *text = NULL, *path = NULL;
	size_t len = 0;
	int r;

	if (migrated_from && *migrated_from) {
		if (!node_name_valid(migrated_from))
			return errf(
			    err,
			    "PVE_MIGRATED_FROM '%s' is not a Proxmox node name: cannot find the VM's config on the source node",
			    migrated_from);
		path = xasprintf("/etc/pve/nodes/%s/qemu-server/%u.conf", migrated_from,
				 vmid);
	} else {
		path = xasprintf("/etc/pve/qemu-server/%u.conf", vmid);
	}
	r = host_read_len(&text, &len, "%s", path);
	if (r == -ENOENT) {
		if (migrated_from && *migrated_from)
			return errnof(
			    err, -ENOENT,
			    "VM %u has no config file %s on the migration source %s: the migration may have finished or failed; check /etc/pve/.vmlist",
			    vmid, path, migrated_from);
		return errnof(
		    err, -ENOENT,
		    "VM %u has no config file %s on this node (%s): check the VM id, or whether the VM lives on another cluster node (/etc/pve/.vmlist)",
		    vmid, path, host_node());
	}
	if (r < 0)
		return errnof(err, r, "cannot read %s: %s", path, strerror(-r));
	return vmconf_parse(text, len, path, vmid, out, err);
}

bool vmconf_resumes(const struct vmconf *c)
{
	const struct pveconf_line *lock = vmconf_get(c, "lock");

	return (lock && streq(lock->value, "suspended")) || vmconf_get(c, "vmstate");
}

static void remove_line(struct vmconf *c, const char *key)
{
	ssize_t i = line_index(c->lines, c->n_lines, key, strlen(key));

	if (i < 0)
		return;
	free(c->lines[i].key);
	free(c->lines[i].value);
	memmove(&c->lines[i], &c->lines[i + 1],
		(c->n_lines - (size_t)i - 1) * sizeof(*c->lines));
	c->n_lines--;
}

void vmconf_apply_pending(struct vmconf *c)
{
	if (!c || !c->has_pending)
		return;
	/* PVE::AbstractConfig parse_pending_delete: ',' ';' and blanks separate,
	 * '!' marks a forced delete */
	if (c->pending_delete) {
		_cleanup_free_ char *d = xstrdup(c->pending_delete);
		char *save = NULL;

		for (char *t = strtok_r(d, ",; \t\r\f\v", &save); t;
		     t = strtok_r(NULL, ",; \t\r\f\v", &save)) {
			if (*t == '!')
				t++;
			if (!*t)
				continue;
			if (startswith(t, "unused")) {
				warn(
				    c, c->pending_delete_line,
				    "pending delete of '%s' cannot be applied at start (Proxmox warns \"unable to apply pending change\" and keeps it)",
				    t);
				continue;
			}
			if (streq(t, "description")) {
				free(c->description);
				c->description = NULL;
			} else {
				remove_line(c, t);
			}
			strv_push(&c->pending_changes, xasprintf("-%s", t));
		}
	}
	for (size_t i = 0; i < c->n_pending; i++) {
		const struct pveconf_line *l = &c->pending[i];

		set_line(&c->lines, &c->n_lines, l->key, strlen(l->key), l->value,
			 strlen(l->value), l->line);
		strv_add(&c->pending_changes, l->key);
	}
	if (c->pending_description) {
		free(c->description);
		c->description = xstrdup(c->pending_description);
		strv_add(&c->pending_changes, "description");
	}
	c->pending_applied = true;
}

/* ---- the vm ---- */

static void numa_node_clear(struct vm_numa *nn)
{
	free(nn->cpus);
	free(nn->hostnodes);
	free(nn->policy);
	memset(nn, 0, sizeof(*nn));
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(vm->hostpci); i++)
		hostpci_free(vm->hostpci[i]);
	for (size_t i = 0; i < VM_MAX_NUMA; i++) {
		numa_node_clear(&vm->numa_nodes[i]);
	}
	free(vm->hugepages);
	free(vm->affinity);
	free(vm->hotplug);
	free(vm->lock);
	free(vm->machine);
	free(vm->vga);
	free(vm->vmstate);
	strv_clear(&vm->dropped);
	strv_clear(&vm->dropped_keys);
	vmconf_free(vm->conf);
	free(vm);
}

/* "hostpci12" -> 12; -1 if key is not prefix followed by decimal digits */
static long indexed_key(const char *key, const char *prefix)
{
	size_t pl = strlen(prefix);
	unsigned long long n;

	if (strncmp(key, prefix, pl) != 0 || !key[pl])
		return -1;
	if (key[pl] == '0' && key[pl + 1])
		return -1; /* "hostpci01" is not hostpci1 */
	if (parse_uint(key + pl, 1000000, &n) < 0)
		return -1;
	return (long)n;
}

static int parse_numa_node(const char *value, struct vm_numa *nn, char **err)
{
	struct propkv *kv = NULL;
	size_t n = 0;
	int r;

	r = propstr_split(value, NULL, &kv, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *k = kv[i].key, *v = kv[i].value;

		if (streq(k, "cpus")) {
			if (!pve_valid_number_sets(v))
				r = errf(
				    err,
				    "cpus '%s': expected id[-id];... (e.g. 0-3;8-11)", v);
			else
				nn->cpus = xstrdup(v);
		} else if (streq(k, "hostnodes")) {
			if (!pve_valid_number_sets(v))
				r = errf(
				    err,
				    "hostnodes '%s': expected id[-id];... (e.g. 0;1)", v);
			else
				nn->hostnodes = xstrdup(v);
		} else if (streq(k, "memory")) {
			if (parse_uint(v, 1ULL << 40, &nn->memory_mib) < 0)
				r = errf(err, "memory '%s': expected a size in MiB", v);
		} else if (streq(k, "policy")) {
			if (!streq(v, "preferred") && !streq(v, "bind") &&
			    !streq(v, "interleave"))
				r = errf(
				    err,
				    "policy '%s': expected preferred, bind or interleave",
				    v);
			else
				nn->policy = xstrdup(v);
		} else {
			r = errf(
			    err,
			    "unknown key '%s' (known: cpus, memory, hostnodes, policy)",
			    k);
		}
	}
	if (r == 0 && !nn->cpus)
		r = errf(err, "missing 'cpus' (required)");
	propkv_free(kv, n);
	nn->set = r == 0;
	return r;
}

static int parse_memory(const char *value, unsigned long long *mib, char **err)
{
	struct propkv *kv = NULL;
	size_t n = 0;
	int r;

	r = propstr_split(value, "current", &kv, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!streq(kv[i].key, "current"))
			r = errf(err, "unknown key '%s' (known: current)", kv[i].key);
		else if (parse_uint(kv[i].value, 1ULL << 40, mib) < 0 || *mib < 16)
			r = errf(err, "'%s' is not a memory size in MiB of at least 16",
				 kv[i].value);
	}
	propkv_free(kv, n);
	return r;
}

static int parse_count(const char *value, unsigned *out, char **err)
{
	unsigned long long v;

	if (parse_uint(value, 65536, &v) < 0 || v < 1)
		return errf(err, "'%s' is not a whole number of at least 1", value);
	*out = (unsigned)v;
	return 0;
}

/* \d+(\.\d+)+ at *p */
static bool machine_version(const char **p)
{
	const char *q = *p;
	int parts = 0;

	for (;;) {
		if (*q < '0' || *q > '9')
			return false;
		while (*q >= '0' && *q <= '9')
			q++;
		parts++;
		if (q[0] != '.' || q[1] < '0' || q[1] > '9')
			break;
		q++;
	}
	*p = q;
	return parts >= 2;
}

/* (\+pve\d+)?(\.pxe)? at *p (the .pxe part only if pxe) */
static bool machine_suffix(const char *p, bool pxe)
{
	if (startswith(p, "+pve") && p[4] >= '0' && p[4] <= '9') {
		p += 4;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (pxe && streq(p, ".pxe"))
		return true;
	return *p == '\0';
}

/* PVE::QemuServer::Machine $machine_fmt type pattern, anchored as JSONSchema
 * anchors patterns, maxLength 40 */
static bool machine_type_valid(const char *t)
{
	const char *p;

	if (strlen(t) > 40)
		return false;
	if (streq(t, "pc") || streq(t, "q35"))
		return true;
	if (startswith(t, "virt")) {
		p = t + 4;
		if (*p == '-') {
			p++;
			if (!machine_version(&p))
				return false;
		}
		return machine_suffix(p, false);
	}
	if (startswith(t, "pc-q35-"))
		p = t + 7;
	else if (startswith(t, "pc-i440fx-"))
		p = t + 10;
	else if (startswith(t, "pc-"))
		p = t + 3;
	else
		return false;
	return machine_version(&p) && machine_suffix(p, true);
}

/* JSONSchema's number: [+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)? */
static bool schema_number(const char *s, double *out)
{
	const char *p = s;
	char *end = NULL;
	bool digits = false;

	if (*p == '+' || *p == '-')
		p++;
	while (is_digit(*p))
		p++, digits = true;
	if (*p == '.') {
		p++;
		while (is_digit(*p))
			p++, digits = true;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return false;
		while (is_digit(*p))
			p++;
	}
	if (*p)
		return false;
	*out = strtod(s, &end);
	return true;
}

/*
 * machine: [type=]TYPE[,viommu=...,...], checked against Machine.pm's
 * $machine_fmt as parse_vm_config checks it (every key: type, viommu,
 * aw-bits, enable-s3, enable-s4; no other).  q35 when the type contains
 * "q35" (machine_type_is_q35).
 */
static int parse_machine(const char *value, bool *q35, char **err)
{
	struct propkv *kv = NULL;
	size_t n = 0;
	int r;

	*q35 = false;
	r = propstr_split(value, "type", &kv, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].value;
		bool b;
		double d;

		if (streq(k, "type")) {
			if (!machine_type_valid(v))
				r = errf(
				    err,
				    "type '%s' is not a QEMU machine type Proxmox knows (e.g. q35, pc, pc-q35-9.2+pve1, pc-i440fx-8.1)",
				    v);
			else
				*q35 = strstr(v, "q35") != NULL;
		} else if (streq(k, "viommu")) {
			if (!streq(v, "intel") && !streq(v, "virtio"))
				r = errf(err, "viommu '%s': expected intel or virtio", v);
		} else if (streq(k, "aw-bits")) {
			if (!schema_number(v, &d) || d < 32 || d > 64)
				r = errf(err,
					 "aw-bits '%s': expected a number from 32 to 64",
					 v);
		} else if (streq(k, "enable-s3") || streq(k, "enable-s4")) {
			if (pve_parse_bool(v, &b) < 0)
				r = errf(err, "%s '%s' is not a boolean", k, v);
		} else {
			r = errf(
			    err,
			    "unknown key '%s' (known: type, viommu, aw-bits, enable-s3, enable-s4)",
			    k);
		}
	}
	if (r < 0)
		*q35 = false;
	propkv_free(kv, n);
	return r;
}

static int parse_bool_key(const char *value, bool *out, char **err)
{
	if (pve_parse_bool(value, out) < 0)
		return errf(
		    err,
		    "'%s' is not a boolean (expected 1|on|yes|true or 0|off|no|false)",
		    value);
	return 0;
}

/* Validate one main-section line into vm; *e gets the message without location. */
static int vm_apply_line(struct vm *vm, const struct pveconf_line *l, char **e)
{
	const char *k = l->key, *v = l->value;
	long idx;
	int r;

	if ((idx = indexed_key(k, "hostpci")) >= 0) {
		if (idx >= HOSTPCI_MAX) {
			/* an unknown setting to Proxmox: warned about and dropped */
			strv_push(
			    &vm->conf->warnings,
			    xasprintf(
				"%s:%u: %s: Proxmox has only hostpci0 to hostpci%d and ignores this line, so no device is passed through for it; renumber it",
				vm->conf->path, l->line, k, HOSTPCI_MAX - 1));
			return 0;
		}
		r = hostpci_parse(v, (unsigned)idx, &vm->hostpci[idx], e);
		if (r == 0)
			vm->hostpci[idx]->line = l->line;
		return r;
	}
	if ((idx = indexed_key(k, "numa")) >= 0) {
		if (idx >= VM_MAX_NUMA) {
			strv_push(&vm->conf->warnings,
				  xasprintf("%s:%u: %s: Proxmox has only numa0 to numa%d "
					    "and ignores this line",
					    vm->conf->path, l->line, k, VM_MAX_NUMA - 1));
			return 0;
		}
		{
			struct vm_numa nn = {0};

			r = parse_numa_node(v, &nn, e);
			if (r < 0) {
				numa_node_clear(&nn);
				return r;
			}
			numa_node_clear(&vm->numa_nodes[idx]);
			vm->numa_nodes[idx] = nn;
			return 0;
		}
	}
	if (indexed_key(k, "net") >= 0) {
		vm->n_nets++;
		return 0;
	}
	if (streq(k, "template"))
		return parse_bool_key(v, &vm->is_template, e);
	if (streq(k, "keephugepages"))
		return parse_bool_key(v, &vm->keephugepages, e);
	if (streq(k, "numa"))
		return parse_bool_key(v, &vm->numa, e);
	if (streq(k, "hugepages")) {
		/* Proxmox reads the file without checking the enum, and "0" is
		 * false in Perl: hugepages off */
		free(vm->hugepages);
		vm->hugepages = NULL;
		if (streq(v, "0"))
			return 0;
		if (!streq(v, "any") && !streq(v, "2") && !streq(v, "1024"))
			return errf(
			    e, "'%s' is not a hugepage size (expected any, 2 or 1024)",
			    v);
		vm->hugepages = xstrdup(v);
		return 0;
	}
	if (streq(k, "affinity")) {
		r = pve_parse_cpuset(v, e);
		if (r == 0)
			vm->affinity = xstrdup(v);
		return r;
	}
	if (streq(k, "sockets"))
		return parse_count(v, &vm->sockets, e);
	if (streq(k, "cores")) {
		/* not a value a start here depends on: Proxmox's business */
		if (parse_count(v, &vm->cores, NULL) < 0)
			vm->cores = 1;
		return 0;
	}
	if (streq(k, "vcpus"))
		return parse_count(v, &vm->vcpus, e);
	if (streq(k, "hotplug")) {
		vm->hotplug = xstrdup(v);
		return 0;
	}
	if (streq(k, "memory")) {
		unsigned long long mib = 0;

		r = parse_memory(v, &mib, e);
		if (r == 0)
			vm->memory_mib = mib;
		return r;
	}
	if (streq(k, "lock")) {
		vm->lock = xstrdup(v);
		return 0;
	}
	if (streq(k, "machine")) {
		_cleanup_free_ char *why = NULL;

		/* a value that fails its format: parse_vm_config warns and drops
		 * it, and the VM starts with the default machine (i440fx) */
		if (parse_machine(v, &vm->q35, &why) < 0) {
			strv_push(
			    &vm->conf->warnings,
			    xasprintf(
				"%s:%u: machine: %s: Proxmox drops this value and starts the VM with the default machine (i440fx); fix it",
				vm->conf->path, l->line, why ? why : "invalid"));
			return 0;
		}
		vm->machine = xstrdup(v);
		return 0;
	}
	if (streq(k, "vga")) {
		vm->vga = xstrdup(v);
		return 0;
	}
	if (streq(k, "vmstate")) {
		vm->vmstate = xstrdup(v);
		return 0;
	}
	return 0; /* keys vfiohook does not act on are Proxmox's business */
}

/*
 * Keys whose bad value blocks the start wherever it is: hostpciN (the start
 * here is about them) and hugepages (an enum Proxmox does not check when
 * it reads the file, and then refuses the start over).  A bad value of any
 * other key is dropped, as Proxmox drops it (vm->dropped), and blocks only
 * where vfiohook needs it (vm_dropped()).
 */
static bool value_blocks(const char *key)
{
	return indexed_key(key, "hostpci") >= 0 || streq(key, "hugepages");
}

const char *vm_dropped(const struct vm *vm, const char *key)
{
	for (size_t i = 0; i < vm->dropped_keys.n; i++)
		if (streq(vm->dropped_keys.v[i], key))
			return vm->dropped.v[i];
	return NULL;
}

int vm_from_conf(struct vmconf *conf, struct vm **out, char **err)
{
	struct vm *vm;

	if (!conf)
		return errf(err, "no VM config");
	vm = xcalloc(1, sizeof(*vm));
	vm->conf = conf;
	vm->vmid = conf->vmid;
	vm->sockets = 1;
	vm->cores = 1;
	vm->memory_mib = VM_DEFAULT_MEMORY_MIB;
	for (size_t i = 0; i < conf->n_lines; i++) {
		const struct pveconf_line *l = &conf->lines[i];
		_cleanup_free_ char *e = NULL;
		int r = vm_apply_line(vm, l, &e);

		if (r < 0 && value_blocks(l->key)) {
			errf(err, "%s:%u: %s: %s", conf->path, l->line, l->key,
			     e ? e : strerror(-r));
			vm_free(vm);
			return r;
		}
		if (r < 0) {
			/* parse_vm_config warns and drops a value that fails its
			 * type; the value before it (or the default) stays */
			char *msg = xasprintf("%s:%u: %s: %s", conf->path, l->line,
					      l->key, e ? e : strerror(-r));

			strv_push(
			    &conf->warnings,
			    xasprintf(
				"%s: Proxmox drops this value and starts the VM without it; fix it",
				msg));
			strv_push(&vm->dropped, msg);
			strv_add(&vm->dropped_keys, l->key);
		}
	}
	*out = vm;
	return 0;
}

int vm_load_opts(unsigned vmid, const struct vm_load_opts *opts, struct vm **out,
		 char **err)
{
	struct vmconf *c = NULL;
	int r;

	r = vmconf_read(vmid, opts ? opts->migrated_from : NULL, &c, err);
	if (r < 0)
		return r;
	/* vm_start_nolock applies [PENDING] before pre-start, unless the VM
	 * resumes from its suspended state (proxmox-facts.md, start order) */
	if (opts && opts->apply_pending && !vmconf_resumes(c))
		vmconf_apply_pending(c);
	return vm_from_conf(c, out, err);
}

int vm_load(unsigned vmid, struct vm **out, char **err)
{
	return vm_load_opts(vmid, NULL, out, err);
}
