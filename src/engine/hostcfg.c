// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/hostcfg.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/host.h"
#include "base/log.h"

/* ---- kernel command line ---- */

void cmdline_split(const char *text, struct strv *out)
{
	const char *p = text ? text : "";

	for (;;) {
		bool quoted = false;
		const char *start;
		char *tok;
		size_t n = 0;

		while (*p && str_is_space(*p))
			p++;
		if (!*p)
			break;
		/* lib/cmdline.c next_arg(): quotes group white space and go away */
		for (start = p; *p && (quoted || !str_is_space(*p)); p++)
			if (*p == '"')
				quoted = !quoted;
		tok = xcalloc(1, (size_t)(p - start) + 1);
		for (const char *c = start; c < p; c++)
			if (*c != '"')
				tok[n++] = *c;
		strv_push(out, tok);
	}
}

/* parameq(): '-' and '_' are the same in parameter names */
static bool param_name_eq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen && b[i]; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

		if (x != y)
			return false;
	}
	return i == alen && !b[i];
}

const char *cmdline_get(const struct strv *params, const char *key)
{
	const char *found = NULL;

	for (size_t i = 0; params && i < params->n; i++) {
		const char *p = params->v[i], *eq = strchr(p, '=');
		size_t len = eq ? (size_t)(eq - p) : strlen(p);

		if (param_name_eq(p, len, key))
			found = eq ? eq + 1 : "";
	}
	return found;
}

/* ---- where the command line is set ---- */

static struct bootsrc *bootsrc_add(struct bootcfg *cfg, const char *file, unsigned line,
				   const char *var)
{
	struct bootsrc *s;

	cfg->v = xrealloc(cfg->v, (cfg->n + 1) * sizeof(*cfg->v));
	s = &cfg->v[cfg->n++];
	memset(s, 0, sizeof(*s));
	s->file = xstrdup(file);
	s->line = line;
	s->var = var ? xstrdup(var) : NULL;
	return s;
}

/*
 * Read one shell word at *pp (quotes, backslashes), appending its text to
 * buf; advances *pp and counts the newlines it crosses.  Stops at unquoted
 * white space or ';'.
 */
static void shell_word(const char **pp, char *buf, unsigned *lines)
{
	const char *p = *pp;
	size_t n = strlen(buf);

	while (*p && !(str_is_space(*p) || *p == ';')) {
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++) {
				*lines += *p == '\n';
				buf[n++] = *p;
			}
			if (*p)
				p++;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
					p++;
					if (*p == '\n') {
						(*lines)++;
						continue;
					}
				}
				*lines += *p == '\n';
				buf[n++] = *p;
			}
			if (*p)
				p++;
		} else if (*p == '\\' && p[1]) {
			if (p[1] == '\n')
				(*lines)++;
			else
				buf[n++] = p[1];
			p += 2;
		} else {
			buf[n++] = *p++;
		}
	}
	buf[n] = '\0';
	*pp = p;
}

static void add_params(struct bootsrc *s, const char *value)
{
	struct strv all = {0};

	cmdline_split(value, &all);
	for (size_t i = 0; i < all.n; i++) {
		/* "$GRUB_CMDLINE_LINUX_DEFAULT" in a grub.d snippet: a reference
		 * to what another line set, not a parameter of its own */
		if (strchr(all.v[i], '$'))
			continue;
		strv_add(&s->params, all.v[i]);
	}
	strv_clear(&all);
}

void bootcfg_parse_grub(struct bootcfg *cfg, const char *text, const char *file)
{
	static const char *const vars[] = {"GRUB_CMDLINE_LINUX",
					   "GRUB_CMDLINE_LINUX_DEFAULT"};
	const char *p = text ? text : "";
	char *buf = xcalloc(1, strlen(p) + 1); /* any value fits */
	unsigned line = 1;

	while (*p) {
		const char *eol, *name = NULL;
		unsigned at = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (startswith(p, "export ") || startswith(p, "export\t")) {
			p += 6;
			while (*p == ' ' || *p == '\t')
				p++;
		}
		for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
			size_t len = strlen(vars[i]);

			if (!strncmp(p, vars[i], len) && p[len] == '=')
				name = vars[i];
		}
		if (name) {
			struct bootsrc *s = bootsrc_add(cfg, file, at, name);

			p += strlen(name) + 1;
			buf[0] = '\0';
			shell_word(&p, buf, &line);
			add_params(s, buf);
		}
		eol = strchr(p, '\n');
		if (!eol)
			break;
		p = eol + 1;
		line++;
	}
	free(buf);
}

