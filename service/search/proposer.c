/* SPDX-License-Identifier: Apache-2.0 */
/* proposer.c - the proposer interface (open, observe, propose, close), the
 * batch it returns, per-round generators, and the random proposer. */
#include "search_internal.h"

#include <stdio.h>
#include <string.h>

const char *search_batch_status_name(enum search_batch_status s)
{
	static const char *const names[] = {"ok", "partial", "exhausted",
					    "llm_unreachable", "llm_failing"};

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

void search_batch_free(struct search_batch *b)
{
	search_proposals_free(&b->props);
	for (int i = 0; i < b->ncalls && i < SEARCH_MAX_CALLS; i++)
		llm_record_free(&b->calls[i].rec);
	b->ncalls = 0;
	b->naccepted = 0;
}

/* splitmix64: a well-mixed 64-bit value from any input */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void search_rng_derive(struct core_rng *r, uint64_t seed, unsigned kind,
		       int round, int call)
{
	uint64_t x = mix(seed);

	x = mix(x ^ ((uint64_t)kind << 56));
	x = mix(x ^ (uint64_t)(uint32_t)round);
	x = mix(x ^ ((uint64_t)(uint32_t)call << 32));
	core_rng_seed(r, x);
}

/* ---- random ----------------------------------------------------------------
 */

enum core_status
search_random_fill(const struct search_spec *spec,
		   const struct search_seen *known, struct search_seen *batch,
		   struct core_rng *rng, int k, enum search_source src,
		   struct search_batch *out, char *err, size_t errlen)
{
	int classes = search_spec_classes(spec);
	char why[CORE_ERR_LEN];
	enum core_status rc;

	while (out->naccepted < k) {
		enum search_verdict v = SEARCH_VERDICT_INVALID;
		int found = 0;

		for (int t = 0; t < SEARCH_RANDOM_ATTEMPTS && !found; t++) {
			struct arch a;

			out->tries++;
			if (space_sample(&spec->space, rng, classes, &a, why,
					 sizeof why) != CORE_OK)
				continue;
			rc = search_batch_try(spec, known, batch, &out->props,
					      &a, src, &v, err, errlen);
			if (rc)
				return rc;
			found = v == SEARCH_VERDICT_OK;
		}
		if (!found) {
			snprintf(out->note, sizeof out->note,
				 "no new feasible member of the space in %d "
				 "random draws (the last was %s)",
				 SEARCH_RANDOM_ATTEMPTS,
				 search_verdict_name(v));
			return CORE_OK;
		}
		out->naccepted++;
	}
	return CORE_OK;
}

static enum core_status random_propose(struct search_proposer *p,
				       const struct search_propose_in *in,
				       struct core_rng *rng,
				       struct search_batch *out, char *err,
				       size_t errlen)
{
	struct search_seen batch;
	enum core_status rc;

	search_seen_init(&batch);
	rc = search_random_fill(p->cfg.spec, in->known, &batch, rng, in->k,
				SEARCH_SOURCE_RANDOM, out, err, errlen);
	search_seen_free(&batch);
	return rc;
}

static enum core_status ignore_observation(struct search_proposer *p,
					   const struct search_member *m,
					   char *err, size_t errlen)
{
	return CORE_OK;
}

static void destroy_nothing(struct search_proposer *p)
{
}

const struct search_proposer_ops search_random_ops = {
    NULL, random_propose, ignore_observation, destroy_nothing};

/* ---- the interface --------------------------------------------------------
 */

static enum core_status llm_client_chat_fn(void *ctx,
					   const struct llm_request *req,
					   struct llm_record *rec, char *err,
					   size_t errlen)
{
	return llm_client_chat(ctx, req, rec, err, errlen);
}

enum core_status search_proposer_open(const struct search_proposer_config *c,
				      struct search_proposer **out, char *err,
				      size_t errlen)
{
	struct search_proposer *p;

	*out = NULL;
	if (!c || !c->spec) {
		core_errf(err, errlen, "proposer: no job spec");
		return CORE_ERR_INVALID;
	}
	if (c->kind == SEARCH_PROPOSER_LLM && !c->client && !c->chat) {
		core_errf(err, errlen, "proposer: llm needs a client");
		return CORE_ERR_INVALID;
	}
	if ((unsigned)c->kind >= SEARCH_PROPOSER_COUNT) {
		core_errf(err, errlen, "proposer: unknown kind %d",
			  (int)c->kind);
		return CORE_ERR_INVALID;
	}
	p = core_calloc(1, sizeof *p);
	if (!p) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	p->cfg = *c;
	if (c->kind == SEARCH_PROPOSER_LLM && !c->chat) {
		p->cfg.chat = llm_client_chat_fn;
		p->cfg.chat_ctx = c->client;
	}
	p->round = -1;
	p->ops = c->kind == SEARCH_PROPOSER_LLM		? &search_llm_ops
		 : c->kind == SEARCH_PROPOSER_EVOLUTION ? &search_evolution_ops
							: &search_random_ops;
	if (p->ops->init) {
		enum core_status rc = p->ops->init(p, err, errlen);
		if (rc) {
			core_free(p);
			return rc;
		}
	}
	*out = p;
	return CORE_OK;
}

void search_proposer_close(struct search_proposer *p)
{
	if (!p)
		return;
	p->ops->destroy(p);
	core_free(p);
}

enum search_proposer_kind search_proposer_kind(const struct search_proposer *p)
{
	return p->cfg.kind;
}

enum core_status search_proposer_observe(struct search_proposer *p,
					 const struct search_member *m,
					 char *err, size_t errlen)
{
	if (!m) {
		core_errf(err, errlen, "observe: no member");
		return CORE_ERR_INVALID;
	}
	return p->ops->observe(p, m, err, errlen);
}

enum core_status search_proposer_propose(struct search_proposer *p,
					 const struct search_propose_in *in,
					 struct search_batch *out, char *err,
					 size_t errlen)
{
	struct core_rng rng;
	enum core_status rc;

	memset(out, 0, sizeof *out);
	if (!in || in->k < 1 || in->k > SEARCH_BATCH_MAX_K || in->round < 0) {
		core_errf(err, errlen,
			  "propose: k must be 1..%d and round >= 0",
			  SEARCH_BATCH_MAX_K);
		return CORE_ERR_INVALID;
	}
	if (in->round != p->round) {
		p->round = in->round;
		p->calls_in_round = 0;
	}
	search_rng_derive(&rng, p->cfg.spec->seed, (unsigned)p->cfg.kind,
			  in->round, p->calls_in_round++);
	rc = p->ops->propose(p, in, &rng, out, err, errlen);
	if (rc)
		return rc;
	out->naccepted = search_proposals_count(&out->props, SEARCH_VERDICT_OK);
	if (p->cfg.kind != SEARCH_PROPOSER_LLM)
		out->status = out->naccepted == in->k ? SEARCH_BATCH_OK
			      : out->naccepted	      ? SEARCH_BATCH_PARTIAL
						      : SEARCH_BATCH_EXHAUSTED;
	return CORE_OK;
}
