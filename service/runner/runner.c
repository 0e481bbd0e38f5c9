/* SPDX-License-Identifier: Apache-2.0 */
/* runner.c - one search job from claim to end: set-up from the spec and
 * what is already stored, the rounds (propose, store, train, front), the
 * final phase, and the end of the lease. */
#include "runner_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- state ---- */

enum core_status job_load(struct job *j, char *err, size_t errlen)
{
	core_free(j->cands);
	j->cands = NULL;
	j->ncands = 0;
	return store_candidates_list(j->p, j->id, &j->cands, &j->ncands, err,
				     errlen);
}

/* ---- set-up ---- */

static enum core_status open_proposers(struct job *j, char *err, size_t errlen)
{
	struct search_proposer_config pc = {
	    &j->spec, SEARCH_PROPOSER_EVOLUTION, NULL, NULL, NULL, NULL};
	enum core_status st = search_proposer_open(&pc, &j->evo, err, errlen);

	if (st)
		return st;
	j->proposer_name = "evolution";
	if (j->spec.proposer == SEARCH_PROPOSER_RANDOM) {
		pc.kind = SEARCH_PROPOSER_RANDOM;
		j->proposer_name = "random";
		return search_proposer_open(&pc, &j->primary, err, errlen);
	}
	if (j->spec.proposer != SEARCH_PROPOSER_LLM)
		return CORE_OK;
	{
		struct llm_settings s;
		const char *key = j->spec.llm.api_key_env[0]
				      ? getenv(j->spec.llm.api_key_env)
				      : NULL;
		search_spec_llm_settings(&j->spec, key, &s);
		st = llm_client_open(&s, &j->llm, err, errlen);
		if (st)
			return st;
	}
	pc.kind = SEARCH_PROPOSER_LLM;
	pc.client = j->llm;
	pc.cancel = &j->halt; /* stop, cancel or a lost lease */
	j->proposer_name = "llm";
	return search_proposer_open(&pc, &j->primary, err, errlen);
}

/* Replays the evaluated candidates, in id order, into the proposers. */
static enum core_status replay_members(struct job *j, char *err, size_t errlen)
{
	struct search_member *m = NULL;
	int n = 0;
	enum core_status st = job_members(j, &m, &n, err, errlen);

	for (int i = 0; !st && i < n; i++) {
		st = search_proposer_observe(j->evo, &m[i], err, errlen);
		if (!st && j->primary)
			st = search_proposer_observe(j->primary, &m[i], err,
						     errlen);
	}
	j->prog.evaluated = n;
	core_free(m);
	return st;
}

static enum core_status rebuild_seen(struct job *j, char *err, size_t errlen)
{
	search_seen_free(&j->seen);
	search_seen_init(&j->seen);
	for (int i = 0; i < j->ncands; i++) {
		const struct store_candidate *c = &j->cands[i];
		enum core_status st;
		if (c->status == STORE_CAND_REJECTED || !c->arch_hash)
			continue;
		st = search_seen_add(&j->seen, c->arch_hash, (long)c->id);
		if (st && st != CORE_ERR_CONFLICT) {
			core_errf(err, errlen, "candidate %lld: bad hash",
				  c->id);
			return st;
		}
	}
	return CORE_OK;
}

/* ---- a round ---- */

static enum store_candidate_source source_of(enum search_source s)
{
	switch (s) {
	case SEARCH_SOURCE_LLM: return STORE_SOURCE_LLM;
	case SEARCH_SOURCE_EVOLUTION: return STORE_SOURCE_EVOLUTION;
	case SEARCH_SOURCE_RANDOM: return STORE_SOURCE_RANDOM;
	case SEARCH_SOURCE_USER: return STORE_SOURCE_USER;
	}
	return STORE_SOURCE_USER;
}

/* A stored proposal, as its followers see it: accepted with its cost, or
 * rejected with why (id 0: stored before a restart, said then). */
