// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Raising and giving back hugepage pools (hugestep.h).
 *
 * What helps when a pool comes up short was measured on Debian's 6.1
 * kernel under the QEMU rig (tests/bench/hugepages.sh, `make bench`):
 *  - one write of nr_hugepages already reclaims clean page cache (a node
 *    full of cache gave every page asked for) and compacts for 2 MiB pages
 *    (__GFP_RETRY_MAYFAIL), but gives up early in memory fragmented by
 *    anonymous pages (60-80 % of what was free); writing the same target
 *    again right away gained nothing;
 *  - compacting the node (node<N>/compact) and then writing again obtained
 *    every page in that case.  So: write; when short, compact and write
 *    again, while a round still gains pages, at most HP_ROUNDS times.  The
 *    compaction is the slow part (it moves every movable page of the
 *    node), which is why it comes only after a short write;
 *  - dropping the page cache (policy hugepages-drop-caches = on) gained
 *    nothing measurable over the plain write and costs the rest of the host
 *    its cache: off by default; when on, it comes last, once.
 */
#include "engine/hugestep.h"

#include <errno.h>
#include <json.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "state/journal.h"

/* Compact-and-write rounds after a short write, while each gains pages. */
#define HP_ROUNDS 3

static const struct hp_ops real_ops = {
    .read = hugetlb_read,
    .write_nr = hugetlb_write_nr,
    .compact = hugetlb_compact,
    .drop_caches = hugetlb_drop_caches,
};
static const struct hp_ops *ops = &real_ops;

void hp_step_set_ops(const struct hp_ops *o)
{
	ops = o ? o : &real_ops;
}

struct hp_data {
	char *subject; /* find the entry again: the section array may grow */
	unsigned node;
	unsigned long kb;
	long long want; /* pages the VM needs free on this node */
	bool keep;	/* keephugepages: post-stop leaves the pool */
	bool per_node;	/* the remedy gives per-node counts */
	bool drop_caches;
	char *remedy;
};

static void hp_data_free(void *p)
{
	struct hp_data *d = p;

	if (!d)
		return;
	free(d->subject);
	free(d->remedy);
	free(d);
}

static const char *size_name(unsigned long kb)
{
	return kb == 1048576 ? "1 GiB" : kb == 2048 ? "2 MiB" : "huge";
}

/* ---- journal entry helpers (under run_lock) ------------------------------ */

static struct jentry *entry(struct run *r, const char *subject)
{
	return jsection_entry(journal_section(r->j, "hugepages", true), subject, false);
}

static void set_int(struct jentry *e, const char *key, long long v)
{
	json_object_object_add(e->data, key, json_object_new_int64(v));
}

static bool get_int(const struct jentry *e, const char *key, long long *v)
{
	struct json_object *o;

	if (!json_object_object_get_ex(e->data, key, &o) ||
	    !json_object_is_type(o, json_type_int))
		return false;
	*v = json_object_get_int64(o);
	return true;
}

static bool get_bool(const struct jentry *e, const char *key)
{
	struct json_object *o;

	return json_object_object_get_ex(e->data, key, &o) &&
	       json_object_is_type(o, json_type_boolean) && json_object_get_boolean(o);
}

/* Record state (and, when >= 0, added) and save. */
static int save_state(struct run *r, const char *subject, enum jstep_state st,
		      long long added, char **err)
{
	struct jentry *e;
	int ret;

	run_lock(r);
	e = entry(r, subject);
	e->state = st;
	if (added >= 0)
		set_int(e, "added", added);
	ret = run_save_locked(r, err);
	run_unlock(r);
	return ret;
}

/* ---- pre-start ------------------------------------------------------------ */

/* The pools hold every node of the host: all on one node means a host of
 * one node, whose remedy is the plain count (hugepages=N), the only form
 * Proxmox reads back as the boot value; otherwise per-node counts. */
static bool pools_one_node(const struct res_plan *rp)
{
	for (size_t i = 0; i < rp->n_pools; i++)
		if (rp->pools[i].node != rp->pools[0].node)
			return false;
	return true;
}

