/* SPDX-License-Identifier: Apache-2.0 */
/* engine.c - the host int8 engine: runs a struct quant_net op by op with the
 * reference kernels (every tensor in a buffer of its own), input
 * quantization, and top-1 evaluation on a CIFAR set. */
#include "quant.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t quant_net_work_bytes(const struct quant_net *q)
{
	size_t n = 0;

	for (int t = 0; t < q->graph.ntensors; t++)
		n += align8(q->graph.tensors[t].bytes);
	return n;
}

static struct quant_dims dims_of(const struct graph_tensor *t)
{
	return (struct quant_dims){t->h, t->w, t->c};
}

/* Op i from its input buffers into its output buffer. */
static enum core_status run_op(const struct quant_net *q, int i,
			       int8_t *const *buf, char *err, size_t errlen)
{
	const struct graph *g = &q->graph;
	const struct graph_op *op = &g->ops[i];
	const struct quant_layer *L = &q->layers[i];
	const struct graph_tensor *x = &g->tensors[op->in[0]];
	const struct graph_tensor *y = &g->tensors[op->out];
	const struct quant_dims in = dims_of(x), out = dims_of(y);
	const struct quant_per_channel pc = {L->mult, L->shift};
	int8_t *o = buf[op->out];
	const int8_t *a = buf[op->in[0]];

	switch (op->kind) {
	case GRAPH_OP_CONV2D: {
		const struct quant_dims f = {op->kernel, op->kernel, op->cin};

		return ref_conv2d_s8(o, a, L->w, L->bias, &L->conv, &pc, &in,
				     &f, &out, err, errlen);
	}
	case GRAPH_OP_DEPTHWISE: {
		const struct quant_dims f = {op->kernel, op->kernel, op->cout};

		return ref_depthwise_conv2d_s8(o, a, L->w, L->bias, &L->conv,
					       &pc, &in, &f, &out, err, errlen);
	}
	case GRAPH_OP_CONV1X1:
		return ref_pointwise_conv2d_s8(o, a, L->w, L->bias, &L->conv,
					       &pc, &in, &out, err, errlen);
	case GRAPH_OP_LINEAR:
		return ref_fully_connected_s8(o, a, L->w, L->bias, &L->fc, &pc,
					      op->cin, op->cout, err, errlen);
	case GRAPH_OP_GAP:
		return ref_avgpool_global_s8(o, a, &L->pool, &in, err, errlen);
	case GRAPH_OP_MUL:
		return ref_mul_channel_s8(o, a, buf[op->in[1]], &L->mul, &in,
					  err, errlen);
	case GRAPH_OP_ADD:
		return ref_add_s8(o, a, buf[op->in[1]], &L->add, (long)y->bytes,
				  err, errlen);
	}
	core_errf(err, errlen, "op %d: unknown kind", i);
	return CORE_ERR_INTERNAL;
}

enum core_status quant_net_run(const struct quant_net *q, const int8_t *in,
			       int8_t *out, void *work, char *err,
			       size_t errlen)
{
	const struct graph *g = &q->graph;
	int8_t *buf[GRAPH_MAX_OPS + 1];
	unsigned char *p = work;
	char why[CORE_ERR_LEN];

	if (g->ntensors > GRAPH_MAX_OPS + 1) {
		core_errf(err, errlen, "engine: %d tensors", g->ntensors);
		return CORE_ERR_INTERNAL;
	}
	for (int t = 0; t < g->ntensors; t++) {
		buf[t] = (int8_t *)p;
		p += align8(g->tensors[t].bytes);
	}
	memcpy(buf[g->input], in, g->tensors[g->input].bytes);
	for (int i = 0; i < g->nops; i++) {
		const struct graph_op *op = &g->ops[i];
		enum core_status rc = run_op(q, i, buf, why, sizeof why);

		if (rc) {
			core_errf(err, errlen, "layer %s: %s", op->name, why);
			return rc;
		}
		if (q->layers[i].lut)
			ref_lut_s8(buf[op->out], buf[op->out],
				   (long)g->tensors[op->out].bytes,
				   q->layers[i].table);
	}
	memcpy(out, buf[g->output], g->tensors[g->output].bytes);
	return CORE_OK;
}

void quant_net_quantize_input(const struct quant_net *q, const float *x,
			      int8_t *out)
{
	const struct graph_tensor *t = &q->graph.tensors[q->graph.input];
	const struct quant_qparams p = q->tq[q->graph.input];

	for (size_t i = 0; i < t->bytes; i++) {
		double v = round((double)x[i] / p.scale) + p.zp;

		out[i] = (int8_t)(v < -128.0 ? -128 : (v > 127.0 ? 127 : v));
	}
}

