// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The per-VM journal (journal.h).  Parsing and formatting are pure so they
 * can be fuzzed; the file functions add the paranoia a root-owned state file
 * in /run needs: no symlink is ever followed, the directory is ours and 0700.
 */
#include "state/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/util.h"

/* Largest journal we read: a VM has at most 16 hostpci entries plus their
 * group companions, so this is generous. */
#define JOURNAL_MAX_TEXT (1u << 20)

/* clang-format off */
static const char *const state_names[] = {
	[JDEV_UNTOUCHED] = "untouched",
	[JDEV_BINDING] = "binding",
	[JDEV_BOUND] = "bound",
	[JDEV_RELEASING] = "releasing",
	[JDEV_RELEASED] = "released",
	[JDEV_PLANNED] = "planned",
};
static const char *const jstep_names[] = {
	[JSTEP_APPLYING] = "applying",
	[JSTEP_APPLIED] = "applied",
	[JSTEP_UNDOING] = "undoing",
	[JSTEP_UNDONE] = "undone",
};
/* clang-format on */

const char *jdev_state_name(enum jdev_state s)
{
	if ((unsigned)s < ARRAY_SIZE(state_names))
		return state_names[s];
	return "invalid";
}

const char *jstep_state_name(enum jstep_state s)
{
	if ((unsigned)s < ARRAY_SIZE(jstep_names))
		return jstep_names[s];
	return "invalid";
}

static int jstep_state_from_name(const char *name, enum jstep_state *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(jstep_names); i++) {
		if (streq(name, jstep_names[i])) {
			*out = (enum jstep_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

int jdev_state_from_name(const char *name, enum jdev_state *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_names); i++) {
		if (streq(name, state_names[i])) {
			*out = (enum jdev_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* A kernel driver name as it appears in /sys/bus/pci/drivers and in
 * driver_override: we later build sysfs paths from it, so no '/' or
 * control characters may ever come back out of a journal. */
static bool driver_name_valid(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
		      c == ':' || c == '+'))
			return false;
	}
	return n <= 64;
}

static bool phase_valid(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		      s[n] == '-'))
			return false;
	return n <= 32;
}

static bool hostpci_valid(const char *s)
{
	unsigned long long n;

	return s && startswith(s, "hostpci") && strlen(s) <= 10 &&
	       parse_uint(s + 7, 99, &n) == 0;
}

struct journal *journal_new(unsigned vmid)
{
	struct journal *j = xcalloc(1, sizeof(*j));

	j->vmid = vmid;
	j->started = (long long)time(NULL);
	return j;
}

static void jdev_clear(struct jdev *d)
{
	free(d->orig_driver);
	free(d->orig_override);
	free(d->orig_reset_method);
	free(d->hostpci);
	if (d->extra)
		json_object_put(d->extra);
}

void journal_free(struct journal *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n_devs; i++)
		jdev_clear(&j->devs[i]);
	free(j->devs);
	for (size_t i = 0; i < j->n_sections; i++) {
		struct jsection *sec = &j->sections[i];

		for (size_t k = 0; k < sec->n; k++) {
			free(sec->v[k].subject);
			json_object_put(sec->v[k].data);
		}
		free(sec->v);
		free(sec->kind);
	}
	free(j->sections);
	free(j->phase);
	if (j->extra)
		json_object_put(j->extra);
	free(j);
}

struct jdev *journal_dev(struct journal *j, const char *bdf)
{
	if (!j || !bdf)
		return NULL;
	for (size_t i = 0; i < j->n_devs; i++)
		if (streq(j->devs[i].bdf, bdf))
			return &j->devs[i];
	return NULL;
}

struct jdev *journal_dev_add(struct journal *j, const char *bdf)
{
	struct jdev *d;

	if (!j || !bdf_canonical(bdf))
		return NULL;
	d = journal_dev(j, bdf);
	if (d)
		return d;
	j->devs = xrealloc(j->devs, (j->n_devs + 1) * sizeof(*j->devs));
	d = &j->devs[j->n_devs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	d->state = JDEV_UNTOUCHED;
	d->group = -1;
	d->class_code = -1;
	return d;
}

/* [a-z][a-z0-9_-]{0,31} */
static bool kind_valid(const char *s)
{
	size_t n = 0;

	if (!s || s[0] < 'a' || s[0] > 'z')
		return false;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		      s[n] == '-' || s[n] == '_'))
			return false;
	return n <= 32;
}

