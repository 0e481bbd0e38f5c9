/* SPDX-License-Identifier: Apache-2.0 */
/* evolution.c - the regularized-evolution proposer: the aging population,
 * constrained Pareto fitness, tournament selection and one-site mutations
 * that stay inside the space (see proposer.h for the rules). */
#include "search_internal.h"

#include <string.h>

#define RETOURNAMENT_EVERY 8 /* tries on one parent before drawing anew */

struct evo {
	int cap;		   /* P */
	int n;			   /* members held, <= cap */
	int head;		   /* index of the oldest */
	struct search_member *pop; /* (cap) ring */
	int *rank;  /* (cap) non-domination rank, by ring position */
	int *order; /* (cap) tournament scratch */
	struct search_point *pts; /* (cap) scratch */
};

static enum core_status evo_init(struct search_proposer *p, char *err,
				 size_t errlen)
{
	int cap = p->cfg.spec->evolution.population;
	struct evo *e = core_calloc(1, sizeof *e);

	if (e) {
		e->cap = cap;
		e->pop = core_calloc((size_t)cap, sizeof *e->pop);
		e->rank = core_calloc((size_t)cap, sizeof *e->rank);
		e->order = core_calloc((size_t)cap, sizeof *e->order);
		e->pts = core_calloc((size_t)cap, sizeof *e->pts);
	}
	p->impl = e;
	if (!e || !e->pop || !e->rank || !e->order || !e->pts) {
		p->ops->destroy(p);
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

static void evo_destroy(struct search_proposer *p)
{
	struct evo *e = p->impl;

	if (!e)
		return;
	core_free(e->pop);
	core_free(e->rank);
	core_free(e->order);
	core_free(e->pts);
	core_free(e);
	p->impl = NULL;
}

/* The newest member replaces the oldest once the population is full. */
static enum core_status evo_observe(struct search_proposer *p,
				    const struct search_member *m, char *err,
				    size_t errlen)
{
	struct evo *e = p->impl;

	if (e->n < e->cap) {
		e->pop[(e->head + e->n) % e->cap] = *m;
		e->n++;
	} else {
		e->pop[e->head] = *m;
		e->head = (e->head + 1) % e->cap;
	}
	return CORE_OK;
}

/* ---- fitness --------------------------------------------------------------
 */

/* rank[] of the n members, by ring position (Deb's constrained
 * domination under the spec's limits). */
static enum core_status evo_fitness(const struct search_spec *spec,
				    struct evo *e)
{
	struct search_limits lim;

	search_spec_limits(spec, &lim);
	for (int i = 0; i < e->n; i++)
		e->pts[i] = e->pop[i].pt;
	return search_nondominated_sort(e->pts, e->n, &lim, e->rank);
}

/* Age of ring position i: 0 for the oldest. */
static int age_of(const struct evo *e, int i)
{
	return (i - e->head + e->cap) % e->cap;
}

/* Lower rank, then higher accuracy, then newer (see proposer.h for why
 * not crowding distance). */
static int fitter(const struct evo *e, int a, int b)
{
	if (e->rank[a] != e->rank[b])
		return e->rank[a] < e->rank[b];
	if (e->pop[a].pt.acc != e->pop[b].pt.acc)
		return e->pop[a].pt.acc > e->pop[b].pt.acc;
	return age_of(e, a) > age_of(e, b);
}

/* The fittest of S distinct members drawn uniformly (partial
 * Fisher-Yates over e->order). */
static int tournament(struct evo *e, int s, struct core_rng *rng)
{
	int best = -1;

	if (s > e->n)
		s = e->n;
	for (int i = 0; i < e->n; i++)
		e->order[i] = i;
	for (int i = 0; i < s; i++) {
		int j = i + (int)core_rng_below(rng, (uint64_t)(e->n - i));
		int t = e->order[i];

		e->order[i] = e->order[j];
		e->order[j] = t;
		if (best < 0 || fitter(e, e->order[i], best))
			best = e->order[i];
	}
	return best;
}

/* ---- mutation ---------------------------------------------------------------
 */

/* A value of l other than cur, uniformly (any value when cur is not in l);
 * returns cur when l has no other. */
static int other_int(const struct space_ints *l, int cur, struct core_rng *rng)
{
	int cand[SPACE_MAX_VALUES], n = 0;

	for (int i = 0; i < l->n; i++)
		if (l->v[i] != cur)
			cand[n++] = l->v[i];
	return n ? cand[core_rng_below(rng, (uint64_t)n)] : cur;
}

static double other_real(const struct space_reals *l, double cur,
			 struct core_rng *rng)
{
	double cand[SPACE_MAX_VALUES];
	int n = 0;

	for (int i = 0; i < l->n; i++)
		if (l->v[i] != arch_real_canonical(cur))
			cand[n++] = l->v[i];
	return n ? cand[core_rng_below(rng, (uint64_t)n)] : cur;
}

static int pick(const struct space_ints *l, struct core_rng *rng)
{
	return l->v[core_rng_below(rng, (uint64_t)l->n)];
}

enum stage_field {
	F_BLOCK = 0,
	F_OUT,
	F_LAYERS,
	F_KERNEL,
	F_STRIDE,
	F_EXPAND,
	F_SE,
	F_SKIP,
	F_ACT,
	F_COUNT
};

/* The fields of stage st (lists l) that can change. */
static int stage_fields(const struct space_stage *l,
			const struct arch_stage *st, int *f)
{
	int n = 0;

	if (l->block.n > 1)
		f[n++] = F_BLOCK;
	if (l->out.n > 1)
		f[n++] = F_OUT;
	if (l->layers.n > 1)
		f[n++] = F_LAYERS;
	if (l->kernel.n > 1)
		f[n++] = F_KERNEL;
	if (l->stride.n > 1)
		f[n++] = F_STRIDE;
	if (l->expand.n > 1 && st->block == ARCH_BLOCK_MBCONV)
		f[n++] = F_EXPAND;
	if (l->se.n > 1)
		f[n++] = F_SE;
	if (l->skip.n > 1)
		f[n++] = F_SKIP;
	if (l->act.n > 1)
		f[n++] = F_ACT;
	return n;
}

static void mutate_stage(const struct space_stage *l, struct arch_stage *st,
			 struct core_rng *rng)
{
	int f[F_COUNT], n = stage_fields(l, st, f);

	if (!n)
		return;
	switch (f[core_rng_below(rng, (uint64_t)n)]) {
	case F_BLOCK:
		st->block =
		    (enum arch_block)other_int(&l->block, (int)st->block, rng);
		st->expand =
		    st->block == ARCH_BLOCK_MBCONV ? pick(&l->expand, rng) : 1;
		break;
	case F_OUT: st->out = other_int(&l->out, st->out, rng); break;
	case F_LAYERS:
		st->layers = other_int(&l->layers, st->layers, rng);
		break;
	case F_KERNEL:
		st->kernel = other_int(&l->kernel, st->kernel, rng);
		break;
	case F_STRIDE:
		st->stride = other_int(&l->stride, st->stride, rng);
		break;
	case F_EXPAND:
		st->expand = other_int(&l->expand, st->expand, rng);
		break;
	case F_SE: st->se = other_real(&l->se, st->se, rng); break;
	case F_SKIP:
		st->skip =
		    (enum arch_skip)other_int(&l->skip, (int)st->skip, rng);
		break;
	case F_ACT:
		st->act = (enum arch_act)other_int(&l->act, (int)st->act, rng);
		break;
	}
}

static void mutate_stem(const struct space *s, struct arch *a,
			struct core_rng *rng)
{
	const struct space_stem *l = &s->stem;
	int f[4], n = 0;

	if (a->stem.present) {
		if (l->out.n > 1)
			f[n++] = 0;
		if (l->kernel.n > 1)
			f[n++] = 1;
		if (l->stride.n > 1)
			f[n++] = 2;
		if (l->act.n > 1)
			f[n++] = 3;
	}
	if (l->mode == SPACE_STEM_OPTIONAL &&
	    (!n || core_rng_below(rng, 2) == 0)) {
		a->stem.present = !a->stem.present;
		if (a->stem.present) {
			a->stem.out = pick(&l->out, rng);
			a->stem.kernel = pick(&l->kernel, rng);
			a->stem.stride = pick(&l->stride, rng);
			a->stem.act = (enum arch_act)pick(&l->act, rng);
		}
		return;
	}
	if (!n)
		return;
	switch (f[core_rng_below(rng, (uint64_t)n)]) {
	case 0: a->stem.out = other_int(&l->out, a->stem.out, rng); break;
	case 1:
		a->stem.kernel = other_int(&l->kernel, a->stem.kernel, rng);
		break;
	case 2:
		a->stem.stride = other_int(&l->stride, a->stem.stride, rng);
		break;
	default:
		a->stem.act =
		    (enum arch_act)other_int(&l->act, (int)a->stem.act, rng);
	}
}

/* One more stage (a copy of a neighbour, stride 1 when allowed) or one
 * fewer. */
static void mutate_depth(const struct space *s, struct arch *a,
			 struct core_rng *rng)
{
	int add = a->nstages <= s->stages_min	? 1
		  : a->nstages >= s->stages_max ? 0
						: (int)core_rng_below(rng, 2);

	if (add) {
		int i = (int)core_rng_below(rng, (uint64_t)a->nstages + 1);
		struct arch_stage copy = a->stages[i > 0 ? i - 1 : 0];

		memmove(&a->stages[i + 1], &a->stages[i],
			(size_t)(a->nstages - i) * sizeof a->stages[0]);
		for (int v = 0; v < s->stage[i].stride.n; v++)
			if (s->stage[i].stride.v[v] == 1)
				copy.stride = 1;
		a->stages[i] = copy;
		a->nstages++;
	} else {
		int i = (int)core_rng_below(rng, (uint64_t)a->nstages);

		memmove(&a->stages[i], &a->stages[i + 1],
			(size_t)(a->nstages - i - 1) * sizeof a->stages[0]);
		a->nstages--;
	}
}

/* Applies one mutation to a; returns 0 when the space lets nothing vary. */
static int mutate(const struct space *s, struct arch *a, struct core_rng *rng)
{
	enum { S_RES = -1, S_DROP = -2, S_STEM = -3, S_DEPTH = -4 };
	int sites[ARCH_MAX_STAGES + 4], n = 0, f[F_COUNT], site;

	if (s->resolution.n > 1)
		sites[n++] = S_RES;
	if (s->dropout.n > 1)
		sites[n++] = S_DROP;
	if (s->stem.mode == SPACE_STEM_OPTIONAL ||
	    (a->stem.present && (s->stem.out.n > 1 || s->stem.kernel.n > 1 ||
				 s->stem.stride.n > 1 || s->stem.act.n > 1)))
		sites[n++] = S_STEM;
	if (s->stages_min < s->stages_max)
		sites[n++] = S_DEPTH;
	for (int i = 0; i < a->nstages; i++)
		if (stage_fields(&s->stage[i], &a->stages[i], f))
			sites[n++] = i;
	if (!n)
		return 0;
	site = sites[core_rng_below(rng, (uint64_t)n)];
	switch (site) {
	case S_RES:
		a->resolution = other_int(&s->resolution, a->resolution, rng);
		break;
	case S_DROP:
		a->dropout = other_real(&s->dropout, a->dropout, rng);
		break;
	case S_STEM: mutate_stem(s, a, rng); break;
	case S_DEPTH: mutate_depth(s, a, rng); break;
	default: mutate_stage(&s->stage[site], &a->stages[site], rng);
	}
	return 1;
}

/* ---- proposing
 * ---------------------------------------------------------------- */

static enum core_status evo_propose(struct search_proposer *p,
				    const struct search_propose_in *in,
				    struct core_rng *rng,
				    struct search_batch *out, char *err,
				    size_t errlen)
{
	const struct search_spec *spec = p->cfg.spec;
	struct evo *e = p->impl;
	struct search_seen batch;
	enum core_status rc = CORE_OK;

	search_seen_init(&batch);
	/* Real et al.: the first P are random */
	if (e->n < e->cap) {
		rc = search_random_fill(spec, in->known, &batch, rng, in->k,
					SEARCH_SOURCE_RANDOM, out, err, errlen);
		goto out;
	}
	rc = evo_fitness(spec, e);
	if (rc) { /* the only failure of the sort */
		core_errf(err, errlen, "out of memory");
		goto out;
	}
	while (out->naccepted < in->k) {
		enum search_verdict v = SEARCH_VERDICT_INVALID;
		int parent = -1, found = 0;

		for (int t = 0; t < SEARCH_EVOLUTION_ATTEMPTS && !found; t++) {
			struct arch child;

			if (t % RETOURNAMENT_EVERY == 0)
				parent = tournament(
				    e, spec->evolution.sample_size, rng);
			child = e->pop[parent].arch;
			child.name[0] = '\0';
			if (!mutate(&spec->space, &child, rng))
				break; /* nothing can vary: random below */
			out->tries++;
			rc = search_batch_try(
			    spec, in->known, &batch, &out->props, &child,
			    SEARCH_SOURCE_EVOLUTION, &v, err, errlen);
			if (rc)
				goto out;
			found = v == SEARCH_VERDICT_OK;
		}
		if (found) {
			out->naccepted++;
			continue;
		}
		/* the neighbourhood is used up: one random member instead */
		rc = search_random_fill(spec, in->known, &batch, rng,
					out->naccepted + 1,
					SEARCH_SOURCE_RANDOM, out, err, errlen);
		if (rc || *out->note)
			goto out;
	}
out:
	search_seen_free(&batch);
	return rc;
}

const struct search_proposer_ops search_evolution_ops = {
    evo_init, evo_propose, evo_observe, evo_destroy};
