// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the journal parser.  Oracles besides the sanitizers: a journal that
 * parses must format to text that parses again to the same text (we never
 * write what we cannot read back), and a refusal must come with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "state/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal *j = NULL, *again = NULL;
	char *text, *err = NULL, *out, *out2;
	int r;

	if (size > 65536)
		return 0;
	log_setup(LOGL_ERR, false);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	r = journal_parse(text, 100, &j, &err);
	free(text);
	if (r < 0) {
		if (!err || j)
			abort();
		free(err);
		return 0;
	}
	out = journal_format(j);
	if (journal_parse(out, 100, &again, &err) < 0) {
		fprintf(stderr, "formatted journal does not parse: %s\n%s", err, out);
		abort();
	}
	out2 = journal_format(again);
	if (strcmp(out, out2) != 0) {
		fprintf(stderr, "format is not stable:\n%s\n---\n%s", out, out2);
		abort();
	}
	/* the accessors on what came out */
	for (size_t i = 0; i < j->n_devs; i++) {
		if (journal_dev(j, j->devs[i].bdf) != &j->devs[i])
			abort();
		(void)jdev_state_name(j->devs[i].state);
	}
	free(out);
	free(out2);
	journal_free(again);
	journal_free(j);
	return 0;
}
