/* SPDX-License-Identifier: Apache-2.0 */
/* space.c - using a search space: membership of an architecture, the prompt
 * rendering for the LLM, and uniform random members. */
#include "space_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- membership -------------------------------------------------------- */

static void not_in(struct core_field_errors *fe, const char *path,
		   const struct space_list_spec *sp, const void *list,
		   const char *value)
{
	char allowed[200];

	space_list_format(sp, list, allowed, sizeof allowed);
	core_field_errorf(fe, path, "%s is not in the space %s", value,
			  allowed);
}

/* Checks one arch field against the list of sp inside base. */
static void check_int(struct core_field_errors *fe, const char *path,
		      const struct space_list_spec *sp, const void *base, int v)
{
	const struct space_ints *l = space_list_at(sp, base);
	char shown[32];

	if (space_ints_has(l, v))
		return;
	if (sp->kind == SPACE_KIND_ENUM)
		snprintf(shown, sizeof shown, "'%s'", sp->name(v));
	else
		snprintf(shown, sizeof shown, "%d", v);
	not_in(fe, path, sp, l, shown);
}

static void check_real(struct core_field_errors *fe, const char *path,
		       const struct space_list_spec *sp, const void *base,
		       double v)
{
	const struct space_reals *l = space_list_at(sp, base);
	char shown[32];

	if (space_reals_has(l, v))
		return;
	snprintf(shown, sizeof shown, "%.15g", arch_real_canonical(v));
	not_in(fe, path, sp, l, shown);
}

/* The value of the stage field named by a SPACE_FIELD_* bit, as an int. */
static int stage_int(const struct arch_stage *st, unsigned bit)
{
	switch (bit) {
	case SPACE_FIELD_BLOCK: return (int)st->block;
	case SPACE_FIELD_OUT: return st->out;
	case SPACE_FIELD_LAYERS: return st->layers;
	case SPACE_FIELD_KERNEL: return st->kernel;
	case SPACE_FIELD_STRIDE: return st->stride;
	case SPACE_FIELD_EXPAND: return st->expand;
	case SPACE_FIELD_SKIP: return (int)st->skip;
	case SPACE_FIELD_ACT: return (int)st->act;
	}
	return -1; /* SPACE_FIELD_SE is a real */
}

enum core_status space_check(const struct space *s, const struct arch *a,
			     struct core_field_errors *fe)
{
	char p[64];

	core_field_errors_clear(fe);
	if (a->nstages < s->stages_min || a->nstages > s->stages_max)
		core_field_errorf(fe, "stages",
				  "%d stages is not in the space %d..%d",
				  a->nstages, s->stages_min, s->stages_max);
	check_int(fe, "input.resolution", &space_resolution_list, s,
		  a->resolution);
	check_int(fe, "input.channels", &space_channels_list, s, a->channels);
	if (a->stem.present && s->stem.mode == SPACE_STEM_NONE) {
		core_field_errorf(fe, "stem", "the space has no stem (null)");
	} else if (!a->stem.present && s->stem.mode == SPACE_STEM_REQUIRED) {
		core_field_errorf(fe, "stem", "the space requires a stem");
	} else if (a->stem.present) {
		const int v[SPACE_STEM_LISTS] = {a->stem.out, a->stem.kernel,
						 a->stem.stride,
						 (int)a->stem.act};

		for (int k = 0; k < SPACE_STEM_LISTS; k++) {
			snprintf(p, sizeof p, "stem.%s",
				 space_stem_lists[k].key);
			check_int(fe, p, &space_stem_lists[k], &s->stem, v[k]);
		}
	}
	for (int i = 0; i < a->nstages && i < ARCH_MAX_STAGES; i++) {
		const struct arch_stage *st = &a->stages[i];

		for (int k = 0; k < SPACE_STAGE_LISTS; k++) {
			const struct space_list_spec *sp =
			    &space_stage_lists[k];

			/* dwsep ignores expand (arch.h). */
			if (sp->bit == SPACE_FIELD_EXPAND &&
			    st->block == ARCH_BLOCK_DWSEP)
				continue;
			snprintf(p, sizeof p, "stages[%d].%s", i, sp->key);
			if (sp->kind == SPACE_KIND_REAL)
				check_real(fe, p, sp, &s->stage[i], st->se);
			else
				check_int(fe, p, sp, &s->stage[i],
					  stage_int(st, sp->bit));
		}
	}
	check_real(fe, "head.dropout", &space_dropout_list, s, a->dropout);
	return fe->n || fe->dropped ? CORE_ERR_INVALID : CORE_OK;
}

/* ---- prompt rendering -------------------------------------------------- */

static enum core_status render_lists(struct core_buf *b, const char *lead,
				     const struct space_list_spec *specs, int n,
				     const void *base, unsigned only)
{
	char list[SPACE_MAX_VALUES * 12 + 8];
	enum core_status rc = core_buf_printf(b, "%s", lead);
	int first = 1;

	for (int k = 0; k < n && rc == CORE_OK; k++) {
		const struct space_list_spec *sp = &specs[k];

		if (only && !(only & sp->bit))
			continue;
		space_list_format(sp, space_list_at(sp, base), list,
				  sizeof list);
		rc = core_buf_printf(
		    b, "%s%s %s%s", first ? "" : "; ", sp->key, list,
		    sp->bit == SPACE_FIELD_EXPAND ? " (mbconv only)" : "");
		first = 0;
	}
	if (rc == CORE_OK)
		rc = core_buf_append(b, "\n", 1);
	return rc;
}

