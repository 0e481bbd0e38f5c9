/* test_search_proposers.c - the random and evolution proposers (200
 * proposals valid, in the space, feasible and unique; reproducible for a
 * seed; evolution beats random on a known synthetic accuracy; exhaustion)
 * and the llm proposer against the scripted fake server (good reply,
 * invalid + repair, all bad -> llm_failing and give_up, unreachable, HTTP
 * errors, cancellation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "search/search.h"

#include "../support/archtest.h"
#include "../support/fake_llm.h"
#include "../support/searchtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fake_llm *fake;

static int group_setup(void **state)
{
	return fake_llm_start(&fake);
}

static int group_teardown(void **state)
{
	fake_llm_stop(fake);
	return 0;
}

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
	struct core_field_errors fe;
	struct cost_report r;
	char err[CORE_ERR_LEN], hash[65];

	assert_int_equal(q->verdict, SEARCH_VERDICT_OK);
	assert_int_equal(arch_validate(&q->arch, &fe), CORE_OK);
	if (space_check(&s->space, &q->arch, &fe))
		archtest_dump(&fe);
	assert_int_equal(space_check(&s->space, &q->arch, &fe), CORE_OK);
	assert_int_equal(q->arch.classes, search_spec_classes(s));
	assert_int_equal(cost_report_build(&q->arch, &r, err, sizeof err),
			 CORE_OK);
	assert_true(r.macs <= s->constraints.max_macs);
	assert_true(r.sram_bytes <= s->constraints.max_sram);
	assert_true(r.flash.total <= s->constraints.max_flash);
	assert_int_equal(q->cost.macs, r.macs);
	cost_report_free(&r);
	assert_int_equal(arch_hash(&q->arch, hash), CORE_OK);
	assert_string_equal(q->hash, hash);
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

/* ---- llm
 * ---------------------------------------------------------------------- */

/* A reply content with n distinct feasible members of s's space (drawn
 * with seed) and, when bad_kernel, one more entry whose first stage has
 * kernel 4. Returned text is malloc'd. */
static char *candidates_json(const struct search_spec *s, uint64_t seed, int n,
			     int bad_kernel)
{
	struct core_rng rng;
	json_t *list = json_array(), *root;
	char *text;

	core_rng_seed(&rng, seed);
	for (int i = 0; i < n + bad_kernel; i++) {
		struct search_member m;
		json_t *arch;

		assert_int_equal(searchtest_random_member(s, &rng, i, 0, &m),
				 0);
		if (i == n)
			m.arch.stages[0].kernel = 4; /* not odd */
		arch = arch_to_json(&m.arch);
		if (i == n)
			json_object_set_new(
			    json_array_get(json_object_get(arch, "stages"), 0),
			    "kernel", json_integer(4));
		json_array_append_new(list, json_pack("{s:s,s:o}", "rationale",
						      "because", "arch", arch));
	}
	root = json_pack("{s:o}", "candidates", list);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(text);
	return text;
}

static void script_contents(const char *const *contents, size_t n)
{
	struct fake_llm_reply r[8];
	char *bodies[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		bodies[i] = fake_llm_chat_body(contents[i], "stop", 100, 50);
		assert_non_null(bodies[i]);
		r[i] = (struct fake_llm_reply){200, bodies[i], 0, NULL};
	}
	assert_int_equal(fake_llm_script(fake, r, n), 0);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
}

static struct llm_client *test_client(const char *url, int attempts)
{
	struct llm_settings ls;
	struct llm_client *c = NULL;
	char err[CORE_ERR_LEN];

	llm_settings_default(&ls);
	ls.base_url = url;
	ls.model = "fake";
	ls.connect_timeout_ms = 1000;
	ls.timeout_ms = 3000;
	ls.max_attempts = attempts;
	ls.backoff_base_ms = 5;
	ls.backoff_max_ms = 10;
	ls.seed = 1;
	if (llm_client_open(&ls, &c, err, sizeof err))
		fail_msg("client: %s", err);
	return c;
}

static struct search_proposer *open_llm(const struct search_spec *s,
					struct llm_client *c)
{
	struct search_proposer_config pc = {
	    .spec = s, .kind = SEARCH_PROPOSER_LLM, .client = c};
	struct search_proposer *p = NULL;
	char err[CORE_ERR_LEN];

	if (search_proposer_open(&pc, &p, err, sizeof err))
		fail_msg("open: %s", err);
	return p;
}

