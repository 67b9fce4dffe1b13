// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check --cluster: for each VM that has vfiohook as its hookscript, the
 * nodes it may run on — where it is now, the nodes HA may start it on (HA
 * groups of PVE 8, node-affinity rules of PVE 9; any node when HA manages
 * it without restriction), the nodes its PCI mappings name — and whether
 * the hookscript volume is there (GET /nodes/{node}/storage/{storage}/
 * content?content=snippets).  Proxmox refuses to start a VM whose hookscript
 * is missing ("script '...' does not exist"), so a node without it is a
 * node the VM cannot start on.  On this node the file is also checked to be
 * executable (the API does not show file modes).
 *
 * Finding ids (stable, for scripts):
 *   cluster-api-unavailable            the API cannot be used (settings, network)
 *   cluster-api-error                  an API request failed
 *   cluster-hookscript-missing         the volume is not on a node the VM may run on
 *   cluster-hookscript-storage-unavailable  its storage is not available there
 *   cluster-hookscript-not-executable  on this node: not an executable file
 *   cluster-chain-missing              the chained hookscript is not on such a node
 *   cluster-chain-not-executable       on this node: the chained one is not executable
 *   cluster-mapping-missing-on-node    HA may start the VM on a node its mapping lacks
 *   cluster-ha-unreadable              HA settings could not be read (warning)
 *   cluster-vm-ok                      everything in place for the VM (info)
 *   cluster-no-vm                      no VM uses vfiohook (info)
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host.h"
#include "base/log.h"
#include "cli.h"
#include "engine/findings.h"
#include "engine/policy.h"
#include "pve/apiconf.h"
#include "pve/hostpci.h"
#include "pve/pveapi.h"
#include "pve/storage.h"

#define ENABLE_FIX                                                                       \
	"on %s: install the vfiohook package and run 'vfiohook enable %u' there (the VM config is cluster-wide: it only places snippets/vfiohook), or keep the hookscript on a shared storage: 'vfiohook enable %u --storage SHARED'"

struct cc {
	struct pveapi *api;
	struct findings *out;
	struct strv nodes; /* every node of the cluster, once read */
	bool nodes_read;
	json_object *ha_res, *ha_groups, *ha_rules;
	struct mapping_cfg *maps;
	bool maps_read;
	/* storage content per "node/storage": the answer, or NULL and the error */
	struct strv keys;
	json_object **content;
	char **content_err;
};

static void cc_free(struct cc *x)
{
	for (size_t i = 0; i < x->keys.n; i++) {
		json_object_put(x->content[i]);
		free(x->content_err[i]);
	}
	free(x->content);
	free(x->content_err);
	strv_clear(&x->keys);
	strv_clear(&x->nodes);
	json_object_put(x->ha_res);
	json_object_put(x->ha_groups);
	json_object_put(x->ha_rules);
	mapping_free(x->maps);
	pveapi_free(x->api);
}

/* GET; an error becomes a cluster-api-error finding (when report) and -1 */
static int get(struct cc *x, bool report, json_object **data, const char *path)
{
	_cleanup_free_ char *err = NULL;
	int r = api_getf(x->api, data, NULL, &err, "%s", path);

	if (r < 0 && report)
		findings_add(
		    x->out, FINDING_ERROR, "cluster-api-error",
		    "fix the API access, then run 'vfiohook check --cluster' again", "%s",
		    err);
	else if (r < 0)
		log_debug("%s", err);
	return r < 0 ? -1 : 0;
}

static const struct strv *all_nodes(struct cc *x)
{
	json_object *d = NULL;
	_cleanup_free_ char *err = NULL;

	if (x->nodes_read)
		return &x->nodes;
	x->nodes_read = true;
	if (get(x, true, &d, "/nodes") == 0 &&
	    apiconf_nodes(d, "/nodes", &x->nodes, &err) < 0)
		findings_add(x->out, FINDING_ERROR, "cluster-api-error", "", "%s", err);
	json_object_put(d);
	return &x->nodes;
}

static const struct mapping_cfg *mappings(struct cc *x)
{
	json_object *d = NULL;
	_cleanup_free_ char *err = NULL;

	if (x->maps_read)
		return x->maps;
	x->maps_read = true;
	if (get(x, true, &d, "/cluster/mapping/pci") == 0 &&
	    apiconf_mappings(d, "/cluster/mapping/pci", &x->maps, &err) < 0)
		findings_add(x->out, FINDING_ERROR, "cluster-api-error",
			     "fix the mapping under Datacenter > Resource Mappings", "%s",
			     err);
	json_object_put(d);
	return x->maps;
}

