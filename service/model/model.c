/* SPDX-License-Identifier: Apache-2.0 */
/* model.c - building a model from an architecture: the parameter table, the
 * arena layout and initialisation. The passes are in model_pass.c. */
#include "model_internal.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

/* ---- layout bookkeeping while building ---- */

struct builder {
	struct model *m;
	int n; /* max batch */
	size_t nparams, nbuffers, arena;
	size_t scratch;
	size_t max_gbuf[MODEL_GBUFS]; /* floats each gradient buffer needs */
	int max_c;		      /* widest tensor: the partial sums' row */
	int threads;		      /* workers the scratch is sized for */
	int ntensors, cap;
	char *err;
	size_t errlen;
	enum core_status st;
};

static size_t arena_take(struct builder *b, size_t count)
{
	size_t off = b->arena;

	/* keep every tensor 64-byte aligned (16 floats) */
	b->arena += (count + 15) & ~(size_t)15;
	return off;
}

/* Gradient buffer i must hold count floats. */
static void note_gbuf(struct builder *b, int i, size_t count)
{
	if (count > b->max_gbuf[i])
		b->max_gbuf[i] = count;
}

static void note_c(struct builder *b, int c)
{
	if (c > b->max_c)
		b->max_c = c;
}

static void note_scratch(struct builder *b, size_t bytes)
{
	if (bytes > b->scratch)
		b->scratch = bytes;
}

/* Registers a named tensor; returns its offset in params or bn_stats. */
static size_t add_tensor(struct builder *b, const char *prefix,
			 const char *suffix, enum model_tensor_kind kind,
			 enum model_tensor_layout layout, int decay, int ndim,
			 int s0, int s1, int s2, int s3)
{
	struct model_tensor *t;
	size_t count = 1;
	int shape[4] = {s0, s1, s2, s3};

	if (b->st)
		return 0;
	if (b->ntensors == b->cap) {
		int ncap = b->cap ? 2 * b->cap : 64;
		struct model_tensor *nt =
		    core_realloc(b->m->tensors, (size_t)ncap * sizeof *nt);
		if (!nt) {
			core_errf(b->err, b->errlen, "out of memory");
			b->st = CORE_ERR_NOMEM;
			return 0;
		}
		b->m->tensors = nt;
		b->cap = ncap;
	}
	t = &b->m->tensors[b->ntensors++];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s.%s", prefix, suffix);
	t->kind = kind;
	t->layout = layout;
	t->decay = decay;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++) {
		t->shape[i] = shape[i];
		count *= (size_t)shape[i];
	}
	t->count = count;
	if (kind == MODEL_PARAM) {
		t->offset = b->nparams;
		b->nparams += count;
	} else {
		t->offset = b->nbuffers;
		b->nbuffers += count;
	}
	return t->offset;
}

/* conv (kxk, 1x1 or depthwise) + BN (+ act) named prefix.conv / prefix.bn,
 * on input (n, h, w, cin). dense: the stem, whose output is stored (the
 * others are read through views). */
static void add_convbn(struct builder *b, struct model_convbn *u,
		       const char *prefix, int h, int w, int cin, int cout,
		       int k, int stride, int depthwise, int dense,
		       enum nn_act act)
{
	char cname[64], bname[64];
	size_t count;

