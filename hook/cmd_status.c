// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfiohook status — devices on vfio-pci, which VM holds each (our journal,
 * Proxmox's reservation, or a process with the vfio group open), and the
 * journals in /run/vfiohook.  Read-only.
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "cli.h"
#include "engine/observe.h"
#include "pci/inventory.h"
#include "pci/usage.h"
#include "pve/reservation.h"
#include "pve/runstate.h"
#include "state/journal.h"

static int list_vfio_bound(struct strv *out)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (host_path(path, sizeof(path), "/sys/bus/pci/drivers/vfio-pci") < 0)
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		unsigned a, b, c2, f;

		/* the driver's directory also has bind, unbind, new_id, module... */
		if (bdf_parse(e->d_name, &a, &b, &c2, &f) == 0)
			strv_add(out, e->d_name);
	}
	closedir(d);
	strv_sort(out);
	return 0;
}

/*
 * The start timeout of VM vmid: policy start-timeout, else Proxmox's
 * config-aware timeout + 5 s (pve_start_timeout), from its config as the
 * start read it; a VM whose config cannot be read gets the node-wide policy
 * or PVE_START_TIMEOUT_UNKNOWN.
 */
static unsigned start_timeout(unsigned vmid)
{
	struct vm *vm = NULL;
	struct policy pol;
	_cleanup_free_ char *err = NULL;
	unsigned t;

	if (vm_load(vmid, &vm, &err) < 0) {
		log_debug("%s", err ? err : "no VM config");
		free(err);
		err = NULL;
	}
	if (policy_load(vmid, vm ? vm->conf->description : NULL, &pol, &err) < 0) {
		log_warn("%s; using the default start timeout", err);
		policy_clear(&pol);
	}
	t = pol.start_timeout ? pol.start_timeout
	    : vm	      ? pve_start_timeout(vm)
			      : PVE_START_TIMEOUT_UNKNOWN;
	policy_clear(&pol);
	vm_free(vm);
	return t;
}

static unsigned journal_owner(const char *bdf, struct journal **js, size_t nj)
{
	for (size_t i = 0; i < nj; i++) {
		struct jdev *jd = js[i] ? journal_dev(js[i], bdf) : NULL;

		if (jdev_holds(jd))
			return js[i]->vmid;
	}
	return 0;
}

