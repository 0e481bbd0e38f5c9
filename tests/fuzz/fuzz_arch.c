/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_arch.c - libFuzzer target for arch_parse (outside data: LLM output,
 * HTTP bodies). Beyond "no crash, no leak" it checks the format's promises
 * on every input that parses: the canonical text parses back to the same
 * record and hash, and membership of the default space runs cleanly.
 * Build and run with tests/fuzz/run.sh. */
#include "arch/arch.h"
#include "space/space.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_arch: %s\n", what);
	abort(); /* a fuzz harness: abort is how libFuzzer sees a bug */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct core_field_errors fe, fe2;
	struct arch a, b;
	struct space s;
	char h1[65], h2[65], *text = NULL, *again = NULL;
	size_t len = 0;

	if (arch_parse((const char *)data, size, &a, &fe) != CORE_OK) {
		if (fe.n == 0)
			fail("invalid without a reason");
		return 0;
	}
	if (arch_validate(&a, &fe) != CORE_OK)
		fail("parsed but not valid");
	if (arch_to_text(&a, (int)(size & 1), &text, &len) != CORE_OK)
		fail("to_text");
	if (arch_parse(text, len, &b, &fe2) != CORE_OK)
		fail("canonical text does not parse");
	if (arch_to_text(&b, (int)(size & 1), &again, NULL) != CORE_OK ||
	    strcmp(text, again) != 0)
		fail("canonical text is not a fixed point");
	if (arch_hash(&a, h1) != CORE_OK || arch_hash(&b, h2) != CORE_OK ||
	    strcmp(h1, h2) != 0)
		fail("hash changes through the canonical text");
	space_default(&s);
	space_check(&s, &a, &fe);
	core_free(text);
	core_free(again);
	return 0;
}
