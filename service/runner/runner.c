/* runner.c - one search job from claim to end: set-up from the spec and
 * what is already stored, the rounds (propose, store, train, front), the
 * final phase, and the end of the lease. */
#include "runner_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lease, events, state ---- */

int job_beat(struct job *j, int force)
{
	char err[CORE_ERR_LEN], progress[512];
	double now = core_now_seconds();
	int cancel = 0;
	enum core_status st;

	if (j->rc->stop && *j->rc->stop)
		return 1;
	if (j->rc->progress)
		j->rc->progress(&j->prog, j->rc->ctx);
	if (!force && now - j->last_beat < j->rc->lease_s / 3.0)
		return j->cancel_requested || j->lease_lost;
	snprintf(progress, sizeof progress,
		 "{\"phase\":\"%s\",\"round\":%d,\"rounds\":%d,"
		 "\"candidate_id\":%lld,\"epoch\":%d,\"epochs\":%d,"
		 "\"evaluated\":%d,\"front_size\":%d,\"hypervolume\":%.6f,"
		 "\"eta_s\":%.0f}",
		 j->prog.phase, j->prog.round + 1, j->prog.rounds,
		 j->prog.candidate_id, j->prog.epoch, j->prog.epochs,
		 j->prog.evaluated, j->prog.front_size, j->prog.hypervolume,
		 j->prog.eta_s);
	st = queue_job_heartbeat(j->p, j->id, j->rc->worker, j->rc->lease_s,
				 progress, &cancel, err, sizeof err);
	if (st == CORE_ERR_CONFLICT) {
		LOG_WARN("%s", err);
		j->lease_lost = 1;
	} else if (st) {
		/* a database hiccup: keep working, the lease has slack */
		LOG_WARN("heartbeat: %s", err);
		return 0;
	}
	j->last_beat = now;
	j->cancel_requested = cancel;
	return j->cancel_requested || j->lease_lost;
}

