/* SPDX-License-Identifier: Apache-2.0 */
/* llm_summary.c - the closing line about the LLM of a search run: calls by
 * outcome, candidates accepted and rejected by kind, rounds that fell back
 * to evolution; read from the stored job (store_job_json) and the stored
 * calls counted by outcome, so that it is the same for a resumed job. */
#include "search_internal.h"

#include <stdio.h>
#include <string.h>

const char *search_reason_kind(const char *reason)
{
	static const char *const malformed[] = {
	    "expected an object", "no \"arch\" member",
	    "rationale:", "beyond the", "no architecture"};

	if (!reason || !*reason)
		return "other";
	if (strncmp(reason, "duplicate of", 12) == 0)
		return "duplicate";
	/* search_cost_excess names the limit first */
	if (strncmp(reason, "max_macs", 8) == 0 ||
	    strncmp(reason, "max_sram", 8) == 0 ||
	    strncmp(reason, "max_flash", 9) == 0)
		return "over the limits";
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
		if (strncmp(reason, malformed[i], strlen(malformed[i])) == 0)
			return "malformed";
	/* field errors of the architecture or its cost */
	return "invalid or outside the space";
}

/* Appends to b unless an earlier append failed. */
#define PUT(...)                                                               \
	do {                                                                   \
		if (!rc)                                                       \
			rc = core_buf_printf(&b, __VA_ARGS__);                 \
	} while (0)

enum core_status search_llm_summary(const json_t *job, const json_t *calls,
				    char *out, size_t outlen)
{
	static const char *const kinds[] = {"duplicate", "over the limits",
					    "invalid or outside the space",
					    "malformed", "other"};
	int nkind[5] = {0};
	const json_t *c, *r;
	const char *key, *proposer;
	long long ncalls = 0;
	int accepted = 0, rejected = 0, fallback = 0, topped = 0, rounds = 0;
	int first;
	size_t i;
	struct core_buf b;
	enum core_status rc = CORE_OK;

	if (outlen)
		out[0] = '\0';
	proposer = json_string_value(json_object_get(
	    json_object_get(json_object_get(job, "job"), "spec"), "proposer"));
	json_object_foreach((json_t *)calls, key, c)
	{
		ncalls += json_integer_value(c);
	}
	if (ncalls == 0 && (!proposer || strcmp(proposer, "llm") != 0))
		return CORE_OK; /* the LLM had no part in this job */
	json_array_foreach(json_object_get(job, "candidates"), i, c)
	{
		const char *src =
		    json_string_value(json_object_get(c, "source"));
		const char *st =
		    json_string_value(json_object_get(c, "status"));
		const char *kind;

		if (!src || strcmp(src, "llm") != 0 || !st)
			continue;
		if (strcmp(st, "rejected") != 0) {
			accepted++;
			continue;
		}
		rejected++;
		kind = search_reason_kind(
		    json_string_value(json_object_get(c, "rejection_reason")));
		for (int k = 0; k < 5; k++)
			nkind[k] += strcmp(kind, kinds[k]) == 0;
	}
	json_array_foreach(json_object_get(job, "rounds"), i, r)
	{
		const char *p =
		    json_string_value(json_object_get(r, "proposer"));
		rounds++;
		if (p && strcmp(p, "evolution") == 0)
			fallback++;
		else if (p && strcmp(p, "llm+evolution") == 0)
			topped++;
	}
	core_buf_init(&b, 64 * 1024); /* cut to outlen at the end */
	PUT("LLM: %lld call%s", ncalls, ncalls == 1 ? "" : "s");
	first = 1;
	json_object_foreach((json_t *)calls, key, c)
	{
		PUT("%s%lld %s", first ? " (" : ", ",
		    (long long)json_integer_value(c), key);
		first = 0;
	}
	if (!first)
		PUT(")");
	PUT("; %d candidate%s accepted, %d rejected", accepted,
	    accepted == 1 ? "" : "s", rejected);
	first = 1;
	for (int k = 0; k < 5; k++) {
		if (!nkind[k])
			continue;
		PUT("%s%d %s", first ? " (" : ", ", nkind[k], kinds[k]);
		first = 0;
	}
	if (!first)
		PUT(")");
	PUT("; %d of %d round%s fell back to evolution", fallback + topped,
	    rounds, rounds == 1 ? "" : "s");
	if (topped)
		PUT(" (%d topped up)", topped);
	if (b.data)
		core_utf8_copy(out, outlen, b.data);
	core_buf_free(&b);
	return rc;
}
