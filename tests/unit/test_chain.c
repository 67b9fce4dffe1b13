// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Chaining (engine/chain.h) and the policy keys it rests on: `chain` only
 * under [vm N] of the root-owned file, never from the notes; the [api]
 * section; editing /etc/vfiohook.conf; resolving and running the chained
 * script as Proxmox would.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/host.h"
#include "engine/chain.h"
#include "engine/policy.h"
#include "fixture.h"
#include "testutil.h"

#define CONF "/etc/vfiohook.conf"

static void expect_policy_bad(const char *text, bool desc, ...)
{
	struct policy p;
	char *err = NULL;
	va_list ap;
	int r;

	policy_defaults(&p);
	r = desc ? policy_parse_description(text, 105, &p, &err)
		 : policy_parse_file(text, CONF, 105, &p, &err);
	assert_int_equal(r, -EINVAL);
	assert_null(p.chain);
	va_start(ap, desc);
	assert_err_has(err, ap);
	va_end(ap);
	policy_clear(&p);
}

static void test_policy_chain(void **state)
{
	struct policy p;
	char *err = NULL;

	(void)state;
	policy_defaults(&p);
	assert_int_equal(policy_parse_file("[defaults]\nrebind = never\n\n[vm 105]\n"
					   "chain = local:snippets/old.sh  # kept\n"
					   "[vm 106]\nchain = nas:snippets/x\n",
					   CONF, 105, &p, &err),
			 0);
	assert_string_equal(p.chain, "local:snippets/old.sh");
	assert_string_equal(p.chain_origin, CONF ":5");
	assert_int_equal(p.rebind, POLICY_REBIND_NEVER);
	policy_clear(&p);
	assert_null(p.chain);
	/* another VM's chain is not ours */
	assert_int_equal(
	    policy_parse_file("[vm 106]\nChain = nas:snippets/x\n", CONF, 105, &p, &err),
	    0);
	assert_null(p.chain);
	policy_clear(&p);

	expect_policy_bad("[defaults]\nchain = local:snippets/x\n", false, CONF ":2",
			  "[vm VMID]", NULL);
	expect_policy_bad(
	    "[vm 105]\nchain = local:snippets/x\nchain = local:snippets/y\n", false,
	    CONF ":3", "already set", CONF ":2", NULL);
	expect_policy_bad("[vm 105]\nchain = local:iso/x.iso\n", false,
			  "STORAGE:snippets/NAME", NULL);
	expect_policy_bad("[vm 105]\nchain = /usr/local/bin/x\n", false, "bad value",
			  NULL);
	expect_policy_bad("[vm 105]\nchain = local:snippets/a/b\n", false, "bad value",
			  NULL);
	expect_policy_bad("[vm 105]\nchain =\n", false, CONF ":2", NULL);
	/* the notes are written by users who are not root: never a chain */
	expect_policy_bad("vfiohook: chain=local:snippets/evil.sh\n", true,
			  "VM 105 description line 1", "only in /etc/vfiohook.conf",
			  "not root", NULL);
}

static void test_policy_api(void **state)
{
	static const char text[] = "[defaults]\nrebind = host\n"
				   "[api]\n"
				   "url = https://pve1:8006\n"
				   "token = root@pam!vfiohook ; the token\n"
				   "secret-file = /etc/vfiohook/api.secret\n"
				   "fingerprint = AB:CD\n"
				   "[vm 105]\nsteal = force\n";
	struct policy_api a;
	struct policy p;
	char *err = NULL;

	(void)state;
	assert_int_equal(policy_api_parse(text, CONF, &a, &err), 0);
	assert_true(a.any);
	assert_string_equal(a.url, "https://pve1:8006");
	assert_string_equal(a.token, "root@pam!vfiohook");
	assert_string_equal(a.secret_file, "/etc/vfiohook/api.secret");
	assert_string_equal(a.fingerprint, "AB:CD");
	assert_null(a.ca);
	assert_string_equal(a.where, CONF " [api]");
	policy_api_clear(&a);
	/* the VM's policy is unchanged by [api] */
	policy_defaults(&p);
	assert_int_equal(policy_parse_file(text, CONF, 105, &p, &err), 0);
	assert_int_equal(p.rebind, POLICY_REBIND_HOST);
	assert_int_equal(p.steal, POLICY_STEAL_FORCE);
	policy_clear(&p);
	/* no [api] at all */
	assert_int_equal(policy_api_parse("[defaults]\n", CONF, &a, &err), 0);
	assert_false(a.any);
	assert_null(a.token);
	policy_api_clear(&a);
	assert_int_equal(policy_api_parse(NULL, CONF, &a, &err), 0);
	assert_false(a.any);
	policy_api_clear(&a);

	/* a typo in [api] is found on every run, like any other section's */
	expect_policy_bad("[api]\ntoekn = x\n", false, CONF ":2",
			  "unknown key 'toekn' in [api]", NULL);
	expect_policy_bad("[api]\nurl = a\n[api]\nurl = b\n", false, CONF ":4",
			  "already set in [api]", NULL);
	expect_policy_bad("[api]\nrebind = host\n", false, "unknown key", NULL);
	expect_policy_bad("[api]\nca =\n", false, "no value for ca", NULL);
	expect_policy_bad("[apis]\n", false, "[api]", NULL);
}