static void proposal_event(struct job *j, const struct search_proposal *pr,
			   const struct store_candidate *c, long long id)
{
	int ok = pr->verdict == SEARCH_VERDICT_OK;
	json_t *d;

	if (id == 0)
		return;
	d = json_pack("{sIsisssssssIsIsIsI}", "candidate", (json_int_t)id,
		      "round", c->round, "status", ok ? "proposed" : "rejected",
		      "source", store_candidate_source_name(c->source),
		      "reason", ok ? "" : pr->reason, "macs",
		      (json_int_t)c->macs, "params", (json_int_t)c->params,
		      "flash_bytes", (json_int_t)c->flash_bytes, "sram_bytes",
		      (json_int_t)c->sram_bytes);
	if (ok)
		job_event_data(j, STORE_EVENT_INFO, "candidate", d,
			       "candidate %lld proposed (%s): %.1f M MACs, "
			       "flash %lld B, SRAM %lld B",
			       id, store_candidate_source_name(c->source),
			       (double)c->macs / 1e6, c->flash_bytes,
			       c->sram_bytes);
	else
		job_event_data(j, STORE_EVENT_INFO, "candidate", d,
			       "proposal %lld rejected (%s): %s", id,
			       store_candidate_source_name(c->source),
			       pr->reason);
}

/* Stores a batch (its LLM calls and every proposal, accepted or not) in
 * one transaction, and adds the accepted ones to the known hashes. */
static enum core_status store_proposals(struct job *j, int round,
					const struct search_batch *b, char *err,
					size_t errlen)
{
	struct store_llm_call *calls = NULL;
	struct store_candidate *cands = NULL;
	long long *ids = NULL;
	int ncands = b->props.n;
	enum core_status st = CORE_ERR_NOMEM;

	calls = core_calloc((size_t)b->ncalls + 1, sizeof *calls);
	cands = core_calloc((size_t)ncands + 1, sizeof *cands);
	ids = core_calloc((size_t)ncands + 1, sizeof *ids);
	if (!calls || !cands || !ids) {
		core_errf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < b->ncalls; i++) {
		const struct llm_record *r = &b->calls[i].rec;
		struct store_llm_call *c = &calls[i];
		c->job_id = j->id;
		c->round = round;
		c->attempt = b->calls[i].attempt;
		c->model = j->spec.llm.model;
		c->messages_json = r->messages_json;
		c->reply = r->reply_body;
		c->http_status = (int)r->http_status;
		c->prompt_tokens = r->prompt_tokens;
		c->completion_tokens = r->completion_tokens;
		c->latency_ms = r->latency_ms;
		c->outcome = llm_outcome_name(r->outcome);
		c->error = r->error[0] ? r->error : NULL;
	}
	for (int i = 0; i < ncands; i++) {
		const struct search_proposal *pr = &b->props.v[i];
		int ok = pr->verdict == SEARCH_VERDICT_OK;
		struct store_candidate *c = &cands[i];

		c->job_id = j->id;
		c->round = round;
		c->source = source_of(pr->source);
		c->arch_json = pr->arch_json ? pr->arch_json : "null";
		c->arch_hash = pr->have_arch ? pr->hash : "";
		c->status = ok ? STORE_CAND_PROPOSED : STORE_CAND_REJECTED;
		c->rationale = pr->rationale[0] ? pr->rationale : NULL;
		c->rejection_reason = ok ? NULL : pr->reason;
		c->macs = pr->have_cost ? (long long)pr->cost.macs : -1;
		c->params =
		    pr->have_cost ? (long long)pr->cost.params_deployed : -1;
		c->flash_bytes = pr->have_cost ? (long long)pr->cost.flash : -1;
		c->sram_bytes = pr->have_cost ? (long long)pr->cost.sram : -1;
		c->val_top1 = c->val_top5 = c->val_loss = c->test_top1 = NAN;
	}
	st = store_proposals_insert(j->p, j->rc->worker, calls, b->ncalls,
				    cands, ncands, ids, err, errlen);
	for (int i = 0; !st && i < ncands; i++)
		proposal_event(j, &b->props.v[i], &cands[i], ids[i]);
	for (int i = 0; !st && i < ncands; i++) {
		const struct search_proposal *pr = &b->props.v[i];
		/* ids[i] 0: proposed again after a restart, already stored */
		if (pr->verdict != SEARCH_VERDICT_OK || ids[i] == 0)
			continue;
		if (search_seen_add(&j->seen, pr->hash, (long)ids[i]) ==
		    CORE_ERR_NOMEM) {
			core_errf(err, errlen, "out of memory");
			st = CORE_ERR_NOMEM;
		}
	}
out:
	core_free(calls);
	core_free(cands);
	core_free(ids);
	return st;
}

