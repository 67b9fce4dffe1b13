// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/cpustep.h"

#include <errno.h>
#include <json.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "state/journal.h"
#include "sys/cgroup.h"

/* ---- journal entry helpers ------------------------------------------------ */

static struct jentry *entry_of(struct run *r, const char *kind, const char *subject,
			       bool create)
{
	return jsection_entry(journal_section(r->j, kind, create), subject, create);
}

static void put_int(struct jentry *e, const char *key, long long v)
{
	json_object_object_add(e->data, key, json_object_new_int64(v));
}

static void put_str(struct jentry *e, const char *key, const char *v)
{
	json_object_object_add(e->data, key, json_object_new_string(v));
}

static const char *get_str(const struct jentry *e, const char *key)
{
	struct json_object *o;

	if (!json_object_object_get_ex(e->data, key, &o) ||
	    !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}

static int set_state(struct run *r, const char *kind, const char *subject,
		     enum jstep_state st, char **err)
{
	struct jentry *e;
	int ret;

	run_lock(r);
	e = entry_of(r, kind, subject, true);
	e->state = st;
	ret = run_save_locked(r, err);
	run_unlock(r);
	return ret;
}

/* ---- pinning ---------------------------------------------------------------- */

struct pin_data {
	pid_t pid;
	int vcpu; /* -1: QEMU's other threads */
	pid_t *tids;
	size_t n_tids;
	struct cpuset set;
};

static void pin_data_free(void *p)
{
	struct pin_data *d = p;

	if (d)
		free(d->tids);
	free(d);
}

size_t cpu_pin_steps(struct run *r, const struct res_plan *rp, pid_t pid,
		     const struct task *tasks, size_t n, struct steps *out)
{
	size_t added = 0;
	struct pin_data *others = xcalloc(1, sizeof(*others));
	_cleanup_free_ char *olist = cpuset_format(&rp->map.others);

	others->pid = pid;
	others->vcpu = -1;
	others->set = rp->map.others;
	for (size_t i = 0; i < n; i++) {
		const struct task *t = &tasks[i];
		struct pin_data *d;
		char subject[32];
		struct jentry *e;

		if (t->vcpu < 0 || (unsigned)t->vcpu >= rp->map.vcpus) {
			others->tids = xrealloc(others->tids, (others->n_tids + 1) *
								  sizeof(*others->tids));
			others->tids[others->n_tids++] = t->tid;
			continue;
		}
		d = xcalloc(1, sizeof(*d));
		d->pid = pid;
		d->vcpu = t->vcpu;
		d->tids = xcalloc(1, sizeof(*d->tids));
		d->tids[0] = t->tid;
		d->n_tids = 1;
		cpuset_set(&d->set, (unsigned)rp->map.cpu_of[t->vcpu]);
		snprintf(subject, sizeof(subject), "vcpu%d", t->vcpu);
		e = entry_of(r, "cpus", subject, true);
		put_int(e, "vcpu", t->vcpu);
		put_int(e, "cpu", rp->map.cpu_of[t->vcpu]);
		put_int(e, "tid", t->tid);
		put_int(e, "pid", pid);
		steps_add(out, &cpu_step_kind, subject, "pin", 0, d,
			  "%s (thread %d) to CPU %d", t->comm, (int)t->tid,
			  rp->map.cpu_of[t->vcpu]);
		added++;
	}
	if (others->n_tids) {
		struct jentry *e = entry_of(r, "cpus", "threads", true);

		put_str(e, "cpus", olist);
		put_int(e, "pid", pid);
		steps_add(out, &cpu_step_kind, "threads", "pin", 0, others,
			  "QEMU's %zu other thread(s) to CPU(s) %s", others->n_tids,
			  olist);
		added++;
	} else {
		pin_data_free(others);
	}
	return added;
}

static int pin_apply(struct run *r, struct step *s, char **err)
{
	struct pin_data *d = s->data;
	int ret;

	ret = set_state(r, "cpus", s->subject, JSTEP_APPLYING, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < d->n_tids; i++) {
		bool skipped;
		_cleanup_free_ char *e = NULL;

		ret = task_pin(d->tids[i], &d->set, &skipped, &e);
		/* one of QEMU's helper threads may end meanwhile */
		if (ret == -ESRCH && d->vcpu < 0)
			continue;
		if (ret < 0)
			return errnof(err, ret, "%s", e);
	}
	return set_state(r, "cpus", s->subject, JSTEP_APPLIED, err);
}

static int pin_verify(struct run *r, struct step *s, char **err)
{
	struct pin_data *d = s->data;

	(void)r;
	if (!host_is_real())
		return 0; /* nothing was pinned on a fake root */
	for (size_t i = 0; i < d->n_tids; i++) {
		struct cpuset now;

		if (task_affinity(d->pid, d->tids[i], &now) < 0) {
			if (d->vcpu < 0)
				continue; /* a helper thread ended */
			return errnof(err, -ESRCH, "vCPU %d (thread %d) is gone", d->vcpu,
				      (int)d->tids[i]);
		}
		if (!cpuset_equal(&now, &d->set)) {
			_cleanup_free_ char *want = cpuset_format(&d->set),
					    *got = cpuset_format(&now);

			return errnof(
			    err, -EIO,
			    "thread %d of QEMU %d runs on CPU(s) %s after pinning it to %s: something else sets its affinity",
			    (int)d->tids[i], (int)d->pid, got, want);
		}
	}
	return 0;
}

size_t cpu_undo_steps(struct run *r, struct steps *out)
{
	struct jsection *sec = journal_section(r->j, "cpus", false);
	size_t n = 0;

	for (size_t k = sec ? sec->n : 0; k-- > 0;) {
		if (sec->v[k].state == JSTEP_UNDONE)
			continue;
		steps_add(out, &cpu_step_kind, sec->v[k].subject, "forget", 0, NULL,
			  "the thread ended with QEMU");
		n++;
	}
	return n;
}

static int pin_undo(struct run *r, struct step *s, char **err)
{
	if (r->dry_run)
		return 0;
	return set_state(r, "cpus", s->subject, JSTEP_UNDONE, err);
}

const struct step_kind cpu_step_kind = {
    .name = "cpus",
    .apply = pin_apply,
    .verify = pin_verify,
    .undo = pin_undo,
    .free_data = pin_data_free,
};

/* ---- isolation --------------------------------------------------------------- */

enum iso_via {
	ISO_SUBTREE, /* the cpuset controller in a cgroup's subtree_control */
	ISO_CGROUP,  /* cpuset.cpus of a cgroup */
	ISO_SYSTEMD, /* AllowedCPUs of a systemd unit */
};

static const char *const via_names[] = {
    [ISO_SUBTREE] = "subtree",
    [ISO_CGROUP] = "cgroup",
    [ISO_SYSTEMD] = "systemd",
};

struct iso_data {
	enum iso_via via;
	char *name;	  /* cgroup path below /sys/fs/cgroup, or unit name */
	struct cpuset vm; /* the CPUs to keep host tasks off */
};

static void iso_data_free(void *p)
{
	struct iso_data *d = p;

	if (d)
		free(d->name);
	free(d);
}

static void add_iso(struct run *r, struct steps *out, enum iso_via via, const char *name,
		    const struct cpuset *vm)
{
	struct iso_data *d = xcalloc(1, sizeof(*d));
	_cleanup_free_ char *subject = via == ISO_SUBTREE
					   ? xasprintf("subtree:%s", *name ? name : "/")
					   : xstrdup(name);
	_cleanup_free_ char *list = cpuset_format(vm);
	struct jentry *e = entry_of(r, "isolate", subject, true);

	d->via = via;
	d->name = xstrdup(name);
	d->vm = *vm;
	put_str(e, "via", via_names[via]);
	put_str(e, "name", name);
	put_str(e, "vm", list);
	if (via == ISO_SUBTREE)
		steps_add(out, &iso_step_kind, subject, "enable", 0, d,
			  "the cpuset controller below %s%s", CGROUP_ROOT,
			  *name ? "/" : "");
	else
		steps_add(out, &iso_step_kind, subject, "isolate", 0, d,
			  "%s %s off CPU(s) %s", via == ISO_SYSTEMD ? "unit" : "cgroup",
			  name, list);
}

/* The other VMs' scopes (qemu.slice/<vmid>.scope), names into *out. */
static void other_scopes(unsigned vmid, struct strv *out)
{
	char **names = NULL;
	unsigned n = 0;

	if (cgroup_children("qemu.slice", &names, &n) < 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		unsigned long long id;
		char *dot = strstr(names[i], ".scope");

		if (dot && !dot[6]) {
			*dot = '\0';
			if (parse_uint(names[i], ~0U, &id) == 0 && id != vmid)
				strv_push(out, xasprintf("%llu.scope", id));
		}
		free(names[i]);
	}
	free(names);
}

int iso_steps(struct run *r, const struct res_plan *rp, struct steps *out, char **err)
{
	static const char *const host_groups[] = {"init.scope", "system.slice",
						  "user.slice"};
	struct strv scopes = {0};
	bool systemd = systemd_running();

	if (!systemd && !cgroup_v2())
		return errnof(
		    err, -EOPNOTSUPP,
		    "isolate = on needs the unified cgroup hierarchy (cgroup v2) at %s, which Proxmox VE 7 and later use",
		    CGROUP_ROOT);
	other_scopes(r->vmid, &scopes);
	if (systemd) {
		for (size_t i = 0; i < ARRAY_SIZE(host_groups); i++)
			add_iso(r, out, ISO_SYSTEMD, host_groups[i], &rp->vm_cpus);
		for (size_t i = 0; i < scopes.n; i++)
			add_iso(r, out, ISO_SYSTEMD, scopes.v[i], &rp->vm_cpus);
		strv_clear(&scopes);
		return 0;
	}
	/* the controller first, where it is needed and off */
	add_iso(r, out, ISO_SUBTREE, "", &rp->vm_cpus);
	if (scopes.n)
		add_iso(r, out, ISO_SUBTREE, "qemu.slice", &rp->vm_cpus);
	for (size_t i = 0; i < ARRAY_SIZE(host_groups); i++)
		if (cgroup_exists(host_groups[i]))
			add_iso(r, out, ISO_CGROUP, host_groups[i], &rp->vm_cpus);
	for (size_t i = 0; i < scopes.n; i++) {
		_cleanup_free_ char *cg = xasprintf("qemu.slice/%s", scopes.v[i]);

		add_iso(r, out, ISO_CGROUP, cg, &rp->vm_cpus);
	}
	strv_clear(&scopes);
	return 0;
}

/* Record key=value (a string) of subject's entry, under the lock. */
static void note(struct run *r, const char *subject, const char *key, const char *value)
{
	run_lock(r);
	put_str(entry_of(r, "isolate", subject, true), key, value);
	run_unlock(r);
}

/* What the group or unit may use now: its own value, or (empty) all the
 * parent gives it. */
static int current(const struct iso_data *d, char **own, struct cpuset *base, char **err)
{
	_cleanup_free_ char *eff = NULL;
	int ret;

	*own = NULL;
	if (d->via == ISO_SYSTEMD) {
		ret = systemd_allowed_cpus(d->name, own, err);
		if (ret < 0)
			return ret;
		if (**own)
			return cpuset_parse(*own, CPUSET_LENIENT, base, err);
		return cpu_online(base);
	}
	ret = cgroup_cpus(d->name, own);
	if (ret < 0)
		return errnof(err, ret, "cannot read %s/%s/cpuset.cpus: %s", CGROUP_ROOT,
			      d->name, strerror(-ret));
	if (**own)
		return cpuset_parse(*own, 0, base, err);
	if (cgroup_effective_cpus(d->name, &eff) == 0 && *eff)
		return cpuset_parse(eff, 0, base, err);
	return cpu_online(base);
}

static int write_cpus(const struct iso_data *d, const char *cpus, char **err)
{
	bool skipped;

	if (d->via == ISO_SYSTEMD)
		return systemd_set_allowed_cpus(d->name, cpus, &skipped, err);
	return cgroup_set_cpus(d->name, cpus, err);
}

/*
 * Put a cgroup's own cpuset.cpus back to "" (none of its own: all its
 * parent has).  The kernel refuses an empty set for a cgroup with tasks
 * (ENOSPC, cpuset.c validate_change); then the parent's CPUs are written,
 * the same set today, and the controller's undo (the subtree entry, undone
 * after this one) removes the file altogether where we enabled it.
 */
static int write_empty(const struct iso_data *d, char **err)
{
	_cleanup_free_ char *parent = xstrdup(d->name), *eff = NULL, *e = NULL;
	char *slash = strrchr(parent, '/');
	int ret = write_cpus(d, "", &e);

	if (ret != -ENOSPC || d->via != ISO_CGROUP) {
		if (ret < 0)
			errnof(err, ret, "%s", e);
		return ret;
	}
	if (slash)
		*slash = '\0';
	else
		parent[0] = '\0';
	ret = cgroup_effective_cpus(parent, &eff);
	if (ret < 0)
		return errnof(err, ret, "%s; and the parent's CPUs cannot be read: %s", e,
			      strerror(-ret));
	log_debug(
	    "%s has tasks, so it cannot have no CPUs of its own: giving it its parent's, %s",
	    d->name, eff);
	return write_cpus(d, eff, err);
}

static int iso_apply(struct run *r, struct step *s, char **err)
{
	struct iso_data *d = s->data;
	_cleanup_free_ char *own = NULL, *list = NULL, *removed_list = NULL;
	struct cpuset base, next, removed;
	bool on;
	int ret;

	if (d->via == ISO_SUBTREE) {
		ret = cgroup_subtree_has(d->name, "cpuset", &on);
		if (ret < 0)
			return errnof(
			    err, ret, "cannot read %s/%s%scgroup.subtree_control: %s",
			    CGROUP_ROOT, d->name, *d->name ? "/" : "", strerror(-ret));
		note(r, s->subject, "was", on ? "on" : "off");
		ret = set_state(r, "isolate", s->subject, JSTEP_APPLYING, err);
		if (ret == 0 && !on)
			ret = cgroup_subtree_set(d->name, "cpuset", true, err);
		if (ret < 0)
			return ret;
		return set_state(r, "isolate", s->subject, JSTEP_APPLIED, err);
	}
	ret = current(d, &own, &base, err);
	if (ret < 0)
		return ret;
	cpuset_andnot(&next, &base, &d->vm);
	cpuset_and(&removed, &base, &d->vm);
	if (cpuset_empty(&next)) {
		_cleanup_free_ char *b = cpuset_format(&base);

		return errnof(
		    err, -EINVAL,
		    "%s may use only CPU(s) %s, all of them the VM's: isolating would leave it none",
		    d->name, b);
	}
	list = cpuset_format(&next);
	removed_list = cpuset_format(&removed);
	/* the intent: what was there, before anything is written */
	note(r, s->subject, "orig", own);
	note(r, s->subject, "set", list);
	note(r, s->subject, "removed", removed_list);
	ret = set_state(r, "isolate", s->subject, JSTEP_APPLYING, err);
	if (ret == 0 && !cpuset_empty(&removed))
		ret = write_cpus(d, list, err);
	if (ret < 0)
		return ret;
	log_debug("%s: CPU(s) %s (was '%s')", d->name, list, own);
	return set_state(r, "isolate", s->subject, JSTEP_APPLIED, err);
}

static int iso_verify(struct run *r, struct step *s, char **err)
{
	struct iso_data *d = s->data;
	_cleanup_free_ char *own = NULL;
	struct cpuset base, both;
	int ret;

	(void)r;
	if (d->via == ISO_SUBTREE || (d->via == ISO_SYSTEMD && !host_is_real()))
		return 0;
	ret = current(d, &own, &base, err);
	if (ret < 0)
		return ret;
	cpuset_and(&both, &base, &d->vm);
	if (!cpuset_empty(&both)) {
		_cleanup_free_ char *b = cpuset_format(&both);

		return errnof(err, -EIO,
			      "%s still may use the VM's CPU(s) %s after isolating it",
			      d->name, b);
	}
	return 0;
}

size_t iso_undo_steps(struct run *r, struct steps *out)
{
	struct jsection *sec = journal_section(r->j, "isolate", false);
	size_t n = 0;

	for (size_t k = sec ? sec->n : 0; k-- > 0;) {
		const struct jentry *e = &sec->v[k];
		const char *via = get_str(e, "via"), *name = get_str(e, "name");
		struct iso_data *d;
		int v = -1;

		for (size_t i = 0; via && i < ARRAY_SIZE(via_names); i++)
			if (streq(via, via_names[i]))
				v = (int)i;
		if (e->state == JSTEP_UNDONE || v < 0 || !name)
			continue;
		/* a name from the journal becomes a path: no way out of the tree */
		if (strstr(name, "..") || name[0] == '/')
			continue;
		d = xcalloc(1, sizeof(*d));
		d->via = (enum iso_via)v;
		d->name = xstrdup(name);
		steps_add(out, &iso_step_kind, e->subject, "restore", 0, d, "as it was");
		n++;
	}
	return n;
}

static int iso_undo(struct run *r, struct step *s, char **err)
{
	struct iso_data *d = s->data;
	const char *orig, *set, *removed, *was;
	_cleanup_free_ char *own = NULL, *o = NULL, *st = NULL, *rm = NULL, *w = NULL;
	int ret;

	run_lock(r);
	{
		const struct jentry *e = entry_of(r, "isolate", s->subject, true);

		orig = get_str(e, "orig");
		set = get_str(e, "set");
		removed = get_str(e, "removed");
		was = get_str(e, "was");
		o = orig ? xstrdup(orig) : NULL;
		st = set ? xstrdup(set) : NULL;
		rm = removed ? xstrdup(removed) : NULL;
		w = was ? xstrdup(was) : NULL;
	}
	run_unlock(r);
	if (d->via == ISO_SUBTREE) {
		bool on = false;

		if (!w || streq(w, "on") ||
		    cgroup_subtree_has(d->name, "cpuset", &on) < 0 || !on)
			goto done;
		if (r->dry_run) {
			log_info("would disable the cpuset controller below %s/%s again",
				 CGROUP_ROOT, d->name);
			return 0;
		}
		ret = cgroup_subtree_set(d->name, "cpuset", false, NULL);
		if (ret == -EBUSY)
			log_info(
			    "the cpuset controller below %s/%s stays enabled: a child group uses it now",
			    CGROUP_ROOT, d->name);
		else if (ret < 0)
			log_warn(
			    "cannot disable the cpuset controller below %s/%s again: %s",
			    CGROUP_ROOT, d->name, strerror(-ret));
		goto done;
	}
	if (!o) /* killed before it noted the value: it wrote nothing */
		goto done;
	if (d->via == ISO_CGROUP && !cgroup_exists(d->name))
		goto done; /* a VM's scope that ended with its VM */
	{
		struct cpuset now, want, back;
		_cleanup_free_ char *cur = NULL, *target = NULL;

		ret = current(d, &cur, &now, err);
		if (ret < 0)
			return ret;
		if (st && streq(cur, st)) {
			target = xstrdup(o); /* as we left it: exactly what was there */
		} else if (st && !streq(cur, o)) {
			/* changed by someone else meanwhile: only give our CPUs back */
			cpuset_zero(&back);
			if (rm && cpuset_parse(rm, CPUSET_EMPTY_OK, &back, NULL) < 0)
				cpuset_zero(&back);
			cpuset_or(&want, &now, &back);
			target = cpuset_format(&want);
			log_info(
			    "%s changed meanwhile (now '%s'); adding CPU(s) %s back to it",
			    d->name, cur, rm ? rm : "");
		}
		if (!target || streq(target, cur))
			goto done;
		if (r->dry_run) {
			log_info("would set %s back to '%s'", d->name, target);
			return 0;
		}
		ret = set_state(r, "isolate", s->subject, JSTEP_UNDOING, err);
		if (ret == 0)
			ret = *target ? write_cpus(d, target, err) : write_empty(d, err);
		if (ret < 0)
			return ret;
		log_debug("%s: back to '%s'", d->name, target);
	}
done:
	if (r->dry_run)
		return 0;
	return set_state(r, "isolate", s->subject, JSTEP_UNDONE, err);
}

const struct step_kind iso_step_kind = {
    .name = "isolate",
    .apply = iso_apply,
    .verify = iso_verify,
    .undo = iso_undo,
    .free_data = iso_data_free,
};
