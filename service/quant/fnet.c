/* SPDX-License-Identifier: Apache-2.0 */
/* fnet.c - the float network of a trained model with BN folded into the
 * convs (struct quant_fnet) and its forward pass over the inference graph,
 * op by op as generated MCU code runs it, with an observer for calibration;
 * owns struct quant_fnet. */
#include "quant.h"

#include "model/model.h"
#include "nn/nn.h"

#include <math.h>
#include <string.h>

void quant_fnet_free(struct quant_fnet *f)
{
	graph_free(&f->graph);
	core_free(f->ops);
	core_free(f->store);
	memset(f, 0, sizeof *f);
	f->graph.input = f->graph.output = -1;
}

/* The model tensor "<prefix>.<suffix>" with exactly count floats. */
static enum core_status find(struct model *m, const char *prefix,
			     const char *suffix, size_t count,
			     const float **out, char *err, size_t errlen)
{
	char name[96];
	const struct model_tensor *t;

	snprintf(name, sizeof name, "%s.%s", prefix, suffix);
	t = model_tensor_find(m, name);
	if (!t || t->count != count) {
		core_errf(err, errlen,
			  "fold: the model has no tensor %s of %zu values",
			  name, count);
		return CORE_ERR_INVALID;
	}
	*out = model_tensor_data(m, t);
	return CORE_OK;
}

/* w (cout rows of the op's layout) and b folded from the conv and BN of op
 * (module paths "<name>.conv" and "<name>.bn"), or copied from the layer's
 * own weight and bias (SE FCs, head.fc). */
static enum core_status fold_op(struct model *m, const struct graph_op *op,
				float *w, float *b, char *err, size_t errlen)
{
	const size_t nw = (size_t)graph_op_weight_count(op);
	const int cout = op->cout;
	const float *src, *gamma, *beta, *mean, *var, *bias;
	char conv[GRAPH_NAME_LEN + 8], bn[GRAPH_NAME_LEN + 8];
	enum core_status rc;

	if (!op->bn) {
		rc = find(m, op->name, "weight", nw, &src, err, errlen);
		if (!rc)
			rc = find(m, op->name, "bias", (size_t)cout, &bias, err,
				  errlen);
		if (rc)
			return rc;
		memcpy(w, src, nw * sizeof *w);
		memcpy(b, bias, (size_t)cout * sizeof *b);
		return CORE_OK;
	}
	snprintf(conv, sizeof conv, "%s.conv", op->name);
	snprintf(bn, sizeof bn, "%s.bn", op->name);
	rc = find(m, conv, "weight", nw, &src, err, errlen);
	if (!rc)
		rc = find(m, bn, "weight", (size_t)cout, &gamma, err, errlen);
	if (!rc)
		rc = find(m, bn, "bias", (size_t)cout, &beta, err, errlen);
	if (!rc)
		rc = find(m, bn, "running_mean", (size_t)cout, &mean, err,
			  errlen);
	if (!rc)
		rc =
		    find(m, bn, "running_var", (size_t)cout, &var, err, errlen);
	if (rc)
		return rc;
	for (int c = 0; c < cout; c++) {
		/* the scale nn_bn_act_forward_eval computes, in float */
		const float s = gamma[c] / sqrtf(var[c] + NN_BN_EPS);

		b[c] = beta[c] - mean[c] * s;
		if (op->kind == GRAPH_OP_DEPTHWISE) {
			/* (K, K, C): channel c every cout values */
			for (size_t i = (size_t)c; i < nw; i += (size_t)cout)
				w[i] = src[i] * s;
		} else {
			const size_t row = nw / (size_t)cout;

			for (size_t i = 0; i < row; i++)
				w[(size_t)c * row + i] =
				    src[(size_t)c * row + i] * s;
		}
	}
	return CORE_OK;
}

enum core_status quant_fnet_build(struct model *m, struct quant_fnet *f,
				  char *err, size_t errlen)
{
	enum core_status rc;
	size_t n = 0;
	float *p;

	memset(f, 0, sizeof *f);
	f->arch = m->arch;
	rc = graph_build(&m->arch, 1, &f->graph, err, errlen);
	if (rc)
		goto out;
	for (int i = 0; i < f->graph.nops; i++)
		if (graph_op_has_weights(&f->graph.ops[i]))
			n += (size_t)graph_op_weight_count(&f->graph.ops[i]) +
			     (size_t)f->graph.ops[i].cout;
	f->ops = core_calloc((size_t)f->graph.nops, sizeof *f->ops);
	f->store = core_malloc((n ? n : 1) * sizeof *f->store);
	if (!f->ops || !f->store) {
		core_errf(err, errlen, "fold: out of memory for %zu weights",
			  n);
		rc = CORE_ERR_NOMEM;
		goto out;
	}
	f->nstore = n;
	p = f->store;
	for (int i = 0; i < f->graph.nops; i++) {
		const struct graph_op *op = &f->graph.ops[i];

		if (!graph_op_has_weights(op))
			continue;
		f->ops[i].w = p;
		p += graph_op_weight_count(op);
		f->ops[i].b = p;
		p += op->cout;
		rc = fold_op(m, op, f->ops[i].w, f->ops[i].b, err, errlen);
		if (rc)
			goto out;
	}
out:
	if (rc)
		quant_fnet_free(f);
	return rc;
}

/* ---- forward ------------------------------------------------------------ */

