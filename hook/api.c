// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The commands' side of the Proxmox API: the client from the [api] section
 * of /etc/vfiohook.conf, and `plan --source api` and `check --source api`,
 * which read the VM configs and the PCI mappings through the API and then
 * plan and judge exactly as from the files (pve/apiconf.h turns the answers
 * into the same structures).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "cli.h"
#include "engine/doctor.h"
#include "engine/policy.h"
#include "pve/apiconf.h"
#include "pve/pveapi.h"

int cli_api_status(int r)
{
	/* an answer that is not what a Proxmox node sends is unreadable input */
	return r == -EBADMSG || r == -EINVAL ? EXIT_USAGE : EXIT_REFUSED;
}

int api_open(struct pveapi **out, char **err)
{
	struct policy_api pa;
	struct pveapi_conf conf = {0};
	int r;

	*out = NULL;
	r = policy_api_load(&pa, err);
	if (r < 0) {
		policy_api_clear(&pa);
		return EXIT_USAGE;
	}
	if (!pa.any) {
		errf(
		    err,
		    "no [api] section in %s: the API needs at least token and secret-file there (see 'man vfiohook', API ACCESS)",
		    POLICY_CONF_PATH);
		policy_api_clear(&pa);
		return EXIT_USAGE;
	}
	conf.url = pa.url;
	conf.token = pa.token;
	conf.secret_file = pa.secret_file;
	conf.fingerprint = pa.fingerprint;
	conf.ca = pa.ca;
	conf.origin = pa.where;
	r = pveapi_open(&conf, out, err);
	policy_api_clear(&pa);
	/* a secret others may read, or not root's, is refused; the rest is a
	 * setting to fix */
	if (r < 0)
		return r == -EPERM ? EXIT_REFUSED : EXIT_USAGE;
	return EXIT_OK;
}

int cli_api_open(struct pveapi **out)
{
	_cleanup_free_ char *err = NULL;
	int r = api_open(out, &err);

	if (r != EXIT_OK)
		log_err("%s", err);
	return r;
}

bool api_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	/* pve-node and pve-storage-id: letters, digits, '-', '_', '.' */
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		      (s[i] == '.' && i > 0)))
			return false;
	return true;
}

int api_getf(struct pveapi *api, json_object **data, char **where, char **err,
	     const char *fmt, ...)
{
	_cleanup_free_ char *path = NULL;
	va_list ap;

	va_start(ap, fmt);
	path = xvasprintf(fmt, ap);
	va_end(ap);
	if (where)
		*where = xasprintf("%s/api2/json%s", pveapi_url(api), path);
	return pveapi_get(api, path, data, err);
}

/* hostpciN = mapping=...: only then are the mappings read, as from the file */
static bool uses_mapping(const struct vm *vm)
{
	for (size_t i = 0; i < ARRAY_SIZE(vm->hostpci); i++)
		if (vm->hostpci[i] && vm->hostpci[i]->mapping)
			return true;
	return false;
}

/* The node's name, checked once before it goes into API paths. */
static int node_ok(char **err)
{
	if (api_name_valid(host_node()))
		return EXIT_OK;
	return errf(err, "node name '%s' cannot be part of an API path; check --node",
		    host_node()),
	       EXIT_USAGE;
}

/* GET .../config?current=1 (current) or .../config as a struct vmconf;
 * returns an exit status. */
static int get_vmconf(struct pveapi *api, unsigned vmid, bool current,
		      struct vmconf **out, char **err)
{
	_cleanup_free_ char *where = NULL;
	json_object *data = NULL;
	int r;

	*out = NULL;
	r = api_getf(api, &data, &where, err, "/nodes/%s/qemu/%u/config%s", host_node(),
		     vmid, current ? "?current=1" : "");
	if (r < 0)
		return cli_api_status(r);
	r = apiconf_vmconf(data, vmid, where, out, err);
	json_object_put(data);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}

/* The mappings, fetched once per run (*cache) and read anew for each VM, as
 * each plan from the files reads pci.cfg; returns an exit status. */
static int get_mappings(struct pveapi *api, json_object **cache, struct mapping_cfg **out,
			char **err)
{
	_cleanup_free_ char *where =
	    xasprintf("%s/api2/json/cluster/mapping/pci", pveapi_url(api));
	int r;

	if (!*cache) {
		r = api_getf(api, cache, NULL, err, "/cluster/mapping/pci");
		if (r < 0)
			return cli_api_status(r);
	}
	return apiconf_mappings(*cache, where, out, err) < 0 ? EXIT_USAGE : EXIT_OK;
}

/*
 * VM vmid from its config as it is now (conf: current=1, like the file;
 * taken): its [PENDING] applied as the start will apply it (the API merges
 * it into .../config without current=1), and the mappings when it uses
 * any.  Returns an exit status; 0 with *vm (and *maps, or NULL).  A config
 * Proxmox would refuse: EXIT_USAGE with *bad_config set (and *err why).
 */
