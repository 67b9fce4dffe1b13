/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Proxmox storages, /etc/pve/storage.cfg (PVE::Storage::Plugin, a
 * PVE::SectionConfig file), as far as vfiohook needs them: which storages
 * hold `snippets` (where a hookscript lives) and the file a snippets
 * volume id names.
 *
 *   dir: local
 *   	path /var/lib/vz
 *   	content iso,vztmpl,backup,snippets
 *
 *   nfs: nas
 *   	server 10.0.0.5
 *   	export /tank/pve
 *   	content snippets,images
 *
 * Read leniently, as SectionConfig reads it: a line that does not parse is
 * skipped with a warning, a section given twice replaces the earlier one.
 * Like PVE::Storage::config(), a missing `local` storage is added as the
 * directory /var/lib/vz.
 */
#ifndef VFIOHOOK_STORAGE_H
#define VFIOHOOK_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

#define STORAGE_FILE "/etc/pve/storage.cfg"

struct pve_storage {
	char *id;
	char *type; /* dir, nfs, cifs, cephfs, glusterfs, btrfs, lvm, zfspool, ... */
	char *path; /* mount point of a file-level storage, NULL for block-level */
	struct strv content; /* "snippets", "images", ... */
	struct strv nodes;   /* empty: every node */
	bool disabled;
	bool shared;
	unsigned line; /* of the header, 0 for the built-in `local` */
};

struct storage_cfg {
	struct pve_storage *v;
	size_t n;
	struct strv warnings; /* "/etc/pve/storage.cfg:LINE: ..." */
};

/* Parse the file's text (pure, fuzzed).  Never fails on content: what does
 * not parse becomes a warning.  Returns 0. */
int storage_parse(const char *text, struct storage_cfg **out);
/* Read <root>/etc/pve/storage.cfg (absent: only the built-in `local`);
 * -errno with *err when it exists but cannot be read. */
int storage_read(struct storage_cfg **out, char **err);
void storage_free(struct storage_cfg *cfg);

const struct pve_storage *storage_find(const struct storage_cfg *cfg, const char *id);
bool storage_has_content(const struct pve_storage *s, const char *content);
/* The storage may be used on node (not disabled, node in its list). */
bool storage_on_node(const struct pve_storage *s, const char *node);

/*
 * The file of a snippet volume as Proxmox resolves a hookscript
 * (PVE::Storage::path, then PVE::GuestHelpers::check_hookscript): the type
 * comes from the volume name, the storage's content list is not consulted
 * (storage_has_content() tells whether the GUI lists it).
 * "local:snippets/vfiohook" -> storage "local", "/var/lib/vz/snippets/vfiohook"
 * (an absolute path on the host, without the root prefix).  Errors, with *err
 * naming the volume and the fix: not STORAGE:snippets/NAME (-EINVAL), no such
 * storage (-ENOENT), a storage without a file system path (-EMEDIUMTYPE).
 * *storage (optional) gets the storage id, also on that last error.
 */
int storage_snippet_file(const struct storage_cfg *cfg, const char *volid, char **path,
			 char **storage, char **err);

/* "STORAGE:snippets/vfiohook", on any storage: vfiohook's own hookscript
 * volume (what `vfiohook enable` registers). */
#define STORAGE_SNIPPET_NAME "vfiohook"
bool storage_volid_is_vfiohook(const char *volid);

#endif