/* The snippets on storage of node; NULL with *why when unavailable. */
static json_object *content(struct cc *x, const char *node, const char *storage,
			    const char **why)
{
	_cleanup_free_ char *key = xasprintf("%s/%s", node, storage);
	size_t i;

	for (i = 0; i < x->keys.n; i++)
		if (streq(x->keys.v[i], key))
			break;
	if (i == x->keys.n) {
		_cleanup_free_ char *err = NULL;
		json_object *d = NULL;

		x->content = xrealloc(x->content, (i + 1) * sizeof(*x->content));
		x->content_err =
		    xrealloc(x->content_err, (i + 1) * sizeof(*x->content_err));
		x->content[i] = NULL;
		x->content_err[i] = NULL;
		strv_add(&x->keys, key);
		if (api_getf(x->api, &d, NULL, &err,
			     "/nodes/%s/storage/%s/content?content=snippets", node,
			     storage) < 0)
			x->content_err[i] = err ? xstrdup(err) : xstrdup("failed");
		else
			x->content[i] = d;
	}
	*why = x->content_err[i];
	return x->content[i];
}

/* Candidate node with why the VM may run there. */
struct cand {
	struct strv node, why;
};

static void cand_add(struct cand *c, const char *node, const char *why)
{
	if (strv_contains(&c->node, node))
		return;
	strv_add(&c->node, node);
	strv_add(&c->why, why);
}

/* The mapping names the VM's hostpciN entries use. */
static void vm_mappings(const struct vmconf *conf, struct strv *names)
{
	for (size_t i = 0; i < conf->n_lines; i++) {
		const struct pveconf_line *l = &conf->lines[i];
		struct hostpci *h = NULL;
		_cleanup_free_ char *e = NULL;
		unsigned long long idx;

		if (!startswith(l->key, "hostpci") ||
		    parse_uint(l->key + 7, HOSTPCI_MAX - 1, &idx) < 0)
			continue;
		if (hostpci_parse(l->value, (unsigned)idx, &h, &e) == 0 && h->mapping &&
		    !strv_contains(names, h->mapping))
			strv_add(names, h->mapping);
		hostpci_free(h);
	}
}

static bool mapping_has_node(const struct pci_mapping *m, const char *node)
{
	for (size_t i = 0; m && i < m->n_maps; i++)
		if (streq(m->maps[i].node, node))
			return true;
	return false;
}

/* On this node: the hookscript file itself, as Proxmox checks it (-f, -x). */
static void check_local(struct cc *x, unsigned vmid, const char *volid, bool chained)
{
	const char *id = chained ? "cluster-chain-not-executable"
				 : "cluster-hookscript-not-executable";
	struct storage_cfg *cfg = NULL;
	_cleanup_free_ char *rel = NULL, *e = NULL, *hp = NULL, *fix = NULL;
	const char *why = NULL;
	struct stat st;

	if (storage_read(&cfg, &e) < 0 ||
	    storage_snippet_file(cfg, volid, &rel, NULL, &e) < 0) {
		findings_add(x->out, FINDING_ERROR, id, "fix the storage (pvesm status)",
			     "VM %u: %shookscript %s on this node (%s): %s", vmid,
			     chained ? "chained " : "", volid, host_node(), e);
		storage_free(cfg);
		return;
	}
	storage_free(cfg);
	hp = host_pathdup("%s", rel);
	if (stat(hp, &st) < 0)
		why = errno == ENOENT ? "missing (or a symlink to nothing)"
				      : strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (access(hp, X_OK) < 0 || !(st.st_mode & 0111))
		why = "not executable";
	if (!why)
		return;
	if (chained)
		fix = xasprintf("make it an executable file: chmod +x %s", rel);
	else
		fix = xasprintf("run 'vfiohook enable %u' on this node again", vmid);
	findings_add(x->out, FINDING_ERROR, id, fix,
		     "VM %u: %shookscript %s is %s on this node (%s: %s); %s", vmid,
		     chained ? "chained " : "", volid, why, host_node(), rel,
		     chained ? "vfiohook would fail the VM's start here"
			     : "Proxmox refuses to start the VM here");
}