void bootcfg_parse_kernel_cmdline(struct bootcfg *cfg, const char *text, const char *file)
{
	add_params(bootsrc_add(cfg, file, 1, NULL), text);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the entries of dir (under the root) that end in suffix, sorted. */
static void list_dir(const char *dir, const char *suffix, struct strv *out)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (host_path(path, sizeof(path), "%s", dir) < 0)
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), sl = strlen(suffix);

		if (e->d_name[0] == '.' || len <= sl ||
		    strcmp(e->d_name + len - sl, suffix) != 0)
			continue;
		strv_add(out, e->d_name);
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

void bootcfg_read(struct bootcfg *cfg, const struct strv *running)
{
	struct strv snippets = {0};
	char *text = NULL;
	bool sd_boot = false;

	memset(cfg, 0, sizeof(*cfg));
	if (host_read(&text, "/etc/default/grub") == 0)
		bootcfg_parse_grub(cfg, text, "/etc/default/grub");
	free(text);
	list_dir("/etc/default/grub.d", ".cfg", &snippets);
	for (size_t i = 0; i < snippets.n; i++) {
		_cleanup_free_ char *file =
		    xasprintf("/etc/default/grub.d/%s", snippets.v[i]);

		text = NULL;
		if (host_read(&text, "%s", file) == 0)
			bootcfg_parse_grub(cfg, text, file);
		free(text);
	}
	strv_clear(&snippets);
	text = NULL;
	if (host_read(&text, "/etc/kernel/cmdline") == 0)
		bootcfg_parse_kernel_cmdline(cfg, text, "/etc/kernel/cmdline");
	free(text);

	/* GRUB passes BOOT_IMAGE=; systemd-boot passes the initrd from the ESP,
	 * "initrd=\EFI\proxmox\<version>\initrd.img-<version>" */
	if (running && cmdline_get(running, "BOOT_IMAGE")) {
		sd_boot = false;
	} else if (running && cmdline_get(running, "initrd") &&
		   cmdline_get(running, "initrd")[0] == '\\') {
		sd_boot = true;
	} else {
		sd_boot = host_exists("/etc/kernel/proxmox-boot-uuids") &&
			  host_exists("/etc/kernel/cmdline") &&
			  host_exists("/sys/firmware/efi");
	}
	cfg->loader = sd_boot ? BOOT_SYSTEMD_BOOT : BOOT_GRUB;
}

const struct bootsrc *bootcfg_find(const struct bootcfg *cfg, const char *key)
{
	const struct bootsrc *found = NULL;

	for (size_t i = 0; i < cfg->n; i++)
		if (cmdline_get(&cfg->v[i].params, key))
			found = &cfg->v[i];
	return found;
}

void bootcfg_clear(struct bootcfg *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->v[i].file);
		free(cfg->v[i].var);
		strv_clear(&cfg->v[i].params);
	}
	free(cfg->v);
	memset(cfg, 0, sizeof(*cfg));
}

char *bootsrc_describe(const struct bootsrc *s)
{
	if (s->var)
		return xasprintf("%s:%u, %s", s->file, s->line, s->var);
	return xstrdup(s->file);
}

const char *boot_loader_file(enum boot_loader l)
{
	return l == BOOT_SYSTEMD_BOOT ? "/etc/kernel/cmdline"
				      : "GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub";
}

