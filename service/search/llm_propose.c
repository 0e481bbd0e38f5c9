/* SPDX-License-Identifier: Apache-2.0 */
/* llm_propose.c - the LLM proposer: prompt, call, parse and check the
 * reply, repair what was rejected, and say when the runner should fall
 * back to evolution. */
#include "search_internal.h"

#include <stdio.h>
#include <string.h>

struct turn {
	struct llm_message msgs[4];
	size_t n;
	char *merged; /* owned: the user message and the repair in one */
};

/* The repair turn, with roles that alternate as strict chat templates
 * (Mistral's, Gemma's) demand: system, user, assistant (the echo of the
 * previous reply), user (the repair) when the echo fits in the budget;
 * otherwise system and one user turn holding the user message and the
 * repair, never two user turns in a row. CORE_ERR_NOMEM. */
static enum core_status repair_turn(struct turn *t,
				    const struct search_prompt *pr,
				    const char *content, const char *repair,
				    long budget)
{
	long need = pr->tokens + search_tokens_estimate(strlen(repair));
	struct core_buf b;

	core_free(t->merged);
	t->merged = NULL;
	t->msgs[0] = (struct llm_message){"system", pr->system};
	t->n = 1;
	if (content && *content &&
	    need + search_tokens_estimate(strlen(content)) <= budget) {
		t->msgs[t->n++] = (struct llm_message){"user", pr->user};
		t->msgs[t->n++] = (struct llm_message){"assistant", content};
		t->msgs[t->n++] = (struct llm_message){"user", repair};
		return CORE_OK;
	}
	core_buf_init(&b, pr->user_len + strlen(repair) + 64);
	if (core_buf_printf(&b, "%s\n\n%s", pr->user, repair))
		return CORE_ERR_NOMEM;
	t->merged = core_buf_steal(&b, NULL);
	t->msgs[t->n++] = (struct llm_message){"user", t->merged};
	return CORE_OK;
}

/* What happened to a call, in words for the job's events and the
 * terminal ("LLM: HTTP 401 unauthorized (check api_key_env)"). */
void search_llm_call_describe(const struct llm_record *rec, char *out,
			      size_t outlen)
{
	const char *what = NULL;
	long st = rec->http_status;

	switch (rec->outcome) {
	case LLM_OUTCOME_HTTP_ERROR:
		what = st == 401   ? "unauthorized (check api_key_env)"
		       : st == 403 ? "forbidden (check api_key_env and the "
				     "model's access)"
		       : st == 404 ? "not found (check base_url and model)"
		       : st == 408 ? "request timeout"
		       : st == 413 ? "request too large"
		       : st == 429 ? "rate limited"
		       : st >= 500 ? "server error"
				   : "client error";
		core_errf(out, outlen, "LLM: HTTP %ld %s: %s", st, what,
			  rec->error);
		break;
	case LLM_OUTCOME_UNREACHABLE:
	case LLM_OUTCOME_TIMEOUT:
		core_errf(out, outlen, "LLM: %s", rec->error);
		break;
	case LLM_OUTCOME_REFUSED_FORMAT:
		core_errf(out, outlen,
			  "LLM: the server refuses every response_format "
			  "lmnas may send: %s",
			  rec->error);
		break;
	case LLM_OUTCOME_CONTEXT:
		core_errf(out, outlen,
			  "LLM: the prompt does not fit the server's context: "
			  "%s",
			  rec->error);
		break;
	case LLM_OUTCOME_BAD_REPLY:
		core_errf(out, outlen, "LLM: unusable reply (%s): %s",
			  llm_reply_error_name(rec->reply_error), rec->error);
		break;
	case LLM_OUTCOME_CANCELLED:
		core_errf(out, outlen, "LLM: cancelled");
		break;
	case LLM_OUTCOME_OK: core_errf(out, outlen, "LLM: ok"); break;
	case LLM_OUTCOME_INTERNAL:
		core_errf(out, outlen, "LLM: internal error: %s", rec->error);
		break;
	}
	core_utf8_copy(out, outlen, out);
}

/* The prompt budget that fits a server context of ctx tokens: the reply's
 * room (max_tokens, or 1024 when the server chooses) left out, and a
 * quarter kept back because bytes / 4 under-counts real tokens (prose and
 * JSON run 3..4 bytes a token). 0 when none fits the 1024 minimum. */
static long fitting_budget(const struct search_spec *spec, long ctx)
{
	long reply = spec->llm.max_tokens > 0 ? spec->llm.max_tokens : 1024;
	long b = (ctx - reply) * 3 / 4;

	return ctx > 0 && b >= 1024 ? b : 0;
}

