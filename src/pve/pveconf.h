/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Proxmox VM config file /etc/pve/qemu-server/<vmid>.conf, property
 * strings ("a=1,b=2") and the VM settings vfiohook acts on, read and
 * validated the way qemu-server reads them (proxmox-facts.md, "The VM config
 * file"; PVE::QemuServer parse_vm_config, PVE::JSONSchema
 * parse_property_string).
 *
 * All functions return 0 or a negative errno; on error *err (if err is not
 * NULL) gets a message that names the file, line and key.  The caller frees
 * *err.
 */
#ifndef VFIOHOOK_PVECONF_H
#define VFIOHOOK_PVECONF_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"
#include "pve/hostpci.h"
#include "pve/propstr.h"

/* One "key: value" line of a section. */
struct pveconf_line {
	char *key;
	char *value;   /* trimmed, never empty */
	unsigned line; /* 1-based line number in the file */
};

struct vmconf {
	unsigned vmid;
	char *path; /* as shown in messages: "/etc/pve/qemu-server/100.conf" */
	/* '#' lines and a "description:" line of the main section, URI-decoded
	 * (%3A -> ':'), joined by '\n', trailing white space removed; NULL if
	 * none */
	char *description;
	/* the main section, in file order, one line per key: a key given again
	 * replaces the earlier line (with a warning), as in Proxmox's hash */
	struct pveconf_line *lines;
	size_t n_lines;

	/* [PENDING]: changes Proxmox applies when the VM starts next */
	bool has_pending;
	struct pveconf_line *pending;
	size_t n_pending;
	char *pending_delete; /* its "delete:" value as written, or NULL */
	unsigned pending_delete_line;
	char *pending_description; /* NULL if the section has none */
	/* set by vmconf_apply_pending(): what it changed, "hostpci1" for a
	 * value, "-hostpci0" for a deletion, in the order applied */
	bool pending_applied;
	struct strv pending_changes;

	/* What Proxmox would warn about and skip (lines that do not parse, keys
	 * given twice, unknown sections, a key that looks like a misspelt
	 * hostpciN), as "path:line: text".  Never a reason to refuse. */
	struct strv warnings;
};

/*
 * Parse a config file's text of len bytes (it may hold NUL bytes).  Pure (no
 * I/O), fuzzed, never fails: it reads the file as PVE::QemuServer
 * parse_vm_config does, leniently.  Blank lines are skipped.  Sections
 * start with "[PENDING]", "[special:cloudinit]", "[special:fleecing]" or a
 * snapshot "[name]": only the main section (before the first of them)
 * describes the VM that will run, [PENDING] is kept apart for
 * vmconf_apply_pending(), the others are skipped.  A line that does not
 * parse (no "key: value" with a key [a-z][a-z_-]*\d*, no value, an indented
 * '#', a NUL byte, an unknown "[section]") is skipped with a warning; a key
 * given again replaces the earlier line with a warning.  Always returns 0;
 * err is kept for the callers' symmetry and is never set.
 */
int vmconf_parse(const char *text, size_t len, const char *path, unsigned vmid,
		 struct vmconf **out, char **err);
/*
 * Read and parse the VM's config: <root>/etc/pve/qemu-server/<vmid>.conf, or,
 * on a migration target (migrated_from set and not empty), the source node's
 * <root>/etc/pve/nodes/<migrated_from>/qemu-server/<vmid>.conf, where the
 * config stays until the migration ends (proxmox-facts.md).  -ENOENT (with a
 * message) when there is no such file; -EINVAL when migrated_from is not a
 * node name.
 */
int vmconf_read(unsigned vmid, const char *migrated_from, struct vmconf **out,
		char **err);
/* The line of key, or NULL. */
const struct pveconf_line *vmconf_get(const struct vmconf *c, const char *key);
/*
 * Apply [PENDING] to the main section as vm_start_nolock does
 * (vmconfig_apply_pending): first every key of its "delete:" list (split at
 * ',', ';' and white space, a leading '!' means force) is removed — keys
 * unusedN excepted, which Proxmox cannot delete at start (warned) — then
 * every pending value replaces or adds the key (its line number is the
 * pending line), and a pending description replaces the description.
 * Sets pending_applied and pending_changes.  Pure; a no-op without [PENDING].
 */
void vmconf_apply_pending(struct vmconf *c);
/* Does the VM resume from a suspended state (lock: suspended, or a vmstate:
 * key), as PVE::QemuServer::vm_start decides?  Then Proxmox resumes the saved
 * machine and vfiohook leaves [PENDING] alone (proxmox-facts.md). */