const char *boot_loader_apply(enum boot_loader l)
{
	/* pve-docs: update-grub calls proxmox-boot-tool refresh itself where
	 * proxmox-boot-tool manages the ESPs */
	return l == BOOT_SYSTEMD_BOOT ? "proxmox-boot-tool refresh" : "update-grub";
}

/* ---- modprobe.d ---- */

static const struct {
	const char *word;
	enum modconf_kind kind;
} modconf_words[] = {
    {"alias", MODCONF_ALIAS},	  {"blacklist", MODCONF_BLACKLIST},
    {"install", MODCONF_INSTALL}, {"options", MODCONF_OPTIONS},
    {"remove", MODCONF_REMOVE},	  {"softdep", MODCONF_SOFTDEP},
};

static void modconf_add(struct modconf *mc, const char *file, unsigned line,
			const char *text)
{
	struct strv tok = {0};
	struct modconf_line *l;
	size_t len = 1;
	char *args;

	/* modprobe.d(5) words are separated by white space; no quoting */
	for (const char *p = text; *p;) {
		const char *s;

		while (*p && str_is_space(*p))
			p++;
		s = p;
		while (*p && !str_is_space(*p))
			p++;
		if (p > s)
			strv_push(&tok, xstrndup(s, (size_t)(p - s)));
	}
	if (tok.n == 0)
		return;
	mc->v = xrealloc(mc->v, (mc->n + 1) * sizeof(*mc->v));
	l = &mc->v[mc->n++];
	memset(l, 0, sizeof(*l));
	l->file = xstrdup(file);
	l->line = line;
	l->kind = MODCONF_OTHER;
	for (size_t i = 0; i < ARRAY_SIZE(modconf_words); i++)
		if (streq(tok.v[0], modconf_words[i].word))
			l->kind = modconf_words[i].kind;
	l->module = xstrdup(tok.n > 1 ? tok.v[1] : "");
	for (char *c = l->module; *c; c++)
		if (*c == '-')
			*c = '_';
	for (size_t i = 2; i < tok.n; i++)
		len += strlen(tok.v[i]) + 1;
	args = xcalloc(1, len);
	for (size_t i = 2, at = 0; i < tok.n; i++) {
		size_t tl = strlen(tok.v[i]);

		if (i > 2)
			args[at++] = ' ';
		memcpy(args + at, tok.v[i], tl + 1);
		at += tl;
	}
	l->args = args;
	l->text = xstrdup(text);
	{
		/* trim for messages */
		size_t tl = strlen(l->text);
		char *t = l->text;

		while (tl > 0 && str_is_space(t[tl - 1]))
			t[--tl] = '\0';
		while (str_is_space(*t))
			memmove(t, t + 1, tl--);
	}
	strv_clear(&tok);
}

void modconf_parse(struct modconf *mc, const char *text, const char *file)
{
	const char *p = text ? text : "";
	char *buf = xcalloc(1, strlen(p) + 1); /* a logical line fits */
	unsigned line = 0;

	while (*p) {
		size_t n = 0;
		unsigned first = line + 1;
		const char *s;

		/* one logical line: a trailing backslash joins the next */
		for (;;) {
			const char *eol = strchr(p, '\n');
			size_t len = eol ? (size_t)(eol - p) : strlen(p);

			line++;
			if (len > 0 && p[len - 1] == '\\') {
				memcpy(buf + n, p, len - 1);
				n += len - 1;
				buf[n++] = ' ';
				p = eol ? eol + 1 : p + len;
				if (!eol)
					break;
				continue;
			}
			memcpy(buf + n, p, len);
			n += len;
			p = eol ? eol + 1 : p + len;
			break;
		}
		buf[n] = '\0';
		s = buf;
		while (str_is_space(*s))
			s++;
		if (*s && *s != '#')
			modconf_add(mc, file, first, s);
	}
	free(buf);
}

struct conf_file {
	char *name, *path;
};

static int cmp_conf_file(const void *a, const void *b)
{
	return strcmp(((const struct conf_file *)a)->name,
		      ((const struct conf_file *)b)->name);
}

