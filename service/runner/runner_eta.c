/* SPDX-License-Identifier: Apache-2.0 */
/* runner_eta.c - the job's time-to-finish estimate for the progress display
 * and the job's stored progress: the seconds per unit of training work
 * measured on the epochs this process trained, applied to the work still
 * ahead (the rest of the current candidate, the rest of the proxy budget,
 * the final phase).
 *
 * A unit of work is one MAC of the trained network on one image of the
 * full training split, counting a training image as three passes (forward
 * and backward) and a validation image as one; resolution overrides scale
 * the MACs by the square of the resolution ratio. Unknown (-1) until one
 * epoch has been measured. */
#include "runner_internal.h"

#include <string.h>

double runner_epoch_work(long long macs, int arch_res, int train_res,
			 double train_fraction, double val_fraction)
{
	double m = macs > 0 ? (double)macs : 0.0;

	if (train_res > 0 && arch_res > 0 && train_res != arch_res)
		m *= (double)train_res * train_res /
		     ((double)arch_res * arch_res);
	return m * (3.0 * train_fraction * (1.0 - val_fraction) + val_fraction);
}

double runner_eta_estimate(const struct runner_eta_in *in)
{
	double rate, work;

	if (in->seconds <= 0 || in->work <= 0)
		return -1;
	rate = in->seconds / in->work;
	work =
	    (double)in->proxy_left * in->proxy_epochs * in->proxy_epoch_work +
	    (double)in->final_left * in->final_epochs * in->final_epoch_work;
	return (in->current_left_s > 0 ? in->current_left_s : 0) + rate * work;
}

void job_eta_init(struct job *j)
{
	struct train_config tc;

	memset(&j->eta, 0, sizeof j->eta);
	search_spec_train_config(&j->spec, SEARCH_PHASE_PROXY, &tc);
	j->eta.proxy_res = tc.resolution;
	j->eta.proxy_fraction = tc.train_fraction;
	j->eta.val_fraction = tc.val_fraction;
	j->eta.proxy_epochs = tc.epochs;
	search_spec_train_config(&j->spec, SEARCH_PHASE_FINAL, &tc);
	j->eta.final_epochs = tc.epochs;
	j->prog.eta_s = -1;
}

void job_eta_candidate(struct job *j, long long macs, int arch_res,
		       enum search_phase phase)
{
	int proxy = phase == SEARCH_PHASE_PROXY;

	j->eta.epoch_work = runner_epoch_work(
	    macs, arch_res, proxy ? j->eta.proxy_res : 0,
	    proxy ? j->eta.proxy_fraction : 1.0, j->eta.val_fraction);
	if (proxy) {
		j->eta.proxy_work_sum += j->eta.epoch_work;
		j->eta.proxy_cands++;
	}
}

void job_eta_epoch(struct job *j, double seconds)
{
	if (seconds > 0 && j->eta.epoch_work > 0) {
		j->eta.seconds += seconds;
		j->eta.work += j->eta.epoch_work;
	}
}

/* Mean MACs of the front (or of every costed candidate while there is no
 * front): what the final phase is expected to train. */
static double final_macs(const struct job *j)
{
	double sum = 0;
	int n = 0;

	for (int i = 0; i < j->ncands; i++) {
		const struct store_candidate *c = &j->cands[i];
		int in_front = 0;

		for (int f = 0; f < j->nfront; f++)
			in_front |= j->front[f] == c->id;
		if (c->macs > 0 &&
		    (in_front ||
		     (j->nfront == 0 && c->status != STORE_CAND_REJECTED))) {
			sum += (double)c->macs;
			n++;
		}
	}
	return n ? sum / n : 0.0;
}

void job_eta_update(struct job *j, double current_left_s)
{
	const struct search_spec *s = &j->spec;
	struct runner_eta_in in;
	int planned = s->budget.max_candidates;
	int in_proxy = strcmp(j->prog.phase, "proxy") == 0;
	int in_final = strcmp(j->prog.phase, "final") == 0 ||
		       strcmp(j->prog.phase, "export") == 0;
	int k = s->budget.final.top_k;

	if (strcmp(j->prog.phase, "done") == 0) {
		j->prog.eta_s = 0;
		return;
	}
	if ((long long)s->budget.rounds * s->llm.candidates_per_round < planned)
		planned = s->budget.rounds * s->llm.candidates_per_round;
	memset(&in, 0, sizeof in);
	in.seconds = j->eta.seconds;
	in.work = j->eta.work;
	in.current_left_s = current_left_s;
	in.proxy_epochs = j->eta.proxy_epochs;
	in.final_epochs = j->eta.final_epochs;
	if (!in_final) {
		in.proxy_left =
		    planned - j->prog.evaluated - (in_proxy ? 1 : 0);
		if (in.proxy_left < 0)
			in.proxy_left = 0;
		in.proxy_epoch_work =
		    j->eta.proxy_cands
			? j->eta.proxy_work_sum / j->eta.proxy_cands
			: 0.0;
		in.final_left = k < planned ? k : planned;
	} else {
		in.final_left = j->prog.candidates - j->prog.candidate;
		if (in.final_left < 0)
			in.final_left = 0;
	}
	in.final_epoch_work = runner_epoch_work((long long)final_macs(j), 0, 0,
						1.0, j->eta.val_fraction);
	j->prog.eta_s = runner_eta_estimate(&in);
}
