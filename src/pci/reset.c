// SPDX-License-Identifier: GPL-2.0-or-later
#include "pci/reset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "pci/bind.h"
#include "pci/kmod.h"
#include "pci/vendorreset.h"

/* A reset (or bus reset) that takes longer is reported as hung. */
#define RESET_TIMEOUT_MS 30000
/* vendor-reset answers EAGAIN while it cannot lock the device: retry. */
#define VR_EAGAIN_TRIES 10
#define VR_EAGAIN_NAP_MS 200
/* any other sysfs write (reset_method, power/control, ...) */
#define ATTR_TIMEOUT_MS 10000
/* remove + rescan: how long the device may take to go and to come back */
#define REMOVE_WAIT_MS 5000
#define RESCAN_WAIT_MS 10000

#define DEV "/sys/bus/pci/devices/%s"

/* ---- the kernel, replaceable by tests ------------------------------------ */

/* Every write in a child, bounded in time, as bind.c's: a writer stuck in
 * the kernel (or killed) is reported instead of hanging the task. */
static int real_write(const char *value, const char *path, int timeout_ms)
{
	return host_write_timeout(timeout_ms > 0 ? timeout_ms : ATTR_TIMEOUT_MS, value,
				  "%s", path);
}

/* A write that did not finish (its writer was killed, or it hung): the
 * device is in an unknown state, possibly still being reset, so the
 * ladder stops there instead of poking it with the next rung. */
static bool interrupted(int r)
{
	return r == -EINTR || r == -ETIMEDOUT;
}

static int real_vendor_ioctl(unsigned domain, unsigned bus, unsigned devfn)
{
	char path[PATH_MAX];
	int fd, r;

	if (host_path(path, sizeof(path), VENDOR_RESET_DEV) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = vendor_reset_ioctl(fd, domain, bus, devfn);
	close(fd);
	return r;
}

static const struct reset_kernel real_kernel = {
    .write = real_write,
    .vendor_ioctl = real_vendor_ioctl,
    .load_module = kmod_ensure,
};
static const struct reset_kernel *kern = &real_kernel;

void reset_set_kernel(const struct reset_kernel *k)
{
	kern = k ? k : &real_kernel;
}

/* Write value to the device attribute attr of bdf (bounded when timeout_ms). */
static int dev_write(const char *bdf, const char *attr, const char *value, int timeout_ms)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), DEV "/%s", bdf, attr) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return kern->write(value, path, timeout_ms);
}

/* ---- names ---------------------------------------------------------------- */

static const char *const rung_names[RUNG_COUNT] = {
    [RUNG_DEVICE_SPECIFIC] = "device_specific",
    [RUNG_ACPI] = "acpi",
    [RUNG_FLR] = "flr",
    [RUNG_AF_FLR] = "af_flr",
    [RUNG_PM] = "pm",
    [RUNG_BUS] = "bus",
    [RUNG_REMOVE] = "remove",
    [RUNG_DEFAULT] = "default",
    [RUNG_CXL_BUS] = "cxl_bus",
};

const char *reset_rung_name(enum reset_rung r)
{
	return (unsigned)r < RUNG_COUNT ? rung_names[r] : "?";
}

int reset_rung_parse(const char *name)
{
	for (int i = 0; i < RUNG_COUNT; i++)
		if (i != RUNG_DEFAULT && streq(name, rung_names[i]))
			return i;
	return -1;
}

const char *reset_outcome_name(enum reset_outcome o)
{
	return o == RESET_TRY_OK ? "ok" : o == RESET_TRY_FAILED ? "failed" : "skipped";
}