static enum core_status propose_round(struct job *j, int round, int k,
				      char *err, size_t errlen)
{
	struct search_member *front = NULL, *all = NULL, *best = NULL;
	struct search_history h;
	struct search_propose_in in;
	struct search_batch b;
	int n = 0, nf = 0;
	enum core_status st;

	memset(&b, 0, sizeof b);
	memset(&h, 0, sizeof h);
	st = job_members(j, &all, &n, err, errlen);
	if (st)
		return st;
	front = core_calloc((size_t)(n ? n : 1), sizeof *front);
	if (!front) {
		core_free(all);
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < n; i++) {
		for (int f = 0; f < j->nfront; f++)
			if (j->front[f] == all[i].id)
				front[nf++] = all[i];
		if (!best || all[i].pt.acc > best->pt.acc)
			best = &all[i];
	}
	h.round = round;
	h.evaluated = n;
	h.front = front;
	h.nfront = nf;
	h.best = best;
	h.hv_before = h.hv_after = j->hv;
	in.round = round;
	in.k = k;
	in.known = &j->seen;
	in.history = &h;
	j->prog.phase = "propose";
	job_eta_update(j, 0);
	job_beat(j, 1);

	st = search_proposer_propose(j->primary ? j->primary : j->evo, &in, &b,
				     err, errlen);
	if (!st && job_halted(j)) {
		/* lease lost, cancel or stop during the call: store nothing
		 * of it; a resume proposes the round again */
		core_errf(err, errlen, "round %d: stopped while proposing",
			  round + 1);
		st = CORE_ERR_CANCELLED;
	}
	if (!st && j->primary &&
	    search_proposer_kind(j->primary) == SEARCH_PROPOSER_LLM &&
	    b.status != SEARCH_BATCH_OK) {
		int topup = b.status == SEARCH_BATCH_PARTIAL;
		int give_up = b.give_up;
		st = store_proposals(j, round, &b, err, errlen);
		job_event(j, STORE_EVENT_WARN, "llm_fallback",
			  "round %d: %s; %s with evolution", round + 1, b.note,
			  topup ? "topping up" : "proposing");
		in.k = k - b.naccepted;
		search_batch_free(&b);
		memset(&b, 0, sizeof b);
		if (!st)
			st = search_proposer_propose(j->evo, &in, &b, err,
						     errlen);
		j->proposer_name = topup ? "llm+evolution" : "evolution";
		if (give_up) {
			job_event(
			    j, STORE_EVENT_WARN, "llm_given_up",
			    "the LLM failed %d rounds in a row: evolution "
			    "proposes for the rest of the job",
			    SEARCH_LLM_GIVE_UP);
			search_proposer_close(j->primary);
			j->primary = NULL;
		}
	} else if (j->primary) {
		j->proposer_name =
		    search_proposer_kind_name(search_proposer_kind(j->primary));
	} else {
		j->proposer_name = "evolution";
	}
	if (!st)
		st = store_proposals(j, round, &b, err, errlen);
	if (!st && b.status == SEARCH_BATCH_EXHAUSTED)
		job_event(j, STORE_EVENT_WARN, "exhausted",
			  "round %d: no new candidate could be found (%s)",
			  round + 1, b.note);
	search_batch_free(&b);
	core_free(front);
	core_free(all);
	return st;
}

static int count_status(struct job *j, int round,
			enum store_candidate_status status)
{
	int n = 0;

	for (int i = 0; i < j->ncands; i++)
		if ((round < 0 || j->cands[i].round == round) &&
		    j->cands[i].status == status)
			n++;
	return n;
}

