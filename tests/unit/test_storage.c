// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "fixture.h"
#include "pve/storage.h"
#include "testutil.h"

static const char cfg_text[] = "dir: local\n"
			       "\tpath /var/lib/vz\n"
			       "\tcontent iso,vztmpl,backup,snippets\n"
			       "\n"
			       "lvmthin: local-lvm\n"
			       "\tthinpool data\n"
			       "\tvgname pve\n"
			       "\tcontent rootdir,images\n"
			       "\n"
			       "# a comment\n"
			       "nfs: nas\n"
			       "\tserver 10.0.0.5\n"
			       "\texport /tank\n"
			       "\tcontent snippets , images\n"
			       "\tnodes pve1,pve2\n"
			       "\tshared\n"
			       "\n"
			       "dir: off\n"
			       "\tpath /srv/off\n"
			       "\tcontent snippets\n"
			       "\tdisable 1\n";

static void test_parse(void **state)
{
	struct storage_cfg *cfg = NULL;
	const struct pve_storage *s;

	(void)state;
	assert_int_equal(storage_parse(cfg_text, &cfg), 0);
	assert_int_equal(cfg->n, 4);
	assert_int_equal(cfg->warnings.n, 0);
	s = storage_find(cfg, "local");
	assert_string_equal(s->type, "dir");
	assert_string_equal(s->path, "/var/lib/vz");
	assert_true(storage_has_content(s, "snippets"));
	assert_true(storage_on_node(s, "pve9"));
	s = storage_find(cfg, "local-lvm");
	assert_null(s->path); /* block level: no files */
	assert_false(storage_has_content(s, "snippets"));
	s = storage_find(cfg, "nas");
	assert_string_equal(s->path, "/mnt/pve/nas"); /* mounted by Proxmox */
	assert_true(s->shared);
	assert_true(storage_has_content(s, "images"));
	assert_true(storage_on_node(s, "pve2"));
	assert_false(storage_on_node(s, "pve3"));
	assert_false(storage_on_node(storage_find(cfg, "off"), "pve1"));
	storage_free(cfg);
}

static void test_lenient(void **state)
{
	struct storage_cfg *cfg = NULL;
	const struct pve_storage *s;

	(void)state;
	/* junk is skipped with a warning naming the line; a repeated section
	 * replaces the earlier; without `local`, the built-in one is added */
	assert_int_equal(storage_parse("junk line\n"
				       "dir: store\n"
				       "\tpath relative/path\n"
				       "\tcontent images\n"
				       "\n"
				       "dir: store\n"
				       "\tpath /srv/store\n"
				       "\tcontent snippets\n"
				       "\tdisable maybe\n"
				       "\n"
				       "dir: Bad Id\n"
				       "\tpath /x\n",
				       &cfg),
			 0);
	s = storage_find(cfg, "store");
	assert_non_null(s);
	assert_string_equal(s->path, "/srv/store");
	assert_true(storage_has_content(s, "snippets"));
	assert_false(storage_has_content(s, "images"));
	assert_false(s->disabled);
	assert_null(storage_find(cfg, "Bad"));
	/* pve-storage's built-in local has snippets in its content list */
	s = storage_find(cfg, "local");
	assert_string_equal(s->path, "/var/lib/vz");
	assert_true(storage_has_content(s, "snippets"));
	assert_int_equal(cfg->warnings.n, 5);
	assert_non_null(strstr(cfg->warnings.v[0], "storage.cfg:1:"));
	assert_non_null(strstr(cfg->warnings.v[1], ":3:"));
	storage_free(cfg);
}

