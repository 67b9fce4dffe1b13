// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Printing a plan: design.md's JSON contract and the text that `plan` and
 * pre-start show.
 */
#include <json-c/json.h>
#include <stdio.h>

#include "base/host.h"
#include "cli.h"
#include "engine/prepare.h"

static json_object *jstr_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static const char *page_name(unsigned size_mib)
{
	return size_mib == 1024 ? "1 GiB" : "2 MiB";
}

/* "hugepages": null when the VM asks for none, else its pools. */
static json_object *hugepages_json(const struct res_plan *rp)
{
	json_object *o, *pools;

	if (!rp->hp_asked)
		return NULL;
	o = json_object_new_object();
	pools = json_object_new_array();
	json_object_object_add(o, "size", json_object_new_string(rp->hp_size));
	json_object_object_add(o, "keep", json_object_new_boolean(rp->hp_keep));
	json_object_object_add(o, "reserve", json_object_new_boolean(rp->hp_reserve));
	json_object_object_add(o, "error", jstr_or_null(rp->hp_error));
	for (size_t i = 0; i < rp->n_pools; i++) {
		const struct hp_pool_plan *pp = &rp->pools[i];
		json_object *x = json_object_new_object();

		json_object_object_add(x, "node", json_object_new_int((int)pp->node));
		json_object_object_add(x, "size_kb",
				       json_object_new_int64((int64_t)pp->kb));
		json_object_object_add(x, "pages", json_object_new_int64(pp->pages));
		json_object_object_add(x, "nr", json_object_new_int64(pp->now.nr));
		json_object_object_add(x, "free", json_object_new_int64(pp->now.free));
		json_object_object_add(x, "promised",
				       json_object_new_int64(pp->promised));
		json_object_object_add(x, "add", json_object_new_int64(pp->add));
		json_object_array_add(pools, x);
	}
	json_object_object_add(o, "pools", pools);
	return o;
}

/* "cpus": null when pin, isolate and irq are off, else the CPU map. */
static json_object *cpus_json(const struct res_plan *rp)
{
	json_object *o, *map;
	char *list;

	if (rp->pin == POLICY_PIN_OFF && !rp->isolate && !rp->irq)
		return NULL;
	o = json_object_new_object();
	map = json_object_new_array();
	json_object_object_add(o, "pin",
			       json_object_new_string(policy_pin_name(rp->pin)));
	json_object_object_add(o, "vcpus", json_object_new_int((int)rp->map.vcpus));
	for (unsigned i = 0; rp->map.ok && i < rp->map.vcpus; i++) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "vcpu", json_object_new_int((int)i));
		json_object_object_add(x, "cpu", json_object_new_int(rp->map.cpu_of[i]));
		json_object_array_add(map, x);
	}
	json_object_object_add(o, "map", map);
	list = cpuset_format(&rp->map.others);
	json_object_object_add(o, "others",
			       rp->map.ok ? json_object_new_string(list) : NULL);
	free(list);
	list = cpuset_format(&rp->vm_cpus);
	json_object_object_add(o, "cpus", json_object_new_string(list));
	free(list);
	json_object_object_add(o, "isolate", json_object_new_boolean(rp->isolate));
	json_object_object_add(o, "irq", json_object_new_boolean(rp->irq));
	json_object_object_add(o, "problem", jstr_or_null(rp->cpu_problem));
	return o;
}