static char *remedy_for(const struct res_plan *rp, unsigned size_mib)
{
	char buf[512];
	size_t len = 0;
	bool one_node = pools_one_node(rp);

	for (size_t i = 0; one_node && i < rp->n_pools; i++)
		if (rp->pools[i].size_mib == size_mib && rp->pools[i].pages > 0)
			return xasprintf("hugepagesz=%s hugepages=%lld",
					 size_mib == 1024 ? "1G" : "2M",
					 rp->pools[i].pages);
	for (size_t i = 0; i < rp->n_pools; i++) {
		const struct hp_pool_plan *pp = &rp->pools[i];

		if (pp->size_mib != size_mib || pp->pages <= 0)
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u:%lld",
					len ? "," : "", pp->node, pp->pages);
		if (len >= sizeof(buf))
			break;
	}
	if (!len)
		return NULL;
	return xasprintf("hugepagesz=%s hugepages=%s", size_mib == 1024 ? "1G" : "2M",
			 buf);
}

char *hp_remedy(const struct res_plan *rp)
{
	_cleanup_free_ char *g = remedy_for(rp, 1024), *m = remedy_for(rp, 2);

	if (g && m)
		return xasprintf("%s %s", g, m);
	return g ? xstrdup(g) : m ? xstrdup(m) : NULL;
}

size_t hp_prestart_steps(struct run *r, const struct res_plan *rp, struct steps *out)
{
	struct jsection *sec;
	size_t added = 0;
	_cleanup_free_ char *remedy = hp_remedy(rp);

	if (!rp->hp_asked || !rp->hp_reserve || rp->hp_error || !rp->n_pools)
		return 0;
	sec = journal_section(r->j, "hugepages", true);
	for (size_t i = 0; i < rp->n_pools; i++) {
		const struct hp_pool_plan *pp = &rp->pools[i];
		struct hp_data *d = xcalloc(1, sizeof(*d));
		struct jentry *e;

		d->subject = hp_subject(pp->node, pp->kb);
		d->node = pp->node;
		d->kb = pp->kb;
		d->want = pp->pages;
		d->keep = rp->hp_keep;
		d->drop_caches = r->pol->hp_drop_caches;
		d->remedy = remedy ? xstrdup(remedy) : NULL;
		d->per_node = remedy && !pools_one_node(rp);
		/* a resumed start keeps the entry, and with it the pool's origin */
		e = jsection_entry(sec, d->subject, false);
		if (!e)
			e = jsection_entry(sec, d->subject, true);
		set_int(e, "node", pp->node);
		set_int(e, "kb", (long long)pp->kb);
		set_int(e, "want", pp->pages);
		json_object_object_add(e->data, "keep",
				       json_object_new_boolean(rp->hp_keep));
		if (pp->pages > 0)
			steps_add(out, &hp_step_kind, d->subject, "reserve", 0, d,
				  "%lld x %s free on node %u (pool %ld, %ld free now)",
				  pp->pages, size_name(pp->kb), pp->node, pp->now.nr,
				  pp->now.free);
		else
			steps_add(out, &hp_step_kind, d->subject, "record", 0, d,
				  "node %u: noted, so post-stop puts it back as it was",
				  pp->node);
		added++;
	}
	return added;
}

/* Write target, read back nr.  Returns 0 or -errno; *got = nr now. */
static int write_read(const struct hp_data *d, long target, long *got, char **err)
{
	struct hugetlb_pool p;
	int ret = ops->write_nr((int)d->node, d->kb, target, err);

	if (ret < 0)
		return ret;
	ret = ops->read((int)d->node, d->kb, &p);
	if (ret < 0)
		return errnof(err, ret, "node %u: cannot read its %s pool back: %s",
			      d->node, size_name(d->kb), strerror(-ret));
	*got = p.nr;
	return 0;
}

