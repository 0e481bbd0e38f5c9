/* SPDX-License-Identifier: Apache-2.0 */
/* ptq.c - post-training quantization: calibrated ranges to scales and zero
 * points, then every op of the folded network to int8 weights, int32
 * biases, per-channel requantization, clamp ranges and activation tables,
 * with the accumulator bound checked; owns struct quant_net. */
#include "quant_internal.h"

#include "model/model.h"

#include <math.h>
#include <string.h>

void quant_config_default(struct quant_config *c)
{
	c->percentile = 100.0;
}

void quant_net_free(struct quant_net *q)
{
	graph_free(&q->graph);
	core_free(q->tq);
	core_free(q->layers);
	core_free(q->store);
	memset(q, 0, sizeof *q);
	q->graph.input = q->graph.output = -1;
}

struct quant_qparams quant_qparams_from_range(double lo, double hi)
{
	struct quant_qparams p;
	double zp;

	if (!(lo <= 0.0)) /* NaN too */
		lo = 0.0;
	if (!(hi >= 0.0))
		hi = 0.0;
	if (hi - lo < QUANT_MIN_RANGE)
		hi = lo + QUANT_MIN_RANGE;
	p.scale = (hi - lo) / 255.0;
	zp = round(-128.0 - lo / p.scale);
	p.zp = zp < -128.0 ? -128 : (zp > 127.0 ? 127 : (int32_t)zp);
	return p;
}

/* The SE gate's fixed quantization: [0, 1) in 256 steps (TFLite LOGISTIC). */
static const struct quant_qparams sigmoid_qparams = {1.0 / 256.0, -128};

static enum quant_fn fn_of(enum graph_act a)
{
	switch (a) {
	case GRAPH_ACT_NONE: return QUANT_FN_IDENTITY;
	case GRAPH_ACT_RELU: return QUANT_FN_RELU;
	case GRAPH_ACT_RELU6: return QUANT_FN_RELU6;
	case GRAPH_ACT_LEAKYRELU: return QUANT_FN_LEAKYRELU;
	case GRAPH_ACT_SWISH: return QUANT_FN_SWISH;
	case GRAPH_ACT_HSWISH: return QUANT_FN_HSWISH;
	case GRAPH_ACT_SIGMOID: return QUANT_FN_SIGMOID;
	}
	return QUANT_FN_IDENTITY;
}

/* ---- the layer arrays: one allocation ------------------------------------ */

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static size_t layer_bytes(const struct graph_op *op)
{
	if (!graph_op_has_weights(op))
		return 0;
	return align8((size_t)graph_op_weight_count(op)) +
	       4 * align8((size_t)op->cout * 4);
}

static void layer_carve(const struct graph_op *op, struct quant_layer *L,
			unsigned char **p)
{
	const size_t ch = align8((size_t)op->cout * 4);

	/* the store is malloc'ed (aligned for any type) and every array
	 * starts at a multiple of 8 bytes */
	L->w = (int8_t *)*p;
	*p += align8((size_t)graph_op_weight_count(op));
	L->bias = (int32_t *)(void *)*p;
	*p += ch;
	L->mult = (int32_t *)(void *)*p;
	*p += ch;
	L->shift = (int32_t *)(void *)*p;
	*p += ch;
	L->w_scale = (float *)(void *)*p;
	*p += ch;
}

/* ---- weighted ops -------------------------------------------------------- */

/* Per output channel max |w| over the op's layout. */
static float channel_absmax(const struct graph_op *op, const float *w, int c)
{
	const size_t nw = (size_t)graph_op_weight_count(op);
	float m = 0.0f;

	if (op->kind == GRAPH_OP_DEPTHWISE) {
		for (size_t i = (size_t)c; i < nw; i += (size_t)op->cout)
			m = fabsf(w[i]) > m ? fabsf(w[i]) : m;
	} else {
		const size_t row = nw / (size_t)op->cout;

		for (size_t i = 0; i < row; i++) {
			float v = fabsf(w[(size_t)c * row + i]);
			m = v > m ? v : m;
		}
	}
	return m;
}