/* search_prompt_build within budget tokens instead of the spec's (when
 * smaller). */
static enum core_status prompt_build(const struct search_spec *spec,
				     long budget,
				     const struct search_history *h, int k,
				     struct search_prompt *pr, char *err,
				     size_t errlen)
{
	struct search_spec *copy;
	enum core_status rc;

	if (budget <= 0 || budget >= spec->llm.prompt_token_budget)
		return search_prompt_build(spec, h, k, pr, err, errlen);
	copy = core_malloc(sizeof *copy); /* large: not on the stack */
	if (!copy) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	*copy = *spec;
	copy->llm.prompt_token_budget = (int)budget;
	rc = search_prompt_build(copy, h, k, pr, err, errlen);
	core_free(copy);
	return rc;
}

/* After a call that did not fit the server's context (of known size): the
 * prompt rebuilt within a budget that fits, into *pr (the old one freed)
 * and the turn reset to it. Returns 1 when there is one, 0 when even the
 * trimmed prompt cannot fit (the call's failure stands), -1 out of
 * memory. */
static int shorten_to_fit(struct search_proposer *p,
			  const struct search_propose_in *in,
			  const struct llm_record *rec, long *budget,
			  struct search_prompt *pr, struct turn *t)
{
	const struct search_spec *spec = p->cfg.spec;
	long fit = fitting_budget(spec, rec->context_tokens);
	struct search_prompt shorter;
	char why[CORE_ERR_LEN];
	enum core_status rc;

	if (!fit || fit >= *budget)
		return 0;
	rc = prompt_build(spec, fit, in->history, in->k, &shorter, why,
			  sizeof why);
	if (rc == CORE_ERR_NOMEM)
		return -1;
	if (rc)
		return 0;
	LOG_WARN("llm: the prompt did not fit the server's context of %ld "
		 "tokens; sending it again within a budget of %ld tokens "
		 "(llm.prompt_token_budget is %d)",
		 rec->context_tokens, fit, spec->llm.prompt_token_budget);
	search_prompt_free(pr);
	*pr = shorter;
	*budget = fit;
	p->budget_cap = fit; /* and for the rest of the job */
	core_free(t->merged);
	t->merged = NULL;
	t->msgs[0] = (struct llm_message){"system", pr->system};
	t->msgs[1] = (struct llm_message){"user", pr->user};
	t->n = 2;
	return 1;
}

/* The outcome of one call, in the batch's terms. */
enum call_result { CALL_ANSWERED = 0, CALL_UNREACHABLE, CALL_BAD_REPLY };

