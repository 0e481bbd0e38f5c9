/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_llm_reply_kinds.c - the llm proposer (what the job runner
 * calls each round) against the scripted fake server, one table row per
 * kind of reply a model or its server gives: good JSON, JSON in markdown
 * fences, prose around JSON, wrong field types, values outside the space,
 * an infeasible architecture, duplicates, truncated JSON, an empty reply
 * (empty content, empty body), 429 then success, 500s (then success, and
 * throughout), a hang past the timeout (then success, and throughout), a
 * 400 refusing response_format (a weaker format then works; refused at the
 * floor). Every row asserts what was retried (the requests the server got,
 * each call's attempts), what went back to the LLM (the repair message),
 * what was recorded (calls, verdicts, status, note) and that the call
 * returned CORE_OK within a bound. */
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

/* What a scripted reply carries. A0, A1, B0, B1 are feasible members of
 * the default space; Z is in the space but over the 100 M MACs limit. */
enum content {
	C_RAW = 0,     /* the step's body as it is */
	C_GOOD,	       /* {"candidates": [A0, A1]} */
	C_FENCED,      /* C_GOOD in a ```json fence, prose around it */
	C_PROSE,       /* C_GOOD with prose before and after, no fence */
	C_WRONG_TYPES, /* [A0, A1 with a string resolution and kernel] */
	C_OUTSIDE,     /* [A0, A1 with kernel 9: valid, not in {3,5,7}] */
	C_INFEASIBLE,  /* [A0, Z] */
	C_DUPLICATES,  /* [A0, A0, A1], A1 known as candidate 17 */
	C_TRUNCATED,   /* the first half of C_GOOD, finish_reason "length" */
	C_EMPTY,       /* "" */
	C_ONE,	       /* [B0]: the repair that was asked for one */
	C_TWO,	       /* [B0, B1]: the repair that was asked for two */
	C_COUNT
};

struct step {
	int status;
	enum content content;
	const char *body; /* C_RAW */
	long delay_ms;
	const char *headers;
};

#define STEPS_MAX  3
#define CHECKS_MAX 3

struct row {
	const char *name;
	int k;
	int attempts;	  /* client max_attempts; 0 = 3 */
	long timeout_ms;  /* client timeout; 0 = 3000 */
	int floor_object; /* format_floor json_object instead of none */
	int known;	  /* A1 is known as candidate 17 */
	struct step script[STEPS_MAX]; /* the last step repeats */
	/* what was retried */
	size_t requests;     /* received by the server */
	const char *formats; /* response_format of each: S json_schema,
				O json_object, N none */
	const char *calls;   /* each call "outcome[ reply_error]: status
				outcome, ..." (one per attempt), " | " apart */
	long wait0_ms;	     /* the first attempt's wait; -1 unchecked */
	/* what went back: texts of the repair message (a "%s" takes the
	 * detail of the first reply's content); NULL first: no repair */
	const char *repair[CHECKS_MAX];
	/* what was recorded */
	const char *verdicts; /* each proposal "verdict@attempt" */
	enum search_batch_status status;
	int accepted;
	const char *note[2]; /* in b.note; NULL first: b.note is "" */
	double max_s;	     /* bound on the call; 0 = 5 s */
};

/* ---- the table ------------------------------------------------------------
 */

/* clang-format off */
#define SAYS(c) {200, c, NULL, 0, NULL} /* a 200 chat reply with content c */
#define GOOD SAYS(C_GOOD)
#define ONE  SAYS(C_ONE)
#define TWO  SAYS(C_TWO)
#define HANG {200, C_GOOD, NULL, 5000, NULL} /* answers after 5 s */
#define DOWN {500, C_RAW, "{\"error\":{\"message\":\"upstream down\"}}", 0, NULL}
#define NO_FORMAT {400, C_RAW, "{\"error\":{\"message\":\"response_format " \
	"json_schema is not supported\",\"type\":\"invalid_request_error\"}}", 0, NULL}
/* clang-format on */
#define ACCEPTED_ONE                                                           \
	"\nAccepted so far this round: 1 (from this reply: candidates[0]); "   \
	"do not send them again.\n\n"
#define NOT_USABLE "- the reply was not usable (bad_reply): "
/* two calls of one request each: the first reply, then the repair's */
#define CALLED_TWICE                                                           \
	.requests = 2, .formats = "SS", .calls = "ok: 200 ok | ok: 200 ok",    \
	.wait0_ms = -1