struct jsection *journal_section(struct journal *j, const char *kind, bool create)
{
	struct jsection *sec;

	for (size_t i = 0; j && i < j->n_sections; i++)
		if (streq(j->sections[i].kind, kind))
			return &j->sections[i];
	if (!j || !create || !kind_valid(kind))
		return NULL;
	j->sections = xrealloc(j->sections, (j->n_sections + 1) * sizeof(*j->sections));
	sec = &j->sections[j->n_sections++];
	memset(sec, 0, sizeof(*sec));
	sec->kind = xstrdup(kind);
	return sec;
}

struct jentry *jsection_entry(struct jsection *sec, const char *subject, bool create)
{
	struct jentry *e;

	for (size_t i = 0; sec && subject && i < sec->n; i++)
		if (streq(sec->v[i].subject, subject))
			return &sec->v[i];
	if (!sec || !subject || !*subject || !create)
		return NULL;
	sec->v = xrealloc(sec->v, (sec->n + 1) * sizeof(*sec->v));
	e = &sec->v[sec->n++];
	e->subject = xstrdup(subject);
	e->state = JSTEP_APPLYING;
	e->data = json_object_new_object();
	return e;
}

/* ---- parsing ---------------------------------------------------------- */

/* The 1-based line and column of offset in text, for syntax errors. */
static void line_col(const char *text, size_t offset, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* An optional string member: absent or null -> *out NULL.  The string must
 * not contain NUL bytes (json-c allows "\u0000"). */
static int get_opt_string(struct json_object *obj, const char *key, const char *where,
			  const char **out, char **err)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return errf(err, "%s: \"%s\" must be a string or null, not %s", where,
			    key, json_type_to_name(json_object_get_type(v)));
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return errf(err, "%s: \"%s\" contains a NUL character", where, key);
	return 0;
}

static int get_int(struct json_object *obj, const char *key, const char *where,
		   bool required, long long min, long long max, long long *out,
		   char **err)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(obj, key, &v) || !v) {
		if (required)
			return errf(err, "%s: \"%s\" is missing", where, key);
		return 1;
	}
	if (!json_object_is_type(v, json_type_int))
		return errf(err, "%s: \"%s\" must be an integer, not %s", where, key,
			    json_type_to_name(json_object_get_type(v)));
	x = json_object_get_int64(v);
	if (x < min || x > max)
		return errf(err, "%s: \"%s\" is %lld, outside %lld..%lld", where, key,
			    (long long)x, min, max);
	*out = x;
	return 0;
}

static const char *const dev_keys[] = {
    "id",    "orig_driver", "orig_override", "orig_reset_method",
    "class", "state",	    "hostpci",	     "group"};
static const char *const top_keys[] = {"version", "vmid",    "phase",	"complete",
				       "started", "devices", "sections"};

static bool known_key(const char *const *keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (streq(keys[i], key))
			return true;
	return false;
}

