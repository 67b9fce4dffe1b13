// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfiohook enable VMID [--storage ID] [--chain] / disable VMID — register
 * vfiohook as a VM's hookscript, by hand.  (Never from a hook phase: the
 * phases run under the VM's config lock, and `qm set` would wait for it.)
 *
 * enable: finds a storage with the content type `snippets` (--storage, or
 * `local`, or the first one on this node), places `snippets/vfiohook` there
 * as a symlink to this binary (so a package upgrade applies), and runs
 * `qm set VMID --hookscript STORAGE:snippets/vfiohook` with the `qm` on
 * PATH.  A VM has one hookscript: another one already set is never replaced
 * silently; with --chain it is recorded as policy `chain` in
 * /etc/vfiohook.conf and runs after vfiohook in every phase.
 *
 * disable: puts the chained hookscript back (or deletes the option) and
 * forgets the chain.
 */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "cli.h"
#include "engine/chain.h"
#include "engine/observe.h"
#include "engine/policy.h"
#include "pve/pveconf.h"
#include "pve/storage.h"

extern char **environ;

/* Run `qm ARGS...` (the qm on PATH); its output goes to ours.  Exit status. */
static int run_qm(char *const argv[])
{
	pid_t pid;
	int r, ws;

	fflush(stdout);
	fflush(stderr);
	r = posix_spawnp(&pid, "qm", NULL, NULL, argv, environ);
	if (r != 0) {
		log_err(
		    "cannot run qm: %s; is this a Proxmox VE node (qm is in /usr/sbin)?",
		    strerror(r));
		return -1;
	}
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int qm_set(unsigned vmid, const char *opt, const char *value)
{
	char id[16];
	char *argv[] = {"qm", "set", id, (char *)opt, (char *)value, NULL};
	int st;

	snprintf(id, sizeof(id), "%u", vmid);
	st = run_qm(argv);
	if (st != 0) {
		if (st > 0)
			log_err("'qm set %u %s %s' failed (exit status %d)", vmid, opt,
				value, st);
		return -1;
	}
	return 0;
}

static int parse_vmid_arg(struct cli *c, const char *cmd, unsigned *vmid)
{
	if (c->argc != 1 || vmid_parse(c->argv[0], vmid) < 0) {
		log_err("usage: vfiohook %s VMID (VMID is a positive number such as 100)",
			cmd);
		return -1;
	}
	return 0;
}

/* The VM's config on this node; logs why not. */
static struct vmconf *load_conf(unsigned vmid)
{
	struct vmconf *conf = NULL;
	_cleanup_free_ char *err = NULL;

	if (vmconf_read(vmid, NULL, &conf, &err) < 0) {
		log_err("%s", err);
		return NULL;
	}
	return conf;
}

/* The chain recorded for vmid in /etc/vfiohook.conf, or NULL; -1 logged. */
static int recorded_chain(unsigned vmid, char **chain)
{
	struct policy pol;
	_cleanup_free_ char *err = NULL;
	int r = policy_load(vmid, NULL, &pol, &err);

	*chain = pol.chain ? xstrdup(pol.chain) : NULL;
	policy_clear(&pol);
	if (r < 0) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/* "iso,vztmpl,backup," : the storage's content list, for pvesm set --content */
static char *content_list(const struct pve_storage *s)
{
	char *list = xstrdup("");

	for (size_t i = 0; s && i < s->content.n; i++) {
		char *l = xasprintf("%s%s,", list, s->content.v[i]);

		free(list);
		list = l;
	}
	return list;
}

/*
 * The storage for the hookscript: --storage, else `local` when it has
 * snippets, else the first storage on this node that has them.  Logs why
 * none fits, with the command that fixes it.
 */
static const struct pve_storage *pick_storage(const struct storage_cfg *cfg,
					      const char *want)
{
	const struct pve_storage *s;

	for (size_t i = 0; i < cfg->warnings.n; i++)
		log_warn("%s", cfg->warnings.v[i]);
	if (want) {
		s = storage_find(cfg, want);
		if (!s)
			log_err("storage '%s' is not defined in " STORAGE_FILE
				"; see 'pvesm status' for the storages there are",
				want);
		else if (!s->path)
			log_err(
			    "storage '%s' (type %s) has no file system path, so it cannot hold a hookscript; use a directory storage such as local",
			    want, s->type);
		else if (!storage_has_content(s, "snippets")) {
			_cleanup_free_ char *list = content_list(s);

			/* pvesm set --content replaces the list: keep what it has */
			log_err(
			    "storage '%s' does not have the content type 'snippets'; enable it with 'pvesm set %s --content %ssnippets' (or Datacenter > Storage > %s > Content), then run this again",
			    want, want, list, want);
		} else if (!storage_on_node(s, host_node()))
			log_err(
			    "storage '%s' is %s on node %s; pick another with --storage",
			    want, s->disabled ? "disabled" : "not available",
			    host_node());
		else
			return s;
		return NULL;
	}
	s = storage_find(cfg, "local");
	if (s && s->path && storage_has_content(s, "snippets") &&
	    storage_on_node(s, host_node()))
		return s;
	for (size_t i = 0; i < cfg->n; i++) {
		s = &cfg->v[i];
		if (s->path && storage_has_content(s, "snippets") &&
		    storage_on_node(s, host_node()))
			return s;
	}
	s = storage_find(cfg, "local");
	if (s && s->disabled && storage_has_content(s, "snippets")) {
		log_err(
		    "no storage on node %s that has the content type 'snippets' is enabled: local has it but is disabled; enable it with 'pvesm set local --disable 0' (or Datacenter > Storage > local > Edit > Enable), or pick a storage with --storage, then run this again",
		    host_node());
		return NULL;
	}
	{
		_cleanup_free_ char *list = content_list(s);

		log_err(
		    "no storage on node %s has the content type 'snippets', where Proxmox looks for hookscripts; enable it on local with 'pvesm set local --content %ssnippets' (or Datacenter > Storage > local > Edit > Content), then run this again",
		    host_node(), list);
	}
	return NULL;
}

/*
 * <storage path>/snippets/vfiohook -> this binary.  An existing symlink to
 * it is left; another symlink or a copy of an older vfiohook is replaced
 * (atomically) so upgrades of the package apply.
 */
static int place_snippet(const struct pve_storage *s, bool dry_run)
{
	char self[PATH_MAX], cur[PATH_MAX];
	_cleanup_free_ char *dir = host_pathdup("%s/snippets", s->path);
	_cleanup_free_ char *link = xasprintf("%s/" STORAGE_SNIPPET_NAME, dir);
	_cleanup_free_ char *tmp = xasprintf("%s.new%ld", link, (long)getpid());
	struct stat st;
	ssize_t n;
	int r;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		log_err("cannot tell where this binary is (/proc/self/exe): %s",
			strerror(errno));
		return -1;
	}
	self[n] = '\0';
	if (lstat(link, &st) == 0) {
		n = S_ISLNK(st.st_mode) ? readlink(link, cur, sizeof(cur) - 1) : -1;
		if (n >= 0) {
			cur[n] = '\0';
			if (streq(cur, self)) {
				log_info("%s/snippets/" STORAGE_SNIPPET_NAME
					 " already points to %s",
					 s->path, self);
				return 0;
			}
		} else if (!S_ISREG(st.st_mode)) {
			log_err("%s/snippets/" STORAGE_SNIPPET_NAME
				" exists and is not a file or symlink; remove it first",
				s->path);
			return -1;
		}
		log_info("%s/snippets/" STORAGE_SNIPPET_NAME
			 " %s; %s it with a symlink to %s",
			 s->path, n >= 0 ? "points elsewhere" : "is a copy",
			 dry_run ? "would replace" : "replacing", self);
	} else {
		log_info("%s %s/snippets/" STORAGE_SNIPPET_NAME " -> %s",
			 dry_run ? "would create" : "creating", s->path, self);
	}
	if (dry_run)
		return 0;
	r = host_mkdir_p(0755, "%s/snippets", s->path);
	if (r < 0) {
		log_err("cannot create %s/snippets: %s", s->path, strerror(-r));
		return -1;
	}
	unlink(tmp);
	if (symlink(self, tmp) < 0 || rename(tmp, link) < 0) {
		log_err("cannot create %s/snippets/" STORAGE_SNIPPET_NAME ": %s", s->path,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cmd_enable(struct cli *c)
{
	struct storage_cfg *cfg = NULL;
	struct vmconf *conf = NULL;
	const struct pve_storage *s;
	const struct pveconf_line *hs;
	_cleanup_free_ char *err = NULL, *target = NULL, *old_chain = NULL, *path = NULL;
	const char *cur, *new_chain = NULL;
	unsigned vmid;
	int r = EXIT_REFUSED;

	if (parse_vmid_arg(c, "enable", &vmid) < 0)
		return EXIT_USAGE;
	conf = load_conf(vmid);
	if (!conf)
		return EXIT_USAGE;
	if (recorded_chain(vmid, &old_chain) < 0) {
		r = EXIT_USAGE;
		goto out;
	}
	if (storage_read(&cfg, &err) < 0) {
		log_err("%s", err);
		r = EXIT_USAGE;
		goto out;
	}
	s = pick_storage(cfg, c->storage);
	if (!s)
		goto out;
	target = xasprintf("%s:snippets/" STORAGE_SNIPPET_NAME, s->id);
	hs = vmconf_get(conf, "hookscript");
	cur = hs ? hs->value : NULL;

	if (cur && !storage_volid_is_vfiohook(cur)) {
		if (!c->chain) {
			log_err(
			    "VM %u already has the hookscript '%s'; a VM has only one, and vfiohook never replaces it silently. To keep it, let vfiohook run it after its own work in every phase: 'vfiohook enable %u --chain'",
			    vmid, cur, vmid);
			goto out;
		}
		free(err);
		err = NULL;
		/* Proxmox would refuse to start the VM with it: so do we, now */
		if (chain_resolve(cur, &path, &err) < 0) {
			log_err(
			    "cannot chain VM %u's %s; Proxmox could not start the VM with it either: fix it, or remove it with 'qm set %u --delete hookscript', then run this again",
			    vmid, err, vmid);
			goto out;
		}
		new_chain = cur;
	} else if (c->chain) {
		log_info("VM %u has %s: nothing to chain", vmid,
			 cur ? "vfiohook as its hookscript already" : "no hookscript");
	}
	if (place_snippet(s, c->dry_run) < 0)
		goto out;
	if (new_chain && !streq(new_chain, old_chain)) {
		log_info("%s chain = %s under [vm %u] in %s",
			 c->dry_run ? "would record" : "recording", new_chain, vmid,
			 POLICY_CONF_PATH);
		free(err);
		err = NULL;
		if (!c->dry_run && chain_conf_write(vmid, new_chain, &err) < 0) {
			log_err("%s", err);
			goto out;
		}
	}
	if (streq(cur, target)) {
		log_info("VM %u: %s is its hookscript already", vmid, target);
		r = EXIT_OK;
		goto out;
	}
	if (cur && storage_volid_is_vfiohook(cur))
		log_info("VM %u: moving its hookscript from %s to %s", vmid, cur, target);
	if (c->dry_run) {
		log_info("would run: qm set %u --hookscript %s", vmid, target);
		r = EXIT_OK;
		goto out;
	}
	if (qm_set(vmid, "--hookscript", target) < 0) {
		/* leave /etc/vfiohook.conf as it was */
		if (new_chain && !streq(new_chain, old_chain)) {
			free(err);
			err = NULL;
			if (chain_conf_write(vmid, old_chain, &err) < 0)
				log_err("%s", err);
		}
		goto out;
	}
	log_info("VM %u: hookscript %s%s%s", vmid, target,
		 new_chain ? ", then the chained " : "", new_chain ? new_chain : "");
	r = EXIT_OK;
out:
	storage_free(cfg);
	vmconf_free(conf);
	return r;
}

int cmd_disable(struct cli *c)
{
	struct vmconf *conf = NULL;
	const struct pveconf_line *hs;
	_cleanup_free_ char *err = NULL, *chain = NULL;
	unsigned vmid;
	int r = EXIT_REFUSED;

	if (parse_vmid_arg(c, "disable", &vmid) < 0)
		return EXIT_USAGE;
	conf = load_conf(vmid);
	if (!conf)
		return EXIT_USAGE;
	if (recorded_chain(vmid, &chain) < 0) {
		r = EXIT_USAGE;
		goto out;
	}
	hs = vmconf_get(conf, "hookscript");
	if (!hs || !storage_volid_is_vfiohook(hs->value)) {
		log_info(
		    "VM %u does not use vfiohook as its hookscript (%s%s): nothing to do",
		    vmid, hs ? "it has " : "it has none", hs ? hs->value : "");
		if (chain)
			log_warn(
			    "chain = %s is still recorded for VM %u in %s; remove it there if it is stale",
			    chain, vmid, POLICY_CONF_PATH);
		r = EXIT_OK;
		goto out;
	}
	if (observe_vm_running(vmid))
		log_warn(
		    "VM %u is running: vfiohook will not run at its stop, so its devices stay on vfio-pci; give them back afterwards with 'vfiohook release %u'",
		    vmid, vmid);
	if (c->dry_run) {
		if (chain)
			log_info(
			    "would run: qm set %u --hookscript %s, and drop chain from %s",
			    vmid, chain, POLICY_CONF_PATH);
		else
			log_info("would run: qm set %u --delete hookscript", vmid);
		r = EXIT_OK;
		goto out;
	}
	if (chain ? qm_set(vmid, "--hookscript", chain) < 0
		  : qm_set(vmid, "--delete", "hookscript") < 0)
		goto out;
	if (chain && chain_conf_write(vmid, NULL, &err) < 0) {
		log_err("%s", err);
		goto out;
	}
	if (chain)
		log_info("VM %u: hookscript %s restored", vmid, chain);
	else
		log_info("VM %u: no hookscript any more", vmid);
	r = EXIT_OK;
out:
	vmconf_free(conf);
	return r;
}