/* Weights, biases, requantization and the accumulator check of a conv or
 * linear op reading qparams in and writing target (the output, or the
 * pre-activation when a table follows). */
static enum core_status
quantize_weighted(const struct graph_op *op, const struct quant_fnet_op *fw,
		  struct quant_qparams in, struct quant_qparams target,
		  struct quant_layer *L, char *err, size_t errlen)
{
	const size_t nw = (size_t)graph_op_weight_count(op);
	const int cout = op->cout;
	const int dw = op->kind == GRAPH_OP_DEPTHWISE;
	const int taps = (int)(nw / (size_t)cout);
	char why[CORE_ERR_LEN];
	enum core_status rc;

	for (int c = 0; c < cout; c++) {
		float m = channel_absmax(op, fw->w, c);

		L->w_scale[c] = m > 0.0f ? m / 127.0f : 1.0f;
	}
	for (size_t i = 0; i < nw; i++) {
		const int c =
		    dw ? (int)(i % (size_t)cout) : (int)(i / (size_t)taps);
		double v = round((double)fw->w[i] / (double)L->w_scale[c]);

		L->w[i] = (int8_t)(v > 127.0 ? 127 : (v < -127.0 ? -127 : v));
	}
	for (int c = 0; c < cout; c++) {
		double b = round((double)fw->b[c] /
				 (in.scale * (double)L->w_scale[c]));

		if (!(fabs(b) <= (double)INT32_MAX)) {
			core_errf(err, errlen,
				  "layer %s: output channel %d: bias %g at "
				  "scale %g does not fit int32",
				  op->name, c, (double)fw->b[c],
				  in.scale * (double)L->w_scale[c]);
			return CORE_ERR_INVALID;
		}
		L->bias[c] = (int32_t)b;
	}
	rc = quant_per_channel_make(in.scale, L->w_scale, target.scale, cout,
				    L->mult, L->shift, why, sizeof why);
	if (rc) {
		core_errf(err, errlen, "layer %s: %s", op->name, why);
		return rc;
	}
	/* (C_out, taps) rows, or depthwise (K*K, C): strides (1, C) */
	return quant_acc_check(op->name, L->w, cout, taps, dw ? 1 : taps,
			       dw ? cout : 1, L->bias, -in.zp, L->shift,
			       &L->acc_worst, err, errlen);
}

static enum core_status quantize_op(const struct quant_fnet *f, int i,
				    const struct quant_qparams *tq,
				    const struct quant_calib *cal,
				    double percentile, struct quant_layer *L,
				    char *err, size_t errlen)
{
	const struct graph_op *op = &f->graph.ops[i];
	const struct quant_qparams in = tq[op->in[0]], out = tq[op->out];
	const enum quant_fn fn = fn_of(op->act);
	struct quant_qparams target = out;
	char why[CORE_ERR_LEN];
	enum core_status rc = CORE_OK;

	if (!quant_fn_is_clamp(fn)) {
		double lo, hi;

		quant_calib_range(cal, 2 * op->out + 1, percentile, &lo, &hi);
		L->lut = 1;
		L->pre = target = quant_qparams_from_range(lo, hi);
		rc = quant_lut_build(fn, L->pre.scale, L->pre.zp, out.scale,
				     out.zp, L->table, why, sizeof why);
		if (rc) {
			core_errf(err, errlen, "layer %s: %s", op->name, why);
			return rc;
		}
	}
	switch (op->kind) {
	case GRAPH_OP_CONV2D:
	case GRAPH_OP_CONV1X1:
	case GRAPH_OP_DEPTHWISE:
		rc = quantize_weighted(op, &f->ops[i], in, target, L, err,
				       errlen);
		L->conv.input_offset = -in.zp;
		L->conv.output_offset = target.zp;
		L->conv.stride = op->stride;
		L->conv.padding = op->pad;
		L->conv.dilation = 1;
		quant_fn_clamp_range(L->lut ? QUANT_FN_IDENTITY : fn,
				     target.scale, target.zp, &L->conv.act_min,
				     &L->conv.act_max);
		return rc;
	case GRAPH_OP_LINEAR:
		rc = quantize_weighted(op, &f->ops[i], in, target, L, err,
				       errlen);
		L->fc.input_offset = -in.zp;
		L->fc.output_offset = target.zp;
		quant_fn_clamp_range(L->lut ? QUANT_FN_IDENTITY : fn,
				     target.scale, target.zp, &L->fc.act_min,
				     &L->fc.act_max);
		return rc;
	case GRAPH_OP_GAP: {
		const struct graph_tensor *x = &f->graph.tensors[op->in[0]];

		rc = quant_pool_params_make(in.scale, in.zp, target.scale,
					    target.zp, x->h * x->w, &L->pool,
					    why, sizeof why);
		break;
	}
	case GRAPH_OP_MUL: {
		const struct quant_qparams gate = tq[op->in[1]];

		rc = quant_mul_params_make(in.scale, in.zp, gate.scale, gate.zp,
					   target.scale, target.zp, &L->mul,
					   why, sizeof why);
		break;
	}
	case GRAPH_OP_ADD: {
		const struct quant_qparams b = tq[op->in[1]];

		rc = quant_add_params_make(in.scale, in.zp, b.scale, b.zp,
					   target.scale, target.zp, &L->add,
					   why, sizeof why);
		break;
	}
	}
	if (rc)
		core_errf(err, errlen, "layer %s: %s", op->name, why);
	return rc;
}