/* The JSON body of request i, parsed. */
static json_t *request_body(size_t i)
{
	struct fake_llm_request r;
	json_error_t jerr;
	json_t *v;

	assert_int_equal(fake_llm_request_get(fake, i, &r), 0);
	v = json_loads(r.body, 0, &jerr);
	fake_llm_request_free(&r);
	assert_non_null(v);
	return v;
}

static const char *message(json_t *body, size_t i, const char **role)
{
	json_t *m = json_array_get(json_object_get(body, "messages"), i);

	if (role)
		*role =
		    m ? json_string_value(json_object_get(m, "role")) : NULL;
	return m ? json_string_value(json_object_get(m, "content")) : NULL;
}

static void llm_good_reply(void **state)
{
	struct search_spec s;
	struct llm_client *c = test_client(fake_llm_url(fake), 2);
	struct search_proposer *p;
	struct search_batch b;
	struct search_prompt pr;
	struct search_propose_in in = {0, 4, NULL, NULL};
	char err[CORE_ERR_LEN], rf[32], *content;
	const char *contents[1];
	json_t *body;

	assert_int_equal(searchtest_spec("", &s), 0);
	content = candidates_json(&s, 1, 4, 0);
	contents[0] = content;
	script_contents(contents, 1);
	p = open_llm(&s, c);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.status, SEARCH_BATCH_OK);
	assert_int_equal(b.naccepted, 4);
	assert_int_equal(b.props.n, 4);
	assert_int_equal(b.ncalls, 1);
	assert_int_equal(b.calls[0].attempt, 0);
	assert_int_equal(b.calls[0].rec.outcome, LLM_OUTCOME_OK);
	assert_int_equal(b.consecutive_failures, 0);
	for (int i = 0; i < 4; i++) {
		assert_good(&s, &b.props.v[i]);
		assert_string_equal(b.props.v[i].rationale, "because");
		assert_int_equal(b.props.v[i].source, SEARCH_SOURCE_LLM);
		assert_int_equal(b.props.v[i].index, i);
	}
	/* what was sent: the built prompt and the reply schema */
	assert_int_equal(fake_llm_request_count(fake), 1);
	assert_int_equal(fake_llm_request_format(fake, 0, rf, sizeof rf), 0);
	assert_string_equal(rf, "json_schema");
	body = request_body(0);
	assert_int_equal(search_prompt_build(&s, NULL, 4, &pr, err, sizeof err),
			 CORE_OK);
	assert_string_equal(message(body, 0, NULL), pr.system);
	assert_string_equal(message(body, 1, NULL), pr.user);
	assert_null(message(body, 2, NULL));
	search_prompt_free(&pr);
	json_decref(body);
	search_batch_free(&b);
	search_proposer_close(p);
	llm_client_close(c);
	free(content);
}

static void llm_invalid_then_repaired(void **state)
{
	struct search_spec s;
	struct llm_client *c = test_client(fake_llm_url(fake), 2);
	struct search_proposer *p;
	struct search_batch b;
	struct search_propose_in in = {2, 4, NULL, NULL};
	char err[CORE_ERR_LEN], *first, *second;
	const char *contents[2], *role, *repair;
	json_t *body;

	assert_int_equal(searchtest_spec("", &s), 0);
	first = candidates_json(&s, 2, 3, 1); /* 3 good, 1 kernel 4 */
	second = candidates_json(&s, 3, 1, 0);
	contents[0] = first;
	contents[1] = second;
	script_contents(contents, 2);
	p = open_llm(&s, c);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.status, SEARCH_BATCH_OK);
	assert_int_equal(b.naccepted, 4);
	assert_int_equal(b.ncalls, 2);
	assert_int_equal(b.calls[1].attempt, 1);
	assert_int_equal(b.props.n, 5);
	assert_int_equal(b.props.v[3].verdict, SEARCH_VERDICT_INVALID);
	assert_string_equal(b.props.v[3].reason,
			    "stages[0].kernel: 4 is not odd");
	assert_int_equal(b.props.v[3].attempt, 0);
	assert_int_equal(b.props.v[4].verdict, SEARCH_VERDICT_OK);
	assert_int_equal(b.props.v[4].attempt, 1);
	assert_int_equal(b.props.v[4].index, 0);
	/* the repair turn: the previous reply echoed, then the reasons */
	body = request_body(1);
	message(body, 2, &role);
	assert_string_equal(role, "assistant");
	assert_string_equal(message(body, 2, NULL), first);
	repair = message(body, 3, &role);
	assert_string_equal(role, "user");
	assert_non_null(strstr(repair, "- candidates[3] (invalid): "
				       "stages[0].kernel: 4 is not odd"));
	assert_non_null(strstr(repair, "Accepted so far this round: 3"));
	assert_non_null(strstr(repair, "Send 1 corrected or new"));
	json_decref(body);
	search_batch_free(&b);
	search_proposer_close(p);
	llm_client_close(c);
	free(first);
	free(second);
}

