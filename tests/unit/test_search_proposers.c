/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_proposers.c - the random and evolution proposers: 200
 * proposals valid, in the space, feasible and unique; reproducible for a
 * seed and per round; evolution beats random on a known synthetic
 * accuracy; a small space is exhausted; bad arguments; allocation
 * failures. The llm proposer is in test_search_llm_proposer.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "search/search.h"

#include "../support/archtest.h"
#include "../support/searchtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

static struct search_proposer *open_kind(const struct search_spec *s,
					 enum search_proposer_kind kind)
{
	struct search_proposer_config pc = {.spec = s, .kind = kind};
	struct search_proposer *p = NULL;
	char err[CORE_ERR_LEN];

	if (search_proposer_open(&pc, &p, err, sizeof err))
		fail_msg("open: %s", err);
	return p;
}

/* The member the runner would record for proposal q. */
static void member_of(const struct search_proposal *q, long id, int round,
		      struct search_member *m)
{
	memset(m, 0, sizeof *m);
	m->id = id;
	m->round = round;
	m->arch = q->arch;
	m->pt.macs = (double)q->cost.macs;
	m->pt.sram = (double)q->cost.sram;
	m->pt.flash = (double)q->cost.flash;
	m->pt.acc = searchtest_fake_acc(&q->arch, m->pt.macs);
}

/* Everything a proposal must be, checked independently of the checker. */
static void assert_good(const struct search_spec *s,
			const struct search_proposal *q)
{
	char why[256];

	if (searchtest_proposal_ok(s, q, why, sizeof why))
		fail_msg("bad proposal: %s", why);
}

/* Runs a proposer for `total` candidates, k per round, recording each as
 * known and (observed) evaluated; hashes (total x 65) receive the
 * sequence; pts (may be NULL) the evaluated points. */
static void run(const struct search_spec *s, enum search_proposer_kind kind,
		int total, int k, char (*hashes)[65], struct search_point *pts,
		int check)
{
	struct search_proposer *p = open_kind(s, kind);
	struct search_seen known;
	char err[CORE_ERR_LEN];
	int n = 0;

	search_seen_init(&known);
	for (int round = 0; n < total; round++) {
		struct search_propose_in in = {round, k, &known, NULL};
		struct search_batch b;

		if (search_proposer_propose(p, &in, &b, err, sizeof err))
			fail_msg("propose: %s", err);
		assert_int_equal(b.status, SEARCH_BATCH_OK);
		assert_int_equal(b.naccepted, k);
		assert_int_equal(b.props.n, k);
		assert_int_equal(b.ncalls, 0);
		for (int i = 0; i < b.props.n && n < total; i++, n++) {
			struct search_proposal *q = &b.props.v[i];
			struct search_member m;

			if (check)
				assert_good(s, q);
			assert_int_equal(q->source,
					 kind == SEARCH_PROPOSER_RANDOM
					     ? SEARCH_SOURCE_RANDOM
					     : q->source);
			/* unique: never known before */
			assert_int_equal(search_seen_add(&known, q->hash, n),
					 CORE_OK);
			if (hashes)
				memcpy(hashes[n], q->hash, 65);
			member_of(q, n, round, &m);
			if (pts)
				pts[n] = m.pt;
			assert_int_equal(
			    search_proposer_observe(p, &m, err, sizeof err),
			    CORE_OK);
		}
		search_batch_free(&b);
	}
	search_seen_free(&known);
	search_proposer_close(p);
}

/* ---- random and evolution --------------------------------------------------
 */

static void two_hundred_good_proposals(void **state)
{
	static char a[200][65], b[200][65], c[200][65];
	struct search_spec s, s2;
	enum search_proposer_kind kinds[] = {SEARCH_PROPOSER_RANDOM,
					     SEARCH_PROPOSER_EVOLUTION};

	assert_int_equal(searchtest_spec("'seed': 11", &s), 0);
	assert_int_equal(searchtest_spec("'seed': 12", &s2), 0);
	for (int k = 0; k < 2; k++) {
		int same = 0;

		run(&s, kinds[k], 200, 4, a, NULL, 1);
		/* the same seed and observations give the same proposals
		 * (the first 100 are enough to tell, and keep the test fast) */
		run(&s, kinds[k], 100, 4, b, NULL, 0);
		for (int i = 0; i < 100; i++)
			assert_string_equal(a[i], b[i]);
		/* another seed gives others */
		run(&s2, kinds[k], 100, 4, c, NULL, 0);
		for (int i = 0; i < 100; i++)
			same += strcmp(a[i], c[i]) == 0;
		assert_true(same < 3);
	}
}

