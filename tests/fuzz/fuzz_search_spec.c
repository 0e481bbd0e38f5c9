/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_search_spec.c - libFuzzer target for search_spec_parse (outside
 * data: the body of a job request). On every input that parses it checks
 * that the canonical JSON parses back to the same canonical JSON, that both
 * training configurations validate, and that the reply schema builds and is
 * JSON. Build and run with tests/fuzz/run.sh. */
#include "search/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_search_spec: %s\n", what);
	abort(); /* a fuzz harness: abort is how libFuzzer sees a bug */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct search_spec s, t; /* ~20 KB each */
	struct core_field_errors fe;
	struct train_config c;
	json_t *j = NULL, *k = NULL, *schema;
	char *text = NULL, *sch = NULL, err[CORE_ERR_LEN];
	size_t len = 0;

	if (search_spec_parse((const char *)data, size, &s, &fe) != CORE_OK) {
		if (fe.n == 0)
			fail("invalid without a reason");
		return 0;
	}
	j = search_spec_to_json(&s);
	if (!j || arch_json_dump(j, 0, &text, &len) != CORE_OK)
		fail("to_json");
	if (search_spec_parse(text, len, &t, &fe) != CORE_OK)
		fail("canonical JSON does not parse");
	k = search_spec_to_json(&t);
	if (!k || !json_equal(j, k))
		fail("canonical JSON is not a fixed point");
	search_spec_train_config(&s, SEARCH_PHASE_PROXY, &c);
	if (train_config_validate(&c, err, sizeof err) != CORE_OK)
		fail("proxy training settings do not validate");
	search_spec_train_config(&s, SEARCH_PHASE_FINAL, &c);
	if (train_config_validate(&c, err, sizeof err) != CORE_OK)
		fail("final training settings do not validate");
	if (search_reply_schema(&s, s.llm.candidates_per_round, &sch, NULL, err,
				sizeof err) != CORE_OK)
		fail("schema");
	schema = json_loads(sch, 0, NULL);
	if (!schema)
		fail("schema is not JSON");
	json_decref(schema);
	json_decref(j);
	json_decref(k);
	core_free(text);
	core_free(sch);
	return 0;
}
