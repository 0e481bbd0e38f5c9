/* SPDX-License-Identifier: Apache-2.0 */
/* cost_plan.c - the int8 memory planner: kernel scratch sizes, buffers from
 * tensor lifetimes and in-place chains, and greedy arena placement; owns
 * struct cost_plan's arrays. */
#include "cost.h"

#include <stdlib.h>
#include <string.h>

/* Each size below is the one the MCU kernel asks for (its
 * <op>_s8_scratch_size() in service/codegen/kernels/), so that the arena
 * the planner lays out is exactly what generated code needs. */

/* The packed core's per-channel table: 4 words per channel of C_out made
 * even (s8_packed_mm_rq_bytes). */
static size_t packed_rq_bytes(int cout)
{
	return 16 * (((size_t)cout + 1) & ~(size_t)1);
}

/* Four int8 patches and four int16 columns of K*K*C_in rounded up to 4,
 * then the per-channel table (conv2d_s8.c). */
size_t cost_conv2d_s8_scratch_size(int kernel, int cin, int cout)
{
	const size_t len = (size_t)kernel * (size_t)kernel * (size_t)cin;

	return 4 * ((len + 3) & ~(size_t)3) * (sizeof(int16_t) + 1) +
	       packed_rq_bytes(cout);
}

/* Four pixels' int16 columns of C_in rounded up to 4 (the column block of
 * pointwise_conv2d_s8.c), then the per-channel table. */
size_t cost_pointwise_conv2d_s8_scratch_size(int cin, int cout)
{
	return 4 * (((size_t)cin + 3) & ~(size_t)3) * sizeof(int16_t) +
	       packed_rq_bytes(cout);
}

size_t cost_fully_connected_s8_scratch_size(int cin)
{
	return (size_t)cin * sizeof(int16_t);
}

/* The DSP band route's planes (depthwise_band_s8.c's dwb_geometry): 4
 * int16 planes of `ring` rows of s (2P - 1) + K halfwords made even, P =
 * ceil(W_out / 2), for K 3 and 5, padding K/2, W_out <= 256. In place
 * (stride 1): min(H, 16) + K - 1 rows; out of place (stride 1 or 2):
 * s (R - 1) + K rows for the largest R <= min(H_out, 16) whose planes fit
 * max(K rows, 2048 B). 0 where the route does not apply. */
static size_t dw_band_bytes(int kernel, int stride, int pad, int h, int w,
			    int inplace)
{
	const size_t ho = (size_t)(h - 1) / (size_t)stride + 1;
	const size_t wo = (size_t)(w - 1) / (size_t)stride + 1;
	const size_t pairs = (wo + 1) / 2, k = (size_t)kernel;
	const size_t s = (size_t)stride;
	size_t row, budget, r, rmax = ho < 16 ? ho : 16;

	if ((kernel != 3 && kernel != 5) || pad != kernel / 2 || stride < 1 ||
	    stride > 2 || (inplace && stride != 1) || h < 1 || w < 1 ||
	    wo > 256)
		return 0;
	row =
	    4 * ((s * (2 * pairs - 1) + k + 1) & ~(size_t)1) * sizeof(int16_t);
	if (inplace)
		return (rmax + k - 1) * row;
	budget = k * row > 2048 ? k * row : 2048;
	r = 1;
	while (r < rmax && (s * r + k) * row <= budget)
		r++;
	return (s * (r - 1) + k) * row;
}

/* In place: the ring of K/2 + 1 input rows, or, when larger, the band
 * planes, used when no larger than the ring or a quarter of the map. Out
 * of place: the band planes (or nothing). */
size_t cost_depthwise_conv2d_s8_scratch_size(int kernel, int stride, int pad,
					     int h, int w, int c, int inplace)
{
	const size_t ring = (size_t)(kernel / 2 + 1) * (size_t)w * (size_t)c;
	const size_t quarter = (size_t)h * (size_t)w * (size_t)c / 4;
	const size_t band = dw_band_bytes(kernel, stride, pad, h, w, inplace);

	if (!inplace)
		return band;
	if (band > ring && band <= quarter)
		return band;
	return ring;
}

size_t cost_avgpool_s8_scratch_size(int c)
{
	(void)c;
	return 0;
}

size_t cost_op_scratch_size(const struct graph *g, int i)
{
	const struct graph_op *op = &g->ops[i];
	const struct graph_tensor *x = &g->tensors[op->in[0]];

	switch (op->kind) {
	case GRAPH_OP_CONV2D:
		return cost_conv2d_s8_scratch_size(op->kernel, op->cin,
						   op->cout);
	case GRAPH_OP_DEPTHWISE:
		return cost_depthwise_conv2d_s8_scratch_size(
		    op->kernel, op->stride, op->pad, x->h, x->w, x->c,
		    op->inplace_input >= 0);
	case GRAPH_OP_CONV1X1:
		return cost_pointwise_conv2d_s8_scratch_size(op->cin, op->cout);
	case GRAPH_OP_LINEAR:
		return cost_fully_connected_s8_scratch_size(op->cin);
	case GRAPH_OP_GAP: return cost_avgpool_s8_scratch_size(x->c);
	case GRAPH_OP_MUL:
	case GRAPH_OP_ADD: return 0;
	}
	return 0;
}

