// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pve/reservation.h"

static const struct reservation *find(const struct reservations *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].id, id) == 0)
			return &r->v[i];
	return NULL;
}

static void test_parse(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct reservations *r = NULL;
	const struct reservation *e;

	(void)state;
	/* VM 101 runs as pid 4242 (Proxmox's pid file and a QEMU with that
	 * -pidfile); 4444 is VM 107's pid file naming a process that is not its
	 * QEMU, 4545 a QEMU of another VM */
	assert_int_equal(
	    fx_spec(
		fx,
		"proc 4242 kvm /usr/bin/kvm -id 101 -pidfile /var/run/qemu-server/101.pid -daemonize\n"
		"file /var/run/qemu-server/101.pid 4242\n"
		"proc 4444 sleep sleep 300\n"
		"file /var/run/qemu-server/107.pid 4444\n"
		"proc 4545 kvm /usr/bin/kvm -id 109 -pidfile /var/run/qemu-server/109.pid\n"
		"file /var/run/qemu-server/108.pid 4545\n"),
	    0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	assert_int_equal(reservation_parse("0000:01:00.0 101 pid:4242\n"
					   "0000:01:00.1 101 pid:4343\n"
					   "02:00.0 102 time:2000\n"
					   "0000:03:00.0 103 time:500\n"
					   "0000:04:00.0 104 time:1000\n"
					   "garbage line\n"
					   "0000:05:00.0 105 time:abc\n"
					   "0000:05:00.0  105 time:9999\n"
					   "0000:05:00.0 105 when:9999\n"
					   "0000:05:00.0 105 time:9999 \n"
					   "0000:05:00.0 105 time:9999\r\n"
					   "0000:05:00.A 105 time:9999\n"
					   "\n"
					   "0000:06:00.0 106 time:3000\n"
					   "0000:07:00.0 107 pid:4444\n"
					   "0000:08:00.0 108 pid:4545\n"
					   "0000:09:00.0 101 pid:4243\n",
					   1000, &r),
			 0);
	assert_int_equal(r->n, 9);
	e = find(r, "0000:01:00.0");
	assert_non_null(e);
	assert_int_equal(e->vmid, 101);
	assert_int_equal(e->kind, 'p');
	assert_int_equal(e->value, 4242);
	assert_true(e->live); /* VM 101 runs as 4242 */
	e = find(r, "0000:01:00.1");
	assert_false(e->live);	     /* VM 101 runs, but not as 4343 */
	e = find(r, "0000:02:00.0"); /* domain added */
	assert_non_null(e);
	assert_int_equal(e->kind, 't');
	assert_int_equal(e->value, 2000);
	assert_true(e->live);
	assert_false(find(r, "0000:03:00.0")->live); /* expired */
	assert_false(find(r, "0000:04:00.0")->live); /* time > now, not >= */
	assert_null(find(r, "0000:05:00.0"));	     /* every form of it was bad */
	assert_true(find(r, "0000:06:00.0")->live);
	/* a pid that is not that VM's QEMU does not hold a reservation */
	assert_false(find(r, "0000:07:00.0")->live); /* not a QEMU */
	assert_false(find(r, "0000:08:00.0")->live); /* another VM's -pidfile */
	assert_false(find(r, "0000:09:00.0")->live); /* VM 101 runs as 4242 */

	assert_int_equal(reservation_other_vm(r, "0000:01:00.0", 100), 101);
	assert_int_equal(reservation_other_vm(r, "01:00.0", 100), 101);
	assert_int_equal(reservation_other_vm(r, "0000:01:00.0", 101), 0); /* our own */
	assert_int_equal(reservation_other_vm(r, "0000:01:00.1", 100), 0); /* dead pid */
	assert_int_equal(reservation_other_vm(r, "0000:02:00.0", 100), 102);
	assert_int_equal(reservation_other_vm(r, "0000:03:00.0", 100), 0); /* expired */
	assert_int_equal(reservation_other_vm(r, "0000:09:00.0", 100), 0);
	assert_int_equal(reservation_other_vm(NULL, "0000:09:00.0", 100), 0);
	reservation_free(r);

	/* the later line for an id wins, as in Proxmox's hash */
	assert_int_equal(reservation_parse("0000:01:00.0 101 time:5000\n"
					   "0000:01:00.0 102 pid:4242",
					   1000, &r),
			 0);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->v[0].vmid, 102);
	assert_int_equal(r->v[0].kind, 'p');
	reservation_free(r);
	reservation_free(NULL);
	host_cleanup();
	fx_free(fx, 0);
}

static void test_read(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct reservations *r = NULL;
	char *err = NULL;
	char buf[256];

	(void)state;
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	/* no file: nothing reserved */
	assert_int_equal(reservation_read(&r, &err), 0);
	assert_int_equal(r->n, 0);
	reservation_free(r);

	snprintf(buf, sizeof(buf),
		 "0000:01:00.0 101 time:%lld\n0000:02:00.0 102 time:%lld\n",
		 (long long)time(NULL) + 100, (long long)time(NULL) - 100);
	assert_int_equal(fx_file(fx, "/run/qemu-server/pci-id-reservations", buf), 0);
	assert_int_equal(reservation_read(&r, &err), 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(reservation_other_vm(r, "0000:01:00.0", 100), 101);
	assert_int_equal(reservation_other_vm(r, "0000:02:00.0", 100), 0);
	reservation_free(r);
	host_cleanup();
	fx_free(fx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