static int vm_read(struct pveapi *api, struct vmconf *conf, json_object **mapcache,
		   struct vm **vm, struct mapping_cfg **maps, bool *bad_config,
		   char **err)
{
	int r;

	*vm = NULL;
	*maps = NULL;
	*bad_config = false;
	if (!vmconf_resumes(conf)) {
		struct vmconf *merged = NULL;
		_cleanup_free_ char *perr = NULL;

		if (get_vmconf(api, conf->vmid, false, &merged, &perr) == EXIT_OK) {
			apiconf_pending(conf, merged);
			vmconf_apply_pending(conf);
		} else {
			/* the current config still gives a plan; say what is missing */
			log_warn("%s; the plan shows the VM without its pending changes",
				 perr);
		}
		vmconf_free(merged);
	}
	if (vm_from_conf(conf, vm, err) < 0) {
		*bad_config = true;
		return EXIT_USAGE;
	}
	if (uses_mapping(*vm)) {
		r = get_mappings(api, mapcache, maps, err);
		if (r != EXIT_OK) {
			vm_free(*vm);
			*vm = NULL;
			return r;
		}
	}
	return EXIT_OK;
}

/*
 * The VM config and the mappings through the API, then plan_ctx_make_from.
 * Returns an exit status; on 0, *pc is planned.
 */
int api_plan_ctx(struct plan_ctx *pc, unsigned vmid, char **err)
{
	struct pveapi *api = NULL;
	json_object *mapcache = NULL;
	struct vmconf *conf = NULL;
	struct vm *vm = NULL;
	struct mapping_cfg *maps = NULL;
	bool bad;
	int r;

	memset(pc, 0, sizeof(*pc));
	r = node_ok(err);
	if (r == EXIT_OK)
		r = api_open(&api, err);
	if (r == EXIT_OK)
		r = get_vmconf(api, vmid, true, &conf, err);
	if (r == EXIT_OK)
		r = vm_read(api, conf, &mapcache, &vm, &maps, &bad, err);
	if (r == EXIT_OK) {
		r = plan_ctx_make_from(pc, vm, maps, err);
		if (r < 0)
			r = r == PLAN_CTX_BAD_INPUT ? EXIT_USAGE : EXIT_REFUSED;
		else
			r = EXIT_OK;
	}
	json_object_put(mapcache);
	pveapi_free(api);
	return r;
}

/* A key hostpciN in the config as it is: the VMs `check` looks at, as
 * from the files (doctor_gather). */
static bool has_hostpci(const struct vmconf *conf)
{
	for (size_t i = 0; i < conf->n_lines; i++) {
		const char *k = conf->lines[i].key;

		if (startswith(k, "hostpci") && k[7] >= '0' && k[7] <= '9')
			return true;
	}
	return false;
}

static void vm_in_clear(struct doctor_vm_in *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		vm_free(in[i].vm);
		mapping_free(in[i].maps);
		free(in[i].error);
	}
	free(in);
}

int api_doctor(unsigned vmid, struct doctor **out, char **err)
{
	struct pveapi *api = NULL;
	json_object *mapcache = NULL;
	struct doctor_vm_in *in = NULL;
	struct api_vms vms = {0};
	size_t n = 0;
	int r;

	*out = NULL;
	r = node_ok(err);
	if (r == EXIT_OK)
		r = api_open(&api, err);
	if (r == EXIT_OK && vmid) {
		vms.v = xcalloc(1, sizeof(*vms.v));
		vms.v[vms.n++].vmid = vmid;
	} else if (r == EXIT_OK) {
		/* the VMs of this node, and of those the ones with hostpciN */
		_cleanup_free_ char *where = NULL;
		json_object *data = NULL;

		r = api_getf(api, &data, &where, err, "/nodes/%s/qemu", host_node());
		if (r < 0)
			r = cli_api_status(r);
		else if (apiconf_node_vms(data, host_node(), where, &vms, err) < 0)
			r = EXIT_USAGE;
		json_object_put(data);
	}
	for (size_t i = 0; r == EXIT_OK && i < vms.n; i++) {
		struct vmconf *conf = NULL;
		struct doctor_vm_in *x;
		bool bad;

		r = get_vmconf(api, vms.v[i].vmid, true, &conf, err);
		if (r != EXIT_OK)
			break;
		if (!vmid && !has_hostpci(conf)) {
			vmconf_free(conf);
			continue;
		}
		in = xrealloc(in, (n + 1) * sizeof(*in));
		x = &in[n++];
		memset(x, 0, sizeof(*x));
		x->vmid = vms.v[i].vmid;
		r = vm_read(api, conf, &mapcache, &x->vm, &x->maps, &bad, err);
		if (r != EXIT_OK && bad) {
			/* as from the file: a finding of that VM, not the end */
			x->error = *err;
			*err = NULL;
			r = EXIT_OK;
		}
	}
	if (r == EXIT_OK)
		doctor_gather_from(in, n, out);
	vm_in_clear(in, n);
	api_vms_clear(&vms);
	json_object_put(mapcache);
	pveapi_free(api);
	return r;
}