	if (b->st)
		return;
	memset(u, 0, sizeof *u);
	u->kind = depthwise			    ? MODEL_CONV_DEPTHWISE
		  : !dense && k == 1 && stride == 1 ? MODEL_CONV_POINTWISE
						    : MODEL_CONV_DENSE;
	u->act = act;
	snprintf(cname, sizeof cname, "%s.conv", prefix);
	snprintf(bname, sizeof bname, "%s.bn", prefix);
	if (depthwise) {
		b->st = nn_dwconv_dims_init(&u->dd, b->n, h, w, cin, k, stride,
					    k / 2, b->err, b->errlen);
		if (b->st)
			return;
		u->out_shape = (struct nn_shape){b->n, u->dd.ho, u->dd.wo, cin};
		u->w = add_tensor(b, cname, "weight", MODEL_PARAM,
				  MODEL_LAYOUT_DW, 1, 4, cin, 1, k, k);
		note_scratch(b, nn_dw_scratch_size(&u->dd, b->threads));
	} else {
		b->st = nn_conv2d_dims_init(&u->cd, b->n, h, w, cin, cout, k,
					    stride, k / 2, b->err, b->errlen);
		if (b->st)
			return;
		u->out_shape =
		    (struct nn_shape){b->n, u->cd.ho, u->cd.wo, cout};
		u->w = add_tensor(b, cname, "weight", MODEL_PARAM,
				  MODEL_LAYOUT_CONV, 1, 4, cout, cin, k, k);
		u->pd = (struct nn_pw_dims){(size_t)b->n * h * w, cin, cout};
		note_scratch(
		    b, u->kind == MODEL_CONV_POINTWISE
			   ? nn_pw_scratch_size(&u->pd, b->threads)
			   : nn_conv2d_fused_scratch_size(&u->cd, b->threads));
	}
	b->st = nn_shape_check(&u->out_shape, b->err, b->errlen);
	if (b->st)
		return;
	cout = u->out_shape.c;
	u->gamma = add_tensor(b, bname, "weight", MODEL_PARAM,
			      MODEL_LAYOUT_PLAIN, 0, 1, cout, 0, 0, 0);
	u->beta = add_tensor(b, bname, "bias", MODEL_PARAM, MODEL_LAYOUT_PLAIN,
			     0, 1, cout, 0, 0, 0);
	u->rmean = add_tensor(b, bname, "running_mean", MODEL_BUFFER,
			      MODEL_LAYOUT_PLAIN, 0, 1, cout, 0, 0, 0);
	u->rvar = add_tensor(b, bname, "running_var", MODEL_BUFFER,
			     MODEL_LAYOUT_PLAIN, 0, 1, cout, 0, 0, 0);
	count = nn_shape_count(&u->out_shape);
	u->pre = arena_take(b, count);
	if (dense)
		u->out = arena_take(b, count);
	u->mean = arena_take(b, (size_t)cout);
	u->rstd = arena_take(b, (size_t)cout);
	u->scale = arena_take(b, (size_t)cout);
	u->m1 = arena_take(b, (size_t)cout);
	u->m2 = arena_take(b, (size_t)cout);
	note_c(b, cin);
	note_c(b, cout);
}

static void add_block(struct builder *b, struct model_block *blk,
		      const struct arch_stage *st, int si, int bj, int h, int w,
		      int cin, int stride, size_t in_off)
{
	char p[32], name[64];
	enum nn_act act;
	int c = cin;

	if (b->st)
		return;
	memset(blk, 0, sizeof *blk);
	b->st = nn_act_from_arch(st->act, &act);
	if (b->st) {
		core_errf(b->err, b->errlen, "stages[%d].act: unsupported", si);
		return;
	}
	blk->in = in_off;
	blk->in_shape = (struct nn_shape){b->n, h, w, cin};
	snprintf(p, sizeof p, "stages.%d.%d", si, bj);
	if (st->block == ARCH_BLOCK_MBCONV) {
		c = cin * st->expand;
		blk->has_expand = 1;
		snprintf(name, sizeof name, "%s.expand", p);
		add_convbn(b, &blk->expand, name, h, w, cin, c, 1, 1, 0, 0,
			   act);
	}
	snprintf(name, sizeof name, "%s.dw", p);
	add_convbn(b, &blk->dw, name, h, w, c, c, st->kernel, stride, 1, 0,
		   act);
	if (b->st)
		return;
	blk->mid_shape = blk->dw.out_shape;
	if (st->se > 0.0) {
		int r = (int)floor((double)c * st->se);
		blk->has_se = 1;
		blk->se_r = r < 1 ? 1 : r;
		snprintf(name, sizeof name, "%s.se.reduce", p);
		blk->se_w1 =
		    add_tensor(b, name, "weight", MODEL_PARAM,
			       MODEL_LAYOUT_PLAIN, 1, 4, blk->se_r, c, 1, 1);
		blk->se_b1 =
		    add_tensor(b, name, "bias", MODEL_PARAM, MODEL_LAYOUT_PLAIN,
			       0, 1, blk->se_r, 0, 0, 0);
		snprintf(name, sizeof name, "%s.se.expand", p);
		blk->se_w2 =
		    add_tensor(b, name, "weight", MODEL_PARAM,
			       MODEL_LAYOUT_PLAIN, 1, 4, c, blk->se_r, 1, 1);
		blk->se_b2 = add_tensor(b, name, "bias", MODEL_PARAM,
					MODEL_LAYOUT_PLAIN, 0, 1, c, 0, 0, 0);
		blk->se_pooled = arena_take(b, (size_t)b->n * (size_t)c);
		blk->se_hidden =
		    arena_take(b, (size_t)b->n * (size_t)blk->se_r);
		blk->se_gate = arena_take(b, (size_t)b->n * (size_t)c);
		note_scratch(b, nn_se_scratch_size(&blk->mid_shape, blk->se_r));
	}
	snprintf(name, sizeof name, "%s.project", p);
	add_convbn(b, &blk->project, name, blk->mid_shape.h, blk->mid_shape.w,
		   c, st->out, 1, 1, 0, 0, NN_ACT_NONE);
	blk->residual = st->skip == ARCH_SKIP_RESIDUAL && stride == 1;
	if (blk->residual && cin != st->out) {
		blk->has_shortcut = 1;
		snprintf(name, sizeof name, "%s.shortcut", p);
		add_convbn(b, &blk->shortcut, name, h, w, cin, st->out, 1, 1, 0,
			   0, NN_ACT_NONE);
	}
	if (b->st)
		return;
	blk->out_shape = blk->project.out_shape;
	/* the block output, BN(project) [+ input or shortcut]: the next
	 * block's input, stored */
	blk->out = arena_take(b, nn_shape_count(&blk->out_shape));
	/* backward: block input and output gradients rotate through buffers
	 * 0 and 1, the middle gradient goes to 2, the expand's to 3 */
	note_gbuf(b, 0, nn_shape_count(&blk->in_shape));
	note_gbuf(b, 0, nn_shape_count(&blk->out_shape));
	note_gbuf(b, 1, nn_shape_count(&blk->in_shape));
	note_gbuf(b, 1, nn_shape_count(&blk->out_shape));
	note_gbuf(b, 2, nn_shape_count(&blk->mid_shape));
	if (blk->has_expand)
		note_gbuf(b, 3, nn_shape_count(&blk->expand.out_shape));
}

