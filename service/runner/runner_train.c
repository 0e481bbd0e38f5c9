/* SPDX-License-Identifier: Apache-2.0 */
/* runner_train.c - training one candidate inside a job: a training session
 * over the job's data set (loaded once per job), resumed from the
 * candidate's stored checkpoint; every epoch stored (metrics and
 * checkpoint), the lease renewed while training, the outcome recorded. */
#include "runner_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct train_ctx {
	struct job *j;
	const struct store_candidate *c;
	enum store_phase phase;
	int stopped;
	enum core_status db_st;
	char db_err[CORE_ERR_LEN];
};

/* One event per stored epoch: what a follower of the job sees live
 * (metrics, speed, the job's time to finish). */
static void epoch_event(struct train_ctx *t, const struct train_progress *p)
{
	struct job *j = t->j;
	const char *phase = store_phase_name(t->phase);
	json_t *d = json_pack(
	    "{sIsssisisososososfsfso}", "candidate", (json_int_t)t->c->id,
	    "phase", phase, "epoch", p->epoch + 1, "epochs", p->epochs,
	    "train_loss", job_json_real(p->loss), "val_top1",
	    job_json_real(p->val.top1), "val_top5", job_json_real(p->val.top5),
	    "val_loss", job_json_real(p->val.loss), "seconds", p->epoch_seconds,
	    "images_per_s", p->img_per_s, "eta_s",
	    j->prog.eta_s >= 0 ? json_real(j->prog.eta_s) : json_null());
	char eta[32] = "";

	if (j->prog.eta_s >= 0)
		snprintf(eta, sizeof eta, ", job ETA %.0f s", j->prog.eta_s);
	job_event_data(j, STORE_EVENT_INFO, "epoch", d,
		       "candidate %lld %s epoch %d/%d: loss %.4f, val top-1 "
		       "%.2f%%, %.0f img/s%s",
		       t->c->id, phase, p->epoch + 1, p->epochs, p->loss,
		       100.0 * p->val.top1, p->img_per_s, eta);
}

static int on_progress(const struct train_progress *p, void *ctxp)
{
	struct train_ctx *t = ctxp;
	struct job *j = t->j;

	j->prog.epoch = p->epoch + (p->epoch_done ? 1 : 0);
	j->prog.epochs = p->epochs;
	j->prog.loss = p->loss;
	j->prog.img_per_s = p->img_per_s;
	if (p->epoch_done)
		job_eta_epoch(j, p->epoch_seconds);
	job_eta_update(j, p->eta_s);
	if (p->epoch_done) {
		/* the epoch row and the candidate's metrics in one
		 * transaction */
		struct store_epoch e = {
		    t->c->id,	 t->phase,    p->epoch + 1,
		    p->loss,	 p->val.top1, p->val.top5,
		    p->val.loss, p->lr,	      p->epoch_seconds};
		enum core_status st = store_epoch_finish(
		    j->p, j->rc->worker, &e, t->db_err, sizeof t->db_err);
		if (st) {
			t->db_st = st;
			return 1;
		}
		epoch_event(t, p);
	}
	if (job_beat(j, 0)) {
		t->stopped = 1;
		return 1;
	}
	return 0;
}

static enum core_status on_checkpoint(const void *blob, size_t len, int epoch,
				      void *ctxp, char *err, size_t errlen)
{
	struct train_ctx *t = ctxp;
	enum core_status st = store_candidate_save_checkpoint(
	    t->j->p, t->j->rc->worker, t->c->id, blob, len, epoch, err, errlen);

	/* a database failure is the job's, not the candidate's */
	if (st) {
		t->db_st = st;
		core_errf(t->db_err, sizeof t->db_err, "%s", err);
	}
	return st;
}

enum core_status job_data(struct job *j, int with_test, char *err,
			  size_t errlen)
{
	enum core_status st;

	if (!j->data.train.n) {
		st = train_data_load(j->spec.dataset_path, j->spec.dataset_kind,
				     with_test, &j->data, err, errlen);
		if (st)
			return st;
		LOG_INFO("dataset %s loaded: %d training images%s",
			 data_kind_name(j->spec.dataset_kind), j->data.train.n,
			 with_test ? " and the test split" : "");
	}
	if (with_test && !j->data.test.n)
		return data_set_load(j->spec.dataset_path, j->spec.dataset_kind,
				     DATA_SPLIT_TEST, &j->data.test, err,
				     errlen);
	return CORE_OK;
}

