/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reset ladder (kernel-facts.md "Reset", "The AMD reset bug"): one
 * ordered list of ways to reset a PCI function, shared by `vfiohook reset`
 * (by hand) and post-stop (only where it helps).  Rungs, in order:
 *
 *   device_specific  vendor-reset's reset for the AMD GPUs it knows
 *                    (vendorreset.h), loaded with libkmod first, through
 *                    /dev/vendor_reset's ioctl or, on kernels >= 5.15,
 *                    reset_method = device_specific; or a kernel quirk the
 *                    device lists as device_specific
 *   acpi flr af_flr pm   the kernel's function resets the device lists
 *   bus              a secondary bus reset: the bridge's reset_subordinate
 *                    where the kernel has it, else reset_method = bus; only
 *                    when every device behind the bridge is ours (it resets
 *                    them all)
 *   (cxl_bus         the kernel's CXL bus reset, as bus; only when named)
 *   remove           remove + rescan: the device is re-enumerated, woken
 *                    first (power/control = on, d3cold_allowed = 0), and
 *                    moved back to its driver if a host driver took it on
 *                    the way; only for a device that no longer answers or
 *                    is stuck in D3cold (it resets nothing inside a
 *                    healthy device)
 *
 * The work is split so each part can be tested alone:
 *   reset_facts_read()  reads what the decision needs (sysfs, module state)
 *   reset_decide()      pure: which rungs run, in which order, and why each
 *                       other one is skipped
 *   reset_run()         runs the rungs until one works, verifies after each
 *                       (present, config space answers, D0, driver as
 *                       before), puts the reset_method and power/control back
 *
 * The kernel writes go through struct reset_kernel, which tests replace.
 * Functions return 0 or -errno; nothing here logs above info level.
 */
#ifndef VFIOHOOK_RESET_H
#define VFIOHOOK_RESET_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"

enum reset_rung {
	RUNG_DEVICE_SPECIFIC,
	RUNG_ACPI,
	RUNG_FLR,
	RUNG_AF_FLR,
	RUNG_PM,
	RUNG_BUS,
	RUNG_REMOVE,
	RUNG_DEFAULT, /* kernels without reset_method (< 5.15): the kernel's own order */
	RUNG_CXL_BUS, /* the kernel's cxl_bus: only when the policy or --method names it
		       */
	RUNG_COUNT,
};

/* "device_specific", "flr", "bus", "remove", "default", ... */
const char *reset_rung_name(enum reset_rung r);
/* The rung `--method` names (the ladder's names above, not "default"), or -1. */
int reset_rung_parse(const char *name);

/* The order values match enum policy_reset (engine/policy.h). */
enum reset_mode {
	RESET_AUTO,    /* post-stop: only where it helps (vfio-pci already reset it
			  with FLR when QEMU closed it) */
	RESET_OFF,     /* never */
	RESET_METHODS, /* the policy's list of kernel method names, in its order */
	RESET_LADDER,  /* by hand: every rung that may help, in ladder order */
	RESET_FORCE,   /* by hand: exactly the one rung `methods` names (--method) */
};

/* What the decision needs to know about one device; reset_facts_read(). */
struct reset_facts {
	char bdf[16];
	unsigned domain, bus, dev, func;
	unsigned vendor, device, class_code;
	bool present;	       /* /sys/bus/pci/devices/BDF exists */
	bool answers;	       /* config space reads: vendor != 0xffff, header not 0x7f */
	bool is_bridge;	       /* has pci_bus/: not something to reset by itself */
	bool has_reset;	       /* the reset attribute exists (some method works) */
	bool has_reset_method; /* the reset_method attribute exists (kernel >= 5.15) */
	char *methods;	       /* reset_method's list ("flr bus"), NULL when absent */
	char *driver;	       /* bound driver, NULL when none */
	char *override;	       /* driver_override, NULL when "(null)" or absent */
	char power[16];	       /* power_state ("D0", "D3hot", "D3cold"), "" unknown */
	bool kernel_5_15;      /* kernel release >= 5.15 */
	bool vr_loaded;	       /* vendor-reset is loaded */
	bool vr_dev;	       /* /dev/vendor_reset exists */
	bool vr_available;     /* vendor-reset exists for this kernel (loaded or not) */
	char *bridge;	       /* the upstream bridge's BDF, NULL on a root bus */
	bool bridge_subordinate; /* the bridge has reset_subordinate (6.13+, backports) */
	/* the first endpoint behind the bridge (any depth) that is not in `ours`,
	 * NULL when every one is */
	char *bus_other;
};

/*
 * Read the facts for bdf.  `ours` lists the devices being reset together
 * (by hand: the ones named; post-stop: the VM's): a bus reset may only hit
 * those.  A device that is absent gives present = false and 0.
 */
int reset_facts_read(const char *bdf, const struct strv *ours, struct reset_facts *f);
void reset_facts_clear(struct reset_facts *f);

/* One rung of a decided ladder. */
struct reset_step {
	enum reset_rung rung;
	bool run;  /* tried (in order) until one works; false: skipped */
	char *why; /* why it is tried or skipped (allocated) */
};

struct reset_plan {
	struct reset_step v[RUNG_COUNT];
	size_t n;
	/*
	 * When no rung may run: why, and what to do (allocated), e.g. for a
	 * Polaris card without vendor-reset: how to get it.  Also set when
	 * rungs run but are known not to cure the device (RDNA2 and newer).
	 */
	char *advice;
	/* RESET_FORCE of a bus reset that would hit a device that is not ours:
	 * refused, nothing runs */
	bool refused;
	/* RESET_AUTO: nothing needs to run, and that is fine ("vfio-pci
	 * reset it with FLR when QEMU closed it") */
	bool nothing_needed;
	enum reset_mode mode; /* as decided for */
};

/*
 * Decide the ladder for f (pure).  methods: for RESET_METHODS the policy's
 * list (space-separated kernel names), for RESET_FORCE the one rung's name,
 * else NULL.  Free with reset_plan_clear().
 */
void reset_decide(const struct reset_facts *f, enum reset_mode mode, const char *methods,
		  struct reset_plan *out);
void reset_plan_clear(struct reset_plan *p);

enum reset_outcome {
	RESET_TRY_OK,
	RESET_TRY_FAILED,
	RESET_TRY_SKIPPED,
};
const char *reset_outcome_name(enum reset_outcome o); /* "ok" "failed" "skipped" */

struct reset_try {
	enum reset_rung rung;
	enum reset_outcome outcome;
	char *why; /* skipped: the plan's reason; failed: what went wrong; ok: how */
	uint64_t ms;
};

struct reset_result {
	char bdf[16];
	bool ok;       /* reset and verified, or nothing needed (RESET_AUTO) */
	int rung;      /* the rung that worked, -1 when none ran or none worked */
	uint64_t ms;   /* how long the working rung took, with its verification */
	char *message; /* one sentence: what happened, or why not and the fix */
	struct reset_try tried[RUNG_COUNT];
	size_t n_tried;
};
void reset_result_clear(struct reset_result *r);

/*
 * Run plan p for the device of f until a rung works and the device passes
 * reset_check(); the other rungs are recorded as tried with why they failed.
 * The device's reset_method (the admin's choice, or vendor-reset's) and
 * power/control are put back afterwards.  Returns 0 when out->ok, else
 * -errno (out->message says why and what to do).
 */
int reset_run(const struct reset_facts *f, const struct reset_plan *p,
	      struct reset_result *out);

/* reset_facts_read + reset_decide + reset_run for one device. */
int reset_ladder(const char *bdf, enum reset_mode mode, const char *methods,
		 const struct strv *ours, struct reset_result *out);

/*
 * After a reset: the device is still there, its config space answers
 * (vendor not 0xffff, header type not 0x7f — lspci's "Unknown header type
 * 7f"), it is in D0 (when power_state exists) and bound to `driver` (NULL:
 * to none).  Returns 0 or -EIO / -ENODEV with *err.
 */
int reset_check(const char *bdf, const char *driver, char **err);

/*
 * The pci_ops seam of post-stop (engine/pcistep.h): the ladder in mode
 * (RESET_AUTO, RESET_OFF, RESET_METHODS with methods), `ours` = every
 * device of the VM.  *note (allocated, also on failure) is the ladder's
 * summary for the task log: "reset by bus (0.3 s)", "not reset: vfio-pci
 * reset it with FLR when QEMU closed it".  Returns 0 when reset or when no
 * reset was needed, -errno with *err when the ladder failed.
 */
int reset_device(const char *bdf, enum reset_mode mode, const char *methods,
		 const struct strv *ours, char **note, char **err);

/* The device answers config reads (vendor != 0xffff); D3cold is warned about. */
int reset_verify(const char *bdf, char **err);

/*
 * The kernel as the ladder sees it; tests replace it (NULL: the real one).
 * write: a sysfs write of value to an absolute path under the host root,
 * bounded by timeout_ms when not 0.  vendor_ioctl: /dev/vendor_reset's
 * reset.  load_module: kmod_ensure().
 */
struct reset_kernel {
	int (*write)(const char *value, const char *path, int timeout_ms);
	int (*vendor_ioctl)(unsigned domain, unsigned bus, unsigned devfn);
	int (*load_module)(const char *name, char **err);
};
void reset_set_kernel(const struct reset_kernel *k);

#endif
