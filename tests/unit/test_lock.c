// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/host.h"
#include "base/log.h"
#include "fixture.h"
#include "state/lock.h"
#include "testutil.h"

/* Child exit codes, so the parent can tell what went wrong. */
/* When set, the child logs at info level to this file. */
static const char *child_log;

enum { CHILD_OK = 0, CHILD_WRONG_RC = 10, CHILD_NO_MSG, CHILD_TOO_FAST, CHILD_TOO_SLOW };

/*
 * In a child: lock_take(path, timeout_ms) must return expect; for
 * -ETIMEDOUT the message must contain needle and the wait must have lasted
 * about timeout_ms.  Returns the child's pid.
 */
static pid_t child_take(const char *path, int timeout_ms, int expect, const char *needle)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *err = NULL;
		uint64_t t0 = host_now_ms(), dt;
		int fd = -1, r;

		if (child_log) {
			if (!freopen(child_log, "w", stderr))
				_exit(CHILD_WRONG_RC);
			log_setup(LOGL_INFO, false);
		}
		r = lock_take(path, timeout_ms, &fd, &err);
		dt = host_now_ms() - t0;
		if (r != expect) {
			fprintf(stderr,
				"child: lock_take returned %d, expected %d (%s)\n", r,
				expect, err ? err : "");
			_exit(CHILD_WRONG_RC);
		}
		if (r == -ETIMEDOUT) {
			if (!err || !strstr(err, needle)) {
				fprintf(stderr, "child: message '%s' lacks '%s'\n",
					err ? err : "", needle);
				_exit(CHILD_NO_MSG);
			}
			if (dt + 5 < (uint64_t)timeout_ms)
				_exit(CHILD_TOO_FAST);
			if (dt > (uint64_t)timeout_ms + 1500)
				_exit(CHILD_TOO_SLOW);
		}
		if (r == 0 && fd < 0)
			_exit(CHILD_WRONG_RC);
		lock_release(fd);
		_exit(CHILD_OK);
	}
	return pid;
}

static int child_wait(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_take_release(void **state)
{
	_cleanup_free_ char *file = host_pathdup("/run/vfiohook/lock");
	_cleanup_free_ char *dir = host_pathdup("/run/vfiohook");
	char *err = NULL;
	struct stat st;
	int fd = -1;

	(void)state;
	assert_int_equal(lock_global(&fd, &err), 0);
	assert_null(err);
	assert_true(fd >= 0);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* close-on-exec: hook children must not inherit the lock */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	lock_release(fd);
	lock_release(-1);
	/* again, on the existing file */
	assert_int_equal(lock_global(&fd, &err), 0);
	lock_release(fd);
}

static void test_other_lock_files(void **state)
{
	_cleanup_free_ char *file = host_pathdup("/var/lock/hugepages.lck");
	char *err = NULL;
	struct stat st;
	int fd = -1;

	(void)state;
	/* Proxmox's lock: /var/lock exists (fixture), the file is created */
	assert_int_equal(lock_take(LOCK_HUGEPAGES_PATH, 1000, &fd, &err), 0);
	assert_int_equal(lstat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	lock_release(fd);
	/* a missing parent directory is created 0700 */
	assert_int_equal(lock_take("/run/newdir/x.lck", 0, &fd, &err), 0);
	lock_release(fd);
	assert_true(host_exists("/run/newdir/x.lck"));
	/* not absolute */
	assert_int_equal(lock_take("run/vfiohook/lock", 0, &fd, &err), -EINVAL);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, "not absolute"));
	free(err);
}

static void test_contention_times_out(void **state)
{
	_cleanup_free_ char *file = host_pathdup("/run/vfiohook/lock");
	char *err = NULL;
	int fd = -1;

	(void)state;
	assert_int_equal(lock_global(&fd, &err), 0);
	/* a second taker times out while we hold it, and says where to look */
	assert_int_equal(child_wait(child_take(LOCK_GLOBAL_PATH, 300, -ETIMEDOUT, file)),
			 CHILD_OK);
	assert_int_equal(
	    child_wait(child_take(LOCK_GLOBAL_PATH, 300, -ETIMEDOUT, "fuser -v")),
	    CHILD_OK);
	/* timeout 0: one try */
	assert_int_equal(child_wait(child_take(LOCK_GLOBAL_PATH, 0, -ETIMEDOUT,
					       "another vfiohook run")),
			 CHILD_OK);
	/* released: the next one gets it */
	lock_release(fd);
	assert_int_equal(child_wait(child_take(LOCK_GLOBAL_PATH, 300, 0, NULL)),
			 CHILD_OK);
}

