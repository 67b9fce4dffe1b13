// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The API client's settings, without the network: token ids, fingerprints,
 * the secret file's checks (owner, type, mode), and that pveapi_open refuses
 * bad settings before anything could be sent.  The requests themselves are
 * tested against the HTTPS stand-in (tests/cli/cases/api-*).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pve/pveapi.h"
#include "testutil.h"

#define FP                                                                               \
	"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

static void test_token(void **state)
{
	(void)state;
	assert_true(pveapi_token_valid("root@pam!vfiohook"));
	assert_true(pveapi_token_valid("monitor@pve!ro-1.x_y"));
	assert_true(pveapi_token_valid("a@b@pve!tok")); /* a user name may hold '@' */
	assert_false(pveapi_token_valid(NULL));
	assert_false(pveapi_token_valid("root@pam"));	   /* no token id */
	assert_false(pveapi_token_valid("root!vfiohook")); /* no realm */
	assert_false(pveapi_token_valid("@pam!vfiohook")); /* no user */
	assert_false(pveapi_token_valid("root@pam!"));	   /* empty token id */
	assert_false(pveapi_token_valid("root@pam!1abc")); /* starts with a digit */
	assert_false(pveapi_token_valid("ro ot@pam!tok")); /* white space */
	assert_false(pveapi_token_valid("root@pam!tok\r\nX: y")); /* header injection */
	assert_false(pveapi_token_valid("root:x@pam!tok"));
}

static void test_fingerprint(void **state)
{
	unsigned char fp[32];

	(void)state;
	assert_int_equal(pveapi_parse_fingerprint(FP, fp), 0);
	assert_int_equal(fp[0], 0xab);
	assert_int_equal(fp[31], 0x89);
	/* lowercase is the same fingerprint */
	assert_int_equal(
	    pveapi_parse_fingerprint("ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:"
				     "67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:"
				     "23:45:67:89",
				     fp),
	    0);
	assert_int_equal(pveapi_parse_fingerprint(NULL, fp), -EINVAL);
	assert_int_equal(pveapi_parse_fingerprint("", fp), -EINVAL);
	/* SHA-1 length, missing colons, one byte too many, a stray character */
	assert_int_equal(
	    pveapi_parse_fingerprint("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
				     "67:89:AB:CD:EF:01",
				     fp),
	    -EINVAL);
	assert_int_equal(
	    pveapi_parse_fingerprint("ABCDEF0123456789ABCDEF0123456789ABCDEF0123"
				     "456789ABCDEF0123456789",
				     fp),
	    -EINVAL);
	assert_int_equal(pveapi_parse_fingerprint(FP ":00", fp), -EINVAL);
	assert_int_equal(pveapi_parse_fingerprint(FP " ", fp), -EINVAL);
	{
		char bad[] = FP;

		bad[0] = 'G';
		assert_int_equal(pveapi_parse_fingerprint(bad, fp), -EINVAL);
		bad[0] = 'A';
		bad[2] = '-';
		assert_int_equal(pveapi_parse_fingerprint(bad, fp), -EINVAL);
	}
}

