// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/pveconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "base/host.h"
#include "base/util.h"
#include "pve/hostpci.h"
#include "pve/propstr.h"

/* ---- the config file ---- */

void vmconf_free(struct vmconf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_lines; i++) {
		free(c->lines[i].key);
		free(c->lines[i].value);
	}
	free(c->lines);
	free(c->path);
	free(c->description);
	free(c);
}

const struct pveconf_line *vmconf_get(const struct vmconf *c, const char *key)
{
	if (!c || !key)
		return NULL;
	for (size_t i = 0; i < c->n_lines; i++)
		if (streq(c->lines[i].key, key))
			return &c->lines[i];
	return NULL;
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

/* A section header: "[name]" and optional trailing white space. */
static bool is_section(const char *s, size_t len)
{
	const char *close;

	if (len < 3 || s[0] != '[')
		return false;
	close = memchr(s, ']', len);
	if (!close || close == s + 1)
		return false;
	return str_is_blank(close + 1, len - (size_t)(close + 1 - s));
}

static void descr_append(char **descr, const char *raw, size_t len, bool newline)
{
	_cleanup_free_ char *enc = xstrndup(raw, len);
	_cleanup_free_ char *dec = pve_uri_decode(enc);
	char *n = xasprintf("%s%s%s", *descr ? *descr : "", dec, newline ? "\n" : "");

	free(*descr);
	*descr = n;
}

int vmconf_parse(const char *text, const char *path, unsigned vmid, struct vmconf **out,
		 char **err)
{
	struct vmconf *c = xcalloc(1, sizeof(*c));
	const char *p = text ? text : "";
	size_t cap = 0;
	unsigned lineno = 0;
	int r = 0;

	c->vmid = vmid;
	c->path = xstrdup(path ? path : "(config)");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *s = p;
		size_t kl, vs, ve;

		p = nl ? nl + 1 : p + len;
		lineno++;
		if (str_is_blank(s, len))
			continue;
		if (s[0] == '[') {
			if (is_section(s, len))
				break; /* only the part before the first section counts */
			r = errf(
			    err,
			    "%s:%u: malformed section header '%.*s' (expected '[name]')",
			    c->path, lineno, (int)(len > 80 ? 80 : len), s);
			goto fail;
		}
		if (s[0] == '#') {
			descr_append(&c->description, s + 1, len - 1, true);
			continue;
		}
		kl = key_len(s, len);
		if (kl == 0 || kl >= len || s[kl] != ':') {
			r = errf(
			    err,
			    "%s:%u: cannot parse '%.*s': expected 'key: value' with a key of lowercase letters, '_' or '-' and optional trailing digits",
			    c->path, lineno, (int)(len > 80 ? 80 : len), s);
			goto fail;
		}
		vs = kl + 1;
		while (vs < len && str_is_space(s[vs]))
			vs++;
		ve = len;
		while (ve > vs && str_is_space(s[ve - 1]))
			ve--;
		if (ve == vs) {
			r = errf(err, "%s:%u: key '%.*s' has no value", c->path, lineno,
				 (int)kl, s);
			goto fail;
		}
		if (kl == 11 && strncmp(s, "description", 11) == 0) {
			/* old style: description in a key, URI-encoded like '#' lines */
			descr_append(&c->description, s + vs, ve - vs, false);
			continue;
		}
		for (size_t i = 0; i < c->n_lines; i++) {
			if (strlen(c->lines[i].key) == kl &&
			    strncmp(c->lines[i].key, s, kl) == 0) {
				r = errf(
				    err,
				    "%s:%u: key '%.*s' given twice (first on line %u); remove one of them",
				    c->path, lineno, (int)kl, s, c->lines[i].line);
				goto fail;
			}
		}
		if (c->n_lines == cap) {
			cap = cap ? cap * 2 : 32;
			c->lines = xrealloc(c->lines, cap * sizeof(*c->lines));
		}
		c->lines[c->n_lines].key = xstrndup(s, kl);
		c->lines[c->n_lines].value = xstrndup(s + vs, ve - vs);
		c->lines[c->n_lines].line = lineno;
		c->n_lines++;
	}
	if (c->description) {
		size_t dl = strlen(c->description);

		while (dl > 0 && str_is_space(c->description[dl - 1]))
			c->description[--dl] = '\0';
	}
	*out = c;
	return 0;
fail:
	vmconf_free(c);
	return r;
}

int vmconf_read(unsigned vmid, struct vmconf **out, char **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *path = xasprintf("/etc/pve/qemu-server/%u.conf", vmid);
	int r;

	r = host_read(&text, "%s", path);
	if (r == -ENOENT) {
		errf(
		    err,
		    "VM %u has no config file %s on this node (%s): check the VM id, or whether the VM lives on another cluster node (/etc/pve/.vmlist)",
		    vmid, path, host_node());
		return -ENOENT;
	}
	if (r < 0) {
		errf(err, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	return vmconf_parse(text, path, vmid, out, err);
}

/* ---- the vm ---- */

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(vm->hostpci); i++)
		hostpci_free(vm->hostpci[i]);
	for (size_t i = 0; i < VM_MAX_NUMA; i++) {
		free(vm->numa_nodes[i].cpus);
		free(vm->numa_nodes[i].hostnodes);
		free(vm->numa_nodes[i].policy);
	}
	free(vm->hugepages);
	free(vm->affinity);
	free(vm->hotplug);
	free(vm->lock);
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
		if (idx >= HOSTPCI_MAX)
			return errf(
			    e,
			    "Proxmox has only hostpci0 to hostpci%d; renumber this entry",
			    HOSTPCI_MAX - 1);
		r = hostpci_parse(v, (unsigned)idx, &vm->hostpci[idx], e);
		if (r == 0)
			vm->hostpci[idx]->line = l->line;
		return r;
	}
	if ((idx = indexed_key(k, "numa")) >= 0) {
		if (idx >= VM_MAX_NUMA)
			return errf(e, "Proxmox has only numa0 to numa%d",
				    VM_MAX_NUMA - 1);
		return parse_numa_node(v, &vm->numa_nodes[idx], e);
	}
	if (streq(k, "template"))
		return parse_bool_key(v, &vm->is_template, e);
	if (streq(k, "keephugepages"))
		return parse_bool_key(v, &vm->keephugepages, e);
	if (streq(k, "numa"))
		return parse_bool_key(v, &vm->numa, e);
	if (streq(k, "hugepages")) {
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
	if (streq(k, "cores"))
		return parse_count(v, &vm->cores, e);
	if (streq(k, "vcpus"))
		return parse_count(v, &vm->vcpus, e);
	if (streq(k, "hotplug")) {
		vm->hotplug = xstrdup(v);
		return 0;
	}
	if (streq(k, "memory"))
		return parse_memory(v, &vm->memory_mib, e);
	if (streq(k, "lock")) {
		vm->lock = xstrdup(v);
		return 0;
	}
	return 0; /* keys vfiohook does not act on are Proxmox's business */
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

		if (r < 0) {
			errf(err, "%s:%u: %s: %s", conf->path, l->line, l->key,
			     e ? e : strerror(-r));
			vm_free(vm);
			return r;
		}
	}
	*out = vm;
	return 0;
}

int vm_load(unsigned vmid, struct vm **out, char **err)
{
	struct vmconf *c = NULL;
	int r;

	r = vmconf_read(vmid, &c, err);
	if (r < 0)
		return r;
	return vm_from_conf(c, out, err);
}