int cmd_status(struct cli *c)
{
	struct strv bound = {0};
	struct reservations *res = NULL;
	struct usage_ctx *u = NULL;
	struct journal **js = NULL;
	unsigned *vmids = NULL;
	size_t nj = 0;
	json_object *root = NULL, *jdevs = NULL, *jjs = NULL;
	_cleanup_free_ char *err = NULL;
	int r;

	if (c->cluster)
		return status_cluster(c); /* every node, through the API */
	if (c->argc != 0) {
		log_err("usage: vfiohook status (no arguments)");
		return EXIT_USAGE;
	}
	r = list_vfio_bound(&bound);
	if (r < 0) {
		log_err("cannot read /sys/bus/pci/drivers/vfio-pci: %s", strerror(-r));
		return EXIT_REFUSED;
	}
	if (reservation_read(&res, &err) < 0)
		log_warn("%s", err);
	journal_list(&vmids, &nj);
	js = xcalloc(nj, sizeof(*js));
	for (size_t i = 0; i < nj; i++) {
		_cleanup_free_ char *e = NULL;

		if (journal_load(vmids[i], &js[i], &e) < 0)
			log_warn("%s", e ? e : "unreadable journal");
	}
	usage_open(&u);

	if (c->json) {
		root = json_object_new_object();
		jdevs = json_object_new_array();
		jjs = json_object_new_array();
	} else {
		printf("Devices on vfio-pci:%s\n", bound.n ? "" : " none");
	}
	for (size_t i = 0; i < bound.n; i++) {
		const char *bdf = bound.v[i];
		_cleanup_free_ char *g = NULL;
		struct usage_list open = {0};
		unsigned vm = journal_owner(bdf, js, nj), rvm;
		const char *how = vm ? "journal" : NULL;
		int group = -1;

		if (host_readlink_base(&g, "/sys/bus/pci/devices/%s/iommu_group", bdf) ==
		    0)
			group = atoi(g);
		if (!vm && (rvm = reservation_other_vm(res, bdf, 0))) {
			vm = rvm;
			how = "reservation";
		}
		if (group >= 0 && u)
			usage_check_vfio_group(u, group, &open);
		for (size_t k = 0; k < open.n && !vm; k++)
			if (open.v[k].other_vmid) {
				vm = open.v[k].other_vmid;
				how = "open";
			}
		if (c->json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_string(bdf));
			json_object_object_add(
			    o, "group", group >= 0 ? json_object_new_int(group) : NULL);
			json_object_object_add(o, "vmid",
					       vm ? json_object_new_int64(vm) : NULL);
			json_object_object_add(o, "held_by",
					       how ? json_object_new_string(how) : NULL);
			json_object_object_add(o, "in_use",
					       json_object_new_boolean(open.n > 0));
			json_object_array_add(jdevs, o);
		} else {
			printf("  %s  group %-4d ", bdf, group);
			if (vm)
				printf("VM %u (%s%s)\n", vm,
				       streq(how, "journal")	   ? "vfiohook journal"
				       : streq(how, "reservation") ? "Proxmox reservation"
								   : "vfio group open",
				       open.n ? ", in use" : "");
			else
				printf("no VM%s\n", open.n ? " (vfio group open)" : "");
		}
		usage_list_clear(&open);
	}
	if (!c->json)
		printf("Journals in /run/vfiohook:%s\n", nj ? "" : " none");
	for (size_t i = 0; i < nj; i++) {
		struct journal *j = js[i];
		bool running, stale = false;
		unsigned timeout = 0;
		long long age = 0;
		long starting = 0;

		if (!j)
			continue;
		running = observe_vm_running(j->vmid);
		/* Proxmox runs no post-stop when a start fails after pre-start:
		 * a pre-start journal whose QEMU never came within the start
		 * timeout is left over; one whose QEMU is still starting is not */
		if (streq(j->phase, "pre-start") && !running) {
			timeout = start_timeout(j->vmid);
			age = (long long)time(NULL) - j->started;
			starting = pve_vm_starting_pid(j->vmid);
			stale = j->started > 0 && age >= (long long)timeout && !starting;
		}
		if (c->json) {
			json_object *o = json_object_new_object(),
				    *d = json_object_new_array();
			json_object_object_add(o, "vmid", json_object_new_int64(j->vmid));
			json_object_object_add(
			    o, "phase", json_object_new_string(j->phase ? j->phase : ""));
			json_object_object_add(o, "complete",
					       json_object_new_boolean(j->complete));
			json_object_object_add(o, "running",
					       json_object_new_boolean(running));
			json_object_object_add(o, "started",
					       json_object_new_int64(j->started));
			json_object_object_add(o, "start_timeout",
					       timeout ? json_object_new_int64(timeout)
						       : NULL);
			json_object_object_add(o, "stale",
					       json_object_new_boolean(stale));
			if (stale || (!j->complete && !running && !starting)) {
				char fix[64];

				snprintf(fix, sizeof(fix), "vfiohook release %u",
					 j->vmid);
				json_object_object_add(o, "fix",
						       json_object_new_string(fix));
			} else {
				json_object_object_add(o, "fix", NULL);
			}
			for (size_t k = 0; k < j->n_devs; k++) {
				json_object *x = json_object_new_object();
				struct jdev *jd = &j->devs[k];
				json_object_object_add(x, "id",
						       json_object_new_string(jd->bdf));
				json_object_object_add(
				    x, "state",
				    json_object_new_string(jdev_state_name(jd->state)));
				json_object_object_add(
				    x, "orig_driver",
				    jd->orig_driver
					? json_object_new_string(jd->orig_driver)
					: NULL);
				json_object_array_add(d, x);
			}
			json_object_object_add(o, "devices", d);
			/* the other kinds (hugepages, cpus, isolate): subject and state
			 */
			d = json_object_new_object();
			for (size_t k = 0; k < j->n_sections; k++) {
				const struct jsection *sec = &j->sections[k];
				json_object *a = json_object_new_array();

				for (size_t e = 0; e < sec->n; e++) {
					json_object *x = json_object_new_object();

					json_object_object_add(
					    x, "subject",
					    json_object_new_string(sec->v[e].subject));
					json_object_object_add(
					    x, "state",
					    json_object_new_string(
						jstep_state_name(sec->v[e].state)));
					json_object_array_add(a, x);
				}
				json_object_object_add(d, sec->kind, a);
			}
			json_object_object_add(o, "sections", d);
			json_object_array_add(jjs, o);
		} else {
			printf("  VM %u: %s %s%s", j->vmid, j->phase ? j->phase : "?",
			       j->complete ? "complete" : "INTERRUPTED",
			       running ? ", VM running" : "");
			if (starting)
				printf(", its QEMU (pid %ld) is starting", starting);
			if (stale)
				printf(
				    ", STALE: the VM is not running %lld s after its pre-start (start timeout %u s): its start failed or never came, and Proxmox runs no post-stop then",
				    age, timeout);
			putchar('\n');
			for (size_t k = 0; k < j->n_devs; k++)
				printf("    %s  %-10s was on %s\n", j->devs[k].bdf,
				       jdev_state_name(j->devs[k].state),
				       j->devs[k].orig_driver ? j->devs[k].orig_driver
							      : "no driver");
			for (size_t k = 0; k < j->n_sections; k++)
				for (size_t e = 0; e < j->sections[k].n; e++)
					printf(
					    "    %-9s %-14s %s\n", j->sections[k].kind,
					    j->sections[k].v[e].subject,
					    jstep_state_name(j->sections[k].v[e].state));
			if (stale)
				printf(
				    "    -> run 'vfiohook release %u' to give its devices back\n",
				    j->vmid);
			else if (!j->complete && !running && !starting)
				printf("    -> run 'vfiohook release %u' to finish\n",
				       j->vmid);
		}
	}
	if (c->json) {
		json_object_object_add(root, "devices", jdevs);
		json_object_object_add(root, "journals", jjs);
		json_print(root);
		json_object_put(root);
	}
	for (size_t i = 0; i < nj; i++)
		journal_free(js[i]);
	free(js);
	free(vmids);
	usage_close(u);
	reservation_free(res);
	strv_clear(&bound);
	return EXIT_OK;
}
