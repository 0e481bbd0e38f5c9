/* SPDX-License-Identifier: Apache-2.0 */
/* model_ckpt.c - model checkpoints: architecture, parameters, BN running
 * statistics, momentum and the run state, in the checkpoint container. */
#include "train.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_FORMAT "lmnas-checkpoint/1"

static json_t *metrics_json(const struct train_metrics *m)
{
	return json_pack("{s:f, s:f, s:f, s:i}", "loss", m->loss, "top1",
			 m->top1, "top5", m->top5, "n", m->n);
}

enum core_status train_checkpoint_encode(const struct model *m,
					 const float *momentum,
					 const struct train_state *state,
					 void **blob, size_t *len, char *err,
					 size_t errlen)
{
	struct train_ckpt c = {0};
	json_t *arch = NULL, *meta = NULL;
	char *arch_text = NULL, *meta_text = NULL;
	char rng[4][17];
	enum core_status st = CORE_ERR_NOMEM;

	*blob = NULL;
	*len = 0;
	for (int i = 0; i < 4; i++)
		snprintf(rng[i], sizeof rng[i], "%016" PRIx64, state->rng[i]);
	arch = arch_to_json(&m->arch);
	meta = json_pack("{s:s, s:i, s:I, s:[s,s,s,s], s:o, s:I, s:I}",
			 "format", CKPT_FORMAT, "epoch", state->epoch, "step",
			 (json_int_t)state->step, "rng", rng[0], rng[1], rng[2],
			 rng[3], "val", metrics_json(&state->val), "nparams",
			 (json_int_t)m->nparams, "nbuffers",
			 (json_int_t)m->nbuffers);
	if (!arch || !meta)
		goto nomem;
	arch_text = json_dumps(arch, JSON_COMPACT);
	meta_text = json_dumps(meta, JSON_COMPACT);
	if (!arch_text || !meta_text)
		goto nomem;
	st = train_ckpt_add(&c, "arch", arch_text, strlen(arch_text), err,
			    errlen);
	if (!st)
		st = train_ckpt_add(&c, "meta", meta_text, strlen(meta_text),
				    err, errlen);
	if (!st)
		st = train_ckpt_add(&c, "params", m->params,
				    m->nparams * sizeof(float), err, errlen);
	if (!st)
		st = train_ckpt_add(&c, "bn", m->bn_stats,
				    m->nbuffers * sizeof(float), err, errlen);
	if (!st && momentum)
		st = train_ckpt_add(&c, "momentum", momentum,
				    m->nparams * sizeof(float), err, errlen);
	if (!st)
		st = train_ckpt_encode(&c, blob, len, err, errlen);
	goto out;
nomem:
	core_errf(err, errlen, "checkpoint: out of memory");
	st = CORE_ERR_NOMEM;
out:
	free(arch_text);
	free(meta_text);
	json_decref(arch);
	json_decref(meta);
	return st;
}

enum core_status train_checkpoint_arch(const void *blob, size_t len,
				       struct arch *a, char *err, size_t errlen)
{
	struct train_ckpt c;
	const struct train_ckpt_section *s;
	struct core_field_errors fe;
	enum core_status st = train_ckpt_decode(blob, len, &c, err, errlen);

	if (st)
		return st;
	s = train_ckpt_find(&c, "arch");
	if (!s) {
		core_errf(err, errlen, "checkpoint: no architecture section");
		return CORE_ERR_INVALID;
	}
	core_field_errors_clear(&fe);
	st = arch_parse(s->data, s->size, a, &fe);
	if (st) {
		char why[CORE_ERR_LEN];
		core_field_errors_join(&fe, why, sizeof why);
		core_errf(err, errlen, "checkpoint: bad architecture: %s", why);
	}
	return st;
}