static int parse_dev(struct journal *j, struct json_object *o, size_t idx, char **err)
{
	_cleanup_free_ char *where = NULL;
	const char *bdf, *drv, *ovr, *hp, *st, *rm;
	enum jdev_state state;
	long long group = -1, cls = -1;
	struct jdev *d;
	int r;

	where = xasprintf("devices[%zu]", idx);
	if (!json_object_is_type(o, json_type_object))
		return errf(err, "%s must be an object, not %s", where,
			    json_type_to_name(json_object_get_type(o)));
	r = get_opt_string(o, "id", where, &bdf, err);
	if (r < 0)
		return r;
	if (!bdf)
		return errf(err, "%s: \"id\" (the PCI address) is missing", where);
	if (!bdf_canonical(bdf))
		return errf(err, "%s: \"id\" '%s' is not a PCI address like 0000:01:00.0",
			    where, bdf);
	free(where);
	where = xasprintf("device %s", bdf);
	if (journal_dev(j, bdf))
		return errf(err, "%s is listed twice", where);
	if ((r = get_opt_string(o, "orig_driver", where, &drv, err)) < 0 ||
	    (r = get_opt_string(o, "orig_override", where, &ovr, err)) < 0 ||
	    (r = get_opt_string(o, "hostpci", where, &hp, err)) < 0 ||
	    (r = get_opt_string(o, "state", where, &st, err)) < 0 ||
	    (r = get_opt_string(o, "orig_reset_method", where, &rm, err)) < 0)
		return r;
	if (rm && strlen(rm) > 256)
		return errf(err, "%s: \"orig_reset_method\" is too long", where);
	if (drv && !driver_name_valid(drv))
		return errf(err, "%s: \"orig_driver\" '%s' is not a driver name", where,
			    drv);
	if (ovr && !driver_name_valid(ovr))
		return errf(err, "%s: \"orig_override\" '%s' is not a driver name", where,
			    ovr);
	if (hp && !hostpci_valid(hp))
		return errf(err, "%s: \"hostpci\" '%s' is not hostpciN", where, hp);
	if (!st)
		return errf(err, "%s: \"state\" is missing", where);
	if (jdev_state_from_name(st, &state) < 0)
		return errf(
		    err,
		    "%s: \"state\" '%s' is unknown; expected planned, untouched, binding, bound, releasing or released",
		    where, st);
	r = get_int(o, "group", where, false, -1, INT_MAX, &group, err);
	if (r < 0)
		return r;
	r = get_int(o, "class", where, false, -1, 0xffffff, &cls, err);
	if (r < 0)
		return r;

	d = journal_dev_add(j, bdf);
	d->orig_driver = drv ? xstrdup(drv) : NULL;
	d->orig_override = ovr ? xstrdup(ovr) : NULL;
	d->hostpci = hp ? xstrdup(hp) : NULL;
	d->orig_reset_method = rm ? xstrdup(rm) : NULL;
	d->class_code = (int)cls;
	d->state = state;
	d->group = (int)group;
	d->extra = json_object_get(o);
	return 0;
}

/* "sections": { "<kind>": [ { "subject": "...", "state": "...", ... } ] } */
static int parse_sections(struct journal *j, struct json_object *v, char **err)
{
	if (!json_object_is_type(v, json_type_object))
		return errf(err, "journal: \"sections\" must be an object, not %s",
			    json_type_to_name(json_object_get_type(v)));
	json_object_object_foreach (v, kind, arr) {
		struct jsection *sec;
		size_t n;

		if (!kind_valid(kind))
			return errf(err, "journal: section name '%s' is not a step kind",
				    kind);
		if (!json_object_is_type(arr, json_type_array))
			return errf(err, "journal: section \"%s\" must be an array",
				    kind);
		sec = journal_section(j, kind, true);
		n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_array_get_idx(arr, i);
			_cleanup_free_ char *where = xasprintf("%s[%zu]", kind, i);
			const char *subject, *st;
			enum jstep_state state;
			struct jentry *e;
			int r;

			if (!json_object_is_type(o, json_type_object))
				return errf(err, "journal: %s must be an object", where);
			if ((r = get_opt_string(o, "subject", where, &subject, err)) <
				0 ||
			    (r = get_opt_string(o, "state", where, &st, err)) < 0)
				return r;
			if (!subject || !*subject)
				return errf(err, "journal: %s: \"subject\" is missing",
					    where);
			if (!st || jstep_state_from_name(st, &state) < 0)
				return errf(
				    err,
				    "journal: %s: \"state\" '%s' is unknown; expected applying, applied, undoing or undone",
				    where, st ? st : "");
			if (jsection_entry(sec, subject, false))
				return errf(err,
					    "journal: %s: subject '%s' is listed twice",
					    where, subject);
			e = jsection_entry(sec, subject, true);
			e->state = state;
			json_object_object_foreach (o, k, val) {
				if (!streq(k, "subject") && !streq(k, "state"))
					json_object_object_add(e->data, k,
							       json_object_get(val));
			}
		}
	}
	return 0;
}

