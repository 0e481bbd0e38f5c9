/* SPDX-License-Identifier: Apache-2.0 */
/* costtest.c - test-only architecture helpers for the graph and cost tests:
 * a minimal lmnas-arch/1 reader (the real parser lives in service/arch), a
 * random architecture generator, fixture paths. */
#include "costtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const act_names[ARCH_ACT_COUNT] = {
    "relu", "relu6", "leakyrelu", "swish", "hswish"};

/* o[k] as an int; def when absent and def_ok, else an error. */
static int get_int(const json_t *o, const char *k, int def_ok, int def, int *v,
		   char *err, size_t errlen)
{
	const json_t *x = json_object_get(o, k);

	if (!x && def_ok) {
		*v = def;
		return 0;
	}
	if (!json_is_integer(x)) {
		core_errf(err, errlen, "%s: missing or not an integer", k);
		return -1;
	}
	*v = (int)json_integer_value(x);
	return 0;
}

static double get_real(const json_t *o, const char *k)
{
	const json_t *x = json_object_get(o, k);

	return json_is_number(x) ? json_number_value(x) : 0.0;
}

static int get_act(const json_t *o, enum arch_act *v, char *err, size_t errlen)
{
	const json_t *x = json_object_get(o, "act");
	const char *s = json_string_value(x);

	if (!x) {
		*v = ARCH_ACT_RELU6; /* the format's default */
		return 0;
	}
	for (int i = 0; s && i < ARCH_ACT_COUNT; i++)
		if (strcmp(s, act_names[i]) == 0) {
			*v = (enum arch_act)i;
			return 0;
		}
	core_errf(err, errlen, "act: not a known activation");
	return -1;
}

static int get_stage(const json_t *s, struct arch_stage *st, char *err,
		     size_t errlen)
{
	const char *block = json_string_value(json_object_get(s, "block"));
	const char *skip = json_string_value(json_object_get(s, "skip"));

	if (!block) {
		core_errf(err, errlen, "stage: block missing");
		return -1;
	}
	if (strcmp(block, "mbconv") == 0)
		st->block = ARCH_BLOCK_MBCONV;
	else if (strcmp(block, "dwsep") == 0)
		st->block = ARCH_BLOCK_DWSEP;
	else {
		core_errf(err, errlen, "stage: unknown block %s", block);
		return -1;
	}
	st->skip = skip && strcmp(skip, "residual") == 0 ? ARCH_SKIP_RESIDUAL
							 : ARCH_SKIP_NONE;
	st->se = get_real(s, "se");
	if (get_int(s, "out", 0, 0, &st->out, err, errlen) ||
	    get_int(s, "layers", 0, 0, &st->layers, err, errlen) ||
	    get_int(s, "kernel", 0, 0, &st->kernel, err, errlen) ||
	    get_int(s, "stride", 1, 1, &st->stride, err, errlen) ||
	    get_int(s, "expand", st->block == ARCH_BLOCK_DWSEP, 1, &st->expand,
		    err, errlen) ||
	    get_act(s, &st->act, err, errlen))
		return -1;
	return 0;
}

enum core_status costtest_arch_from_json(const json_t *j, struct arch *out,
					 char *err, size_t errlen)
{
	const json_t *in = json_object_get(j, "input");
	const json_t *stem = json_object_get(j, "stem");
	const json_t *stages = json_object_get(j, "stages");
	const json_t *head = json_object_get(j, "head");
	const char *name = json_string_value(json_object_get(j, "name"));

	memset(out, 0, sizeof *out);
	if (name)
		snprintf(out->name, sizeof out->name, "%s", name);
	if (get_int(in, "resolution", 0, 0, &out->resolution, err, errlen) ||
	    get_int(in, "channels", 1, 3, &out->channels, err, errlen) ||
	    get_int(head, "classes", 0, 0, &out->classes, err, errlen))
		return CORE_ERR_INVALID;
	out->dropout = get_real(head, "dropout");
	if (json_is_object(stem)) {
		out->stem.present = 1;
		if (get_int(stem, "out", 0, 0, &out->stem.out, err, errlen) ||
		    get_int(stem, "kernel", 1, 3, &out->stem.kernel, err,
			    errlen) ||
		    get_int(stem, "stride", 1, 2, &out->stem.stride, err,
			    errlen) ||
		    get_act(stem, &out->stem.act, err, errlen))
			return CORE_ERR_INVALID;
	}
	if (!json_is_array(stages) ||
	    json_array_size(stages) > ARCH_MAX_STAGES) {
		core_errf(err, errlen, "stages: missing or too many");
		return CORE_ERR_INVALID;
	}
	out->nstages = (int)json_array_size(stages);
	for (int i = 0; i < out->nstages; i++)
		if (get_stage(json_array_get(stages, (size_t)i),
			      &out->stages[i], err, errlen))
			return CORE_ERR_INVALID;
	return CORE_OK;
}

static int pick(struct core_rng *rng, int lo, int hi)
{
	return lo + (int)core_rng_below(rng, (uint64_t)(hi - lo + 1));
}

void costtest_arch_random(struct core_rng *rng, struct arch *a)
{
	static const double se[] = {0.0, 0.0, 0.125, 0.25, 0.5, 1.0};
	int c;

	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "random");
	a->resolution = pick(rng, 8, 64);
	a->channels = pick(rng, 1, 4);
	a->classes = pick(rng, 2, 100);
	a->dropout = 0.1;
	a->stem.present = pick(rng, 0, 3) > 0;
	c = a->channels;
	if (a->stem.present) {
		a->stem.out = pick(rng, 1, 32);
		a->stem.kernel = 2 * pick(rng, 0, 3) + 1;
		a->stem.stride = pick(rng, 1, 2);
		a->stem.act = (enum arch_act)pick(rng, 0, ARCH_ACT_COUNT - 1);
		c = a->stem.out;
	}
	a->nstages = pick(rng, 1, 4);
	for (int i = 0; i < a->nstages; i++) {
		struct arch_stage *s = &a->stages[i];

		s->block =
		    pick(rng, 0, 1) ? ARCH_BLOCK_MBCONV : ARCH_BLOCK_DWSEP;
		/* widths often equal the input, so identity residuals occur */
		s->out = pick(rng, 0, 2) ? pick(rng, 1, 64) : c;
		s->layers = pick(rng, 1, 3);
		s->kernel = 2 * pick(rng, 0, 3) + 1;
		s->stride = pick(rng, 1, 2);
		s->expand = pick(rng, 1, 6);
		s->se = se[pick(rng, 0, 5)];
		s->skip = pick(rng, 0, 2) ? ARCH_SKIP_RESIDUAL : ARCH_SKIP_NONE;
		s->act = (enum arch_act)pick(rng, 0, ARCH_ACT_COUNT - 1);
		c = s->out;
	}
}

const char *costtest_fixture_path(const char *rel, char *buf, size_t len)
{
	const char *root = getenv("LMNAS_ROOT");

	snprintf(buf, len, "%s/tests/fixtures/%s", root ? root : ".", rel);
	return buf;
}
