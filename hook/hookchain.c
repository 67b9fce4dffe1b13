// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The chained hookscript in hook mode: `vfiohook enable VMID --chain` took
 * the VM's one hookscript slot and recorded the script that was there as
 * policy `chain` (engine/chain.h).  It runs after vfiohook's own work in
 * every phase, with the same arguments and environment.  Its failure
 * matters only where Proxmox's would: in pre-start it aborts the start, and
 * vfiohook first undoes its own pre-start work (Proxmox runs no post-stop
 * for a start that failed); in the other phases it is a warning, which
 * Proxmox shows for a non-zero exit.
 */
#include <stdio.h>

#include "base/log.h"
#include "base/util.h"
#include "cli.h"
#include "engine/chain.h"
#include "engine/policy.h"

int hook_chain(struct cli *c, unsigned vmid, const char *phase, int own,
	       void (*undo)(unsigned vmid))
{
	bool pre_start = streq(phase, "pre-start");
	_cleanup_free_ char *err = NULL, *volid = NULL;
	struct policy pol;
	int r, status = -1;

	/* chain comes only from root's file, never from the notes */
	r = policy_load(vmid, NULL, &pol, &err);
	volid = pol.chain ? xstrdup(pol.chain) : NULL;
	policy_clear(&pol);
	if (r < 0) {
		/* pre-start already refused on the same file; elsewhere a warning */
		log_warn("VM %u: cannot tell whether a hookscript is chained: %s", vmid,
			 err);
		return own;
	}
	if (!volid)
		return own;
	if (pre_start && own != EXIT_OK) {
		log_info(
		    "VM %u: the start is refused; the chained hookscript %s is not run",
		    vmid, volid);
		return own;
	}
	if (c->dry_run) {
		log_info("VM %u: would run the chained hookscript %s %u %s", vmid, volid,
			 vmid, phase);
		return own;
	}
	log_debug("VM %u: running the chained hookscript %s %u %s", vmid, volid, vmid,
		  phase);
	r = chain_run(volid, vmid, phase, &status, &err);
	if (r == 0 && status == 0)
		return own;
	if (r == 0)
		free(err),
		    err = xasprintf("the chained hookscript %s exited with status %d",
				    volid, status);
	if (!pre_start) {
		log_warn("VM %u: %s: %s", vmid, phase, err);
		return own != EXIT_OK ? own : EXIT_REFUSED;
	}
	log_err("VM %u: %s; undoing this pre-start and aborting the start", vmid, err);
	if (undo)
		undo(vmid);
	return EXIT_REFUSED;
}
