// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * status --cluster: the passthrough devices of the whole cluster, per node
 * and VM, through the API: GET /cluster/resources?type=vm for the guests,
 * each VM's config (hostpciN as it is now, current=1) and the PCI mappings
 * (GET /cluster/mapping/pci) for the devices a mapping gives on the VM's
 * node.  Host ids are shown as written, normalised ("01:00.0" ->
 * "0000:01:00.0"); their prefix expansion needs that node's sysfs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "cli.h"
#include "pve/apiconf.h"
#include "pve/hostpci.h"
#include "pve/pveapi.h"

/* One hostpciN entry of one VM as JSON: hostpci, value, mapping, devices. */
static json_object *entry_json(const char *key, const char *value, const char *node,
			       const struct mapping_cfg *maps)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array();
	struct hostpci *h = NULL;
	_cleanup_free_ char *e = NULL;
	unsigned long long idx = 0;

	json_object_object_add(o, "hostpci", json_object_new_string(key));
	json_object_object_add(o, "value", json_object_new_string(value));
	parse_uint(key + 7, HOSTPCI_MAX - 1, &idx);
	if (hostpci_parse(value, (unsigned)idx, &h, &e) < 0) {
		json_object_object_add(o, "mapping", NULL);
		json_object_object_add(o, "devices", devs);
		json_object_object_add(o, "problem",
				       json_object_new_string(e ? e : "invalid"));
		return o;
	}
	json_object_object_add(o, "mapping",
			       h->mapping ? json_object_new_string(h->mapping) : NULL);
	if (h->mapping) {
		const struct pci_mapping *m = mapping_find(maps, h->mapping);

		/* every alternative on the VM's node; Proxmox picks one at start */
		for (size_t k = 0; m && k < m->n_maps; k++)
			if (streq(m->maps[k].node, node))
				for (size_t p = 0; p < m->maps[k].path.n; p++)
					json_object_array_add(
					    devs,
					    json_object_new_string(m->maps[k].path.v[p]));
		if (!m || !json_object_array_length(devs))
			json_object_object_add(
			    o, "problem",
			    json_object_new_string(
				m ? "the mapping has no entry for this node"
				  : "no such PCI mapping"));
	} else {
		for (size_t k = 0; k < h->host.n; k++) {
			char *id = hostpci_id_normalize(h->host.v[k]);

			json_object_array_add(devs, json_object_new_string(id));
			free(id);
		}
	}
	json_object_object_add(o, "devices", devs);
	if (!json_object_object_get_ex(o, "problem", NULL))
		json_object_object_add(o, "problem", NULL);
	hostpci_free(h);
	return o;
}

/* Find or add the node's object in nodes. */
static json_object *node_vms(json_object *nodes, const char *node)
{
	json_object *n, *vms;

	for (size_t i = 0; i < json_object_array_length(nodes); i++) {
		json_object *o = json_object_array_get_idx(nodes, i), *name;

		if (json_object_object_get_ex(o, "node", &name) &&
		    streq(json_object_get_string(name), node)) {
			json_object_object_get_ex(o, "vms", &vms);
			return vms;
		}
	}
	n = json_object_new_object();
	vms = json_object_new_array();
	json_object_object_add(n, "node", json_object_new_string(node));
	json_object_object_add(n, "vms", vms);
	json_object_array_add(nodes, n);
	return vms;
}

/* hostpci2 before hostpci10 */
static int cmp_entry(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *kx,
		    *ky;
	long ix, iy;

	json_object_object_get_ex(x, "hostpci", &kx);
	json_object_object_get_ex(y, "hostpci", &ky);
	ix = strtol(json_object_get_string(kx) + 7, NULL, 10);
	iy = strtol(json_object_get_string(ky) + 7, NULL, 10);
	return (ix > iy) - (ix < iy);
}

static int cmp_node(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *nx,
		    *ny;

	json_object_object_get_ex(x, "node", &nx);
	json_object_object_get_ex(y, "node", &ny);
	return strcmp(json_object_get_string(nx), json_object_get_string(ny));
}

