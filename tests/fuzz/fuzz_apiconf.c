// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer: the Proxmox API's JSON answers through pve/apiconf.h, as
 * `plan --source api`, `status --cluster` and `check --cluster` read them.
 * The input is parsed by json-c, then handed to every conversion.
 * Oracles besides the sanitizers: a VM config that converts has only valid
 * config keys with non-empty one-line values; mappings that convert have
 * the keys the file parser requires; a refusal comes with a message that
 * names where the answer came from.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pve/apiconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHERE "https://pve1:8006/api2/json/x"

static void check_err(int r, char *err)
{
	if (r < 0 && (!err || !strstr(err, WHERE)))
		abort();
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *err = NULL;
	json_object *o;
	struct vmconf *conf = NULL;
	struct mapping_cfg *maps = NULL;
	struct api_vms vms = {0};
	struct strv nodes = {0};
	bool managed, restricted;
	int r;

	if (size > 65536)
		return 0;
	text = xstrndup((const char *)data, size);
	o = json_tokener_parse(text);

	r = apiconf_vmconf(o, 100, WHERE, &conf, &err);
	if (r == 0) {
		struct vm *vm = NULL;
		char *e = NULL;

		for (size_t i = 0; i < conf->n_lines; i++) {
			const struct pveconf_line *l = &conf->lines[i];

			if (!*l->value || strpbrk(l->value, "\r\n") || !*l->key ||
			    l->key[0] < 'a' || l->key[0] > 'z')
				abort();
		}
		if (vm_from_conf(conf, &vm, &e) == 0)
			vm_free(vm);
		else if (!e || !strstr(e, WHERE))
			abort();
		free(e);
	}
	check_err(r, err);
	err = NULL;

	r = apiconf_mappings(o, WHERE, &maps, &err);
	if (r == 0) {
		for (size_t i = 0; i < maps->n; i++)
			for (size_t k = 0; k < maps->v[i].n_maps; k++)
				if (!maps->v[i].maps[k].node || !maps->v[i].maps[k].id)
					abort();
		mapping_free(maps);
	}
	check_err(r, err);
	err = NULL;

	r = apiconf_vms(o, WHERE, &vms, &err);
	for (size_t i = 0; r == 0 && i < vms.n; i++)
		if (!vms.v[i].node || vms.v[i].vmid < 100 ||
		    (i && vms.v[i - 1].vmid > vms.v[i].vmid))
			abort();
	api_vms_clear(&vms);
	check_err(r, err);
	err = NULL;

	r = apiconf_node_vms(o, "pve1", WHERE, &vms, &err);
	for (size_t i = 0; r == 0 && i < vms.n; i++)
		if (!streq(vms.v[i].node, "pve1") || vms.v[i].vmid < 100 ||
		    (i && vms.v[i - 1].vmid > vms.v[i].vmid))
			abort();
	api_vms_clear(&vms);
	check_err(r, err);
	err = NULL;

	/* the same answer as HA resources, groups and rules at once */
	if (apiconf_ha_nodes(o, o, o, 100, &managed, &restricted, &nodes, &err) == 0 &&
	    !managed && nodes.n)
		abort(); /* nodes only for a VM HA manages */
	strv_clear(&nodes);
	free(err);
	err = NULL;
	apiconf_has_volume(o, "local:snippets/vfiohook");
	r = apiconf_nodes(o, WHERE, &nodes, &err);
	strv_clear(&nodes);
	check_err(r, err);

	json_object_put(o);
	free(text);
	return 0;
}
