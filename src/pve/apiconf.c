// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/apiconf.h"

#include <errno.h>
#include <stdio.h>

#include "base/ids.h"
#include "base/util.h"

/* ---- scalar values --------------------------------------------------------- */

static const char *type_name(json_object *o)
{
	return json_type_to_name(json_object_get_type(o));
}

/*
 * A JSON scalar as the config file would spell it: strings as they are,
 * integers in decimal, booleans 1/0 (Proxmox's own booleans are 0/1
 * numbers), other numbers as json-c prints them.  NULL for arrays and
 * objects.
 */
static char *scalar_text(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		return xstrdup(json_object_get_string(v));
	case json_type_int:
		return xasprintf("%lld", (long long)json_object_get_int64(v));
	case json_type_boolean:
		return xstrdup(json_object_get_boolean(v) ? "1" : "0");
	case json_type_double:
		return xstrdup(json_object_get_string(v));
	default:
		return NULL;
	}
}

static bool has_newline(const char *s)
{
	return strpbrk(s, "\n\r") != NULL;
}

/* [a-z][a-z_-]*\d* as the whole string, as the config file's keys */
static bool config_key_valid(const char *k)
{
	size_t i = 1;

	if (k[0] < 'a' || k[0] > 'z')
		return false;
	while ((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_' || k[i] == '-')
		i++;
	while (k[i] >= '0' && k[i] <= '9')
		i++;
	return k[i] == '\0';
}

static char *trimmed(const char *s)
{
	size_t b = 0, e = strlen(s);

	while (b < e && str_is_space(s[b]))
		b++;
	while (e > b && str_is_space(s[e - 1]))
		e--;
	return xstrndup(s + b, e - b);
}

/* ---- the VM config ------------------------------------------------------------ */

int apiconf_vmconf(json_object *data, unsigned vmid, const char *where,
		   struct vmconf **out, char **err)
{
	struct vmconf *c;
	unsigned pos = 0;
	int r = 0;

	*out = NULL;
	if (!json_object_is_type(data, json_type_object))
		return errf(err, "%s: expected the VM config as a JSON object, got %s",
			    where, type_name(data));
	c = xcalloc(1, sizeof(*c));
	c->vmid = vmid;
	c->path = xstrdup(where);
	c->lines =
	    xcalloc((size_t)json_object_object_length(data) + 1, sizeof(*c->lines));
	json_object_object_foreach (data, key, val) {
		_cleanup_free_ char *text = NULL;

		pos++;
		/* "digest" is the API's checksum of the file, not a config key */
		if (streq(key, "digest") || json_object_is_type(val, json_type_null))
			continue;
		if (!config_key_valid(key)) {
			r = errf(err,
				 "%s: '%s' is not a config key ([a-z][a-z_-]*, digits)",
				 where, key);
			goto fail;
		}
		text = scalar_text(val);
		if (!text) {
			r = errf(err, "%s: key '%s': expected a string or number, got %s",
				 where, key, type_name(val));
			goto fail;
		}
		if (streq(key, "description")) {
			/* as the file parser leaves it: trailing white space cut */
			size_t n = strlen(text);

			while (n && str_is_space(text[n - 1]))
				text[--n] = '\0';
			free(c->description);
			c->description = n ? xstrdup(text) : NULL;
			continue;
		}
		if (has_newline(text)) {
			r = errf(err, "%s: key '%s': the value holds a line break", where,
				 key);
			goto fail;
		}
		{
			char *v = trimmed(text);

			if (!*v) { /* a file line without value is never written */
				free(v);
				continue;
			}
			c->lines[c->n_lines].key = xstrdup(key);
			c->lines[c->n_lines].value = v;
			c->lines[c->n_lines].line = pos;
			c->n_lines++;
		}
	}
	*out = c;
	return 0;
fail:
	vmconf_free(c);
	return r;
}

/* ---- PCI mappings --------------------------------------------------------------- */

/* Append "\tkey value\n" to the pci.cfg text; -EINVAL for a bad value. */
static int add_line(char **text, const char *key, json_object *val, const char *where,
		    const char *id, char **err)
{
	_cleanup_free_ char *v = scalar_text(val);
	char *n;

	if (!v)
		return errf(err,
			    "%s: mapping '%s': %s: expected a string or number, got %s",
			    where, id, key, type_name(val));
	if (has_newline(v)) {
		if (!streq(key, "description"))
			return errf(err, "%s: mapping '%s': %s holds a line break", where,
				    id, key);
		/* a description is text for people: it cannot change a plan */
		for (char *p = v; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
	}
	n = xasprintf("%s\t%s %s\n", *text, key, v);
	free(*text);
	*text = n;
	return 0;
}

int apiconf_mappings(json_object *data, const char *where, struct mapping_cfg **out,
		     char **err)
{
	_cleanup_free_ char *text = xstrdup(""), *e = NULL;
	size_t n;
	int r;

	*out = NULL;
	if (!json_object_is_type(data, json_type_array))
		return errf(err, "%s: expected a JSON array of mappings, got %s", where,
			    type_name(data));
	n = json_object_array_length(data);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(data, i), *id = NULL,
			    *map = NULL;
		const char *ids;
		char *t;

		if (!json_object_is_type(m, json_type_object) ||
		    !json_object_object_get_ex(m, "id", &id) ||
		    !json_object_is_type(id, json_type_string))
			return errf(
			    err,
			    "%s: entry %zu: expected an object with an \"id\" string",
			    where, i);
		ids = json_object_get_string(id);
		if (!*ids || strpbrk(ids, " \t\r\n\f\v#"))
			return errf(err, "%s: entry %zu: '%s' is not a mapping id", where,
				    i, ids);
		t = xasprintf("%s%s\n", text, ids);
		free(text);
		text = t;
		if (json_object_object_get_ex(m, "map", &map)) {
			if (json_object_is_type(map, json_type_array)) {
				for (size_t k = 0; k < json_object_array_length(map);
				     k++) {
					r = add_line(&text, "map",
						     json_object_array_get_idx(map, k),
						     where, ids, err);
					if (r < 0)
						return r;
				}
			} else if (!json_object_is_type(map, json_type_null)) {
				r = add_line(&text, "map", map, where, ids, err);
				if (r < 0)
					return r;
			}
		}
		json_object_object_foreach (m, key, val) {
			if (json_object_is_type(val, json_type_null) ||
			    !(streq(key, "description") || streq(key, "mdev") ||
			      streq(key, "live-migration-capable")))
				continue;
			r = add_line(&text, key, val, where, ids, err);
			if (r < 0)
				return r;
		}
		t = xasprintf("%s\n", text);
		free(text);
		text = t;
	}
	r = mapping_parse(text, strlen(text), out, &e);
	if (r < 0)
		return errnof(err, r, "%s: %s (the mappings as pci.cfg text)", where,
			      e ? e : strerror(-r));
	return 0;
}

void apiconf_pending(struct vmconf *cur, const struct vmconf *merged)
{
	struct strv deleted = {0};

	for (size_t i = 0; i < merged->n_lines; i++) {
		const struct pveconf_line *m = &merged->lines[i];
		const struct pveconf_line *c = vmconf_get(cur, m->key);
		struct pveconf_line *p;

		if (c && streq(c->value, m->value))
			continue;
		cur->pending =
		    xrealloc(cur->pending, (cur->n_pending + 1) * sizeof(*cur->pending));
		p = &cur->pending[cur->n_pending++];
		p->key = xstrdup(m->key);
		p->value = xstrdup(m->value);
		p->line = m->line;
	}
	for (size_t i = 0; i < cur->n_lines; i++)
		if (!vmconf_get(merged, cur->lines[i].key))
			strv_add(&deleted, cur->lines[i].key);
	if (cur->description && !merged->description)
		strv_add(&deleted, "description");
	if (merged->description && !streq(merged->description, cur->description))
		cur->pending_description = xstrdup(merged->description);
	if (deleted.n) {
		size_t len = 1;

		for (size_t i = 0; i < deleted.n; i++)
			len += strlen(deleted.v[i]) + 1;
		cur->pending_delete = xcalloc(1, len);
		for (size_t i = 0; i < deleted.n; i++) {
			if (i)
				strcat(cur->pending_delete, ",");
			strcat(cur->pending_delete, deleted.v[i]);
		}
	}
	cur->has_pending =
	    cur->n_pending || cur->pending_delete || cur->pending_description;
	strv_clear(&deleted);
}

/* ---- cluster resources ------------------------------------------------------------ */

void api_vms_clear(struct api_vms *v)
{
	for (size_t i = 0; v && i < v->n; i++) {
		free(v->v[i].node);
		free(v->v[i].name);
		free(v->v[i].status);
	}
	if (v) {
		free(v->v);
		memset(v, 0, sizeof(*v));
	}
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* An integer member given as a number or as decimal text; -1 if absent or bad. */
static long long get_int(json_object *o, const char *key)
{
	json_object *v = NULL;
	unsigned long long n;

	if (!json_object_object_get_ex(o, key, &v))
		return -1;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	if (json_object_is_type(v, json_type_string) &&
	    parse_uint(json_object_get_string(v), 1ULL << 62, &n) == 0)
		return (long long)n;
	return -1;
}

/* Proxmox node names: pve-node, a host name label */
static bool node_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c == '-' && i > 0)))
			return false;
	}
	return true;
}