static int hp_apply(struct run *r, struct step *s, char **err)
{
	struct hp_data *d = s->data;
	struct hugetlb_pool p;
	long long orig, promised, usable;
	long target, got, before;
	int ret, rounds;
	bool dropped = false;
	uint64_t t0 = host_now_ms();

	ret = ops->read((int)d->node, d->kb, &p);
	if (ret < 0)
		return errnof(err, ret, "node %u: cannot read its %s hugepage pool: %s",
			      d->node, size_name(d->kb), strerror(-ret));
	run_lock(r);
	if (!get_int(entry(r, d->subject), "orig", &orig)) {
		orig = p.nr;
		set_int(entry(r, d->subject), "orig", orig);
	}
	entry(r, d->subject)->state = JSTEP_APPLYING;
	ret = run_save_locked(r, err);
	run_unlock(r);
	if (ret < 0)
		return ret;
	promised = d->want > 0 ? resources_promised(r->vmid, d->node, d->kb) : 0;
	usable = p.free - promised;
	if (usable >= d->want)
		return save_state(r, d->subject, JSTEP_APPLIED, p.nr - orig, err);
	target = p.nr + (long)(d->want - (usable > 0 ? usable : 0));
	log_info("node %u: raising the %s hugepage pool from %ld to %ld", d->node,
		 size_name(d->kb), p.nr, target);
	got = p.nr;
	ret = write_read(d, target, &got, err);
	rounds = 0;
	while (ret == 0 && got < target) {
		if (rounds >= HP_ROUNDS) {
			/* the last help, only when the admin allows it, once, and
			 * one more round after it */
			if (!d->drop_caches || dropped)
				break;
			log_info("node %u: %ld of %ld pages; dropping the page cache",
				 d->node, got, target);
			ret = ops->drop_caches(err);
			if (ret < 0)
				break;
			dropped = true;
			rounds = HP_ROUNDS - 1;
		}
		before = got;
		log_info(
		    "node %u: %ld of %ld pages; compacting the node's memory and trying again",
		    d->node, got, target);
		ret = ops->compact(d->node, err);
		if (ret == 0)
			ret = write_read(d, target, &got, err);
		rounds++;
		/* a round that gained nothing: more of the same will not */
		if (got == before && rounds < HP_ROUNDS)
			rounds = HP_ROUNDS;
	}
	/* the journal says what the pool holds now, whatever happened */
	if (save_state(r, d->subject, got >= target ? JSTEP_APPLIED : JSTEP_APPLYING,
		       got - orig, err) < 0 &&
	    ret == 0)
		return -EIO;
	if (ret < 0)
		return ret;
	if (got < target) {
		long long have = got - p.nr + (usable > 0 ? usable : 0), memfree = -1;
		_cleanup_free_ char *mem = NULL;

		if (hugetlb_node_memfree(d->node, &memfree) == 0)
			mem = xasprintf("; node %u has %lld MiB of memory free", d->node,
					memfree / 1024);
		return errnof(
		    err, -ENOMEM,
		    "node %u: the VM needs %lld free %s hugepages, got %lld (the pool grew to %ld of the %ld asked for%s): memory is too fragmented or in use; reserve the pages at boot instead: add '%s' to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub and update-grub, or /etc/kernel/cmdline and proxmox-boot-tool refresh) and reboot%s",
		    d->node, d->want, size_name(d->kb), have > 0 ? have : 0, got, target,
		    mem ? mem : "",
		    d->remedy ? d->remedy : "hugepagesz=... hugepages=...",
		    d->per_node && !d->keep
			? "; Proxmox reads no boot value from per-node counts and sets the pool back to 0 after each start, so also set keephugepages: 1 (qm set VMID --keephugepages 1)"
			: "");
	}
	log_info("node %u: %lld x %s hugepages ready (%.1f s)", d->node, d->want,
		 size_name(d->kb), (double)(host_now_ms() - t0) / 1000);
	return 0;
}

static int hp_verify(struct run *r, struct step *s, char **err)
{
	struct hp_data *d = s->data;
	struct hugetlb_pool p;
	long long promised;

	if (d->want <= 0)
		return 0;
	if (ops->read((int)d->node, d->kb, &p) < 0)
		return errnof(err, -EIO, "node %u: cannot read its %s hugepage pool",
			      d->node, size_name(d->kb));
	promised = resources_promised(r->vmid, d->node, d->kb);
	if (p.free - promised < d->want)
		return errnof(
		    err, -EBUSY,
		    "node %u: only %lld of the %lld %s hugepages this VM needs are still free: another process took them meanwhile",
		    d->node, p.free - promised, d->want, size_name(d->kb));
	return 0;
}

/* ---- undo ------------------------------------------------------------------- */