/* Is volid on node?  Adds a finding when not; returns true when present. */
static bool check_volume(struct cc *x, unsigned vmid, const char *volid, const char *node,
			 const char *why_node, bool chained)
{
	_cleanup_free_ char *storage = xstrndup(volid, strcspn(volid, ":"));
	const char *why = NULL;
	json_object *d;

	if (!api_name_valid(storage)) {
		findings_add(x->out, FINDING_ERROR, "cluster-hookscript-missing",
			     "set a valid hookscript: 'vfiohook enable VMID'",
			     "VM %u: '%s' is not a volume id Proxmox can resolve", vmid,
			     volid);
		return false;
	}
	d = content(x, node, storage, &why);

	if (!d) {
		findings_add(
		    x->out, FINDING_ERROR, "cluster-hookscript-storage-unavailable",
		    "make storage available on that node (Datacenter > Storage > Nodes), or use one that is",
		    "VM %u may run on node %s (%s), but the storage of its %shookscript %s cannot be listed there: %s",
		    vmid, node, why_node, chained ? "chained " : "", volid, why);
		return false;
	}
	if (!apiconf_has_volume(d, volid)) {
		if (chained)
			findings_add(
			    x->out, FINDING_ERROR, "cluster-chain-missing",
			    "copy the script to that node's snippets, and the chain line under [vm N] to its /etc/vfiohook.conf",
			    "VM %u may run on node %s (%s), but its chained hookscript %s is not there; vfiohook would fail its start there",
			    vmid, node, why_node, volid);
		else {
			_cleanup_free_ char *fix =
			    xasprintf(ENABLE_FIX, node, vmid, vmid);

			findings_add(
			    x->out, FINDING_ERROR, "cluster-hookscript-missing", fix,
			    "VM %u may run on node %s (%s), but its hookscript %s is not there: Proxmox refuses to start it on %s",
			    vmid, node, why_node, volid, node);
		}
		return false;
	}
	return true;
}

static void check_vm(struct cc *x, const struct api_vm *vm, const struct vmconf *conf,
		     const char *volid)
{
	struct cand cand = {0};
	struct strv maps = {0}, ha_nodes = {0};
	_cleanup_free_ char *err = NULL, *chain = NULL;
	bool managed = false, restricted = false;
	struct policy pol;
	size_t before = x->out->n;

	cand_add(&cand, vm->node, "it is there now");
	if (x->ha_res &&
	    apiconf_ha_nodes(x->ha_res, x->ha_groups, x->ha_rules, vm->vmid, &managed,
			     &restricted, &ha_nodes, &err) == 0 &&
	    managed) {
		const struct strv *any = restricted ? &ha_nodes : all_nodes(x);

		for (size_t i = 0; i < any->n; i++)
			cand_add(&cand, any->v[i],
				 restricted ? "HA may start it there"
					    : "HA may start it on any node");
	}
	vm_mappings(conf, &maps);
	if (maps.n && mappings(x)) {
		/* nodes with an entry in every mapping the VM uses */
		const struct pci_mapping *first = mapping_find(x->maps, maps.v[0]);

		for (size_t k = 0; first && k < first->n_maps; k++) {
			const char *node = first->maps[k].node;
			bool all = true;

			for (size_t m = 1; m < maps.n; m++)
				all &= mapping_has_node(mapping_find(x->maps, maps.v[m]),
							node);
			if (all)
				cand_add(&cand, node, "its PCI mappings name it");
		}
		for (size_t i = 0; i < cand.node.n; i++)
			for (size_t m = 0; m < maps.n; m++)
				if (!mapping_has_node(mapping_find(x->maps, maps.v[m]),
						      cand.node.v[i]))
					findings_add(
					    x->out, FINDING_WARNING,
					    "cluster-mapping-missing-on-node",
					    "add the node's device to the mapping (Datacenter > Resource Mappings), or keep HA from starting the VM there",
					    "VM %u may run on node %s (%s), but its PCI mapping '%s' has no entry for %s: it cannot start there",
					    vm->vmid, cand.node.v[i], cand.why.v[i],
					    maps.v[m], cand.node.v[i]);
	}
	if (policy_load(vm->vmid, NULL, &pol, NULL) == 0 && pol.chain)
		chain = xstrdup(pol.chain);
	policy_clear(&pol);
	for (size_t i = 0; i < cand.node.n; i++) {
		bool here = streq(cand.node.v[i], host_node());

		/* on this node, what the API lists is also checked as a file */
		if (check_volume(x, vm->vmid, volid, cand.node.v[i], cand.why.v[i],
				 false) &&
		    here)
			check_local(x, vm->vmid, volid, false);
		if (chain &&
		    check_volume(x, vm->vmid, chain, cand.node.v[i], cand.why.v[i],
				 true) &&
		    here)
			check_local(x, vm->vmid, chain, true);
	}
	if (x->out->n == before) {
		_cleanup_free_ char *list = xstrdup("");

		for (size_t i = 0; i < cand.node.n; i++) {
			char *l =
			    xasprintf("%s%s%s", list, i ? ", " : "", cand.node.v[i]);

			free(list);
			list = l;
		}
		findings_add(
		    x->out, FINDING_INFO, "cluster-vm-ok", "",
		    "VM %u: hookscript %s%s%s present on every node it may run on (%s)",
		    vm->vmid, volid, chain ? " and chained " : "", chain ? chain : "",
		    list);
	}
	strv_clear(&cand.node);
	strv_clear(&cand.why);
	strv_clear(&maps);
	strv_clear(&ha_nodes);
}

