/* SPDX-License-Identifier: Apache-2.0 */
/* searchtest.c - test-only helpers for the search tests (see
 * searchtest.h). */
#include "searchtest.h"

#include "archtest.h"
#include "fake_llm.h"
#include "llmtest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int searchtest_spec(const char *extra, struct search_spec *s)
{
	struct core_field_errors fe;
	char doc[8192];
	const char *q;

	if (strstr(extra, "'dataset'"))
		snprintf(doc, sizeof doc, "{'name': 't', %s}", extra);
	else
		snprintf(doc, sizeof doc,
			 "{'name': 't', 'dataset': {'path': '/d'}%s%s}",
			 *extra ? ", " : "", extra);
	q = archtest_q(doc);
	if (search_spec_parse(q, strlen(q), s, &fe) != CORE_OK) {
		archtest_dump(&fe);
		return -1;
	}
	return 0;
}

double searchtest_fake_acc(const struct arch *a, double macs)
{
	double score = 0.08 * log(1.0 + macs / 1e5);

	for (int i = 0; i < a->nstages; i++) {
		const struct arch_stage *st = &a->stages[i];

		score += st->kernel == 5 ? 0.05 : 0;
		score += st->act == ARCH_ACT_SWISH ? 0.04 : 0;
		score += st->skip == ARCH_SKIP_RESIDUAL ? 0.03 : 0;
		score += st->se == 0.25 ? 0.03 : 0;
		score += st->block == ARCH_BLOCK_MBCONV && st->expand == 4
			     ? 0.04
			     : 0;
	}
	score += a->resolution == 96 ? 0.1 : 0;
	return 1.0 / (1.0 + exp(-(score - 1.2) * 2.0));
}

int searchtest_member(const struct arch *a, long id, int round,
		      struct search_member *m)
{
	struct cost_report r;
	char err[CORE_ERR_LEN];

	if (cost_report_build(a, &r, err, sizeof err) != CORE_OK) {
		fprintf(stderr, "# cost: %s\n", err);
		return -1;
	}
	memset(m, 0, sizeof *m);
	m->id = id;
	m->round = round;
	m->arch = *a;
	m->pt.macs = (double)r.macs;
	m->pt.sram = (double)r.sram_bytes;
	m->pt.flash = (double)r.flash.total;
	m->pt.acc = searchtest_fake_acc(a, m->pt.macs);
	cost_report_free(&r);
	return 0;
}

int searchtest_random_where(const struct search_spec *spec,
			    struct core_rng *rng, long id, int round,
			    searchtest_keep_fn keep, const void *ctx,
			    struct search_member *m)
{
	char err[CORE_ERR_LEN];

	for (int t = 0; t < 10000; t++) {
		struct arch a;

		if (space_sample(&spec->space, rng, search_spec_classes(spec),
				 &a, err, sizeof err) != CORE_OK ||
		    searchtest_member(&a, id, round, m) != 0)
			return -1;
		if (keep(m, ctx))
			return 0;
	}
	return -1;
}

static int within_limits(const struct search_member *m, const void *ctx)
{
	return search_violation(&m->pt, ctx) == 0;
}

int searchtest_random_member(const struct search_spec *spec,
			     struct core_rng *rng, long id, int round,
			     struct search_member *m)
{
	struct search_limits lim;

	search_spec_limits(spec, &lim);
	return searchtest_random_where(spec, rng, id, round, within_limits,
				       &lim, m);
}

char *searchtest_compact(const struct arch *a)
{
	json_t *j = arch_to_json(a);
	char *out = NULL;

	if (!j)
		return NULL;
	json_object_del(j, "name");
	arch_json_dump(j, 0, &out, NULL);
	json_decref(j);
	return out;
}

int searchtest_proposal_ok(const struct search_spec *s,
			   const struct search_proposal *q, char *why,
			   size_t whylen)
{
	struct core_field_errors fe;
	struct cost_report r;
	char err[CORE_ERR_LEN], hash[65];
	int bad;

	if (q->verdict != SEARCH_VERDICT_OK) {
		snprintf(why, whylen, "verdict %s: %s",
			 search_verdict_name(q->verdict), q->reason);
		return -1;
	}
	if (arch_validate(&q->arch, &fe) ||
	    space_check(&s->space, &q->arch, &fe)) {
		snprintf(why, whylen, "%s: %s", fe.n ? fe.e[0].field : "?",
			 fe.n ? fe.e[0].reason : "?");
		return -1;
	}
	if (q->arch.classes != search_spec_classes(s)) {
		snprintf(why, whylen, "classes %d", q->arch.classes);
		return -1;
	}
	if (cost_report_build(&q->arch, &r, err, sizeof err)) {
		snprintf(why, whylen, "cost: %s", err);
		return -1;
	}
	bad = (s->constraints.max_macs && r.macs > s->constraints.max_macs) ||
	      (s->constraints.max_sram &&
	       r.sram_bytes > s->constraints.max_sram) ||
	      (s->constraints.max_flash &&
	       r.flash.total > s->constraints.max_flash) ||
	      q->cost.macs != r.macs || q->cost.sram != r.sram_bytes ||
	      q->cost.flash != r.flash.total;
	cost_report_free(&r);
	if (bad) {
		snprintf(why, whylen, "over a limit, or costs differ");
		return -1;
	}
	if (arch_hash(&q->arch, hash) || strcmp(hash, q->hash) != 0) {
		snprintf(why, whylen, "hash differs");
		return -1;
	}
	return 0;
}

/* ---- the llm proposer against the fake server --------------------------- */

void searchtest_llm_settings(struct llm_settings *ls, const char *url,
			     int attempts)
{
	llmtest_settings(ls, url);
	ls->model = "fake";
	ls->max_attempts = attempts;
	ls->backoff_base_ms = 5;
	ls->backoff_max_ms = 10;
	ls->seed = 1;
}

struct search_proposer *searchtest_llm_proposer(const struct search_spec *s,
						struct llm_client *c)
{
	struct search_proposer_config pc = {
	    .spec = s, .kind = SEARCH_PROPOSER_LLM, .client = c};
	struct search_proposer *p = NULL;
	char err[CORE_ERR_LEN];

	if (search_proposer_open(&pc, &p, err, sizeof err)) {
		fprintf(stderr, "# proposer: %s\n", err);
		return NULL;
	}
	return p;
}

int searchtest_script_contents(struct fake_llm *f, const char *const *contents,
			       size_t n)
{
	struct fake_llm_reply r[8];
	char *bodies[8] = {0};
	int rc = -1;

	if (n > 8)
		return -1;
	for (size_t i = 0; i < n; i++) {
		bodies[i] = fake_llm_chat_body(contents[i], "stop",
					       FAKE_LLM_TOKENS_AUTO, 50);
		if (!bodies[i])
			goto out;
		r[i] = (struct fake_llm_reply){200, bodies[i], 0, NULL};
	}
	rc = fake_llm_script(f, r, n);
out:
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	return rc;
}

json_t *searchtest_request_body(struct fake_llm *f, size_t i)
{
	struct fake_llm_request r;
	json_error_t jerr;
	json_t *v;

	if (fake_llm_request_get(f, i, &r))
		return NULL;
	v = json_loads(r.body, 0, &jerr);
	fake_llm_request_free(&r);
	return v;
}

const char *searchtest_message(const json_t *body, size_t i, const char **role)
{
	const json_t *m = json_array_get(json_object_get(body, "messages"), i);

	if (role)
		*role =
		    m ? json_string_value(json_object_get(m, "role")) : NULL;
	return m ? json_string_value(json_object_get(m, "content")) : NULL;
}
