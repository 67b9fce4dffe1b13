// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/findings.h"

#include <stdarg.h>

void findings_add(struct findings *f, enum finding_severity severity, const char *id,
		  const char *fix, const char *fmt, ...)
{
	struct finding *x;
	va_list ap;

	f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
	x = &f->v[f->n++];
	x->severity = severity;
	x->id = xstrdup(id);
	x->fix = xstrdup(fix ? fix : "");
	va_start(ap, fmt);
	x->message = xvasprintf(fmt, ap);
	va_end(ap);
}

size_t findings_count(const struct findings *f, enum finding_severity at_least)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += f->v[i].severity >= at_least;
	return n;
}

void findings_clear(struct findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].id);
		free(f->v[i].message);
		free(f->v[i].fix);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

const char *finding_severity_name(enum finding_severity s)
{
	switch (s) {
	case FINDING_INFO:
		return "info";
	case FINDING_WARNING:
		return "warning";
	case FINDING_ERROR:
		return "error";
	}
	return "?";
}
