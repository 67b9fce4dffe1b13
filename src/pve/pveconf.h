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

/* One "key: value" line of the main section. */
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
	struct pveconf_line *lines; /* main section only, in file order */
	size_t n_lines;
};

/*
 * Parse a config file's text.  Pure (no I/O), fuzzed.  Only the part before
 * the first "[section]" line counts: [PENDING], [special:cloudinit],
 * [special:fleecing] and snapshot sections describe something other than
 * the VM that will run.  Blank lines are skipped; keys must match
 * [a-z][a-z_-]*\d* and have a non-empty value.  A line of another shape or a
 * key given twice is an error naming "path:line".
 */
int vmconf_parse(const char *text, const char *path, unsigned vmid, struct vmconf **out,
		 char **err);
/* Read and parse <root>/etc/pve/qemu-server/<vmid>.conf.  -ENOENT (with a
 * message) when the VM has no config on this node. */
int vmconf_read(unsigned vmid, struct vmconf **out, char **err);
/* The line of key, or NULL. */
const struct pveconf_line *vmconf_get(const struct vmconf *c, const char *key);
void vmconf_free(struct vmconf *c);

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
	unsigned vmid;
	struct vmconf *conf;
	bool is_template;	     /* template: 1 */
	struct hostpci *hostpci[16]; /* NULL where hostpciN is absent */
	char *hugepages;	     /* "any"|"2"|"1024" or NULL */
	bool keephugepages;
	bool numa;
	struct vm_numa numa_nodes[VM_MAX_NUMA]; /* numa0..numa7 */
	char *affinity; /* cpu list as written, validated ("0-5,8-13"), or NULL */
	unsigned sockets, cores; /* defaults 1, 1 */
	unsigned vcpus;		 /* vcpus: online vCPUs at start; 0 = sockets * cores */
	char *hotplug;		 /* hotplug: as written, or NULL (Proxmox's default) */
	/* memory: [current=]N; Proxmox's default is 512 MiB (QemuServer/Memory.pm) */
	unsigned long long memory_mib;
	char *lock; /* lock: value or NULL */
};
#define VM_DEFAULT_MEMORY_MIB 512

/*
 * Build and validate the vm from a parsed config; takes ownership of conf
 * (also on error).  Every hostpciN (N = 0..15) goes through hostpci_parse;
 * hostpciN with N >= 16 is an error.  Errors name "path:line: key: ...".
 * Host ids are not expanded here (hostpci_expand, mapping_resolve).
 */
int vm_from_conf(struct vmconf *conf, struct vm **out, char **err);
/* vmconf_read + vm_from_conf */
int vm_load(unsigned vmid, struct vm **out, char **err);
void vm_free(struct vm *vm);

#endif