static bool has_method(const char *list, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = list; p && *p;) {
		while (*p == ' ')
			p++;
		if (strncmp(p, m, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p = strchr(p, ' ');
	}
	return false;
}

/* ---- facts ------------------------------------------------------------------ */

/* Config space answers: the first bytes read back, vendor is not 0xffff and
 * the header type is not 0x7f (a device that fell off the bus reads all
 * ones; lspci then says "Unknown header type 7f"). */
static bool config_answers(const char *bdf)
{
	char path[PATH_MAX];
	unsigned char cfg[16];
	ssize_t n;
	int fd;

	if (host_path(path, sizeof(path), DEV "/config", bdf) < 0)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (n < 2 || (cfg[0] == 0xff && cfg[1] == 0xff))
		return false;
	return n < 15 || (cfg[14] & 0x7f) != 0x7f;
}

/* The running kernel is 5.15 or newer (reset_method exists since 5.15). */
static bool kernel_at_least_5_15(bool fallback)
{
	_cleanup_free_ char *rel = NULL;
	unsigned major, minor;

	if (host_read(&rel, "/proc/sys/kernel/osrelease") < 0 ||
	    sscanf(rel, "%u.%u", &major, &minor) != 2)
		return fallback;
	return major > 5 || (major == 5 && minor >= 15);
}

static int bdf_entry(const struct dirent *e)
{
	return bdf_parse(e->d_name, NULL, NULL, NULL, NULL) == 0;
}

/* The first endpoint below dir (any depth, in address order) that is
 * neither self nor in ours. */
static char *first_foreign(const char *dir, const char *self, const struct strv *ours,
			   int depth)
{
	struct dirent **ents = NULL;
	char *found = NULL;
	int n;

	if (depth > 8)
		return NULL;
	n = scandir(dir, &ents, bdf_entry, alphasort);
	for (int i = 0; i < n; i++) {
		char sub[PATH_MAX], busdir[PATH_MAX + 16];
		const char *name = ents[i]->d_name;

		if (found ||
		    snprintf(sub, sizeof(sub), "%s/%s", dir, name) >= (int)sizeof(sub))
			continue;
		snprintf(busdir, sizeof(busdir), "%s/pci_bus", sub);
		if (access(busdir, F_OK) == 0)
			/* a bridge is reset with its bus; what counts is below it */
			found = first_foreign(sub, self, ours, depth + 1);
		else if (!streq(name, self) && !(ours && strv_contains(ours, name)))
			found = xstrdup(name);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return found;
}

static void read_bridge(const char *bdf, const struct strv *ours, struct reset_facts *f)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;

	if (host_path(path, sizeof(path), DEV, bdf) < 0 || !realpath(path, real))
		return;
	slash = strrchr(real, '/');
	if (!slash)
		return;
	*slash = '\0';
	slash = strrchr(real, '/');
	/* on a root bus the parent is the host bridge's pci0000:00 directory */
	if (!slash || bdf_parse(slash + 1, NULL, NULL, NULL, NULL) < 0)
		return;
	f->bridge = xstrdup(slash + 1);
	f->bridge_subordinate = host_exists(DEV "/reset_subordinate", f->bridge);
	f->bus_other = first_foreign(real, bdf, ours, 0);
}

int reset_facts_read(const char *bdf, const struct strv *ours, struct reset_facts *f)
{
	_cleanup_free_ char *ps = NULL;
	long v;

	memset(f, 0, sizeof(*f));
	snprintf(f->bdf, sizeof(f->bdf), "%s", bdf);
	if (bdf_parse(bdf, &f->domain, &f->bus, &f->dev, &f->func) < 0)
		return -EINVAL;
	f->present = host_exists(DEV, bdf);
	if (!f->present)
		return 0;
	if (host_read_long(&v, DEV "/vendor", bdf) == 0)
		f->vendor = (unsigned)v;
	if (host_read_long(&v, DEV "/device", bdf) == 0)
		f->device = (unsigned)v;
	if (host_read_long(&v, DEV "/class", bdf) == 0)
		f->class_code = (unsigned)v;
	f->answers = config_answers(bdf);
	f->is_bridge = host_exists(DEV "/pci_bus", bdf);
	f->has_reset = host_exists(DEV "/reset", bdf);
	f->has_reset_method = host_read(&f->methods, DEV "/reset_method", bdf) == 0;
	f->driver = bind_current_driver(bdf);
	f->override = bind_current_override(bdf);
	if (host_read(&ps, DEV "/power_state", bdf) == 0)
		snprintf(f->power, sizeof(f->power), "%s", ps);
	f->kernel_5_15 = kernel_at_least_5_15(f->has_reset_method);
	f->vr_loaded = kmod_loaded(VENDOR_RESET_MODULE);
	f->vr_dev = host_exists(VENDOR_RESET_DEV);
	/* a module lookup only for the cards that need it */
	f->vr_available = f->vr_loaded || (vendor_reset_supports(f->vendor, f->device) &&
					   kmod_available(VENDOR_RESET_MODULE));
	read_bridge(bdf, ours, f);
	return 0;
}

void reset_facts_clear(struct reset_facts *f)
{
	free(f->methods);
	free(f->driver);
	free(f->override);
	free(f->bridge);
	free(f->bus_other);
	memset(f, 0, sizeof(*f));
}

/* ---- the decision ----------------------------------------------------------- */

static void _printf_(4, 5)
    step(struct reset_plan *p, enum reset_rung r, bool run, const char *fmt, ...)
{
	va_list ap;

	if (p->n >= RUNG_COUNT)
		return;
	va_start(ap, fmt);
	p->v[p->n].why = xvasprintf(fmt, ap);
	va_end(ap);
	p->v[p->n].rung = r;
	p->v[p->n].run = run;
	p->n++;
}

static void _printf_(2, 3) advise(struct reset_plan *p, const char *fmt, ...)
{
	va_list ap;

	if (p->advice)
		return;
	va_start(ap, fmt);
	p->advice = xvasprintf(fmt, ap);
	va_end(ap);
}

static bool stuck_d3cold(const struct reset_facts *f)
{
	return startswith(f->power, "D3cold");
}

/* The device cannot take a function reset: it does not answer, or has no power. */
static const char *dead_why(const struct reset_facts *f)
{
	if (!f->answers)
		return "the device does not answer config reads (vendor 0xffff, \"Unknown header type 7f\"): a function reset cannot reach it";
	if (stuck_d3cold(f))
		return "the device is in D3cold (no power): a function reset cannot reach it";
	return NULL;
}

static void advise_vendor_reset_missing(struct reset_plan *p, const struct reset_facts *f,
					const char *gen)
{
	advise(
	    p,
	    "%s is a %s GPU: it does not reset by FLR or a bus reset (the AMD reset bug) and needs the vendor-reset module, which is not installed for this kernel: 'apt install vendor-reset-dkms' (or build https://github.com/gnif/vendor-reset with dkms), sign the module with your MOK when Secure Boot is on, then run 'vfiohook reset %s' again",
	    f->bdf, gen, f->bdf);
}

static void advise_rdna(struct reset_plan *p, const struct reset_facts *f,
			const char *gen)
{
	advise(
	    p,
	    "%s is a %s GPU (RDNA2 or newer): no vendor reset exists for it; if it hangs after its VM stops, set 'reboot: 0' in the VM's config (QEMU then exits on a guest reboot instead of resetting the card) and keep the card on vfio-pci ('rebind = never' in /etc/vfiohook.conf)",
	    f->bdf, gen);
}

/* The device_specific rung as the ladder (and auto) decide it. */
static void decide_device_specific(const struct reset_facts *f, struct reset_plan *p)
{
	const char *gen = vendor_reset_generation(f->vendor, f->device);
	const char *rdna =
	    vendor_reset_rdna2_or_newer(f->vendor, f->device, f->class_code);

	if (gen && f->vr_loaded)
		step(
		    p, RUNG_DEVICE_SPECIFIC, true,
		    "vendor-reset's reset for %s GPUs (they do not reset by FLR: the AMD reset bug)",
		    gen);
	else if (gen && f->vr_available)
		step(
		    p, RUNG_DEVICE_SPECIFIC, true,
		    "vendor-reset's reset for %s GPUs (they do not reset by FLR: the AMD reset bug); the module is loaded first",
		    gen);
	else if (gen) {
		step(
		    p, RUNG_DEVICE_SPECIFIC, false,
		    "a %s GPU needs vendor-reset, which is not installed for this kernel",
		    gen);
		advise_vendor_reset_missing(p, f, gen);
	} else if (has_method(f->methods, "device_specific"))
		step(p, RUNG_DEVICE_SPECIFIC, true,
		     "the kernel's device-specific reset for this device");
	else if (rdna)
		step(p, RUNG_DEVICE_SPECIFIC, false,
		     "no vendor reset exists for %s GPUs (RDNA2 and newer)", rdna);
	else
		step(p, RUNG_DEVICE_SPECIFIC, false,
		     "no device-specific reset is known for %04x:%04x", f->vendor,
		     f->device);
}

static const char *method_label(enum reset_rung r)
{
	switch (r) {
	case RUNG_ACPI:
		return "the platform's ACPI _RST method";
	case RUNG_FLR:
		return "Function Level Reset";
	case RUNG_AF_FLR:
		return "the Advanced Features FLR";
	case RUNG_PM:
		return "a D3hot-to-D0 power-management reset";
	default:
		return reset_rung_name(r);
	}
}

/* Whether a bus reset (bus or, with cxl, cxl_bus) may run; *why says why (not). */
static bool bus_allowed_as(const struct reset_facts *f, bool by_hand, bool cxl,
			   char **why)
{
	if (!f->bridge) {
		*why =
		    xstrdup("on a root bus: there is no bridge whose bus could be reset");
		return false;
	}
	if (f->bus_other) {
		*why = xasprintf(
		    "%s behind the same bridge (%s) would be reset too and is not %s%s",
		    f->bus_other, f->bridge,
		    by_hand ? "being reset with it" : "this VM's",
		    by_hand
			? " (name it too, or use --slot for the functions of one card)"
			: "");
		return false;
	}
	if (cxl) {
		*why = xasprintf(
		    "every device behind bridge %s is being reset with it: a CXL bus reset",
		    f->bridge);
		return has_method(f->methods, "cxl_bus");
	}
	if (f->bridge_subordinate) {
		*why = xasprintf(
		    "every device behind bridge %s is being reset with it: the bridge's reset_subordinate",
		    f->bridge);
		return true;
	}
	if (has_method(f->methods, "bus")) {
		*why = xasprintf(
		    "every device behind bridge %s is being reset with it: a secondary bus reset",
		    f->bridge);
		return true;
	}
	*why = xstrdup("the kernel offers no bus reset for it");
	return false;
}

static bool bus_allowed(const struct reset_facts *f, bool by_hand, char **why)
{
	return bus_allowed_as(f, by_hand, false, why);
}

static void decide_ladder(const struct reset_facts *f, struct reset_plan *p)
{
	static const enum reset_rung kernel_rungs[] = {RUNG_ACPI, RUNG_FLR, RUNG_AF_FLR,
						       RUNG_PM};
	const char *gen = vendor_reset_generation(f->vendor, f->device);
	const char *rdna =
	    vendor_reset_rdna2_or_newer(f->vendor, f->device, f->class_code);
	const char *dead = dead_why(f);
	_cleanup_free_ char *amd = NULL, *bus_why = NULL;
	bool bus_ok;

	decide_device_specific(f, p);
	if (gen)
		amd = xasprintf(
		    "it would not cure a %s GPU (the AMD reset bug): only vendor-reset's reset does",
		    gen);
	if (!f->has_reset_method) {
		if (amd || dead)
			step(p, RUNG_DEFAULT, false, "%s", amd ? amd : dead);
		else if (f->has_reset)
			step(
			    p, RUNG_DEFAULT, true,
			    "this kernel cannot select a method (no reset_method): its own order");
		else
			step(p, RUNG_DEFAULT, false,
			     "the kernel knows no way to reset it (no reset attribute)");
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(kernel_rungs); i++) {
			enum reset_rung r = kernel_rungs[i];

			if (amd || dead)
				step(p, r, false, "%s", amd ? amd : dead);
			else if (has_method(f->methods, reset_rung_name(r)))
				step(p, r, true, "%s, offered by the kernel",
				     method_label(r));
			else
				step(p, r, false,
				     "not offered for this device (reset_method: %s)",
				     *f->methods ? f->methods : "none");
		}
	}
	bus_ok = bus_allowed(f, true, &bus_why);
	if (amd)
		step(p, RUNG_BUS, false, "%s", amd);
	else
		step(p, RUNG_BUS, bus_ok, "%s", bus_why);
	if (amd)
		step(p, RUNG_REMOVE, false, "%s", amd);
	else if (dead)
		step(
		    p, RUNG_REMOVE, true,
		    "last resort for a device that %s: remove it and rescan, powered on (power/control = on, d3cold_allowed = 0)",
		    f->answers ? "is stuck in D3cold" : "does not answer");
	else
		step(
		    p, RUNG_REMOVE, false,
		    "the device answers: remove + rescan would re-enumerate it but reset nothing (force with --method remove)");
	if (rdna)
		advise_rdna(p, f, rdna);
}