static int cmp_vm(const void *a, const void *b)
{
	const struct api_vm *x = a, *y = b;

	return (x->vmid > y->vmid) - (x->vmid < y->vmid);
}

/* The QEMU guests of a list answer; node NULL: each entry names its node
 * and its type (cluster/resources), else every entry is a guest of node. */
static int list_vms(json_object *data, const char *node_of_all, const char *where,
		    struct api_vms *out, char **err)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(data, json_type_array))
		return errf(err, "%s: expected a JSON array of %s, got %s", where,
			    node_of_all ? "guests" : "resources", type_name(data));
	n = json_object_array_length(data);
	out->v = xcalloc(n + 1, sizeof(*out->v));
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(data, i);
		const char *node = node_of_all, *s;
		long long vmid;
		struct api_vm *vm;

		if (!json_object_is_type(o, json_type_object)) {
			api_vms_clear(out);
			return errf(err, "%s: entry %zu is not an object", where, i);
		}
		if (!node_of_all) {
			if (!streq(get_str(o, "type"), "qemu"))
				continue; /* lxc, storage, node, ... */
			node = get_str(o, "node");
		}
		vmid = get_int(o, "vmid");
		if (vmid < VMID_MIN || vmid > VMID_MAX || !node_name_valid(node)) {
			api_vms_clear(out);
			return errf(
			    err,
			    "%s: entry %zu: a qemu guest without a valid vmid and node",
			    where, i);
		}
		vm = &out->v[out->n++];
		vm->vmid = (unsigned)vmid;
		vm->node = xstrdup(node);
		s = get_str(o, "name");
		vm->name = s ? xstrdup(s) : NULL;
		s = get_str(o, "status");
		vm->status = s ? xstrdup(s) : NULL;
		vm->is_template = get_int(o, "template") == 1;
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_vm);
	return 0;
}