int quant_argmax_s8(const int8_t *v, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* ---- data -----------------------------------------------------------------
 */

/* A loader over idx (n) of ds at resolution r: eval pipeline, in order. */
static enum core_status open_eval_loader(const struct data_set *ds,
					 const int32_t *idx, int n, int r,
					 int batch, struct data_loader **ld,
					 char *err, size_t errlen)
{
	struct data_loader_cfg lc;

	data_loader_cfg_default(&lc, ds);
	lc.indices = idx;
	lc.n_indices = n;
	lc.batch_size = batch;
	lc.resolution = r;
	lc.shuffle = 0;
	lc.augment = 0;
	lc.epochs = 1;
	lc.threads = 1;
	lc.prefetch = 2;
	return data_loader_open(&lc, ld, err, errlen);
}

enum core_status quant_images_load(const struct data_set *ds, int n, int r,
				   float **out, int32_t *labels, char *err,
				   size_t errlen)
{
	const size_t img = (size_t)r * (size_t)r * 3;
	struct data_loader *ld = NULL;
	const struct data_batch *b;
	int32_t *idx = NULL;
	float *x = NULL;
	int got = 0;
	enum core_status rc;

	*out = NULL;
	if (n < 1 || n > ds->n) {
		core_errf(err, errlen, "images: %d is not in 1..%d", n, ds->n);
		return CORE_ERR_INVALID;
	}
	idx = core_malloc((size_t)n * sizeof *idx);
	x = core_malloc((size_t)n * img * sizeof *x);
	if (!idx || !x) {
		core_errf(err, errlen, "images: out of memory for %d", n);
		rc = CORE_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++)
		idx[i] = (int32_t)((int64_t)i * ds->n / n);
	rc = open_eval_loader(ds, idx, n, r, n < 64 ? n : 64, &ld, err, errlen);
	while (!rc) {
		rc = data_loader_next(ld, &b, err, errlen);
		if (rc || !b)
			break;
		memcpy(x + (size_t)got * img, b->x,
		       (size_t)b->n * img * sizeof *x);
		if (labels)
			memcpy(labels + got, b->y,
			       (size_t)b->n * sizeof *labels);
		got += b->n;
	}
	if (!rc && got != n) {
		core_errf(err, errlen, "images: loaded %d of %d", got, n);
		rc = CORE_ERR_INTERNAL;
	}
out:
	data_loader_close(ld);
	core_free(idx);
	if (rc)
		core_free(x);
	else
		*out = x;
	return rc;
}

enum core_status quant_net_evaluate(const struct quant_net *q,
				    const struct data_set *ds,
				    const int32_t *idx, int n, int threads,
				    double *top1, char *err, size_t errlen)
{
	const struct graph *g = &q->graph;
	const struct graph_tensor *in = &g->tensors[g->input];
	const size_t work = quant_net_work_bytes(q);
	const size_t in_bytes = in->bytes;
	const int classes = g->tensors[g->output].c;
	struct data_loader *ld = NULL;
	const struct data_batch *b;
	unsigned char *mem = NULL;
	long correct = 0, seen = 0;
	enum core_status rc;
	size_t per;

	*top1 = 0;
	if (threads < 1)
		threads = 1;
	if (in->c != 3 || in->h != in->w) {
		core_errf(err, errlen,
			  "evaluate: CIFAR images need a square 3-channel "
			  "input");
		return CORE_ERR_INVALID;
	}
	per = align8(work) + align8(in_bytes) + align8((size_t)classes);
	mem = core_malloc((size_t)threads * per);
	if (!mem) {
		core_errf(err, errlen, "evaluate: out of memory");
		return CORE_ERR_NOMEM;
	}
	rc = open_eval_loader(ds, idx, idx ? n : ds->n, in->h, 64, &ld, err,
			      errlen);
	while (!rc) {
		enum core_status brc = CORE_OK;
		char berr[CORE_ERR_LEN] = "";
		long ok = 0;

		rc = data_loader_next(ld, &b, err, errlen);
		if (rc || !b)
			break;
#pragma omp parallel for num_threads(threads) schedule(dynamic) reduction(+ : ok)
		for (int k = 0; k < b->n; k++) {
			const int tid = omp_get_thread_num();
			unsigned char *m = mem + (size_t)tid * per;
			int8_t *x8 = (int8_t *)(m + align8(work));
			int8_t *y8 = x8 + align8(in_bytes);
			char e[CORE_ERR_LEN];

			quant_net_quantize_input(q, b->x + (size_t)k * in_bytes,
						 x8);
			if (quant_net_run(q, x8, y8, m, e, sizeof e)) {
#pragma omp critical
				{
					if (!brc) {
						brc = CORE_ERR_INVALID;
						snprintf(berr, sizeof berr,
							 "%s", e);
					}
				}
				continue;
			}
			ok += quant_argmax_s8(y8, classes) == b->y[k];
		}
		if (brc) {
			core_errf(err, errlen, "evaluate: %s", berr);
			rc = brc;
			break;
		}
		correct += ok;
		seen += b->n;
	}
	data_loader_close(ld);
	core_free(mem);
	if (!rc)
		*top1 = seen ? (double)correct / (double)seen : 0.0;
	return rc;
}