/* Replies that never give a usable candidate: 1 + repair_attempts calls,
 * then llm_failing; three such rounds in a row: give_up. */
static void llm_all_bad(void **state)
{
	struct search_spec s;
	struct llm_client *c = test_client(fake_llm_url(fake), 2);
	struct search_proposer *p;
	struct search_batch b;
	char err[CORE_ERR_LEN], *good;
	const char *contents[] = {
	    "I think a MobileNet would work well here.", /* no JSON */
	    "{\"candidates\": []}",			 /* empty */
	    "{\"candidates\": [{\"rationale\": \"x\", \"arch\": {}}]}",
	};

	assert_int_equal(searchtest_spec("'llm': {'repair_attempts': 2}", &s),
			 0);
	p = open_llm(&s, c);
	for (int round = 0; round < 3; round++) {
		struct search_propose_in in = {round, 2, NULL, NULL};

		script_contents(contents, 3);
		assert_int_equal(
		    search_proposer_propose(p, &in, &b, err, sizeof err),
		    CORE_OK);
		assert_int_equal(b.status, SEARCH_BATCH_LLM_FAILING);
		assert_int_equal(b.ncalls, 3);
		assert_int_equal(fake_llm_request_count(fake), 3);
		assert_int_equal(b.calls[0].rec.outcome, LLM_OUTCOME_BAD_REPLY);
		assert_int_equal(b.naccepted, 0);
		assert_int_equal(b.props.n, 1); /* the empty arch */
		assert_int_equal(b.props.v[0].verdict, SEARCH_VERDICT_INVALID);
		assert_int_equal(b.props.v[0].attempt, 2);
		assert_int_equal(b.consecutive_failures, round + 1);
		assert_int_equal(b.give_up, round == 2);
		assert_non_null(strstr(b.note, "0 of 2 candidates after 3"));
		search_batch_free(&b);
	}
	/* the repair after a reply without JSON says so */
	{
		json_t *body = request_body(1);
		const char *repair = message(body, 3, NULL);
		assert_non_null(repair);
		assert_non_null(strstr(repair, "- the reply was not usable "
					       "(bad_reply)"));
		json_decref(body);
	}
	/* a good round resets the count */
	good = candidates_json(&s, 9, 2, 0);
	contents[0] = good;
	script_contents(contents, 1);
	{
		struct search_propose_in in = {3, 2, NULL, NULL};
		assert_int_equal(
		    search_proposer_propose(p, &in, &b, err, sizeof err),
		    CORE_OK);
	}
	assert_int_equal(b.status, SEARCH_BATCH_OK);
	assert_int_equal(b.consecutive_failures, 0);
	assert_int_equal(b.give_up, 0);
	search_batch_free(&b);
	free(good);
	search_proposer_close(p);
	llm_client_close(c);
}

/* Fewer than asked after every repair: partial, and the runner tops up. */
static void llm_partial(void **state)
{
	struct search_spec s;
	struct llm_client *c = test_client(fake_llm_url(fake), 2);
	struct search_proposer *p;
	struct search_batch b;
	struct search_propose_in in = {0, 3, NULL, NULL};
	char err[CORE_ERR_LEN], *one;
	const char *contents[1];

	assert_int_equal(searchtest_spec("'llm': {'repair_attempts': 1}", &s),
			 0);
	one = candidates_json(&s, 4, 1, 0);
	contents[0] = one;
	script_contents(contents, 1); /* the same reply every time */
	p = open_llm(&s, c);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.status, SEARCH_BATCH_PARTIAL);
	assert_int_equal(b.naccepted, 1);
	assert_int_equal(b.ncalls, 2);
	/* the repeat is a duplicate of what the first reply gave */
	assert_int_equal(b.props.v[1].verdict, SEARCH_VERDICT_DUPLICATE);
	assert_string_equal(b.props.v[1].reason, "duplicate of a candidate "
						 "already accepted this round");
	search_batch_free(&b);
	search_proposer_close(p);
	llm_client_close(c);
	free(one);
}

