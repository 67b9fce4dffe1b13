// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
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

static void test_root_prefix(void **state)
{
	struct fx *fx = fx_new(NULL);
	char buf[4096];
	char *s = NULL;
	long v;

	(void)state;
	assert_int_equal(
	    fx_spec(
		fx,
		"dev 0000:01:00.0 vendor=10de device=1f08 class=030000 group=13 driver=nvidia"),
	    0);
	assert_int_equal(host_setup(fx_root(fx), "pve1"), 0);
	assert_false(host_is_real());
	assert_string_equal(host_node(), "pve1");
	assert_int_equal(host_path(buf, sizeof(buf), "/sys/bus/pci/devices/%s", "x"), 0);
	assert_true(strncmp(buf, fx_root(fx), strlen(fx_root(fx))) == 0);
	assert_int_equal(host_read(&s, "/sys/bus/pci/devices/0000:01:00.0/vendor"), 0);
	assert_string_equal(s, "0x10de");
	free(s);
	assert_int_equal(host_read_long(&v, "/sys/bus/pci/devices/0000:01:00.0/class"),
			 0);
	assert_int_equal(v, 0x030000);
	assert_int_equal(
	    host_readlink_base(&s, "/sys/bus/pci/devices/0000:01:00.0/driver"), 0);
	assert_string_equal(s, "nvidia");
	free(s);
	assert_int_equal(
	    host_readlink_base(&s, "/sys/bus/pci/devices/0000:01:00.0/iommu_group"), 0);
	assert_string_equal(s, "13");
	free(s);
	/* the relative links resolve like the kernel's */
	assert_true(
	    host_exists("/sys/kernel/iommu_groups/13/devices/0000:01:00.0/vendor"));
	assert_true(host_exists("/sys/bus/pci/drivers/nvidia/0000:01:00.0/device"));
	assert_int_equal(host_read(&s, "/nonexistent"), -ENOENT);
	assert_int_equal(
	    host_write("vfio-pci", "/sys/bus/pci/devices/0000:01:00.0/driver_override"),
	    0);
	assert_int_equal(
	    host_read(&s, "/sys/bus/pci/devices/0000:01:00.0/driver_override"), 0);
	assert_string_equal(s, "vfio-pci");
	free(s);
	/* no O_CREAT: writing a missing attribute fails */
	assert_int_equal(host_write("1", "/sys/bus/pci/devices/0000:01:00.0/nope"),
			 -ENOENT);
	assert_int_equal(
	    host_write_timeout(1000, "1", "/sys/bus/pci/devices/0000:01:00.0/reset"), 0);
	assert_int_equal(
	    host_write_timeout(1000, "1", "/sys/bus/pci/devices/0000:01:00.0/nope"),
	    -ENOENT);
	host_cleanup();
	fx_free(fx, 0);
}

static void test_atomic_and_mkdir(void **state)
{
	struct fx *fx = fx_new(NULL);
	struct stat st;
	char *s = NULL;
	char p[4096];

	(void)state;
	assert_int_equal(host_setup(fx_root(fx), "n"), 0);
	assert_int_equal(host_mkdir_p(0700, "/run/vfiohook"), 0);
	assert_int_equal(host_write_atomic("{}", 2, 0600, "/run/vfiohook/100.json"), 0);
	assert_int_equal(host_read(&s, "/run/vfiohook/100.json"), 0);
	assert_string_equal(s, "{}");
	free(s);
	host_path(p, sizeof(p), "/run/vfiohook/100.json");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	host_path(p, sizeof(p), "/run/vfiohook");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	host_cleanup();
	fx_free(fx, 0);
}

/* A write that hangs (here: opening a FIFO nobody reads, as an unbind of a
 * busy driver hangs) comes back with -ETIMEDOUT after the bound. */
static void test_write_timeout_bounds_a_hang(void **state)
{
	struct fx *fx = fx_new(NULL);
	char fifo[4096], buf[8];
	uint64_t t0, dt;
	int fd;

	(void)state;
	assert_int_equal(host_setup(fx_root(fx), "n"), 0);
	host_path(fifo, sizeof(fifo), "/sys/bus/pci/devices/stuck");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	t0 = host_now_ms();
	assert_int_equal(host_write_timeout(300, "1", "/sys/bus/pci/devices/stuck"),
			 -ETIMEDOUT);
	dt = host_now_ms() - t0;
	assert_true(dt >= 300);
	assert_true(dt < 5000);
	/* let the stuck writer finish so it does not outlive the test */
	fd = open(fifo, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 1);
	close(fd);
	host_cleanup();
	fx_free(fx, 0);
}

static void test_real_root(void **state)
{
	(void)state;
	assert_int_equal(host_setup("/", NULL), 0);
	assert_true(host_is_real());
	assert_string_equal(host_root(), "");
	assert_null(strchr(host_node(), '.'));
	assert_int_equal(host_setup("relative", NULL), -EINVAL);
	host_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_prefix),
	    cmocka_unit_test(test_atomic_and_mkdir),
	    cmocka_unit_test(test_write_timeout_bounds_a_hang),
	    cmocka_unit_test(test_real_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
