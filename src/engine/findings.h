/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Findings of the read-only doctor (`vfiohook check`): each has a
 * severity, a stable id that scripts may match on ("host-iommu-off",
 * "vm-pcie-needs-q35"), a message naming what was found where, and the
 * fix.  `check --json` prints them as
 *   {"findings": [{"severity", "id", "message", "fix"}]}
 * and exits 1 when any is an error.
 */
#ifndef VFIOHOOK_FINDINGS_H
#define VFIOHOOK_FINDINGS_H

#include <stddef.h>

#include "base/util.h"

enum finding_severity {
	FINDING_INFO,
	FINDING_WARNING,
	FINDING_ERROR,
};

struct finding {
	enum finding_severity severity;
	char *id;
	char *message;
	char *fix; /* never NULL; "" when there is nothing to do */
};

struct findings {
	struct finding *v;
	size_t n;
};

/* Append a finding; fix may be NULL (stored as ""). */
void findings_add(struct findings *f, enum finding_severity severity, const char *id,
		  const char *fix, const char *fmt, ...) _printf_(5, 6);
/* How many findings have at least this severity. */
size_t findings_count(const struct findings *f, enum finding_severity at_least);
void findings_clear(struct findings *f);
/* "info", "warning", "error" */
const char *finding_severity_name(enum finding_severity s);

#endif
