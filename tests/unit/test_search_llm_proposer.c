/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_llm_proposer.c - the llm proposer against the scripted fake
 * server (tests/support/fake_llm): a good reply (and what was sent), one
 * invalid candidate then a repair, replies that are never usable ->
 * llm_failing and give_up after three rounds, partial, unreachable and
 * failing servers -> llm_unreachable, an injected chat function
 * (cancellation, our own bad request, a prompt over budget), allocation
 * failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "search/search.h"

#include "../support/fake_llm.h"
#include "../support/llmtest.h"
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

static void assert_good(const struct search_spec *s,
			const struct search_proposal *q)
{
	char why[256];

	if (searchtest_proposal_ok(s, q, why, sizeof why))
		fail_msg("bad proposal: %s", why);
}

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
	assert_int_equal(searchtest_script_contents(fake, contents, n), 0);
}

static struct llm_client *test_client(const char *url, int attempts)
{
	struct llm_settings ls;
	struct llm_client *c;

	searchtest_llm_settings(&ls, url, attempts);
	c = llmtest_client(&ls);
	assert_non_null(c);
	return c;
}

static struct search_proposer *open_llm(const struct search_spec *s,
					struct llm_client *c)
{
	struct search_proposer *p = searchtest_llm_proposer(s, c);

	assert_non_null(p);
	return p;
}

/* The JSON body of request i, parsed. */
static json_t *request_body(size_t i)
{
	json_t *v = searchtest_request_body(fake, i);

	assert_non_null(v);
	return v;
}

/* One usable reply at json_schema, so that text without JSON afterwards is
 * the model's fault (a bad reply), not a server ignoring the format (which
 * the client answers by stepping down a level, llm.h). */
static void prime_client(struct llm_client *c)
{
	const char *ok[] = {"{\"candidates\": []}"};
	struct llm_message m = {"user", "hello"};
	struct llm_request req = {&m, 1, "candidates", "{\"type\":\"object\"}",
				  NULL};
	struct llm_record rec;
	char err[CORE_ERR_LEN];

	script_contents(ok, 1);
	assert_int_equal(llm_client_chat(c, &req, &rec, err, sizeof err),
			 CORE_OK);
	assert_int_equal(llm_client_format(c), LLM_FORMAT_JSON_SCHEMA);
	llm_record_free(&rec);
}

/* The seed paper's reply shape, a bare list of candidates, and a list of
 * bare architectures (with comments and a trailing comma, as models write
 * them): both accepted, one call each. */
static void llm_bare_lists(void **state)
{
	struct search_spec s;
	struct llm_client *c = test_client(fake_llm_url(fake), 2);
	struct search_proposer *p;
	struct search_batch b;
	struct search_propose_in in = {0, 2, NULL, NULL};
	char err[CORE_ERR_LEN], *full, *list, *archs, *lenient;
	const char *contents[1];
	json_t *root, *bare, *e;
	size_t i;

	assert_int_equal(searchtest_spec("", &s), 0);
	full = candidates_json(&s, 7, 2, 0);
	root = json_loads(full, 0, NULL);
	assert_non_null(root);
	list = json_dumps(json_object_get(root, "candidates"), JSON_COMPACT);
	bare = json_array();
	json_array_foreach(json_object_get(root, "candidates"), i, e)
	{
		json_array_append(bare, json_object_get(e, "arch"));
	}
	archs = json_dumps(bare, JSON_INDENT(1));
	assert_non_null(list);
	assert_non_null(archs);
	/* "[\n {...},\n {...}\n]" -> "[ // two\n {...},\n {...},\n]" */
	lenient = malloc(strlen(archs) + 32);
	assert_non_null(lenient);
	snprintf(lenient, strlen(archs) + 32, "[ // two\n%.*s,\n]",
		 (int)(strlen(archs) - 3), archs + 2);
	for (int k = 0; k < 2; k++) {
		contents[0] = k == 0 ? list : lenient;
		script_contents(contents, 1);
		p = open_llm(&s, c);
		assert_int_equal(
		    search_proposer_propose(p, &in, &b, err, sizeof err),
		    CORE_OK);
		if (b.status != SEARCH_BATCH_OK)
			fail_msg("reply %d: status %s: %s", k,
				 search_batch_status_name(b.status), b.note);
		assert_int_equal(b.naccepted, 2);
		assert_int_equal(b.ncalls, 1);
		for (int j = 0; j < 2; j++)
			assert_good(&s, &b.props.v[j]);
		search_batch_free(&b);
		search_proposer_close(p);
	}
	free(full);
	free(list);
	free(archs);
	free(lenient);
	json_decref(bare);
	json_decref(root);
	llm_client_close(c);
}

/* A prompt that does not fit the server's context (llama-server -c 6144
 * answers 400): sent again within a budget that fits, (6144 - max_tokens
 * 2048) x 3/4 = 3072 tokens, and that budget kept for the later rounds. */