/* Round r is proposed the same whatever came before (a resumed job). */
static void a_round_is_reproducible_alone(void **state)
{
	struct search_spec s;
	struct search_proposer *p1 = NULL, *p2 = NULL;
	struct search_batch b1, b2;
	struct search_propose_in in = {5, 3, NULL, NULL};
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("'seed': 3", &s), 0);
	p1 = open_kind(&s, SEARCH_PROPOSER_RANDOM);
	p2 = open_kind(&s, SEARCH_PROPOSER_RANDOM);
	for (int r = 0; r < 5; r++) {
		struct search_propose_in early = {r, 2, NULL, NULL};
		assert_int_equal(
		    search_proposer_propose(p1, &early, &b1, err, sizeof err),
		    CORE_OK);
		search_batch_free(&b1);
	}
	assert_int_equal(search_proposer_propose(p1, &in, &b1, err, sizeof err),
			 CORE_OK);
	assert_int_equal(search_proposer_propose(p2, &in, &b2, err, sizeof err),
			 CORE_OK);
	for (int i = 0; i < 3; i++)
		assert_string_equal(b1.props.v[i].hash, b2.props.v[i].hash);
	search_batch_free(&b1);
	search_batch_free(&b2);
	/* a second call in the same round draws differently */
	assert_int_equal(search_proposer_propose(p2, &in, &b2, err, sizeof err),
			 CORE_OK);
	assert_int_equal(search_proposer_propose(p1, &in, &b1, err, sizeof err),
			 CORE_OK);
	assert_string_equal(b1.props.v[0].hash, b2.props.v[0].hash);
	search_batch_free(&b1);
	search_batch_free(&b2);
	search_proposer_close(p1);
	search_proposer_close(p2);
}

/* Evolution versus random on searchtest_fake_acc (a known function of the
 * architecture), default population and sample size, after N evaluations,
 * averaged over seeds: the mean accuracy of the second half of the
 * evaluations (where evolution has taken over from its random start) and
 * the best accuracy. The hypervolume (accuracy up, MACs and SRAM down
 * under the H743 limits) is printed, not asserted: at 100 evaluations
 * random's wide spread of cheap members keeps up with it (proposer.h has
 * the figures at 300). */
static void evolution_beats_random(void **state)
{
	enum { SEEDS = 6, N = 100 };
	static struct search_point pts[N];
	double hv[2] = {0, 0}, best[2] = {0, 0}, late[2] = {0, 0};
	int wins = 0;
	struct search_spec s;
	struct search_limits lim;
	char extra[64];

	for (int seed = 1; seed <= SEEDS; seed++) {
		double l[2];

		snprintf(extra, sizeof extra, "'seed': %d", seed);
		assert_int_equal(searchtest_spec(extra, &s), 0);
		search_spec_limits(&s, &lim);
		for (int k = 0; k < 2; k++) {
			double b = 0, h;

			run(&s,
			    k ? SEARCH_PROPOSER_EVOLUTION
			      : SEARCH_PROPOSER_RANDOM,
			    N, 4, NULL, pts, 0);
			assert_int_equal(search_hypervolume(pts, N, &lim, &h),
					 CORE_OK);
			l[k] = 0;
			for (int i = 0; i < N; i++) {
				if (pts[i].acc > b)
					b = pts[i].acc;
				if (i >= N / 2)
					l[k] += pts[i].acc / (N - N / 2);
			}
			hv[k] += h / SEEDS;
			best[k] += b / SEEDS;
			late[k] += l[k] / SEEDS;
		}
		wins += l[1] > l[0];
	}
	print_message("# %d evaluations, %d seeds, random vs evolution: mean "
		      "accuracy of the last %d %.4f vs %.4f (evolution ahead "
		      "on %d seeds); best %.4f vs %.4f; hypervolume %.4f vs "
		      "%.4f\n",
		      N, SEEDS, N - N / 2, late[0], late[1], wins, best[0],
		      best[1], hv[0], hv[1]);
	assert_true(late[1] > late[0] + 0.05);
	assert_true(best[1] > best[0]);
	assert_true(wins >= SEEDS - 1);
}

/* A space of 8 members: random finds them all, then says it is
 * exhausted; evolution too. */