size_t hp_undo_steps(struct run *r, struct steps *out)
{
	struct jsection *sec = journal_section(r->j, "hugepages", false);
	size_t n = 0;

	for (size_t k = sec ? sec->n : 0; k-- > 0;) {
		const struct jentry *e = &sec->v[k];
		struct hp_data *d;
		long long node, kb, orig;

		if (e->state == JSTEP_UNDONE || !get_int(e, "orig", &orig) ||
		    !get_int(e, "node", &node) || !get_int(e, "kb", &kb) || node < 0 ||
		    kb <= 0)
			continue; /* never touched */
		d = xcalloc(1, sizeof(*d));
		d->subject = xstrdup(e->subject);
		d->node = (unsigned)node;
		d->kb = (unsigned long)kb;
		d->keep = get_bool(e, "keep");
		steps_add(out, &hp_step_kind, d->subject, "give back", 0, d,
			  "back to %lld pages", orig);
		n++;
	}
	return n;
}

static int hp_undo(struct run *r, struct step *s, char **err)
{
	struct hp_data *d = s->data;
	struct hugetlb_pool p;
	long long orig = 0, added = -1, spare, promised;
	long target, got = 0;
	int ret;

	run_lock(r);
	get_int(entry(r, d->subject), "orig", &orig);
	/* missing after a crash in the middle of the write: up to orig */
	get_int(entry(r, d->subject), "added", &added);
	run_unlock(r);
	/* keephugepages: the pages stay for the next start, as Proxmox keeps them */
	if (d->keep && !r->rollback && !r->never_ran) {
		if (r->dry_run) {
			log_info(
			    "node %u: would keep the %s hugepage pool (keephugepages)",
			    d->node, size_name(d->kb));
			return 0;
		}
		log_debug("node %u: keeping the %s pool (keephugepages)", d->node,
			  size_name(d->kb));
		return save_state(r, d->subject, JSTEP_UNDONE, -1, err);
	}
	ret = ops->read((int)d->node, d->kb, &p);
	if (ret < 0)
		return errnof(err, ret, "node %u: cannot read its %s hugepage pool: %s",
			      d->node, size_name(d->kb), strerror(-ret));
	if (p.nr > orig) {
		/* only free pages, and not those another pending start counts on */
		promised = resources_promised(r->vmid, d->node, d->kb);
		spare = p.free - promised;
		if (spare > p.nr - orig)
			spare = p.nr - orig;
		/* only what this start added: pages someone else added since
		 * (another start that keeps its hugepages) stay */
		if (added >= 0 && spare > added)
			spare = added;
		target = p.nr - (long)(spare > 0 ? spare : 0);
	} else {
		/* Proxmox set the system-wide pool back to its boot value */
		target = (long)orig;
	}
	if (target == p.nr)
		goto done;
	if (r->dry_run) {
		log_info("node %u: would set the %s hugepage pool from %ld back to %ld",
			 d->node, size_name(d->kb), p.nr, target);
		return 0;
	}
	ret = save_state(r, d->subject, JSTEP_UNDOING, -1, err);
	if (ret == 0)
		ret = write_read(d, target, &got, err);
	if (ret < 0)
		return ret;
	if (got == target)
		log_info("node %u: %s hugepage pool %ld -> %ld", d->node,
			 size_name(d->kb), p.nr, got);
	else
		log_warn("node %u: %s hugepage pool %ld -> %ld, not %ld: the kernel %s",
			 d->node, size_name(d->kb), p.nr, got, target,
			 got > target ? "keeps pages that are in use"
				      : "could not allocate them again");
	p.nr = got;
done:
	if (p.nr > orig)
		log_info(
		    "node %u: %lld %s hugepages above the pool's size before the VM started stay: they are in use (the kernel frees them when their user lets go) or were added by someone else since",
		    d->node, p.nr - orig, size_name(d->kb));
	if (r->dry_run)
		return 0;
	return save_state(r, d->subject, JSTEP_UNDONE, -1, err);
}

const struct step_kind hp_step_kind = {
    .name = "hugepages",
    .apply = hp_apply,
    .verify = hp_verify,
    .undo = hp_undo,
    .free_data = hp_data_free,
};