static int parse_object(struct json_object *root, unsigned vmid, struct journal *j,
			char **err)
{
	struct json_object *v;
	const char *phase;
	long long x = 0;
	size_t n;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return errf(err, "the journal must be a JSON object, not %s",
			    json_type_to_name(json_object_get_type(root)));
	r = get_int(root, "version", "journal", true, 1, LLONG_MAX, &x, err);
	if (r < 0)
		return r;
	if (x > JOURNAL_VERSION)
		return errf(
		    err,
		    "journal format version %lld is newer than this vfiohook understands (%d): finish with the newer vfiohook that wrote it",
		    x, JOURNAL_VERSION);
	r = get_int(root, "vmid", "journal", true, 1, VMID_MAX, &x, err);
	if (r < 0)
		return r;
	if ((unsigned)x != vmid)
		return errf(err, "the journal is for VM %lld, not VM %u", x, vmid);
	r = get_opt_string(root, "phase", "journal", &phase, err);
	if (r < 0)
		return r;
	if (phase && !phase_valid(phase))
		return errf(err, "journal: \"phase\" '%s' is not a phase name", phase);
	j->phase = phase ? xstrdup(phase) : NULL;
	if (json_object_object_get_ex(root, "complete", &v) && v) {
		if (!json_object_is_type(v, json_type_boolean))
			return errf(err,
				    "journal: \"complete\" must be true or false, not %s",
				    json_type_to_name(json_object_get_type(v)));
		j->complete = json_object_get_boolean(v);
	}
	j->started = 0;
	r = get_int(root, "started", "journal", false, 0, LLONG_MAX, &j->started, err);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(root, "devices", &v) || !v)
		return errf(err, "journal: \"devices\" is missing");
	if (!json_object_is_type(v, json_type_array))
		return errf(err, "journal: \"devices\" must be an array, not %s",
			    json_type_to_name(json_object_get_type(v)));
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		r = parse_dev(j, json_object_array_get_idx(v, i), i, err);
		if (r < 0)
			return r;
	}
	if (json_object_object_get_ex(root, "sections", &v) && v) {
		r = parse_sections(j, v, err);
		if (r < 0)
			return r;
	}
	j->extra = json_object_get(root);
	return 0;
}

int journal_parse(const char *text, unsigned vmid, struct journal **out, char **err)
{
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	struct journal *j;
	size_t len, end;
	int r;

	*out = NULL;
	if (!text)
		return errf(err, "no journal text");
	len = strlen(text);
	if (len > JOURNAL_MAX_TEXT)
		return errf(err, "the journal is larger than %u bytes", JOURNAL_MAX_TEXT);
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		unsigned line, col;

		if (root)
			json_object_put(root);
		if (jerr == json_tokener_continue || jerr == json_tokener_success) {
			/* json-c waits for more input: the text ended early
			 * (empty, or cut off by a crash of a writer that did not
			 * use rename, or by hand) */
			if (len == 0 || strspn(text, " \t\r\n") == len)
				return errf(err, "the journal is empty");
			line_col(text, len, &line, &col);
			return errf(err, "invalid JSON: the text ends early at line %u",
				    line);
		}
		line_col(text, end, &line, &col);
		return errf(err, "invalid JSON at line %u column %u: %s", line, col,
			    json_tokener_error_desc(jerr));
	}
	if (end < len && strspn(text + end, " \t\r\n") != len - end) {
		unsigned line, col;

		json_object_put(root);
		line_col(text, end, &line, &col);
		return errf(
		    err,
		    "invalid JSON: unexpected text after the object at line %u column %u",
		    line, col);
	}
	j = journal_new(vmid);
	j->started = 0;
	r = parse_object(root, vmid, j, err);
	json_object_put(root);
	if (r < 0) {
		journal_free(j);
		return r;
	}
	*out = j;
	return 0;
}

/* ---- formatting ------------------------------------------------------- */

