// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json.h>

#include "base/host.h"
#include "base/ids.h"
#include "fixture.h"
#include "state/journal.h"
#include "testutil.h"

static char *rpath(const char *rel)
{
	return host_pathdup("%s", rel);
}

/* A journal with every field set, every state once, NULLs and values. */
static struct journal *full_journal(void)
{
	static const char *const bdfs[] = {"0000:01:00.0", "0000:01:00.1", "0000:02:00.0",
					   "0000:03:00.0", "10000:e0:06.7"};
	struct journal *j = journal_new(100);

	j->phase = xstrdup("pre-start");
	j->complete = true;
	j->started = 1700000123;
	for (size_t i = 0; i < 5; i++) {
		struct jdev *d = journal_dev_add(j, bdfs[i]);

		assert_non_null(d);
		d->state = (enum jdev_state)i;
		d->orig_driver =
		    i % 2 ? NULL : xstrdup(i == 0 ? "nvidia" : "snd_hda_intel");
		d->orig_override = i == 3 ? xstrdup("vfio-pci") : NULL;
		d->hostpci = i == 1 ? NULL : xasprintf("hostpci%zu", i);
		d->group = i == 4 ? -1 : (int)(13 + i);
	}
	return j;
}

static void assert_journal_equal(const struct journal *a, const struct journal *b)
{
	assert_int_equal(a->vmid, b->vmid);
	if (a->phase || b->phase)
		assert_string_equal(a->phase, b->phase);
	assert_int_equal(a->complete, b->complete);
	assert_int_equal(a->started, b->started);
	assert_int_equal(a->n_devs, b->n_devs);
	for (size_t i = 0; i < a->n_devs; i++) {
		const struct jdev *x = &a->devs[i], *y = &b->devs[i];

		assert_string_equal(x->bdf, y->bdf);
		assert_int_equal(x->state, y->state);
		assert_int_equal(x->group, y->group);
#define SAME(f)                                                                          \
	do {                                                                             \
		if (x->f || y->f)                                                        \
			assert_string_equal(x->f, y->f);                                 \
	} while (0)
		SAME(orig_driver);
		SAME(orig_override);
		SAME(hostpci);
#undef SAME
	}
}

static void test_state_names(void **state)
{
	enum jdev_state s;

	(void)state;
	assert_string_equal(jdev_state_name(JDEV_UNTOUCHED), "untouched");
	assert_string_equal(jdev_state_name(JDEV_BINDING), "binding");
	assert_string_equal(jdev_state_name(JDEV_BOUND), "bound");
	assert_string_equal(jdev_state_name(JDEV_RELEASING), "releasing");
	assert_string_equal(jdev_state_name(JDEV_RELEASED), "released");
	assert_string_equal(jdev_state_name((enum jdev_state)42), "invalid");
	assert_int_equal(jdev_state_from_name("releasing", &s), 0);
	assert_int_equal(s, JDEV_RELEASING);
	assert_int_equal(jdev_state_from_name("Bound", &s), -EINVAL);
}

static void test_dev_add(void **state)
{
	struct journal *j = journal_new(101);
	struct jdev *d;

	(void)state;
	assert_null(journal_dev(j, "0000:01:00.0"));
	d = journal_dev_add(j, "0000:01:00.0");
	assert_non_null(d);
	assert_int_equal(d->state, JDEV_UNTOUCHED);
	assert_int_equal(d->group, -1);
	assert_null(d->orig_driver);
	d->group = 7;
	/* find or add: the same entry again, no duplicate */
	assert_int_equal(journal_dev_add(j, "0000:01:00.0")->group, 7);
	assert_non_null(journal_dev_add(j, "0000:01:00.1"));
	assert_int_equal(j->n_devs, 2);
	assert_int_equal(journal_dev(j, "0000:01:00.0")->group, 7);
	/* not PCI addresses */
	assert_null(journal_dev_add(j, "01:00.0"));
	assert_null(journal_dev_add(j, "0000:01:00.8"));
	assert_null(journal_dev_add(j, "0000:01:20.0"));
	assert_null(journal_dev_add(j, "0000:01:00.0/../x"));
	assert_null(journal_dev_add(j, "0000:0A:00.0"));
	assert_null(journal_dev_add(j, "1234567:01:00.0"));
	assert_null(journal_dev_add(j, NULL));
	assert_int_equal(j->n_devs, 2);
	assert_true(bdf_canonical("10000:e0:06.0"));
	journal_free(j);
	journal_free(NULL);
}