static enum core_status run_round(struct job *j, int round, char *err,
				  size_t errlen)
{
	int accepted = 0, pending, k;
	enum core_status st;

	for (int i = 0; i < j->ncands; i++)
		if (j->cands[i].status != STORE_CAND_REJECTED)
			accepted++;
	pending = count_status(j, round, STORE_CAND_PROPOSED) +
		  count_status(j, round, STORE_CAND_TRAINING);
	if (pending == 0) {
		k = j->spec.llm.candidates_per_round;
		if (k > j->spec.budget.max_candidates - accepted)
			k = j->spec.budget.max_candidates - accepted;
		if (k <= 0)
			return CORE_OK;
		st = propose_round(j, round, k, err, errlen);
		if (!st)
			st = job_load(j, err, errlen);
		if (st)
			return st;
	}
	j->prog.phase = "proxy";
	j->prog.candidates = count_status(j, round, STORE_CAND_PROPOSED) +
			     count_status(j, round, STORE_CAND_TRAINING);
	j->prog.candidate = 0;
	for (int i = 0; i < j->ncands; i++) {
		struct store_candidate c = j->cands[i];
		if (c.round != round || (c.status != STORE_CAND_PROPOSED &&
					 c.status != STORE_CAND_TRAINING))
			continue;
		j->prog.candidate++;
		st =
		    job_train_candidate(j, &c, SEARCH_PHASE_PROXY, err, errlen);
		if (st)
			return st;
		j->prog.evaluated++;
		job_eta_update(j, 0);
	}
	st = job_finish_round(j, round, err, errlen);
	if (st)
		return st;
	/* the new members feed evolution */
	{
		struct search_member *m = NULL;
		int n = 0;
		st = job_members(j, &m, &n, err, errlen);
		for (int i = 0; !st && i < n; i++) {
			if (m[i].round != round)
				continue;
			st =
			    search_proposer_observe(j->evo, &m[i], err, errlen);
			if (!st && j->primary)
				st = search_proposer_observe(j->primary, &m[i],
							     err, errlen);
		}
		core_free(m);
	}
	return st;
}

/* ---- final phase ---- */

static enum core_status store_final_model(struct job *j,
					  const struct store_candidate *c,
					  char *err, size_t errlen)
{
	void *ckpt = NULL, *zip = NULL;
	size_t len = 0, zip_len = 0;
	char *report = NULL;
	long long model_id = 0;
	int done = 0;
	enum core_status st;

	st = store_candidate_load_checkpoint(j->p, c->id, &ckpt, &len, &done,
					     err, errlen);
	if (st)
		return st;
	{
		char why[CORE_ERR_LEN];
		j->prog.phase = "export";
		job_beat(j, 1);
		if (job_export(j, ckpt, len, &zip, &zip_len, &report, why,
			       sizeof why)) {
			job_event(j, STORE_EVENT_WARN, "export_failed",
				  "candidate %lld: int8 export failed: %s",
				  c->id, why);
			zip = NULL;
			zip_len = 0;
		}
	}
	{
		/* the model row and the status final_done in one
		 * transaction: a resume never stores a second model */
		struct store_model m = {j->id, c->id,	ckpt,  len,
					zip,   zip_len, report};
		st = store_model_finish(j->p, j->rc->worker, &m, &model_id, err,
					errlen);
	}
	if (!st)
		job_event(j, STORE_EVENT_INFO, "model",
			  "candidate %lld: model %lld stored (%s)", c->id,
			  model_id, zip ? "with its STM32 project" : "no zip");
	core_free(ckpt);
	core_free(zip);
	core_free(report);
	return st;
}

static int by_accuracy(const void *a, const void *b)
{
	const struct store_candidate *x =
	    *(const struct store_candidate *const *)a;
	const struct store_candidate *y =
	    *(const struct store_candidate *const *)b;

	return (x->val_top1 < y->val_top1) - (x->val_top1 > y->val_top1);
}

/* Fails a job whose final phase produced no model: every top-K candidate's
 * full training failed (diverged, say), so the search handed back nothing. */