static void a_small_space_is_exhausted(void **state)
{
	struct search_spec s;
	char err[CORE_ERR_LEN];

	assert_int_equal(
	    searchtest_spec("'space': {'format': 'lmnas-space/1', 'stages': "
			    "{'min': 3, 'max': 3}, 'resolution': [32], "
			    "'block': ['dwsep'], 'out': [16], 'layers': [1], "
			    "'kernel': [3, 5], 'stride': [2], 'se': [0], "
			    "'skip': ['none'], 'act': ['relu'], 'dropout': "
			    "[0]}, 'evolution': {'population': 2, "
			    "'sample_size': 2}",
			    &s),
	    0);
	for (int k = 0; k < 2; k++) {
		struct search_proposer *p = open_kind(
		    &s, k ? SEARCH_PROPOSER_EVOLUTION : SEARCH_PROPOSER_RANDOM);
		struct search_seen known;
		int total = 0, round = 0;
		struct search_batch b;

		search_seen_init(&known);
		for (;; round++) {
			struct search_propose_in in = {round, 3, &known, NULL};

			assert_int_equal(search_proposer_propose(
					     p, &in, &b, err, sizeof err),
					 CORE_OK);
			for (int i = 0; i < b.props.n; i++) {
				struct search_member m;
				assert_int_equal(
				    search_seen_add(&known, b.props.v[i].hash,
						    total),
				    CORE_OK);
				member_of(&b.props.v[i], total++, round, &m);
				search_proposer_observe(p, &m, err, sizeof err);
			}
			if (b.status != SEARCH_BATCH_OK)
				break;
			search_batch_free(&b);
		}
		assert_int_equal(total, 8);
		assert_int_equal(b.status, SEARCH_BATCH_PARTIAL);
		assert_non_null(strstr(b.note, "no new feasible member"));
		search_batch_free(&b);
		{
			struct search_propose_in in = {round + 1, 1, &known,
						       NULL};
			assert_int_equal(search_proposer_propose(
					     p, &in, &b, err, sizeof err),
					 CORE_OK);
			assert_int_equal(b.status, SEARCH_BATCH_EXHAUSTED);
			assert_int_equal(b.naccepted, 0);
			search_batch_free(&b);
		}
		search_seen_free(&known);
		search_proposer_close(p);
	}
}

static void bad_arguments(void **state)
{
	struct search_spec s;
	struct search_proposer_config pc = {0};
	struct search_proposer *p = NULL;
	struct search_batch b;
	struct search_propose_in in = {0, 0, NULL, NULL};
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("", &s), 0);
	assert_int_equal(search_proposer_open(&pc, &p, err, sizeof err),
			 CORE_ERR_INVALID);
	pc.spec = &s;
	pc.kind = SEARCH_PROPOSER_LLM;
	assert_int_equal(search_proposer_open(&pc, &p, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_string_equal(err, "proposer: llm needs a client");
	p = open_kind(&s, SEARCH_PROPOSER_RANDOM);
	assert_int_equal(search_proposer_kind(p), SEARCH_PROPOSER_RANDOM);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_ERR_INVALID);
	search_batch_free(&b);
	assert_int_equal(search_proposer_observe(p, NULL, err, sizeof err),
			 CORE_ERR_INVALID);
	search_proposer_close(p);
	/* allocation failure while opening evolution */
	pc.kind = SEARCH_PROPOSER_EVOLUTION;
	core_alloc_fail_after(1);
	assert_int_equal(search_proposer_open(&pc, &p, err, sizeof err),
			 CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_null(p);
}

/* Every allocation of a propose call fails in turn: NOMEM, no leak, no
 * crash, and the next call succeeds. */
static void allocation_failures(void **state)
{
	struct search_spec s;
	struct search_proposer *p[2];
	struct core_rng rng;
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("'evolution': {'population': 4, "
					 "'sample_size': 2}",
					 &s),
			 0);
	p[0] = open_kind(&s, SEARCH_PROPOSER_RANDOM);
	p[1] = open_kind(&s, SEARCH_PROPOSER_EVOLUTION);
	/* a full population, so that evolution mutates */
	core_rng_seed(&rng, 4);
	for (int i = 0; i < 4; i++) {
		struct search_member m;
		assert_int_equal(searchtest_random_member(&s, &rng, i, 0, &m),
				 0);
		assert_int_equal(
		    search_proposer_observe(p[1], &m, err, sizeof err),
		    CORE_OK);
	}
	for (int k = 0; k < 2; k++) {
		int n;

		for (n = 0;; n++) {
			struct search_propose_in in = {n, 2, NULL, NULL};
			struct search_batch b;
			enum core_status rc;

			core_alloc_fail_after(n);
			rc = search_proposer_propose(p[k], &in, &b, err,
						     sizeof err);
			core_alloc_fail_after(-1);
			search_batch_free(&b);
			if (rc == CORE_OK)
				break;
			assert_int_equal(rc, CORE_ERR_NOMEM);
		}
		assert_true(n > 2);
		search_proposer_close(p[k]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(two_hundred_good_proposals),
	    cmocka_unit_test(a_round_is_reproducible_alone),
	    cmocka_unit_test(evolution_beats_random),
	    cmocka_unit_test(a_small_space_is_exhausted),
	    cmocka_unit_test(bad_arguments),
	    cmocka_unit_test(allocation_failures),
	};
	if (getenv("TEST_CASE"))
		cmocka_set_test_filter(getenv("TEST_CASE"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