static void test_conf_edit(void **state)
{
	static const char text[] = "# my policy\n"
				   "[defaults]\n"
				   "rebind = never\n"
				   "\n"
				   "[vm 105]\n"
				   "steal = force\n"
				   "chain = local:snippets/old.sh\n"
				   "[ VM 105 ] ; again\n"
				   "CHAIN=local:snippets/older.sh\n"
				   "#chain = commented\n"
				   "[vm 106]\n"
				   "chain = local:snippets/b.sh\n";
	char *s;

	(void)state;
	s = chain_conf_edit(text, 105, "nas:snippets/new.sh");
	assert_string_equal(s, "# my policy\n"
			       "[defaults]\n"
			       "rebind = never\n"
			       "\n"
			       "[vm 105]\n"
			       "chain = nas:snippets/new.sh\n"
			       "steal = force\n"
			       "[ VM 105 ] ; again\n"
			       "#chain = commented\n"
			       "[vm 106]\n"
			       "chain = local:snippets/b.sh\n");
	free(s);
	s = chain_conf_edit(text, 105, NULL);
	assert_string_equal(s, "# my policy\n"
			       "[defaults]\n"
			       "rebind = never\n"
			       "\n"
			       "[vm 105]\n"
			       "steal = force\n"
			       "[ VM 105 ] ; again\n"
			       "#chain = commented\n"
			       "[vm 106]\n"
			       "chain = local:snippets/b.sh\n");
	free(s);
	s = chain_conf_edit("[defaults]\nrebind = host", 107, "local:snippets/x");
	assert_string_equal(
	    s, "[defaults]\nrebind = host\n\n[vm 107]\nchain = local:snippets/x\n");
	free(s);
	s = chain_conf_edit(NULL, 107, "local:snippets/x");
	assert_string_equal(s, "[vm 107]\nchain = local:snippets/x\n");
	free(s);
	s = chain_conf_edit("[vm 107]", 107, "local:snippets/x");
	assert_string_equal(s, "[vm 107]\nchain = local:snippets/x\n");
	free(s);
	/* nothing to remove: the text stays as it is */
	s = chain_conf_edit("[vm 107]\nreset = off\n", 108, NULL);
	assert_string_equal(s, "[vm 107]\nreset = off\n");
	free(s);
}

static void test_conf_write(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *p = host_pathdup(CONF);
	char *text = NULL, *err = NULL;
	struct stat st;

	/* no file yet: created, 0644 */
	assert_int_equal(chain_conf_write(105, "local:snippets/old.sh", &err), 0);
	assert_int_equal(host_read(&text, CONF), 0);
	assert_string_equal(text, "[vm 105]\nchain = local:snippets/old.sh");
	free(text);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* its mode is kept; the rest of it too */
	assert_int_equal(
	    fx_file(fx, CONF,
		    "[defaults]\nreset = off\n[vm 105]\nchain = local:snippets/old.sh\n"),
	    0);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(chain_conf_write(105, NULL, &err), 0);
	assert_int_equal(host_read(&text, CONF), 0);
	assert_string_equal(text, "[defaults]\nreset = off\n[vm 105]");
	free(text);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a file that is broken already is named, not rewritten */
	assert_int_equal(fx_file(fx, CONF, "[defaults]\nrebnd = x\n"), 0);
	assert_int_equal(chain_conf_write(105, "local:snippets/x", &err), -EINVAL);
	assert_non_null(strstr(err, CONF ":2"));
	assert_non_null(strstr(err, "fix " CONF " first"));
	free(err);
	err = NULL;
	assert_int_equal(host_read(&text, CONF), 0);
	assert_string_equal(text, "[defaults]\nrebnd = x");
	free(text);
	/* a value that would break it is refused */
	assert_int_equal(fx_file(fx, CONF, "[defaults]\n"), 0);
	assert_int_equal(chain_conf_write(105, "not a volume", &err), -EINVAL);
	assert_non_null(strstr(err, "would break"));
	free(err);
}

