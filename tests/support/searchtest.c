/* searchtest.c - test-only helpers for the search tests (see
 * searchtest.h). */
#include "searchtest.h"

#include "archtest.h"

#include <math.h>
#include <stdio.h>
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

int searchtest_random_member(const struct search_spec *spec,
			     struct core_rng *rng, long id, int round,
			     struct search_member *m)
{
	struct search_limits lim;
	char err[CORE_ERR_LEN];

	search_spec_limits(spec, &lim);
	for (int t = 0; t < 10000; t++) {
		struct arch a;

		if (space_sample(&spec->space, rng, search_spec_classes(spec),
				 &a, err, sizeof err) != CORE_OK ||
		    searchtest_member(&a, id, round, m) != 0)
			return -1;
		if (search_violation(&m->pt, &lim) == 0)
			return 0;
	}
	return -1;
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