static void llm_unreachable(void **state)
{
	struct search_spec s;
	struct llm_client *c;
	struct search_proposer *p;
	struct search_batch b;
	struct search_propose_in in = {0, 4, NULL, NULL};
	struct fake_llm_reply five[] = {{500, "{\"error\":\"down\"}", 0, NULL}};
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("", &s), 0);
	/* nothing listens on port 9 of 127.0.0.1 */
	c = test_client("http://127.0.0.1:9/v1", 2);
	p = open_llm(&s, c);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.status, SEARCH_BATCH_LLM_UNREACHABLE);
	assert_int_equal(b.ncalls, 1);
	assert_int_equal(b.calls[0].rec.outcome, LLM_OUTCOME_UNREACHABLE);
	assert_int_equal(b.naccepted, 0);
	assert_int_equal(b.consecutive_failures, 1);
	assert_non_null(strstr(b.note, "llm unreachable"));
	search_batch_free(&b);
	search_proposer_close(p);
	llm_client_close(c);
	/* a server that only fails is as good as unreachable */
	c = test_client(fake_llm_url(fake), 2);
	assert_int_equal(fake_llm_script(fake, five, 1), 0);
	p = open_llm(&s, c);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.status, SEARCH_BATCH_LLM_UNREACHABLE);
	assert_int_equal(b.calls[0].rec.outcome, LLM_OUTCOME_HTTP_ERROR);
	assert_int_equal(b.calls[0].rec.http_status, 500);
	assert_non_null(strstr(b.note, "llm http_error"));
	search_batch_free(&b);
	search_proposer_close(p);
	llm_client_close(c);
}

/* An injected chat function: no HTTP at all. */
struct scripted {
	int calls;
	enum core_status rc;
};

static enum core_status fake_chat(void *ctx, const struct llm_request *req,
				  struct llm_record *rec, char *err,
				  size_t errlen)
{
	struct scripted *sc = ctx;

	memset(rec, 0, sizeof *rec);
	sc->calls++;
	rec->outcome = sc->rc == CORE_ERR_CANCELLED ? LLM_OUTCOME_CANCELLED
						    : LLM_OUTCOME_INTERNAL;
	core_errf(err, errlen, "scripted %s", core_status_name(sc->rc));
	return sc->rc;
}

static void llm_injected_chat_errors(void **state)
{
	struct search_spec s;
	struct scripted sc = {0, CORE_ERR_CANCELLED};
	struct search_proposer_config pc = {
	    .kind = SEARCH_PROPOSER_LLM, .chat = fake_chat, .chat_ctx = &sc};
	struct search_proposer *p = NULL;
	struct search_batch b;
	struct search_propose_in in = {0, 2, NULL, NULL};
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("", &s), 0);
	pc.spec = &s;
	assert_int_equal(search_proposer_open(&pc, &p, err, sizeof err),
			 CORE_OK);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_ERR_CANCELLED);
	assert_int_equal(sc.calls, 1);
	assert_int_equal(b.ncalls, 1); /* the record is kept for storage */
	search_batch_free(&b);
	sc.rc = CORE_ERR_INVALID; /* a request we built wrong */
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_ERR_INTERNAL);
	assert_non_null(strstr(err, "scripted invalid"));
	search_batch_free(&b);
	search_proposer_close(p);
	/* the prompt does not fit: nothing is sent */
	assert_int_equal(
	    searchtest_spec("'llm': {'prompt_token_budget': 1024}", &s), 0);
	assert_int_equal(search_proposer_open(&pc, &p, err, sizeof err),
			 CORE_OK);
	sc.calls = 0;
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(sc.calls, 0);
	search_batch_free(&b);
	search_proposer_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(two_hundred_good_proposals),
	    cmocka_unit_test(a_round_is_reproducible_alone),
	    cmocka_unit_test(evolution_beats_random),
	    cmocka_unit_test(a_small_space_is_exhausted),
	    cmocka_unit_test(bad_arguments),
	    cmocka_unit_test(llm_good_reply),
	    cmocka_unit_test(llm_invalid_then_repaired),
	    cmocka_unit_test(llm_all_bad),
	    cmocka_unit_test(llm_partial),
	    cmocka_unit_test(llm_unreachable),
	    cmocka_unit_test(llm_injected_chat_errors),
	};
	if (getenv("TEST_CASE"))
		cmocka_set_test_filter(getenv("TEST_CASE"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
