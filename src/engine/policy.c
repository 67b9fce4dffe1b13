// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Policy from /etc/vfiohook.conf and the VM's description (policy.h).
 * Parsing is pure and strict: an unknown key or value is an error, never
 * silently ignored, because a typo in "steal" or "rebind" changes what
 * happens to a host's devices.
 */
#include "engine/policy.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/util.h"

/* clang-format off */
static const char *const rebind_names[] = {
	[POLICY_REBIND_AUTO] = "auto",
	[POLICY_REBIND_RESTORE] = "restore",
	[POLICY_REBIND_HOST] = "host",
	[POLICY_REBIND_NEVER] = "never",
};
static const char *const reset_names[] = {
	[POLICY_RESET_AUTO] = "auto",
	[POLICY_RESET_OFF] = "off",
	[POLICY_RESET_METHODS] = "methods",
};
static const char *const steal_names[] = {
	[POLICY_STEAL_SAFE] = "safe",
	[POLICY_STEAL_FORCE] = "force",
};
static const char *const log_names[] = {
	[POLICY_LOG_NORMAL] = "normal",
	[POLICY_LOG_VERBOSE] = "verbose",
};
static const char *const hugepages_names[] = {
	[POLICY_HUGEPAGES_AUTO] = "auto",
	[POLICY_HUGEPAGES_OFF] = "off",
};
static const char *const pin_names[] = {
	[POLICY_PIN_OFF] = "off",
	[POLICY_PIN_ON] = "on",
	[POLICY_PIN_AUTO] = "auto",
};
static const char *const key_names[] = {
	[POLICY_KEY_REBIND] = "rebind",
	[POLICY_KEY_RESET] = "reset",
	[POLICY_KEY_STEAL] = "steal",
	[POLICY_KEY_LOG] = "log",
	[POLICY_KEY_START_TIMEOUT] = "start-timeout",
	[POLICY_KEY_HUGEPAGES] = "hugepages",
	[POLICY_KEY_HP_DROP_CACHES] = "hugepages-drop-caches",
	[POLICY_KEY_PIN] = "pin",
	[POLICY_KEY_ISOLATE] = "isolate",
	[POLICY_KEY_IRQ] = "irq",
};
static const char *const onoff_names[] = {"off", "on"};
/* Keys whose "on" changes the whole host: the VM's notes, which non-root
 * users write (design.md "Policy"), may not turn them on. */
static const enum policy_key file_only[] = {
	POLICY_KEY_HP_DROP_CACHES,
	POLICY_KEY_ISOLATE,
};
/* The kernel's reset methods (drivers/pci/pci.c pci_reset_fn_methods[]),
 * as /sys/bus/pci/devices/X/reset_method takes them. */
static const char *const reset_methods[] = {
	"device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus",
};
/* clang-format on */

#define NAME_OF(table, v) ((unsigned)(v) < ARRAY_SIZE(table) ? (table)[v] : "invalid")

const char *policy_rebind_name(enum policy_rebind r)
{
	return NAME_OF(rebind_names, r);
}

const char *policy_reset_name(enum policy_reset r)
{
	return NAME_OF(reset_names, r);
}

const char *policy_steal_name(enum policy_steal s)
{
	return NAME_OF(steal_names, s);
}

const char *policy_log_name(enum policy_log l)
{
	return NAME_OF(log_names, l);
}

const char *policy_pin_name(enum policy_pin p)
{
	return NAME_OF(pin_names, p);
}

const char *policy_key_name(enum policy_key k)
{
	return NAME_OF(key_names, k);
}

const char *policy_origin(const struct policy *p, enum policy_key k)
{
	if ((unsigned)k < POLICY_KEY_COUNT && p->origin[k])
		return p->origin[k];
	return "default";
}