static struct json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* Copy the keys of extra that are not in keys[] into obj (shared refs). */
static void copy_unknown(struct json_object *obj, struct json_object *extra,
			 const char *const *keys, size_t n)
{
	if (!extra || !json_object_is_type(extra, json_type_object))
		return;
	json_object_object_foreach (extra, key, val) {
		if (!known_key(keys, n, key))
			json_object_object_add(obj, key, json_object_get(val));
	}
}

static struct json_object *journal_to_json(const struct journal *j)
{
	struct json_object *root = json_object_new_object();
	struct json_object *devs = json_object_new_array();

	json_object_object_add(root, "version", json_object_new_int(JOURNAL_VERSION));
	json_object_object_add(root, "vmid", json_object_new_int64(j->vmid));
	json_object_object_add(root, "phase", string_or_null(j->phase));
	json_object_object_add(root, "complete", json_object_new_boolean(j->complete));
	json_object_object_add(root, "started", json_object_new_int64(j->started));
	for (size_t i = 0; i < j->n_devs; i++) {
		const struct jdev *d = &j->devs[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(d->bdf));
		json_object_object_add(o, "orig_driver", string_or_null(d->orig_driver));
		json_object_object_add(o, "orig_override",
				       string_or_null(d->orig_override));
		json_object_object_add(o, "orig_reset_method",
				       string_or_null(d->orig_reset_method));
		json_object_object_add(o, "class", json_object_new_int(d->class_code));
		json_object_object_add(o, "state",
				       json_object_new_string(jdev_state_name(d->state)));
		json_object_object_add(o, "hostpci", string_or_null(d->hostpci));
		json_object_object_add(o, "group", json_object_new_int(d->group));
		copy_unknown(o, d->extra, dev_keys, ARRAY_SIZE(dev_keys));
		json_object_array_add(devs, o);
	}
	json_object_object_add(root, "devices", devs);
	if (j->n_sections) {
		struct json_object *secs = json_object_new_object();

		for (size_t i = 0; i < j->n_sections; i++) {
			const struct jsection *sec = &j->sections[i];
			struct json_object *arr = json_object_new_array();

			for (size_t k = 0; k < sec->n; k++) {
				struct json_object *o = json_object_new_object();

				json_object_object_add(
				    o, "subject",
				    json_object_new_string(sec->v[k].subject));
				json_object_object_add(
				    o, "state",
				    json_object_new_string(
					jstep_state_name(sec->v[k].state)));
				json_object_object_foreach (sec->v[k].data, key, val) {
					if (!streq(key, "subject") &&
					    !streq(key, "state"))
						json_object_object_add(
						    o, key, json_object_get(val));
				}
				json_object_array_add(arr, o);
			}
			json_object_object_add(secs, sec->kind, arr);
		}
		json_object_object_add(root, "sections", secs);
	}
	copy_unknown(root, j->extra, top_keys, ARRAY_SIZE(top_keys));
	return root;
}