int check_cluster(struct cli *c, struct findings *out)
{
	struct cc x = {.out = out};
	struct api_vms vms = {0};
	json_object *d = NULL;
	_cleanup_free_ char *err = NULL;
	unsigned used = 0;
	int r;

	(void)c;
	r = api_open(&x.api, &err);
	if (r != EXIT_OK) {
		findings_add(
		    out, FINDING_ERROR, "cluster-api-unavailable",
		    "set up [api] in /etc/vfiohook.conf (see 'man vfiohook', API ACCESS)",
		    "%s", err);
		return EXIT_REFUSED;
	}
	if (get(&x, true, &d, "/cluster/resources?type=vm") < 0)
		goto out;
	r = apiconf_vms(d, "/cluster/resources", &vms, &err);
	json_object_put(d);
	if (r < 0) {
		findings_add(out, FINDING_ERROR, "cluster-api-error", "", "%s", err);
		goto out;
	}
	/* HA: resources always exist; groups (PVE 8) or rules (PVE 9) */
	if (get(&x, false, &x.ha_res, "/cluster/ha/resources") < 0)
		findings_add(
		    out, FINDING_WARNING, "cluster-ha-unreadable",
		    "give the API token Sys.Audit on /",
		    "cannot read the HA resources (GET /cluster/ha/resources); the nodes HA may move VMs to are not checked");
	get(&x, false, &x.ha_groups, "/cluster/ha/groups");
	get(&x, false, &x.ha_rules, "/cluster/ha/rules");

	for (size_t i = 0; i < vms.n; i++) {
		const struct api_vm *vm = &vms.v[i];
		struct vmconf *conf = NULL;
		const struct pveconf_line *hs;
		_cleanup_free_ char *where = NULL, *e = NULL;

		if (vm->is_template)
			continue;
		if (api_getf(x.api, &d, &where, &e, "/nodes/%s/qemu/%u/config?current=1",
			     vm->node, vm->vmid) < 0) {
			findings_add(out, FINDING_ERROR, "cluster-api-error", "", "%s",
				     e);
			continue;
		}
		r = apiconf_vmconf(d, vm->vmid, where, &conf, &e);
		json_object_put(d);
		if (r < 0) {
			findings_add(out, FINDING_ERROR, "cluster-api-error", "", "%s",
				     e);
			continue;
		}
		hs = vmconf_get(conf, "hookscript");
		if (hs && storage_volid_is_vfiohook(hs->value)) {
			used++;
			check_vm(&x, vm, conf, hs->value);
		}
		vmconf_free(conf);
	}
	if (!used)
		findings_add(out, FINDING_INFO, "cluster-no-vm",
			     "register one with 'vfiohook enable VMID'",
			     "no VM of the cluster has vfiohook as its hookscript");
out:
	api_vms_clear(&vms);
	cc_free(&x);
	return findings_count(out, FINDING_ERROR) ? EXIT_REFUSED : EXIT_OK;
}