void job_event(struct job *j, const char *level, const char *kind,
	       const char *fmt, ...)
{
	char msg[1024], err[CORE_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (strcmp(level, "error") == 0)
		LOG_ERROR("%s", msg);
	else if (strcmp(level, "warn") == 0)
		LOG_WARN("%s", msg);
	else
		LOG_INFO("%s", msg);
	if (store_event_insert(j->p, j->id, level, kind, msg, NULL, err,
			       sizeof err))
		LOG_WARN("event not stored: %s", err);
}

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
	pc.cancel = j->rc->stop;
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
		if (strcmp(c->status, "rejected") == 0 || !c->arch_hash)
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

static enum core_status store_proposals(struct job *j, int round,
					const struct search_batch *b, char *err,
					size_t errlen)
{
	for (int i = 0; i < b->ncalls; i++) {
		const struct llm_record *r = &b->calls[i].rec;
		struct store_llm_call c = {
		    j->id,
		    round,
		    b->calls[i].attempt,
		    j->spec.llm.model,
		    r->messages_json,
		    r->reply_body,
		    (int)r->http_status,
		    r->prompt_tokens,
		    r->completion_tokens,
		    r->latency_ms,
		    llm_outcome_name(r->outcome),
		    r->error[0] ? r->error : NULL,
		};
		enum core_status st =
		    store_llm_call_insert(j->p, &c, err, errlen);
		if (st)
			return st;
	}
	for (int i = 0; i < b->props.n; i++) {
		const struct search_proposal *pr = &b->props.v[i];
		int ok = pr->verdict == SEARCH_VERDICT_OK;
		struct store_candidate c = {0};
		long long id = 0;
		enum core_status st;

		c.job_id = j->id;
		c.round = round;
		c.source = search_source_name(pr->source);
		c.arch_json = pr->arch_json ? pr->arch_json : "null";
		c.arch_hash = pr->have_arch ? pr->hash : "";
		c.status = ok ? "proposed" : "rejected";
		c.rationale = pr->rationale[0] ? pr->rationale : NULL;
		c.rejection_reason = ok ? NULL : pr->reason;
		c.macs = pr->have_cost ? (long long)pr->cost.macs : -1;
		c.params =
		    pr->have_cost ? (long long)pr->cost.params_deployed : -1;
		c.flash_bytes = pr->have_cost ? (long long)pr->cost.flash : -1;
		c.sram_bytes = pr->have_cost ? (long long)pr->cost.sram : -1;
		c.val_top1 = c.val_top5 = c.val_loss = c.test_top1 = NAN;
		st = store_candidate_insert(j->p, &c, &id, err, errlen);
		if (st == CORE_ERR_CONFLICT && ok) {
			/* proposed again after a restart: already stored */
			continue;
		}
		if (st)
			return st;
		if (ok && search_seen_add(&j->seen, pr->hash, (long)id) ==
			      CORE_ERR_NOMEM) {
			core_errf(err, errlen, "out of memory");
			return CORE_ERR_NOMEM;
		}
	}
	return CORE_OK;
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
	if (!st && j->primary &&
	    search_proposer_kind(j->primary) == SEARCH_PROPOSER_LLM &&
	    b.status != SEARCH_BATCH_OK) {
		int topup = b.status == SEARCH_BATCH_PARTIAL;
		int give_up = b.give_up;
		st = store_proposals(j, round, &b, err, errlen);
		job_event(j, "warn", "llm_fallback",
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
			    j, "warn", "llm_given_up",
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
		job_event(j, "warn", "exhausted",
			  "round %d: no new candidate could be found (%s)",
			  round + 1, b.note);
	search_batch_free(&b);
	core_free(front);
	core_free(all);
	return st;
}

static int count_status(struct job *j, int round, const char *status)
{
	int n = 0;

	for (int i = 0; i < j->ncands; i++)
		if ((round < 0 || j->cands[i].round == round) &&
		    strcmp(j->cands[i].status, status) == 0)
			n++;
	return n;
}

static enum core_status run_round(struct job *j, int round, char *err,
				  size_t errlen)
{
	int accepted = 0, pending, k;
	enum core_status st;

	for (int i = 0; i < j->ncands; i++)
		if (strcmp(j->cands[i].status, "rejected") != 0)
			accepted++;
	pending = count_status(j, round, "proposed") +
		  count_status(j, round, "training");
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
	j->prog.candidates = count_status(j, round, "proposed") +
			     count_status(j, round, "training");
	j->prog.candidate = 0;
	for (int i = 0; i < j->ncands; i++) {
		struct store_candidate c = j->cands[i];
		if (c.round != round || (strcmp(c.status, "proposed") != 0 &&
					 strcmp(c.status, "training") != 0))
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
	if (j->rc->export_model) {
		char why[CORE_ERR_LEN];
		j->prog.phase = "export";
		job_beat(j, 1);
		if (j->rc->export_model(ckpt, len, j->spec.dataset_path,
					(int)j->spec.dataset_kind, &zip,
					&zip_len, &report, j->rc->ctx, why,
					sizeof why)) {
			job_event(j, "warn", "export_failed",
				  "candidate %lld: int8 export failed: %s",
				  c->id, why);
			zip = NULL;
			zip_len = 0;
		}
	}
	st = store_model_insert(j->p, j->id, c->id, ckpt, len, zip, zip_len,
				report, &model_id, err, errlen);
	if (!st)
		st = store_candidate_set_status(j->p, c->id, "final_done", NULL,
						err, errlen);
	if (!st)
		job_event(j, "info", "model",
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

static enum core_status final_phase(struct job *j, char *err, size_t errlen)
{
	const struct store_candidate **top = NULL;
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
		if (in_front || strcmp(c->status, "final_training") == 0 ||
		    strcmp(c->status, "final_done") == 0)
			top[n++] = c;
	}
	qsort(top, (size_t)n, sizeof *top, by_accuracy);
	if (n > k)
		n = k;
	j->prog.phase = "final";
	j->prog.candidates = n;
	for (int i = 0; i < n && !st; i++) {
		struct store_candidate c = *top[i];
		j->prog.candidate = i + 1;
		if (strcmp(c.status, "final_done") == 0)
			continue;
		if (strcmp(c.status, "final_training") != 0) {
			/* a fresh start: the proxy checkpoint is not reused */
			st = store_candidate_save_checkpoint(j->p, c.id, NULL,
							     0, 0, err, errlen);
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
				    strcmp(now[q].status, "final_training") ==
					0)
					st = store_final_model(j, &now[q], err,
							       errlen);
			core_free(now);
		}
	}
	core_free(top);
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
		/* the front of the last finished round */
		st = job_finish_round(j, last, err, errlen);
		if (st)
			return st;
		job_event(j, "info", "resume", "resuming after round %d",
			  last + 1);
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
	st = final_phase(j, err, errlen);
	if (!st) {
		j->prog.phase = "done";
		job_eta_update(j, 0);
		job_beat(j, 1);
	}
	return st;
}

enum core_status runner_job_run(struct store_pool *p,
				const struct queue_claim *claim,
				const struct runner_config *rc, char *err,
				size_t errlen)
{
	struct job j;
	struct core_field_errors fe;
	char why[CORE_ERR_LEN], ctx[32];
	enum core_status st, fst;
	enum queue_job_status end = QUEUE_JOB_SUCCEEDED;

	memset(&j, 0, sizeof j);
	j.p = p;
	j.rc = rc;
	j.id = claim->id;
	j.prog.job_id = claim->id;
	j.prog.phase = "propose";
	j.hv = 0.0;
	j.last_beat = core_now_seconds();
	search_seen_init(&j.seen);
	snprintf(ctx, sizeof ctx, "job-%lld", claim->id);
	core_log_set_context(ctx);
	core_field_errors_clear(&fe);
	st = search_spec_parse(claim->spec, strlen(claim->spec), &j.spec, &fe);
	if (st) {
		core_field_errors_join(&fe, why, sizeof why);
		job_event(&j, "error", "invalid_spec", "job spec: %s", why);
		st = queue_job_finish(p, j.id, rc->worker, QUEUE_JOB_FAILED,
				      why, err, errlen);
		goto out;
	}
	search_spec_limits(&j.spec, &j.lim);
	job_eta_init(&j);
	job_event(&j, "info", "start",
		  "job %lld (%s) started by %s, attempt %d", j.id, j.spec.name,
		  rc->worker, claim->attempts);
	st = run(&j, why, sizeof why);
	if (j.lease_lost) {
		core_errf(err, errlen, "job %lld: lease lost", j.id);
		st = CORE_ERR_CONFLICT;
		goto out;
	}
	if (rc->stop && *rc->stop) {
		core_errf(err, errlen,
			  "job %lld: stopped; it resumes when "
			  "claimed again",
			  j.id);
		st = CORE_ERR_CANCELLED;
		goto out;
	}
	if (st == CORE_ERR_DB || st == CORE_ERR_UNAVAILABLE) {
		/* leave the lease to expire: another attempt resumes it */
		core_errf(err, errlen, "job %lld: %s", j.id, why);
		goto out;
	}
	if (j.cancel_requested)
		end = QUEUE_JOB_CANCELLED;
	else if (st)
		end = QUEUE_JOB_FAILED;
	job_event(&j, end == QUEUE_JOB_FAILED ? "error" : "info", "end",
		  "job %lld %s%s%s", j.id, queue_job_status_name(end),
		  end == QUEUE_JOB_FAILED ? ": " : "",
		  end == QUEUE_JOB_FAILED ? why : "");
	fst =
	    queue_job_finish(p, j.id, rc->worker, end,
			     end == QUEUE_JOB_FAILED ? why : NULL, err, errlen);
	st = fst;
out:
	job_free(&j);
	core_log_set_context(NULL);
	return st;
}
