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
	/* hook mode: PVE_MIGRATED_FROM, the source node on a live migration's
	 * target (set and empty on a normal start); NULL otherwise */
	const char *migrated_from;
	const char *source;  /* --source file|api (plan, check); NULL = file */
	bool cluster;	     /* --cluster (status, check) */
	const char *storage; /* --storage ID (enable) */
	bool chain;	     /* --chain (enable) */
	const char *method;  /* reset --method */
	bool slot;	     /* reset --slot */
	int argc;	     /* arguments after the command word */
	char **argv;
};

json_object *plan_to_json(const struct plan_ctx *pc);
/* design.md's plan object for a plan that could not be made: ok false, no
 * devices, one problem (id: what could not be used, message: why). */
json_object *plan_failure_json(unsigned vmid, const char *id, const char *message);
void plan_print_text(FILE *f, const struct plan_ctx *pc);
/* Pretty-print a JSON document on stdout. */
void json_print(json_object *o);

int cmd_plan(struct cli *c);
int cmd_groups(struct cli *c);
int cmd_status(struct cli *c);
int cmd_check(struct cli *c);
int cmd_release(struct cli *c);
int cmd_enable(struct cli *c);
int cmd_disable(struct cli *c);

/* status --cluster (cmd_status_cluster.c) */
int status_cluster(struct cli *c);

/* check --cluster: findings about the cluster's nodes (cmd_check_cluster.c).
 * Returns an exit status; findings go to out (an API that cannot be used is
 * a finding too). */
struct findings;
int check_cluster(struct cli *c, struct findings *out);

/*
 * The Proxmox API from the [api] section of /etc/vfiohook.conf (api.c).
 * Return an exit status (0, or 1/2 with the reason logged).
 */
struct pveapi;
int cli_api_open(struct pveapi **out);
/* The same with the reason in *err instead of the log. */
int api_open(struct pveapi **out, char **err);
/* A node or storage name that may go into an API path as it is. */
bool api_name_valid(const char *s);
/* pveapi_get of a printf-formed path; *where (optional) gets the full URL. */
int api_getf(struct pveapi *api, json_object **data, char **where, char **err,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* An API error (pveapi_get's return value) as an exit status. */
int cli_api_status(int r);
/* plan_ctx_make with the VM config and mappings from the API; returns an
 * exit status, *err set (or the reason logged) when not 0. */
int api_plan_ctx(struct plan_ctx *pc, unsigned vmid, char **err);
/* doctor_gather (engine/doctor.h) with the VM configs and mappings from the
 * API: VM vmid, or (0) the VMs of this node with hostpciN.  Returns an exit
 * status, *err set when not 0 (a config Proxmox would refuse is a finding,
 * as from the file). */
struct doctor;
int api_doctor(unsigned vmid, struct doctor **out, char **err);

/*
 * After the VM's own phase work (status own), run its chained hookscript
 * (policy chain, engine/chain.h) and return the hook's exit status.  In
 * pre-start, a chained script that fails makes undo(vmid) run and the
 * start abort.  (hookchain.c)
 */
int hook_chain(struct cli *c, unsigned vmid, const char *phase, int own,
	       void (*undo)(unsigned vmid));
int cmd_reset(struct cli *c);

/* Hook mode: one phase for one VM; takes the global lock when it writes. */
int hook_run(struct cli *c, unsigned vmid, const char *phase);

#endif