enum core_status quant_net_from_fnet(const struct quant_fnet *f, const float *x,
				     int n, const struct quant_config *cfg,
				     struct quant_net *q, char *err,
				     size_t errlen)
{
	struct quant_calib cal;
	const struct graph *g;
	struct quant_config def;
	enum core_status rc;
	size_t bytes = 0;
	unsigned char *p;

	memset(q, 0, sizeof *q);
	memset(&cal, 0, sizeof cal);
	if (!cfg) {
		quant_config_default(&def);
		cfg = &def;
	}
	q->arch = f->arch;
	q->calib_images = n;
	q->percentile = cfg->percentile;
	rc = graph_build(&f->arch, 1, &q->graph, err, errlen);
	if (rc)
		goto out;
	g = &q->graph;
	rc = quant_calib_run(f, x, n, cfg->percentile, &cal, err, errlen);
	if (rc)
		goto out;
	for (int i = 0; i < g->nops; i++)
		bytes += layer_bytes(&g->ops[i]);
	q->tq = core_calloc((size_t)g->ntensors, sizeof *q->tq);
	q->layers = core_calloc((size_t)g->nops, sizeof *q->layers);
	q->store = core_malloc(bytes ? bytes : 8);
	if (!q->tq || !q->layers || !q->store) {
		core_errf(err, errlen, "quantize: out of memory");
		rc = CORE_ERR_NOMEM;
		goto out;
	}
	for (int t = 0; t < g->ntensors; t++) {
		const int prod = g->tensors[t].producer;
		double lo, hi;

		if (prod >= 0 && g->ops[prod].act == GRAPH_ACT_SIGMOID) {
			q->tq[t] = sigmoid_qparams;
			continue;
		}
		quant_calib_range(&cal, 2 * t, cfg->percentile, &lo, &hi);
		q->tq[t] = quant_qparams_from_range(lo, hi);
	}
	p = q->store;
	for (int i = 0; i < g->nops; i++) {
		if (graph_op_has_weights(&g->ops[i]))
			layer_carve(&g->ops[i], &q->layers[i], &p);
		rc = quantize_op(f, i, q->tq, &cal, cfg->percentile,
				 &q->layers[i], err, errlen);
		if (rc)
			goto out;
	}
out:
	quant_calib_free(&cal);
	if (rc)
		quant_net_free(q);
	return rc;
}

enum core_status quant_net_build(struct model *m, const float *x, int n,
				 const struct quant_config *cfg,
				 struct quant_net *q, char *err, size_t errlen)
{
	struct quant_fnet f;
	enum core_status rc;

	memset(q, 0, sizeof *q);
	rc = quant_fnet_build(m, &f, err, errlen);
	if (rc)
		return rc;
	rc = quant_net_from_fnet(&f, x, n, cfg, q, err, errlen);
	quant_fnet_free(&f);
	return rc;
}