bool vmconf_resumes(const struct vmconf *c);
void vmconf_free(struct vmconf *c);

/*
 * Does a config key (or, for a line that does not parse, the text before its
 * ':') look like a misspelt hostpciN, for example "hostpic0", "hostpci 0",
 * "HostPCI1" or "hostpci01"?  hostpciN itself does not (vm_from_conf() warns
 * about N >= 16).  Used to warn: Proxmox drops such a line, so no device is passed.
 */
bool pveconf_looks_like_hostpci(const char *s, size_t len);

/* The VM as far as vfiohook cares, every key validated as Proxmox validates it. */
#define VM_MAX_NUMA 8
struct vm_numa {
	bool set;
	char *cpus;		       /* "0-3;8-11" as written */
	unsigned long long memory_mib; /* 0 when not given */
	char *hostnodes;	       /* NULL when not given */
	char *policy;		       /* preferred|bind|interleave or NULL */
};

struct vm {
	struct vmconf *conf;
	char *hugepages; /* "any"|"2"|"1024" or NULL */
	char *affinity;	 /* cpu list as written, validated ("0-5,8-13"), or NULL */
	char *hotplug;	 /* hotplug: as written, or NULL (Proxmox's default) */
	/* memory: [current=]N; Proxmox's default is 512 MiB (QemuServer/Memory.pm) */
	unsigned long long memory_mib;
	char *lock; /* lock: value or NULL */
	/* machine: as Proxmox reads it (PVE::QemuServer::Machine): q35 when its
	 * type (the default key) contains "q35"; without a type, i440fx */
	char *machine;
	char *vga;     /* vga: value as written (legacy-igd wants exactly "none") */
	char *vmstate; /* vmstate: value (a suspended VM's saved state) or NULL */
	struct hostpci *hostpci[16];		/* NULL where hostpciN is absent */
	struct vm_numa numa_nodes[VM_MAX_NUMA]; /* numa0..numa7 */
	unsigned vmid;
	unsigned sockets, cores; /* defaults 1, 1 */
	unsigned vcpus;		 /* vcpus: online vCPUs at start; 0 = sockets * cores */
	unsigned n_nets;	 /* netN keys: Proxmox's start timeout grows with them */
	/* "path:line: key: why" of each value that failed its type and was
	 * dropped as Proxmox drops it, and its key (same order) */
	struct strv dropped, dropped_keys;
	bool is_template; /* template: 1 */
	bool keephugepages;
	bool numa;
	bool q35;
};
#define VM_DEFAULT_MEMORY_MIB 512

/*
 * Build and validate the vm from a parsed config; takes ownership of conf
 * (also on error).  Read as parse_vm_config reads it: a value that fails
 * its type is warned about (conf->warnings) and dropped, the value before it
 * (or the default) staying; the dropped ones are listed in vm->dropped, and
 * the engine refuses a start only where it needs one of them (hugepages,
 * pinning).  Two kinds of bad value are errors naming "path:line: key: ...":
 * hostpci0..15 (through hostpci_parse) and hugepages (an enum Proxmox does
 * not check when it reads the file, then refuses the start over).  A bad
 * machine value leaves the VM i440fx.  hostpciN with N >= 16 and numaN with
 * N >= 8, which Proxmox ignores as unknown settings, get a warning.  Host
 * ids are not expanded here (hostpci_expand, mapping_alternatives).
 */
int vm_from_conf(struct vmconf *conf, struct vm **out, char **err);

/* The message of key's value that failed its type and was dropped (the
 * first such line), or NULL.  Keys: "memory", "numa0", "affinity", ... */
const char *vm_dropped(const struct vm *vm, const char *key);

/* How to load a VM: which config, and whether [PENDING] is applied. */
struct vm_load_opts {
	/* the source node on a migration target (PVE_MIGRATED_FROM), else NULL
	 * or "": the config is read there (vmconf_read) */
	const char *migrated_from;
	/* apply [PENDING] as the start will (vmconf_apply_pending), unless the VM
	 * resumes from a suspended state (vmconf_resumes): for `plan`, which runs
	 * before the start; pre-start runs after Proxmox applied them */
	bool apply_pending;
};
/* vmconf_read + (vmconf_apply_pending) + vm_from_conf; opts NULL = defaults */
int vm_load_opts(unsigned vmid, const struct vm_load_opts *opts, struct vm **out,
		 char **err);
/* vm_load_opts with the defaults: this node's config as it is */
int vm_load(unsigned vmid, struct vm **out, char **err);
void vm_free(struct vm *vm);

#endif
