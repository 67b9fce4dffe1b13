// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/chain.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/host.h"
#include "base/util.h"
#include "engine/policy.h"
#include "pve/storage.h"

extern char **environ;

int chain_resolve(const char *volid, char **path, char **err)
{
	struct storage_cfg *cfg = NULL;
	_cleanup_free_ char *rel = NULL, *e = NULL;
	struct stat st, self;
	char *hp;
	int r;

	*path = NULL;
	r = storage_read(&cfg, err);
	if (r < 0)
		return r;
	/* as Proxmox ran it: the storage's content list does not matter */
	r = storage_snippet_file(cfg, volid, &rel, NULL, &e);
	storage_free(cfg);
	if (r < 0)
		return errnof(err, r, "%s", e ? e : strerror(-r));
	hp = host_pathdup("%s", rel);
	/* Proxmox: die "script '$volid' does not exist" unless -f, "not executable"
	 * unless -x */
	if (stat(hp, &st) < 0) {
		r = errnof(err, -errno, "hookscript %s (%s): %s", volid, rel,
			   strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = errnof(err, -EINVAL,
			   "chained hookscript %s (%s) is not a regular file", volid,
			   rel);
		goto fail;
	}
	if (access(hp, X_OK) < 0 || !(st.st_mode & 0111)) {
		r = errnof(
		    err, -EACCES,
		    "chained hookscript %s (%s) is not executable; run 'chmod +x %s'",
		    volid, rel, rel);
		goto fail;
	}
	if (stat("/proc/self/exe", &self) == 0 && self.st_dev == st.st_dev &&
	    self.st_ino == st.st_ino) {
		r = errnof(
		    err, -ELOOP,
		    "hookscript %s is vfiohook itself: chaining it would run it forever",
		    volid);
		goto fail;
	}
	*path = hp;
	return 0;
fail:
	free(hp);
	return r;
}

int chain_run(const char *volid, unsigned vmid, const char *phase, int *status,
	      char **err)
{
	_cleanup_free_ char *path = NULL;
	char id[16];
	char *argv[4];
	pid_t pid;
	int r, ws;

	*status = -1;
	r = chain_resolve(volid, &path, err);
	if (r < 0 || !path)
		return r < 0 ? r : -ENOENT;
	snprintf(id, sizeof(id), "%u", vmid);
	/* as Proxmox runs a hookscript: the path itself, VMID, PHASE; no shell */
	argv[0] = path;
	argv[1] = id;
	argv[2] = (char *)phase;
	argv[3] = NULL;
	fflush(stdout);
	fflush(stderr);
	r = posix_spawn(&pid, path, NULL, NULL, argv, environ);
	if (r != 0)
		return errnof(err, -r, "cannot run chained hookscript %s (%s): %s", volid,
			      path, strerror(r));
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return errnof(err, -errno, "waiting for %s: %s", path,
				      strerror(errno));
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

/* ---- editing /etc/vfiohook.conf -------------------------------------------- */

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	return s;
}

/* The line [s, end) is a section header; *vm gets N of "[vm N]" or 0. */
static bool header_of(const char *s, const char *end, unsigned *vm)
{
	unsigned long long n;
	_cleanup_free_ char *num = NULL;
	const char *close, *p;

	*vm = 0;
	s = skip_ws(s, end);
	if (s == end || *s != '[')
		return false;
	close = memchr(s, ']', (size_t)(end - s));
	if (!close)
		return false;
	p = skip_ws(s + 1, close);
	if (close - p > 3 && strncasecmp(p, "vm", 2) == 0 &&
	    (p[2] == ' ' || p[2] == '\t')) {
		const char *q = skip_ws(p + 2, close), *e = close;

		while (e > q && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		num = xstrndup(q, (size_t)(e - q));
		if (parse_uint(num, 999999999, &n) == 0)
			*vm = (unsigned)n;
	}
	return true;
}

/* The line [s, end) is "chain = ..." (any case, any spacing). */
static bool is_chain_line(const char *s, const char *end)
{
	s = skip_ws(s, end);
	if (end - s < 5 || strncasecmp(s, "chain", 5) != 0)
		return false;
	s = skip_ws(s + 5, end);
	return s < end && *s == '=';
}

char *chain_conf_edit(const char *text, unsigned vmid, const char *volid)
{
	const char *p = text ? text : "";
	size_t cap = strlen(p) + 128 + (volid ? strlen(volid) : 0), len = 0;
	char *out = xcalloc(1, cap);
	bool in_vm = false, done = volid == NULL;

	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		size_t n = (size_t)(end - p) + (nl ? 1 : 0);
		unsigned vm;

		if (header_of(p, end, &vm))
			in_vm = vm == vmid;
		else if (in_vm && is_chain_line(p, end)) {
			p += n;
			continue; /* replaced (or removed) */
		}
		memcpy(out + len, p, n);
		len += n;
		if (in_vm && !done && header_of(p, end, &vm)) {
			if (!nl)
				out[len++] = '\n';
			len += (size_t)sprintf(out + len, "chain = %s\n", volid);
			done = true;
		}
		p += n;
	}
	if (!done) {
		if (len && out[len - 1] != '\n')
			out[len++] = '\n';
		len += (size_t)sprintf(out + len, "%s[vm %u]\nchain = %s\n",
				       len ? "\n" : "", vmid, volid);
	}
	out[len] = '\0';
	return out;
}

int chain_conf_write(unsigned vmid, const char *volid, char **err)
{
	_cleanup_free_ char *text = NULL, *edited = NULL, *e = NULL, *hp = NULL;
	struct policy pol;
	unsigned mode = 0644;
	struct stat st;
	int r;

	r = host_read(&text, POLICY_CONF_PATH);
	if (r < 0 && r != -ENOENT)
		return errnof(err, r, "cannot read %s: %s", POLICY_CONF_PATH,
			      strerror(-r));
	/* host_read strips one trailing newline: put it back */
	if (text && *text) {
		char *t = xasprintf("%s\n", text);

		free(text);
		text = t;
	}
	policy_defaults(&pol);
	r = policy_parse_file(text, POLICY_CONF_PATH, vmid, &pol, &e);
	policy_clear(&pol);
	if (r < 0)
		return errnof(err, r, "%s; fix %s first", e, POLICY_CONF_PATH);
	edited = chain_conf_edit(text, vmid, volid);
	r = policy_parse_file(edited, POLICY_CONF_PATH, vmid, &pol, &e);
	policy_clear(&pol);
	if (r < 0)
		return errnof(err, r, "setting chain for VM %u would break %s: %s", vmid,
			      POLICY_CONF_PATH, e);
	hp = host_pathdup(POLICY_CONF_PATH);
	if (stat(hp, &st) == 0)
		mode = st.st_mode & 07777;
	r = host_write_atomic(edited, strlen(edited), mode, POLICY_CONF_PATH);
	if (r < 0)
		return errnof(err, r, "cannot write %s: %s", POLICY_CONF_PATH,
			      strerror(-r));
	return 0;
}
