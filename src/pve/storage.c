// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/storage.h"

#include <errno.h>
#include <stdio.h>

#include "base/host.h"
#include "pve/propstr.h"

/* storage types whose volumes are files below a mount point
 * (PVE::Storage plugins that are PVE::Storage::Plugin file based) */
static const char *const file_types[] = {"dir",	   "nfs",	"cifs",
					 "cephfs", "glusterfs", "btrfs"};
/* the ones Proxmox mounts itself, at /mnt/pve/<id> unless `path` says */
static const char *const mounted_types[] = {"nfs", "cifs", "cephfs", "glusterfs"};

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (streq(list[i], s))
			return true;
	return false;
}

static void storage_clear(struct pve_storage *s)
{
	free(s->id);
	free(s->type);
	free(s->path);
	strv_clear(&s->content);
	strv_clear(&s->nodes);
	memset(s, 0, sizeof(*s));
}

void storage_free(struct storage_cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++)
		storage_clear(&cfg->v[i]);
	free(cfg->v);
	strv_clear(&cfg->warnings);
	free(cfg);
}

const struct pve_storage *storage_find(const struct storage_cfg *cfg, const char *id)
{
	for (size_t i = 0; cfg && id && i < cfg->n; i++)
		if (streq(cfg->v[i].id, id))
			return &cfg->v[i];
	return NULL;
}

bool storage_has_content(const struct pve_storage *s, const char *content)
{
	return s && strv_contains(&s->content, content);
}

bool storage_on_node(const struct pve_storage *s, const char *node)
{
	return s && !s->disabled && (s->nodes.n == 0 || strv_contains(&s->nodes, node));
}

static void warn(struct storage_cfg *cfg, unsigned line, const char *fmt, ...)
    _printf_(3, 4);
static void warn(struct storage_cfg *cfg, unsigned line, const char *fmt, ...)
{
	va_list ap;
	_cleanup_free_ char *msg = NULL;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	strv_push(&cfg->warnings, xasprintf(STORAGE_FILE ":%u: %s", line, msg));
}

/* "a,b ,c" -> strv; Proxmox's content and node lists are comma-separated */
static void split_list(const char *v, struct strv *out)
{
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;

	strv_clear(out);
	for (char *t = strtok_r(copy, ", \t", &save); t;
	     t = strtok_r(NULL, ", \t", &save))
		strv_add(out, t);
}

static void set_key(struct storage_cfg *cfg, struct pve_storage *s, const char *k,
		    const char *v, unsigned line)
{
	bool b;

	if (streq(k, "path")) {
		if (!v || v[0] != '/') {
			warn(cfg, line,
			     "storage '%s': path '%s' is not absolute; ignored", s->id,
			     v ? v : "");
			return;
		}
		free(s->path);
		s->path = xstrdup(v);
	} else if (streq(k, "content")) {
		split_list(v ? v : "", &s->content);
	} else if (streq(k, "nodes")) {
		split_list(v ? v : "", &s->nodes);
	} else if (streq(k, "disable") || streq(k, "shared")) {
		/* SectionConfig: a boolean key without a value means 1 */
		if (!v)
			b = true;
		else if (pve_parse_bool(v, &b) < 0) {
			warn(cfg, line, "storage '%s': %s '%s' is not a boolean; ignored",
			     s->id, k, v);
			return;
		}
		*(streq(k, "disable") ? &s->disabled : &s->shared) = b;
	}
	/* other keys (server, export, vgname, ...) do not matter here */
}

static struct pve_storage *add_section(struct storage_cfg *cfg, const char *type,
				       const char *id, unsigned line)
{
	struct pve_storage *s = (struct pve_storage *)storage_find(cfg, id);

	if (s) {
		warn(
		    cfg, line,
		    "storage '%s' defined again (first on line %u); the later one counts",
		    id, s->line);
		storage_clear(s);
	} else {
		cfg->v = xrealloc(cfg->v, (cfg->n + 1) * sizeof(*cfg->v));
		s = &cfg->v[cfg->n++];
		memset(s, 0, sizeof(*s));
	}
	s->id = xstrdup(id);
	s->type = xstrdup(type);
	s->line = line;
	return s;
}

/* pve-storage-id: [a-z][a-z0-9\-\_\.]*[a-z0-9] */
static bool storage_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == n - 1 || (c != '-' && c != '_' && c != '.')))
			return false;
	}
	return true;
}

/*
 * PVE::Storage::Plugin::parse_config: `local` is always the directory
 * /var/lib/vz.  Missing, not a dir, or a dir elsewhere: the built-in one
 * replaces it (its content list has snippets); without path it gets
 * /var/lib/vz; it never has a node restriction.
 */
