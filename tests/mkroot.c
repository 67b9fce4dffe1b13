// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mkroot DIR [SPEC...] — build a kernel-shaped fake root at DIR from spec
 * files (or stdin), for the shell tests and benchmarks.  The spec language
 * is described in fixture.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static char *slurp(FILE *f)
{
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap), *bigger;

	if (!buf)
		abort();
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 >= cap) {
			bigger = realloc(buf, cap *= 2);
			if (!bigger)
				abort();
			buf = bigger;
		}
	}
	buf[len] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	struct fx *fx;
	int r = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: mkroot DIR [SPEC...]\n");
		return 2;
	}
	fx = fx_new(argv[1]);
	for (int i = 2; i <= argc; i++) {
		FILE *f;
		char *text;

		if (i == argc && argc > 2)
			break;
		f = (i == argc || !strcmp(argv[i], "-")) ? stdin : fopen(argv[i], "r");
		if (!f) {
			perror(argv[i]);
			return 2;
		}
		text = slurp(f);
		if (f != stdin)
			fclose(f);
		if (fx_spec(fx, text) < 0)
			r = 1;
		free(text);
		if (r)
			break;
	}
	fx_free(fx, 1);
	return r;
}