void modconf_read(struct modconf *mc)
{
	/* libkmod's search order: a file hides same-named ones further down */
	static const char *const dirs[] = {
	    "/etc/modprobe.d",	   "/run/modprobe.d", "/usr/local/lib/modprobe.d",
	    "/usr/lib/modprobe.d", "/lib/modprobe.d",
	};
	struct conf_file *files = NULL;
	struct strv seen = {0};
	size_t n = 0;

	memset(mc, 0, sizeof(*mc));
	for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
		struct strv here = {0};

		list_dir(dirs[d], ".conf", &here);
		for (size_t i = 0; i < here.n; i++) {
			if (strv_contains(&seen, here.v[i]))
				continue;
			strv_add(&seen, here.v[i]);
			files = xrealloc(files, (n + 1) * sizeof(*files));
			files[n].name = xstrdup(here.v[i]);
			files[n].path = xasprintf("%s/%s", dirs[d], here.v[i]);
			n++;
		}
		strv_clear(&here);
	}
	strv_clear(&seen);
	/* in name order, whatever directory each came from */
	if (n > 1)
		qsort(files, n, sizeof(*files), cmp_conf_file);
	for (size_t i = 0; i < n; i++) {
		char *text = NULL;

		if (host_read(&text, "%s", files[i].path) == 0)
			modconf_parse(mc, text, files[i].path);
		else
			log_debug("cannot read %s", files[i].path);
		free(text);
		free(files[i].name);
		free(files[i].path);
	}
	free(files);
}

void modconf_clear(struct modconf *mc)
{
	for (size_t i = 0; i < mc->n; i++) {
		free(mc->v[i].file);
		free(mc->v[i].module);
		free(mc->v[i].args);
		free(mc->v[i].text);
	}
	free(mc->v);
	memset(mc, 0, sizeof(*mc));
}

char *modconf_option(const struct modconf_line *l, const char *key)
{
	struct strv opts = {0};
	char *found = NULL;

	if (l->kind != MODCONF_OPTIONS)
		return NULL;
	cmdline_split(l->args, &opts);
	for (size_t i = 0; i < opts.n; i++) {
		const char *eq = strchr(opts.v[i], '=');
		size_t len = eq ? (size_t)(eq - opts.v[i]) : strlen(opts.v[i]);

		if (param_name_eq(opts.v[i], len, key)) {
			free(found);
			found = xstrdup(eq ? eq + 1 : "");
		}
	}
	strv_clear(&opts);
	return found;
}

/* ---- /proc/iomem ---- */

void iomem_parse(const char *text, struct iomem_range **v, size_t *n)
{
	const char *p = text ? text : "";
	size_t cap = 0;

	*v = NULL;
	*n = 0;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		_cleanup_free_ char *line = xstrndup(p, len);
		unsigned long long start, end;
		unsigned depth = 0;
		char *s = line, *dash, *colon, *e1, *e2;

		p = eol ? eol + 1 : p + len;
		while (*s == ' ')
			s++, depth++;
		dash = strchr(s, '-');
		colon = strstr(s, " : ");
		if (!dash || !colon || dash > colon || dash == s)
			continue;
		errno = 0;
		start = strtoull(s, &e1, 16);
		end = strtoull(dash + 1, &e2, 16);
		if (errno || e1 != dash || e2 != colon || end < start || !colon[3])
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*v = xrealloc(*v, cap * sizeof(**v));
		}
		(*v)[*n].start = start;
		(*v)[*n].end = end;
		(*v)[*n].depth = depth / 2;
		(*v)[*n].name = xstrdup(colon + 3);
		(*n)++;
	}
}

void iomem_free(struct iomem_range *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

bool iomem_is_framebuffer(const char *name)
{
	static const char *const names[] = {"efifb", "simplefb", "simpledrm", "vesafb",
					    "BOOTFB"};
	static const char *const devs[] = {"efi-framebuffer", "simple-framebuffer",
					   "vesa-framebuffer"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(name, names[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
		if (startswith(name, devs[i]))
			return true;
	return false;
}