/* PVE::Storage::Plugin::parse_config: local is always the dir /var/lib/vz */
static void test_local_normalised(void **state)
{
	struct storage_cfg *cfg = NULL;
	const struct pve_storage *s;

	(void)state;
	/* without path: /var/lib/vz; a node restriction is dropped */
	assert_int_equal(
	    storage_parse("dir: local\n\tcontent snippets\n\tnodes pve2\n", &cfg), 0);
	s = storage_find(cfg, "local");
	assert_string_equal(s->path, "/var/lib/vz");
	assert_true(storage_on_node(s, "pve1"));
	assert_int_equal(cfg->warnings.n, 0);
	storage_free(cfg);
	/* another path, or another type: replaced by the built-in one */
	assert_int_equal(
	    storage_parse("dir: local\n\tpath /srv/x\n\tcontent iso\n", &cfg), 0);
	s = storage_find(cfg, "local");
	assert_string_equal(s->path, "/var/lib/vz");
	assert_true(storage_has_content(s, "snippets"));
	assert_int_equal(cfg->n, 1);
	assert_int_equal(cfg->warnings.n, 1);
	storage_free(cfg);
	assert_int_equal(storage_parse("zfspool: local\n\tpool rpool\n", &cfg), 0);
	s = storage_find(cfg, "local");
	assert_string_equal(s->type, "dir");
	assert_string_equal(s->path, "/var/lib/vz");
	storage_free(cfg);
	/* a local that is the dir /var/lib/vz is kept as written */
	assert_int_equal(
	    storage_parse("dir: local\n\tpath /var/lib/vz\n\tcontent iso\n", &cfg), 0);
	assert_false(storage_has_content(storage_find(cfg, "local"), "snippets"));
	storage_free(cfg);
}

static void test_snippet_path(void **state)
{
	struct storage_cfg *cfg = NULL;
	char *path = NULL, *id = NULL, *err = NULL;

	(void)state;
	assert_int_equal(storage_parse(cfg_text, &cfg), 0);
	assert_int_equal(
	    storage_snippet_file(cfg, "local:snippets/vfiohook", &path, &id, &err), 0);
	assert_string_equal(path, "/var/lib/vz/snippets/vfiohook");
	assert_string_equal(id, "local");
	free(path), free(id);
	assert_int_equal(
	    storage_snippet_file(cfg, "nas:snippets/h.sh", &path, NULL, &err), 0);
	assert_string_equal(path, "/mnt/pve/nas/snippets/h.sh");
	free(path);
	assert_int_equal(
	    storage_snippet_file(cfg, "local-lvm:snippets/x", &path, &id, &err),
	    -EMEDIUMTYPE);
	assert_string_equal(id, "local-lvm");
	assert_non_null(strstr(err, "no file system path"));
	free(err), free(id);
	err = NULL;
	assert_int_equal(storage_snippet_file(cfg, "nope:snippets/x", &path, NULL, &err),
			 -ENOENT);
	assert_non_null(strstr(err, "not defined"));
	free(err);
	err = NULL;
	assert_int_equal(storage_snippet_file(cfg, "local:iso/x.iso", &path, NULL, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "STORAGE:snippets/NAME"));
	free(err);
	err = NULL;
	assert_int_equal(
	    storage_snippet_file(cfg, "local:snippets/a/b", &path, NULL, &err), -EINVAL);
	free(err);
	storage_free(cfg);
	assert_int_equal(
	    storage_parse("dir: local\n\tpath /var/lib/vz\n\tcontent iso\n", &cfg), 0);
	err = NULL;
	/* a storage without the snippets content type still resolves it, as
	 * check_hookscript does */
	assert_int_equal(storage_snippet_file(cfg, "local:snippets/x", &path, NULL, &err),
			 0);
	assert_string_equal(path, "/var/lib/vz/snippets/x");
	free(path);
	storage_free(cfg);
}

static void test_read(void **state)
{
	struct fx *fx = *state;
	struct storage_cfg *cfg = NULL;
	char *err = NULL;

	/* no file: only the built-in local */
	assert_int_equal(storage_read(&cfg, &err), 0);
	assert_int_equal(cfg->n, 1);
	storage_free(cfg);
	assert_int_equal(fx_file(fx, "/etc/pve/storage.cfg", cfg_text), 0);
	assert_int_equal(storage_read(&cfg, &err), 0);
	assert_int_equal(cfg->n, 4);
	storage_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_lenient),
	    cmocka_unit_test(test_local_normalised),
	    cmocka_unit_test(test_snippet_path),
	    cmocka_unit_test_setup_teardown(test_read, fx_test_setup, fx_test_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