static void llm_prompt_shortened_to_fit(void **state)
{
	static struct search_member front[30];
	struct search_spec s, s3072;
	struct llm_client *c = test_client(fake_llm_url(fake), 2);
	struct search_proposer *p;
	struct search_batch b;
	struct search_prompt full, fit;
	struct search_history h;
	struct core_rng rng;
	struct search_propose_in in = {3, 2, NULL, &h};
	char err[CORE_ERR_LEN], *content, *good;
	json_t *body;
	struct fake_llm_reply rs[2] = {
	    {400,
	     "{\"error\":{\"code\":400,\"message\":\"the request exceeds "
	     "the available context size, try increasing it\"}}",
	     0, NULL},
	    {200, NULL, 0, NULL}};

	assert_int_equal(searchtest_spec("'llm': {'max_tokens': 2048, "
					 "'prompt_token_budget': 6000}",
					 &s),
			 0);
	core_rng_seed(&rng, 11);
	for (int i = 0; i < 30; i++)
		assert_int_equal(searchtest_random_member(&s, &rng, 100 + i,
							  i / 10, &front[i]),
				 0);
	h = (struct search_history){.round = 3,
				    .evaluated = 30,
				    .front = front,
				    .nfront = 30,
				    .best = &front[29],
				    .hv_before = -1,
				    .hv_after = -1};
	s3072 = s;
	s3072.llm.prompt_token_budget = 3072;
	assert_int_equal(search_prompt_build(&s, &h, 2, &full, err, sizeof err),
			 CORE_OK);
	assert_int_equal(
	    search_prompt_build(&s3072, &h, 2, &fit, err, sizeof err), CORE_OK);
	/* the test means something only if the budgets trim differently */
	assert_true(fit.front_shown < full.front_shown);
	content = candidates_json(&s, 21, 2, 0);
	good = fake_llm_chat_body(content, "stop", FAKE_LLM_TOKENS_AUTO, 50);
	rs[1].body = good;
	assert_int_equal(fake_llm_script(fake, rs, 2), 0);
	assert_int_equal(
	    fake_llm_probes(
		fake, 200, "{\"default_generation_settings\":{\"n_ctx\":6144}}",
		0, NULL),
	    0);
	p = open_llm(&s, c);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.status, SEARCH_BATCH_OK);
	assert_int_equal(b.ncalls, 2);
	assert_int_equal(b.calls[0].rec.outcome, LLM_OUTCOME_CONTEXT);
	assert_int_equal(b.calls[0].rec.context_tokens, 6144);
	assert_int_equal(b.calls[1].rec.outcome, LLM_OUTCOME_OK);
	body = request_body(0);
	assert_string_equal(searchtest_message(body, 1, NULL), full.user);
	json_decref(body);
	body = request_body(1);
	assert_string_equal(searchtest_message(body, 1, NULL), fit.user);
	assert_null(searchtest_message(body, 2, NULL));
	json_decref(body);
	search_batch_free(&b);
	/* the next round starts within the budget that fits */
	assert_int_equal(fake_llm_script(fake, &rs[1], 1), 0);
	in.round = 4;
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.ncalls, 1);
	body = request_body(0);
	assert_string_equal(searchtest_message(body, 1, NULL), fit.user);
	json_decref(body);
	search_batch_free(&b);
	search_proposer_close(p);
	search_prompt_free(&full);
	search_prompt_free(&fit);
	assert_int_equal(fake_llm_probes(fake, 0, NULL, 0, NULL), 0);
	free(good);
	free(content);
	llm_client_close(c);
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
	assert_string_equal(searchtest_message(body, 0, NULL), pr.system);
	assert_string_equal(searchtest_message(body, 1, NULL), pr.user);
	assert_null(searchtest_message(body, 2, NULL));
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
	searchtest_message(body, 2, &role);
	assert_string_equal(role, "assistant");
	assert_string_equal(searchtest_message(body, 2, NULL), first);
	repair = searchtest_message(body, 3, &role);
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
	prime_client(c);
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
		const char *repair = searchtest_message(body, 3, NULL);
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
	struct fake_llm_reply unauth[] = {
	    {401, "{\"error\":{\"message\":\"Incorrect API key\"}}", 0, NULL}};
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
	/* said in words, not "the LLM llm_unreachable" */
	if (strncmp(b.note, "LLM: cannot reach http://127.0.0.1:9/v1", 39))
		fail_msg("note: %s", b.note);
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
	if (strncmp(b.note, "LLM: HTTP 500 server error: HTTP 500 from", 41))
		fail_msg("note: %s", b.note);
	search_batch_free(&b);
	search_proposer_close(p);
	/* a wrong key: the note says what to check */
	assert_int_equal(fake_llm_script(fake, unauth, 1), 0);
	p = open_llm(&s, c);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.status, SEARCH_BATCH_LLM_UNREACHABLE);
	assert_int_equal(fake_llm_request_count(fake), 1); /* not retried */
	if (strncmp(b.note,
		    "LLM: HTTP 401 unauthorized (check api_key_env): HTTP 401 "
		    "from http://127.0.0.1:",
		    79) ||
	    !strstr(b.note, "Incorrect API key"))
		fail_msg("note: %s", b.note);
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