static enum core_status check_final_models(struct job *j, const long *ids,
					   int n, char *err, size_t errlen)
{
	int done = 0, failed = 0;
	const char *last = NULL;
	enum core_status st = job_load(j, err, errlen);

	if (st)
		return st;
	for (int i = 0; i < j->ncands; i++) {
		const struct store_candidate *c = &j->cands[i];
		int final = 0;
		for (int k = 0; k < n; k++)
			final |= ids[k] == c->id;
		if (!final)
			continue;
		if (c->status == STORE_CAND_FINAL_DONE) {
			done++;
		} else if (c->status == STORE_CAND_FAILED) {
			failed++;
			last = c->rejection_reason;
		}
	}
	if (done > 0)
		return CORE_OK;
	core_errf(err, errlen,
		  "no model was produced: the final training of %d "
		  "candidate%s failed (last: %s)",
		  failed, failed == 1 ? "" : "s", last ? last : "?");
	return CORE_ERR_INVALID;
}

static enum core_status final_phase(struct job *j, char *err, size_t errlen)
{
	const struct store_candidate **top = NULL;
	long *ids = NULL;
	int n = 0, k = j->spec.budget.final.top_k;
	enum core_status st = job_load(j, err, errlen);

	if (st)
		return st;
	top = core_calloc((size_t)(j->ncands ? j->ncands : 1), sizeof *top);
	if (!top)
		return CORE_ERR_NOMEM;
	/* final candidates: the front members, or those already in the
	 * final phase when resuming */
	for (int i = 0; i < j->ncands; i++) {
		const struct store_candidate *c = &j->cands[i];
		int in_front = 0;
		for (int f = 0; f < j->nfront; f++)
			in_front |= j->front[f] == c->id;
		if (in_front || c->status == STORE_CAND_FINAL_TRAINING ||
		    c->status == STORE_CAND_FINAL_DONE)
			top[n++] = c;
	}
	qsort(top, (size_t)n, sizeof *top, by_accuracy);
	if (n > k)
		n = k;
	ids = core_calloc((size_t)(n ? n : 1), sizeof *ids);
	if (!ids) {
		core_free(top);
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < n; i++)
		ids[i] = (long)top[i]->id;
	j->prog.phase = "final";
	j->prog.candidates = n;
	for (int i = 0; i < n && !st; i++) {
		struct store_candidate c = *top[i];
		j->prog.candidate = i + 1;
		if (c.status == STORE_CAND_FINAL_DONE)
			continue;
		if (c.status != STORE_CAND_FINAL_TRAINING) {
			/* a fresh start: the proxy checkpoint is not reused */
			st = store_candidate_final_start(j->p, j->rc->worker,
							 c.id, err, errlen);
			c.status = STORE_CAND_FINAL_TRAINING;
			if (st)
				break;
		}
		st =
		    job_train_candidate(j, &c, SEARCH_PHASE_FINAL, err, errlen);
		if (!st) {
			struct store_candidate *now = NULL;
			int nn = 0;
			st = store_candidates_list(j->p, j->id, &now, &nn, err,
						   errlen);
			for (int q = 0; !st && q < nn; q++)
				if (now[q].id == c.id &&
				    now[q].status == STORE_CAND_FINAL_TRAINING)
					st = store_final_model(j, &now[q], err,
							       errlen);
			core_free(now);
		}
	}
	core_free(top);
	if (!st && n > 0)
		st = check_final_models(j, ids, n, err, errlen);
	core_free(ids);
	return st;
}

/* ---- the job ---- */

static void job_free(struct job *j)
{
	search_proposer_close(j->primary);
	search_proposer_close(j->evo);
	llm_client_close(j->llm);
	search_seen_free(&j->seen);
	core_free(j->cands);
	core_free(j->front);
	train_data_free(&j->data);
}

/* Fails a job that trained nothing, with what happened to its
 * candidates: a search that produced no network has not succeeded. */
static enum core_status check_trained(struct job *j, char *err, size_t errlen)
{
	int trained = 0, failed = 0, rejected = 0;
	const char *last_failure = NULL, *last_rejection = NULL;

