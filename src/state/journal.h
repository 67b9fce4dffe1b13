/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-VM journal /run/vfiohook/<vmid>.json (design.md "State: the
 * journal and the locks").  It records what pre-start changed so post-stop
 * and `release` can undo it, and so a run that was interrupted (crash, kill,
 * power cut of the hook process) can be finished by the next one.
 *
 * Discipline: the caller sets the intent (JDEV_BINDING, JDEV_RELEASING) and
 * saves the journal BEFORE it touches the device, and saves again after it
 * verified the result (JDEV_BOUND, JDEV_RELEASED).
 *
 * Safety of the files (all paths under the host root, src/host.h):
 *  - the directory /run/vfiohook is created with mode 0700; if it exists it
 *    must be a real directory (not a symlink) owned by our euid; a wrong mode
 *    is fixed to 0700 with a warning, a wrong owner or a symlink is refused;
 *  - a journal is written atomically (temp file beside it, fsync, rename,
 *    fsync of the directory) with mode 0600;
 *  - a journal path that is a symlink is refused, never followed: loading
 *    opens with O_NOFOLLOW, saving refuses to replace a symlink; a journal
 *    that is not a regular file owned by us, or that others may write, is
 *    refused as well.
 *
 * Format (json-c), one object:
 *   { "version": 2, "vmid": 100, "phase": "pre-start", "complete": false,
 *     "started": 1700000000,
 *     "devices": [ { "id": "0000:01:00.0", "orig_driver": "nvidia",
 *                    "orig_override": null, "orig_reset_method": "flr bus",
 *                    "class": 196608, "state": "bound",
 *                    "hostpci": "hostpci0", "group": 13 } ],
 *     "sections": { "hugepages": [ { "subject": "node0/2048kB",
 *                                    "state": "applied", ... } ] } }
 * "devices" is the section of the PCI step kind (its key and shape are
 * those of version 1, which this version still reads and releases);
 * "sections" holds one array per other kind of step, each entry with a
 * subject, a state and the kind's own keys, which the journal keeps
 * without knowing them.
 * Keys this version does not know (top level and per device) are kept when a
 * journal is loaded and saved again, so a newer vfiohook's state survives an
 * older one's run.  A "version" above JOURNAL_VERSION is refused.
 */
#ifndef VFIOHOOK_JOURNAL_H
#define VFIOHOOK_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

struct json_object;

#define JOURNAL_VERSION 2
#define JOURNAL_DIR "/run/vfiohook"

enum jdev_state {
	/* already fine before pre-start (e.g. was on vfio-pci): we did not move it */
	JDEV_UNTOUCHED,
	/* intent: about to move to vfio-pci (override written, unbind/probe may be
	 * half done) */
	JDEV_BINDING,
	/* verified on vfio-pci by us */
	JDEV_BOUND,
	/* intent: about to give back (override cleared/unbind may be half done) */
	JDEV_RELEASING,
	/* given back and verified */
	JDEV_RELEASED,
	/* pre-start will move it, but has not touched it yet: the VM holds it,
	 * and a rollback or release has nothing to give back */
	JDEV_PLANNED,
};

struct jdev {
	char bdf[16];	     /* "0000:01:00.0" */
	char *orig_driver;   /* driver before pre-start; NULL = was unbound */
	char *orig_override; /* driver_override before; NULL = none */
	/* reset_method before pre-start (the admin's or vendor-reset's choice,
	 * "device_specific"); NULL = unknown (version 1) or no such file */
	char *orig_reset_method;
	int class_code; /* 24-bit PCI class as sysfs shows it, -1 = unknown */
	enum jdev_state state;
	char *hostpci; /* "hostpci0", or NULL for a group companion */
	int group;     /* IOMMU group, -1 = unknown */
	/* the device's object as loaded (for its unknown keys), or NULL */
	struct json_object *extra;
};

/* One step of another kind (hugepages, CPUs, ...), as the journal keeps it. */
enum jstep_state {
	JSTEP_APPLYING, /* intent: about to be applied, may be half done */
	JSTEP_APPLIED,	/* applied and verified */
	JSTEP_UNDOING,	/* intent: about to be undone */
	JSTEP_UNDONE,	/* undone and verified */
};

struct jentry {
	char *subject; /* unique within its section: "node0/2048kB" */
	enum jstep_state state;
	/* the kind's own keys (an object, owned; never NULL) */
	struct json_object *data;
};

struct jsection {
	char *kind; /* also the key in "sections" */
	struct jentry *v;
	size_t n;
};

struct journal {
	unsigned vmid;
	char *phase;   /* phase that last wrote it: "pre-start", "post-stop", "release" */
	bool complete; /* the phase finished */
	long long started; /* epoch seconds of pre-start */
	struct jdev *devs; /* the PCI section, "devices" */
	size_t n_devs;
	struct jsection *sections; /* other kinds, in the order they were added */
	size_t n_sections;
	/* the object as loaded (for its unknown keys), or NULL */
	struct json_object *extra;
};

/* A new, empty journal for vmid: phase NULL, not complete, started = now. */
struct journal *journal_new(unsigned vmid);

/*
 * Load /run/vfiohook/<vmid>.json.  Returns 0 and *out; -ENOENT when there is
 * none (*err untouched); -EINVAL with *err naming the file for a corrupt one;
 * -ELOOP (symlink), -EPERM (not ours / writable by others), other -errno
 * with *err for a journal that cannot or must not be read.
 */
int journal_load(unsigned vmid, struct journal **out, char **err);

/*
 * Parse journal text (pure, no I/O; fuzzed).  vmid: the VM the file belongs
 * to; a journal naming another VM is refused.  Errors say what is wrong
 * (where in the text for a JSON syntax error) without a file name: callers
 * that read a file prefix it.  Returns 0 or -EINVAL with *err.
 */
int journal_parse(const char *text, unsigned vmid, struct journal **out, char **err);

/* The JSON text of j (pure; never NULL; free it).  journal_parse() of it
 * gives back an equal journal. */
char *journal_format(const struct journal *j);

/* Write the journal atomically (see above).  Returns 0 or -errno with *err. */
int journal_save(struct journal *j, char **err);

/* Remove the VM's journal: 0, or -ENOENT when there was none (both fine). */
int journal_remove(unsigned vmid);

/* The vmids that have a journal (regular files named <vmid>.json), sorted
 * ascending; *vmids is NULL when n is 0.  No directory = no journals. */
int journal_list(unsigned **vmids, size_t *n);

/* Make sure /run/vfiohook exists as a directory of ours with mode 0700
 * (created, or its mode fixed with a warning); refuses a symlink or a
 * directory owned by someone else.  Returns 0 or -errno with *err. */
int journal_dir_ensure(char **err);

/* Find the device entry for bdf, or NULL. */
struct jdev *journal_dev(struct journal *j, const char *bdf);
/* Find it or append a new one (JDEV_UNTOUCHED, group -1, no origins).
 * NULL when bdf is not a PCI address of the form DDDD:BB:DD.F. */
struct jdev *journal_dev_add(struct journal *j, const char *bdf);

/* The section of kind, or NULL; with create, a new empty one is added.
 * kind: [a-z][a-z0-9_-]* */
struct jsection *journal_section(struct journal *j, const char *kind, bool create);
/* The entry for subject, or NULL; with create, a new one (JSTEP_APPLYING,
 * empty data) is appended. */
struct jentry *jsection_entry(struct jsection *s, const char *subject, bool create);
const char *jstep_state_name(enum jstep_state s);

void journal_free(struct journal *j);
DEFINE_CLEANUP_FUNC(struct journal *, journal_free)

/* The VM holds the device: planned, bound by us, binding, or found on
 * vfio-pci. */
static inline bool jdev_holds(const struct jdev *jd)
{
	return jd && jd->state != JDEV_RELEASING && jd->state != JDEV_RELEASED;
}

/* "untouched", "binding", "bound", "releasing", "released", "planned" (as in
 * the file). */
const char *jdev_state_name(enum jdev_state s);
/* The reverse; 0 or -EINVAL. */
int jdev_state_from_name(const char *name, enum jdev_state *out);

#endif
