/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The program side: global options and the subcommands.  Each command
 * returns an exit status: 0 done (or would be done), 1 refused or failed,
 * 2 bad usage or unreadable input (design.md).
 */
#ifndef VFIOHOOK_CLI_H
#define VFIOHOOK_CLI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "engine/prepare.h"

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
};

struct cli {
	const char *root;
	const char *node;
	bool json;
	bool dry_run;
	const char *method; /* reset --method */
	bool slot;	    /* reset --slot */
	int argc;	    /* arguments after the command word */
	char **argv;
};

json_object *plan_to_json(const struct plan_ctx *pc);
void plan_print_text(FILE *f, const struct plan_ctx *pc);
/* Pretty-print a JSON document on stdout. */
void json_print(json_object *o);

int cmd_plan(struct cli *c);
int cmd_groups(struct cli *c);
int cmd_status(struct cli *c);
int cmd_release(struct cli *c);
int cmd_reset(struct cli *c);

/* Hook mode: one phase for one VM; takes the global lock when it writes. */
int hook_run(struct cli *c, unsigned vmid, const char *phase);

#endif