static void decide_auto(const struct reset_facts *f, struct reset_plan *p)
{
	const char *gen = vendor_reset_generation(f->vendor, f->device);
	_cleanup_free_ char *bus_why = NULL;

	if (gen || has_method(f->methods, "device_specific")) {
		decide_device_specific(f, p);
		return;
	}
	if (!f->has_reset) {
		p->nothing_needed = true;
		advise(p, "no reset method: handed back as it is");
		return;
	}
	if (has_method(f->methods, "flr") || has_method(f->methods, "af_flr")) {
		p->nothing_needed = true;
		step(p, has_method(f->methods, "flr") ? RUNG_FLR : RUNG_AF_FLR, false,
		     "vfio-pci reset it with FLR when QEMU closed it");
		advise(p, "vfio-pci reset it with FLR when QEMU closed it");
		return;
	}
	/* a bus reset only where the kernel itself offers one for the device;
	 * vfio-pci already did what its method list allows */
	if (has_method(f->methods, "bus") && bus_allowed(f, false, &bus_why)) {
		step(p, RUNG_BUS, true, "no FLR; %s", bus_why);
		/* a secondary bus reset can fail where the kernel's own method
		 * works (6.1 gives ENOTTY when the link never reports active
		 * again): fall back to that */
		if (has_method(f->methods, "pm"))
			step(p, RUNG_PM, true,
			     "the kernel's pm reset, if the bus reset fails");
		return;
	}
	p->nothing_needed = true;
	if (f->bus_other && has_method(f->methods, "bus")) {
		step(p, RUNG_BUS, false, "%s", bus_why);
		advise(p, "no bus reset: %s on the same bus is not this VM's",
		       f->bus_other);
	} else {
		advise(p, "vfio-pci reset it (%s) when QEMU closed it",
		       f->methods && *f->methods ? f->methods : "its own method");
	}
}