static void normalise_local(struct storage_cfg *cfg)
{
	struct pve_storage *s = (struct pve_storage *)storage_find(cfg, "local");

	if (!s || !streq(s->type, "dir") || (s->path && !streq(s->path, "/var/lib/vz"))) {
		if (s) {
			warn(
			    cfg, s->line,
			    "storage 'local' is not the directory /var/lib/vz; Proxmox uses its built-in local (/var/lib/vz) instead");
			storage_clear(s);
			s->id = xstrdup("local");
			s->type = xstrdup("dir");
		} else {
			s = add_section(cfg, "dir", "local", 0);
		}
		s->path = xstrdup("/var/lib/vz");
		split_list("backup,images,iso,rootdir,snippets,vztmpl", &s->content);
	}
	if (!s->path)
		s->path = xstrdup("/var/lib/vz");
	strv_clear(&s->nodes);
}

int storage_parse(const char *text, struct storage_cfg **out)
{
	struct storage_cfg *cfg = xcalloc(1, sizeof(*cfg));
	struct pve_storage *cur = NULL;
	const char *p = text ? text : "";
	unsigned lineno = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ char *line = xstrndup(p, len);
		char *s = line, *colon;

		p = nl ? nl + 1 : p + len;
		lineno++;
		if (str_is_blank(s, len)) {
			cur = NULL; /* an empty line ends the section */
			continue;
		}
		if (s[0] == '#')
			continue;
		if (!str_is_space(s[0])) {
			/* ^(\S+):\s*(\S+)\s*$ */
			char *type = s, *id, *end;

			colon = strchr(s, ':');
			cur = NULL;
			if (!colon || colon == s) {
				warn(cfg, lineno,
				     "cannot parse section header '%s'; skipped", s);
				continue;
			}
			*colon = '\0';
			id = colon + 1;
			while (str_is_space(*id))
				id++;
			end = id + strlen(id);
			while (end > id && str_is_space(end[-1]))
				*--end = '\0';
			if (strpbrk(type, " \t") || !*id || strpbrk(id, " \t") ||
			    !storage_id_valid(id)) {
				warn(cfg, lineno,
				     "cannot parse section header '%s: %s'; skipped",
				     type, id);
				continue;
			}
			cur = add_section(cfg, type, id, lineno);
			continue;
		}
		if (!cur)
			continue; /* a property of a skipped section */
		{
			/* ^\s+(\S+)(\s+(.*\S))?\s*$ */
			char *k = s, *v, *end;

			while (str_is_space(*k))
				k++;
			v = k;
			while (*v && !str_is_space(*v))
				v++;
			if (*v)
				*v++ = '\0';
			while (str_is_space(*v))
				v++;
			end = v + strlen(v);
			while (end > v && str_is_space(end[-1]))
				*--end = '\0';
			set_key(cfg, cur, k, *v ? v : NULL, lineno);
		}
	}
	for (size_t i = 0; i < cfg->n; i++) {
		struct pve_storage *s = &cfg->v[i];

		if (!s->path &&
		    in_list(mounted_types, ARRAY_SIZE(mounted_types), s->type))
			s->path = xasprintf("/mnt/pve/%s", s->id);
		if (s->path && !in_list(file_types, ARRAY_SIZE(file_types), s->type)) {
			free(s->path);
			s->path = NULL;
		}
	}
	normalise_local(cfg);
	*out = cfg;
	return 0;
}

int storage_read(struct storage_cfg **out, char **err)
{
	_cleanup_free_ char *text = NULL;
	int r = host_read(&text, STORAGE_FILE);

	if (r < 0 && r != -ENOENT)
		return errnof(err, r, "cannot read " STORAGE_FILE ": %s", strerror(-r));
	return storage_parse(text, out);
}

int storage_snippet_file(const struct storage_cfg *cfg, const char *volid, char **path,
			 char **storage, char **err)
{
	const char *colon = volid ? strchr(volid, ':') : NULL;
	_cleanup_free_ char *id = NULL;
	const struct pve_storage *s;
	const char *name;

	*path = NULL;
	if (storage)
		*storage = NULL;
	/* PVE::Storage::Plugin parse_volname: ^snippets/([^/]+)$ */
	if (!colon || colon == volid || !startswith(colon + 1, "snippets/") ||
	    !colon[10] || strchr(colon + 10, '/'))
		return errnof(
		    err, -EINVAL,
		    "'%s' is not a snippets volume (expected STORAGE:snippets/NAME, e.g. local:snippets/vfiohook)",
		    volid ? volid : "");
	id = xstrndup(volid, (size_t)(colon - volid));
	name = colon + 10;
	if (storage)
		*storage = xstrdup(id);
	s = storage_find(cfg, id);
	if (!s)
		return errnof(err, -ENOENT,
			      "storage '%s' of '%s' is not defined in " STORAGE_FILE, id,
			      volid);
	if (!s->path)
		return errnof(
		    err, -EMEDIUMTYPE,
		    "storage '%s' (type %s) has no file system path, so it cannot hold snippets; use a directory storage such as local",
		    id, s->type);
	*path = xasprintf("%s/snippets/%s", s->path, name);
	return 0;
}

bool storage_volid_is_vfiohook(const char *volid)
{
	const char *s = volid ? strstr(volid, ":snippets/") : NULL;

	return s && streq(s + strlen(":snippets/"), STORAGE_SNIPPET_NAME);
}