const char *policy_value(const struct policy *p, enum policy_key k)
{
	switch (k) {
	case POLICY_KEY_REBIND:
		return policy_rebind_name(p->rebind);
	case POLICY_KEY_RESET:
		if (p->reset == POLICY_RESET_METHODS && p->reset_methods)
			return p->reset_methods;
		return policy_reset_name(p->reset);
	case POLICY_KEY_STEAL:
		return policy_steal_name(p->steal);
	case POLICY_KEY_LOG:
		return policy_log_name(p->log);
	case POLICY_KEY_START_TIMEOUT:
		return p->start_timeout ? p->start_timeout_text : "auto";
	case POLICY_KEY_HUGEPAGES:
		return NAME_OF(hugepages_names, p->hugepages);
	case POLICY_KEY_HP_DROP_CACHES:
		return onoff_names[p->hp_drop_caches];
	case POLICY_KEY_PIN:
		return policy_pin_name(p->pin);
	case POLICY_KEY_ISOLATE:
		return onoff_names[p->isolate];
	case POLICY_KEY_IRQ:
		return onoff_names[p->irq];
	default:
		return "invalid";
	}
}

void policy_defaults(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->rebind = POLICY_REBIND_AUTO;
	p->reset = POLICY_RESET_AUTO;
	p->steal = POLICY_STEAL_SAFE;
	p->log = POLICY_LOG_NORMAL;
	p->hugepages = POLICY_HUGEPAGES_AUTO;
	p->pin = POLICY_PIN_OFF;
}

void policy_clear(struct policy *p)
{
	if (!p)
		return;
	free(p->reset_methods);
	free(p->chain);
	free(p->chain_origin);
	for (size_t i = 0; i < ARRAY_SIZE(p->origin); i++)
		free(p->origin[i]);
	policy_defaults(p);
}

/* ---- values ------------------------------------------------------------ */

/* One layer of settings: which keys it sets, their values, where from. */
struct layer {
	unsigned vmid; /* 0 = [defaults] */
	unsigned set;  /* bit per enum policy_key */
	struct policy val;
	char *where[POLICY_KEY_COUNT];
	char *chain, *chain_where; /* chain is not an enum key: file only */
};

static void layer_clear(struct layer *l)
{
	policy_clear(&l->val);
	for (size_t i = 0; i < POLICY_KEY_COUNT; i++)
		free(l->where[i]);
	free(l->chain);
	free(l->chain_where);
}

static int lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcasecmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static int parse_key(const char *key, const char *where, enum policy_key *out, char **err)
{
	int k = lookup(key_names, ARRAY_SIZE(key_names), key);

	if (k < 0)
		return errf(
		    err,
		    "%s: unknown key '%s'; known keys: rebind, reset, steal, log, start-timeout, hugepages, hugepages-drop-caches, pin, isolate, irq",
		    where, key);
	*out = (enum policy_key)k;
	return 0;
}

/* "flr, bus" -> "flr bus"; validated against the kernel's method names. */
static int parse_methods(const char *value, const char *where, char **out, char **err)
{
	_cleanup_free_ char *copy = xstrdup(value);
	struct strv seen = {0};
	size_t total = 0;
	char *save = NULL, *res;
	int r = 0;

	for (char *t = strtok_r(copy, " \t,", &save); t;
	     t = strtok_r(NULL, " \t,", &save)) {
		int m = lookup(reset_methods, ARRAY_SIZE(reset_methods), t);

		if (!strcasecmp(t, "auto") || !strcasecmp(t, "off") ||
		    !strcasecmp(t, "default")) {
			r = errf(
			    err,
			    "%s: bad value '%s' for reset: '%s' cannot be combined with method names; write 'auto', 'off' or a list of methods",
			    where, value, t);
			goto out;
		}
		if (m < 0) {
			r = errf(
			    err,
			    "%s: bad value '%s' for reset: unknown reset method '%s'; allowed: auto, off, or a space- or comma-separated list of device_specific acpi flr af_flr pm bus cxl_bus",
			    where, value, t);
			goto out;
		}
		if (strv_contains(&seen, reset_methods[m])) {
			r = errf(
			    err,
			    "%s: bad value '%s' for reset: method '%s' is listed twice",
			    where, value, reset_methods[m]);
			goto out;
		}
		strv_add(&seen, reset_methods[m]);
		total += strlen(reset_methods[m]) + 1;
	}
	if (seen.n == 0) {
		r = errf(
		    err,
		    "%s: no value for reset; allowed: auto, off, or a list of reset methods (device_specific acpi flr af_flr pm bus cxl_bus)",
		    where);
		goto out;
	}
	res = xcalloc(1, total);
	for (size_t i = 0; i < seen.n; i++) {
		if (i)
			strcat(res, " ");
		strcat(res, seen.v[i]);
	}
	*out = res;
out:
	strv_clear(&seen);
	return r;
}

