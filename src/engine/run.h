/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine's common shape for every resource vfiohook changes (design.md:
 * observe → plan → apply → verify).  A phase is an ordered list of steps;
 * each step is of a kind (PCI device now; hugepages, CPUs, IRQs later) and
 * the kind brings the three operations:
 *
 *   apply   save the intent in the journal, act, verify the result, save it
 *   verify  read back, after every step of the phase ran, what the kernel
 *           holds now (something else may rebind a device meanwhile)
 *   undo    give back what the journal says was taken (post-stop, release,
 *           the rollback of a failed pre-start, the start watcher)
 *
 * Steps carry a lane: the steps of one lane run one after another, in
 * order; different lanes run side by side on a bounded number of worker
 * threads.  The PCI kind puts the devices of one IOMMU group, and every
 * group that shares a bus with it (a bus reset resets them all), into one
 * lane.  The journal is shared by the lanes: every change to it and every
 * save happens under run_lock().
 */
#ifndef VFIOHOOK_RUN_H
#define VFIOHOOK_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"
#include "engine/policy.h"
#include "state/journal.h"

/* Lanes that run at the same time, at most. */
#define RUN_MAX_WORKERS 4

struct run;
struct step;

struct step_kind {
	const char *name; /* "pci"; also the key of its plan --json list */
	int (*apply)(struct run *r, struct step *s, char **err);
	int (*verify)(struct run *r, struct step *s, char **err);
	int (*undo)(struct run *r, struct step *s, char **err);
	void (*free_data)(void *data);
};

struct step {
	const struct step_kind *kind;
	char *subject; /* "0000:01:00.0", "node0/2048kB" */
	char *action;  /* "bind", "give back", "stay", "reserve", ... */
	char *reason;
	int lane;
	void *data; /* the kind's own */
	/* filled in by run_steps() */
	int result; /* 0, -errno, or -ECANCELED when a failure elsewhere stopped it */
	char *err;
	bool ran;
};

struct steps {
	struct step *v;
	size_t n;
};

/* Append a step (subject, action and reason are copied; data is owned). */
struct step *steps_add(struct steps *st, const struct step_kind *kind,
		       const char *subject, const char *action, int lane, void *data,
		       const char *reason_fmt, ...) _printf_(7, 8);
void steps_clear(struct steps *st);

struct run {
	unsigned vmid;
	const char *phase; /* written into the journal: "pre-start", "post-stop", ... */
	const struct policy *pol;
	struct journal *j;
	int max_workers;
	bool dry_run;	/* undo: say what would be done, change nothing */
	bool rollback;	/* undo of this run's own pre-start: only what it changed */
	bool never_ran; /* undo after a start whose QEMU never came up */
	bool reset;	/* undo: reset devices before giving them back */
	bool stop;	/* a step failed: start no further ones (apply) */
	pthread_mutex_t mu;
	void *kind_ctx[4]; /* per-kind context of this run (e.g. PCI usage facts) */
};

void run_init(struct run *r, unsigned vmid, const char *phase, const struct policy *pol,
	      struct journal *j);
void run_destroy(struct run *r);
void run_lock(struct run *r);
void run_unlock(struct run *r);
/* Save the journal (takes the lock).  Never with dry_run.  0 or -errno, *err. */
int run_save(struct run *r, char **err);
/* The same, for a caller that holds the lock already. */
int run_save_locked(struct run *r, char **err);

enum run_op {
	RUN_APPLY,
	RUN_VERIFY,
	RUN_UNDO,
};

/*
 * Run op on every step, lanes side by side (at most r->max_workers at once),
 * the steps of one lane in order; a failed step ends its lane (the rest are
 * -ECANCELED).  With stop_on_failure, a failure anywhere also keeps steps
 * that have not started from starting.  Returns the number of failed steps
 * (canceled ones included).
 */
size_t run_steps(struct run *r, struct steps *st, enum run_op op, bool stop_on_failure);

/* Give each distinct key its own lane number; keys that are joined share
 * one.  A tiny union-find for the kinds to group their steps with. */
struct lanes {
	struct strv keys;
	int *parent;
};
int lanes_of(struct lanes *l, const char *key);
void lanes_join(struct lanes *l, const char *a, const char *b);
/* The final lane of key after all joins (its smallest member's index). */
int lanes_find(struct lanes *l, const char *key);
void lanes_clear(struct lanes *l);

#endif