void cost_plan_free(struct cost_plan *p)
{
	core_free(p->buffers);
	core_free(p->tensor_buffer);
	core_free(p->op_scratch);
	core_free(p->op_live);
	memset(p, 0, sizeof *p);
	p->peak_op = -1;
}

size_t cost_plan_tensor_offset(const struct cost_plan *p, int tensor)
{
	return p->buffers[p->tensor_buffer[tensor]].offset;
}

static size_t align_up(size_t n)
{
	return (n + COST_ARENA_ALIGN - 1) / COST_ARENA_ALIGN * COST_ARENA_ALIGN;
}

static int overlap_in_time(const struct cost_buffer *a,
			   const struct cost_buffer *b)
{
	return a->first_op <= b->last_op && b->first_op <= a->last_op;
}

/* ---- placement orders --------------------------------------------------- */

static int by_size(const struct cost_buffer *a, const struct cost_buffer *b)
{
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return 0;
}

static int by_length(const struct cost_buffer *a, const struct cost_buffer *b)
{
	int la = a->last_op - a->first_op, lb = b->last_op - b->first_op;

	return la != lb ? (la > lb ? -1 : 1) : 0;
}

static int by_first(const struct cost_buffer *a, const struct cost_buffer *b)
{
	return a->first_op != b->first_op ? (a->first_op < b->first_op ? -1 : 1)
					  : 0;
}

/* An order over buffer indices. qsort takes no context, so the sort below
 * is a small merge sort that does (and is stable, so plans are
 * reproducible). */
struct order_ctx {
	const struct cost_buffer *bufs;
	int order; /* 0 size, 1 length, 2 first use */
};

static int order_cmp(const struct order_ctx *c, int ia, int ib)
{
	const struct cost_buffer *a = &c->bufs[ia], *b = &c->bufs[ib];
	int r;

	switch (c->order) {
	case 0:
		r = by_size(a, b);
		if (!r)
			r = by_first(a, b);
		break;
	case 1:
		r = by_length(a, b);
		if (!r)
			r = by_size(a, b);
		break;
	default:
		r = by_first(a, b);
		if (!r)
			r = by_size(a, b);
		break;
	}
	return r ? r : (ia < ib ? -1 : ia > ib); /* stable and total */
}

/* Bottom-up merge sort of n indices through tmp (n is a few thousand). */
static void sort_indices(const struct order_ctx *c, int *idx, int *tmp, int n)
{
	for (int width = 1; width < n; width *= 2)
		for (int lo = 0; lo < n; lo += 2 * width) {
			int mid = lo + width < n ? lo + width : n;
			int hi = lo + 2 * width < n ? lo + 2 * width : n;
			int i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] = order_cmp(c, idx[i], idx[j]) <= 0
					       ? idx[i++]
					       : idx[j++];
			while (i < mid)
				tmp[k++] = idx[i++];
			while (j < hi)
				tmp[k++] = idx[j++];
			memcpy(idx + lo, tmp + lo,
			       (size_t)(hi - lo) * sizeof *idx);
		}
}

/* Places buffers in the order idx: each at the lowest offset where it does
 * not overlap any already placed buffer that is live at the same time
 * (first fit over those neighbours sorted by offset). Writes offsets into
 * off and returns the arena size. placed and near hold n ints each. */
static size_t place(const struct cost_buffer *bufs, const int *idx, int n,
		    size_t *off, int *placed, int *near)
{
	size_t arena = 0;

	for (int i = 0; i < n; i++)
		placed[i] = 0;
	for (int k = 0; k < n; k++) {
		const struct cost_buffer *b = &bufs[idx[k]];
		size_t at = 0;
		int m = 0;

		for (int j = 0; j < n; j++)
			if (placed[j] && overlap_in_time(b, &bufs[j]))
				near[m++] = j;
		/* sort neighbours by offset: insertion sort on off[] */
		for (int i = 1; i < m; i++) {
			int v = near[i], j = i - 1;

			while (j >= 0 && off[near[j]] > off[v]) {
				near[j + 1] = near[j];
				j--;
			}
			near[j + 1] = v;
		}
		for (int i = 0; i < m; i++) {
			size_t lo = off[near[i]], hi = lo + bufs[near[i]].bytes;

			if (at + b->bytes <= lo)
				break;
			if (hi > at)
				at = hi;
		}
		off[idx[k]] = at;
		placed[idx[k]] = 1;
		if (at + b->bytes > arena)
			arena = at + b->bytes;
	}
	return arena;
}

