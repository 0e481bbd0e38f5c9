/* SPDX-License-Identifier: Apache-2.0 */
/* runner_front.c - the job's evaluated members, its constrained Pareto
 * front and hypervolume after each round, and the round record. */
#include "runner_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum core_status job_cand_arch(const struct store_candidate *c, struct arch *a,
			       char *err, size_t errlen)
{
	struct core_field_errors fe;
	char why[CORE_ERR_LEN];

	core_field_errors_clear(&fe);
	if (!c->arch_json ||
	    arch_parse(c->arch_json, strlen(c->arch_json), a, &fe)) {
		core_field_errors_join(&fe, why, sizeof why);
		core_errf(err, errlen,
			  "candidate %lld: stored architecture "
			  "is not valid: %s",
			  c->id, why);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

static int is_trained(const struct store_candidate *c)
{
	/* val_top1 is the proxy metric: final training never changes it */
	return (c->status == STORE_CAND_TRAINED ||
		c->status == STORE_CAND_FINAL_TRAINING ||
		c->status == STORE_CAND_FINAL_DONE) &&
	       !isnan(c->val_top1);
}

enum core_status job_members(struct job *j, struct search_member **out, int *n,
			     char *err, size_t errlen)
{
	struct search_member *m;
	int k = 0;

	*out = NULL;
	*n = 0;
	m = core_calloc((size_t)(j->ncands ? j->ncands : 1), sizeof *m);
	if (!m) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < j->ncands; i++) {
		const struct store_candidate *c = &j->cands[i];
		if (!is_trained(c) || job_cand_arch(c, &m[k].arch, err, errlen))
			continue;
		m[k].id = (long)c->id;
		m[k].round = c->round;
		m[k].pt.acc = c->val_top1;
		m[k].pt.macs = (double)c->macs;
		m[k].pt.sram = (double)c->sram_bytes;
		m[k].pt.flash = (double)c->flash_bytes;
		k++;
	}
	*out = m;
	*n = k;
	return CORE_OK;
}

static int contains(const long *v, int n, long x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

enum core_status job_finish_round(struct job *j, int round, char *err,
				  size_t errlen)
{
	struct search_member *m = NULL;
	struct search_point *pts = NULL;
	int *rank = NULL, n = 0, nf = 0, entered = 0, left = 0;
	long *front = NULL;
	double hv = 0.0;
	json_t *arr = NULL;
	char *front_json = NULL, summary[256];
	enum core_status st;

	st = job_load(j, err, errlen);
	if (!st)
		st = job_members(j, &m, &n, err, errlen);
	if (st)
		return st;
	pts = core_calloc((size_t)(n ? n : 1), sizeof *pts);
	rank = core_calloc((size_t)(n ? n : 1), sizeof *rank);
	front = core_calloc((size_t)(n ? n : 1), sizeof *front);
	arr = json_array();
	if (!pts || !rank || !front || !arr) {
		st = CORE_ERR_NOMEM;
		goto nomem;
	}
	for (int i = 0; i < n; i++)
		pts[i] = m[i].pt;
	st = search_nondominated_sort(pts, n, &j->lim, rank);
	if (!st)
		st = search_hypervolume(pts, n, &j->lim, &hv);
	if (st)
		goto nomem;
	for (int i = 0; i < n; i++) {
		if (rank[i] != 0 || search_violation(&pts[i], &j->lim) > 0)
			continue;
		front[nf++] = m[i].id;
		if (json_array_append_new(
			arr,
			json_pack("{s:I, s:f, s:I, s:I, s:I}", "id",
				  (json_int_t)m[i].id, "val_top1", pts[i].acc,
				  "macs", (json_int_t)pts[i].macs, "sram",
				  (json_int_t)pts[i].sram, "flash",
				  (json_int_t)pts[i].flash)))
			goto nomem;
	}
	for (int i = 0; i < nf; i++)
		entered += !contains(j->front, j->nfront, front[i]);
	for (int i = 0; i < j->nfront; i++)
		left += !contains(front, nf, j->front[i]);
	snprintf(summary, sizeof summary,
		 "%d evaluated; front %d (+%d, -%d); hypervolume %.4f -> %.4f",
		 n, nf, entered, left, j->hv, hv);
	front_json = json_dumps(arr, JSON_COMPACT);
	if (!front_json)
		goto nomem;
	st =
	    store_round_put(j->p, j->rc->worker, j->id, round, j->proposer_name,
			    front_json, hv, summary, 1, err, errlen);
	if (st)
		goto out;
	job_event_data(j, STORE_EVENT_INFO, "round",
		       json_pack("{sisisisisisOso}", "round", round + 1,
				 "evaluated", n, "front_size", nf, "entered",
				 entered, "left", left, "front", arr,
				 "hypervolume", job_json_real(hv)),
		       "round %d: %s", round + 1, summary);
	core_free(j->front);
	j->front = front;
	front = NULL;
	j->nfront = nf;
	j->hv = hv;
	j->prog.front_size = nf;
	j->prog.hypervolume = hv;
	goto out;
nomem:
	if (st == CORE_OK)
		st = CORE_ERR_NOMEM;
	core_errf(err, errlen, "round %d: out of memory", round + 1);
out:
	free(front_json);
	json_decref(arr);
	core_free(front);
	core_free(rank);
	core_free(pts);
	core_free(m);
	return st;
}

enum core_status job_load_round(struct job *j, int round, char *err,
				size_t errlen)
{
	char *text = NULL;
	double hv = 0.0;
	json_t *arr = NULL, *e;
	json_error_t jerr;
	long *front = NULL;
	size_t i;
	int nf = 0;
	enum core_status st;

	st = store_round_get(j->p, j->id, round, &text, &hv, err, errlen);
	if (st)
		return st;
	arr = json_loads(text, 0, &jerr);
	core_free(text);
	if (!json_is_array(arr)) {
		json_decref(arr);
		core_errf(err, errlen, "round %d: stored front is not a list",
			  round + 1);
		return CORE_ERR_INVALID;
	}
	front = core_calloc(json_array_size(arr) + 1, sizeof *front);
	if (!front) {
		json_decref(arr);
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	json_array_foreach(arr, i, e)
	{
		json_t *id = json_object_get(e, "id");
		if (!json_is_integer(id)) {
			json_decref(arr);
			core_free(front);
			core_errf(err, errlen,
				  "round %d: stored front entry %zu has no id",
				  round + 1, i);
			return CORE_ERR_INVALID;
		}
		front[nf++] = (long)json_integer_value(id);
	}
	json_decref(arr);
	core_free(j->front);
	j->front = front;
	j->nfront = nf;
	j->hv = isnan(hv) ? 0.0 : hv;
	j->prog.front_size = nf;
	j->prog.hypervolume = j->hv;
	return CORE_OK;
}