int apiconf_vms(json_object *data, const char *where, struct api_vms *out, char **err)
{
	return list_vms(data, NULL, where, out, err);
}

int apiconf_node_vms(json_object *data, const char *node, const char *where,
		     struct api_vms *out, char **err)
{
	return list_vms(data, node, where, out, err);
}

/* ---- HA -----------------------------------------------------------------------------
 */

/* "pve1:2,pve2 ,pve3" -> node names */
static void add_node_list(const char *list, struct strv *nodes)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;

	for (char *t = strtok_r(copy, ", \t", &save); t;
	     t = strtok_r(NULL, ", \t", &save)) {
		char *colon = strchr(t, ':');

		if (colon)
			*colon = '\0';
		if (node_name_valid(t) && !strv_contains(nodes, t))
			strv_add(nodes, t);
	}
}

/* "vm:100,ct:101" or "vm:100" names vmid */
static bool names_vm(const char *list, unsigned vmid)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char want[32], *save = NULL;

	snprintf(want, sizeof(want), "vm:%u", vmid);
	for (char *t = strtok_r(copy, ", \t", &save); t;
	     t = strtok_r(NULL, ", \t", &save))
		if (streq(t, want))
			return true;
	return false;
}

int apiconf_ha_nodes(json_object *resources, json_object *groups, json_object *rules,
		     unsigned vmid, bool *managed, bool *restricted, struct strv *nodes,
		     char **err)
{
	const char *group = NULL;

	*managed = *restricted = false;
	if (!json_object_is_type(resources, json_type_array))
		return errf(err, "HA resources: expected a JSON array, got %s",
			    type_name(resources));
	for (size_t i = 0; i < json_object_array_length(resources); i++) {
		json_object *o = json_object_array_get_idx(resources, i);
		const char *sid =
		    json_object_is_type(o, json_type_object) ? get_str(o, "sid") : NULL;

		if (sid && names_vm(sid, vmid)) {
			*managed = true;
			group = get_str(o, "group");
		}
	}
	if (!*managed)
		return 0;
	if (group && json_object_is_type(groups, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(groups); i++) {
			json_object *o = json_object_array_get_idx(groups, i);
			const char *list;

			if (!json_object_is_type(o, json_type_object) ||
			    !streq(get_str(o, "group"), group) ||
			    !(list = get_str(o, "nodes")))
				continue;
			add_node_list(list, nodes);
			/* an unrestricted group only prefers its nodes */
			*restricted |= get_int(o, "restricted") == 1;
		}
	}
	if (json_object_is_type(rules, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(rules); i++) {
			json_object *o = json_object_array_get_idx(rules, i);
			const char *res, *list;

			if (!json_object_is_type(o, json_type_object) ||
			    !streq(get_str(o, "type"), "node-affinity") ||
			    get_int(o, "disable") == 1 ||
			    !(res = get_str(o, "resources")) || !names_vm(res, vmid) ||
			    !(list = get_str(o, "nodes")))
				continue;
			add_node_list(list, nodes);
			*restricted |= get_int(o, "strict") == 1;
		}
	}
	strv_sort(nodes);
	return 0;
}

