// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "engine/policy.h"
#include "fixture.h"

#define CONF "/etc/vfiohook.conf"

static void assert_defaults(const struct policy *p)
{
	assert_int_equal(p->rebind, POLICY_REBIND_AUTO);
	assert_int_equal(p->reset, POLICY_RESET_AUTO);
	assert_null(p->reset_methods);
	assert_int_equal(p->steal, POLICY_STEAL_SAFE);
	assert_int_equal(p->log, POLICY_LOG_NORMAL);
	assert_int_equal(p->start_timeout, 0);
	for (int k = 0; k < POLICY_KEY_COUNT; k++)
		assert_string_equal(policy_origin(p, (enum policy_key)k), "default");
}

static void test_defaults_and_names(void **state)
{
	struct policy p;

	(void)state;
	policy_defaults(&p);
	assert_defaults(&p);
	assert_string_equal(policy_rebind_name(POLICY_REBIND_AUTO), "auto");
	assert_string_equal(policy_rebind_name(POLICY_REBIND_RESTORE), "restore");
	assert_string_equal(policy_rebind_name(POLICY_REBIND_HOST), "host");
	assert_string_equal(policy_rebind_name(POLICY_REBIND_NEVER), "never");
	assert_string_equal(policy_reset_name(POLICY_RESET_AUTO), "auto");
	assert_string_equal(policy_reset_name(POLICY_RESET_OFF), "off");
	assert_string_equal(policy_reset_name(POLICY_RESET_METHODS), "methods");
	assert_string_equal(policy_steal_name(POLICY_STEAL_SAFE), "safe");
	assert_string_equal(policy_steal_name(POLICY_STEAL_FORCE), "force");
	assert_string_equal(policy_log_name(POLICY_LOG_NORMAL), "normal");
	assert_string_equal(policy_log_name(POLICY_LOG_VERBOSE), "verbose");
	assert_string_equal(policy_rebind_name((enum policy_rebind)9), "invalid");
	assert_string_equal(policy_key_name(POLICY_KEY_LOG), "log");
	assert_string_equal(policy_key_name(POLICY_KEY_RESET), "reset");
	assert_string_equal(policy_rebind_name(POLICY_REBIND_AUTO), "auto");
	assert_string_equal(policy_value(&p, POLICY_KEY_REBIND), "auto");
	assert_string_equal(policy_value(&p, POLICY_KEY_LOG), "normal");
	assert_string_equal(policy_value(&p, POLICY_KEY_RESET), "auto");
	assert_string_equal(policy_value(&p, POLICY_KEY_STEAL), "safe");
	assert_string_equal(policy_key_name(POLICY_KEY_START_TIMEOUT), "start-timeout");
	assert_string_equal(policy_value(&p, POLICY_KEY_START_TIMEOUT), "auto");
	policy_clear(&p);
	policy_clear(NULL);
}

static void test_empty_inputs(void **state)
{
	struct policy p;
	char *err = NULL;

	(void)state;
	policy_defaults(&p);
	assert_int_equal(policy_parse_file(NULL, CONF, 100, &p, &err), 0);
	assert_int_equal(policy_parse_file("", CONF, 100, &p, &err), 0);
	assert_int_equal(
	    policy_parse_file("# only comments\n; here\n\n   \n", CONF, 100, &p, &err),
	    0);
	assert_int_equal(policy_parse_description(NULL, 100, &p, &err), 0);
	assert_int_equal(
	    policy_parse_description("my gaming VM\nuses vfiohook: yes\n", 100, &p, &err),
	    0);
	assert_null(err);
	assert_defaults(&p);
	policy_clear(&p);
}

/* clang-format off */
static const char *const sample =
	"# node-wide\n"                   /* 1 */
	"[vm 105]\n"                      /* 2 */
	"reset = flr, bus   # comment\n"  /* 3 */
	"steal=force\n"                   /* 4 */
	"\n"                              /* 5 */
	"[defaults]\n"                    /* 6 */
	"rebind = host\n"                 /* 7 */
	"reset = off ; no resets\n"       /* 8 */
	"[vm 106]\r\n"                    /* 9 */
	"rebind = NEVER\r\n"              /* 10 */
	"[vm 105]\n"                      /* 11: the same section again */
	"rebind = restore\n"              /* 12 */
	"log = Verbose\n";                /* 13 */
/* clang-format on */

