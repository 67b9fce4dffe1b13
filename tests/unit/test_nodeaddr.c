// SPDX-License-Identifier: GPL-2.0-or-later
/* The node's own addresses from /etc/hosts and /etc/pve/corosync.conf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pve/nodeaddr.h"

static void expect(const struct strv *v, const char *const *want, size_t n)
{
	assert_int_equal(v->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v->v[i], want[i]);
}

/* Debian's and Proxmox's /etc/hosts: the node's line, loopback lines,
 * comments, an IPv6 address of the node, a look-alike name. */
static void test_hosts(void **state)
{
	static const char *const want[] = {"192.168.1.10", "2001:db8::10"};
	static const char *const text =
	    "127.0.0.1 localhost.localdomain localhost\n"
	    "127.0.1.1 pve1\n" /* Debian's default: loopback, not the node's network */
	    "192.168.1.10 pve1.example.com pve1 # the node\n"
	    "192.168.1.11 pve10.example.com pve10\n"
	    "192.168.1.12 other # pve1\n"
	    "#192.168.1.13 pve1\n"
	    "garbage pve1\n"
	    "\n"
	    "::1     ip6-localhost ip6-loopback pve1\n"
	    "2001:db8::10\tPVE1.example.com\n"
	    "192.168.1.10 pve1\n";
	struct strv v = {0};

	(void)state;
	nodeaddr_parse_hosts(text, "pve1", &v);
	expect(&v, want, 2);
	strv_clear(&v);
	nodeaddr_parse_hosts(text, "pve2", &v);
	assert_int_equal(v.n, 0);
	nodeaddr_parse_hosts(NULL, "pve1", &v);
	nodeaddr_parse_hosts(text, "", &v);
	assert_int_equal(v.n, 0);
}

/* corosync.conf as pvecm writes it: the node's ring addresses, not the
 * other nodes', not the totem interface's. */
static void test_corosync(void **state)
{
	static const char *const want[] = {"10.10.10.1", "pve1-ring1"};
	static const char *const text =
	    "logging {\n  debug: off\n  to_syslog: yes\n}\n\n"
	    "nodelist {\n"
	    "  node {\n"
	    "    ring0_addr: 10.10.10.2\n"
	    "    name: pve2\n"
	    "    nodeid: 2\n"
	    "  }\n"
	    "  node {\n"
	    "    ring0_addr: 10.10.10.1\n"
	    "    ring1_addr: pve1-ring1   # a name\n"
	    "    name: pve1\n"
	    "    nodeid: 1\n"
	    "    quorum_votes: 1\n"
	    "  }\n"
	    "}\n\n"
	    "totem {\n  cluster_name: lab\n  interface {\n    linknumber: 0\n  }\n"
	    "  ring0_addr: 10.99.99.99\n}\n";
	struct strv v = {0};

	(void)state;
	nodeaddr_parse_corosync(text, "pve1", &v);
	expect(&v, want, 2);
	strv_clear(&v);
	nodeaddr_parse_corosync(text, "pve3", &v);
	assert_int_equal(v.n, 0);
	nodeaddr_parse_corosync(
	    "nodelist {\n node {\n name: pve1\n ring0_addr: 10.0.0.1\n", "pve1", &v);
	assert_int_equal(v.n, 0); /* a block that never closes says nothing */
	nodeaddr_parse_corosync("}}}\nnode {\n}\n}\n", "pve1", &v);
	assert_int_equal(v.n, 0);
	/* a value with blanks or control characters is no address or name */
	nodeaddr_parse_corosync(
	    "node {\n name: pve1\n ring0_addr: 10v\r1\n ring1_addr: a b\n}\n", "pve1",
	    &v);
	assert_int_equal(v.n, 0);
}

static void test_read(void **state)
{
	static const char *const want_addr[] = {"192.168.1.10", "10.10.10.1",
						"10.20.0.1"};
	struct fx *fx = fx_new(NULL);
	struct strv a = {0}, w = {0};

	(void)state;
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	nodeaddr_read("pve1", &a, &w);
	assert_int_equal(a.n, 0); /* no files: nothing */
	assert_int_equal(
	    fx_spec(
		fx,
		"file /etc/hosts 127.0.0.1 localhost\\n192.168.1.10 pve1.lab pve1\\n"
		"10.20.0.1 pve1-ring1\\n\n"
		"file /etc/pve/corosync.conf nodelist {\\n  node {\\n    name: pve1\\n"
		"    ring0_addr: 10.10.10.1\\n    ring1_addr: pve1-ring1\\n"
		"    ring2_addr: 192.168.1.10\\n  }\\n}\\n\n"),
	    0);
	nodeaddr_read("pve1", &a, &w);
	expect(&a, want_addr, 3);
	assert_string_equal(w.v[0], "pve1 in /etc/hosts");
	assert_string_equal(w.v[1],
			    "corosync ring address of pve1 in /etc/pve/corosync.conf");
	assert_string_equal(w.v[2],
			    "corosync ring address of pve1 in /etc/pve/corosync.conf");
	strv_clear(&a);
	strv_clear(&w);
	host_cleanup();
	fx_free(fx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_corosync),
	    cmocka_unit_test(test_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