/* The policy's list: each name in its order, as the device offers it. */
static void decide_methods(const struct reset_facts *f, const char *methods,
			   struct reset_plan *p)
{
	_cleanup_free_ char *copy = xstrdup(methods ? methods : "");
	char *save = NULL;

	for (char *m = strtok_r(copy, " ,", &save); m; m = strtok_r(NULL, " ,", &save)) {
		int r = reset_rung_parse(m);
		_cleanup_free_ char *bus_why = NULL;

		if (r < 0 || r == RUNG_REMOVE) {
			log_debug("%s: reset method '%s' is not one the ladder runs",
				  f->bdf, m);
			continue;
		}
		if (r == RUNG_DEVICE_SPECIFIC) {
			decide_device_specific(f, p);
		} else if (r == RUNG_BUS || r == RUNG_CXL_BUS) {
			bool ok = bus_allowed_as(f, false, r == RUNG_CXL_BUS, &bus_why);

			if (r == RUNG_CXL_BUS && !ok && f->bridge && !f->bus_other) {
				free(bus_why);
				bus_why = xasprintf(
				    "not offered for this device (reset_method: %s)",
				    f->methods && *f->methods ? f->methods : "none");
			}
			step(p, (enum reset_rung)r, ok, "%s", bus_why);
		} else if (!f->has_reset_method) {
			step(p, (enum reset_rung)r, false,
			     "this kernel (< 5.15) cannot select reset methods");
		} else if (has_method(f->methods, m)) {
			step(p, (enum reset_rung)r, true,
			     "%s, as the policy's reset list asks",
			     method_label((enum reset_rung)r));
		} else {
			step(
			    p, (enum reset_rung)r, false,
			    "reset method '%s' is not supported by this device (reset_method: %s)",
			    m, *f->methods ? f->methods : "none");
		}
	}
	if (!f->has_reset_method && f->has_reset)
		step(
		    p, RUNG_DEFAULT, true,
		    "this kernel cannot select a method (no reset_method): its own order");
}

static void decide_force(const struct reset_facts *f, const char *name,
			 struct reset_plan *p)
{
	int r = reset_rung_parse(name);
	const char *gen = vendor_reset_generation(f->vendor, f->device);
	_cleanup_free_ char *bus_why = NULL;