static void test_file_precedence(void **state)
{
	struct policy p;
	char *err = NULL;

	(void)state;
	/* VM 105: its own section wins over [defaults], whatever the order */
	policy_defaults(&p);
	assert_int_equal(policy_parse_file(sample, CONF, 105, &p, &err), 0);
	assert_null(err);
	assert_int_equal(p.rebind, POLICY_REBIND_RESTORE);
	assert_string_equal(policy_origin(&p, POLICY_KEY_REBIND), CONF ":12");
	assert_int_equal(p.reset, POLICY_RESET_METHODS);
	assert_string_equal(p.reset_methods, "flr bus");
	assert_string_equal(policy_value(&p, POLICY_KEY_RESET), "flr bus");
	assert_string_equal(policy_origin(&p, POLICY_KEY_RESET), CONF ":3");
	assert_int_equal(p.steal, POLICY_STEAL_FORCE);
	assert_string_equal(policy_origin(&p, POLICY_KEY_STEAL), CONF ":4");
	assert_int_equal(p.log, POLICY_LOG_VERBOSE);
	assert_string_equal(policy_value(&p, POLICY_KEY_LOG), "verbose");
	assert_string_equal(policy_origin(&p, POLICY_KEY_LOG), CONF ":13");
	policy_clear(&p);

	/* VM 106: [defaults] plus its own rebind (CRLF lines, any case) */
	assert_int_equal(policy_parse_file(sample, CONF, 106, &p, &err), 0);
	assert_int_equal(p.rebind, POLICY_REBIND_NEVER);
	assert_string_equal(policy_origin(&p, POLICY_KEY_REBIND), CONF ":10");
	assert_int_equal(p.reset, POLICY_RESET_OFF);
	assert_null(p.reset_methods);
	assert_string_equal(policy_origin(&p, POLICY_KEY_RESET), CONF ":8");
	assert_int_equal(p.steal, POLICY_STEAL_SAFE);
	assert_string_equal(policy_origin(&p, POLICY_KEY_STEAL), "default");
	assert_int_equal(p.log, POLICY_LOG_NORMAL);
	policy_clear(&p);

	/* VM 200: only [defaults] */
	assert_int_equal(policy_parse_file(sample, CONF, 200, &p, &err), 0);
	assert_int_equal(p.rebind, POLICY_REBIND_HOST);
	assert_string_equal(policy_origin(&p, POLICY_KEY_REBIND), CONF ":7");
	assert_int_equal(p.reset, POLICY_RESET_OFF);
	assert_int_equal(p.steal, POLICY_STEAL_SAFE);
	policy_clear(&p);
}

static void test_description_wins(void **state)
{
	struct policy p;
	char *err = NULL;

	(void)state;
	policy_defaults(&p);
	assert_int_equal(policy_parse_file(sample, CONF, 105, &p, &err), 0);
	assert_int_equal(
	    policy_parse_description("Gaming VM\n"
				     "  vfiohook: reset=pm,bus rebind=never\n"
				     "\n"
				     "vfiohook: steal=safe log=verbose\n",
				     105, &p, &err),
	    0);
	assert_null(err);
	assert_int_equal(p.rebind, POLICY_REBIND_NEVER);
	assert_string_equal(policy_origin(&p, POLICY_KEY_REBIND),
			    "VM 105 description line 2");
	assert_string_equal(p.reset_methods, "pm bus");
	assert_string_equal(policy_origin(&p, POLICY_KEY_RESET),
			    "VM 105 description line 2");
	assert_int_equal(p.steal, POLICY_STEAL_SAFE);
	assert_string_equal(policy_origin(&p, POLICY_KEY_STEAL),
			    "VM 105 description line 4");
	assert_int_equal(p.log, POLICY_LOG_VERBOSE);
	assert_string_equal(policy_origin(&p, POLICY_KEY_LOG),
			    "VM 105 description line 4");
	/* rebind=auto and log=normal are fine from the notes too */
	assert_int_equal(
	    policy_parse_description("vfiohook: rebind=AUTO log=normal", 105, &p, &err),
	    0);
	assert_int_equal(p.rebind, POLICY_REBIND_AUTO);
	assert_int_equal(p.log, POLICY_LOG_NORMAL);
	/* a description setting reset=auto drops the method list */
	assert_int_equal(policy_parse_description("vfiohook: reset=auto", 105, &p, &err),
			 0);
	assert_int_equal(p.reset, POLICY_RESET_AUTO);
	assert_null(p.reset_methods);
	policy_clear(&p);
}

