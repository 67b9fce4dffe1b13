/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host configuration the passthrough guides have people edit, read for
 * the doctor (`vfiohook check`): the kernel command line (/proc/cmdline) and
 * where the administrator sets it (GRUB's /etc/default/grub and
 * /etc/default/grub.d/NAME.cfg, or /etc/kernel/cmdline for systemd-boot via
 * proxmox-boot-tool; pve-docs "Editing the Kernel Commandline"), the
 * modprobe.d files (modprobe.d(5)), and the firmware framebuffers in
 * /proc/iomem.
 *
 * The parsers are pure and fuzzed; each keeps the file and line of what it
 * found, because the doctor's findings name them.  libkmod reads the same
 * modprobe.d files, but does not say where a line came from.
 */
#ifndef VFIOHOOK_HOSTCFG_H
#define VFIOHOOK_HOSTCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* ---- kernel command line ---- */

/*
 * Split a kernel command line into parameters as the kernel does
 * (lib/cmdline.c next_arg): white space separates, double quotes group and
 * are removed ("a=\"b c\"" -> a=b c).  Appends to out.
 */
void cmdline_split(const char *text, struct strv *out);
/*
 * The value of the last parameter named key ('-' and '_' are the same in
 * names, as the kernel's parameq() has it): "" for a bare "key", NULL when
 * absent.
 */
const char *cmdline_get(const struct strv *params, const char *key);

/* ---- where the command line is set ---- */

enum boot_loader {
	BOOT_GRUB,	   /* /etc/default/grub, `update-grub` */
	BOOT_SYSTEMD_BOOT, /* /etc/kernel/cmdline, `proxmox-boot-tool refresh` */
};

/* One place that puts parameters on the command line. */
struct bootsrc {
	char *file;    /* "/etc/default/grub" */
	unsigned line; /* of the assignment (its first line) */
	char *var;     /* "GRUB_CMDLINE_LINUX_DEFAULT"; NULL for /etc/kernel/cmdline */
	struct strv params; /* shell quoting removed; "$VAR" references left out */
};

struct bootcfg {
	struct bootsrc *v;
	size_t n;
	enum boot_loader loader;
};

/* Add the GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT assignments of
 * a shell defaults file (quotes '' and "" and backslash escapes as the shell
 * reads them; a quoted value may span lines).  Pure. */
void bootcfg_parse_grub(struct bootcfg *cfg, const char *text, const char *file);
/* Add /etc/kernel/cmdline's text (one line of parameters).  Pure. */
void bootcfg_parse_kernel_cmdline(struct bootcfg *cfg, const char *text,
				  const char *file);
/*
 * Read /etc/default/grub, then /etc/default/grub.d/ *.cfg in name order (the
 * order update-grub sources them), then /etc/kernel/cmdline, and tell the
 * boot loader: systemd-boot when the running command line came from it
 * (an "initrd=\EFI\..." parameter, GRUB passes BOOT_IMAGE=) or, failing
 * that, when proxmox-boot-tool is set up (/etc/kernel/proxmox-boot-uuids)
 * with /etc/kernel/cmdline on an EFI boot; GRUB otherwise.  running may be
 * NULL.  Missing files are fine.
 */
void bootcfg_read(struct bootcfg *cfg, const struct strv *running);
/* The last source that sets parameter key ('-' == '_'), or NULL. */
const struct bootsrc *bootcfg_find(const struct bootcfg *cfg, const char *key);
void bootcfg_clear(struct bootcfg *cfg);
/* "/etc/default/grub:6, GRUB_CMDLINE_LINUX_DEFAULT" or "/etc/kernel/cmdline" */
char *bootsrc_describe(const struct bootsrc *s);
/* The file to edit and the command that applies it, for the loader. */
const char *boot_loader_file(enum boot_loader l);
const char *boot_loader_apply(enum boot_loader l);

/* ---- modprobe.d ---- */

enum modconf_kind {
	MODCONF_ALIAS,
	MODCONF_BLACKLIST,
	MODCONF_INSTALL,
	MODCONF_OPTIONS,
	MODCONF_REMOVE,
	MODCONF_SOFTDEP,
	MODCONF_OTHER,
};

struct modconf_line {
	char *file; /* "/etc/modprobe.d/vfio.conf" */
	unsigned line;
	enum modconf_kind kind;
	char *module; /* the command's module, '-' turned to '_' */
	char *args;   /* the rest, white space collapsed: "ids=10de:1b80,10de:10f0" */
	char *text;   /* the whole command as written (continuations joined) */
};

struct modconf {
	struct modconf_line *v;
	size_t n;
};

/* Parse one modprobe.d file's text: '#' comments, '\' continues a line,
 * commands alias, blacklist, install, options, remove, softdep (others are
 * kept as MODCONF_OTHER).  Pure. */
void modconf_parse(struct modconf *mc, const char *text, const char *file);
/*
 * Read every *.conf of /etc/modprobe.d, /run/modprobe.d,
 * /usr/local/lib/modprobe.d, /usr/lib/modprobe.d and /lib/modprobe.d, in
 * name order, a file in an earlier directory hiding one of the same name in
 * a later one (as libkmod reads them).
 */
void modconf_read(struct modconf *mc);
void modconf_clear(struct modconf *mc);
/* The value of option key in an options line's args ("ids" in "ids=a,b"), or NULL. */
char *modconf_option(const struct modconf_line *l, const char *key);

/* ---- /proc/iomem ---- */

struct iomem_range {
	unsigned long long start, end; /* inclusive */
	unsigned depth;		       /* nesting: two spaces a level */
	char *name;
};

/* Parse /proc/iomem's text (lines "  START-END : NAME"); lines of another
 * shape are skipped.  *v is freed with iomem_free().  Pure. */
void iomem_parse(const char *text, struct iomem_range **v, size_t *n);
void iomem_free(struct iomem_range *v, size_t n);
/* A firmware or boot framebuffer's name: efifb, simplefb, simpledrm,
 * vesafb, BOOTFB, or a {efi,simple,vesa}-framebuffer.N device. */
bool iomem_is_framebuffer(const char *name);

#endif