char *journal_format(const struct journal *j)
{
	struct json_object *root = journal_to_json(j);
	char *s = xasprintf("%s\n",
			    json_object_to_json_string_ext(
				root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					  JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(root);
	return s;
}

/* What journal_parse() would refuse, checked before writing, so we never
 * write a journal we cannot read back. */
static int journal_check(const struct journal *j, char **err)
{
	if (j->vmid < 1 || j->vmid > VMID_MAX)
		return errf(err, "VM id %u is out of range", j->vmid);
	if (j->phase && !phase_valid(j->phase))
		return errf(err, "phase '%s' is not a phase name", j->phase);
	if (j->started < 0)
		return errf(err, "start time %lld is negative", j->started);
	for (size_t i = 0; i < j->n_devs; i++) {
		const struct jdev *d = &j->devs[i];

		if (!bdf_canonical(d->bdf))
			return errf(err, "device '%s' is not a PCI address", d->bdf);
		for (size_t k = 0; k < i; k++)
			if (streq(j->devs[k].bdf, d->bdf))
				return errf(err, "device %s is listed twice", d->bdf);
		if (d->orig_driver && !driver_name_valid(d->orig_driver))
			return errf(err, "device %s: driver '%s' is not a driver name",
				    d->bdf, d->orig_driver);
		if (d->orig_override && !driver_name_valid(d->orig_override))
			return errf(
			    err, "device %s: driver_override '%s' is not a driver name",
			    d->bdf, d->orig_override);
		if (d->hostpci && !hostpci_valid(d->hostpci))
			return errf(err, "device %s: '%s' is not hostpciN", d->bdf,
				    d->hostpci);
		if ((unsigned)d->state >= ARRAY_SIZE(state_names))
			return errf(err, "device %s: state %d is invalid", d->bdf,
				    (int)d->state);
		if (d->group < -1)
			return errf(err, "device %s: group %d is invalid", d->bdf,
				    d->group);
		if (d->class_code < -1 || d->class_code > 0xffffff)
			return errf(err, "device %s: class %d is invalid", d->bdf,
				    d->class_code);
		if (d->orig_reset_method && strlen(d->orig_reset_method) > 256)
			return errf(err, "device %s: reset_method is too long", d->bdf);
	}
	for (size_t i = 0; i < j->n_sections; i++)
		if (!kind_valid(j->sections[i].kind))
			return errf(err, "section '%s' is not a step kind",
				    j->sections[i].kind);
	return 0;
}

/* ---- files ------------------------------------------------------------ */

int journal_dir_ensure(char **err)
{
	_cleanup_free_ char *dir = host_pathdup(JOURNAL_DIR);
	struct stat st;
	int fd, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		r = host_mkdir_p(0700, JOURNAL_DIR);
		if (r < 0) {
			errf(err, "cannot create %s: %s", dir, strerror(-r));
			return r;
		}
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP || r == -ENOTDIR) {
			struct stat lst;

			if (lstat(dir, &lst) == 0 && S_ISLNK(lst.st_mode)) {
				errf(
				    err,
				    "%s is a symlink: vfiohook keeps its state only in a real directory; remove the link (rm %s) and run again",
				    dir, dir);
				return -ELOOP;
			}
			errf(err, "%s is not a directory: remove it and run again", dir);
			return -ENOTDIR;
		}
		errf(err, "cannot open %s: %s", dir, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		errf(err, "cannot stat %s: %s", dir, strerror(-r));
		return r;
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		errf(
		    err,
		    "%s is owned by uid %u, not by us (uid %u): another program may use it; check what it is, remove it and run again",
		    dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0700) {
		/* Journals hold nothing secret, but others must not plant
		 * or swap files in here: fix the mode rather than refuse. */
		if (fchmod(fd, 0700) < 0) {
			r = -errno;
			close(fd);
			errf(err, "%s has mode %04o and cannot be set to 0700: %s", dir,
			     (unsigned)(st.st_mode & 07777), strerror(-r));
			return r;
		}
		log_warn("%s had mode %04o; set it to 0700", dir,
			 (unsigned)(st.st_mode & 07777));
	}
	close(fd);
	return 0;
}

/*
 * A save killed between mkostemp() and rename() leaves "<vmid>.json.tmpXXXXXX"
 * behind.  Runs that write are serialised by the global lock, so any such
 * file of this VM is stale: remove it (unlink never follows a link).
 */
static void sweep_temp_files(unsigned vmid)
{
	char dir[PATH_MAX], prefix[32];
	struct dirent *e;
	DIR *d;
	int dfd;

	if (host_path(dir, sizeof(dir), JOURNAL_DIR) < 0)
		return;
	d = opendir(dir);
	if (!d)
		return;
	dfd = dirfd(d);
	snprintf(prefix, sizeof(prefix), "%u.json.tmp", vmid);
	while ((e = readdir(d)))
		if (startswith(e->d_name, prefix))
			unlinkat(dfd, e->d_name, 0);
	closedir(d);
}

int journal_save(struct journal *j, char **err)
{
	_cleanup_free_ char *path = NULL, *text = NULL, *cerr = NULL;
	struct stat st;
	int r;

	if (!j)
		return -EINVAL;
	path = host_pathdup(JOURNAL_DIR "/%u.json", j->vmid);
	r = journal_check(j, &cerr);
	if (r < 0)
		return errf(err, "cannot save journal %s: %s (a bug in vfiohook)", path,
			    cerr);
	r = journal_dir_ensure(err);
	if (r < 0)
		return r;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* rename() would replace a symlink rather than follow it, but
		 * a link here means someone tampers with our state: stop. */
		errf(
		    err,
		    "refusing to write journal %s: it is a %s, not a regular file; remove it after checking who made it",
		    path, S_ISLNK(st.st_mode) ? "symlink" : "special file");
		return -ELOOP;
	}
	sweep_temp_files(j->vmid);
	text = journal_format(j);
	r = host_write_atomic(text, strlen(text), 0600, JOURNAL_DIR "/%u.json", j->vmid);
	if (r < 0) {
		errf(err, "cannot write journal %s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

int journal_load(unsigned vmid, struct journal **out, char **err)
{
	_cleanup_free_ char *path = host_pathdup(JOURNAL_DIR "/%u.json", vmid);
	_cleanup_free_ char *dir = host_pathdup(JOURNAL_DIR);
	_cleanup_free_ char *text = NULL, *perr = NULL;
	struct stat st;
	size_t cap = 4096, len = 0;
	int fd, r;

	*out = NULL;
	if (lstat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		errf(err, "refusing to read journals: %s is a %s, not a directory", dir,
		     S_ISLNK(st.st_mode) ? "symlink" : "file");
		return -ELOOP;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return r;
		if (r == -ELOOP) {
			errf(
			    err,
			    "refusing to read journal %s: it is a symlink (not followed); remove it after checking who made it",
			    path);
			return r;
		}
		errf(err, "cannot read journal %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		errf(err, "cannot stat journal %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errf(err, "refusing to read journal %s: not a regular file", path);
		return -EPERM;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 0022)) {
		close(fd);
		errf(
		    err,
		    "refusing to read journal %s: owned by uid %u with mode %04o; a journal must be ours (uid %u) and writable only by us; remove it after checking",
		    path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
		    (unsigned)geteuid());
		return -EPERM;
	}
	text = xcalloc(1, cap);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			if (cap > JOURNAL_MAX_TEXT) {
				close(fd);
				errf(err, "journal %s is larger than %u bytes", path,
				     JOURNAL_MAX_TEXT);
				return -EINVAL;
			}
			cap *= 2;
			text = xrealloc(text, cap);
		}
		n = read(fd, text + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			errf(err, "cannot read journal %s: %s", path, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	if (strlen(text) != len)
		return errf(
		    err,
		    "journal %s is corrupt: it contains NUL bytes; remove it (devices it names may need 'vfiohook release %u' first)",
		    path, vmid);
	r = journal_parse(text, vmid, out, &perr);
	if (r < 0) {
		errf(err, "journal %s is corrupt: %s", path,
		     perr ? perr : "cannot parse");
		return -EINVAL;
	}
	return 0;
}

int journal_remove(unsigned vmid)
{
	char path[PATH_MAX];
	int r;

	r = host_path(path, sizeof(path), JOURNAL_DIR "/%u.json", vmid);
	if (r < 0)
		return r;
	sweep_temp_files(vmid);
	/* unlink(2) removes a symlink itself, never its target */
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int journal_list(unsigned **vmids, size_t *n)
{
	char path[PATH_MAX];
	unsigned *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r;

	*vmids = NULL;
	*n = 0;
	r = host_path(path, sizeof(path), JOURNAL_DIR);
	if (r < 0)
		return r;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		unsigned id;
		struct stat st;
		char num[16];

		if (!dot || strcmp(dot, ".json") != 0 || dot == de->d_name ||
		    (size_t)(dot - de->d_name) >= sizeof(num))
			continue;
		memcpy(num, de->d_name, (size_t)(dot - de->d_name));
		num[dot - de->d_name] = '\0';
		if (vmid_parse(num, &id) < 0)
			continue;
		/* only regular files: a planted symlink is no journal */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[cnt++] = id;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_uint);
	*vmids = v;
	*n = cnt;
	return 0;
}