static enum core_status llm_propose(struct search_proposer *p,
				    const struct search_propose_in *in,
				    struct core_rng *rng,
				    struct search_batch *out, char *err,
				    size_t errlen)
{
	const struct search_spec *spec = p->cfg.spec;
	long budget =
	    p->budget_cap > 0 && p->budget_cap < spec->llm.prompt_token_budget
		? p->budget_cap
		: spec->llm.prompt_token_budget;
	size_t repair_max = (size_t)search_prompt_reserve(budget) * 4;
	struct search_prompt pr;
	struct search_seen batch;
	struct turn t = {0};
	char *schema = NULL, *repair = NULL;
	char problem[CORE_ERR_LEN], cerr[CORE_ERR_LEN];
	int k = in->k, accepted = 0, unreachable = 0;
	enum core_status rc;

	search_seen_init(&batch);
	rc = prompt_build(spec, budget, in->history, k, &pr, err, errlen);
	if (rc)
		return rc;
	rc = search_reply_schema(spec, k, &schema, NULL, err, errlen);
	if (rc)
		goto out;
	t.msgs[0] = (struct llm_message){"system", pr.system};
	t.msgs[1] = (struct llm_message){"user", pr.user};
	t.n = 2;
	for (int attempt = 0; attempt <= spec->llm.repair_attempts; attempt++) {
		struct search_llm_call *call = &out->calls[out->ncalls];
		struct llm_request req = {t.msgs, t.n, "candidates", schema,
					  p->cfg.cancel};
		int from = out->props.n;
		const char *why = NULL;

		call->attempt = attempt;
		out->ncalls++;
		rc = p->cfg.chat(p->cfg.chat_ctx, &req, &call->rec, cerr,
				 sizeof cerr);
		if (rc == CORE_ERR_CANCELLED || rc == CORE_ERR_NOMEM ||
		    (rc == CORE_ERR_INVALID &&
		     call->rec.outcome == LLM_OUTCOME_INTERNAL)) {
			core_errf(err, errlen, "llm: %s", cerr);
			if (rc == CORE_ERR_INVALID)
				rc = CORE_ERR_INTERNAL; /* our request */
			goto out;
		}
		if (call->rec.outcome == LLM_OUTCOME_CONTEXT &&
		    attempt < spec->llm.repair_attempts) {
			/* a shorter prompt that fits, in place of a repair */
			int s =
			    shorten_to_fit(p, in, &call->rec, &budget, &pr, &t);
			if (s < 0) {
				rc = CORE_ERR_NOMEM;
				core_errf(err, errlen, "out of memory");
				goto out;
			}
			if (s) {
				repair_max =
				    (size_t)search_prompt_reserve(budget) * 4;
				rc = CORE_OK;
				continue;
			}
		}
		if (rc == CORE_ERR_UNAVAILABLE || rc == CORE_ERR_IO ||
		    call->rec.outcome == LLM_OUTCOME_REFUSED_FORMAT ||
		    call->rec.outcome == LLM_OUTCOME_CONTEXT) {
			/* the client already retried what was transient; a
			 * server that refuses every allowed response_format
			 * refuses a repair too (same schema, same ladder),
			 * a repair is longer than a prompt that did not fit,
			 * and the model can do nothing about either */
			unreachable = 1;
			search_llm_call_describe(&call->rec, out->note,
						 sizeof out->note);
			rc = CORE_OK;
			break;
		}
		if (rc) { /* bad_reply: ask again */
			core_errf(problem, sizeof problem,
				  "the reply was not usable (%s): %s",
				  llm_outcome_name(call->rec.outcome), cerr);
			/* the cut may split a character: the repair message
			 * must stay valid UTF-8 (jansson refuses it else) */
			core_utf8_copy(problem, sizeof problem, problem);
			why = problem;
			rc = CORE_OK;
		} else {
			rc = search_parse_reply(
			    spec, in->known, &batch, call->rec.json,
			    call->rec.json_len, k - accepted, &out->props,
			    problem, sizeof problem);
			if (rc == CORE_ERR_NOMEM) {
				core_errf(err, errlen, "%s", problem);
				goto out;
			}
			if (rc)
				why = problem;
			rc = CORE_OK;
			for (int i = from; i < out->props.n; i++) {
				out->props.v[i].attempt = attempt;
				accepted += out->props.v[i].verdict ==
					    SEARCH_VERDICT_OK;
			}
		}
		if (accepted >= k || attempt == spec->llm.repair_attempts) {
			if (why || accepted < k)
				core_errf(out->note, sizeof out->note,
					  "LLM: %d of %d candidates after %d "
					  "call(s)%s%s",
					  accepted, k, out->ncalls,
					  why ? "; last reply: " : "",
					  why ? why : "");
			core_utf8_copy(out->note, sizeof out->note, out->note);
			break;
		}
		core_free(repair);
		repair = NULL;
		rc = search_prompt_repair(spec, why, &out->props, from,
					  accepted, k - accepted, repair_max,
					  &repair, NULL, err, errlen);
		if (rc)
			goto out;
		rc = repair_turn(&t, &pr, call->rec.content, repair, budget);
		if (rc) {
			core_errf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (accepted >= k)
		out->status = SEARCH_BATCH_OK;
	else if (accepted > 0)
		out->status = SEARCH_BATCH_PARTIAL;
	else
		out->status = unreachable ? SEARCH_BATCH_LLM_UNREACHABLE
					  : SEARCH_BATCH_LLM_FAILING;
	if (accepted == 0)
		p->consecutive_failures++;
	else
		p->consecutive_failures = 0;
	out->consecutive_failures = p->consecutive_failures;
	out->give_up = p->consecutive_failures >= SEARCH_LLM_GIVE_UP;
out:
	(void)rng;
	core_free(t.merged);
	core_free(repair);
	core_free(schema);
	search_prompt_free(&pr);
	search_seen_free(&batch);
	return rc;
}

static enum core_status llm_observe(struct search_proposer *p,
				    const struct search_member *m, char *err,
				    size_t errlen)
{
	return CORE_OK; /* the runner's history carries what the LLM sees */
}

static void llm_destroy(struct search_proposer *p)
{
}

const struct search_proposer_ops search_llm_ops = {NULL, llm_propose,
						   llm_observe, llm_destroy};
