// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The commands' side of the Proxmox API: the client from the [api] section
 * of /etc/vfiohook.conf, and `plan --source api`, which reads the VM config
 * and the PCI mappings through the API and then plans exactly as from the
 * files (pve/apiconf.h turns the answers into the same structures).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "cli.h"
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

/*
 * The VM config (as it is now: current=1, like the file; Proxmox applies
 * pending changes before pre-start, and the file then holds them) and the
 * mappings through the API, then plan_ctx_make_from.  Returns an exit
 * status; on 0, *pc is planned.
 */
int api_plan_ctx(struct plan_ctx *pc, unsigned vmid, char **err)
{
	struct pveapi *api = NULL;
	json_object *data = NULL;
	struct vmconf *conf = NULL;
	struct vm *vm = NULL;
	struct mapping_cfg *maps = NULL;
	_cleanup_free_ char *where = NULL;
	int r;

	memset(pc, 0, sizeof(*pc));
	if (!api_name_valid(host_node()))
		return errf(err,
			    "node name '%s' cannot be part of an API path; check --node",
			    host_node()),
		       EXIT_USAGE;
	r = api_open(&api, err);
	if (r != EXIT_OK)
		return r;
	r = api_getf(api, &data, &where, err, "/nodes/%s/qemu/%u/config?current=1",
		     host_node(), vmid);
	if (r < 0) {
		r = cli_api_status(r);
		goto out;
	}
	r = apiconf_vmconf(data, vmid, where, &conf, err);
	json_object_put(data);
	data = NULL;
	if (r == 0 && !vmconf_resumes(conf)) {
		/* as the file path does: the start applies [PENDING] first; the
		 * API merges it into .../config without current=1 */
		struct vmconf *merged = NULL;

		free(where);
		where = NULL;
		_cleanup_free_ char *perr = NULL;

		if (api_getf(api, &data, &where, &perr, "/nodes/%s/qemu/%u/config",
			     host_node(), vmid) == 0 &&
		    apiconf_vmconf(data, vmid, where, &merged, &perr) == 0) {
			apiconf_pending(conf, merged);
			vmconf_apply_pending(conf);
		} else {
			/* the current config still gives a plan; say what is missing */
			log_warn("%s; the plan shows the VM without its pending changes",
				 perr);
		}
		json_object_put(data);
		data = NULL;
		vmconf_free(merged);
	}
	if (r < 0 || vm_from_conf(conf, &vm, err) < 0) {
		r = EXIT_USAGE;
		goto out;
	}
	if (uses_mapping(vm)) {
		free(where);
		r = api_getf(api, &data, &where, err, "/cluster/mapping/pci");
		if (r < 0) {
			vm_free(vm);
			r = cli_api_status(r);
			goto out;
		}
		r = apiconf_mappings(data, where, &maps, err);
		json_object_put(data);
		if (r < 0) {
			vm_free(vm);
			r = EXIT_USAGE;
			goto out;
		}
	}
	r = plan_ctx_make_from(pc, vm, maps, err);
	if (r < 0)
		r = r == PLAN_CTX_BAD_INPUT ? EXIT_USAGE : EXIT_REFUSED;
	else
		r = EXIT_OK;
out:
	pveapi_free(api);
	return r;
}
