// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/reservation.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "base/host.h"
#include "base/util.h"
#include "pve/hostpci.h"
#include "pve/runstate.h"

void reservation_free(struct reservations *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].id);
	free(r->v);
	free(r);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* ^($PCIRE)\s(\d+)\s(time|pid):(\d+)$ in one line of len bytes */
static bool parse_line(const char *s, size_t len, char **id, unsigned *vmid, char *kind,
		       long long *value)
{
	_cleanup_free_ char *line = xstrndup(s, len);
	char *p = line, *f1, *f2, *f3;
	unsigned long long v;

	/* exactly one white-space character between the fields */
	f1 = p;
	while (*p && !is_ws(*p))
		p++;
	if (!*p)
		return false;
	*p++ = '\0';
	f2 = p;
	while (*p && !is_ws(*p))
		p++;
	if (!*p)
		return false;
	*p++ = '\0';
	f3 = p;
	if (!hostpci_id_valid(f1))
		return false;
	if (parse_uint(f2, 0xffffffffULL, &v) < 0)
		return false;
	*vmid = (unsigned)v;
	if (startswith(f3, "time:"))
		*kind = 't', f3 += 5;
	else if (startswith(f3, "pid:"))
		*kind = 'p', f3 += 4;
	else
		return false;
	if (parse_uint(f3, (unsigned long long)LLONG_MAX, &v) < 0)
		return false;
	*value = (long long)v;
	*id = hostpci_id_normalize(f1);
	return true;
}

int reservation_parse(const char *text, long long now, struct reservations **out)
{
	struct reservations *r = xcalloc(1, sizeof(*r));
	const char *p = text ? text : "";

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct reservation res = {0};
		size_t i;

		if (parse_line(p, len, &res.id, &res.vmid, &res.kind, &res.value)) {
			/* PCI.pm reserve_pci_usage: a time reservation holds until
			 * its time, a pid one while that VM runs with that pid */
			if (res.kind == 't')
				res.live = res.value > now;
			else
				res.live = res.value > 0 &&
					   pve_vm_running_pid(res.vmid) == res.value;
			for (i = 0; i < r->n; i++)
				if (streq(r->v[i].id, res.id))
					break;
			if (i < r->n) {
				free(r->v[i].id);
			} else {
				r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
				r->n++;
			}
			r->v[i] = res;
		}
		p = nl ? nl + 1 : p + len;
	}
	*out = r;
	return 0;
}

int reservation_read(struct reservations **out, char **err)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = host_read(&text, "/run/qemu-server/pci-id-reservations");
	if (r == -ENOENT)
		return reservation_parse("", 0, out);
	if (r < 0) {
		errf(err, "cannot read /run/qemu-server/pci-id-reservations: %s",
		     strerror(-r));
		return r;
	}
	return reservation_parse(text, (long long)time(NULL), out);
}

unsigned reservation_other_vm(const struct reservations *r, const char *bdf,
			      unsigned vmid)
{
	_cleanup_free_ char *id = NULL;

	if (!r || !bdf)
		return 0;
	id = hostpci_id_normalize(bdf);
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].live && r->v[i].vmid != vmid && streq(r->v[i].id, id))
			return r->v[i].vmid;
	return 0;
}