/* Parse value for key into l; where is the origin used in messages. */
static int layer_set(struct layer *l, enum policy_key key, const char *value,
		     const char *where, char **err)
{
	int v;

	if (!*value)
		return errf(err, "%s: no value for %s", where, key_names[key]);
	switch (key) {
	case POLICY_KEY_REBIND:
		v = lookup(rebind_names, ARRAY_SIZE(rebind_names), value);
		if (v < 0)
			return errf(
			    err,
			    "%s: bad value '%s' for rebind; allowed: auto (storage controllers stay on vfio-pci, other devices go back to the driver they had), restore (give the device back to the driver it had), host (let the kernel pick a host driver), never (leave it on vfio-pci)",
			    where, value);
		l->val.rebind = (enum policy_rebind)v;
		break;
	case POLICY_KEY_RESET:
		if (!strcasecmp(value, "auto") || !strcasecmp(value, "off")) {
			free(l->val.reset_methods);
			l->val.reset_methods = NULL;
			l->val.reset = !strcasecmp(value, "auto") ? POLICY_RESET_AUTO
								  : POLICY_RESET_OFF;
		} else {
			char *m = NULL;
			int r = parse_methods(value, where, &m, err);

			if (r < 0)
				return r;
			free(l->val.reset_methods);
			l->val.reset_methods = m;
			l->val.reset = POLICY_RESET_METHODS;
		}
		break;
	case POLICY_KEY_STEAL:
		v = lookup(steal_names, ARRAY_SIZE(steal_names), value);
		if (v < 0)
			return errf(
			    err,
			    "%s: bad value '%s' for steal; allowed: safe (refuse devices the host uses), force (take them anyway)",
			    where, value);
		l->val.steal = (enum policy_steal)v;
		break;
	case POLICY_KEY_LOG:
		v = lookup(log_names, ARRAY_SIZE(log_names), value);
		if (v < 0)
			return errf(
			    err,
			    "%s: bad value '%s' for log; allowed: normal (a line or two per device), verbose (every step, as -v)",
			    where, value);
		l->val.log = (enum policy_log)v;
		break;
	case POLICY_KEY_START_TIMEOUT: {
		unsigned long long secs = 0;

		if (strcasecmp(value, "auto") != 0 &&
		    (parse_uint(value, 86400, &secs) < 0 || secs == 0))
			return errf(
			    err,
			    "%s: bad value '%s' for start-timeout; allowed: auto (Proxmox's start timeout for the VM + 5 s) or a number of seconds from 1 to 86400",
			    where, value);
		l->val.start_timeout = (unsigned)secs;
		break;
	}
	case POLICY_KEY_HUGEPAGES:
		v = lookup(hugepages_names, ARRAY_SIZE(hugepages_names), value);
		if (v < 0)
			return errf(
			    err,
			    "%s: bad value '%s' for hugepages; allowed: auto (reserve the hugepages the VM config asks for on the right NUMA nodes before Proxmox allocates), off (leave them to Proxmox)",
			    where, value);
		l->val.hugepages = (enum policy_hugepages)v;
		break;
	case POLICY_KEY_HP_DROP_CACHES:
		v = lookup(onoff_names, ARRAY_SIZE(onoff_names), value);
		if (v < 0)
			return errf(
			    err,
			    "%s: bad value '%s' for hugepages-drop-caches; allowed: on (drop the host's page cache when hugepages come up short, then try again), off",
			    where, value);
		l->val.hp_drop_caches = v == 1;
		break;
	case POLICY_KEY_PIN:
		v = lookup(pin_names, ARRAY_SIZE(pin_names), value);
		if (v < 0)
			return errf(
			    err,
			    "%s: bad value '%s' for pin; allowed: off (as Proxmox leaves them), on (vCPU n to the n-th CPU of the VM's affinity), auto (whole cores near the passed-through devices)",
			    where, value);
		l->val.pin = (enum policy_pin)v;
		break;
	case POLICY_KEY_ISOLATE:
		v = lookup(onoff_names, ARRAY_SIZE(onoff_names), value);
		if (v < 0)
			return errf(
			    err,
			    "%s: bad value '%s' for isolate; allowed: on (keep host tasks off the VM's CPUs while it runs), off",
			    where, value);
		l->val.isolate = v == 1;
		break;
	case POLICY_KEY_IRQ:
		v = lookup(onoff_names, ARRAY_SIZE(onoff_names), value);
		if (v < 0)
			return errf(
			    err,
			    "%s: bad value '%s' for irq; allowed: on (steer the devices' interrupts to the VM's CPUs), off",
			    where, value);
		l->val.irq = v == 1;
		break;
	default:
		return errf(err, "%s: unknown key", where);
	}
	free(l->where[key]);
	l->where[key] = xstrdup(where);
	l->set |= 1u << key;
	return 0;
}