json_object *plan_to_json(const struct plan_ctx *pc)
{
	const struct plan *p = pc->plan;
	const struct observation *obs = pc->obs;
	json_object *root = json_object_new_object();
	json_object *devs = json_object_new_array();
	json_object *probs = json_object_new_array();
	json_object *pol = json_object_new_object();
	json_object *warns = json_object_new_array();
	const struct strv *wl[] = {&pc->vm->conf->warnings, &obs->warnings,
				   &pc->res.warnings};

	json_object_object_add(root, "vmid", json_object_new_int64(p->vmid));
	json_object_object_add(root, "node", json_object_new_string(obs->node));
	json_object_object_add(root, "ok", json_object_new_boolean(p->ok));
	/* where the config was read, when it is not this node's file: a
	 * migration target reads the source node's */
	if (pc->opts.migrated_from && *pc->opts.migrated_from)
		json_object_object_add(root, "config",
				       json_object_new_string(pc->vm->conf->path));
	json_object_object_add(root, "pending_applied",
			       json_object_new_boolean(pc->vm->conf->pending_applied));
	json_object_object_add(root, "running",
			       json_object_new_boolean(obs->running_pid > 0));
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct plan_dev *pd = &p->devs[i];
		const struct pdev *d = pd->obs->dev;
		json_object *o = json_object_new_object();
		_cleanup_free_ char *label = pdev_name(d);
		char name[24];

		json_object_object_add(o, "id", json_object_new_string(d->bdf));
		json_object_object_add(o, "name", json_object_new_string(label));
		if (pd->obs->hostpci >= 0) {
			snprintf(name, sizeof(name), "hostpci%d", pd->obs->hostpci);
			json_object_object_add(o, "hostpci",
					       json_object_new_string(name));
		} else {
			json_object_object_add(o, "hostpci", NULL);
		}
		json_object_object_add(
		    o, "group", d->group >= 0 ? json_object_new_int(d->group) : NULL);
		json_object_object_add(o, "driver", jstr_or_null(d->driver));
		json_object_object_add(
		    o, "action", json_object_new_string(plan_action_name(pd->action)));
		json_object_object_add(o, "reason", json_object_new_string(pd->reason));
		if (pd->obs->usage.n) {
			json_object *uses = json_object_new_array();

			for (size_t k = 0; k < pd->obs->usage.n; k++) {
				const struct usage_reason *u = &pd->obs->usage.v[k];
				json_object *x = json_object_new_object();

				json_object_object_add(
				    x, "kind",
				    json_object_new_string(usage_kind_name(u->kind)));
				json_object_object_add(x, "what",
						       json_object_new_string(u->what));
				if (u->critical)
					json_object_object_add(
					    x, "critical", json_object_new_boolean(true));
				json_object_array_add(uses, x);
			}
			json_object_object_add(o, "uses", uses);
		}
		json_object_array_add(devs, o);
	}
	for (size_t i = 0; i < p->n_problems; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id",
				       json_object_new_string(p->problems[i].id));
		json_object_object_add(o, "code",
				       json_object_new_string(p->problems[i].code));
		json_object_object_add(o, "message",
				       json_object_new_string(p->problems[i].message));
		json_object_array_add(probs, o);
	}
	json_object_object_add(root, "devices", devs);
	json_object_object_add(root, "problems", probs);
	json_object_object_add(root, "warnings", warns);
	for (size_t w = 0; w < ARRAY_SIZE(wl); w++)
		for (size_t i = 0; i < wl[w]->n; i++)
			json_object_array_add(warns, json_object_new_string(wl[w]->v[i]));
	for (int k = 0; k < POLICY_KEY_COUNT; k++)
		json_object_object_add(pol, policy_key_name(k),
				       json_object_new_string(policy_value(&pc->pol, k)));
	json_object_object_add(root, "policy", pol);
	json_object_object_add(root, "hugepages", hugepages_json(&pc->res));
	json_object_object_add(root, "cpus", cpus_json(&pc->res));
	return root;
}

static void print_resources(FILE *f, const struct res_plan *rp)
{
	if (rp->hp_asked) {
		fprintf(f, "Hugepages (hugepages: %s%s)%s:", rp->hp_size,
			rp->hp_keep ? ", keephugepages: 1" : "",
			rp->hp_reserve ? "" : ", left to Proxmox (hugepages = off)");
		if (rp->hp_error && rp->hp_reserve)
			fprintf(f, " Proxmox would refuse this start (see Problems)");
		else if (rp->hp_error)
			fprintf(f, " Proxmox would refuse this start: %s", rp->hp_error);
		for (size_t i = 0, k = 0; i < rp->n_pools; i++) {
			const struct hp_pool_plan *pp = &rp->pools[i];

			if (pp->pages <= 0)
				continue;
			fprintf(f, "%s node %u: %lld x %s (pool %ld, %ld free%s",
				k++ ? ";" : "", pp->node, pp->pages,
				page_name(pp->size_mib), pp->now.nr, pp->now.free,
				pp->promised ? ", some promised to other VMs" : "");
			if (rp->hp_reserve)
				fprintf(f, "; add %lld)", pp->add);
			else
				fputc(')', f);
		}
		fputc('\n', f);
	}
	if (rp->pin != POLICY_PIN_OFF || rp->isolate || rp->irq) {
		_cleanup_free_ char *cpus = cpuset_format(&rp->vm_cpus);

		fprintf(f, "CPUs (pin = %s, %u vCPUs):", policy_pin_name(rp->pin),
			rp->map.vcpus);
		if (rp->cpu_problem) {
			fprintf(f, " NOT done at post-start: %s\n", rp->cpu_problem);
		} else {
			if (rp->map.ok) {
				_cleanup_free_ char *o = cpuset_format(&rp->map.others);

				for (unsigned i = 0; i < rp->map.vcpus; i++)
					fprintf(f, "%s vCPU %u -> CPU %d", i ? "," : "",
						i, rp->map.cpu_of[i]);
				fprintf(f, "; other threads -> %s", o);
			}
			if (rp->isolate)
				fprintf(f, "%s host tasks off %s", rp->map.ok ? ";" : "",
					cpus);
			if (rp->irq)
				fprintf(f, "%s interrupts to %s",
					rp->map.ok || rp->isolate ? ";" : "", cpus);
			fputc('\n', f);
		}
	}
	for (size_t i = 0; i < rp->warnings.n; i++)
		fprintf(f, "Warning: %s\n", rp->warnings.v[i]);
}