/* A chat function whose replies are unusable with a long non-ASCII reason;
 * it records whether every message it was sent is valid UTF-8. */
struct utf8_chat {
	int calls, bad;
};

static enum core_status long_reason_chat(void *ctx,
					 const struct llm_request *req,
					 struct llm_record *rec, char *err,
					 size_t errlen)
{
	struct utf8_chat *u = ctx;
	size_t n = 0;

	memset(rec, 0, sizeof *rec);
	u->calls++;
	for (size_t i = 0; i < req->nmessages; i++)
		u->bad += !core_utf8_valid(req->messages[i].content,
					   strlen(req->messages[i].content));
	rec->outcome = LLM_OUTCOME_BAD_REPLY;
	rec->reply_error = LLM_REPLY_INVALID_JSON;
	while (n + 2 < errlen && n < 510) {
		err[n++] = (char)0xc3;
		err[n++] = (char)0xa9; /* é */
	}
	err[n] = '\0';
	memcpy(rec->error, err, n + 1);
	return CORE_ERR_INVALID;
}

/* The proposer's own cuts of that reason (the repair's problem line, the
 * batch note) never split a character. */
static void llm_cuts_keep_utf8(void **state)
{
	struct search_spec s;
	struct utf8_chat u = {0, 0};
	struct search_proposer_config pc = {.kind = SEARCH_PROPOSER_LLM,
					    .chat = long_reason_chat,
					    .chat_ctx = &u};
	struct search_proposer *p = NULL;
	struct search_batch b;
	struct search_propose_in in = {0, 2, NULL, NULL};
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("", &s), 0);
	pc.spec = &s;
	assert_int_equal(search_proposer_open(&pc, &p, err, sizeof err),
			 CORE_OK);
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.status, SEARCH_BATCH_LLM_FAILING);
	assert_int_equal(u.calls, 3);
	assert_int_equal(u.bad, 0);
	assert_true(core_utf8_valid(b.note, strlen(b.note)));
	search_batch_free(&b);
	search_proposer_close(p);
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

/* A chat function that answers with a fixed reply (plain malloc, so the
 * fault injector only hits the proposer). */
static enum core_status canned_chat(void *ctx, const struct llm_request *req,
				    struct llm_record *rec, char *err,
				    size_t errlen)
{
	const char *json = ctx;

	memset(rec, 0, sizeof *rec);
	rec->content = strdup(json);
	rec->json = strdup(json);
	if (!rec->content || !rec->json)
		return CORE_ERR_NOMEM;
	rec->json_len = strlen(json);
	rec->outcome = LLM_OUTCOME_OK;
	return CORE_OK;
}

/* Every allocation of a propose call fails in turn: NOMEM, no leak, no
 * crash, and the next call succeeds. */
static void allocation_failures(void **state)
{
	struct search_spec s;
	struct search_proposer_config pc = {0};
	struct search_proposer *p;
	char err[CORE_ERR_LEN], *reply;
	int n;

	assert_int_equal(searchtest_spec("", &s), 0);
	reply = candidates_json(&s, 21, 2, 1);
	pc.spec = &s;
	pc.kind = SEARCH_PROPOSER_LLM;
	pc.chat = canned_chat;
	pc.chat_ctx = reply;
	assert_int_equal(search_proposer_open(&pc, &p, err, sizeof err),
			 CORE_OK);
	for (n = 0;; n++) {
		struct search_propose_in in = {0, 2, NULL, NULL};
		struct search_batch b;
		enum core_status rc;

		core_alloc_fail_after(n);
		rc = search_proposer_propose(p, &in, &b, err, sizeof err);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK) {
			/* 2 good ones (the third entry is beyond k) */
			assert_int_equal(b.naccepted, 2);
			assert_int_equal(b.ncalls, 1);
		}
		search_batch_free(&b);
		if (rc == CORE_OK)
			break;
		assert_int_equal(rc, CORE_ERR_NOMEM);
	}
	assert_true(n > 10);
	search_proposer_close(p);
	free(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(llm_good_reply),
	    cmocka_unit_test(llm_invalid_then_repaired),
	    cmocka_unit_test(llm_all_bad),
	    cmocka_unit_test(llm_partial),
	    cmocka_unit_test(llm_unreachable),
	    cmocka_unit_test(llm_bare_lists),
	    cmocka_unit_test(llm_prompt_shortened_to_fit),
	    cmocka_unit_test(llm_injected_chat_errors),
	    cmocka_unit_test(llm_cuts_keep_utf8),
	    cmocka_unit_test(allocation_failures),
	};
	if (getenv("TEST_CASE"))
		cmocka_set_test_filter(getenv("TEST_CASE"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