static void print_text(json_object *root)
{
	json_object *nodes;

	json_object_object_get_ex(root, "nodes", &nodes);
	if (!json_object_array_length(nodes))
		printf("no VM of the cluster has hostpci devices\n");
	for (size_t i = 0; i < json_object_array_length(nodes); i++) {
		json_object *n = json_object_array_get_idx(nodes, i), *v, *vms;

		json_object_object_get_ex(n, "node", &v);
		json_object_object_get_ex(n, "vms", &vms);
		printf("node %s\n", json_object_get_string(v));
		for (size_t k = 0; k < json_object_array_length(vms); k++) {
			json_object *vm = json_object_array_get_idx(vms, k), *x, *devs;

			json_object_object_get_ex(vm, "vmid", &x);
			printf("  VM %s", json_object_get_string(x));
			if (json_object_object_get_ex(vm, "name", &x) && x)
				printf(" %s", json_object_get_string(x));
			if (json_object_object_get_ex(vm, "status", &x) && x)
				printf(" (%s)", json_object_get_string(x));
			if (json_object_object_get_ex(vm, "hookscript", &x) && x)
				printf(", hookscript %s", json_object_get_string(x));
			printf("\n");
			json_object_object_get_ex(vm, "hostpci", &devs);
			for (size_t e = 0; e < json_object_array_length(devs); e++) {
				json_object *d = json_object_array_get_idx(devs, e), *ids,
					    *m, *p;
				_cleanup_free_ char *list = xstrdup("");

				json_object_object_get_ex(d, "hostpci", &x);
				json_object_object_get_ex(d, "devices", &ids);
				for (size_t j = 0; j < json_object_array_length(ids);
				     j++) {
					char *l = xasprintf(
					    "%s%s%s", list, j ? " " : "",
					    json_object_get_string(
						json_object_array_get_idx(ids, j)));
					free(list);
					list = l;
				}
				_cleanup_free_ char *line = xasprintf(
				    "    %-10s %-28s", json_object_get_string(x),
				    *list ? list : "-");
				char *t;

				if (json_object_object_get_ex(d, "mapping", &m) && m) {
					t = xasprintf("%s mapping %s", line,
						      json_object_get_string(m));
					free(line);
					line = t;
				}
				if (json_object_object_get_ex(d, "problem", &p) && p) {
					t = xasprintf("%s (%s)", line,
						      json_object_get_string(p));
					free(line);
					line = t;
				}
				t = line + strlen(line);
				while (t > line && t[-1] == ' ')
					*--t = '\0';
				printf("%s", line);
				printf("\n");
			}
		}
	}
}

int status_cluster(struct cli *c)
{
	struct pveapi *api = NULL;
	struct api_vms vms = {0};
	struct mapping_cfg *maps = NULL;
	json_object *d = NULL, *root = NULL, *nodes;
	_cleanup_free_ char *err = NULL, *where = NULL;
	int r;

	if (c->argc != 0) {
		log_err("usage: vfiohook status --cluster (no arguments)");
		return EXIT_USAGE;
	}
	r = cli_api_open(&api);
	if (r != EXIT_OK)
		return r;
	r = api_getf(api, &d, &where, &err, "/cluster/resources?type=vm");
	if (r < 0 || (r = apiconf_vms(d, where, &vms, &err)) < 0) {
		log_err("%s", err);
		r = cli_api_status(r);
		goto out;
	}
	json_object_put(d);
	d = NULL;
	root = json_object_new_object();
	nodes = json_object_new_array();
	json_object_object_add(root, "nodes", nodes);
	for (size_t i = 0; i < vms.n; i++) {
		const struct api_vm *vm = &vms.v[i];
		struct vmconf *conf = NULL;
		json_object *o, *ents;
		const struct pveconf_line *hs;

		free(where);
		where = NULL;
		r = api_getf(api, &d, &where, &err, "/nodes/%s/qemu/%u/config?current=1",
			     vm->node, vm->vmid);
		if (r < 0 || (r = apiconf_vmconf(d, vm->vmid, where, &conf, &err)) < 0) {
			log_err("%s", err);
			r = cli_api_status(r);
			goto out;
		}
		json_object_put(d);
		d = NULL;
		ents = json_object_new_array();
		for (size_t k = 0; k < conf->n_lines; k++) {
			const struct pveconf_line *l = &conf->lines[k];
			unsigned long long idx;

			if (!startswith(l->key, "hostpci") ||
			    parse_uint(l->key + 7, HOSTPCI_MAX - 1, &idx) < 0)
				continue;
			if (strstr(l->value, "mapping=") && !maps) {
				free(where);
				where = NULL;
				r = api_getf(api, &d, &where, &err,
					     "/cluster/mapping/pci");
				if (r < 0 ||
				    (r = apiconf_mappings(d, "/cluster/mapping/pci",
							  &maps, &err)) < 0) {
					log_err("%s", err);
					r = cli_api_status(r);
					json_object_put(ents);
					vmconf_free(conf);
					goto out;
				}
				json_object_put(d);
				d = NULL;
			}
			json_object_array_add(
			    ents, entry_json(l->key, l->value, vm->node, maps));
		}
		if (!json_object_array_length(ents)) {
			json_object_put(ents);
			vmconf_free(conf);
			continue;
		}
		json_object_array_sort(ents, cmp_entry);
		o = json_object_new_object();
		json_object_object_add(o, "vmid", json_object_new_int64(vm->vmid));
		json_object_object_add(
		    o, "name", vm->name ? json_object_new_string(vm->name) : NULL);
		json_object_object_add(
		    o, "status", vm->status ? json_object_new_string(vm->status) : NULL);
		hs = vmconf_get(conf, "hookscript");
		json_object_object_add(o, "hookscript",
				       hs ? json_object_new_string(hs->value) : NULL);
		json_object_object_add(o, "hostpci", ents);
		json_object_array_add(node_vms(nodes, vm->node), o);
		vmconf_free(conf);
	}
	json_object_array_sort(nodes, cmp_node);
	if (c->json)
		json_print(root);
	else
		print_text(root);
	r = EXIT_OK;
out:
	json_object_put(d);
	json_object_put(root);
	mapping_free(maps);
	api_vms_clear(&vms);
	pveapi_free(api);
	return r;
}