	if (r < 0) {
		advise(p, "unknown reset method '%s'", name ? name : "");
		return;
	}
	if (r == RUNG_BUS || r == RUNG_CXL_BUS) {
		bool ok = bus_allowed_as(f, true, r == RUNG_CXL_BUS, &bus_why);

		/* asked for cxl_bus by name: the kernel says whether it offers
		 * it; here only who else is behind the bridge counts */
		if (r == RUNG_CXL_BUS && f->bridge && !f->bus_other)
			ok = true;
		if (!ok) {
			p->refused = f->bus_other != NULL;
			step(p, (enum reset_rung)r, false, "%s", bus_why);
			advise(p, "a bus reset of %s is %s: %s", f->bdf,
			       p->refused ? "refused" : "not possible", bus_why);
			return;
		}
		step(p, (enum reset_rung)r, true, "as asked: %s", bus_why);
		return;
	}
	if (r == RUNG_DEVICE_SPECIFIC && gen && !f->vr_available) {
		step(
		    p, RUNG_DEVICE_SPECIFIC, false,
		    "a %s GPU needs vendor-reset, which is not installed for this kernel",
		    gen);
		advise_vendor_reset_missing(p, f, gen);
		return;
	}
	if (r == RUNG_DEVICE_SPECIFIC && gen)
		step(p, RUNG_DEVICE_SPECIFIC, true,
		     "vendor-reset's reset for %s GPUs, as asked", gen);
	else if (r == RUNG_REMOVE)
		step(
		    p, RUNG_REMOVE, true,
		    "as asked: remove it and rescan (re-enumerates it; resets nothing inside a device that answers)");
	else if (gen)
		step(p, (enum reset_rung)r, true,
		     "as asked, though it does not cure a %s GPU (the AMD reset bug)",
		     gen);
	else
		step(p, (enum reset_rung)r, true, "as asked");
}

void reset_decide(const struct reset_facts *f, enum reset_mode mode, const char *methods,
		  struct reset_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = mode;
	switch (mode) {
	case RESET_OFF:
		out->nothing_needed = true;
		advise(out, "not reset (reset = off)");
		break;
	case RESET_AUTO:
		decide_auto(f, out);
		break;
	case RESET_METHODS:
		decide_methods(f, methods, out);
		break;
	case RESET_LADDER:
		decide_ladder(f, out);
		break;
	case RESET_FORCE:
		decide_force(f, methods, out);
		break;
	}
}

void reset_plan_clear(struct reset_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].why);
	free(p->advice);
	memset(p, 0, sizeof(*p));
}

void reset_result_clear(struct reset_result *r)
{
	for (size_t i = 0; i < r->n_tried; i++)
		free(r->tried[i].why);
	free(r->message);
	memset(r, 0, sizeof(*r));
	r->rung = -1;
}

/* ---- the rungs -------------------------------------------------------------- */

/* Write "1" to reset, with name selected in reset_method first (unless NULL). */
static int kernel_reset(const struct reset_facts *f, const char *name, char **err)
{
	int r;

	if (name && f->has_reset_method) {
		r = dev_write(f->bdf, "reset_method", name, 0);
		if (r == -EINVAL)
			return errnof(
			    err, r,
			    "the kernel does not offer %s for %s (reset_method: %s)",
			    name, f->bdf,
			    f->methods && *f->methods ? f->methods : "none");
		if (r < 0)
			return errnof(err, r, "cannot select %s in %s/reset_method: %s",
				      name, f->bdf, strerror(-r));
	}
	r = dev_write(f->bdf, "reset", "1", RESET_TIMEOUT_MS);
	if (r == -ENOENT)
		return errnof(
		    err, r,
		    "%s has no reset attribute: the kernel knows no way to reset it",
		    f->bdf);
	if (r == -ENOTTY)
		return errnof(err, r, "the kernel could not reset %s%s%s (ENOTTY)",
			      f->bdf, name ? " by " : "", name ? name : "");
	if (r == -ETIMEDOUT)
		return errnof(err, r, "the reset of %s did not finish within %d s",
			      f->bdf, RESET_TIMEOUT_MS / 1000);
	if (r < 0)
		return errnof(err, r, "the reset of %s%s%s failed: %s", f->bdf,
			      name ? " by " : "", name ? name : "", strerror(-r));
	return 0;
}

/* Why vendor-reset could not be loaded, and what to do. */
static int vendor_reset_load_failed(const struct reset_facts *f, const char *gen, int r,
				    const char *kerr, char **err)
{
	if (r == -ENOENT)
		return errnof(
		    err, r,
		    "%s is a %s GPU and needs vendor-reset, which is not installed for this kernel: 'apt install vendor-reset-dkms' (or build https://github.com/gnif/vendor-reset with dkms), sign it with your MOK when Secure Boot is on",
		    f->bdf, gen);
	if (r == -EKEYREJECTED || r == -ENOKEY || r == -EPERM)
		return errnof(
		    err, r,
		    "%s is a %s GPU and needs vendor-reset, but the kernel refused to load it (%s): Secure Boot accepts only signed modules; sign vendor-reset with your MOK (dkms signs with /var/lib/dkms/mok.key once 'mokutil --import /var/lib/dkms/mok.pub' is enrolled) and load it again",
		    f->bdf, gen, strerror(-r));
	if (r == -ENOEXEC)
		return errnof(
		    err, r,
		    "%s is a %s GPU and needs vendor-reset, but the installed module does not fit this kernel (%s): rebuild it ('dkms autoinstall') or update vendor-reset-dkms",
		    f->bdf, gen, strerror(-r));
	return errnof(err, r,
		      "%s is a %s GPU and needs vendor-reset, which did not load: %s",
		      f->bdf, gen, kerr ? kerr : strerror(-r));
}

