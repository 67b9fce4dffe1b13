/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Proxmox's small value syntaxes, shared by the VM config, hostpciN values,
 * PCI mappings and policy: property strings (PVE::JSONSchema
 * parse_property_string), booleans, URI-encoded text, cpu sets and number
 * sets.  Pure functions, no I/O.
 */
#ifndef VFIOHOOK_PROPSTR_H
#define VFIOHOOK_PROPSTR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/cpuset.h"

/*
 * Proxmox property strings: "a=1,b=2"; empty (white-space) parts are
 * skipped; a part without '=' is the value of default_key (an error when
 * default_key is NULL); "k=" and "=v" are errors; a key given twice is an
 * error.  Keys are not checked: the caller's schema does that.  *kv is an
 * array of *n pairs in string order, free it with propkv_free().
 */
struct propkv {
	char *key;
	char *value;
};
int propstr_split(const char *s, const char *default_key, struct propkv **kv, size_t *n,
		  char **err);
void propkv_free(struct propkv *kv, size_t n);

/* Proxmox booleans: 1|on|yes|true and 0|off|no|false, case-insensitive;
 * -EINVAL for anything else. */
int pve_parse_bool(const char *s, bool *out);

/* Decode %XX escapes (PVE::Tools::decode_text); other text is kept as is. */
char *pve_uri_decode(const char *s);

/* Validate a Proxmox cpu set ("0-5,8-13", PVE::CpuSet::parse_cpuset):
 * comma-separated ids or ranges, from <= to, ids below PVE_MAX_CPUID, white
 * space around each part and trailing commas allowed. */
#define PVE_MAX_CPUID CPUSET_MAX
int pve_parse_cpuset(const char *s, char **err);
/* The same, giving the set. */
int pve_cpuset(const char *s, struct cpuset *out, char **err);

/* Proxmox's number sets as in numaN cpus/hostnodes: \d+(?:-\d+)?(?:;\d+(?:-\d+)?)* */
bool pve_valid_number_sets(const char *s);

#endif
