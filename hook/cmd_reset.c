// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfiohook reset BDF... [--method M] [--slot] [--json] — the reset ladder
 * (pci/reset.h) by hand, for a device that hangs after its VM stopped (the
 * AMD reset bug) or fell off the bus.
 *
 * Nothing is touched while a VM or any process holds one of the devices:
 * its vfio group or iommufd device open, the host using it (a mounted
 * disk, an interface with an address, the console), a running VM's
 * journal, a live Proxmox reservation.  Then every device named is
 * refused (exit 1), each with the process and the VM that hold it.
 *
 * Exit status: 0 when every device was reset and answers; 1 refused or
 * failed; 2 bad usage (not a PCI address, no such device, a bridge).
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "cli.h"
#include "engine/observe.h"
#include "engine/pcistep.h"
#include "pci/inventory.h"
#include "pci/reset.h"
#include "pci/usage.h"
#include "pve/reservation.h"
#include "state/lock.h"

/* One device named on the command line (or a function of its slot). */
struct target {
	char bdf[16];
	char *label;   /* "0000:01:00.0 (vendor device)" */
	char *refused; /* why it may not be reset now, or NULL */
	struct reset_result res;
	struct reset_plan plan; /* --dry-run */
	bool done;		/* res is filled */
};

struct targets {
	struct target *v;
	size_t n;
	struct strv bdfs; /* the same, for the ladder's "ours" */
};

static void targets_add(struct targets *t, const char *bdf)
{
	if (strv_contains(&t->bdfs, bdf))
		return;
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	snprintf(t->v[t->n].bdf, sizeof(t->v[t->n].bdf), "%s", bdf);
	t->v[t->n].res.rung = -1;
	t->n++;
	strv_add(&t->bdfs, bdf);
}

static void targets_clear(struct targets *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].label);
		free(t->v[i].refused);
		reset_result_clear(&t->v[i].res);
		reset_plan_clear(&t->v[i].plan);
	}
	free(t->v);
	strv_clear(&t->bdfs);
	memset(t, 0, sizeof(*t));
}

/*
 * "0000:01:00.0", "01:00.0" (domain 0000, as lspci prints it) or, with
 * --slot, "01:00" -> the canonical, lowercase address; *slot_only when no
 * function was given.  Returns 0 or -EINVAL.
 */
static int parse_address(const char *arg, char out[16], bool *slot_only)
{
	char buf[32];
	unsigned dom, bus, dev, fn;
	size_t colons = 0;

	if (strlen(arg) > 16)
		return -EINVAL;
	for (const char *c = arg; *c; c++)
		colons += *c == ':';
	snprintf(buf, sizeof(buf), "%s%s", colons == 1 ? "0000:" : "", arg);
	*slot_only = !strchr(buf, '.');
	if (*slot_only)
		strcat(buf, ".0");
	if (bdf_parse(buf, &dom, &bus, &dev, &fn) < 0 || dom > 0xffffff)
		return -EINVAL;
	snprintf(out, 16, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
	return 0;
}

/* Every function of bdf's slot present now, in order. */
static void slot_functions(const char *bdf, struct strv *out)
{
	struct strv all = {0};
	size_t prefix = strlen(bdf) - 1; /* "0000:01:00." */

	inventory_list(&all);
	for (size_t i = 0; i < all.n; i++)
		if (strncmp(all.v[i], bdf, prefix) == 0)
			strv_add(out, all.v[i]);
	strv_clear(&all);
}

/* Resolve the arguments; returns EXIT_OK or EXIT_USAGE (said why). */
static int resolve(const struct cli *c, struct targets *t)
{
	for (int i = 0; i < c->argc; i++) {
		char bdf[16];
		bool slot_only;
		struct strv fns = {0};

		if (parse_address(c->argv[i], bdf, &slot_only) < 0) {
			log_err(
			    "'%s' is not a PCI address: write it as lspci -D prints it, e.g. 0000:01:00.0 (or 01:00 with --slot for every function of a card)",
			    c->argv[i]);
			return EXIT_USAGE;
		}
		if (slot_only && !c->slot) {
			log_err(
			    "'%s' names a slot, not a function: add --slot to reset every function of it, or give one (%s)",
			    c->argv[i], bdf);
			return EXIT_USAGE;
		}
		if (c->slot)
			slot_functions(bdf, &fns);
		else if (host_exists("/sys/bus/pci/devices/%s", bdf))
			strv_add(&fns, bdf);
		if (fns.n == 0) {
			log_err(
			    "no PCI device %s (/sys/bus/pci/devices/%s): see 'lspci -D' for the devices there are",
			    bdf, bdf);
			strv_clear(&fns);
			return EXIT_USAGE;
		}
		for (size_t k = 0; k < fns.n; k++) {
			if (host_exists("/sys/bus/pci/devices/%s/pci_bus", fns.v[k])) {
				log_err(
				    "%s is a PCI bridge: vfiohook resets the devices behind a bridge, not the bridge itself; name those",
				    fns.v[k]);
				strv_clear(&fns);
				return EXIT_USAGE;
			}
			targets_add(t, fns.v[k]);
		}
		strv_clear(&fns);
	}
	return EXIT_OK;
}

/* Who holds t now: set t->refused (nothing is reset while one is held). */
static void check_held(struct target *t, struct inventory *inv, struct usage_ctx *u,
		       const struct holders *holders, const struct reservations *res)
{
	_cleanup_(pdev_freep) struct pdev *d = NULL;
	struct usage_list uses = {0};
	struct strv why = {0};
	unsigned vmid = 0, v;
	bool process = false;
	size_t len = 0;
	char *s;

	if (inv && inventory_get(inv, t->bdf, INV_NAMES, &d) == 0) {
		t->label = pci_label(d);
		if (u)
			usage_check(u, d, &uses);
	} else {
		t->label = xstrdup(t->bdf);
	}
	for (size_t i = 0; i < uses.n; i++) {
		strv_add(&why, uses.v[i].what);
		if (uses.v[i].other_vmid && !vmid)
			vmid = uses.v[i].other_vmid;
		process |= uses.v[i].pid > 0;
	}
	usage_list_clear(&uses);
	v = holders_find(holders, t->bdf);
	if (v) {
		strv_push(
		    &why,
		    xasprintf(
			"VM %u holds it (its vfiohook journal: the VM runs or is starting)",
			v));
		vmid = vmid ? vmid : v;
	}
	v = reservation_other_vm(res, t->bdf, 0);
	if (v) {
		strv_push(
		    &why,
		    xasprintf(
			"Proxmox has it reserved for VM %u (/run/qemu-server/pci-id-reservations)",
			v));
		vmid = vmid ? vmid : v;
	}
	if (why.n == 0)
		return;
	for (size_t i = 0; i < why.n; i++)
		len += strlen(why.v[i]) + 2;
	s = xcalloc(1, len + 1);
	for (size_t i = 0; i < why.n; i++) {
		if (i)
			strcat(s, "; ");
		strcat(s, why.v[i]);
	}
	if (vmid)
		t->refused =
		    xasprintf("%s is in use: %s; stop VM %u first ('qm stop %u')", t->bdf,
			      s, vmid, vmid);
	else if (process)
		t->refused =
		    xasprintf("%s is in use: %s; stop that process first", t->bdf, s);
	else
		t->refused = xasprintf(
		    "%s is in use by the host: %s; a reset would pull it from under the host",
		    t->bdf, s);
	free(s);
	strv_clear(&why);
}

/* ---- output --------------------------------------------------------------- */

/* --dry-run: some rung would be tried, or nothing is needed. */
static bool would_work(const struct reset_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].run)
			return true;
	return p->nothing_needed;
}