static void test_roundtrip(void **state)
{
	struct journal *j = full_journal(), *back = NULL;
	char *err = NULL, *text;

	(void)state;
	/* pure: format then parse */
	text = journal_format(j);
	assert_non_null(strstr(text, "\"releasing\""));
	assert_int_equal(journal_parse(text, 100, &back, &err), 0);
	assert_null(err);
	assert_journal_equal(j, back);
	journal_free(back);
	back = NULL;
	free(text);

	/* through the file */
	assert_int_equal(journal_save(j, &err), 0);
	assert_null(err);
	assert_int_equal(journal_load(100, &back, &err), 0);
	assert_null(err);
	assert_journal_equal(j, back);
	assert_string_equal(journal_dev(back, "0000:01:00.0")->orig_driver, "nvidia");
	assert_null(journal_dev(back, "0000:01:00.1")->orig_driver);
	assert_string_equal(journal_dev(back, "0000:03:00.0")->orig_override, "vfio-pci");
	assert_null(journal_dev(back, "0000:01:00.1")->hostpci);
	assert_int_equal(journal_dev(back, "10000:e0:06.7")->group, -1);
	assert_int_equal(journal_dev(back, "10000:e0:06.7")->state, JDEV_RELEASED);
	journal_free(back);
	journal_free(j);

	/* an empty journal, phase null */
	j = journal_new(999999999);
	j->started = 0;
	assert_int_equal(journal_save(j, &err), 0);
	assert_int_equal(journal_load(999999999, &back, &err), 0);
	assert_null(back->phase);
	assert_false(back->complete);
	assert_int_equal(back->n_devs, 0);
	journal_free(back);
	journal_free(j);
}

static void test_missing(void **state)
{
	struct journal *j = (struct journal *)0x1;
	char *err = NULL;

	(void)state;
	/* no directory at all, then a directory without the file */
	assert_int_equal(journal_load(100, &j, &err), -ENOENT);
	assert_null(j);
	assert_null(err);
	assert_int_equal(journal_dir_ensure(&err), 0);
	assert_int_equal(journal_load(100, &j, &err), -ENOENT);
	assert_null(err);
}

static void test_atomic_no_temp_files(void **state)
{
	struct journal *j = full_journal(), *back = NULL;
	_cleanup_free_ char *dir = rpath("/run/vfiohook");
	struct dirent *de;
	char *err = NULL;
	int files = 0;
	DIR *d;

	struct fx *fx = *state;

	/* a save killed before its rename left a temp file: the next save
	 * sweeps it; another VM's is not ours to remove */
	assert_int_equal(journal_dir_ensure(&err), 0);
	assert_int_equal(fx_file(fx, "/run/vfiohook/100.json.tmpKilled", "{\"vm"), 0);
	assert_int_equal(fx_file(fx, "/run/vfiohook/1000.json.tmpOther", "{"), 0);
	for (int i = 0; i < 5; i++) {
		j->started = 1000 + i;
		assert_int_equal(journal_save(j, &err), 0);
	}
	{
		_cleanup_free_ char *other = rpath("/run/vfiohook/1000.json.tmpOther");
		assert_int_equal(unlink(other), 0);
	}
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		assert_string_equal(de->d_name, "100.json");
		files++;
	}
	closedir(d);
	assert_int_equal(files, 1);
	/* the last write won */
	assert_int_equal(journal_load(100, &back, &err), 0);
	assert_int_equal(back->started, 1004);
	journal_free(back);
	journal_free(j);
}

static void test_modes(void **state)
{
	struct journal *j = journal_new(100);
	_cleanup_free_ char *dir = rpath("/run/vfiohook");
	_cleanup_free_ char *file = rpath("/run/vfiohook/100.json");
	struct stat st;
	char *err = NULL;

	(void)state;
	assert_int_equal(journal_save(j, &err), 0);
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	/* a directory with a wrong mode is fixed */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(journal_save(j, &err), 0);
	assert_null(err);
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* a journal others may write is not trusted */
	assert_int_equal(chmod(file, 0666), 0);
	{
		struct journal *back = NULL;

		assert_int_equal(journal_load(100, &back, &err), -EPERM);
		assert_null(back);
		assert_non_null(strstr(err, file));
		assert_non_null(strstr(err, "0666"));
		free(err);
		err = NULL;
	}
	/* saving replaces it with a 0600 one */
	assert_int_equal(journal_save(j, &err), 0);
	assert_int_equal(lstat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* a directory owned by someone else is refused (needs root to set up) */
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 4242, 4242), 0);
		assert_int_equal(journal_save(j, &err), -EPERM);
		assert_non_null(strstr(err, "owned by uid 4242"));
		free(err);
		err = NULL;
		assert_int_equal(chown(dir, 0, 0), 0);
	}
	journal_free(j);
}