/* Apply the keys layer l sets on top of p. */
static void layer_apply(const struct layer *l, struct policy *p)
{
	for (unsigned k = 0; k < POLICY_KEY_COUNT; k++) {
		if (!(l->set & (1u << k)))
			continue;
		switch ((enum policy_key)k) {
		case POLICY_KEY_REBIND:
			p->rebind = l->val.rebind;
			break;
		case POLICY_KEY_RESET:
			p->reset = l->val.reset;
			free(p->reset_methods);
			p->reset_methods =
			    l->val.reset_methods ? xstrdup(l->val.reset_methods) : NULL;
			break;
		case POLICY_KEY_STEAL:
			p->steal = l->val.steal;
			break;
		case POLICY_KEY_LOG:
			p->log = l->val.log;
			break;
		case POLICY_KEY_START_TIMEOUT:
			p->start_timeout = l->val.start_timeout;
			snprintf(p->start_timeout_text, sizeof(p->start_timeout_text),
				 "%u", p->start_timeout);
			break;
		case POLICY_KEY_HUGEPAGES:
			p->hugepages = l->val.hugepages;
			break;
		case POLICY_KEY_HP_DROP_CACHES:
			p->hp_drop_caches = l->val.hp_drop_caches;
			break;
		case POLICY_KEY_PIN:
			p->pin = l->val.pin;
			break;
		case POLICY_KEY_ISOLATE:
			p->isolate = l->val.isolate;
			break;
		case POLICY_KEY_IRQ:
			p->irq = l->val.irq;
			break;
		default:
			break;
		}
		free(p->origin[k]);
		p->origin[k] = xstrdup(l->where[k]);
	}
	if (l->chain) {
		free(p->chain);
		free(p->chain_origin);
		p->chain = xstrdup(l->chain);
		p->chain_origin = xstrdup(l->chain_where);
	}
}

/* ---- chain ---------------------------------------------------------------- */