static void expect_secret(int want, const char *path, ...)
{
	char *secret = (char *)1, *err = NULL;
	va_list ap;

	assert_int_equal(pveapi_read_secret(path, &secret, &err), want);
	assert_null(secret);
	va_start(ap, path);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_secret(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *p = host_pathdup("/etc/vfiohook/api.secret");
	char *secret = NULL, *err = NULL;

	assert_int_equal(fx_file(fx, "/etc/vfiohook/api.secret",
				 "5ba1c9e1-3f44-4bd3-a1d5-6e0c2e86d2b7\n"),
			 0);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(pveapi_read_secret("/etc/vfiohook/api.secret", &secret, &err),
			 0);
	assert_string_equal(secret, "5ba1c9e1-3f44-4bd3-a1d5-6e0c2e86d2b7");
	free(secret);
	/* 0400 is fine too: no group or other access is what counts */
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(pveapi_read_secret("/etc/vfiohook/api.secret", &secret, &err),
			 0);
	free(secret);

	assert_int_equal(chmod(p, 0644), 0);
	expect_secret(-EPERM, "/etc/vfiohook/api.secret", "/etc/vfiohook/api.secret",
		      "644", "chmod 600", NULL);
	assert_int_equal(chmod(p, 0604), 0);
	expect_secret(-EPERM, "/etc/vfiohook/api.secret", "604", NULL);
	assert_int_equal(chmod(p, 0610), 0); /* group may execute: still access */
	expect_secret(-EPERM, "/etc/vfiohook/api.secret", "610", NULL);
	assert_int_equal(chmod(p, 0600), 0);
	if (getuid() == 0) {
		assert_int_equal(chown(p, 65534, 0), 0);
		expect_secret(-EPERM, "/etc/vfiohook/api.secret", "uid 65534", "not root",
			      "chown root", NULL);
		assert_int_equal(chown(p, 0, 0), 0);
	}
	expect_secret(-ENOENT, "/etc/vfiohook/none", "/etc/vfiohook/none", "No such file",
		      NULL);
	expect_secret(-EPERM, "/etc/vfiohook", "not a regular file", NULL);
	expect_secret(-EINVAL, "etc/vfiohook/api.secret", "absolute path", NULL);

	assert_int_equal(fx_file(fx, "/etc/vfiohook/api.secret", "\n"), 0);
	assert_int_equal(chmod(p, 0600), 0);
	expect_secret(-EINVAL, "/etc/vfiohook/api.secret", "empty", NULL);
	assert_int_equal(fx_file(fx, "/etc/vfiohook/api.secret", "abc def\n"), 0);
	assert_int_equal(chmod(p, 0600), 0);
	expect_secret(-EINVAL, "/etc/vfiohook/api.secret", "white space", NULL);
	/* only the first line counts; trailing white space is cut */
	assert_int_equal(fx_file(fx, "/etc/vfiohook/api.secret", "abc \nsecond line\n"),
			 0);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(pveapi_read_secret("/etc/vfiohook/api.secret", &secret, &err),
			 0);
	assert_string_equal(secret, "abc");
	free(secret);
}

static void expect_open(int want, const struct pveapi_conf *c, ...)
{
	struct pveapi *api = (struct pveapi *)1;
	char *err = NULL;
	va_list ap;

	assert_int_equal(pveapi_open(c, &api, &err), want);
	assert_null(api);
	va_start(ap, c);
	assert_err_has(err, ap);
	va_end(ap);
}

static void test_open(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *p = host_pathdup("/etc/vfiohook/s");
	struct pveapi *api = NULL;
	char *err = NULL;
	struct pveapi_conf c = {.token = "root@pam!vfiohook",
				.secret_file = "/etc/vfiohook/s",
				.fingerprint = FP,
				.origin = "/etc/vfiohook.conf [api]"};

	assert_int_equal(fx_file(fx, "/etc/vfiohook/s", "secret\n"), 0);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(pveapi_open(&c, &api, &err), 0);
	assert_string_equal(pveapi_url(api), PVEAPI_DEFAULT_URL);
	pveapi_free(api);
	c.url = "https://pve2.example.com:8006///";
	assert_int_equal(pveapi_open(&c, &api, &err), 0);
	assert_string_equal(pveapi_url(api), "https://pve2.example.com:8006");
	pveapi_free(api);

	c.url = "http://localhost:8006";
	expect_open(-EINVAL, &c, "/etc/vfiohook.conf [api]", "https://", "clear", NULL);
	c.url = "https://localhost:8006/?x=1";
	expect_open(-EINVAL, &c, "not an https:// URL", NULL);
	c.url = NULL;
	c.token = NULL;
	expect_open(-EINVAL, &c, "no token", "pveum user token add", NULL);
	c.token = "root@pam";
	expect_open(-EINVAL, &c, "USER@REALM!TOKENID", NULL);
	c.token = "root@pam!vfiohook";
	c.secret_file = NULL;
	expect_open(-EINVAL, &c, "no secret-file", NULL);
	c.secret_file = "/etc/vfiohook/s";
	c.fingerprint = "AB:CD";
	expect_open(-EINVAL, &c, "fingerprint 'AB:CD'", "pvenode cert info", NULL);
	c.ca = "/etc/pve/pve-root-ca.pem";
	c.fingerprint = FP;
	expect_open(-EINVAL, &c, "both fingerprint and ca", NULL);
	/* no fingerprint: the cluster CA by default, when it exists */
	c.fingerprint = NULL;
	c.ca = NULL;
	expect_open(-ENOENT, &c, "no fingerprint and no CA file /etc/pve/pve-root-ca.pem",
		    NULL);
	assert_int_equal(fx_file(fx, "/etc/pve/pve-root-ca.pem", "PEM\n"), 0);
	assert_int_equal(pveapi_open(&c, &api, &err), 0);
	pveapi_free(api);
	c.ca = "/etc/vfiohook/none.pem";
	expect_open(-ENOENT, &c, "cannot read the CA file /etc/vfiohook/none.pem", NULL);
	/* the secret is checked last, but before anything is sent */
	c.ca = NULL;
	assert_int_equal(chmod(p, 0640), 0);
	expect_open(-EPERM, &c, "/etc/vfiohook/s", "640", NULL);
	pveapi_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_fingerprint),
	    cmocka_unit_test_setup_teardown(test_secret, fx_test_setup, fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_open, fx_test_setup, fx_test_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