	for (int i = 0; i < j->ncands; i++) {
		const struct store_candidate *c = &j->cands[i];
		switch (c->status) {
		case STORE_CAND_TRAINED:
		case STORE_CAND_FINAL_TRAINING:
		case STORE_CAND_FINAL_DONE: trained++; break;
		case STORE_CAND_FAILED:
			failed++;
			last_failure = c->rejection_reason;
			break;
		case STORE_CAND_REJECTED:
			rejected++;
			last_rejection = c->rejection_reason;
			break;
		default: break;
		}
	}
	if (trained > 0)
		return CORE_OK;
	if (failed > 0)
		core_errf(err, errlen,
			  "no candidate was trained: %d failed (last: %s), %d "
			  "rejected",
			  failed, last_failure ? last_failure : "?", rejected);
	else if (rejected > 0)
		core_errf(err, errlen,
			  "no candidate was trained: all %d proposals were "
			  "rejected (last: %s)",
			  rejected, last_rejection ? last_rejection : "?");
	else
		core_errf(err, errlen,
			  "no candidate was trained: nothing could be proposed "
			  "(is any member of the space within the "
			  "constraints?)");
	return CORE_ERR_INVALID;
}

static enum core_status run(struct job *j, char *err, size_t errlen)
{
	int last = -1;
	enum core_status st;

	st = open_proposers(j, err, errlen);
	if (!st)
		st = job_load(j, err, errlen);
	if (!st)
		st = rebuild_seen(j, err, errlen);
	if (!st)
		st = replay_members(j, err, errlen);
	if (!st)
		st = store_round_last_finished(j->p, j->id, &last, err, errlen);
	if (st)
		return st;
	if (last >= 0) {
		/* the front of the last finished round, as stored: a
		 * finished round is never recomputed */
		st = job_load_round(j, last, err, errlen);
		if (st)
			return st;
		job_event(j, STORE_EVENT_INFO, "resume",
			  "resuming after round %d", last + 1);
	}
	j->prog.rounds = j->spec.budget.rounds;
	for (int r = last + 1; r < j->spec.budget.rounds; r++) {
		j->prog.round = r;
		st = run_round(j, r, err, errlen);
		if (st)
			return st;
		if (job_beat(j, 1))
			return CORE_ERR_CANCELLED;
	}
	st = job_load(j, err, errlen);
	if (!st)
		st = check_trained(j, err, errlen);
	if (!st)
		st = final_phase(j, err, errlen);
	if (!st) {
		j->prog.phase = "done";
		job_eta_update(j, 0);
		job_beat(j, 1);
	}
	return st;
}

/* The end of a run that did not stop for the process or a lost lease:
 * records it in the queue. A database outage leaves the lease to expire
 * (another attempt resumes); anything else ends the job. */
static enum core_status finish(struct job *j, enum core_status st,
			       const char *why, char *err, size_t errlen)
{
	enum queue_job_status end = QUEUE_JOB_SUCCEEDED;
	char reason[CORE_ERR_LEN];

	if (st == CORE_ERR_DB || st == CORE_ERR_UNAVAILABLE) {
		core_errf(err, errlen, "job %lld: %s", j->id, why);
		return st;
	}
	if (job_cancel_requested(j))
		end = QUEUE_JOB_CANCELLED;
	else if (st)
		end = QUEUE_JOB_FAILED;
	/* a data error (text PostgreSQL refused, a bad stored value) fails
	 * the job with its reason instead of leaving it running to fail the
	 * same way on every resume */
	core_utf8_copy(reason, sizeof reason, why);
	job_event(
	    j, end == QUEUE_JOB_FAILED ? STORE_EVENT_ERROR : STORE_EVENT_INFO,
	    "end", "job %lld %s%s%s", j->id, queue_job_status_name(end),
	    end == QUEUE_JOB_FAILED ? ": " : "",
	    end == QUEUE_JOB_FAILED ? reason : "");
	return queue_job_finish(j->p, j->id, j->rc->worker, end,
				end == QUEUE_JOB_FAILED ? reason : NULL, err,
				errlen);
}

/* The process is stopping (SIGTERM/SIGINT): the job goes back to the
 * queue at once, so another worker resumes it from its last epoch
 * checkpoint without waiting for the lease to expire. A release that
 * fails leaves the lease to expire: the job is resumed all the same,
 * later. */
