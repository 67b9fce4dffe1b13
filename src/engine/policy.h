/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy: what vfiohook may do to a VM's devices (design.md "Policy").
 * Zero configuration gives the safe defaults; overrides come from
 *
 *   1. /etc/vfiohook.conf (under the host root), INI-like:
 *        # comment            ; comment too (also after a value, after a space)
 *        [defaults]           applies to every VM
 *        rebind = restore
 *        [vm 105]             applies to VM 105 only; wins over [defaults]
 *        reset = flr bus
 *      Sections may come in any order and appear more than once; a key given
 *      twice for the same section is an error.  Every section is checked, not
 *      only the VM's own, so a typo shows up on the next run of any VM.
 *   2. the VM's description (notes), lines of the form
 *        vfiohook: key=value key2=value2
 *      (whitespace-separated pairs, so a reset method list is written with
 *      commas: reset=flr,bus); these win over the file and travel with the VM
 *      in the cluster.  Other lines of the description are ignored.
 *
 * Keys (values are case-insensitive):
 *   rebind = auto | restore | host | never   (default auto)
 *   reset  = auto | off | METHOD...      (default auto; METHOD from
 *            device_specific acpi flr af_flr pm bus cxl_bus, space- or
 *            comma-separated, no repeats; stored space-separated as the
 *            kernel's reset_method attribute wants)
 *   steal  = safe | force                (default safe)
 *   log    = normal | verbose            (default normal)
 *   hugepages = auto | off               (default auto: pre-reserve the pages
 *            the VM config asks for, per NUMA node, before Proxmox looks)
 *   hugepages-drop-caches = on | off     (default off; file only)
 *   pin    = off | on | auto             (default off: vCPU threads as Proxmox
 *            leaves them)
 *   isolate = off | on                   (default off; file only)
 *   irq    = off | on                    (default off)
 * "file only": a host-wide change that the VM's notes, which non-root users
 * write, may not ask for; set it in /etc/vfiohook.conf.
 *
 * Parse errors name "/etc/vfiohook.conf:LINE" or "VM 100 description line N",
 * say what is wrong and what is allowed, and return -EINVAL; the program
 * turns them into exit status 2.  On error *p is left unchanged.
 */
#ifndef VFIOHOOK_POLICY_H
#define VFIOHOOK_POLICY_H

#include <stdbool.h>

#define POLICY_CONF_PATH "/etc/vfiohook.conf"

enum policy_rebind {
	POLICY_REBIND_AUTO,    /* restore, but storage controllers (PCI class 01) stay on
				  vfio-pci, so the host never activates the guest's disks */
	POLICY_REBIND_RESTORE, /* give the device back to the driver it had before
				  pre-start */
	POLICY_REBIND_HOST,  /* clear the override and let the kernel probe a host driver
			      */
	POLICY_REBIND_NEVER, /* leave it on vfio-pci (as Proxmox does) */
};

enum policy_reset {
	POLICY_RESET_AUTO,    /* the kernel's own method order (reset_method as it is) */
	POLICY_RESET_OFF,     /* never reset on stop */
	POLICY_RESET_METHODS, /* these methods, in this order (reset_methods) */
};

enum policy_steal {
	POLICY_STEAL_SAFE,  /* refuse devices the host uses */
	POLICY_STEAL_FORCE, /* take them anyway, with a warning */
};

enum policy_hugepages {
	POLICY_HUGEPAGES_AUTO, /* reserve what the VM config asks for, at pre-start */
	POLICY_HUGEPAGES_OFF,  /* leave hugepages to Proxmox */
};

enum policy_pin {
	POLICY_PIN_OFF,	 /* leave QEMU's threads as Proxmox set them (affinity) */
	POLICY_PIN_ON,	 /* vCPU n to the n-th CPU of the VM's affinity list */
	POLICY_PIN_AUTO, /* whole cores local to the devices' NUMA node */
};

enum policy_key {
	POLICY_KEY_REBIND,
	POLICY_KEY_RESET,
	POLICY_KEY_STEAL,
	POLICY_KEY_LOG,
	POLICY_KEY_HUGEPAGES,
	POLICY_KEY_HP_DROP_CACHES,
	POLICY_KEY_PIN,
	POLICY_KEY_ISOLATE,
	POLICY_KEY_IRQ,
	POLICY_KEY_COUNT,
};

struct policy {
	enum policy_rebind rebind;
	enum policy_reset reset;
	char *reset_methods; /* space-separated, when reset == POLICY_RESET_METHODS, else
				NULL */
	enum policy_steal steal;
	bool log_verbose; /* log = verbose: the task log shows every sysfs step */
	enum policy_hugepages hugepages;
	bool hp_drop_caches; /* hugepages-drop-caches = on: drop the page cache
				before a retry that came up short */
	enum policy_pin pin;
	bool isolate; /* isolate = on: host tasks off the VM's CPUs while it runs */
	bool irq;     /* irq = on: the devices' interrupts to the VM's CPUs */
	char *origin[POLICY_KEY_COUNT]; /* per enum policy_key: "/etc/vfiohook.conf:12",
					 * "VM 100 description line 2", or NULL =
					 * built-in default */
};

/* Initialise *p to the defaults (does not free what *p held). */
void policy_defaults(struct policy *p);

/*
 * Parse the text of /etc/vfiohook.conf (pure; fuzzed); path is the name used
 * in messages.  Applies [defaults], then [vm vmid], on top of *p.
 */
int policy_parse_file(const char *text, const char *path, unsigned vmid, struct policy *p,
		      char **err);

/* Parse the "vfiohook: key=value ..." lines of a VM description (pure;
 * fuzzed) and apply them on top of *p. */
int policy_parse_description(const char *desc, unsigned vmid, struct policy *p,
			     char **err);

/*
 * The VM's policy: defaults, then POLICY_CONF_PATH read under the host root
 * (missing = no overrides), then description (NULL = none).  *p is
 * initialised here; free it with policy_clear() also after an error.
 * Returns 0, -EINVAL (bad config, *err), or -errno when the file cannot be
 * read (*err).
 */
int policy_load(unsigned vmid, const char *description, struct policy *p, char **err);

/* Free what *p holds and reset it to the defaults. */
void policy_clear(struct policy *p);

const char *policy_rebind_name(enum policy_rebind r);
const char *policy_reset_name(enum policy_reset r); /* "auto", "off", "methods" */
const char *policy_steal_name(enum policy_steal s);
const char *policy_pin_name(enum policy_pin p);
const char *policy_key_name(enum policy_key k);
/* Where key's value came from: the origin, or "default". */
const char *policy_origin(const struct policy *p, enum policy_key k);
/* The value of key as text ("restore", "flr bus", ...); static or in *p. */
const char *policy_value(const struct policy *p, enum policy_key k);

#endif
