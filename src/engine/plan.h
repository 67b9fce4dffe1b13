/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * observe → plan: the observation is everything a start depends on, read
 * from the host beforehand (observe.c); plan_make() is a pure function from
 * it and the policy to a list of actions with reasons (design.md).  What
 * `vfiohook plan` prints and what pre-start carries out are the same plan.
 */
#ifndef VFIOHOOK_PLAN_H
#define VFIOHOOK_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"
#include "engine/policy.h"
#include "pci/inventory.h"
#include "pci/usage.h"

enum plan_action {
	PLAN_BIND,   /* will move to vfio-pci */
	PLAN_NONE,   /* already where QEMU and Proxmox want it */
	PLAN_KEEP,   /* driver=keep (or the group of such a device): left alone */
	PLAN_SKIP,   /* bridge, mdev parent, template VM */
	PLAN_REFUSE, /* unsafe: reason says why; the start is refused */
};

/* One device the plan looks at, as observed. */
struct obs_dev {
	struct pdev *dev; /* owned; with names (INV_NAMES) when observe_vm read it */
	int hostpci;	  /* N of the hostpciN entry naming it, -1 for a companion */
	int via;	  /* index into obs.devs of the entry device whose group
			   * brings it in: for a companion, and for a keep_lost
			   * entry; else -1 */
	bool keep;	  /* its hostpci entry says driver=keep (and it is kept) */
	bool keep_lost;	  /* its entry says driver=keep, but it shares its IOMMU
			   * group with a bound entry, whose group bind takes it
			   * all the same (proxmox-facts.md): planned like a
			   * companion */
	bool mdev;	  /* its hostpci entry uses a mediated device type */
	struct usage_list usage; /* reasons the host (or, USAGE_VFIO_OPEN, another
				  * VM or process) uses it */
	unsigned reserved_by;	 /* another VM holding a live Proxmox reservation, or 0 */
	unsigned held_by;	 /* another VM whose vfiohook journal holds it, or 0 */
};

/* What kind of problem blocks a start, for the one-line summary of a
 * refusal. */
enum obs_problem_kind {
	OBS_PROBLEM_DEVICE,  /* a device the config names is missing or unreadable */
	OBS_PROBLEM_MAPPING, /* a PCI mapping is missing, invalid or has no free device */
	OBS_PROBLEM_CONFIG,  /* the config itself: a device named twice, pcie=1
			      * without q35, mdev or legacy-igd rules */
};

struct obs_problem {
	enum obs_problem_kind kind; /* from code: obs_problem_kind_of() */
	char *id;		    /* device id or "hostpciN" or config path */
	char *code;    /* stable machine code, e.g. "pcie-needs-q35": see below */
	char *message; /* never starts with "<id>: ": printers put the id first */
};

/*
 * Problem codes (stable: `check` turns them into findings):
 *   device-unreadable   a device's sysfs entry cannot be read
 *   device-missing      no PCI device found for a hostpci id or mapping path
 *   mapping-not-found   no such mapping, or no entry for this node
 *   mapping-invalid     a map entry of this node fails assert_valid
 *   no-free-device      every alternative of a mapping is taken
 *   device-twice        a device named by two hostpci entries
 *   pcie-needs-q35      pcie=1 on a machine that is not q35
 *   mdev-multifunction  mdev on an entry with several functions
 *   legacy-igd-rules    a legacy-igd rule of qemu-server is broken
 *   hugepages           Proxmox would refuse the VM's hugepages (numa off,
 *                       a size the host lacks, memory not a multiple)
 */

struct observation {
	unsigned vmid;
	char *node;
	bool is_template;
	long running_pid; /* the VM's QEMU runs with this pid (Proxmox's pid
			   * file), else 0: its devices are in use by it */
	struct obs_dev *devs;
	size_t n_devs;
	struct obs_problem *problems; /* found while observing: missing devices,
				       * mappings that do not match, no IOMMU */
	size_t n_problems;
	struct strv warnings; /* "file:line: ..." Proxmox would warn about too */
};

/* Why a device is refused, for the one-line summary of a refusal. */
enum plan_why {
	PLAN_WHY_NONE,
	PLAN_WHY_NO_IOMMU,	 /* no IOMMU group: the IOMMU is off */
	PLAN_WHY_OTHER_VM,	 /* another VM or process has it (open, reserved, held) */
	PLAN_WHY_CRITICAL,	 /* the host cannot run without it: never taken */
	PLAN_WHY_DRIVER_CLIENTS, /* programs use it through its host driver (nvidia) */
	PLAN_WHY_HOST_USE,	 /* the host uses it; steal = force could take it */
};

struct plan_dev {
	const struct obs_dev *obs; /* points into the observation */
	enum plan_action action;
	enum plan_why why; /* for PLAN_REFUSE */
	char *reason;	   /* never starts with the device's id or hostpciN */
};

struct plan {
	unsigned vmid;
	bool ok;
	struct plan_dev *devs; /* same order as observation devs */
	size_t n_devs;
	struct obs_problem
	    *problems; /* copies of the observation's plus the plan's own */
	size_t n_problems;
	size_t n_forced; /* host-needed devices taken because steal=force */
};

/* Pure: no I/O, no logging. */
int plan_make(const struct observation *obs, const struct policy *pol, struct plan **out);
void plan_free(struct plan *p);
const char *plan_action_name(enum plan_action a);

/* Add a problem with its code (see above); a leading "<id>: " of the message
 * is dropped (the id is printed before it). */
void observation_add_problem(struct observation *obs, const char *code, const char *id,
			     const char *fmt, ...) _printf_(4, 5);
/* The class of a problem code, for the summary of a refusal. */
enum obs_problem_kind obs_problem_kind_of(const char *code);
void observation_free(struct observation *obs);

#endif