static enum core_status read_meta(const struct train_ckpt *c,
				  struct train_state *state, size_t *nparams,
				  size_t *nbuffers, char *err, size_t errlen)
{
	const struct train_ckpt_section *s = train_ckpt_find(c, "meta");
	json_t *meta, *rng, *val;
	json_error_t jerr;
	json_int_t np = -1, nb = -1, step = 0;
	int epoch = 0;
	const char *format = NULL;
	enum core_status st = CORE_OK;

	if (!s) {
		core_errf(err, errlen, "checkpoint: no meta section");
		return CORE_ERR_INVALID;
	}
	meta = json_loadb(s->data, s->size, 0, &jerr);
	if (!meta ||
	    json_unpack(meta, "{s:s, s:i, s:I, s:o, s:o, s:I, s:I}", "format",
			&format, "epoch", &epoch, "step", &step, "rng", &rng,
			"val", &val, "nparams", &np, "nbuffers", &nb) != 0 ||
	    strcmp(format, CKPT_FORMAT) != 0 || !json_is_array(rng) ||
	    json_array_size(rng) != 4 || epoch < 0 || step < 0 || np < 0 ||
	    nb < 0) {
		core_errf(err, errlen, "checkpoint: malformed meta section");
		json_decref(meta);
		return CORE_ERR_INVALID;
	}
	*nparams = (size_t)np;
	*nbuffers = (size_t)nb;
	if (state) {
		memset(state, 0, sizeof *state);
		state->epoch = epoch;
		state->step = (long)step;
		for (int i = 0; i < 4; i++) {
			const char *h =
			    json_string_value(json_array_get(rng, (size_t)i));
			char *end = NULL;
			if (!h || strlen(h) != 16) {
				st = CORE_ERR_INVALID;
				break;
			}
			state->rng[i] = strtoull(h, &end, 16);
			if (*end) {
				st = CORE_ERR_INVALID;
				break;
			}
		}
		json_unpack(val, "{s?f, s?f, s?f, s?i}", "loss",
			    &state->val.loss, "top1", &state->val.top1, "top5",
			    &state->val.top5, "n", &state->val.n);
		if (st)
			core_errf(err, errlen, "checkpoint: bad rng state");
	}
	json_decref(meta);
	return st;
}

enum core_status train_checkpoint_restore(const void *blob, size_t len,
					  struct model *m, float *momentum,
					  struct train_state *state, char *err,
					  size_t errlen)
{
	struct train_ckpt c;
	const struct train_ckpt_section *p, *b, *mom;
	struct arch a;
	char h1[65], h2[65];
	size_t np, nb;
	enum core_status st;

	st = train_checkpoint_arch(blob, len, &a, err, errlen);
	if (st)
		return st;
	st = arch_hash(&a, h1);
	if (!st)
		st = arch_hash(&m->arch, h2);
	if (st) {
		core_errf(err, errlen, "checkpoint: cannot hash architecture");
		return st;
	}
	if (strcmp(h1, h2) != 0) {
		core_errf(err, errlen,
			  "checkpoint is of another architecture "
			  "(hash %.16s, model %.16s)",
			  h1, h2);
		return CORE_ERR_INVALID;
	}
	st = train_ckpt_decode(blob, len, &c, err, errlen);
	if (st)
		return st;
	st = read_meta(&c, state, &np, &nb, err, errlen);
	if (st)
		return st;
	p = train_ckpt_find(&c, "params");
	b = train_ckpt_find(&c, "bn");
	if (!p || !b || np != m->nparams || nb != m->nbuffers ||
	    p->size != m->nparams * sizeof(float) ||
	    b->size != m->nbuffers * sizeof(float)) {
		core_errf(err, errlen,
			  "checkpoint: parameter sizes do not "
			  "match the architecture (%zu/%zu floats, model "
			  "%zu/%zu)",
			  np, nb, m->nparams, m->nbuffers);
		return CORE_ERR_INVALID;
	}
	memcpy(m->params, p->data, p->size);
	memcpy(m->bn_stats, b->data, b->size);
	mom = train_ckpt_find(&c, "momentum");
	if (momentum) {
		if (mom && mom->size == p->size)
			memcpy(momentum, mom->data, mom->size);
		else
			memset(momentum, 0, p->size);
	}
	return CORE_OK;
}