/* Trains a from blob (NULL: from scratch) with tc over the job's data. */
static enum core_status train_over_job_data(struct job *j, const struct arch *a,
					    const struct train_config *tc,
					    const void *blob, size_t len,
					    const struct train_hooks *hooks,
					    struct train_result *res, char *err,
					    size_t errlen)
{
	struct train_session *s = NULL;
	enum core_status st;
	int done = 0;

	memset(res, 0, sizeof *res);
	st = job_data(j, tc->eval_test, err, errlen);
	/* the teacher too is read once per job, not once per candidate */
	if (!st && tc->teacher_logits && !j->data.teacher.v)
		st = train_data_load_teacher(&j->data, tc->teacher_logits, err,
					     errlen);
	if (!st)
		st = train_session_open(a, tc, &j->data, blob, len, &s, err,
					errlen);
	while (!st && !done)
		st = train_session_epoch(s, hooks, &done, err, errlen);
	if (!st)
		st = train_session_result(s, res, err, errlen);
	train_session_close(s);
	return st;
}

enum core_status job_train_candidate(struct job *j,
				     const struct store_candidate *c,
				     enum search_phase phase, char *err,
				     size_t errlen)
{
	struct train_ctx t = {
	    j,
	    c,
	    phase == SEARCH_PHASE_FINAL ? STORE_PHASE_FINAL : STORE_PHASE_PROXY,
	    0,
	    CORE_OK,
	    ""};
	const char *owner = j->rc->worker;
	struct train_hooks hooks = {on_progress, on_checkpoint, &t};
	struct train_config tc;
	struct train_result res;
	struct arch a;
	char why[CORE_ERR_LEN];
	void *blob = NULL;
	size_t len = 0;
	int done = 0;
	enum core_status st;

	search_spec_train_config(&j->spec, phase, &tc);
	st = job_cand_arch(c, &a, why, sizeof why);
	if (st)
		goto candidate_failed;
	st = store_candidate_set_status(j->p, owner, c->id,
					phase == SEARCH_PHASE_FINAL
					    ? STORE_CAND_FINAL_TRAINING
					    : STORE_CAND_TRAINING,
					NULL, err, errlen);
	if (st)
		return st;
	st = store_candidate_load_checkpoint(j->p, c->id, &blob, &len, &done,
					     err, errlen);
	if (st)
		return st;
	if (len == 0) {
		core_free(blob);
		blob = NULL;
	}
	if (blob && done >= tc.epochs) {
		/* trained before the process stopped; only the status is
		 * missing */
		core_free(blob);
		return store_candidate_set_status(
		    j->p, owner, c->id,
		    phase == SEARCH_PHASE_FINAL ? STORE_CAND_FINAL_TRAINING
						: STORE_CAND_TRAINED,
		    NULL, err, errlen);
	}
	if (blob)
		job_event(j, STORE_EVENT_INFO, "resume",
			  "candidate %lld continues %s training from epoch %d",
			  c->id, store_phase_name(t.phase), done);
	j->prog.candidate_id = c->id;
	job_eta_candidate(j, c->macs, a.resolution, phase);
	j->prog.epoch = done;
	j->prog.epochs = tc.epochs;
	st = train_over_job_data(j, &a, &tc, blob, len, &hooks, &res, why,
				 sizeof why);
	core_free(blob);
	j->prog.img_per_s = 0; /* not training until the next candidate */
	if (t.db_st) {
		core_errf(err, errlen, "%s", t.db_err);
		return t.db_st;
	}
	if (st == CORE_ERR_CANCELLED && t.stopped) {
		core_errf(err, errlen, "stopped while training candidate %lld",
			  c->id);
		return CORE_ERR_CANCELLED;
	}
	if (st)
		goto candidate_failed;
	job_event_data(
	    j, STORE_EVENT_INFO, "candidate",
	    json_pack("{sIsssssosi}", "candidate", (json_int_t)c->id, "status",
		      phase == SEARCH_PHASE_FINAL ? "final_done" : "trained",
		      "phase", store_phase_name(t.phase), "val_top1",
		      job_json_real(res.val.top1), "epochs", res.epochs_done),
	    "candidate %lld %s: val top-1 %.2f%% after %d epochs", c->id,
	    phase == SEARCH_PHASE_FINAL ? "final training done" : "trained",
	    100.0 * res.val.top1, res.epochs_done);
	if (phase == SEARCH_PHASE_FINAL)
		return store_candidate_set_metrics(
		    j->p, owner, c->id, STORE_PHASE_FINAL, res.val.top1,
		    res.val.top5, res.val.loss,
		    res.test.n ? res.test.top1 : NAN, res.epochs_done, err,
		    errlen);
	return store_candidate_set_status(
	    j->p, owner, c->id, STORE_CAND_TRAINED, NULL, err, errlen);

candidate_failed:
	/* a bad candidate fails the candidate, not the job */
	job_event(j, STORE_EVENT_WARN, "candidate_failed", "candidate %lld: %s",
		  c->id, why);
	return store_candidate_set_status(j->p, owner, c->id, STORE_CAND_FAILED,
					  why, err, errlen);
}