static int rung_device_specific(const struct reset_facts *f, char **how, char **err)
{
	const char *gen = vendor_reset_generation(f->vendor, f->device);
	int r;

	if (!gen) /* a kernel quirk the device lists */
		return kernel_reset(f, "device_specific", err);
	if (!kmod_loaded(VENDOR_RESET_MODULE)) {
		_cleanup_free_ char *kerr = NULL;

		r = kern->load_module(VENDOR_RESET_MODULE, &kerr);
		if (r < 0)
			return vendor_reset_load_failed(f, gen, r, kerr, err);
	}
	if (host_exists(VENDOR_RESET_DEV)) {
		for (int i = 0; i < VR_EAGAIN_TRIES; i++) {
			r = kern->vendor_ioctl(f->domain, f->bus, f->dev << 3 | f->func);
			if (r != -EAGAIN)
				break;
			host_sleep_ms(VR_EAGAIN_NAP_MS);
		}
		if (r == 0) {
			*how = xasprintf("vendor-reset's reset for %s GPUs (%s)", gen,
					 VENDOR_RESET_DEV);
			return 0;
		}
		if (r == -ENOTTY && f->driver && !streq(f->driver, "vfio-pci"))
			return errnof(
			    err, r,
			    "vendor-reset will not reset %s while %s drives it (ENOTTY): move it to vfio-pci first",
			    f->bdf, f->driver);
		if (r == -ENOTTY)
			return errnof(
			    err, r,
			    "vendor-reset refused to reset %s (ENOTTY, its answer while amdgpu holds the card): see dmesg",
			    f->bdf);
		if (r == -EOPNOTSUPP)
			return errnof(
			    err, r,
			    "the vendor-reset module loaded here does not know %04x:%04x (EOPNOTSUPP): update vendor-reset",
			    f->vendor, f->device);
		if (r == -EAGAIN)
			return errnof(
			    err, r,
			    "vendor-reset could not lock %s for %d s (EAGAIN): something else is using the device",
			    f->bdf, VR_EAGAIN_TRIES * VR_EAGAIN_NAP_MS / 1000);
		return errnof(err, r, "vendor-reset's reset of %s failed: %s (see dmesg)",
			      f->bdf, strerror(-r));
	}
	/* No ioctl device: through the kernel's device-specific method, which
	 * vendor-reset hooks.  On >= 5.15 the method list was computed when
	 * the device was found, before the module came: select it. */
	r = kernel_reset(f, f->kernel_5_15 ? "device_specific" : NULL, err);
	if (r == 0)
		*how = xasprintf("vendor-reset's reset for %s GPUs (reset_method)", gen);
	return r;
}

static int rung_bus(const struct reset_facts *f, char **how, char **err)
{
	char path[PATH_MAX];
	int r;

	if (!f->bridge || !f->bridge_subordinate)
		return kernel_reset(f, "bus", err);
	snprintf(path, sizeof(path), DEV "/reset_subordinate", f->bridge);
	r = kern->write("1", path, RESET_TIMEOUT_MS);
	if (r == -ENOTTY)
		return errnof(
		    err, r,
		    "the kernel could not reset the bus below %s (ENOTTY; dmesg may say the link did not come back)",
		    f->bridge);
	if (r < 0)
		return errnof(err, r, "the bus reset below %s failed: %s", f->bridge,
			      strerror(-r));
	*how = xasprintf("the bus below %s (its reset_subordinate)", f->bridge);
	return 0;
}

static bool wait_presence(const char *bdf, bool present, unsigned ms)
{
	uint64_t until = host_now_ms() + ms;

	while (host_exists(DEV, bdf) != present) {
		if (host_now_ms() >= until)
			return false;
		host_sleep_ms(50);
	}
	return true;
}

/*
 * Back on the driver it had after a rescan: PCI probes a device the
 * moment it reappears (pci_bus_add_device() attaches it whatever
 * drivers_autoprobe says), without its old driver_override, so a host
 * driver may have taken it.  The canonical move: override, unbind, probe.
 */
static int move_back(const struct reset_facts *f, char **err)
{
	_cleanup_free_ char *now = NULL;
	char path[PATH_MAX];
	uint64_t until;
	int r = 0;

	host_readlink_base(&now, DEV "/driver", f->bdf);
	if (streq(now, f->driver) || (!now && !f->driver))
		return 0;
	log_info("%s came back on %s: moving it back to %s", f->bdf,
		 now ? now : "no driver", f->driver ? f->driver : "no driver");
	if (f->driver && !f->override)
		r = dev_write(f->bdf, "driver_override", f->driver, 0);
	if (r == 0 && now) {
		snprintf(path, sizeof(path), DEV "/driver/unbind", f->bdf);
		r = kern->write(f->bdf, path, RESET_TIMEOUT_MS);
	}
	if (r == 0 && f->driver)
		r = kern->write(f->bdf, "/sys/bus/pci/drivers_probe", RESET_TIMEOUT_MS);
	if (f->driver && !f->override)
		dev_write(f->bdf, "driver_override", "\n", 0);
	if (r < 0)
		return errnof(err, r,
			      "%s came back on %s and could not be moved back to %s: %s",
			      f->bdf, now ? now : "no driver",
			      f->driver ? f->driver : "no driver", strerror(-r));
	for (until = host_now_ms() + REMOVE_WAIT_MS;;) {
		free(now);
		now = NULL;
		host_readlink_base(&now, DEV "/driver", f->bdf);
		if (streq(now, f->driver) || (!now && !f->driver))
			return 0;
		if (host_now_ms() >= until)
			return errnof(err, -EIO, "%s came back on %s, not on %s", f->bdf,
				      now ? now : "no driver",
				      f->driver ? f->driver : "no driver");
		host_sleep_ms(50);
	}
}

/*
 * remove + rescan.  The device comes back as a new one: its
 * driver_override, reset_method and power settings are set again, and it
 * is moved back to its driver if a host driver took it on the way.
 */