static enum nn_act nn_act_of(enum graph_act a)
{
	switch (a) {
	case GRAPH_ACT_NONE: return NN_ACT_NONE;
	case GRAPH_ACT_RELU: return NN_ACT_RELU;
	case GRAPH_ACT_RELU6: return NN_ACT_RELU6;
	case GRAPH_ACT_LEAKYRELU: return NN_ACT_LEAKYRELU;
	case GRAPH_ACT_SWISH: return NN_ACT_SWISH;
	case GRAPH_ACT_HSWISH: return NN_ACT_HSWISH;
	case GRAPH_ACT_SIGMOID: return NN_ACT_SIGMOID;
	}
	return NN_ACT_NONE;
}

static size_t elems(const struct graph_tensor *t)
{
	return (size_t)t->h * (size_t)t->w * (size_t)t->c;
}

/* The kernel of op i: out from the live input buffers, before bias and
 * activation. May allocate conv scratch. */
static enum core_status op_forward(const struct quant_fnet *f, int i,
				   float *const *buf, char *err, size_t errlen)
{
	const struct graph *g = &f->graph;
	const struct graph_op *op = &g->ops[i];
	const struct graph_tensor *x = &g->tensors[op->in[0]];
	const struct graph_tensor *y = &g->tensors[op->out];
	const float *in = buf[op->in[0]];
	float *out = buf[op->out];
	enum core_status rc = CORE_OK;

	switch (op->kind) {
	case GRAPH_OP_CONV2D:
	case GRAPH_OP_CONV1X1: {
		struct nn_conv2d_dims d;
		size_t sb;
		void *scratch = NULL;

		rc = nn_conv2d_dims_init(&d, 1, x->h, x->w, x->c, op->cout,
					 op->kernel, op->stride, op->pad, err,
					 errlen);
		if (rc)
			return rc;
		sb = nn_conv2d_scratch_min(&d);
		if (sb) {
			scratch = core_malloc(sb);
			if (!scratch) {
				core_errf(err, errlen,
					  "%s: out of memory for scratch",
					  op->name);
				return CORE_ERR_NOMEM;
			}
		}
		nn_conv2d_forward(out, in, f->ops[i].w, &d, scratch, sb);
		core_free(scratch);
		break;
	}
	case GRAPH_OP_DEPTHWISE: {
		struct nn_dwconv_dims d;

		rc = nn_dwconv_dims_init(&d, 1, x->h, x->w, x->c, op->kernel,
					 op->stride, op->pad, err, errlen);
		if (rc)
			return rc;
		nn_dwconv_forward(out, in, f->ops[i].w, &d);
		break;
	}
	case GRAPH_OP_GAP: {
		const struct nn_shape s = {1, x->h, x->w, x->c};

		nn_gap_forward(out, in, &s);
		break;
	}
	case GRAPH_OP_MUL: {
		const float *gate = buf[op->in[1]];
		const size_t pix = (size_t)x->h * (size_t)x->w;

		for (size_t p = 0; p < pix; p++)
			for (int c = 0; c < x->c; c++)
				out[p * (size_t)x->c + (size_t)c] =
				    in[p * (size_t)x->c + (size_t)c] * gate[c];
		break;
	}
	case GRAPH_OP_ADD:
		nn_add_forward(out, in, buf[op->in[1]], elems(y));
		break;
	case GRAPH_OP_LINEAR:
		nn_linear_forward(out, in, f->ops[i].w, f->ops[i].b, 1, op->cin,
				  op->cout);
		break;
	}
	return rc;
}

enum core_status quant_fnet_forward(const struct quant_fnet *f, const float *x,
				    float *logits,
				    const struct quant_observer *obs, char *err,
				    size_t errlen)
{
	const struct graph *g = &f->graph;
	float **buf;
	enum core_status rc = CORE_OK;

	buf = core_calloc((size_t)g->ntensors, sizeof *buf);
	if (!buf) {
		core_errf(err, errlen, "forward: out of memory");
		return CORE_ERR_NOMEM;
	}
	/* the input is only read: borrowed, never freed */
	buf[g->input] = (float *)(uintptr_t)x;
	if (obs)
		obs->tensor(obs->ctx, g->input, 0, x,
			    elems(&g->tensors[g->input]));
	for (int i = 0; i < g->nops; i++) {
		const struct graph_op *op = &g->ops[i];
		const size_t n = elems(&g->tensors[op->out]);
		float *out = core_malloc(n * sizeof *out);

		if (!out) {
			core_errf(err, errlen, "forward: out of memory at %s",
				  op->name);
			rc = CORE_ERR_NOMEM;
			goto out;
		}
		buf[op->out] = out;
		rc = op_forward(f, i, buf, err, errlen);
		if (rc)
			goto out;
		if (graph_op_has_weights(op) && op->kind != GRAPH_OP_LINEAR) {
			const float *b = f->ops[i].b;

			for (size_t p = 0; p < n; p += (size_t)op->cout)
				for (int c = 0; c < op->cout; c++)
					out[p + (size_t)c] += b[c];
		}
		if (op->act != GRAPH_ACT_NONE) {
			if (obs && graph_act_needs_lut(op->act))
				obs->tensor(obs->ctx, op->out, 1, out, n);
			nn_act_forward(out, out, n, nn_act_of(op->act));
		}
		if (obs)
			obs->tensor(obs->ctx, op->out, 0, out, n);
		/* inputs whose last reader this was are done */
		for (int k = 0; k < op->nin; k++) {
			int t = op->in[k];

			if (t != g->input && g->tensors[t].last_op == i &&
			    t != g->output) {
				core_free(buf[t]);
				buf[t] = NULL;
			}
		}
	}
	memcpy(logits, buf[g->output],
	       elems(&g->tensors[g->output]) * sizeof *logits);
out:
	for (int t = 0; t < g->ntensors; t++)
		if (t != g->input)
			core_free(buf[t]);
	core_free(buf);
	return rc;
}
