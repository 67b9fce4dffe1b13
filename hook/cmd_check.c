// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfiohook check [VMID] [--json] — the read-only doctor: host findings, and
 * those of VM VMID or of every VM with hostpci entries, errors first; with
 * --source api their configs and the mappings come from the API.  With
 * --cluster: the hookscript on every node each VM using vfiohook may run on
 * (through the API, cmd_check_cluster.c).  Exit 1 when any finding is an
 * error, 2 for bad usage, an unknown VM or an API that cannot be used, else 0.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>

#include "base/ids.h"
#include "base/log.h"
#include "cli.h"
#include "engine/doctor.h"
#include "engine/findings.h"

static void print_text(FILE *f, const struct findings *fs)
{
	size_t counts[3] = {0};

	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *x = &fs->v[i];

		counts[x->severity]++;
		fprintf(f, "%s: %s\n  %s\n", finding_severity_name(x->severity), x->id,
			x->message);
		if (*x->fix)
			fprintf(f, "  fix: %s\n", x->fix);
		fputc('\n', f);
	}
	fprintf(f, "%zu error%s, %zu warning%s, %zu info\n", counts[FINDING_ERROR],
		counts[FINDING_ERROR] == 1 ? "" : "s", counts[FINDING_WARNING],
		counts[FINDING_WARNING] == 1 ? "" : "s", counts[FINDING_INFO]);
}

static json_object *to_json(const struct findings *fs)
{
	json_object *root = json_object_new_object();
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *x = &fs->v[i];
		json_object *o = json_object_new_object();

		json_object_object_add(
		    o, "severity",
		    json_object_new_string(finding_severity_name(x->severity)));
		json_object_object_add(o, "id", json_object_new_string(x->id));
		json_object_object_add(o, "message", json_object_new_string(x->message));
		json_object_object_add(o, "fix", json_object_new_string(x->fix));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "findings", arr);
	return root;
}

/* Errors first, then warnings, then information; in the doctor's order
 * (host, then each VM) within each. */
static void sort_by_severity(struct findings *fs)
{
	for (size_t i = 1; i < fs->n; i++) {
		struct finding x = fs->v[i];
		size_t j = i;

		for (; j > 0 && fs->v[j - 1].severity < x.severity; j--)
			fs->v[j] = fs->v[j - 1];
		fs->v[j] = x;
	}
}

int cmd_check(struct cli *c)
{
	_cleanup_free_ char *err = NULL;
	struct findings fs = {0};
	struct doctor *d = NULL;
	unsigned vmid = 0;
	int r;

	if (c->argc > 1 || (c->argc == 1 && vmid_parse(c->argv[0], &vmid) < 0) ||
	    (c->cluster && (c->argc || c->source))) {
		log_err(
		    "usage: vfiohook check [VMID] [--source file|api] (VMID is a positive number such as 100; without it, the host and every VM with hostpci entries), or vfiohook check --cluster");
		return EXIT_USAGE;
	}
	if (c->cluster) {
		/* the nodes every VM using vfiohook may run on (the API) */
		check_cluster(c, &fs);
	} else if (streq(c->source, "api")) {
		/* the VM configs and mappings from the API, the host from here;
		 * an API that cannot be used ends the run as an unknown VM does */
		r = api_doctor(vmid, &d, &err);
		if (r != EXIT_OK) {
			log_err("%s", err);
			return EXIT_USAGE;
		}
		doctor_judge(d, &fs);
	} else {
		r = doctor_gather(vmid, &d, &err);
		if (r < 0) {
			log_err("%s", err ? err : strerror(-r));
			return EXIT_USAGE;
		}
		doctor_judge(d, &fs);
	}
	sort_by_severity(&fs);
	if (c->json) {
		json_object *o = to_json(&fs);

		json_print(o);
		json_object_put(o);
	} else {
		print_text(stdout, &fs);
	}
	r = findings_count(&fs, FINDING_ERROR) ? EXIT_REFUSED : EXIT_OK;
	findings_clear(&fs);
	doctor_free(d);
	return r;
}