static int rung_remove(const struct reset_facts *f, bool *kept_on, char **how, char **err)
{
	char path[PATH_MAX];
	bool stuck = !f->answers || stuck_d3cold(f);
	int r;

	if (stuck) {
		/* keep it powered from here on: stuck in D3cold is the usual
		 * reason to get here */
		dev_write(f->bdf, "power/control", "on", 0);
		dev_write(f->bdf, "d3cold_allowed", "0", 0);
		if (f->bridge)
			dev_write(f->bridge, "power/control", "on", 0);
	}
	r = dev_write(f->bdf, "remove", "1", RESET_TIMEOUT_MS);
	if (r < 0)
		return errnof(err, r, "cannot remove %s: %s", f->bdf, strerror(-r));
	if (!wait_presence(f->bdf, false, REMOVE_WAIT_MS))
		return errnof(err, -EBUSY, "%s is still there %d s after 'remove'",
			      f->bdf, REMOVE_WAIT_MS / 1000);
	if (f->bridge)
		snprintf(path, sizeof(path), DEV "/rescan", f->bridge);
	else
		snprintf(path, sizeof(path), "/sys/bus/pci/rescan");
	r = kern->write("1", path, RESET_TIMEOUT_MS);
	if (r < 0)
		return errnof(
		    err, r, "rescan (%s) failed: %s; run 'echo 1 > /sys/bus/pci/rescan'",
		    path, strerror(-r));
	if (!wait_presence(f->bdf, true, RESCAN_WAIT_MS))
		return errnof(
		    err, -ENODEV,
		    "%s did not come back after a rescan: run 'echo 1 > /sys/bus/pci/rescan'; if it stays away, the host needs a reboot",
		    f->bdf);
	if (f->override) {
		r = dev_write(f->bdf, "driver_override", f->override, 0);
		if (r < 0)
			return errnof(
			    err, r,
			    "%s came back, but its driver_override '%s' could not be set again: %s",
			    f->bdf, f->override, strerror(-r));
	}
	if (stuck) {
		dev_write(f->bdf, "power/control", "on", 0);
		dev_write(f->bdf, "d3cold_allowed", "0", 0);
		*kept_on = true;
	}
	r = move_back(f, err);
	if (r < 0)
		return r;
	*how = xstrdup(
	    stuck
		? "removed and rescanned, kept powered (power/control = on, d3cold_allowed = 0)"
		: "removed and rescanned");
	return 0;
}

static int run_rung(const struct reset_facts *f, enum reset_rung rung, bool *kept_on,
		    char **how, char **err)
{
	switch (rung) {
	case RUNG_DEVICE_SPECIFIC:
		return rung_device_specific(f, how, err);
	case RUNG_BUS:
		return rung_bus(f, how, err);
	case RUNG_REMOVE:
		return rung_remove(f, kept_on, how, err);
	case RUNG_DEFAULT:
		return kernel_reset(f, NULL, err);
	default:
		return kernel_reset(f, reset_rung_name(rung), err);
	}
}

int reset_check(const char *bdf, const char *driver, char **err)
{
	_cleanup_free_ char *ps = NULL, *now = NULL;

	if (!host_exists(DEV, bdf))
		return errnof(
		    err, -ENODEV,
		    "%s is gone after the reset: run 'echo 1 > /sys/bus/pci/rescan'; if it stays away, the host needs a reboot",
		    bdf);
	if (!config_answers(bdf))
		return errnof(
		    err, -EIO,
		    "%s does not answer after the reset (config space reads 0xffff: \"Unknown header type 7f\")",
		    bdf);
	if (host_read(&ps, DEV "/power_state", bdf) == 0 && !streq(ps, "D0"))
		return errnof(err, -EIO, "%s is in %s after the reset, not D0", bdf, ps);
	host_readlink_base(&now, DEV "/driver", bdf);
	if (!streq(now, driver) && (now || driver))
		return errnof(err, -EIO, "%s is on %s after the reset, it was on %s", bdf,
			      now ? now : "no driver", driver ? driver : "no driver");
	return 0;
}

static struct reset_try *add_try(struct reset_result *out, enum reset_rung rung,
				 enum reset_outcome o, char *why)
{
	struct reset_try *t;

	if (out->n_tried >= RUNG_COUNT) {
		free(why);
		return NULL;
	}
	t = &out->tried[out->n_tried++];
	t->rung = rung;
	t->outcome = o;
	t->why = why;
	t->ms = 0;
	return t;
}

/* Nothing could run: by hand the rungs are shown with their reasons; in
 * post-stop's task log the message is all there is, so it carries them. */
static char *no_method_message(const struct reset_facts *f, const struct reset_plan *p)
{
	char *s, *t;

	if (p->mode == RESET_LADDER || p->mode == RESET_FORCE || p->n == 0)
		return xasprintf(
		    "no reset method can be used for %s (each rung says why it was skipped)",
		    f->bdf);
	s = xasprintf("no reset method can be used for %s:", f->bdf);
	for (size_t i = 0; i < p->n; i++) {
		t = xasprintf("%s%s %s", s, i ? ";" : "", p->v[i].why);
		free(s);
		s = t;
	}
	return s;
}

int reset_run(const struct reset_facts *f, const struct reset_plan *p,
	      struct reset_result *out)
{
	_cleanup_free_ char *power = NULL, *last_err = NULL, *methods_now = NULL;
	bool kept_on = false, any = false;
	int ret = -EOPNOTSUPP;

