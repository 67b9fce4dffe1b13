// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfiohook plan VMID [--json] — what pre-start would do, changing nothing.
 * Prints design.md's JSON contract with --json.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>

#include "base/ids.h"
#include "base/log.h"
#include "base/util.h"
#include "cli.h"
#include "engine/prepare.h"

int cmd_plan(struct cli *c)
{
	_cleanup_free_ char *err = NULL;
	struct plan_ctx pc;
	unsigned vmid;
	int r;

	if (c->argc != 1 || vmid_parse(c->argv[0], &vmid) < 0) {
		log_err(
		    "usage: vfiohook plan VMID (VMID is a positive number such as 100)");
		return EXIT_USAGE;
	}
	if (streq(c->source, "api")) {
		/* --source api: the same plan from the API's config and mappings */
		r = api_plan_ctx(&pc, vmid, &err);
		if (r != EXIT_OK && err)
			log_err("%s", err);
	} else {
		/* run by hand before a start: show the VM as the start will read
		 * it, with its [PENDING] changes applied */
		r = plan_ctx_make_opts(
		    &pc, vmid, &(struct plan_ctx_opts){.apply_pending = true}, &err);
		if (r < 0) {
			log_err("%s", err);
			if (c->json) {
				/* still one JSON object: a caller parsing stdout learns
				 * why */
				json_object *o =
				    plan_failure_json(vmid, pc.failed_at, err);
				json_print(o);
				json_object_put(o);
			}
			r = r == PLAN_CTX_BAD_INPUT ? EXIT_USAGE : EXIT_REFUSED;
		}
	}
	if (r == EXIT_OK) {
		if (c->json) {
			json_object *o = plan_to_json(&pc);
			json_print(o);
			json_object_put(o);
		} else {
			plan_print_text(stdout, &pc);
		}
		r = pc.plan->ok ? EXIT_OK : EXIT_REFUSED;
	}
	plan_ctx_free(&pc);
	return r;
}