enum core_status space_render_prompt(const struct space *s, struct core_buf *b)
{
	char res[SPACE_MAX_VALUES * 12 + 8], ch[SPACE_MAX_VALUES * 12 + 8];
	char drop[SPACE_MAX_VALUES * 24 + 8], lead[64];
	enum core_status rc;

	if (s->stages_min == s->stages_max)
		rc = core_buf_printf(b, "stages: exactly %d", s->stages_min);
	else
		rc = core_buf_printf(b, "stages: %d to %d", s->stages_min,
				     s->stages_max);
	if (rc)
		return rc;
	space_list_format(&space_resolution_list, &s->resolution, res,
			  sizeof res);
	space_list_format(&space_channels_list, &s->channels, ch, sizeof ch);
	rc = core_buf_printf(b,
			     " (each stage repeats one block `layers` "
			     "times; only its first block strides)\n"
			     "input.resolution %s; input.channels %s\n",
			     res, ch);
	if (rc)
		return rc;
	if (s->stem.mode == SPACE_STEM_NONE)
		rc = core_buf_printf(b, "stem: null\n");
	else
		rc = render_lists(b,
				  s->stem.mode == SPACE_STEM_OPTIONAL
				      ? "stem (null or an object): "
				      : "stem (required): ",
				  space_stem_lists, SPACE_STEM_LISTS, &s->stem,
				  0);
	if (rc)
		return rc;
	rc = render_lists(b, "every stage: ", space_stage_lists,
			  SPACE_STAGE_LISTS, &s->all, 0);
	for (int i = 0; i < s->stages_max && rc == CORE_OK; i++) {
		if (!s->overridden[i])
			continue;
		snprintf(lead, sizeof lead, "stages[%d] instead: ", i);
		rc = render_lists(b, lead, space_stage_lists, SPACE_STAGE_LISTS,
				  &s->stage[i], s->overridden[i]);
	}
	if (rc)
		return rc;
	space_list_format(&space_dropout_list, &s->dropout, drop, sizeof drop);
	return core_buf_printf(b, "head.dropout %s\n", drop);
}

/* ---- sampling ---------------------------------------------------------- */

static int pick_int(struct core_rng *rng, const struct space_ints *l)
{
	return l->v[core_rng_below(rng, (uint64_t)l->n)];
}

static double pick_real(struct core_rng *rng, const struct space_reals *l)
{
	return l->v[core_rng_below(rng, (uint64_t)l->n)];
}

/* One draw; every field is drawn in a fixed order, whatever its value, so a
 * seed always gives the same sequence. */
static void draw(const struct space *s, struct core_rng *rng, int classes,
		 struct arch *a)
{
	int stem = 0;

	memset(a, 0, sizeof *a); /* name "" */
	a->resolution = pick_int(rng, &s->resolution);
	a->channels = pick_int(rng, &s->channels);
	if (s->stem.mode == SPACE_STEM_REQUIRED)
		stem = 1;
	else if (s->stem.mode == SPACE_STEM_OPTIONAL)
		stem = (int)core_rng_below(rng, 2);
	if (stem) {
		a->stem.present = 1;
		a->stem.out = pick_int(rng, &s->stem.out);
		a->stem.kernel = pick_int(rng, &s->stem.kernel);
		a->stem.stride = pick_int(rng, &s->stem.stride);
		a->stem.act = (enum arch_act)pick_int(rng, &s->stem.act);
	}
	a->nstages = s->stages_min +
		     (int)core_rng_below(
			 rng, (uint64_t)(s->stages_max - s->stages_min + 1));
	for (int i = 0; i < a->nstages; i++) {
		const struct space_stage *l = &s->stage[i];
		struct arch_stage *st = &a->stages[i];

		st->block = (enum arch_block)pick_int(rng, &l->block);
		st->out = pick_int(rng, &l->out);
		st->layers = pick_int(rng, &l->layers);
		st->kernel = pick_int(rng, &l->kernel);
		st->stride = pick_int(rng, &l->stride);
		st->expand = pick_int(rng, &l->expand);
		st->se = pick_real(rng, &l->se);
		st->skip = (enum arch_skip)pick_int(rng, &l->skip);
		st->act = (enum arch_act)pick_int(rng, &l->act);
		if (st->block == ARCH_BLOCK_DWSEP)
			st->expand = 1;
	}
	a->dropout = pick_real(rng, &s->dropout);
	a->classes = classes;
}

enum core_status space_sample(const struct space *s, struct core_rng *rng,
			      int classes, struct arch *out, char *err,
			      size_t errlen)
{
	struct core_field_errors fe;
	struct arch a;

	if (classes < ARCH_MIN_CLASSES || classes > ARCH_MAX_CLASSES) {
		core_errf(err, errlen, "classes: %d is outside %d..%d", classes,
			  ARCH_MIN_CLASSES, ARCH_MAX_CLASSES);
		return CORE_ERR_INVALID;
	}
	fe.n = 0;
	for (int attempt = 0; attempt < SPACE_SAMPLE_ATTEMPTS; attempt++) {
		draw(s, rng, classes, &a);
		if (arch_validate(&a, &fe) == CORE_OK) {
			*out = a;
			return CORE_OK;
		}
	}
	core_errf(err, errlen,
		  "no valid architecture in %d draws (the last failed with "
		  "%s: %s)",
		  SPACE_SAMPLE_ATTEMPTS, fe.n ? fe.e[0].field : "?",
		  fe.n ? fe.e[0].reason : "?");
	return CORE_ERR_INVALID;
}