bool apiconf_has_volume(json_object *data, const char *volid)
{
	if (!json_object_is_type(data, json_type_array) || !volid)
		return false;
	for (size_t i = 0; i < json_object_array_length(data); i++) {
		json_object *o = json_object_array_get_idx(data, i);

		if (json_object_is_type(o, json_type_object) &&
		    streq(get_str(o, "volid"), volid))
			return true;
	}
	return false;
}

int apiconf_nodes(json_object *data, const char *where, struct strv *out, char **err)
{
	if (!json_object_is_type(data, json_type_array))
		return errf(err, "%s: expected a JSON array of nodes, got %s", where,
			    type_name(data));
	for (size_t i = 0; i < json_object_array_length(data); i++) {
		json_object *o = json_object_array_get_idx(data, i);
		const char *type, *name;

		if (!json_object_is_type(o, json_type_object))
			continue;
		type = get_str(o, "type");
		/* /cluster/status: {"type":"node","name":...}; /nodes: {"node":...} */
		name = type && streq(type, "node") && get_str(o, "name")
			   ? get_str(o, "name")
			   : get_str(o, "node");
		if (type && !streq(type, "node"))
			continue;
		if (node_name_valid(name) && !strv_contains(out, name))
			strv_add(out, name);
	}
	strv_sort(out);
	return 0;
}