static json_object *tried_json(enum reset_rung rung, const char *result, const char *why,
			       uint64_t ms)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "method",
			       json_object_new_string(reset_rung_name(rung)));
	json_object_object_add(o, "result", json_object_new_string(result));
	json_object_object_add(o, "why", json_object_new_string(why ? why : ""));
	json_object_object_add(o, "ms", json_object_new_int64((int64_t)ms));
	return o;
}

static json_object *target_json(const struct target *t, bool dry_run)
{
	json_object *o = json_object_new_object(), *tried = json_object_new_array();
	const struct reset_result *r = &t->res;

	json_object_object_add(o, "id", json_object_new_string(t->bdf));
	json_object_object_add(
	    o, "ok",
	    json_object_new_boolean(t->done ? r->ok : dry_run && would_work(&t->plan)));
	json_object_object_add(
	    o, "method",
	    r->rung >= 0 ? json_object_new_string(reset_rung_name(r->rung)) : NULL);
	json_object_object_add(o, "ms", json_object_new_int64((int64_t)r->ms));
	json_object_object_add(o, "message",
			       json_object_new_string(t->refused   ? t->refused
						      : r->message ? r->message
								   : ""));
	if (dry_run)
		for (size_t i = 0; i < t->plan.n; i++)
			json_object_array_add(
			    tried, tried_json(t->plan.v[i].rung,
					      t->plan.v[i].run ? "would try" : "skipped",
					      t->plan.v[i].why, 0));
	else
		for (size_t i = 0; i < r->n_tried; i++)
			json_object_array_add(
			    tried, tried_json(r->tried[i].rung,
					      reset_outcome_name(r->tried[i].outcome),
					      r->tried[i].why, r->tried[i].ms));
	json_object_object_add(o, "tried", tried);
	json_object_object_add(o, "refused", json_object_new_boolean(t->refused != NULL));
	return o;
}

/* One line per rung, "  skipped  acpi, flr: why"; consecutive rungs with
 * the same outcome and reason share a line. */
static void print_rungs(size_t n, const enum reset_rung *rung, const char *const *result,
			const char *const *why, const uint64_t *ms, const bool *timed)
{
	for (size_t i = 0; i < n;) {
		size_t k = i + 1;

		while (k < n && !timed[i] && !timed[k] && streq(result[k], result[i]) &&
		       streq(why[k], why[i]))
			k++;
		printf("  %-9s ", result[i]);
		for (size_t j = i; j < k; j++)
			printf("%s%s", j > i ? ", " : "", reset_rung_name(rung[j]));
		printf(": %s", why[i] ? why[i] : "");
		if (timed[i])
			printf(" (%.1f s)", (double)ms[i] / 1000);
		putchar('\n');
		i = k;
	}
}