json_object *plan_failure_json(unsigned vmid, const char *id, const char *message)
{
	json_object *root = json_object_new_object();
	json_object *probs = json_object_new_array();
	json_object *o = json_object_new_object();

	json_object_object_add(root, "vmid", json_object_new_int64(vmid));
	json_object_object_add(root, "node", json_object_new_string(host_node()));
	json_object_object_add(root, "ok", json_object_new_boolean(false));
	json_object_object_add(root, "devices", json_object_new_array());
	json_object_object_add(o, "id", json_object_new_string(id ? id : "input"));
	json_object_object_add(
	    o, "message", json_object_new_string(message ? message : "unknown error"));
	json_object_array_add(probs, o);
	json_object_object_add(root, "problems", probs);
	return root;
}

/*
 * Two lines a device:
 *   hostpci0  0000:01:00.0 NVIDIA TU106 [GeForce RTX 2060] (nvidia, IOMMU group 13)
 *             bind: nvidia -> vfio-pci
 */
void plan_print_text(FILE *f, const struct plan_ctx *pc)
{
	const struct plan *p = pc->plan;
	const struct observation *obs = pc->obs;
	const struct vmconf *conf = pc->vm->conf;

	fprintf(f, "VM %u on node %s: %s\n", p->vmid, obs->node,
		p->ok ? "the start can go ahead." : "the start would be REFUSED.");
	if (obs->running_pid)
		fprintf(
		    f,
		    "  VM %u is running (QEMU pid %ld): its devices are in use by it; this is what a start would do once it has stopped.\n",
		    p->vmid, obs->running_pid);
	if (pc->opts.migrated_from && *pc->opts.migrated_from)
		fprintf(f, "  migration from %s: the config is read there, %s\n",
			pc->opts.migrated_from, conf->path);
	if (conf->pending_applied) {
		fprintf(f, "  [PENDING] applied, as the start will apply it first:");
		for (size_t i = 0; i < conf->pending_changes.n; i++) {
			const char *c = conf->pending_changes.v[i];

			fprintf(f, "%s %s%s", i ? "," : "", c[0] == '-' ? "delete " : "",
				c[0] == '-' ? c + 1 : c);
		}
		fputc('\n', f);
	} else if (conf->has_pending && pc->opts.apply_pending) {
		fprintf(
		    f,
		    "  [PENDING] not applied: the VM resumes from its suspended state (%s), as Proxmox resumes it\n",
		    vmconf_get(conf, "vmstate") ? "vmstate" : "lock: suspended");
	}
	if (p->n_devs == 0 && p->n_problems == 0)
		fprintf(f, "  no hostpci devices: nothing to do.\n");
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct plan_dev *pd = &p->devs[i];
		const struct pdev *d = pd->obs->dev;
		_cleanup_free_ char *name = pdev_name(d);
		char entry[24] = "companion", group[32] = "no IOMMU group";

		if (pd->obs->hostpci >= 0)
			snprintf(entry, sizeof(entry), "hostpci%d", pd->obs->hostpci);
		if (d->group >= 0)
			snprintf(group, sizeof(group), "IOMMU group %d", d->group);
		fprintf(f, "  %-9s %s %s (%s, %s)\n", entry, d->bdf, name,
			d->driver ? d->driver : "no driver", group);
		fprintf(f, "  %-9s %s: %s\n", "", plan_action_name(pd->action),
			pd->reason);
	}
	fprintf(f, "Policy:");
	for (int k = 0; k < POLICY_KEY_COUNT; k++)
		fprintf(f, "%s %s = %s (%s)", k ? "," : "", policy_key_name(k),
			policy_value(&pc->pol, k), policy_origin(&pc->pol, k));
	fputc('\n', f);
	print_resources(f, &pc->res);
	if (p->n_problems) {
		fprintf(f, "Problems:\n");
		for (size_t i = 0; i < p->n_problems; i++)
			fprintf(f, "  %s: %s\n", p->problems[i].id,
				p->problems[i].message);
	}
}

void json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
}