	memset(out, 0, sizeof(*out));
	out->rung = -1;
	snprintf(out->bdf, sizeof(out->bdf), "%s", f->bdf);
	if (!f->present) {
		out->message = xasprintf("%s: no such PCI device", f->bdf);
		return -ENODEV;
	}
	for (size_t i = 0; i < p->n; i++)
		any |= p->v[i].run;
	/* awake for the reset and its check: vfio-pci lets an idle device
	 * sleep in D3hot; power/control = on brings it to D0 and keeps it */
	if (any && host_read(&power, DEV "/power/control", f->bdf) == 0 &&
	    !streq(power, "on")) {
		int r = dev_write(f->bdf, "power/control", "on", 0);

		if (interrupted(r)) {
			out->message = xasprintf(
			    "%s: waking it for the reset (power/control = on) did not finish: %s",
			    f->bdf, strerror(-r));
			return r;
		}
		if (r < 0) {
			free(power);
			power = NULL;
		}
	} else {
		free(power);
		power = NULL;
	}
	for (size_t i = 0; i < p->n && !out->ok && !interrupted(ret); i++) {
		const struct reset_step *s = &p->v[i];
		_cleanup_free_ char *how = NULL, *err = NULL;
		uint64_t t0;
		int r;

		if (!s->run) {
			add_try(out, s->rung, RESET_TRY_SKIPPED, xstrdup(s->why));
			continue;
		}
		t0 = host_now_ms();
		log_debug("%s: trying %s: %s", f->bdf, reset_rung_name(s->rung), s->why);
		r = run_rung(f, s->rung, &kept_on, &how, &err);
		if (r == 0)
			r = reset_check(f->bdf, f->driver, &err);
		if (r == 0) {
			struct reset_try *t = add_try(out, s->rung, RESET_TRY_OK,
						      xstrdup(how ? how : s->why));
			out->ok = true;
			out->rung = (int)s->rung;
			out->ms = host_now_ms() - t0;
			if (t)
				t->ms = out->ms;
			ret = 0;
		} else {
			struct reset_try *t = add_try(out, s->rung, RESET_TRY_FAILED,
						      xstrdup(err ? err : strerror(-r)));
			if (t)
				t->ms = host_now_ms() - t0;
			log_debug("%s: %s failed: %s", f->bdf, reset_rung_name(s->rung),
				  err ? err : strerror(-r));
			free(last_err);
			last_err = err;
			err = NULL;
			ret = r;
		}
	}
	/* put back what the admin (or vendor-reset's udev rule) chose */
	if (f->methods && host_read(&methods_now, DEV "/reset_method", f->bdf) == 0 &&
	    !streq(methods_now, f->methods)) {
		int r = dev_write(f->bdf, "reset_method", f->methods, 0);

		if (r < 0)
			log_warn("%s: could not put reset_method back to '%s': %s",
				 f->bdf, f->methods, strerror(-r));
	}
	if (power && !kept_on) {
		int r = dev_write(f->bdf, "power/control", power, 0);

		if (r < 0)
			log_warn("%s: could not put power/control back to '%s': %s",
				 f->bdf, power, strerror(-r));
	}
	if (out->ok) {
		out->message =
		    xasprintf("reset by %s (%.1f s)", reset_rung_name(out->rung),
			      (double)out->ms / 1000);
	} else if (!any && p->nothing_needed) {
		out->ok = true;
		ret = 0;
		out->message = xstrdup(p->advice ? p->advice : "no reset needed");
	} else if (!any) {
		out->message = p->advice ? xstrdup(p->advice) : no_method_message(f, p);
		if (p->refused)
			ret = -EPERM;
	} else {
		out->message =
		    p->advice ? xasprintf("%s; %s", last_err ? last_err : "not reset",
					  p->advice)
			      : xstrdup(last_err ? last_err : "not reset");
	}
	return ret;
}

int reset_ladder(const char *bdf, enum reset_mode mode, const char *methods,
		 const struct strv *ours, struct reset_result *out)
{
	struct reset_facts f;
	struct reset_plan p;
	int r;

	r = reset_facts_read(bdf, ours, &f);
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		out->rung = -1;
		snprintf(out->bdf, sizeof(out->bdf), "%s", bdf);
		out->message = xasprintf("'%s' is not a PCI address", bdf);
		return r;
	}
	reset_decide(&f, mode, methods, &p);
	r = reset_run(&f, &p, out);
	reset_plan_clear(&p);
	reset_facts_clear(&f);
	return r;
}

int reset_device(const char *bdf, enum reset_mode mode, const char *methods,
		 const struct strv *ours, char **note, char **err)
{
	struct reset_result res;
	int r;

	*note = NULL;
	r = reset_ladder(bdf, mode, methods, ours, &res);
	if (r < 0)
		errnof(err, r, "%s: %s", bdf, res.message ? res.message : strerror(-r));
	else
		*note = xstrdup(res.message);
	reset_result_clear(&res);
	return r;
}

int reset_verify(const char *bdf, char **err)
{
	_cleanup_free_ char *ps = NULL;

	if (!config_answers(bdf))
		return errf(
			   err,
			   "%s does not answer after reset (vendor reads 0xffff): the device is hung; a host reboot may be needed",
			   bdf),
		       -EIO;
	/* vfio-pci parks an idle device in D3hot, so only D3cold (the device
	 * lost power) is worth a warning */
	if (host_read(&ps, DEV "/power_state", bdf) == 0 && startswith(ps, "D3cold"))
		log_warn(
		    "%s is in power state %s after reset; if it does not come back, load vfio-pci with disable_idle_d3=1",
		    bdf, ps);
	else if (ps)
		log_debug("%s: power state %s after reset", bdf, ps);
	return 0;
}