static void test_waits_until_released(void **state)
{
	char *err = NULL;
	uint64_t t0;
	pid_t pid;
	int fd = -1;

	(void)state;
	assert_int_equal(lock_global(&fd, &err), 0);
	/* the child waits (bounded by 10 s) and gets the lock when we let go */
	t0 = host_now_ms();
	pid = child_take(LOCK_GLOBAL_PATH, 10000, 0, NULL);
	host_sleep_ms(400);
	lock_release(fd);
	assert_int_equal(child_wait(pid), CHILD_OK);
	assert_true(host_now_ms() - t0 >= 400);
	assert_true(host_now_ms() - t0 < 5000);
}

static void test_says_it_waits(void **state)
{
	_cleanup_free_ char *log = host_pathdup("/child.log");
	_cleanup_free_ char *text = NULL;
	char *err = NULL;
	int fd = -1;

	(void)state;
	assert_int_equal(lock_global(&fd, &err), 0);
	child_log = log;
	assert_int_equal(
	    child_wait(child_take(LOCK_GLOBAL_PATH, 1300, -ETIMEDOUT, "timed out")),
	    CHILD_OK);
	child_log = NULL;
	lock_release(fd);
	assert_int_equal(host_read(&text, "/child.log"), 0);
	/* once, at info level, naming the lock */
	assert_non_null(strstr(text, "INFO"));
	assert_non_null(strstr(text, "waiting for"));
	assert_non_null(strstr(text, "/run/vfiohook/lock"));
	assert_null(strstr(strstr(text, "waiting for") + 1, "waiting for"));
}

static void test_holder_named(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *file = host_pathdup("/run/vfiohook/lock");
	char locks[256], cmdpath[64], needle[128];
	char *err = NULL;
	struct stat st;
	int fd = -1;

	assert_int_equal(lock_global(&fd, &err), 0);
	assert_int_equal(fstat(fd, &st), 0);
	/* /proc/locks as the kernel prints it, with a waiter line first */
	snprintf(locks, sizeof(locks),
		 "1: -> FLOCK  ADVISORY  WRITE 99999 %02x:%02x:%lu 0 EOF\n"
		 "1: FLOCK  ADVISORY  WRITE %d %02x:%02x:%lu 0 EOF\n"
		 "2: POSIX  ADVISORY  WRITE 1 00:01:2 0 EOF\n",
		 major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino,
		 (int)getpid(), major(st.st_dev), minor(st.st_dev),
		 (unsigned long)st.st_ino);
	assert_int_equal(fx_file(fx, "/proc/locks", locks), 0);
	snprintf(cmdpath, sizeof(cmdpath), "/proc/%d/cmdline", (int)getpid());
	{
		_cleanup_free_ char *p = host_pathdup("%s", cmdpath);
		FILE *f;

		assert_int_equal(fx_file(fx, cmdpath, ""), 0);
		f = fopen(p, "w");
		assert_non_null(f);
		fwrite("vfiohook\0"
		       "100\0"
		       "pre-start\0",
		       1, 23, f);
		fclose(f);
	}
	snprintf(needle, sizeof(needle), "held by pid %d (vfiohook 100 pre-start)",
		 (int)getpid());
	assert_int_equal(
	    child_wait(child_take(LOCK_GLOBAL_PATH, 100, -ETIMEDOUT, needle)), CHILD_OK);
	lock_release(fd);
}

static void test_symlink_refused(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *target = host_pathdup("/etc/important");
	char *err = NULL;
	int fd = -1;

	assert_int_equal(fx_spec(fx, "mkdir /run/vfiohook\n"
				     "link /run/vfiohook/lock ../../etc/important"),
			 0);
	assert_int_equal(lock_take(LOCK_GLOBAL_PATH, 100, &fd, &err), -ELOOP);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, "symlink"));
	free(err);
	/* the target was not created through the link */
	assert_int_equal(access(target, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_take_release, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_other_lock_files, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_contention_times_out, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_waits_until_released, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_says_it_waits, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_holder_named, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_symlink_refused, fx_test_setup,
					    fx_test_teardown),
	};

	log_setup(LOGL_ERR, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
