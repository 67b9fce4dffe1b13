/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Proxmox API's JSON answers turned back into the structures the file
 * parsers make, so that `--source api` runs the very same plan as the files
 * (/etc/pve/qemu-server/<vmid>.conf, /etc/pve/mapping/pci.cfg), plus the
 * cluster views that `status --cluster` and `check --cluster` need.
 *
 * Pure functions over json-c objects (the "data" member of an answer),
 * fuzzed.  `where` names the answer in messages (the URL).  They return 0 or
 * -EINVAL with *err naming where, the key and what was expected.
 */
#ifndef VFIOHOOK_APICONF_H
#define VFIOHOOK_APICONF_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"
#include "pve/mapping.h"
#include "pve/pveconf.h"

/*
 * GET /nodes/{node}/qemu/{vmid}/config[?current=1]: an object of config keys
 * with string or number values (plus "digest", which is not a config key).
 * Becomes a struct vmconf as vmconf_parse() makes it from the file: one line
 * per key in answer order (line = position), "description" as the
 * description; JSON numbers and booleans become their text, null is
 * skipped.  A key that is not a config key ([a-z][a-z_-]*\d*), a value that
 * is an array or object or holds a line break is an error.
 */
int apiconf_vmconf(json_object *data, unsigned vmid, const char *where,
		   struct vmconf **out, char **err);

/*
 * The API has no [PENDING] section: GET .../config gives the config with
 * the pending changes merged, .../config?current=1 the config as it is.
 * Put into cur, as its [PENDING], what merged changes (keys set or changed,
 * keys deleted, the description), so vmconf_apply_pending() applies it as
 * for the file.  Pure.
 */
void apiconf_pending(struct vmconf *cur, const struct vmconf *merged);

/*
 * GET /cluster/mapping/pci: an array of {id, map: [property strings],
 * description, mdev, live-migration-capable, ...}.  Rebuilt as the text of
 * pci.cfg and read by mapping_parse(), so the API's mappings are exactly
 * what the file gives.
 */
int apiconf_mappings(json_object *data, const char *where, struct mapping_cfg **out,
		     char **err);

/* One guest of GET /cluster/resources?type=vm. */
struct api_vm {
	unsigned vmid;
	char *node;
	char *name;   /* NULL if none */
	char *status; /* "running", "stopped", ...; NULL if none */
	bool is_template;
};

struct api_vms {
	struct api_vm *v;
	size_t n;
};

/*
 * The QEMU guests ("type": "qemu") of GET /cluster/resources?type=vm, sorted
 * by vmid; containers are left out.  An entry without a valid vmid or node
 * is an error.
 */
int apiconf_vms(json_object *data, const char *where, struct api_vms *out, char **err);
/*
 * GET /nodes/{node}/qemu: the guests of node ({vmid, name, status, template,
 * ...}, no type or node member), sorted by vmid; each gets node as its node.
 * An entry without a valid vmid is an error, as is a node name that is none.
 */
int apiconf_node_vms(json_object *data, const char *node, const char *where,
		     struct api_vms *out, char **err);
void api_vms_clear(struct api_vms *v);

/*
 * The nodes HA may run VM vmid on, from GET /cluster/ha/resources (sid
 * "vm:100", group) and the HA groups (GET /cluster/ha/groups: group,
 * nodes "pve1:2,pve2") of PVE 8, or the node-affinity rules (GET
 * /cluster/ha/rules: type "node-affinity", resources "vm:100,...", nodes,
 * disable) of PVE 9; either of groups and rules may be NULL.  *managed says
 * whether HA manages the VM at all; *restricted whether a group or rule
 * limits it to `nodes` (false: HA may start it on any node).  nodes gets the
 * node names (priorities cut), sorted, without repeats.
 */
int apiconf_ha_nodes(json_object *resources, json_object *groups, json_object *rules,
		     unsigned vmid, bool *managed, bool *restricted, struct strv *nodes,
		     char **err);

/* GET /nodes/{node}/storage/{storage}/content: true when an entry's "volid"
 * is volid. */
bool apiconf_has_volume(json_object *data, const char *volid);

/* GET /nodes or /cluster/status: the names of the nodes ("type": "node" in
 * cluster/status; every entry's "node" in /nodes), sorted. */
int apiconf_nodes(json_object *data, const char *where, struct strv *out, char **err);

#endif