static void test_reset_methods(void **state)
{
	static const struct {
		const char *value, *methods;
	} ok[] = {
	    {"flr", "flr"},
	    {"bus flr", "bus flr"},
	    {"FLR,Bus", "flr bus"},
	    {" device_specific , acpi,flr af_flr\tpm bus,cxl_bus ",
	     "device_specific acpi flr af_flr pm bus cxl_bus"},
	};
	struct policy p;
	char *err = NULL, text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		policy_defaults(&p);
		snprintf(text, sizeof(text), "[defaults]\nreset = %s\n", ok[i].value);
		assert_int_equal(policy_parse_file(text, CONF, 100, &p, &err), 0);
		assert_int_equal(p.reset, POLICY_RESET_METHODS);
		assert_string_equal(p.reset_methods, ok[i].methods);
		policy_clear(&p);
	}
}

/* Parse text as the file (or the description when desc) for VM 105 and
 * expect -EINVAL with every needle in the message; *p must stay untouched. */
static void expect_bad(const char *text, bool desc, const char *needle1,
		       const char *needle2)
{
	struct policy p;
	char *err = NULL;
	int r;

	policy_defaults(&p);
	if (desc)
		r = policy_parse_description(text, 105, &p, &err);
	else
		r = policy_parse_file(text, CONF, 105, &p, &err);
	if (r != -EINVAL)
		fail_msg("'%s': returned %d, expected -EINVAL", text, r);
	if (!err)
		fail_msg("'%s': no message", text);
	if (!strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
		fail_msg("'%s': message '%s' lacks '%s' / '%s'", text, err, needle1,
			 needle2 ? needle2 : "");
	assert_defaults(&p);
	free(err);
	policy_clear(&p);
}

static void test_bad_file(void **state)
{
	(void)state;
	/* outside a section */
	expect_bad("rebind = host\n", false, CONF ":1:", "outside a section");
	expect_bad("# c\n\nsteal = force\n[defaults]\n", false, CONF ":3:", "[defaults]");
	/* section headers */
	expect_bad("[defaults\nrebind=host\n", false,
		   CONF ":1:", "does not end with ']'");
	expect_bad("[default]\n", false, CONF ":1:", "bad section header '[default]'");
	expect_bad("\n[vm]\n", false, CONF ":2:", "[vm VMID]");
	expect_bad("[vm abc]\n", false, CONF ":1:", "'abc' is not a VM id");
	expect_bad("[vm 50]\n", false, CONF ":1:", "100 to 999999999");
	expect_bad("[vm 1000000000]\n", false, CONF ":1:", "not a VM id");
	expect_bad("[vm105]\n", false, CONF ":1:", "bad section header");
	expect_bad("[]\n", false, CONF ":1:", "bad section header");
	/* keys */
	expect_bad("[defaults]\nrebnd = host\n", false,
		   CONF ":2:", "unknown key 'rebnd'");
	expect_bad("[defaults]\nrebnd = host\n", false,
		   "known keys: rebind, reset, steal, log, start-timeout", NULL);
	/* start-timeout: auto or 1 to 86400 seconds */
	expect_bad("[defaults]\nstart-timeout = 0\n", false,
		   CONF ":2:", "bad value '0' for start-timeout");
	expect_bad("[defaults]\nstart-timeout = 86401\n", false, CONF ":2:", "86400");
	expect_bad("[defaults]\nstart-timeout = 2m\n", false, CONF ":2:", "auto");
	expect_bad("[defaults]\nstart-timeout = -5\n", false, CONF ":2:", "seconds");
	expect_bad("[defaults]\nrebind host\n", false,
		   CONF ":2:", "expected 'key = value'");
	expect_bad("[defaults]\n= host\n", false, CONF ":2:", "no key");
	expect_bad("[defaults]\nrebind =\n", false, CONF ":2:", "no value for rebind");
	expect_bad("[defaults]\nrebind = # nothing\n", false, CONF ":2:", "no value");
	expect_bad("[defaults]\nrebind = host\nrebind = never\n", false,
		   CONF ":3:", "already set in this section at " CONF ":2");
	expect_bad("[vm 105]\nsteal=force\n[defaults]\n[vm 105]\nsteal=safe\n", false,
		   CONF ":5:", "already set");
	/* values */
	expect_bad("[defaults]\nrebind = sometimes\n", false,
		   CONF ":2:", "bad value 'sometimes' for rebind");
	expect_bad("[defaults]\nrebind = sometimes\n", false, "restore", "never");
	expect_bad("[defaults]\nsteal = yes\n", false, CONF ":2:", "allowed: safe");
	expect_bad("[defaults]\nlog = debug\n", false,
		   CONF ":2:", "bad value 'debug' for log; allowed: normal");
	expect_bad("[defaults]\nlog =\n", false, CONF ":2:", "no value for log");
	expect_bad("[defaults]\nrebind = sometimes\n", false, "auto", "restore");
	expect_bad("[defaults]\nreset = flr, warm\n", false,
		   CONF ":2:", "unknown reset method 'warm'");
	expect_bad("[defaults]\nreset = flr, warm\n", false,
		   "device_specific acpi flr af_flr pm bus cxl_bus", NULL);
	expect_bad("[defaults]\nreset = flr bus flr\n", false,
		   CONF ":2:", "'flr' is listed twice");
	expect_bad("[defaults]\nreset = auto flr\n", false,
		   CONF ":2:", "cannot be combined");
	expect_bad("[defaults]\nreset = ,\n", false, CONF ":2:", "no value for reset");
	/* a bad line in another VM's section is still an error */
	expect_bad("[vm 999]\nrebind = maybe\n", false, CONF ":2:", "bad value");
	/* the error comes from the first bad line */
	expect_bad("[defaults]\nx = 1\ny = 2\n", false, CONF ":2:", "'x'");
}

static void test_start_timeout(void **state)
{
	struct policy p;
	char *err = NULL;

	(void)state;
	policy_defaults(&p);
	assert_int_equal(policy_parse_file("[defaults]\nstart-timeout = 300\n"
					   "[vm 105]\nstart-timeout = AUTO\n",
					   CONF, 100, &p, &err),
			 0);
	assert_int_equal(p.start_timeout, 300);
	assert_string_equal(policy_value(&p, POLICY_KEY_START_TIMEOUT), "300");
	assert_string_equal(policy_origin(&p, POLICY_KEY_START_TIMEOUT), CONF ":2");
	policy_clear(&p);
	assert_int_equal(policy_parse_file("[defaults]\nstart-timeout = 300\n"
					   "[vm 105]\nstart-timeout = AUTO\n",
					   CONF, 105, &p, &err),
			 0);
	assert_int_equal(p.start_timeout, 0);
	assert_string_equal(policy_value(&p, POLICY_KEY_START_TIMEOUT), "auto");
	/* the notes may set it too: it does not weaken the host's safety */
	assert_int_equal(
	    policy_parse_description("vfiohook: start-timeout=900", 105, &p, &err), 0);
	assert_int_equal(p.start_timeout, 900);
	assert_string_equal(policy_origin(&p, POLICY_KEY_START_TIMEOUT),
			    "VM 105 description line 1");
	policy_clear(&p);
}

static void test_bad_description(void **state)
{
	(void)state;
	expect_bad("notes\nvfiohook: rebind=hots\n", true, "VM 105 description line 2",
		   "bad value 'hots' for rebind");
	expect_bad("vfiohook: colour=blue\n", true, "VM 105 description line 1",
		   "unknown key 'colour'");
	expect_bad("a\nb\nvfiohook: rebind = host\n", true, "VM 105 description line 3",
		   "expected key=value");
	expect_bad("vfiohook: =host\n", true, "VM 105 description line 1",
		   "expected key=value");
	expect_bad("vfiohook:\n", true, "VM 105 description line 1", "without settings");
	expect_bad("vfiohook: steal=safe\nvfiohook: steal=safe\n", true,
		   "VM 105 description line 2",
		   "already set at VM 105 description line 1");
	expect_bad("vfiohook: reset=flr,flr\n", true, "VM 105 description line 1",
		   "twice");
	expect_bad("vfiohook: reset=\n", true, "VM 105 description line 1",
		   "no value for reset");
	expect_bad("vfiohook: log=loud\n", true, "VM 105 description line 1",
		   "bad value 'loud' for log");
}

/* The notes are written by non-root users: what weakens host safety is
 * refused there, with where it may be set instead. */
static void test_description_trust(void **state)
{
	(void)state;
	expect_bad("Router\nvfiohook: steal=force\n", true, "VM 105 description line 2",
		   "steal=force may be set only in /etc/vfiohook.conf");
	expect_bad("vfiohook: steal=FORCE\n", true, "under [vm 105]",
		   "VM.Config.Options");
	expect_bad("vfiohook: rebind=host\n", true, "VM 105 description line 1",
		   "rebind=host may be set only in /etc/vfiohook.conf");
	expect_bad("vfiohook: reset=flr rebind=Host\n", true, "under [vm 105]",
		   "remove it from the notes");
	/* the same values from root's file are fine */
	{
		struct policy p;
		char *err = NULL;

		policy_defaults(&p);
		assert_int_equal(
		    policy_parse_file("[vm 105]\nsteal = force\nrebind = host\n", CONF,
				      105, &p, &err),
		    0);
		assert_int_equal(p.steal, POLICY_STEAL_FORCE);
		assert_int_equal(p.rebind, POLICY_REBIND_HOST);
		/* and the notes may make them safer again */
		assert_int_equal(policy_parse_description(
				     "vfiohook: steal=safe rebind=never", 105, &p, &err),
				 0);
		assert_int_equal(p.steal, POLICY_STEAL_SAFE);
		assert_int_equal(p.rebind, POLICY_REBIND_NEVER);
		policy_clear(&p);
	}
}

static void test_load(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct policy p;
	char *err = NULL;

	(void)state;
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	/* no file: defaults, description still applies */
	assert_int_equal(policy_load(105, NULL, &p, &err), 0);
	assert_defaults(&p);
	policy_clear(&p);
	assert_int_equal(policy_load(105, "vfiohook: steal=force", &p, &err), -EINVAL);
	assert_non_null(strstr(err, "only in /etc/vfiohook.conf"));
	free(err);
	err = NULL;
	policy_clear(&p);

	/* the file under the root, then the description on top */
	assert_int_equal(fx_file(fx, CONF, sample), 0);
	assert_int_equal(policy_load(105, "vfiohook: rebind=never", &p, &err), 0);
	assert_null(err);
	assert_int_equal(p.rebind, POLICY_REBIND_NEVER);
	assert_string_equal(p.reset_methods, "flr bus");
	assert_int_equal(p.steal, POLICY_STEAL_FORCE);
	policy_clear(&p);

	/* errors name the file as the admin knows it */
	assert_int_equal(fx_file(fx, CONF, "[defaults]\nrebind = back\n"), 0);
	assert_int_equal(policy_load(105, NULL, &p, &err), -EINVAL);
	assert_non_null(strstr(err, CONF ":2: bad value 'back'"));
	free(err);
	err = NULL;
	policy_clear(&p);

	/* a file that cannot be read is an error, not silently the defaults */
	assert_int_equal(fx_spec(fx, "mkdir /etc/vfiohook.conf.d"), 0);
	{
		_cleanup_free_ char *c = host_pathdup(CONF);
		_cleanup_free_ char *d = host_pathdup("/etc/vfiohook.conf.d");

		assert_int_equal(remove(c), 0);
		assert_int_equal(rename(d, c), 0);
	}
	assert_int_equal(policy_load(105, NULL, &p, &err), -EISDIR);
	assert_non_null(strstr(err, "cannot read " CONF));
	free(err);
	policy_clear(&p);
	host_cleanup();
	fx_free(fx, 0);
}

/* The shipped example parses as it is (all defaults), and with its
 * settings uncommented it gives what its comments say. */
/* The resource keys (issue 9): values, defaults, and the two that change
 * the whole host, which the VM's notes may not turn on. */
static void test_resource_keys(void **state)
{
	struct policy p;
	char *err = NULL;

	(void)state;
	policy_defaults(&p);
	assert_int_equal(p.hugepages, POLICY_HUGEPAGES_AUTO);
	assert_int_equal(p.pin, POLICY_PIN_OFF);
	assert_false(p.hp_drop_caches);
	assert_false(p.isolate);
	assert_false(p.irq);
	assert_string_equal(policy_value(&p, POLICY_KEY_HUGEPAGES), "auto");
	assert_string_equal(policy_value(&p, POLICY_KEY_PIN), "off");
	assert_string_equal(policy_key_name(POLICY_KEY_HP_DROP_CACHES),
			    "hugepages-drop-caches");
	assert_int_equal(
	    policy_parse_file("[defaults]\nhugepages = off\npin = AUTO\n"
			      "hugepages-drop-caches = on\nisolate = on\nirq = on\n",
			      CONF, 105, &p, &err),
	    0);
	assert_int_equal(p.hugepages, POLICY_HUGEPAGES_OFF);
	assert_int_equal(p.pin, POLICY_PIN_AUTO);
	assert_true(p.hp_drop_caches);
	assert_true(p.isolate);
	assert_true(p.irq);
	assert_string_equal(policy_value(&p, POLICY_KEY_ISOLATE), "on");
	assert_string_equal(policy_origin(&p, POLICY_KEY_IRQ), CONF ":6");
	/* the notes may pin, steer, and turn the host-wide ones off */
	assert_int_equal(
	    policy_parse_description("vfiohook: pin=on irq=off isolate=off "
				     "hugepages-drop-caches=off hugepages=auto",
				     105, &p, &err),
	    0);
	assert_int_equal(p.pin, POLICY_PIN_ON);
	assert_false(p.irq);
	assert_false(p.isolate);
	assert_false(p.hp_drop_caches);
	policy_clear(&p);
	expect_bad("[defaults]\npin = yes\n", false, "bad value 'yes' for pin", "auto");
	expect_bad("[defaults]\nhugepages = 2\n", false, "bad value '2' for hugepages",
		   "off");
	expect_bad("[defaults]\nisolate = 1\n", false, "for isolate", NULL);
	expect_bad("[defaults]\nirq = maybe\n", false, "for irq", NULL);
	expect_bad("[defaults]\nhugepages-drop-caches = always\n", false,
		   "for hugepages-drop-caches", NULL);
	/* the host-wide ones: only from root's file */
	expect_bad("vfiohook: isolate=on\n", true, "isolate=on changes the whole host",
		   CONF " under [vm 105]");
	expect_bad("vfiohook: pin=auto hugepages-drop-caches=on\n", true,
		   "hugepages-drop-caches=on", "non-root");
}

static void test_example_file(void **state)
{
	static const char *const paths[] = {"snippets/vfiohook.conf.example",
					    "../snippets/vfiohook.conf.example",
					    "../../snippets/vfiohook.conf.example"};
	char text[16384], on[16384], line[512];
	size_t len = 0, olen = 0;
	struct policy p;
	char *err = NULL;
	FILE *f = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && !f; i++)
		f = fopen(paths[i], "r");
	if (!f)
		skip();
	while (fgets(line, sizeof(line), f)) {
		const char *use = line;

		/* "#[vm 105]", "#rebind = never": settings commented out */
		if (line[0] == '#' &&
		    (line[1] == '[' || (line[1] >= 'a' && line[1] <= 'z')))
			use = line + 1;
		assert_true(len + strlen(line) < sizeof(text));
		assert_true(olen + strlen(use) < sizeof(on));
		memcpy(text + len, line, strlen(line) + 1);
		len += strlen(line);
		memcpy(on + olen, use, strlen(use) + 1);
		olen += strlen(use);
	}
	fclose(f);
	policy_defaults(&p);
	assert_int_equal(policy_parse_file(text, CONF, 105, &p, &err), 0);
	assert_null(err);
	assert_defaults(&p);
	assert_int_equal(policy_parse_file(on, CONF, 105, &p, &err), 0);
	assert_null(err);
	assert_int_equal(p.rebind, POLICY_REBIND_NEVER);
	assert_string_equal(p.reset_methods, "device_specific bus");
	assert_int_equal(p.steal, POLICY_STEAL_FORCE);
	assert_int_equal(p.start_timeout, 600);
	assert_string_equal(policy_value(&p, POLICY_KEY_START_TIMEOUT), "600");
	policy_clear(&p);
	/* other VMs: the [defaults] values, which are the built-in ones */
	assert_int_equal(policy_parse_file(on, CONF, 200, &p, &err), 0);
	assert_int_equal(p.rebind, POLICY_REBIND_AUTO);
	assert_int_equal(p.reset, POLICY_RESET_AUTO);
	assert_int_equal(p.steal, POLICY_STEAL_SAFE);
	assert_non_null(strstr(policy_origin(&p, POLICY_KEY_STEAL), CONF ":"));
	policy_clear(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_names),
	    cmocka_unit_test(test_empty_inputs),
	    cmocka_unit_test(test_file_precedence),
	    cmocka_unit_test(test_description_wins),
	    cmocka_unit_test(test_reset_methods),
	    cmocka_unit_test(test_bad_file),
	    cmocka_unit_test(test_start_timeout),
	    cmocka_unit_test(test_bad_description),
	    cmocka_unit_test(test_description_trust),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_resource_keys),
	    cmocka_unit_test(test_example_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
