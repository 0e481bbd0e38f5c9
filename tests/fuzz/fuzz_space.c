/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_space.c - libFuzzer target for space_parse (outside data: job
 * requests). On every input that parses it checks that the canonical JSON
 * parses back to the same canonical JSON, that the prompt renders, and that
 * a sample (when one is found) is valid and a member. Build and run with
 * tests/fuzz/run.sh. */
#include "space/space.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_space: %s\n", what);
	abort(); /* a fuzz harness: abort is how libFuzzer sees a bug */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct core_field_errors fe;
	struct space s, t;
	struct core_rng rng;
	struct core_buf b;
	struct arch a;
	json_t *j = NULL, *k = NULL;
	char *text = NULL, err[CORE_ERR_LEN];
	size_t len = 0;

	if (space_parse((const char *)data, size, &s, &fe) != CORE_OK) {
		if (fe.n == 0)
			fail("invalid without a reason");
		return 0;
	}
	j = space_to_json(&s);
	if (!j || arch_json_dump(j, 0, &text, &len) != CORE_OK)
		fail("to_json");
	if (space_parse(text, len, &t, &fe) != CORE_OK)
		fail("canonical JSON does not parse");
	k = space_to_json(&t);
	if (!k || !json_equal(j, k))
		fail("canonical JSON is not a fixed point");
	core_buf_init(&b, 1 << 20);
	if (space_render_prompt(&s, &b) != CORE_OK)
		fail("render");
	core_buf_free(&b);
	core_rng_seed(&rng, size);
	if (space_sample(&s, &rng, 10, &a, err, sizeof err) == CORE_OK) {
		if (arch_validate(&a, &fe) != CORE_OK)
			fail("sample not valid");
		if (space_check(&s, &a, &fe) != CORE_OK)
			fail("sample not a member");
	}
	json_decref(j);
	json_decref(k);
	core_free(text);
	return 0;
}
