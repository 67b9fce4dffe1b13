// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The engine's apply loop, its rollback and post-stop's give-back on fake
 * roots.  No kernel answers a sysfs write there, so the kernel operations
 * (pci_ops) are replaced by fakes that move the driver link the way the
 * kernel would, record every call, and fail where a test asks.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/host.h"
#include "engine/lifecycle.h"
#include "engine/pcistep.h"
#include "engine/prepare.h"
#include "engine/watcher.h"
#include "fixture.h"
#include "pci/bind.h"
#include "state/journal.h"
#include "testutil.h"

/* ---- the fake kernel ------------------------------------------------------ */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char calls[4096];    /* "to_vfio 0000:01:00.0;give_back ...;" */
static const char *fail_on; /* to_vfio of this device fails */
static int reset_fails;	    /* what reset returns (0: works) */
static int in_flight, max_in_flight;
static unsigned nap_ms;

static void record(const char *fmt, ...)
{
	va_list ap;
	size_t n;

	pthread_mutex_lock(&mu);
	n = strlen(calls);
	va_start(ap, fmt);
	vsnprintf(calls + n, sizeof(calls) - n, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&mu);
}

static void set_driver(const char *bdf, const char *drv)
{
	char path[PATH_MAX], target[PATH_MAX];

	host_path(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	unlink(path);
	if (drv) {
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
		assert_int_equal(symlink(target, path), 0);
	}
}

/* sysfs replaces an attribute's value; a plain file needs truncating */
static int put(const char *value, const char *fmt, const char *bdf)
{
	char path[PATH_MAX];
	FILE *f;

	host_path(path, sizeof(path), fmt, bdf);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(value, f);
	fclose(f);
	return 0;
}

static void busy(void)
{
	pthread_mutex_lock(&mu);
	if (++in_flight > max_in_flight)
		max_in_flight = in_flight;
	pthread_mutex_unlock(&mu);
	if (nap_ms)
		host_sleep_ms(nap_ms);
	pthread_mutex_lock(&mu);
	in_flight--;
	pthread_mutex_unlock(&mu);
}

static int fake_to_vfio(const char *bdf, char **err)
{
	record("to_vfio %s;", bdf);
	busy();
	if (fail_on && streq(fail_on, bdf))
		return errnof(err, -EBUSY,
			      "%s: writing to unbind failed: Device or resource busy",
			      bdf);
	put("vfio-pci", "/sys/bus/pci/devices/%s/driver_override", bdf);
	set_driver(bdf, "vfio-pci");
	return 0;
}

static int fake_give_back(const char *bdf, const char *driver, bool probe, char **err)
{
	(void)err;
	record("give_back %s %s;", bdf, driver ? driver : probe ? "(probe)" : "(none)");
	busy();
	put("", "/sys/bus/pci/devices/%s/driver_override", bdf);
	set_driver(bdf, driver ? driver : probe ? "hostdrv" : NULL);
	return 0;
}

static int fake_set_override(const char *bdf, const char *value, char **err)
{
	(void)err;
	record("override %s %s;", bdf, value ? value : "(clear)");
	return put(value ? value : "", "/sys/bus/pci/devices/%s/driver_override", bdf);
}

static int fake_reset(const char *bdf, enum reset_mode mode, const char *methods,
		      const struct strv *ours, char **note, char **err)
{
	(void)mode, (void)methods, (void)ours;
	record("reset %s;", bdf);
	if (reset_fails)
		return errnof(err, reset_fails, "%s: the reset of %s did not finish", bdf,
			      bdf);
	/* a reset that selected other methods and forgot to put them back */
	put("bus", "/sys/bus/pci/devices/%s/reset_method", bdf);
	*note = xstrdup("reset by bus");
	return 0;
}

static int fake_alive(const char *bdf, char **err)
{
	(void)bdf, (void)err;
	return 0;
}

static const struct pci_ops fake_ops = {
    .to_vfio = fake_to_vfio,
    .give_back = fake_give_back,
    .set_override = fake_set_override,
    .reset = fake_reset,
    .verify_alive = fake_alive,
};

/*
 * Four devices, each behind its own root port (so on its own bus): two
 * single NICs, an NVMe whose admin pinned it with driverctl (override nvme)
 * and vendor-reset's reset_method, and a two-function card in one group.
 */
static const char spec[] =
    "dev 0000:00:01.0 vendor=8086 device=7c01 class=060400 group=1 driver=pcieport bridge\n"
    "dev 0000:00:02.0 vendor=8086 device=7c02 class=060400 group=2 driver=pcieport bridge\n"
    "dev 0000:00:03.0 vendor=8086 device=7c03 class=060400 group=3 driver=pcieport bridge\n"
    "dev 0000:00:04.0 vendor=8086 device=7c04 class=060400 group=4 driver=pcieport bridge\n"
    "dev 0000:01:00.0 vendor=8086 device=10d3 class=020000 group=11 driver=e1000e parent=0000:00:01.0 reset_method=pm,bus\n"
    "dev 0000:02:00.0 vendor=8086 device=10d3 class=020000 group=12 driver=e1000e parent=0000:00:02.0\n"
    "dev 0000:03:00.0 vendor=1b36 device=0010 class=010802 group=13 driver=nvme override=nvme parent=0000:00:03.0 reset_method=device_specific\n"
    "dev 0000:04:00.0 vendor=1af4 device=1041 class=020000 group=14 driver=virtio-pci parent=0000:00:04.0\n"
    "dev 0000:04:00.1 vendor=1af4 device=1041 class=020000 group=14 driver=virtio-pci parent=0000:00:04.0\n"
    "file /etc/pve/qemu-server/100.conf hostpci0: 01:00.0\\nhostpci1: 02:00.0\\nhostpci2: 03:00.0\\nhostpci3: 04:00\\n\n";

static int setup(void **state)
{
	struct fx *fx;

	if (fx_test_setup(state) < 0)
		return -1;
	fx = *state;
	if (fx_spec(fx, spec) < 0)
		return -1;
	calls[0] = '\0';
	fail_on = NULL;
	reset_fails = 0;
	in_flight = max_in_flight = 0;
	nap_ms = 0;
	pci_step_set_ops(&fake_ops);
	return 0;
}

static int teardown(void **state)
{
	pci_step_set_ops(NULL);
	return fx_test_teardown(state);
}

static char *driver_of(const char *bdf)
{
	return bind_current_driver(bdf);
}

static void assert_driver(const char *bdf, const char *want)
{
	char *d = driver_of(bdf);

	if (want)
		assert_string_equal(d, want);
	else
		assert_null(d);
	free(d);
}

static void assert_file(const char *want, const char *fmt, const char *bdf)
{
	char *s = NULL;

	assert_int_equal(host_read(&s, fmt, bdf), 0);
	assert_string_equal(s, want);
	free(s);
}

static int prestart(void)
{
	struct prestart_result res;
	struct plan_ctx pc;
	char *err = NULL;
	int r;

	assert_int_equal(plan_ctx_make(&pc, 100, &err), 0);
	assert_true(pc.plan->ok);
	r = lifecycle_prestart(&pc, NULL, &res, &err);
	if (r == 0) {
		assert_int_equal(res.n_vfio, 5);
		assert_int_equal(res.n_moved, 5);
	}
	free(err);
	plan_ctx_free(&pc);
	return r;
}

static void test_prestart_binds_and_journals(void **state)
{
	struct journal *j = NULL;
	const struct jdev *jd;
	char *err = NULL;

	(void)state;
	assert_int_equal(prestart(), 0);
	for (const char *const *b =
		 (const char *const[]){"0000:01:00.0", "0000:02:00.0", "0000:03:00.0",
				       "0000:04:00.0", "0000:04:00.1", NULL};
	     *b; b++)
		assert_driver(*b, "vfio-pci");
	assert_int_equal(journal_load(100, &j, &err), 0);
	assert_string_equal(j->phase, "pre-start");
	assert_true(j->complete);
	assert_int_equal(j->n_devs, 5);
	jd = journal_dev(j, "0000:03:00.0");
	assert_int_equal(jd->state, JDEV_BOUND);
	assert_string_equal(jd->orig_driver, "nvme");
	assert_string_equal(jd->orig_override, "nvme");
	assert_string_equal(jd->orig_reset_method, "device_specific");
	assert_int_equal(jd->class_code, 0x010802);
	assert_string_equal(journal_dev(j, "0000:04:00.1")->hostpci, "hostpci3");
	journal_free(j);
	/* the two functions of one group move in order, in one lane */
	assert_true(strstr(calls, "to_vfio 0000:04:00.0;") <
		    strstr(calls, "to_vfio 0000:04:00.1;"));
}

static void test_groups_side_by_side(void **state)
{
	(void)state;
	nap_ms = 150;
	assert_int_equal(prestart(), 0);
	/* four independent groups: more than one bind under way at once, and
	 * never more than the worker bound */
	assert_true(max_in_flight > 1);
	assert_true(max_in_flight <= RUN_MAX_WORKERS);
}

static void test_failure_rolls_back_only_what_changed(void **state)
{
	struct journal *j = NULL;
	char *err = NULL;

	(void)state;
	fail_on = "0000:02:00.0";
	assert_int_equal(prestart(), -EIO);
	/* nothing stays on vfio-pci, nothing has a new override */
	assert_driver("0000:01:00.0", "e1000e");
	assert_driver("0000:02:00.0", "e1000e");
	assert_driver("0000:03:00.0", "nvme");
	assert_file("nvme", "/sys/bus/pci/devices/%s/driver_override", "0000:03:00.0");
	assert_driver("0000:04:00.1", "virtio-pci");
	/* no reset in a rollback (QEMU never opened them) */
	assert_null(strstr(calls, "reset "));
	/* a device whose bind never began is not touched by the rollback */
	{
		char *p = strstr(calls, "to_vfio 0000:03:00.0;");

		if (!p)
			assert_null(strstr(calls, "give_back 0000:03:00.0"));
	}
	assert_int_equal(journal_load(100, &j, &err), -ENOENT);
}

static void test_poststop_per_policy(void **state)
{
	struct journal *j = NULL;
	struct policy pol;
	char *err = NULL;

	(void)state;
	assert_int_equal(prestart(), 0);
	calls[0] = '\0';
	assert_int_equal(journal_load(100, &j, &err), 0);
	policy_defaults(&pol); /* rebind = auto */
	assert_int_equal(
	    lifecycle_release(j, &pol, GB_POST_STOP, "post-stop", false, &err), 0);
	journal_free(j);
	/* the NICs back on their driver, reset first */
	assert_driver("0000:01:00.0", "e1000e");
	assert_driver("0000:04:00.1", "virtio-pci");
	assert_non_null(strstr(calls, "reset 0000:01:00.0;"));
	/* the NVMe stays with the guest, and keeps vfio-pci's override */
	assert_driver("0000:03:00.0", "vfio-pci");
	assert_null(strstr(calls, "give_back 0000:03:00.0"));
	assert_file("vfio-pci", "/sys/bus/pci/devices/%s/driver_override",
		    "0000:03:00.0");
	/* what the admin had is back: the reset methods the fake reset changed */
	assert_file("pm bus", "/sys/bus/pci/devices/%s/reset_method", "0000:01:00.0");
	assert_file("device_specific", "/sys/bus/pci/devices/%s/reset_method",
		    "0000:03:00.0");
	assert_int_equal(journal_load(100, &j, &err), -ENOENT);
}

static void test_poststop_interrupted_reset_keeps_device(void **state)
{
	struct journal *j = NULL;
	struct policy pol;
	char *err = NULL;

	(void)state;
	assert_int_equal(prestart(), 0);
	/* a reset whose writer was killed or hung: the device may still be
	 * resetting, so it stays on vfio-pci and post-stop fails saying so */
	reset_fails = -ETIMEDOUT;
	assert_int_equal(journal_load(100, &j, &err), 0);
	policy_defaults(&pol);
	assert_true(lifecycle_release(j, &pol, GB_POST_STOP, "post-stop", false, &err) <
		    0);
	journal_free(j);
	free(err);
	assert_driver("0000:01:00.0", "vfio-pci");
	assert_null(strstr(calls, "give_back 0000:01:00.0"));
	/* the journal stays, so a later `release` finishes the job */
	err = NULL;
	assert_int_equal(journal_load(100, &j, &err), 0);
	journal_free(j);
}

static void test_poststop_restore_gives_override_back(void **state)
{
	struct journal *j = NULL;
	struct policy pol;
	char *err = NULL;

	(void)state;
	assert_int_equal(prestart(), 0);
	assert_int_equal(journal_load(100, &j, &err), 0);
	policy_defaults(&pol);
	pol.rebind = POLICY_REBIND_RESTORE;
	assert_int_equal(
	    lifecycle_release(j, &pol, GB_POST_STOP, "post-stop", false, &err), 0);
	journal_free(j);
	assert_driver("0000:03:00.0", "nvme");
	assert_file("nvme", "/sys/bus/pci/devices/%s/driver_override", "0000:03:00.0");
	/* given back in reverse order, one lane per group */
	assert_true(strstr(calls, "give_back 0000:04:00.1") <
		    strstr(calls, "give_back 0000:04:00.0"));
}

static void test_poststop_leaves_held_device(void **state)
{
	struct fx *fx = *state;
	struct journal *j = NULL, *other;
	struct policy pol;
	char *err = NULL;

	assert_int_equal(prestart(), 0);
	/* VM 101 runs now and holds 0000:01:00.0 (its own journal and QEMU) */
	other = journal_new(101);
	other->phase = xstrdup("pre-start");
	other->complete = true;
	journal_dev_add(other, "0000:01:00.0")->state = JDEV_BOUND;
	assert_int_equal(journal_save(other, &err), 0);
	journal_free(other);
	assert_int_equal(fx_spec(fx, "proc 4242 kvm -id 101\n"
				     "file /run/qemu-server/101.pid 4242\n"),
			 0);
	assert_int_equal(journal_load(100, &j, &err), 0);
	policy_defaults(&pol);
	assert_int_equal(
	    lifecycle_release(j, &pol, GB_POST_STOP, "post-stop", false, &err), 0);
	journal_free(j);
	assert_driver("0000:01:00.0", "vfio-pci");
	assert_null(strstr(calls, "give_back 0000:01:00.0"));
	assert_null(strstr(calls, "reset 0000:01:00.0"));
	assert_driver("0000:02:00.0", "e1000e");
}

static void test_dry_run_changes_nothing(void **state)
{
	struct journal *j = NULL;
	struct policy pol;
	char *err = NULL, *before = NULL, *after = NULL;

	(void)state;
	assert_int_equal(prestart(), 0);
	calls[0] = '\0';
	assert_int_equal(host_read(&before, "/run/vfiohook/100.json"), 0);
	assert_int_equal(journal_load(100, &j, &err), 0);
	policy_defaults(&pol);
	assert_int_equal(
	    lifecycle_release(j, &pol, GB_POST_STOP, "post-stop", true, &err), 0);
	journal_free(j);
	assert_string_equal(calls, "");
	assert_int_equal(host_read(&after, "/run/vfiohook/100.json"), 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* A QEMU that ends its start (dies) a little later, in another thread. */
static void *qemu_dies_later(void *arg)
{
	struct fx *fx = arg;

	usleep(150 * 1000);
	fx_file(fx, "/proc/4444/stat", "4444 (kvm) Z 1 1 1\n");
	return NULL;
}

/* The start watcher: it waits for the VM's QEMU, or gives back. */
static void test_watcher(void **state)
{
	struct fx *fx = *state;
	struct journal *j = NULL;
	char *err = NULL;
	long long started;

	assert_int_equal(prestart(), 0);
	assert_int_equal(journal_load(100, &j, &err), 0);
	started = j->started;
	journal_free(j);
	/* nothing comes: timed out */
	assert_int_equal(watcher_wait(100, started, 50, 50, 10), WATCH_TIMED_OUT);
	/* another start's journal is not ours to answer */
	assert_int_equal(watcher_wait(100, started + 1, 50, 50, 10), WATCH_JOURNAL_GONE);
	/* a pid file naming a process that is not that VM's QEMU does not count */
	assert_int_equal(fx_spec(fx, "proc 4242 sleep /bin/sleep 1000\n"
				     "file /run/qemu-server/100.pid 4242\n"),
			 0);
	assert_int_equal(watcher_wait(100, started, 50, 50, 10), WATCH_TIMED_OUT);
	/* a QEMU of the VM still starting (no pid file of its own yet): the
	 * give-back waits, and the timeout is held until that QEMU is gone */
	assert_int_equal(
	    fx_spec(
		fx,
		"proc 4444 kvm /usr/bin/kvm -id 100 -pidfile /var/run/qemu-server/100.pid\n"),
	    0);
	assert_int_equal(watcher_give_back(100, started, true, &err), 1);
	assert_driver("0000:01:00.0", "vfio-pci");
	{
		pthread_t t;
		uint64_t t0 = host_now_ms();

		/* held no longer than hold_ms, though it still starts */
		assert_int_equal(watcher_wait(100, started, 20, 80, 10), WATCH_TIMED_OUT);
		assert_true(host_now_ms() - t0 >= 80);
		/* held until it is gone */
		t0 = host_now_ms();
		assert_int_equal(pthread_create(&t, NULL, qemu_dies_later, fx), 0);
		assert_int_equal(watcher_wait(100, started, 20, 60000, 10),
				 WATCH_TIMED_OUT);
		assert_true(host_now_ms() - t0 >= 150);
		assert_true(host_now_ms() - t0 < 60000);
		pthread_join(t, NULL);
	}
	/* give back: every device as it was, the journal gone */
	calls[0] = '\0';
	assert_int_equal(watcher_give_back(100, started, true, &err), 0);
	assert_driver("0000:01:00.0", "e1000e");
	assert_driver("0000:03:00.0", "nvme"); /* storage too: the guest never ran */
	assert_null(strstr(calls, "reset "));
	assert_int_equal(journal_load(100, &j, &err), -ENOENT);
	assert_int_equal(watcher_wait(100, started, 50, 50, 10), WATCH_JOURNAL_GONE);
	/* a QEMU of the VM, with its -pidfile: up */
	assert_int_equal(prestart(), 0);
	assert_int_equal(journal_load(100, &j, &err), 0);
	started = j->started;
	journal_free(j);
	assert_int_equal(
	    fx_spec(
		fx,
		"proc 4343 kvm /usr/bin/kvm -id 100 -pidfile /var/run/qemu-server/100.pid\n"
		"file /run/qemu-server/100.pid 4343\n"),
	    0);
	assert_int_equal(watcher_wait(100, started, 1000, 1000, 10), WATCH_QEMU_UP);
	/* and then the watcher leaves the devices alone */
	assert_int_equal(watcher_give_back(100, started, false, &err), 0);
	assert_driver("0000:01:00.0", "vfio-pci");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_prestart_binds_and_journals, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_groups_side_by_side, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failure_rolls_back_only_what_changed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poststop_per_policy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poststop_interrupted_reset_keeps_device,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poststop_restore_gives_override_back,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poststop_leaves_held_device, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_watcher, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