/* one request, one call, both candidates accepted */
#define ACCEPTED_AT_ONCE                                                       \
	.requests = 1, .formats = "S", .calls = "ok: 200 ok", .wait0_ms = -1,  \
	.verdicts = "ok@0 ok@0", .status = SEARCH_BATCH_OK, .accepted = 2

static const struct row rows[] = {
    {.name = "good JSON", .k = 2, .script = {GOOD}, ACCEPTED_AT_ONCE},
    {.name = "JSON inside markdown fences",
     .k = 2,
     .script = {SAYS(C_FENCED)},
     ACCEPTED_AT_ONCE},
    {.name = "prose around JSON",
     .k = 2,
     .script = {SAYS(C_PROSE)},
     ACCEPTED_AT_ONCE},
    {.name = "wrong field types",
     .k = 2,
     .script = {SAYS(C_WRONG_TYPES), ONE},
     CALLED_TWICE,
     .repair = {"- candidates[1] (invalid): input.resolution: expected an "
		"integer, got string; stages[0].kernel: expected an integer, "
		"got string" ACCEPTED_ONE "Send 1 corrected or new"},
     .verdicts = "ok@0 invalid@0 ok@1",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    {.name = "values outside the space",
     .k = 2,
     .script = {SAYS(C_OUTSIDE), ONE},
     CALLED_TWICE,
     .repair = {"- candidates[1] (outside_space): stages[0].kernel: 9 is "
		"not in the space {3,5,7}" ACCEPTED_ONE
		"Send 1 corrected or new"},
     .verdicts = "ok@0 outside_space@0 ok@1",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    {.name = "an infeasible architecture",
     .k = 2,
     .script = {SAYS(C_INFEASIBLE), ONE},
     CALLED_TWICE,
     .repair = {"- candidates[1] (infeasible): %s" ACCEPTED_ONE
		"Send 1 corrected or new"},
     .verdicts = "ok@0 infeasible@0 ok@1",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    {.name = "duplicates",
     .k = 3,
     .known = 1,
     .script = {SAYS(C_DUPLICATES), TWO},
     CALLED_TWICE,
     .repair = {"- candidates[1] (duplicate): duplicate of candidates[0] of "
		"this reply\n- candidates[2] (duplicate): duplicate of "
		"candidate 17" ACCEPTED_ONE "Send 2 corrected or new"},
     .verdicts = "ok@0 duplicate@0 duplicate@0 ok@1 ok@1",
     .status = SEARCH_BATCH_OK,
     .accepted = 3},
    {.name = "truncated JSON",
     .k = 2,
     .script = {SAYS(C_TRUNCATED), TWO},
     .requests = 2,
     .formats = "SS",
     .calls = "bad_reply truncated: 200 bad_reply | ok: 200 ok",
     .wait0_ms = -1,
     .repair = {NOT_USABLE "the reply was cut off at max_tokens "
			   "(finish_reason \"length\", 50 completion "
			   "tokens): the JSON value at offset 0 is cut off "
			   "(%s bytes, brackets, a string or a "
			   "comment still open)\n\n"
			   "Send 2 corrected or new"},
     .verdicts = "ok@1 ok@1",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    {.name = "an empty reply (content \"\")",
     .k = 2,
     .script = {SAYS(C_EMPTY), TWO},
     .requests = 2,
     .formats = "SS",
     .calls = "bad_reply empty: 200 bad_reply | ok: 200 ok",
     .wait0_ms = -1,
     .repair = {NOT_USABLE "the reply is empty\n\nSend 2 corrected or new"},
     .verdicts = "ok@1 ok@1",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    {.name = "an empty reply (no body)",
     .k = 2,
     .script = {SAYS(C_RAW) /* body NULL: none */, TWO},
     .requests = 2,
     .formats = "SS",
     .calls = "bad_reply not_json: 200 bad_reply | ok: 200 ok",
     .wait0_ms = -1,
     .repair = {NOT_USABLE "the reply body is not a JSON object: ",
		"\n\nSend 2 corrected or new"},
     .verdicts = "ok@1 ok@1",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    {.name = "429 then success",
     .k = 2,
     .script = {{429, C_RAW, "{\"error\":\"slow down\"}", 0, "Retry-After: 1"},
		GOOD},
     .requests = 2,
     .formats = "SS",
     .calls = "ok: 429 http_error, 200 ok",
     .wait0_ms = 40, /* Retry-After 1 s, capped by retry_after_max_ms */
     .verdicts = "ok@0 ok@0",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    {.name = "500s then success",
     .k = 2,
     .script = {DOWN, DOWN, GOOD},
     .requests = 3,
     .formats = "SSS",
     .calls = "ok: 500 http_error, 500 http_error, 200 ok",
     .wait0_ms = -1,
     .verdicts = "ok@0 ok@0",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    {.name = "500s throughout",
     .k = 2,
     .script = {DOWN},
     .requests = 3,
     .formats = "SSS",
     .calls = "http_error: 500 http_error, 500 http_error, 500 http_error",
     .wait0_ms = -1,
     .verdicts = "",
     .status = SEARCH_BATCH_LLM_UNREACHABLE,
     .note = {"LLM: HTTP 500 server error: HTTP 500 from http://127.0.0.1:",
	      "/v1/chat/completions: upstream down (after 3 attempts)"}},
    {.name = "a hang past the timeout, then success",
     .k = 2,
     .timeout_ms = 300,
     .script = {HANG, GOOD},
     .requests = 2,
     .formats = "SS",
     .calls = "ok: 0 timeout, 200 ok",
     .wait0_ms = -1,
     .verdicts = "ok@0 ok@0",
     .status = SEARCH_BATCH_OK,
     .accepted = 2,
     .max_s = 2.5}, /* less than one 5 s hang */
    {.name = "hangs past the timeout throughout",
     .k = 2,
     .attempts = 2,
     .timeout_ms = 300,
     .script = {HANG},
     .requests = 2,
     .formats = "SS",
     .calls = "timeout: 0 timeout, 0 timeout",
     .wait0_ms = -1,
     .verdicts = "",
     .status = SEARCH_BATCH_LLM_UNREACHABLE,
     .note = {"LLM: no reply from http://127.0.0.1:", "within 300 ms"},
     .max_s = 2.5},
    {.name = "a 400 refusing response_format",
     .k = 2,
     .script = {NO_FORMAT, GOOD},
     .requests = 2,
     .formats = "SO",
     .calls = "ok: 400 refused_format, 200 ok",
     .wait0_ms = 0, /* a fallback is not a retry: no wait */
     .verdicts = "ok@0 ok@0",
     .status = SEARCH_BATCH_OK,
     .accepted = 2},
    /* no repair: a repair would carry the same schema down the same
     * ladder and be refused again */
    {.name = "a 400 refusing response_format at the floor",
     .k = 2,
     .floor_object = 1,
     .script = {NO_FORMAT},
     .requests = 2,
     .formats = "SO",
     .calls = "refused_format: 400 refused_format, 400 refused_format",
     .wait0_ms = -1,
     .verdicts = "",
     .status = SEARCH_BATCH_LLM_UNREACHABLE,
     .note = {"LLM: the server refuses every response_format lmnas may "
	      "send: http://127.0.0.1:",
	      "refused response_format json_object (HTTP 400) and no weaker "
	      "format is allowed: response_format json_schema is not "
	      "supported"}},
};

#define NROWS (sizeof rows / sizeof rows[0])

/* ---- fixtures --------------------------------------------------------------
 */

static struct fake_llm *fake;

static struct {
	struct search_spec spec;
	struct search_member a[2], b[2], z;
	char *content[C_COUNT];
	char detail[C_COUNT][SEARCH_REASON_MAX]; /* runtime parts of texts */
	char hash[4][65];			 /* A0, A1, B0, B1 */
	struct search_seen known;		 /* A1 as candidate 17 */
} fx;

/* Over the MACs limit by at least 1%, within the others. */
static int over_macs_only(const struct search_member *m, const void *ctx)
{
	const struct search_limits *l = ctx;

	return m->pt.macs > l->max_macs * 1.01 && m->pt.sram <= l->max_sram &&
	       m->pt.flash <= l->max_flash;
}

static void set_string(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, json_string(v));
}

/* {"candidates": [{"rationale": "r<i>", "arch": ...}]} of n members; when
 * edit is not NULL it changes the last one's JSON. malloc'd, or NULL. */
static char *reply_of(const struct search_member *const *m, int n,
		      void (*edit)(json_t *arch))
{
	json_t *list = json_array(), *root;
	char *text;

	for (int i = 0; i < n; i++) {
		json_t *arch = arch_to_json(&m[i]->arch);
		char why[16];

		if (!arch)
			break;
		if (edit && i == n - 1)
			edit(arch);
		snprintf(why, sizeof why, "r%d", i);
		json_array_append_new(list, json_pack("{s:s,s:o}", "rationale",
						      why, "arch", arch));
	}
	root = json_pack("{s:o}", "candidates", list);
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return text;
}

static void wrong_types(json_t *arch)
{
	set_string(json_object_get(arch, "input"), "resolution", "96");
	set_string(json_array_get(json_object_get(arch, "stages"), 0), "kernel",
		   "3");
}

static void kernel_nine(json_t *arch)
{
	json_object_set_new(json_array_get(json_object_get(arch, "stages"), 0),
			    "kernel", json_integer(9));
}

static char *around(const char *fmt, const char *good)
{
	size_t n = strlen(fmt) + strlen(good) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, fmt, good);
	return s;
}

/* The expected reason of Z, written here from its cost. */
static void infeasible_reason(char *out, size_t outlen)
{
	double lim = (double)fx.spec.constraints.max_macs;
	char vs[48], ls[48];

	search_format_macs(fx.z.pt.macs, vs, sizeof vs);
	search_format_macs(lim, ls, sizeof ls);
	snprintf(out, outlen, "max_macs: %s exceeds the limit of %s by %.1f%%",
		 vs, ls, (fx.z.pt.macs - lim) / lim * 100.0);
}

static int build_contents(void)
{
	const struct search_member *a0 = &fx.a[0], *a1 = &fx.a[1];
	const struct search_member *good[] = {a0, a1}, *inf[] = {a0, &fx.z},
				   *dup[] = {a0, a0, a1},
				   *two[] = {&fx.b[0], &fx.b[1]};
	char **c = fx.content;
	size_t half;

	c[C_GOOD] = reply_of(good, 2, NULL);
	c[C_WRONG_TYPES] = reply_of(good, 2, wrong_types);
	c[C_OUTSIDE] = reply_of(good, 2, kernel_nine);
	c[C_INFEASIBLE] = reply_of(inf, 2, NULL);
	c[C_DUPLICATES] = reply_of(dup, 3, NULL);
	c[C_ONE] = reply_of(two, 1, NULL);
	c[C_TWO] = reply_of(two, 2, NULL);
	if (!c[C_GOOD])
		return -1;
	c[C_FENCED] = around("Here you go:\n```json\n%s\n```\nEach fits the "
			     "limits.",
			     c[C_GOOD]);
	c[C_PROSE] = around("Sure! Based on the limits I suggest %s Let me "
			    "know how they train.",
			    c[C_GOOD]);
	half = strlen(c[C_GOOD]) / 2;
	c[C_TRUNCATED] = strndup(c[C_GOOD], half);
	c[C_EMPTY] = strdup("");
	for (int i = C_GOOD; i < C_COUNT; i++)
		if (!c[i])
			return -1;
	snprintf(fx.detail[C_TRUNCATED], sizeof fx.detail[0], "%zu", half);
	infeasible_reason(fx.detail[C_INFEASIBLE], sizeof fx.detail[0]);
	return 0;
}

static int group_setup(void **state)
{
	struct search_limits lim;
	struct core_rng rng;

	search_seen_init(&fx.known);
	if (searchtest_spec("", &fx.spec))
		return -1;
	search_spec_limits(&fx.spec, &lim);
	core_rng_seed(&rng, 1);
	for (int i = 0; i < 2; i++)
		if (searchtest_random_member(&fx.spec, &rng, i, 0, &fx.a[i]) ||
		    searchtest_random_member(&fx.spec, &rng, 2 + i, 0,
					     &fx.b[i]))
			return -1;
	for (int i = 0; i < 4; i++)
		if (arch_hash(i < 2 ? &fx.a[i].arch : &fx.b[i - 2].arch,
			      fx.hash[i]))
			return -1;
	if (searchtest_random_where(&fx.spec, &rng, 4, 0, over_macs_only, &lim,
				    &fx.z) ||
	    search_seen_add(&fx.known, fx.hash[1], 17) || build_contents())
		return -1;
	return fake_llm_start(&fake);
}

static int group_teardown(void **state)
{
	fake_llm_stop(fake);
	for (int i = 0; i < C_COUNT; i++)
		free(fx.content[i]);
	search_seen_free(&fx.known);
	return 0;
}

/* ---- one row ---------------------------------------------------------------
 */

static void script_row(const struct row *r)
{
	struct fake_llm_reply rep[STEPS_MAX];
	char *bodies[STEPS_MAX] = {0};
	size_t n = 0;

	for (; n < STEPS_MAX && r->script[n].status; n++) {
		const struct step *s = &r->script[n];

		rep[n] = (struct fake_llm_reply){s->status, s->body,
						 s->delay_ms, s->headers};
		if (s->content == C_RAW)
			continue;
		bodies[n] = fake_llm_chat_body(
		    fx.content[s->content],
		    s->content == C_TRUNCATED ? "length" : "stop",
		    FAKE_LLM_TOKENS_AUTO, 50);
		assert_non_null(bodies[n]);
		rep[n].body = bodies[n];
	}
	assert_int_equal(fake_llm_script(fake, rep, n), 0);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
}

static struct llm_client *row_client(const struct row *r)
{
	struct llm_settings ls;
	struct llm_client *c;

	searchtest_llm_settings(&ls, fake_llm_url(fake),
				r->attempts ? r->attempts : 3);
	if (r->timeout_ms)
		ls.timeout_ms = r->timeout_ms;
	ls.retry_after_max_ms = 40;
	ls.format_floor =
	    r->floor_object ? LLM_FORMAT_JSON_OBJECT : LLM_FORMAT_NONE;
	c = llmtest_client(&ls);
	assert_non_null(c);
	return c;
}

static void append(char *out, size_t outlen, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + used, outlen - used, fmt, ap);
	va_end(ap);
}

/* What the server received: one letter per request's response_format. */
static void check_formats(const struct row *r)
{
	char got[16] = "", f[32];

	for (size_t i = 0; i < fake_llm_request_count(fake); i++) {
		assert_int_equal(fake_llm_request_format(fake, i, f, sizeof f),
				 0);
		append(got, sizeof got, "%c",
		       strcmp(f, "json_schema") == 0   ? 'S'
		       : strcmp(f, "json_object") == 0 ? 'O'
						       : 'N');
	}
	assert_string_equal(got, r->formats);
}

/* The calls as recorded, each attempt with its status and outcome; every
 * request of a call sent the messages the record keeps. */
static void check_calls(const struct row *r, const struct search_batch *b)
{
	char got[512] = "";
	size_t req = 0;

	for (int i = 0; i < b->ncalls; i++) {
		const struct llm_record *rec = &b->calls[i].rec;
		json_error_t jerr;
		json_t *kept = json_loads(rec->messages_json, 0, &jerr);

		assert_non_null(kept);
		assert_int_equal(b->calls[i].attempt, i);
		append(got, sizeof got, "%s%s", i ? " | " : "",
		       llm_outcome_name(rec->outcome));
		if (rec->outcome == LLM_OUTCOME_BAD_REPLY)
			append(got, sizeof got, " %s",
			       llm_reply_error_name(rec->reply_error));
		for (int a = 0; a < rec->attempts; a++, req++) {
			json_t *body = searchtest_request_body(fake, req);

			append(got, sizeof got, "%s %ld %s", a ? "," : ":",
			       rec->attempt[a].http_status,
			       llm_outcome_name(rec->attempt[a].outcome));
			assert_non_null(body);
			assert_true(json_equal(
			    json_object_get(body, "messages"), kept));
			json_decref(body);
		}
		json_decref(kept);
	}
	assert_string_equal(got, r->calls);
	assert_int_equal(req, r->requests);
	if (r->wait0_ms >= 0)
		assert_int_equal(b->calls[0].rec.attempt[0].wait_ms,
				 r->wait0_ms);
}

/* What went back to the LLM after the first call: the same prompt, the
 * reply echoed (when it had content), then the repair listing every
 * proposal rejected in that reply; without an echo, the user message and
 * the repair in one user turn (roles always alternate). */
static void check_repair(const struct row *r, const struct search_batch *b)
{
	const struct llm_record *first = &b->calls[0].rec;
	json_t *body, *prompt;
	const char *role, *repair;
	char want[2 * SEARCH_REASON_MAX];
	size_t at = 2;

	if (!r->repair[0]) {
		assert_int_equal(b->ncalls, 1);
		prompt = searchtest_request_body(fake, 0);
		assert_null(searchtest_message(prompt, 2, NULL));
		json_decref(prompt);
		return;
	}
	assert_true(b->ncalls >= 2);
	prompt = searchtest_request_body(fake, 0);
	body = searchtest_request_body(fake, (size_t)first->attempts);
	assert_non_null(body);
	assert_string_equal(searchtest_message(body, 0, NULL),
			    searchtest_message(prompt, 0, NULL));
	if (first->content && *first->content) {
		assert_string_equal(searchtest_message(body, 1, NULL),
				    searchtest_message(prompt, 1, NULL));
		assert_string_equal(searchtest_message(body, at++, &role),
				    first->content);
		assert_string_equal(role, "assistant");
		repair = searchtest_message(body, at, &role);
	} else {
		const char *user = searchtest_message(prompt, 1, NULL);
		/* one user turn: the user message, a blank line, the repair */
		at = 1;
		repair = searchtest_message(body, at, &role);
		assert_non_null(repair);
		assert_memory_equal(repair, user, strlen(user));
		assert_memory_equal(repair + strlen(user), "\n\n", 2);
		repair += strlen(user) + 2;
	}
	assert_non_null(repair);
	assert_string_equal(role, "user");
	assert_null(searchtest_message(body, at + 1, NULL));
	for (int i = 0; i < CHECKS_MAX && r->repair[i]; i++) {
		snprintf(want, sizeof want, r->repair[i],
			 fx.detail[r->script[0].content]);
		if (!strstr(repair, want))
			fail_msg("repair lacks \"%s\":\n%s", want, repair);
	}
	for (int i = 0; i < b->props.n; i++) {
		const struct search_proposal *q = &b->props.v[i];

		if (q->attempt != 0 || q->verdict == SEARCH_VERDICT_OK)
			continue;
		snprintf(want, sizeof want, "- candidates[%d] (%s): %s",
			 q->index, search_verdict_name(q->verdict), q->reason);
		assert_non_null(strstr(repair, want));
	}
	json_decref(body);
	json_decref(prompt);
}

/* The proposals as recorded; accepted ones are sound and among the
 * fixture's feasible members. */
static void check_proposals(const struct row *r, const struct search_batch *b)
{
	char got[256] = "", why[256];

	for (int i = 0; i < b->props.n; i++) {
		const struct search_proposal *q = &b->props.v[i];
		int ours = 0;

		append(got, sizeof got, "%s%s@%d", i ? " " : "",
		       search_verdict_name(q->verdict), q->attempt);
		assert_int_equal(q->source, SEARCH_SOURCE_LLM);
		if (q->verdict != SEARCH_VERDICT_OK)
			continue;
		if (searchtest_proposal_ok(&fx.spec, q, why, sizeof why))
			fail_msg("accepted but %s", why);
		for (int j = 0; j < 4; j++)
			ours += strcmp(q->hash, fx.hash[j]) == 0;
		assert_int_equal(ours, 1);
	}
	assert_string_equal(got, r->verdicts);
}

static void reply_kind(void **state)
{
	const struct row *r = *state;
	struct llm_client *c = row_client(r);
	struct search_proposer *p = searchtest_llm_proposer(&fx.spec, c);
	struct search_propose_in in = {0, r->k, r->known ? &fx.known : NULL,
				       NULL};
	struct search_batch b;
	char err[CORE_ERR_LEN];
	double t0, took;

	assert_non_null(p);
	script_row(r);
	t0 = core_now_seconds();
	assert_int_equal(search_proposer_propose(p, &in, &b, err, sizeof err),
			 CORE_OK);
	took = core_now_seconds() - t0;
	print_message("# %-44s %zu request(s), %d call(s), %.3f s\n", r->name,
		      fake_llm_request_count(fake), b.ncalls, took);
	assert_true(took < (r->max_s > 0 ? r->max_s : 5.0));
	/* what was retried */
	assert_int_equal(fake_llm_request_count(fake), r->requests);
	check_formats(r);
	check_calls(r, &b);
	/* what went back */
	check_repair(r, &b);
	/* what was recorded */
	check_proposals(r, &b);
	assert_int_equal(b.status, r->status);
	assert_int_equal(b.naccepted, r->accepted);
	assert_int_equal(b.consecutive_failures, r->accepted == 0);
	assert_int_equal(b.give_up, 0);
	if (!r->note[0])
		assert_string_equal(b.note, "");
	for (int i = 0; i < 2 && r->note[i]; i++)
		if (!strstr(b.note, r->note[i]))
			fail_msg("note lacks \"%s\": %s", r->note[i], b.note);
	search_batch_free(&b);
	search_proposer_close(p);
	llm_client_close(c);
}

int main(void)
{
	struct CMUnitTest tests[NROWS];

	for (size_t i = 0; i < NROWS; i++)
		tests[i] = (struct CMUnitTest){rows[i].name, reply_kind, NULL,
					       NULL, (void *)&rows[i]};
	if (getenv("TEST_CASE"))
		cmocka_set_test_filter(getenv("TEST_CASE"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