/* Box-Muller normal from the core generator. */
static double normal(struct core_rng *r)
{
	double u1 = core_rng_uniform(r), u2 = core_rng_uniform(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static enum core_status init_params(struct model *m, uint64_t seed)
{
	struct core_rng rng;
	size_t maxc = 1;
	float *tmp;

	for (int i = 0; i < m->ntensors; i++)
		if (m->tensors[i].count > maxc)
			maxc = m->tensors[i].count;
	tmp = core_malloc(maxc * sizeof *tmp);
	if (!tmp)
		return CORE_ERR_NOMEM;

	core_rng_seed(&rng, seed);
	for (int i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		float *d = model_tensor_data(m, t);
		int is_bias = strstr(t->name, ".bias") != NULL;
		int is_bn = strstr(t->name, ".bn.") != NULL;
		double std = 0.0;

		if (t->kind == MODEL_BUFFER) {
			float v = strstr(t->name, "running_var") ? 1.0f : 0.0f;
			for (size_t k = 0; k < t->count; k++)
				d[k] = v;
			continue;
		}
		if (is_bn) {
			float v = is_bias ? 0.0f : 1.0f;
			for (size_t k = 0; k < t->count; k++)
				d[k] = v;
			continue;
		}
		if (is_bias) {
			memset(d, 0, t->count * sizeof *d);
			continue;
		}
		if (strcmp(t->name, "head.fc.weight") == 0) {
			std = 0.01;
		} else {
			/* Kaiming normal, fan_out = shape[0] * receptive field,
			 * as torch computes it (also for depthwise) */
			double fan_out = (double)t->shape[0];
			for (int k = 2; k < t->ndim; k++)
				fan_out *= t->shape[k];
			std = sqrt(2.0 / fan_out);
		}
		/* drawn in PyTorch order, stored in ours */
		for (size_t k = 0; k < t->count; k++)
			tmp[k] = (float)(std * normal(&rng));
		model_tensor_from_torch(m, t, tmp);
	}
	core_free(tmp);
	return CORE_OK;
}

enum core_status model_build(const struct arch *a, int max_batch, int training,
			     uint64_t seed, struct model **out, char *err,
			     size_t errlen)
{
	struct builder b;
	struct model *m;
	int h = a->resolution, c = a->channels;
	int w = h; /* square input */
	size_t prev, count;
	int nblocks = 0, bi = 0;

	*out = NULL;
	if (max_batch < 1 || max_batch > 4096) {
		core_errf(err, errlen, "batch %d is outside 1..4096",
			  max_batch);
		return CORE_ERR_INVALID;
	}
	m = core_calloc(1, sizeof *m);
	if (!m) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	memset(&b, 0, sizeof b);
	b.m = m;
	b.n = max_batch;
	b.err = err;
	b.errlen = errlen;
	b.threads = omp_get_max_threads();
	if (b.threads < 1)
		b.threads = 1;
	m->arch = *a;
	m->max_batch = max_batch;
	m->training = training;
	m->classes = a->classes;

	for (int i = 0; i < a->nstages; i++)
		nblocks += a->stages[i].layers;
	m->blocks = core_calloc((size_t)nblocks, sizeof *m->blocks);
	if (a->stem.present)
		m->stem = core_calloc(1, sizeof *m->stem);
	if (!m->blocks || (a->stem.present && !m->stem)) {
		core_errf(err, errlen, "out of memory");
		b.st = CORE_ERR_NOMEM;
		goto fail;
	}
	m->nblocks = nblocks;

	count = (size_t)max_batch * (size_t)h * (size_t)w * (size_t)c;
	m->input_off = arena_take(&b, count);
	prev = m->input_off;
	if (a->stem.present) {
		enum nn_act act;
		if (nn_act_from_arch(a->stem.act, &act)) {
			core_errf(err, errlen, "stem.act: unsupported");
			b.st = CORE_ERR_INVALID;
			goto fail;
		}
		add_convbn(&b, m->stem, "stem", h, w, c, a->stem.out,
			   a->stem.kernel, a->stem.stride, 0, 1, act);
		if (b.st)
			goto fail;
		h = m->stem->out_shape.h;
		w = m->stem->out_shape.w;
		c = m->stem->out_shape.c;
		prev = m->stem->out;
	}
	for (int i = 0; i < a->nstages; i++) {
		const struct arch_stage *st = &a->stages[i];
		for (int j = 0; j < st->layers; j++, bi++) {
			struct model_block *blk = &m->blocks[bi];
			add_block(&b, blk, st, i, j, h, w, c,
				  j == 0 ? st->stride : 1, prev);
			if (b.st)
				goto fail;
			h = blk->out_shape.h;
			w = blk->out_shape.w;
			c = blk->out_shape.c;
			prev = blk->out;
		}
	}
	m->head_c = c;
	m->head_in = prev;
	m->head_in_shape = (struct nn_shape){max_batch, h, w, c};
	m->head_pooled = arena_take(&b, (size_t)max_batch * (size_t)c);
	m->head_dropped = arena_take(&b, (size_t)max_batch * (size_t)c);
	m->head_mask = arena_take(&b, (size_t)max_batch * (size_t)c);
	m->head_logits = arena_take(&b, (size_t)max_batch * (size_t)a->classes);
	m->head_dpool = arena_take(&b, (size_t)max_batch * (size_t)c);
	m->head_ddrop = arena_take(&b, (size_t)max_batch * (size_t)c);
	m->fc_w = add_tensor(&b, "head.fc", "weight", MODEL_PARAM,
			     MODEL_LAYOUT_PLAIN, 1, 2, a->classes, c, 0, 0);
	m->fc_b = add_tensor(&b, "head.fc", "bias", MODEL_PARAM,
			     MODEL_LAYOUT_PLAIN, 0, 1, a->classes, 0, 0, 0);
	/* the head's gradient of the last block's output */
	note_gbuf(&b, 0, (size_t)max_batch * h * w * c);
	if (b.st)
		goto fail;
	m->ntensors = b.ntensors;
	m->nparams = b.nparams;
	m->nbuffers = b.nbuffers;
	m->arena_count = b.arena;
	for (int i = 0; i < MODEL_GBUFS; i++)
		m->gbuf_count[i] = (b.max_gbuf[i] + 15) & ~(size_t)15;
	m->scratch_bytes = b.scratch < 64 ? 64 : b.scratch;
	b.st = nn_pool_create(b.threads, &m->pool, err, errlen);
	if (b.st)
		goto fail;
	m->sums_count = (size_t)NN_SLICES * 2 * (size_t)b.max_c;

	m->params = core_calloc(m->nparams, sizeof *m->params);
	m->bn_stats =
	    core_calloc(m->nbuffers ? m->nbuffers : 1, sizeof *m->bn_stats);
	m->decay_mask = core_calloc(m->nparams, 1);
	m->arena = core_malloc(m->arena_count * sizeof *m->arena);
	m->scratch = core_malloc(m->scratch_bytes);
	if (!m->params || !m->bn_stats || !m->decay_mask || !m->arena ||
	    !m->scratch)
		goto nomem;
	if (training) {
		m->grads = core_calloc(m->nparams, sizeof *m->grads);
		m->sums = core_malloc(m->sums_count * sizeof *m->sums);
		if (!m->grads || !m->sums)
			goto nomem;
		for (int i = 0; i < MODEL_GBUFS; i++) {
			m->gbuf[i] = core_malloc(
			    (m->gbuf_count[i] ? m->gbuf_count[i] : 16) *
			    sizeof(float));
			if (!m->gbuf[i])
				goto nomem;
		}
	}
	for (int i = 0; i < m->ntensors; i++)
		if (m->tensors[i].kind == MODEL_PARAM && m->tensors[i].decay)
			memset(m->decay_mask + m->tensors[i].offset, 1,
			       m->tensors[i].count);
	if (init_params(m, seed))
		goto nomem;
	*out = m;
	return CORE_OK;
nomem:
	core_errf(err, errlen, "out of memory building the model (%zu MiB)",
		  model_memory_bytes(m) >> 20);
	b.st = CORE_ERR_NOMEM;
fail:
	model_free(m);
	return b.st;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	core_free(m->params);
	core_free(m->grads);
	core_free(m->bn_stats);
	core_free(m->decay_mask);
	core_free(m->tensors);
	core_free(m->stem);
	core_free(m->blocks);
	core_free(m->arena);
	core_free(m->sums);
	for (int i = 0; i < MODEL_GBUFS; i++)
		core_free(m->gbuf[i]);
	core_free(m->scratch);
	nn_pool_free(m->pool);
	core_free(m);
}

size_t model_memory_bytes(const struct model *m)
{
	size_t f = sizeof(float);
	size_t total = m->nparams * f + m->nbuffers * f + m->nparams +
		       m->arena_count * f + m->scratch_bytes;

	if (m->training)
		total += m->nparams * f + m->gbuf_count[0] * f +
			 m->gbuf_count[1] * f + m->gbuf_count[2] * f +
			 m->gbuf_count[3] * f + m->sums_count * sizeof(double);
	return total;
}

void model_zero_grads(struct model *m)
{
	if (m->grads)
		memset(m->grads, 0, m->nparams * sizeof *m->grads);
}

const struct model_tensor *model_tensor_find(const struct model *m,
					     const char *name)
{
	for (int i = 0; i < m->ntensors; i++)
		if (strcmp(m->tensors[i].name, name) == 0)
			return &m->tensors[i];
	return NULL;
}

float *model_tensor_data(struct model *m, const struct model_tensor *t)
{
	return (t->kind == MODEL_PARAM ? m->params : m->bn_stats) + t->offset;
}

void model_tensor_to_torch(const struct model *m, const struct model_tensor *t,
			   float *dst)
{
	const float *src =
	    (t->kind == MODEL_PARAM ? m->params : m->bn_stats) + t->offset;

	switch (t->layout) {
	case MODEL_LAYOUT_CONV:
		nn_conv2d_weight_to_torch(dst, src, t->shape[0], t->shape[1],
					  t->shape[2]);
		break;
	case MODEL_LAYOUT_DW:
		nn_dwconv_weight_to_torch(dst, src, t->shape[0], t->shape[2]);
		break;
	case MODEL_LAYOUT_PLAIN:
		memcpy(dst, src, t->count * sizeof *dst);
		break;
	}
}

void model_tensor_from_torch(struct model *m, const struct model_tensor *t,
			     const float *src)
{
	float *dst = model_tensor_data(m, t);

	switch (t->layout) {
	case MODEL_LAYOUT_CONV:
		nn_conv2d_weight_from_torch(dst, src, t->shape[0], t->shape[1],
					    t->shape[2]);
		break;
	case MODEL_LAYOUT_DW:
		nn_dwconv_weight_from_torch(dst, src, t->shape[0], t->shape[2]);
		break;
	case MODEL_LAYOUT_PLAIN:
		memcpy(dst, src, t->count * sizeof *dst);
		break;
	}
}
