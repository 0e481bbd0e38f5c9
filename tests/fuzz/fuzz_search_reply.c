/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_search_reply.c - libFuzzer target for search_parse_reply (outside
 * data: what an LLM wrote). Whatever the input, a reply either fails with a
 * reason or gives one proposal per entry with a verdict, JSON for storage,
 * and, when accepted, an architecture that is valid, in the space and
 * within the limits of the default job spec. Build and run with
 * tests/fuzz/run.sh. */
#include "search/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_search_reply: %s\n", what);
	abort(); /* a fuzz harness: abort is how libFuzzer sees a bug */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct search_spec s;
	static int ready;
	struct search_proposals ps;
	struct core_field_errors fe;
	char err[CORE_ERR_LEN] = "";
	enum core_status rc;

	if (!ready) {
		search_spec_default(&s);
		strcpy(s.name, "fuzz");
		strcpy(s.dataset_path, "/d");
		ready = 1;
	}
	search_proposals_init(&ps);
	rc = search_parse_reply(&s, NULL, NULL, (const char *)data, size, 4,
				&ps, err, sizeof err);
	if (rc != CORE_OK) {
		if (rc != CORE_ERR_INVALID || !*err || ps.n)
			fail("failure without a reason, or with proposals");
		return 0;
	}
	if (ps.n < 1 || ps.n > 4 + SEARCH_REPLY_EXTRA_REPORTED)
		fail("proposal count");
	for (int i = 0; i < ps.n; i++) {
		const struct search_proposal *p = &ps.v[i];
		json_t *v;

		if (!p->arch_json)
			fail("no JSON for storage");
		v = json_loads(p->arch_json, JSON_DECODE_ANY, NULL);
		if (!v)
			fail("stored JSON does not parse");
		json_decref(v);
		if (p->verdict != SEARCH_VERDICT_OK) {
			if (!*p->reason)
				fail("rejected without a reason");
			continue;
		}
		if (arch_validate(&p->arch, &fe) != CORE_OK ||
		    space_check(&s.space, &p->arch, &fe) != CORE_OK)
			fail("accepted, but not valid or not in the space");
		if (p->cost.macs > s.constraints.max_macs ||
		    p->cost.sram > s.constraints.max_sram ||
		    p->cost.flash > s.constraints.max_flash)
			fail("accepted, but over a limit");
	}
	search_proposals_free(&ps);
	return 0;
}
