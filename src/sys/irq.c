// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/irq.h"

#include <errno.h>
#include <stdio.h>

#include "base/host.h"

/* "vfio-msix[3](0000:01:00.0)" -> the BDF, if the name is of that shape */
static bool vfio_name(const char *name, char bdf[16])
{
	const char *p, *open, *close;

	if (startswith(name, "vfio-msix["))
		p = name + 10;
	else if (startswith(name, "vfio-msi["))
		p = name + 9;
	else
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p[0] != ']' || p[1] != '(')
		return false;
	open = p + 2;
	close = strchr(open, ')');
	if (!close || close[1] || close - open != 12)
		return false;
	snprintf(bdf, 16, "%.12s", open);
	return true;
}

int irq_parse_vfio(const char *text, const struct strv *bdfs, struct vfio_irq **out,
		   size_t *n)
{
	_cleanup_free_ char *copy = xstrdup(text ? text : "");
	struct vfio_irq *v = NULL;
	size_t k = 0;
	char *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long irq;
		char *colon = strchr(line, ':'), *last, *s = line, bdf[16];

		while (*s == ' ')
			s++;
		if (!colon)
			continue;
		*colon = '\0';
		if (parse_uint(s, 1u << 24, &irq) < 0)
			continue; /* NMI:, LOC:, the header */
		/* the action name is the last field */
		last = colon + 1 + strlen(colon + 1);
		while (last > colon + 1 && str_is_space(last[-1]))
			*--last = '\0';
		while (last > colon + 1 && !str_is_space(last[-1]))
			last--;
		if (strlen(last) >= sizeof(v->name) || !vfio_name(last, bdf) ||
		    !strv_contains(bdfs, bdf))
			continue;
		v = xrealloc(v, (k + 1) * sizeof(*v));
		memset(&v[k], 0, sizeof(v[k]));
		v[k].irq = (unsigned)irq;
		snprintf(v[k].bdf, sizeof(v[k].bdf), "%s", bdf);
		snprintf(v[k].name, sizeof(v[k].name), "%s", last);
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

int irq_list_vfio(const struct strv *bdfs, struct vfio_irq **out, size_t *n)
{
	_cleanup_free_ char *text = NULL;
	int r = host_read(&text, "/proc/interrupts");

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	return irq_parse_vfio(text, bdfs, out, n);
}

int irq_affinity(unsigned irq, struct cpuset *out)
{
	_cleanup_free_ char *text = NULL;
	int r = host_read(&text, "/proc/irq/%u/smp_affinity_list", irq);

	if (r < 0)
		return r;
	return cpuset_parse(text, 0, out, NULL);
}

int irq_set_affinity(unsigned irq, const struct cpuset *set, char **err)
{
	_cleanup_free_ char *list = cpuset_format(set);
	int r = host_write(list, "/proc/irq/%u/smp_affinity_list", irq);

	if (r < 0)
		return errnof(err, r,
			      "writing %s to /proc/irq/%u/smp_affinity_list failed: %s",
			      list, irq, strerror(-r));
	return 0;
}
