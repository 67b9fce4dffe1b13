// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qemu-server's vm_running_locally and config_aware_timeout
 * (PVE/QemuServer/Helpers.pm), as pve/runstate.c implements them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pve/pveconf.h"
#include "pve/runstate.h"

static void test_running(void **state)
{
	struct fx *fx = fx_new(NULL);

	(void)state;
	assert_int_equal(
	    fx_spec(
		fx,
		/* 100: Proxmox's QEMU with its pid file */
		"proc 1000 kvm /usr/bin/kvm -id 100 -name vm100,debug-threads=on "
		"-pidfile /var/run/qemu-server/100.pid -daemonize\n"
		"file /var/run/qemu-server/100.pid 1000\n"
		/* 101: a qemu-system binary, --pidfile, pid file under /run */
		"proc 1010 qemu-system-x86 /usr/bin/qemu-system-x86_64 --pidfile "
		"/var/run/qemu-server/101.pid\n"
		"file /run/qemu-server/101.pid 1010\n"
		/* 102: the pid file names a process that is not a QEMU */
		"proc 1020 sleep /bin/sleep 300 -pidfile /var/run/qemu-server/102.pid\n"
		"file /var/run/qemu-server/102.pid 1020\n"
		/* 103: a QEMU of VM 100's pid file */
		"file /var/run/qemu-server/103.pid 1000\n"
		/* 104: a dead pid */
		"file /var/run/qemu-server/104.pid 9999\n"
		/* 105: junk in the pid file */
		"file /var/run/qemu-server/105.pid 1000x\n"
		/* 106: a zombie QEMU */
		"proc 1060 kvm /usr/bin/kvm -pidfile /var/run/qemu-server/106.pid\n"
		"file /proc/1060/stat 1060 (kvm) Z 1 1 1\n"
		"file /var/run/qemu-server/106.pid 1060\n"
		/* 107: -pidfile without a value */
		"proc 1070 kvm /usr/bin/kvm -pidfile -daemonize\n"
		"file /var/run/qemu-server/107.pid 1070\n"),
	    0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	assert_int_equal(pve_vm_running_pid(100), 1000);
	assert_int_equal(pve_vm_running_pid(101), 1010);
	for (unsigned vmid = 102; vmid <= 108; vmid++)
		if (pve_vm_running_pid(vmid) != 0)
			fail_msg("VM %u is not running", vmid);
	host_cleanup();
	fx_free(fx, 0);
}

/* A QEMU of the VM that has not written its pid file yet: starting. */
static void test_starting(void **state)
{
	struct fx *fx = fx_new(NULL);

	(void)state;
	assert_int_equal(
	    fx_spec(
		fx,
		/* 200: no pid file yet */
		"proc 2000 kvm /usr/bin/kvm -id 200 -pidfile /var/run/qemu-server/200.pid\n"
		/* 201: only another VM's QEMU and a non-QEMU naming 201 */
		"proc 2010 kvm /usr/bin/kvm -id 202 -pidfile /var/run/qemu-server/202.pid\n"
		"proc 2011 sleep /bin/sleep 300 -pidfile /var/run/qemu-server/201.pid\n"
		/* 203: a zombie */
		"proc 2030 kvm /usr/bin/kvm -pidfile /var/run/qemu-server/203.pid\n"
		"file /proc/2030/stat 2030 (kvm) Z 1 1 1\n"
		/* 206: a user's process named like a QEMU of the VM */
		"proc 2060 kvm /usr/bin/kvm -pidfile /var/run/qemu-server/206.pid\n"
		/* 204: a pid file prefix is not the pid file */
		"proc 2040 kvm /usr/bin/kvm -pidfile /var/run/qemu-server/204.pid.old\n"),
	    0);
	assert_int_equal(
	    fx_file(fx, "/proc/2060/status", "Name:\tkvm\nUid:\t0\t1000\t1000\t1000\n"),
	    0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	assert_int_equal(pve_vm_starting_pid(200), 2000);
	assert_int_equal(pve_vm_running_pid(200), 0); /* not running by Proxmox's rule */
	assert_int_equal(pve_vm_starting_pid(202), 2010);
	assert_int_equal(pve_vm_starting_pid(201), 0);
	assert_int_equal(pve_vm_starting_pid(203), 0);
	assert_int_equal(pve_vm_starting_pid(204), 0);
	assert_int_equal(pve_vm_starting_pid(205), 0);
	assert_int_equal(pve_vm_starting_pid(206), 0);
	host_cleanup();
	fx_free(fx, 0);
}

static unsigned timeout_of(const char *text)
{
	struct vmconf *c = NULL;
	struct vm *vm = NULL;
	char *err = NULL;
	unsigned t;

	assert_int_equal(vmconf_parse(text, strlen(text), "/etc/pve/qemu-server/100.conf",
				      100, &c, &err),
			 0);
	if (vm_from_conf(c, &vm, &err) < 0)
		fail_msg("%s", err);
	t = pve_config_aware_timeout(vm);
	assert_int_equal(pve_start_timeout(vm), t + 5);
	vm_free(vm);
	return t;
}

static void test_timeout(void **state)
{
	(void)state;
	/* the defaults: 30 s */
	assert_int_equal(timeout_of("name: x\n"), 30);
	/* memory above 30720 MiB: memory / 1024 */
	assert_int_equal(timeout_of("memory: 30720\n"), 30);
	assert_int_equal(timeout_of("memory: 30721\n"), 30);
	assert_int_equal(timeout_of("memory: 65536\n"), 64);
	assert_int_equal(timeout_of("memory: current=524288\n"), 512);
	/* any hostpciN: times 4 */
	assert_int_equal(timeout_of("hostpci0: 01:00.0\n"), 120);
	assert_int_equal(timeout_of("hostpci3: 01:00.0\nhostpci7: 02:00.0\n"), 120);
	assert_int_equal(timeout_of("hostpci0: 01:00.0\nmemory: 65536\n"), 256);
	/* resuming from suspend: at least 300 */
	assert_int_equal(timeout_of("lock: suspended\n"), 300);
	assert_int_equal(
	    timeout_of("vmstate: local:x\nhostpci0: 01:00.0\nmemory: 131072\n"), 512);
	/* hugepages: at least 150 */
	assert_int_equal(timeout_of("hugepages: 2\n"), 150);
	assert_int_equal(timeout_of("hugepages: any\nhostpci0: 01:00.0\nmemory: 65536\n"),
			 256);
	/* 5 s per NIC, after the rest */
	assert_int_equal(timeout_of("net0: virtio\nnet1: virtio\nhostpci0: 01:00.0\n"),
			 130);
	assert_int_equal(timeout_of("net0: virtio\nhugepages: 1024\n"), 155);
	/* the unknown VM's default is one with passthrough */
	assert_int_equal(PVE_START_TIMEOUT_UNKNOWN, 4 * 30 + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_running),
	    cmocka_unit_test(test_starting),
	    cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
