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
 *   rebind = auto | restore | host | never   (default auto: storage controllers,
 *            PCI class 01, stay on vfio-pci, every other device as restore)
 *   reset  = auto | off | METHOD...      (default auto; METHOD from
 *            device_specific acpi flr af_flr pm bus cxl_bus, space- or
 *            comma-separated, no repeats; stored space-separated as the
 *            kernel's reset_method attribute wants)
 *   steal  = safe | force                (default safe)
 *   log    = normal | verbose            (default normal; the task log's detail
 *            in hook mode, where no -v can be passed)
 *   start-timeout = auto | SECONDS       (default auto: Proxmox's
 *            config-aware start timeout + 5 s, pve_start_timeout(); SECONDS
 *            from 1 to 86400): how long after pre-start a VM's start counts
 *            as under way; after it, devices its QEMU never took are given
 *            back and `status` calls the journal stale
 *   hugepages = auto | off               (default auto: pre-reserve the pages
 *            the VM config asks for, per NUMA node, before Proxmox looks)
 *   hugepages-drop-caches = on | off     (default off; file only)
 *   pin    = off | on | auto             (default off: vCPU threads as Proxmox
 *            leaves them)
 *   isolate = off | on                   (default off; file only)
 *   irq    = off | on                    (default off)
 *
 * Trust (design.md "Policy"): the notes are writable by anyone with
 * VM.Config.Options, the file only by root.  Values that weaken host safety
 * or change the whole host are honoured only from the file; from the notes
 * they are an error naming where they may be set:
 *   steal = force   would take devices the host uses
 *   rebind = host   would hand the host a device root parked on vfio-pci
 *                   (a disk controller whose disks the host must not import)
 *   hugepages-drop-caches = on, isolate = on   change the whole host
 * Everything else (rebind = auto|restore|never, reset, log, steal = safe,
 * start-timeout, hugepages, pin, irq) the notes may carry.
 *   chain  = STORAGE:snippets/NAME       (only under [vm N] in the file)
 *            the hookscript the VM had before `vfiohook enable --chain`;
 *            run after vfiohook's own work in every phase.  Never from the
 *            notes: it runs a program as root, and the notes are written by
 *            users who are not root.
 *
 * The file may also hold an [api] section with the settings of the
 * Proxmox API client (pve/pveapi.h): url, token, secret-file, fingerprint,
 * ca.  policy_parse_file checks its key names; policy_api_parse reads it.
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
	POLICY_REBIND_AUTO,    /* storage controllers (class 01) stay on vfio-pci so the
				  host never auto-activates the guest's disks; every
				  other device as RESTORE */
	POLICY_REBIND_RESTORE, /* give the device back to the driver it had before
				  pre-start */
	POLICY_REBIND_HOST,  /* clear the override and let the kernel probe a host driver
			      */
	POLICY_REBIND_NEVER, /* leave it on vfio-pci (as Proxmox does) */
};

enum policy_reset {
	POLICY_RESET_AUTO,    /* the reset ladder, only where it helps (pci/reset.h) */
	POLICY_RESET_OFF,     /* never reset on stop */
	POLICY_RESET_METHODS, /* these methods, in this order (reset_methods) */
};

enum policy_steal {
	POLICY_STEAL_SAFE,  /* refuse devices the host uses */
	POLICY_STEAL_FORCE, /* take them anyway, with a warning */
};

enum policy_log {
	POLICY_LOG_NORMAL,  /* the task log: a line or two per device and a summary */
	POLICY_LOG_VERBOSE, /* every step, as -v gives it */
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
	POLICY_KEY_START_TIMEOUT,
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
	enum policy_log log;
	/* seconds, 0 = auto (pve_start_timeout() of the VM) */
	unsigned start_timeout;
	char start_timeout_text[16]; /* policy_value() of it */
	enum policy_hugepages hugepages;
	bool hp_drop_caches; /* hugepages-drop-caches = on: drop the page cache
				before a retry that came up short */
	enum policy_pin pin;
	bool isolate; /* isolate = on: host tasks off the VM's CPUs while it runs */
	bool irq;     /* irq = on: the devices' interrupts to the VM's CPUs */
	char *origin[POLICY_KEY_COUNT]; /* per enum policy_key: "/etc/vfiohook.conf:12",
					 * "VM 100 description line 2", or NULL =
					 * built-in default */
	char *chain;			/* volume id of the chained hookscript, or NULL */
	char *chain_origin;		/* "/etc/vfiohook.conf:7" when chain is set */
};

/* The [api] section; NULL = not set.  origin[] as in struct policy. */
struct policy_api {
	char *url, *token, *secret_file, *fingerprint, *ca;
	char *where; /* "/etc/vfiohook.conf:[api]" or the file when absent */
	bool any;    /* the section exists */
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

/* The [api] section of the file's text (pure; fuzzed); *a is initialised
 * here, free with policy_api_clear() also after an error. */
int policy_api_parse(const char *text, const char *path, struct policy_api *a,
		     char **err);
/* The same from POLICY_CONF_PATH under the host root (missing = empty). */
int policy_api_load(struct policy_api *a, char **err);
void policy_api_clear(struct policy_api *a);

const char *policy_rebind_name(enum policy_rebind r);
const char *policy_reset_name(enum policy_reset r); /* "auto", "off", "methods" */
const char *policy_steal_name(enum policy_steal s);
const char *policy_log_name(enum policy_log l);
const char *policy_pin_name(enum policy_pin p);
const char *policy_key_name(enum policy_key k);
/* Where key's value came from: the origin, or "default". */
const char *policy_origin(const struct policy *p, enum policy_key k);
/* The value of key as text ("restore", "flr bus", ...); static or in *p. */
const char *policy_value(const struct policy *p, enum policy_key k);

#endif
