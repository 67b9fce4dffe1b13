// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"

struct step *steps_add(struct steps *st, const struct step_kind *kind,
		       const char *subject, const char *action, int lane, void *data,
		       const char *reason_fmt, ...)
{
	struct step *s;
	va_list ap;

	st->v = xrealloc(st->v, (st->n + 1) * sizeof(*st->v));
	s = &st->v[st->n++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->subject = xstrdup(subject);
	s->action = xstrdup(action);
	s->lane = lane;
	s->data = data;
	va_start(ap, reason_fmt);
	s->reason = xvasprintf(reason_fmt, ap);
	va_end(ap);
	return s;
}

void steps_clear(struct steps *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct step *s = &st->v[i];

		if (s->kind->free_data)
			s->kind->free_data(s->data);
		free(s->subject);
		free(s->action);
		free(s->reason);
		free(s->err);
	}
	free(st->v);
	st->v = NULL;
	st->n = 0;
}

void run_init(struct run *r, unsigned vmid, const char *phase, const struct policy *pol,
	      struct journal *j)
{
	memset(r, 0, sizeof(*r));
	r->vmid = vmid;
	r->phase = phase;
	r->pol = pol;
	r->j = j;
	r->max_workers = RUN_MAX_WORKERS;
	pthread_mutex_init(&r->mu, NULL);
}

void run_destroy(struct run *r)
{
	pthread_mutex_destroy(&r->mu);
}

void run_lock(struct run *r)
{
	pthread_mutex_lock(&r->mu);
}

void run_unlock(struct run *r)
{
	pthread_mutex_unlock(&r->mu);
}

int run_save_locked(struct run *r, char **err)
{
	if (r->dry_run)
		return 0;
	return journal_save(r->j, err);
}

int run_save(struct run *r, char **err)
{
	int ret;

	run_lock(r);
	ret = run_save_locked(r, err);
	run_unlock(r);
	return ret;
}

/* ---- lanes and workers -------------------------------------------------- */

struct pool {
	struct run *r;
	struct steps *st;
	enum run_op op;
	bool stop_on_failure;
	int *lanes; /* distinct lane numbers in order of first appearance */
	size_t n_lanes, next;
	size_t failed;
};

static int do_op(struct run *r, struct step *s, enum run_op op, char **err)
{
	int (*fn)(struct run *, struct step *, char **) = op == RUN_APPLY ? s->kind->apply
							  : op == RUN_VERIFY
							      ? s->kind->verify
							      : s->kind->undo;

	return fn ? fn(r, s, err) : 0;
}

static void run_lane(struct pool *p, int lane)
{
	bool canceled = false;

	for (size_t i = 0; i < p->st->n; i++) {
		struct step *s = &p->st->v[i];
		char *err = NULL;
		bool stop;

		if (s->lane != lane)
			continue;
		run_lock(p->r);
		stop = p->stop_on_failure && p->r->stop;
		run_unlock(p->r);
		if (canceled || stop) {
			s->result = -ECANCELED;
			continue;
		}
		s->result = do_op(p->r, s, p->op, &err);
		s->ran = true;
		s->err = err;
		if (s->result < 0) {
			canceled = true;
			run_lock(p->r);
			p->r->stop = true;
			run_unlock(p->r);
		}
	}
}

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		int lane;

		run_lock(p->r);
		if (p->next >= p->n_lanes) {
			run_unlock(p->r);
			return NULL;
		}
		lane = p->lanes[p->next++];
		run_unlock(p->r);
		run_lane(p, lane);
	}
}

size_t run_steps(struct run *r, struct steps *st, enum run_op op, bool stop_on_failure)
{
	struct pool p = {.r = r, .st = st, .op = op, .stop_on_failure = stop_on_failure};
	pthread_t tids[RUN_MAX_WORKERS];
	size_t n_threads, started = 0, failed = 0;

	p.lanes = xcalloc(st->n, sizeof(*p.lanes));
	for (size_t i = 0; i < st->n; i++) {
		bool seen = false;

		for (size_t k = 0; k < p.n_lanes && !seen; k++)
			seen = p.lanes[k] == st->v[i].lane;
		if (!seen)
			p.lanes[p.n_lanes++] = st->v[i].lane;
	}
	n_threads = p.n_lanes;
	/* a dry run only says what would be done: in the plan's order, which
	 * lanes side by side would shuffle */
	if (r->dry_run)
		n_threads = 1;
	if (n_threads > (size_t)r->max_workers)
		n_threads = r->max_workers > 0 ? (size_t)r->max_workers : 1;
	if (n_threads > RUN_MAX_WORKERS)
		n_threads = RUN_MAX_WORKERS;
	/* one lane (or one worker) needs no thread: run it here */
	if (n_threads > 1)
		for (; started < n_threads; started++)
			if (pthread_create(&tids[started], NULL, worker, &p) != 0)
				break;
	if (started == 0)
		worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(p.lanes);
	for (size_t i = 0; i < st->n; i++)
		failed += st->v[i].result < 0;
	return failed;
}

/* ---- union-find over lane keys ----------------------------------------- */

int lanes_of(struct lanes *l, const char *key)
{
	for (size_t i = 0; i < l->keys.n; i++)
		if (streq(l->keys.v[i], key))
			return (int)i;
	strv_add(&l->keys, key);
	l->parent = xrealloc(l->parent, l->keys.n * sizeof(*l->parent));
	l->parent[l->keys.n - 1] = (int)(l->keys.n - 1);
	return (int)(l->keys.n - 1);
}

static int root_of(struct lanes *l, int i)
{
	while (l->parent[i] != i) {
		l->parent[i] = l->parent[l->parent[i]];
		i = l->parent[i];
	}
	return i;
}

void lanes_join(struct lanes *l, const char *a, const char *b)
{
	int ra = root_of(l, lanes_of(l, a)), rb = root_of(l, lanes_of(l, b));

	if (ra < rb)
		l->parent[rb] = ra;
	else
		l->parent[ra] = rb;
}

int lanes_find(struct lanes *l, const char *key)
{
	return root_of(l, lanes_of(l, key));
}

void lanes_clear(struct lanes *l)
{
	strv_clear(&l->keys);
	free(l->parent);
	l->parent = NULL;
}