static enum core_status hand_back(struct job *j, char *err, size_t errlen)
{
	char why[CORE_ERR_LEN];
	enum core_status st;

	job_event(j, STORE_EVENT_INFO, "handed_back",
		  "job %lld handed back by %s (process stopping); it resumes "
		  "on the next worker that claims it",
		  j->id, j->rc->worker);
	st = queue_job_release(j->p, j->id, j->rc->worker, why, sizeof why);
	if (st)
		LOG_WARN("hand back: %s; the lease expires instead", why);
	core_errf(err, errlen,
		  "job %lld: stopped and handed back; it resumes when "
		  "claimed again",
		  j->id);
	return CORE_ERR_CANCELLED;
}

/* Threads per training x workers stay within the cores: the worker's cap
 * wins over the spec (0 there means every core), and the job says so. */
static void cap_threads(struct job *j)
{
	int cap = j->rc->max_threads;

	if (cap <= 0 || (j->spec.threads > 0 && j->spec.threads <= cap))
		return;
	job_event(j, STORE_EVENT_INFO, "threads",
		  "threads: %d asked, %d used (the worker's cap: threads per "
		  "training x workers within the cores)",
		  j->spec.threads, cap);
	j->spec.threads = cap;
}

enum core_status runner_job_run(struct store_pool *p,
				const struct queue_claim *claim,
				const struct runner_config *rc, char *err,
				size_t errlen)
{
	struct job j;
	struct core_field_errors fe;
	char why[CORE_ERR_LEN], ctx[32];
	enum core_status st;

	memset(&j, 0, sizeof j);
	j.p = p;
	j.rc = rc;
	j.id = claim->id;
	j.prog.job_id = claim->id;
	j.prog.phase = "propose";
	j.hv = 0.0;
	why[0] = '\0';
	search_seen_init(&j.seen);
	snprintf(ctx, sizeof ctx, "job-%lld", claim->id);
	core_log_set_context(ctx);
	core_field_errors_clear(&fe);
	if (rc->lease_s < 2) {
		/* renewed every third: shorter would beat all the time */
		core_errf(err, errlen, "lease of %d s: at least 2 s",
			  rc->lease_s);
		st = CORE_ERR_INVALID;
		goto out;
	}
	st = job_lease_start(&j, err, errlen);
	if (st)
		goto out;
	st = search_spec_parse(claim->spec, strlen(claim->spec), &j.spec, &fe);
	if (st) {
		core_field_errors_join(&fe, why, sizeof why);
		job_event(&j, STORE_EVENT_ERROR, "invalid_spec", "job spec: %s",
			  why);
		st = queue_job_finish(p, j.id, rc->worker, QUEUE_JOB_FAILED,
				      why, err, errlen);
		goto out;
	}
	search_spec_limits(&j.spec, &j.lim);
	cap_threads(&j);
	job_eta_init(&j);
	job_event(&j, STORE_EVENT_INFO, "start",
		  "job %lld (%s) started by %s, attempt %d", j.id, j.spec.name,
		  rc->worker, claim->attempts);
	/* what was checked at submit may have changed since (a data set
	 * moved, a file replaced) */
	st = runner_spec_check(&j.spec, why, sizeof why);
	if (!st)
		st = run(&j, why, sizeof why);
	if (st == CORE_ERR_CONFLICT)
		job_lease_mark_lost(&j); /* a write found the lease taken */
	job_lease_stop(&j);
	if (j.lease_lost) {
		core_errf(err, errlen,
			  "job %lld: lease lost: another worker holds it; "
			  "stopped without writing more",
			  j.id);
		st = CORE_ERR_CONFLICT;
		goto out;
	}
	/* a job both cancelled and stopped ends cancelled, and one that
	 * reached its end as the stop came ends as it is: handing either
	 * back would only make the next worker end it */
	if (rc->stop && *rc->stop && st != CORE_OK && !j.cancel_requested) {
		st = hand_back(&j, err, errlen);
		goto out;
	}
	st = finish(&j, st, why, err, errlen);
out:
	job_lease_stop(&j);
	job_free(&j);
	core_log_set_context(NULL);
	return st;
}