static void target_text(const struct target *t, bool dry_run)
{
	const struct reset_result *r = &t->res;
	enum reset_rung rung[RUNG_COUNT];
	const char *result[RUNG_COUNT], *why[RUNG_COUNT];
	uint64_t ms[RUNG_COUNT] = {0};
	bool timed[RUNG_COUNT] = {false};
	size_t n = dry_run ? t->plan.n : r->n_tried;

	for (size_t i = 0; i < n && i < RUNG_COUNT; i++) {
		if (dry_run) {
			rung[i] = t->plan.v[i].rung;
			result[i] = t->plan.v[i].run ? "would try" : "skipped";
			why[i] = t->plan.v[i].why;
		} else {
			rung[i] = r->tried[i].rung;
			result[i] = reset_outcome_name(r->tried[i].outcome);
			why[i] = r->tried[i].why;
			ms[i] = r->tried[i].ms;
			timed[i] = r->tried[i].outcome != RESET_TRY_SKIPPED;
		}
	}
	if (dry_run)
		printf("%s: would try in this order until one works:\n", t->label);
	else if (r->ok)
		printf("%s: %s\n", t->label, r->message);
	else
		printf("%s: NOT reset: %s\n", t->label, r->message ? r->message : "");
	print_rungs(n, rung, result, why, ms, timed);
	if (dry_run && t->plan.advice)
		printf("  note: %s\n", t->plan.advice);
}

static void print_all(const struct cli *c, const struct targets *t)
{
	if (c->json) {
		json_object *root = json_object_new_object(),
			    *a = json_object_new_array();

		for (size_t i = 0; i < t->n; i++)
			json_object_array_add(a, target_json(&t->v[i], c->dry_run));
		json_object_object_add(root, "results", a);
		json_print(root);
		json_object_put(root);
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		if (!t->v[i].refused && (t->v[i].done || c->dry_run))
			target_text(&t->v[i], c->dry_run);
}

/* ---- the command ------------------------------------------------------------ */

int cmd_reset(struct cli *c)
{
	struct targets t = {0};
	struct reservations *res = NULL;
	struct holders *holders = NULL;
	_cleanup_(inventory_closep) struct inventory *inv = NULL;
	_cleanup_(usage_closep) struct usage_ctx *u = NULL;
	_cleanup_free_ char *err = NULL;
	enum reset_mode mode = c->method ? RESET_FORCE : RESET_LADDER;
	int fd = -1, ret = EXIT_OK;
	size_t refused = 0;

	if (c->argc == 0) {
		log_err(
		    "usage: vfiohook reset BDF... [--method METHOD] [--slot] [--json]");
		return EXIT_USAGE;
	}
	if (c->method && reset_rung_parse(c->method) < 0) {
		log_err(
		    "unknown reset method '%s': --method takes one of device_specific, acpi, flr, af_flr, pm, bus, cxl_bus, remove",
		    c->method);
		return EXIT_USAGE;
	}
	ret = resolve(c, &t);
	if (ret != EXIT_OK)
		goto out;
	if (!c->dry_run && lock_global(&fd, &err) < 0) {
		log_err("%s", err);
		ret = EXIT_REFUSED;
		goto out;
	}
	if (inventory_open(&inv, NULL) < 0)
		inv = NULL;
	if (usage_open(&u) < 0) {
		log_err(
		    "cannot read /proc/self/mountinfo: without it no device can be proven unused, so nothing is reset");
		ret = EXIT_REFUSED;
		goto out;
	}
	holders = holders_load(0);
	if (reservation_read(&res, &err) < 0) {
		log_err("%s", err);
		ret = EXIT_REFUSED;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		check_held(&t.v[i], inv, u, holders, res);
		if (t.v[i].refused) {
			log_err("refused: %s", t.v[i].refused);
			refused++;
		}
	}
	if (refused) {
		for (size_t i = 0; i < t.n; i++)
			if (!t.v[i].refused) {
				t.v[i].refused = xasprintf(
				    "%s was not reset: nothing is reset while another device named with it is in use",
				    t.v[i].bdf);
				log_err("%s", t.v[i].refused);
			}
		ret = EXIT_REFUSED;
		goto print;
	}
	for (size_t i = 0; i < t.n; i++) {
		struct target *x = &t.v[i];

		if (c->dry_run) {
			struct reset_facts f;

			reset_facts_read(x->bdf, &t.bdfs, &f);
			reset_decide(&f, mode, c->method, &x->plan);
			reset_facts_clear(&f);
			if (!would_work(&x->plan))
				ret = EXIT_REFUSED;
			continue;
		}
		if (reset_ladder(x->bdf, mode, c->method, &t.bdfs, &x->res) < 0)
			ret = EXIT_REFUSED;
		x->done = true;
	}
print:
	print_all(c, &t);
out:
	if (fd >= 0)
		lock_release(fd);
	holders_free(holders);
	reservation_free(res);
	targets_clear(&t);
	return ret;
}