/* STORAGE:snippets/NAME; STORAGE a pve-storage-id, NAME without '/' or space */
static bool chain_volid_valid(const char *v)
{
	const char *colon = strchr(v, ':');

	if (!colon || colon == v ||
	    !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')))
		return false;
	for (const char *c = v; c < colon; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return false;
	if (!startswith(colon + 1, "snippets/") || !colon[10])
		return false;
	for (const char *c = colon + 10; *c; c++)
		if (*c == '/' || (unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

static int layer_set_chain(struct layer *l, const char *value, const char *where,
			   char **err)
{
	if (l->vmid == 0)
		return errf(
		    err,
		    "%s: chain names one VM's former hookscript: put it under [vm VMID], not [defaults]",
		    where);
	if (l->chain)
		return errf(err,
			    "%s: chain is already set in this section at %s; keep one",
			    where, l->chain_where);
	if (!chain_volid_valid(value))
		return errf(
		    err,
		    "%s: bad value '%s' for chain: expected a snippets volume id STORAGE:snippets/NAME, e.g. local:snippets/hook.sh",
		    where, value);
	l->chain = xstrdup(value);
	l->chain_where = xstrdup(where);
	return 0;
}

/* ---- [api] ------------------------------------------------------------------ */

static const char *const api_keys[] = {"url", "token", "secret-file", "fingerprint",
				       "ca"};

void policy_api_clear(struct policy_api *a)
{
	if (!a)
		return;
	free(a->url);
	free(a->token);
	free(a->secret_file);
	free(a->fingerprint);
	free(a->ca);
	free(a->where);
	memset(a, 0, sizeof(*a));
}

static char **api_slot(struct policy_api *a, size_t k)
{
	char **slots[] = {&a->url, &a->token, &a->secret_file, &a->fingerprint, &a->ca};

	return slots[k];
}

/* One "key = value" line of [api]; seen/where track repeats. */
static int api_set(struct policy_api *a, const char *key, const char *value,
		   const char *where, char *seen_where[], char **err)
{
	int k = lookup(api_keys, ARRAY_SIZE(api_keys), key);

	if (k < 0)
		return errf(
		    err,
		    "%s: unknown key '%s' in [api]; known keys: url, token, secret-file, fingerprint, ca",
		    where, key);
	if (seen_where[k])
		return errf(err, "%s: %s is already set in [api] at %s; keep one", where,
			    api_keys[k], seen_where[k]);
	if (!*value)
		return errf(err, "%s: no value for %s", where, api_keys[k]);
	seen_where[k] = xstrdup(where);
	if (a) {
		free(*api_slot(a, (size_t)k));
		*api_slot(a, (size_t)k) = xstrdup(value);
	}
	return 0;
}

/* ---- text helpers ------------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\f' || e[-1] == '\v'))
		*--e = '\0';
	return s;
}

/* Cut a comment that starts with '#' or ';' after whitespace. */
static void cut_comment(char *s)
{
	for (char *c = s; *c; c++) {
		if ((*c == '#' || *c == ';') && c > s &&
		    (c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			return;
		}
	}
}

/* Next line of *text (modified in place), or NULL at the end. */
static char *next_line(char **text)
{
	char *s = *text, *nl;

	if (!s)
		return NULL;
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		*text = nl + 1;
	} else {
		*text = NULL;
	}
	return s;
}

/* ---- the file ----------------------------------------------------------- */

/* "[defaults]" -> 0, "[vm 105]" -> 105, "[api]" -> *api; -EINVAL with *err. */
static int parse_header(char *line, const char *where, unsigned *vmid, bool *api,
			char **err)
{
	size_t len = strlen(line);
	unsigned long long id;
	char *in;

	if (len < 2 || line[len - 1] != ']')
		return errf(
		    err,
		    "%s: bad section header '%s': it does not end with ']'; allowed: [defaults], [vm VMID] or [api]",
		    where, line);
	line[len - 1] = '\0';
	in = trim(line + 1);
	*api = !strcasecmp(in, "api");
	if (*api)
		return 0;
	if (!strcasecmp(in, "defaults")) {
		*vmid = 0;
		return 0;
	}
	if (!strncasecmp(in, "vm", 2) && (in[2] == ' ' || in[2] == '\t')) {
		char *num = trim(in + 2);

		if (parse_uint(num, VMID_MAX, &id) == 0 && id >= VMID_MIN) {
			*vmid = (unsigned)id;
			return 0;
		}
		return errf(
		    err, "%s: bad section header '[%s]': '%s' is not a VM id (%u to %u)",
		    where, in, num, VMID_MIN, VMID_MAX);
	}
	return errf(
	    err,
	    "%s: bad section header '[%s]'; allowed: [defaults], [vm VMID] (e.g. [vm 105]) or [api]",
	    where, in);
}

static struct layer *layer_for(struct layer **ls, size_t *n, unsigned vmid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*ls)[i].vmid == vmid)
			return &(*ls)[i];
	*ls = xrealloc(*ls, (*n + 1) * sizeof(**ls));
	memset(&(*ls)[*n], 0, sizeof(**ls));
	(*ls)[*n].vmid = vmid;
	policy_defaults(&(*ls)[*n].val);
	return &(*ls)[(*n)++];
}

/* The file; api (may be NULL) gets the [api] section. */
static int parse_file(const char *text, const char *path, unsigned vmid, struct policy *p,
		      struct policy_api *api, char **err)
{
	_cleanup_free_ char *buf = NULL;
	struct layer *layers = NULL, *cur = NULL;
	char *api_where[ARRAY_SIZE(api_keys)] = {0};
	size_t n_layers = 0;
	unsigned lineno = 0;
	bool in_api = false;
	char *rest, *line;
	int r = 0;

	if (!text)
		return 0;
	if (!path)
		path = POLICY_CONF_PATH;
	buf = xstrdup(text);
	rest = buf;
	while ((line = next_line(&rest))) {
		_cleanup_free_ char *where = NULL;
		enum policy_key key = POLICY_KEY_REBIND;
		char *eq, *k, *v;

		lineno++;
		line = trim(line);
		if (!*line || *line == '#' || *line == ';')
			continue;
		where = xasprintf("%s:%u", path, lineno);
		if (*line == '[') {
			unsigned id = 0;

			cut_comment(line);
			r = parse_header(trim(line), where, &id, &in_api, err);
			if (r < 0)
				goto out;
			if (in_api && api && !api->where)
				api->where = xasprintf("%s [api]", path);
			if (api)
				api->any |= in_api;
			cur = in_api ? NULL : layer_for(&layers, &n_layers, id);
			continue;
		}
		if (!cur && !in_api) {
			r = errf(
			    err,
			    "%s: '%s' is outside a section; put key = value lines under [defaults] or [vm VMID]",
			    where, line);
			goto out;
		}
		cut_comment(line);
		eq = strchr(line, '=');
		if (!eq) {
			r = errf(err, "%s: expected 'key = value', got '%s'", where,
				 trim(line));
			goto out;
		}
		*eq = '\0';
		k = trim(line);
		v = trim(eq + 1);
		if (!*k) {
			r = errf(err, "%s: no key before '='", where);
			goto out;
		}
		if (in_api) {
			r = api_set(api, k, v, where, api_where, err);
			if (r < 0)
				goto out;
			continue;
		}
		if (!strcasecmp(k, "chain")) {
			r = layer_set_chain(cur, v, where, err);
			if (r < 0)
				goto out;
			continue;
		}
		r = parse_key(k, where, &key, err);
		if (r < 0)
			goto out;
		if (cur->set & (1u << key)) {
			r = errf(err,
				 "%s: %s is already set in this section at %s; keep one",
				 where, key_names[key], cur->where[key]);
			goto out;
		}
		r = layer_set(cur, key, v, where, err);
		if (r < 0)
			goto out;
	}
	/* [defaults] first, then the VM's own section */
	for (size_t i = 0; i < n_layers; i++)
		if (layers[i].vmid == 0)
			layer_apply(&layers[i], p);
	for (size_t i = 0; i < n_layers; i++)
		if (layers[i].vmid != 0 && layers[i].vmid == vmid)
			layer_apply(&layers[i], p);
out:
	for (size_t i = 0; i < n_layers; i++)
		layer_clear(&layers[i]);
	free(layers);
	for (size_t i = 0; i < ARRAY_SIZE(api_where); i++)
		free(api_where[i]);
	return r;
}

int policy_parse_file(const char *text, const char *path, unsigned vmid, struct policy *p,
		      char **err)
{
	return parse_file(text, path, vmid, p, NULL, err);
}

int policy_api_parse(const char *text, const char *path, struct policy_api *a, char **err)
{
	struct policy p;
	int r;

	memset(a, 0, sizeof(*a));
	if (!path)
		path = POLICY_CONF_PATH;
	policy_defaults(&p);
	r = parse_file(text, path, 0, &p, a, err);
	policy_clear(&p);
	if (!a->where)
		a->where = xasprintf("%s [api]", path);
	return r;
}

int policy_api_load(struct policy_api *a, char **err)
{
	_cleanup_free_ char *text = NULL;
	int r;

	memset(a, 0, sizeof(*a));
	r = host_read(&text, POLICY_CONF_PATH);
	if (r < 0 && r != -ENOENT) {
		a->where = xstrdup(POLICY_CONF_PATH " [api]");
		return errnof(err, r, "cannot read %s: %s; fix its permissions",
			      POLICY_CONF_PATH, strerror(-r));
	}
	return policy_api_parse(r < 0 ? NULL : text, POLICY_CONF_PATH, a, err);
}

/* ---- the description ---------------------------------------------------- */

/*
 * The notes are writable by anyone with VM.Config.Options (proxmox-facts.md):
 * a value that weakens host safety there is an error that says where it may
 * be set, never silently ignored (the admin would believe it in force).
 */
static int notes_may_set(const struct layer *l, enum policy_key key, unsigned vmid,
			 const char *where, char **err)
{
	if (key == POLICY_KEY_STEAL && l->val.steal == POLICY_STEAL_FORCE)
		return errf(
		    err,
		    "%s: steal=force may be set only in /etc/vfiohook.conf, which only root can write (as 'steal = force' under [vm %u]), not in the VM's notes, which anyone with VM.Config.Options can edit; remove it from the notes",
		    where, vmid);
	if (key == POLICY_KEY_REBIND && l->val.rebind == POLICY_REBIND_HOST)
		return errf(
		    err,
		    "%s: rebind=host may be set only in /etc/vfiohook.conf, which only root can write (as 'rebind = host' under [vm %u]), not in the VM's notes, which anyone with VM.Config.Options can edit; remove it from the notes",
		    where, vmid);
	for (size_t i = 0; i < ARRAY_SIZE(file_only); i++) {
		if (file_only[i] != key || !streq(policy_value(&l->val, key), "on"))
			continue;
		return errf(
		    err,
		    "%s: %s=on changes the whole host, so a VM's notes (which non-root users may write) cannot ask for it; set it for this VM in %s under [vm %u]",
		    where, key_names[key], POLICY_CONF_PATH, vmid);
	}
	return 0;
}

int policy_parse_description(const char *desc, unsigned vmid, struct policy *p,
			     char **err)
{
	_cleanup_free_ char *buf = NULL;
	struct layer l = {.vmid = vmid};
	unsigned lineno = 0;
	char *rest, *line;
	int r = 0;

	if (!desc)
		return 0;
	policy_defaults(&l.val);
	buf = xstrdup(desc);
	rest = buf;
	while ((line = next_line(&rest))) {
		_cleanup_free_ char *where = NULL;
		char *save = NULL;
		unsigned pairs = 0;

		lineno++;
		line = trim(line);
		if (strncasecmp(line, "vfiohook:", 9) != 0)
			continue;
		where = xasprintf("VM %u description line %u", vmid, lineno);
		for (char *t = strtok_r(line + 9, " \t", &save); t;
		     t = strtok_r(NULL, " \t", &save)) {
			char *eq = strchr(t, '=');
			enum policy_key key = POLICY_KEY_REBIND;

			if (!eq || eq == t) {
				r = errf(
				    err,
				    "%s: expected key=value (no spaces around '='), got '%s'; e.g. 'vfiohook: rebind=never reset=flr,bus'",
				    where, t);
				goto out;
			}
			*eq = '\0';
			if (!strcasecmp(t, "chain")) {
				r = errf(
				    err,
				    "%s: chain may be set only in %s under [vm %u] (vfiohook enable %u --chain writes it): it runs a program as root, and a VM's notes are written by users who are not root",
				    where, POLICY_CONF_PATH, vmid, vmid);
				goto out;
			}
			r = parse_key(t, where, &key, err);
			if (r < 0)
				goto out;
			if (l.set & (1u << key)) {
				r = errf(err, "%s: %s is already set at %s; keep one",
					 where, key_names[key], l.where[key]);
				goto out;
			}
			r = layer_set(&l, key, eq + 1, where, err);
			if (r < 0)
				goto out;
			r = notes_may_set(&l, key, vmid, where, err);
			if (r < 0)
				goto out;
			pairs++;
		}
		if (!pairs) {
			r = errf(
			    err,
			    "%s: 'vfiohook:' without settings; write e.g. 'vfiohook: rebind=never reset=flr,bus'",
			    where);
			goto out;
		}
	}
	layer_apply(&l, p);
out:
	layer_clear(&l);
	return r;
}

int policy_load(unsigned vmid, const char *description, struct policy *p, char **err)
{
	_cleanup_free_ char *text = NULL;
	int r;

	policy_defaults(p);
	r = host_read(&text, POLICY_CONF_PATH);
	if (r == -ENOENT) {
		text = NULL;
	} else if (r < 0) {
		errf(err, "cannot read %s: %s; fix its permissions or remove it",
		     POLICY_CONF_PATH, strerror(-r));
		return r;
	}
	r = policy_parse_file(text, POLICY_CONF_PATH, vmid, p, err);
	if (r < 0)
		return r;
	return policy_parse_description(description, vmid, p, err);
}