static void test_dir_symlink_refused(void **state)
{
	struct fx *fx = *state;
	struct journal *j = journal_new(100), *back = NULL;
	_cleanup_free_ char *elsewhere = rpath("/tmp-elsewhere");
	_cleanup_free_ char *dir = rpath("/run/vfiohook");
	char *err = NULL;
	struct stat st;

	assert_int_equal(
	    fx_spec(fx, "mkdir /tmp-elsewhere\nlink /run/vfiohook ../tmp-elsewhere"), 0);
	assert_int_equal(journal_save(j, &err), -ELOOP);
	assert_non_null(strstr(err, "symlink"));
	assert_non_null(strstr(err, dir));
	free(err);
	err = NULL;
	/* nothing written through the link */
	assert_int_equal(stat(elsewhere, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	{
		_cleanup_free_ char *f = rpath("/tmp-elsewhere/100.json");
		assert_int_equal(access(f, F_OK), -1);
	}
	assert_int_equal(fx_file(fx, "/tmp-elsewhere/100.json",
				 "{\"version\":1,\"vmid\":100,\"devices\":[]}"),
			 0);
	assert_int_equal(journal_load(100, &back, &err), -ELOOP);
	assert_null(back);
	assert_non_null(strstr(err, "symlink"));
	free(err);
	journal_free(j);
}

static void test_file_symlink_refused(void **state)
{
	struct fx *fx = *state;
	struct journal *j = journal_new(100), *back = NULL;
	_cleanup_free_ char *file = rpath("/run/vfiohook/100.json");
	_cleanup_free_ char *target = NULL;
	const char *victim =
	    "{\"version\":1,\"vmid\":100,\"devices\":[],\"victim\":true}";
	char *err = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(journal_dir_ensure(&err), 0);
	assert_int_equal(fx_file(fx, "/etc/victim", victim), 0);
	assert_int_equal(fx_spec(fx, "link /run/vfiohook/100.json ../../etc/victim"), 0);

	/* load: not followed, even though the target is a valid journal */
	assert_int_equal(journal_load(100, &back, &err), -ELOOP);
	assert_null(back);
	assert_non_null(strstr(err, file));
	assert_non_null(strstr(err, "symlink"));
	free(err);
	err = NULL;

	/* save: refused, the link and its target stay as they were */
	j->phase = xstrdup("pre-start");
	assert_int_equal(journal_save(j, &err), -ELOOP);
	assert_non_null(strstr(err, "symlink"));
	free(err);
	err = NULL;
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(host_read(&target, "/etc/victim"), 0);
	assert_string_equal(target, victim);

	/* not listed as a journal; remove takes away the link, not the target */
	{
		unsigned *ids = NULL;
		size_t n = 99;

		assert_int_equal(journal_list(&ids, &n), 0);
		assert_int_equal(n, 0);
		assert_null(ids);
	}
	assert_int_equal(journal_remove(100), 0);
	assert_int_equal(lstat(file, &st), -1);
	assert_true(host_exists("/etc/victim"));
	/* then saving works */
	assert_int_equal(journal_save(j, &err), 0);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	journal_free(j);
}

/* Write text as VM 100's journal and load it; returns the error text. */
static char *load_text(struct fx *fx, const char *text, int expect)
{
	struct journal *j = NULL;
	_cleanup_free_ char *file = rpath("/run/vfiohook/100.json");
	char *err = NULL;

	assert_int_equal(journal_dir_ensure(&err), 0);
	assert_int_equal(fx_file(fx, "/run/vfiohook/100.json", text), 0);
	assert_int_equal(chmod(file, 0600), 0);
	assert_int_equal(journal_load(100, &j, &err), expect);
	if (expect == 0) {
		assert_non_null(j);
		journal_free(j);
		return NULL;
	}
	assert_null(j);
	assert_non_null(err);
	/* every message names the file */
	assert_non_null(strstr(err, file));
	return err;
}

#define BAD(text, needle)                                                                \
	do {                                                                             \
		char *e_ = load_text(fx, text, -EINVAL);                                 \
		if (!strstr(e_, needle))                                                 \
			fail_msg("error '%s' lacks '%s'", e_, needle);                   \
		free(e_);                                                                \
	} while (0)

static void test_corrupt(void **state)
{
	struct fx *fx = *state;
	const char *dev_ok = "{\"id\":\"0000:01:00.0\",\"state\":\"bound\"}";
	char buf[512];

	/* syntax */
	BAD("", "empty");
	BAD("  \n", "empty");
	BAD("{\"version\":1,\n\"vmid\":100,\n\"devices\":[", "ends early");
	BAD("{\"version\":1,\n\"vmid\":100,\n\"devices\": ]}", "line 3");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[]} trailing", "unexpected text");
	BAD("[1,2]", "must be a JSON object");
	/* structure */
	BAD("{\"vmid\":100,\"devices\":[]}", "\"version\" is missing");
	BAD("{\"version\":3,\"vmid\":100,\"devices\":[]}", "newer");
	BAD("{\"version\":1,\"vmid\":101,\"devices\":[]}", "for VM 101, not VM 100");
	BAD("{\"version\":1,\"vmid\":\"100\",\"devices\":[]}", "must be an integer");
	BAD("{\"version\":1,\"vmid\":100}", "\"devices\" is missing");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":{}}", "must be an array");
	BAD("{\"version\":1,\"vmid\":100,\"complete\":\"yes\",\"devices\":[]}",
	    "true or false");
	BAD("{\"version\":1,\"vmid\":100,\"started\":-5,\"devices\":[]}", "\"started\"");
	BAD("{\"version\":1,\"vmid\":100,\"phase\":\"../x\",\"devices\":[]}", "phase");
	/* devices */
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[7]}",
	    "devices[0] must be an object");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[{\"state\":\"bound\"}]}", "\"id\"");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[{\"id\":\"01:00.0\",\"state\":\"bound\"}]}",
	    "not a PCI address");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[{\"id\":\"0000:01:00.0\"}]}",
	    "\"state\" is missing");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[{\"id\":\"0000:01:00.0\",\"state\":\"gone\"}]}",
	    "'gone' is unknown");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[{\"id\":\"0000:01:00.0\",\"state\":\"bound\",\"orig_driver\":\"../../../bin/sh\"}]}",
	    "not a driver name");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[{\"id\":\"0000:01:00.0\",\"state\":\"bound\",\"orig_override\":\"a\\u0000b\"}]}",
	    "NUL");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[{\"id\":\"0000:01:00.0\",\"state\":\"bound\",\"hostpci\":\"usb0\"}]}",
	    "hostpciN");
	BAD("{\"version\":1,\"vmid\":100,\"devices\":[{\"id\":\"0000:01:00.0\",\"state\":\"bound\",\"group\":-2}]}",
	    "\"group\" is -2");
	snprintf(buf, sizeof(buf), "{\"version\":1,\"vmid\":100,\"devices\":[%s,%s]}",
		 dev_ok, dev_ok);
	BAD(buf, "listed twice");
	/* and a good one loads */
	snprintf(buf, sizeof(buf), "{\"version\":1,\"vmid\":100,\"devices\":[%s]}\n\n",
		 dev_ok);
	assert_null(load_text(fx, buf, 0));
}

static void test_unknown_keys_kept(void **state)
{
	struct fx *fx = *state;
	struct journal *j = NULL;
	_cleanup_free_ char *file = rpath("/run/vfiohook/100.json");
	_cleanup_free_ char *text = NULL;
	char *err = NULL;

	assert_int_equal(journal_dir_ensure(&err), 0);
	assert_int_equal(
	    fx_file(
		fx, "/run/vfiohook/100.json",
		"{\"version\":1,\"vmid\":100,\"phase\":\"pre-start\",\"hugepages\":{\"node0\":{\"2048\":512}},\"cpus\":[1,2,3],\"devices\":[{\"id\":\"0000:01:00.0\",\"state\":\"binding\",\"orig_driver\":\"nvidia\",\"reset_method\":\"flr bus\"}]}"),
	    0);
	assert_int_equal(chmod(file, 0600), 0);
	assert_int_equal(journal_load(100, &j, &err), 0);
	/* change known fields, save, and the unknown ones are still there */
	journal_dev(j, "0000:01:00.0")->state = JDEV_BOUND;
	free(j->phase);
	j->phase = xstrdup("post-stop");
	assert_int_equal(journal_save(j, &err), 0);
	journal_free(j);
	assert_int_equal(host_read(&text, "/run/vfiohook/100.json"), 0);
	assert_non_null(strstr(text, "\"hugepages\""));
	assert_non_null(strstr(text, "\"2048\""));
	assert_non_null(strstr(text, "512"));
	assert_non_null(strstr(text, "\"cpus\""));
	assert_non_null(strstr(text, "\"reset_method\""));
	assert_non_null(strstr(text, "\"post-stop\""));
	assert_non_null(strstr(text, "\"bound\""));
	assert_null(strstr(text, "\"binding\""));
	/* and once more through load/save */
	assert_int_equal(journal_load(100, &j, &err), 0);
	assert_int_equal(journal_dev(j, "0000:01:00.0")->state, JDEV_BOUND);
	assert_string_equal(journal_dev(j, "0000:01:00.0")->orig_driver, "nvidia");
	journal_free(j);
}

static void test_list_and_remove(void **state)
{
	struct fx *fx = *state;
	unsigned *ids = NULL;
	size_t n = 0;
	char *err = NULL;

	/* no directory: no journals */
	assert_int_equal(journal_list(&ids, &n), 0);
	assert_int_equal(n, 0);
	for (unsigned id = 300; id >= 100; id -= 100) {
		struct journal *j = journal_new(id);

		assert_int_equal(journal_save(j, &err), 0);
		journal_free(j);
	}
	{
		struct journal *j = journal_new(1000);
		assert_int_equal(journal_save(j, &err), 0);
		journal_free(j);
	}
	/* things that are not journals */
	assert_int_equal(fx_file(fx, "/run/vfiohook/lock", ""), 0);
	assert_int_equal(fx_file(fx, "/run/vfiohook/400.json.tmpAbC123", "{"), 0);
	assert_int_equal(fx_file(fx, "/run/vfiohook/abc.json", "{}"), 0);
	assert_int_equal(fx_file(fx, "/run/vfiohook/0500.json", "{}"), 0);
	assert_int_equal(fx_file(fx, "/run/vfiohook/.json", "{}"), 0);
	assert_int_equal(fx_spec(fx, "mkdir /run/vfiohook/600.json\n"
				     "link /run/vfiohook/700.json 100.json"),
			 0);
	assert_int_equal(journal_list(&ids, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(ids[0], 100);
	assert_int_equal(ids[1], 200);
	assert_int_equal(ids[2], 300);
	assert_int_equal(ids[3], 1000);
	free(ids);

	assert_int_equal(journal_remove(200), 0);
	assert_int_equal(journal_remove(200), -ENOENT);
	assert_int_equal(journal_list(&ids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[1], 300);
	free(ids);
}

/* Version 2: per-kind sections and the new device keys survive a round
 * trip; a journal of the previous release (version 1) still loads. */
static void test_sections_and_v1(void **state)
{
	struct journal *j = journal_new(100), *k = NULL;
	struct jsection *sec;
	struct jentry *e;
	struct jdev *d;
	char *err = NULL, *text;

	(void)state;
	d = journal_dev_add(j, "0000:01:00.0");
	d->orig_reset_method = xstrdup("device_specific");
	d->class_code = 0x010802;
	d->state = JDEV_PLANNED;
	assert_null(journal_section(j, "hugepages", false));
	sec = journal_section(j, "hugepages", true);
	assert_ptr_equal(journal_section(j, "hugepages", true), sec);
	assert_null(journal_section(j, "Bad Kind", true));
	e = jsection_entry(sec, "node1/2048kB", true);
	assert_int_equal(e->state, JSTEP_APPLYING);
	e->state = JSTEP_APPLIED;
	json_object_object_add(e->data, "added", json_object_new_int(512));
	assert_ptr_equal(jsection_entry(sec, "node1/2048kB", true), e);
	assert_null(jsection_entry(sec, "node0/2048kB", false));
	text = journal_format(j);
	assert_non_null(strstr(text, "\"version\": 2"));
	assert_int_equal(journal_parse(text, 100, &k, &err), 0);
	d = journal_dev(k, "0000:01:00.0");
	assert_string_equal(d->orig_reset_method, "device_specific");
	assert_int_equal(d->class_code, 0x010802);
	assert_int_equal(d->state, JDEV_PLANNED);
	sec = journal_section(k, "hugepages", false);
	assert_non_null(sec);
	assert_int_equal(sec->n, 1);
	assert_string_equal(sec->v[0].subject, "node1/2048kB");
	assert_int_equal(sec->v[0].state, JSTEP_APPLIED);
	{
		struct json_object *v;

		assert_true(json_object_object_get_ex(sec->v[0].data, "added", &v));
		assert_int_equal(json_object_get_int(v), 512);
	}
	free(text);
	journal_free(k);
	journal_free(j);
	/* what the previous release wrote */
	assert_int_equal(
	    journal_parse("{ \"version\": 1, \"vmid\": 100, \"phase\": \"pre-start\", "
			  "\"complete\": true, \"started\": 1700000000, \"devices\": [ "
			  "{ \"id\": \"0000:01:00.0\", \"orig_driver\": \"e1000e\", "
			  "\"orig_override\": null, \"state\": \"bound\", "
			  "\"hostpci\": \"hostpci0\", \"group\": 4 } ] }",
			  100, &k, &err),
	    0);
	d = journal_dev(k, "0000:01:00.0");
	assert_string_equal(d->orig_driver, "e1000e");
	assert_null(d->orig_reset_method);
	assert_int_equal(d->class_code, -1);
	assert_int_equal(d->state, JDEV_BOUND);
	assert_int_equal(k->n_sections, 0);
	journal_free(k);
	/* sections are checked like the rest */
	assert_int_equal(
	    journal_parse(
		"{\"version\":2,\"vmid\":100,\"devices\":[],"
		"\"sections\":{\"cpus\":[{\"subject\":\"x\",\"state\":\"odd\"}]}}",
		100, &k, &err),
	    -EINVAL);
	assert_non_null(strstr(err, "applying, applied, undoing or undone"));
	free(err);
	err = NULL;
	assert_int_equal(
	    journal_parse(
		"{\"version\":2,\"vmid\":100,\"devices\":[],"
		"\"sections\":{\"cpus\":[{\"subject\":\"x\",\"state\":\"applied\"},"
		"{\"subject\":\"x\",\"state\":\"applied\"}]}}",
		100, &k, &err),
	    -EINVAL);
	assert_non_null(strstr(err, "twice"));
	free(err);
}

static void test_parse_pure(void **state)
{
	struct journal *j = NULL;
	char *err = NULL, *again;

	(void)state;
	assert_int_equal(journal_parse(NULL, 100, &j, &err), -EINVAL);
	free(err);
	err = NULL;
	/* no file name in the pure parser's message, line/column instead */
	assert_int_equal(journal_parse("{\n\n  \"version\": x }", 100, &j, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "line 3"));
	assert_null(strstr(err, "/run"));
	free(err);
	err = NULL;
	/* formatting is stable: format(parse(format(x))) == format(x) */
	{
		struct journal *f = full_journal();
		char *text = journal_format(f);

		assert_int_equal(journal_parse(text, 100, &j, &err), 0);
		again = journal_format(j);
		assert_string_equal(text, again);
		free(text);
		free(again);
		journal_free(j);
		journal_free(f);
	}
	/* a bad struct is not saved (we never write what we cannot read) */
	{
		struct journal *f = journal_new(100);

		journal_dev_add(f, "0000:01:00.0")->orig_driver = xstrdup("bad/name");
		assert_int_equal(journal_save(f, &err), -EINVAL);
		assert_non_null(strstr(err, "bad/name"));
		free(err);
		journal_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test(test_dev_add),
	    cmocka_unit_test_setup_teardown(test_roundtrip, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_missing, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_atomic_no_temp_files, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_modes, fx_test_setup, fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_dir_symlink_refused, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_file_symlink_refused, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_keys_kept, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test_setup_teardown(test_list_and_remove, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test(test_sections_and_v1),
	    cmocka_unit_test_setup_teardown(test_parse_pure, fx_test_setup,
					    fx_test_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