/* ---- building ----------------------------------------------------------- */

/* Buffers: one per in-place chain (in tensor order of the chain's first
 * tensor), then one per op with scratch. */
static int plan_buffers(const struct graph *g, struct cost_plan *p)
{
	int n = 0;

	for (int t = 0; t < g->ntensors; t++)
		p->tensor_buffer[t] = -1;
	for (int t = 0; t < g->ntensors; t++) {
		const struct graph_tensor *x = &g->tensors[t];
		int b;

		if (x->producer >= 0 &&
		    g->ops[x->producer].inplace_input >= 0) {
			const struct graph_op *op = &g->ops[x->producer];

			b = p->tensor_buffer[op->in[op->inplace_input]];
		} else {
			b = n++;
			p->buffers[b].tensor = t;
			p->buffers[b].op = -1;
			p->buffers[b].first_op = x->first_op;
			p->buffers[b].last_op = x->last_op;
			p->buffers[b].bytes = 0;
		}
		p->tensor_buffer[t] = b;
		if (x->first_op < p->buffers[b].first_op)
			p->buffers[b].first_op = x->first_op;
		if (x->last_op > p->buffers[b].last_op)
			p->buffers[b].last_op = x->last_op;
		if (align_up(x->bytes) > p->buffers[b].bytes)
			p->buffers[b].bytes = align_up(x->bytes);
	}
	for (int i = 0; i < g->nops; i++) {
		size_t s = cost_op_scratch_size(g, i);

		p->op_scratch[i] = -1;
		if (!s)
			continue;
		p->op_scratch[i] = n;
		p->buffers[n].tensor = -1;
		p->buffers[n].op = i;
		p->buffers[n].first_op = p->buffers[n].last_op = i;
		p->buffers[n].bytes = align_up(s);
		n++;
	}
	return n;
}

static void plan_live(struct cost_plan *p)
{
	for (int i = 0; i < p->nops; i++)
		p->op_live[i] = 0;
	for (int b = 0; b < p->nbuffers; b++)
		for (int i = p->buffers[b].first_op; i <= p->buffers[b].last_op;
		     i++)
			p->op_live[i] += p->buffers[b].bytes;
	p->peak_live_bytes = 0;
	p->peak_op = 0;
	for (int i = 0; i < p->nops; i++)
		if (p->op_live[i] > p->peak_live_bytes) {
			p->peak_live_bytes = p->op_live[i];
			p->peak_op = i;
		}
}

enum core_status cost_plan_build(const struct graph *g, struct cost_plan *p,
				 char *err, size_t errlen)
{
	int cap = g->ntensors + g->nops;
	int *idx = NULL, *tmp = NULL, *placed = NULL, *near = NULL;
	size_t *off = NULL, best = SIZE_MAX;
	enum core_status rc = CORE_ERR_NOMEM;

	memset(p, 0, sizeof *p);
	p->peak_op = -1;
	if (g->nops < 1 || g->ntensors < 2) {
		core_errf(err, errlen, "plan: empty graph");
		return CORE_ERR_INVALID;
	}
	p->ntensors = g->ntensors;
	p->nops = g->nops;
	p->buffers = core_calloc((size_t)cap, sizeof *p->buffers);
	p->tensor_buffer = core_calloc((size_t)g->ntensors, sizeof(int));
	p->op_scratch = core_calloc((size_t)g->nops, sizeof(int));
	p->op_live = core_calloc((size_t)g->nops, sizeof(size_t));
	idx = core_calloc((size_t)cap, sizeof *idx);
	tmp = core_calloc((size_t)cap, sizeof *tmp);
	placed = core_calloc((size_t)cap, sizeof *placed);
	near = core_calloc((size_t)cap, sizeof *near);
	off = core_calloc((size_t)cap, sizeof *off);
	if (!p->buffers || !p->tensor_buffer || !p->op_scratch || !p->op_live ||
	    !idx || !tmp || !placed || !near || !off) {
		core_errf(err, errlen, "plan: out of memory for %d buffers",
			  cap);
		goto out;
	}
	p->nbuffers = plan_buffers(g, p);
	plan_live(p);
	for (int order = 0; order < 3; order++) {
		struct order_ctx c = {p->buffers, order};
		size_t arena;

		for (int i = 0; i < p->nbuffers; i++)
			idx[i] = i;
		sort_indices(&c, idx, tmp, p->nbuffers);
		arena = place(p->buffers, idx, p->nbuffers, off, placed, near);
		if (arena < best) {
			best = arena;
			for (int i = 0; i < p->nbuffers; i++)
				p->buffers[i].offset = off[i];
		}
	}
	p->arena_bytes = best;
	rc = CORE_OK;
out:
	core_free(idx);
	core_free(tmp);
	core_free(placed);
	core_free(near);
	core_free(off);
	if (rc)
		cost_plan_free(p);
	return rc;
}