static const char storage_cfg[] =
    "dir: local\n\tpath /var/lib/vz\n\tcontent snippets,iso\n"
    "\ndir: isos\n\tpath /srv/iso\n\tcontent iso\n"
    "\nlvmthin: thin\n\tthinpool data\n\tvgname pve\n";

static void expect_resolve(int want, const char *volid, ...)
{
	char *path = (char *)1, *err = NULL;
	va_list ap;

	assert_int_equal(chain_resolve(volid, &path, &err), want);
	assert_null(path);
	va_start(ap, volid);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_resolve_run(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *sn = host_pathdup("/var/lib/vz/snippets");
	_cleanup_free_ char *script = xasprintf("%s/hook.sh", sn);
	_cleanup_free_ char *out = xasprintf("%s/out", sn);
	_cleanup_free_ char *self = xasprintf("%s/self", sn);
	char exe[PATH_MAX], *path = NULL, *err = NULL, *text = NULL;
	ssize_t n;
	int status = -1;

	assert_int_equal(fx_file(fx, "/etc/pve/storage.cfg", storage_cfg), 0);
	assert_int_equal(
	    fx_file(fx, "/var/lib/vz/snippets/hook.sh",
		    "#!/bin/sh\n"
		    "printf '%s|%s|%s|%s\\n' \"$0\" \"$1\" \"$2\" \"$CHAIN_TEST\" "
		    ">\"$(dirname \"$0\")/out\"\n"
		    "[ \"$2\" = post-stop ] && kill -TERM $$\n"
		    "[ \"$2\" = pre-stop ] && exit 7\n"
		    "exit 0\n"),
	    0);
	expect_resolve(-EACCES, "local:snippets/hook.sh", "local:snippets/hook.sh",
		       "not executable", "chmod +x", NULL);
	assert_int_equal(chmod(script, 0755), 0);
	assert_int_equal(chain_resolve("local:snippets/hook.sh", &path, &err), 0);
	assert_string_equal(path, script);
	free(path);
	expect_resolve(-ENOENT, "local:snippets/none.sh", "/var/lib/vz/snippets/none.sh",
		       "No such file", NULL);
	/* as Proxmox resolves it: the storage's content list does not matter
	 * (check_hookscript takes the type from the volume name) */
	expect_resolve(-ENOENT, "isos:snippets/x", "/srv/iso/snippets/x", NULL);
	expect_resolve(-EMEDIUMTYPE, "thin:snippets/x", "no file system path", NULL);
	expect_resolve(-ENOENT, "nope:snippets/x", "not defined", NULL);
	expect_resolve(-EINVAL, "local:iso/x", "STORAGE:snippets/NAME", NULL);
	{
		_cleanup_free_ char *dir = xasprintf("%s/dir", sn);

		assert_int_equal(mkdir(dir, 0755), 0);
	}
	expect_resolve(-EINVAL, "local:snippets/dir", "not a regular file", NULL);
	/* vfiohook itself (here: this test binary) would call itself forever */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(symlink(exe, self), 0);
	expect_resolve(-ELOOP, "local:snippets/self", "vfiohook itself", NULL);

	/* run: the path as argv[0], VMID, PHASE, our environment */
	setenv("CHAIN_TEST", "same env", 1);
	assert_int_equal(
	    chain_run("local:snippets/hook.sh", 105, "pre-start", &status, &err), 0);
	assert_int_equal(status, 0);
	assert_int_equal(host_read(&text, "/var/lib/vz/snippets/out"), 0);
	{
		_cleanup_free_ char *want =
		    xasprintf("%s|105|pre-start|same env", script);

		assert_string_equal(text, want);
	}
	free(text);
	assert_int_equal(
	    chain_run("local:snippets/hook.sh", 105, "pre-stop", &status, &err), 0);
	assert_int_equal(status, 7);
	assert_int_equal(
	    chain_run("local:snippets/hook.sh", 105, "post-stop", &status, &err), 0);
	assert_int_equal(status, 128 + 15);
	assert_int_equal(
	    chain_run("local:snippets/none", 105, "pre-start", &status, &err), -ENOENT);
	assert_int_equal(status, -1);
	free(err);
	unlink(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy_chain),
	    cmocka_unit_test(test_policy_api),
	    cmocka_unit_test(test_conf_edit),
	    cmocka_unit_test_setup_teardown(test_conf_write, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_run, fx_test_setup,
					    fx_test_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
