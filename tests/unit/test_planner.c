/* SPDX-License-Identifier: Apache-2.0 */
/* test_planner.c - the inference graph (shapes chain, op order, tensor
 * count, lifetimes) and the memory planner's invariants on hundreds of random
 * architectures, plus hand-checked lowering details. */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "cost/cost.h"
#include "graph/graph.h"

#include "../support/costtest.h"

#include <stdio.h>
#include <string.h>

#define RANDOM_ARCHS 400

/* Ops a block lowers to, counted from arch.h's semantics independently of
 * graph.c. */
static int expected_ops(const struct arch *a)
{
	int n = 2 + a->stem.present;
	int c = a->stem.present ? a->stem.out : a->channels;

	for (int i = 0; i < a->nstages; i++) {
		const struct arch_stage *s = &a->stages[i];

		for (int j = 0; j < s->layers; j++) {
			int res = s->skip == ARCH_SKIP_RESIDUAL &&
				  (j > 0 || s->stride == 1);

			n += (s->block == ARCH_BLOCK_MBCONV) + 1 + 1;
			n += s->se > 0 ? 4 : 0;
			n += res ? 1 + (c != s->out) : 0;
			c = s->out;
		}
	}
	return n;
}

/* Shapes chain, producers precede consumers, lifetimes are exact. */
static void check_graph(const struct arch *a, const struct graph *g)
{
	int last[GRAPH_MAX_OPS + 1];

	assert_int_equal(g->nops, expected_ops(a));
	assert_int_equal(g->ntensors, g->nops + 1);
	assert_int_equal(g->input, 0);
	assert_int_equal(g->tensors[0].producer, -1);
	assert_int_equal(g->tensors[0].h, a->resolution);
	assert_int_equal(g->tensors[0].c, a->channels);
	assert_int_equal(g->output, g->ntensors - 1);
	assert_int_equal(g->tensors[g->output].c, a->classes);
	assert_int_equal(g->ops[g->nops - 1].kind, GRAPH_OP_LINEAR);
	assert_int_equal(g->ops[g->nops - 2].kind, GRAPH_OP_GAP);
	for (int t = 0; t < g->ntensors; t++)
		last[t] =
		    g->tensors[t].producer < 0 ? 0 : g->tensors[t].producer;
	for (int i = 0; i < g->nops; i++) {
		const struct graph_op *op = &g->ops[i];
		const struct graph_tensor *x = &g->tensors[op->in[0]];
		const struct graph_tensor *y = &g->tensors[op->out];

		assert_int_equal(y->producer, i);
		assert_int_equal(y->bytes, (size_t)y->h * y->w * y->c);
		for (int k = 0; k < op->nin; k++) {
			const struct graph_tensor *t = &g->tensors[op->in[k]];

			assert_true(t->producer < i); /* topological order */
			last[op->in[k]] = i;
		}
		switch (op->kind) {
		case GRAPH_OP_CONV2D:
		case GRAPH_OP_CONV1X1:
		case GRAPH_OP_DEPTHWISE:
			assert_int_equal(op->cin, x->c);
			assert_int_equal(op->cout, y->c);
			assert_int_equal(op->w_shape[3] * op->groups, x->c);
			assert_int_equal(y->h, (x->h - 1) / op->stride + 1);
			assert_int_equal(y->w, (x->w - 1) / op->stride + 1);
			assert_int_equal(op->pad, op->kernel / 2);
			if (op->kind == GRAPH_OP_DEPTHWISE)
				assert_int_equal(op->groups, y->c);
			else
				assert_int_equal(op->groups, 1);
			if (op->kind == GRAPH_OP_CONV1X1)
				assert_int_equal(op->kernel, 1);
			break;
		case GRAPH_OP_GAP:
			assert_int_equal(y->h * y->w, 1);
			assert_int_equal(y->c, x->c);
			break;
		case GRAPH_OP_MUL:
		case GRAPH_OP_ADD: {
			const struct graph_tensor *z = &g->tensors[op->in[1]];

			assert_int_equal(op->nin, 2);
			assert_int_equal(y->h, x->h);
			assert_int_equal(y->w, x->w);
			assert_int_equal(y->c, x->c);
			assert_int_equal(z->c, x->c);
			if (op->kind == GRAPH_OP_MUL)
				assert_int_equal(z->h * z->w, 1);
			else
				assert_int_equal(z->h * z->w, x->h * x->w);
			break;
		}
		case GRAPH_OP_LINEAR:
			assert_int_equal(x->h * x->w, 1);
			assert_int_equal(op->w_shape[3], x->c);
			break;
		}
	}
	last[g->output] = g->nops - 1;
	for (int t = 0; t < g->ntensors; t++)
		assert_int_equal(g->tensors[t].last_op, last[t]);
}

/* In place exactly where graph.h says it is legal. */
static void check_inplace(const struct graph *g, const struct cost_plan *p)
{
	for (int i = 0; i < g->nops; i++) {
		const struct graph_op *op = &g->ops[i];
		int ob = p->tensor_buffer[op->out];

		if (op->inplace_input < 0) {
			for (int k = 0; k < op->nin; k++)
				assert_int_not_equal(
				    p->tensor_buffer[op->in[k]], ob);
			continue;
		}
		{
			const struct graph_tensor *x =
			    &g->tensors[op->in[op->inplace_input]];
			const struct graph_tensor *y = &g->tensors[op->out];

			assert_int_equal(x->last_op, i);
			assert_int_equal(x->bytes, y->bytes);
			assert_int_equal(
			    p->tensor_buffer[op->in[op->inplace_input]], ob);
			assert_true(op->kind == GRAPH_OP_ADD ||
				    op->kind == GRAPH_OP_MUL ||
				    op->kind == GRAPH_OP_DEPTHWISE);
			if (op->kind == GRAPH_OP_MUL)
				assert_int_equal(op->inplace_input, 0);
			if (op->kind == GRAPH_OP_DEPTHWISE) {
				assert_int_equal(op->stride, 1);
				assert_true(op->kernel == 1 ||
					    (op->kernel - 1) / 2 + 1 < x->h);
			}
		}
	}
}

/* Buffers live at the same op never overlap; everything fits the arena;
 * the arena holds every op's live set; op_live is recomputed from the
 * tensors' own lifetimes. */
static void check_plan(const struct graph *g, const struct cost_plan *p)
{
	size_t maxlive = 0;

	assert_int_equal(p->ntensors, g->ntensors);
	for (int b = 0; b < p->nbuffers; b++) {
		const struct cost_buffer *x = &p->buffers[b];

		assert_int_equal(x->offset % COST_ARENA_ALIGN, 0);
		assert_int_equal(x->bytes % COST_ARENA_ALIGN, 0);
		assert_true(x->bytes > 0);
		assert_true(x->offset + x->bytes <= p->arena_bytes);
		for (int c = b + 1; c < p->nbuffers; c++) {
			const struct cost_buffer *y = &p->buffers[c];

			if (x->first_op > y->last_op ||
			    y->first_op > x->last_op)
				continue;
			if (!(x->offset + x->bytes <= y->offset ||
			      y->offset + y->bytes <= x->offset))
				fail_msg(
				    "buffers %d [%zu,+%zu) and %d [%zu,+%zu) "
				    "overlap while both live",
				    b, x->offset, x->bytes, c, y->offset,
				    y->bytes);
		}
	}
	for (int t = 0; t < g->ntensors; t++) {
		const struct cost_buffer *x = &p->buffers[p->tensor_buffer[t]];

		assert_true(x->first_op <= g->tensors[t].first_op);
		assert_true(x->last_op >= g->tensors[t].last_op);
		assert_true(x->bytes >= g->tensors[t].bytes);
	}
	for (int i = 0; i < g->nops; i++) {
		size_t live = 0;
		int seen[GRAPH_MAX_OPS + 1] = {0};

		for (int t = 0; t < g->ntensors; t++) {
			int b = p->tensor_buffer[t];

			if (g->tensors[t].first_op <= i &&
			    g->tensors[t].last_op >= i && !seen[b]) {
				seen[b] = 1;
				live += p->buffers[b].bytes;
			}
		}
		/* a chain's buffer is also live between its tensors */
		for (int b = 0; b < p->nbuffers; b++)
			if (p->buffers[b].tensor >= 0 && !seen[b] &&
			    p->buffers[b].first_op <= i &&
			    p->buffers[b].last_op >= i)
				live += p->buffers[b].bytes;
		if (p->op_scratch[i] >= 0) {
			assert_int_equal(p->buffers[p->op_scratch[i]].op, i);
			assert_true(p->buffers[p->op_scratch[i]].bytes >=
				    cost_op_scratch_size(g, i));
			live += p->buffers[p->op_scratch[i]].bytes;
		} else {
			assert_int_equal(cost_op_scratch_size(g, i), 0);
		}
		assert_int_equal(p->op_live[i], live);
		assert_true(p->arena_bytes >= live);
		if (live > maxlive)
			maxlive = live;
	}
	assert_int_equal(p->peak_live_bytes, maxlive);
	assert_int_equal(p->op_live[p->peak_op], maxlive);
}

static void random_architectures(void **state)
{
	struct core_rng rng;
	struct arch a;
	struct graph g;
	struct cost_plan p;
	char err[CORE_ERR_LEN];
	int inplace[GRAPH_OP_KIND_COUNT] = {0}, residual_proj = 0, tight = 0;
	double waste = 0;

	core_rng_seed(&rng, 20240601);
	for (int n = 0; n < RANDOM_ARCHS; n++) {
		costtest_arch_random(&rng, &a);
		assert_int_equal(graph_build(&a, 1, &g, err, sizeof err),
				 CORE_OK);
		check_graph(&a, &g);
		assert_int_equal(cost_plan_build(&g, &p, err, sizeof err),
				 CORE_OK);
		check_inplace(&g, &p);
		check_plan(&g, &p);
		for (int i = 0; i < g.nops; i++) {
			if (g.ops[i].inplace_input >= 0)
				inplace[g.ops[i].kind]++;
			residual_proj += g.ops[i].role == GRAPH_ROLE_SHORTCUT;
		}
		tight += p.arena_bytes == p.peak_live_bytes;
		waste += (double)p.arena_bytes / (double)p.peak_live_bytes;
		cost_plan_free(&p);
		graph_free(&g);
	}
	/* the generator reaches every in-place kind and projections */
	assert_true(inplace[GRAPH_OP_ADD] > 0);
	assert_true(inplace[GRAPH_OP_MUL] > 0);
	assert_true(inplace[GRAPH_OP_DEPTHWISE] > 0);
	assert_true(residual_proj > 0);
	print_message("planner: %d/%d arenas at the live-set bound, mean "
		      "arena/bound %.4f\n",
		      tight, RANDOM_ARCHS, waste / RANDOM_ARCHS);
	assert_true(tight > RANDOM_ARCHS / 2);
}

/* float32 graphs plan too (elem_bytes 4): tensors are 4x, scratch is not. */
static void elem_bytes_scale_tensors(void **state)
{
	struct core_rng rng;
	struct arch a;
	struct graph g1, g4;
	char err[CORE_ERR_LEN];

	core_rng_seed(&rng, 3);
	costtest_arch_random(&rng, &a);
	assert_int_equal(graph_build(&a, 1, &g1, err, sizeof err), CORE_OK);
	assert_int_equal(graph_build(&a, 4, &g4, err, sizeof err), CORE_OK);
	for (int t = 0; t < g1.ntensors; t++)
		assert_int_equal(g4.tensors[t].bytes, 4 * g1.tensors[t].bytes);
	graph_free(&g1);
	graph_free(&g4);
	assert_int_equal(graph_build(&a, 0, &g1, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(g1.ops);
}

/* ---- hand-checked lowering ---------------------------------------------- */

static void one_stage(struct arch *a, int res, int cin, struct arch_stage s)
{
	memset(a, 0, sizeof *a);
	a->resolution = res;
	a->channels = cin;
	a->nstages = 1;
	a->stages[0] = s;
	a->classes = 10;
}

static void op_order_and_names(void **state)
{
	static const char *const names[] = {
	    "stem",
	    "stages.0.0.expand",
	    "stages.0.0.dw",
	    "stages.0.0.se.pool",
	    "stages.0.0.se.reduce",
	    "stages.0.0.se.expand",
	    "stages.0.0.se.scale",
	    "stages.0.0.project",
	    "stages.0.0.shortcut", /* out 24 >= in 16: after project */
	    "stages.0.0.add",
	    "stages.0.1.expand",
	    "stages.0.1.dw",
	    "stages.0.1.se.pool",
	    "stages.0.1.se.reduce",
	    "stages.0.1.se.expand",
	    "stages.0.1.se.scale",
	    "stages.0.1.project",
	    "stages.0.1.add",
	    "head.pool",
	    "head.fc"};
	struct arch a;
	struct graph g;
	char err[CORE_ERR_LEN];

	one_stage(&a, 16, 3,
		  (struct arch_stage){ARCH_BLOCK_MBCONV, 24, 2, 5, 1, 3, 0.25,
				      ARCH_SKIP_RESIDUAL, ARCH_ACT_SWISH});
	a.stem = (struct arch_stem){1, 16, 3, 2, ARCH_ACT_RELU6};
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_int_equal(g.nops, 20);
	for (int i = 0; i < g.nops; i++)
		assert_string_equal(g.ops[i].name, names[i]);
	assert_int_equal(g.tensors[g.ops[0].out].h, 8);
	assert_int_equal(g.ops[0].act, GRAPH_ACT_RELU6);
	assert_int_equal(g.ops[4].cout, 12); /* floor(48 * 0.25) */
	assert_int_equal(g.ops[4].act, GRAPH_ACT_RELU);
	assert_int_equal(g.ops[5].act, GRAPH_ACT_SIGMOID);
	assert_true(g.ops[4].bias && !g.ops[4].bn);
	assert_true(g.ops[7].bn && !g.ops[7].bias);
	assert_int_equal(g.ops[7].act, GRAPH_ACT_NONE);
	assert_int_equal(g.ops[9].in[1], g.ops[8].out);
	assert_int_equal(g.ops[17].in[1], g.ops[9].out); /* identity */
	assert_int_equal(g.ops[19].bias, 1);
	graph_free(&g);

	/* narrowing projection (16 -> 8) runs first, on the block input */
	one_stage(&a, 16, 16,
		  (struct arch_stage){ARCH_BLOCK_DWSEP, 8, 1, 3, 1, 1, 0.0,
				      ARCH_SKIP_RESIDUAL, ARCH_ACT_RELU});
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_string_equal(g.ops[0].name, "stages.0.0.shortcut");
	assert_string_equal(g.ops[1].name, "stages.0.0.dw");
	/* the input's last use is now the dw, which may run in place */
	assert_int_equal(g.ops[1].inplace_input, 0);
	assert_int_equal(g.ops[3].kind, GRAPH_OP_ADD);
	assert_int_equal(g.ops[3].in[1], g.ops[0].out);
	graph_free(&g);
}

static void depthwise_inplace_rule(void **state)
{
	struct arch a;
	struct graph g;
	char err[CORE_ERR_LEN];
	struct arch_stage s = {
	    ARCH_BLOCK_DWSEP, 4, 1, 3, 1, 1, 0.0, ARCH_SKIP_NONE,
	    ARCH_ACT_RELU};

	/* H = 2 with k 3: a 2-row ring would copy the whole map */
	one_stage(&a, 2, 4, s);
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_int_equal(g.ops[0].inplace_input, -1);
	/* out of place: the band planes, 4 x 4 rows of 4 int16 */
	assert_int_equal(cost_op_scratch_size(&g, 0), 4 * 4 * 4 * 2);
	graph_free(&g);
	/* H = 3: ring of 2 rows of 3x4 */
	one_stage(&a, 3, 4, s);
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_int_equal(g.ops[0].inplace_input, 0);
	assert_int_equal(cost_op_scratch_size(&g, 0), 2 * 3 * 4);
	graph_free(&g);
	/* k 7 on 16 rows: ring of 4 rows */
	s.kernel = 7;
	one_stage(&a, 16, 4, s);
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_int_equal(cost_op_scratch_size(&g, 0), 4 * 16 * 4);
	graph_free(&g);
	/* k 1 is elementwise: in place even on 1 row, with the kernel's
	 * one-row ring (1 * 1 * 4) */
	s.kernel = 1;
	one_stage(&a, 1, 4, s);
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_int_equal(g.ops[0].inplace_input, 0);
	assert_int_equal(cost_op_scratch_size(&g, 0), 4);
	graph_free(&g);
	/* stride 2: never in place */
	s.kernel = 3;
	s.stride = 2;
	one_stage(&a, 16, 4, s);
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_int_equal(g.ops[0].inplace_input, -1);
	graph_free(&g);
	/* identity residual keeps the block input alive: not in place */
	s.stride = 1;
	s.skip = ARCH_SKIP_RESIDUAL;
	one_stage(&a, 16, 4, s);
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_int_equal(g.ops[0].inplace_input, -1);
	assert_int_equal(g.ops[2].kind, GRAPH_OP_ADD);
	assert_int_equal(g.ops[2].inplace_input, 0); /* both die: main path */
	graph_free(&g);
}

static void scratch_sizes(void **state)
{
	struct arch a;
	struct graph g;
	char err[CORE_ERR_LEN];

	/* the kernels' sizes: kxk four int8 patches and four int16 columns,
	 * 1x1 four int16 columns, of the length rounded up to 4, then 16 B
	 * per output channel (made even) for the per-channel table */
	assert_int_equal(cost_conv2d_s8_scratch_size(3, 3, 16),
			 4 * 28 * 3 + 16 * 16);
	assert_int_equal(cost_conv2d_s8_scratch_size(3, 4, 5),
			 4 * 36 * 3 + 16 * 6);
	assert_int_equal(cost_pointwise_conv2d_s8_scratch_size(5, 7),
			 4 * 8 * 2 + 16 * 8);
	assert_int_equal(cost_fully_connected_s8_scratch_size(5), 10);
	/* depthwise in place: the ring of K/2 + 1 rows, or for K 3 and 5 the
	 * DSP band planes (4 x (min(H, 16) + K - 1) rows x even(W + 2 (K/2))
	 * int16) when larger but within a quarter of the map */
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(5, 1, 2, 10, 10, 8, 1),
	    3 * 10 * 8); /* band 4 * 14 * 14 * 2 > 200 */
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(3, 1, 1, 80, 80, 16, 1),
	    4 * 18 * 82 * 2);
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(3, 1, 1, 9, 9, 8, 1),
	    2 * 9 * 8);
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(3, 1, 1, 10, 10, 320, 1),
	    2 * 10 * 320);
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(7, 1, 3, 10, 10, 8, 1),
	    4 * 10 * 8);
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(1, 1, 0, 10, 10, 8, 1), 80);
	/* out of place: the band planes, 4 x (s (R - 1) + K) rows of
	 * s (2 ceil(W_out / 2) - 1) + K halfwords made even, R the most
	 * output rows (<= 16) within max(K rows, 2 KB) */
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(3, 2, 1, 80, 80, 64, 0),
	    3 * 4 * 82 * 2); /* 40 x 40 out: K rows, R = 1 */
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(5, 2, 2, 40, 40, 96, 0),
	    5 * 4 * 44 * 2);
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(3, 2, 1, 20, 20, 160, 0),
	    11 * 4 * 22 * 2); /* R = 5 */
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(5, 2, 2, 9, 9, 8, 0),
	    13 * 4 * 16 * 2); /* 5 x 5 out, R = 5 */
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(5, 1, 2, 10, 10, 8, 0),
	    14 * 4 * 14 * 2); /* stride 1, R = 10 */
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(3, 2, 0, 9, 9, 8, 0), 0);
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(7, 2, 3, 9, 9, 8, 0), 0);
	assert_int_equal(
	    cost_depthwise_conv2d_s8_scratch_size(3, 1, 1, 10, 257, 8, 0), 0);
	assert_int_equal(cost_avgpool_s8_scratch_size(17), 0);
	one_stage(&a, 8, 3,
		  (struct arch_stage){ARCH_BLOCK_MBCONV, 8, 1, 3, 2, 2, 0.5,
				      ARCH_SKIP_NONE, ARCH_ACT_RELU});
	a.stem = (struct arch_stem){1, 6, 5, 1, ARCH_ACT_RELU};
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	assert_int_equal(cost_op_scratch_size(&g, 0), 4 * 76 * 3 + 16 * 6);
	assert_int_equal(g.ops[3].kind, GRAPH_OP_GAP);
	assert_int_equal(cost_op_scratch_size(&g, 3), 0);
	assert_int_equal(cost_op_scratch_size(&g, 1),
			 4 * 8 * 2 + 16 * 12); /* 1x1 6 -> 12 */
	graph_free(&g);
}

static void allocation_failure(void **state)
{
	struct arch a;
	struct graph g;
	struct cost_plan p;
	char err[CORE_ERR_LEN];
	enum core_status rc;
	int n = 0;

	one_stage(&a, 8, 3,
		  (struct arch_stage){ARCH_BLOCK_MBCONV, 8, 2, 3, 1, 2, 0.5,
				      ARCH_SKIP_RESIDUAL, ARCH_ACT_RELU});
	core_alloc_fail_after(0);
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err),
			 CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_null(g.ops);
	assert_null(g.tensors);
	assert_int_equal(graph_build(&a, 1, &g, err, sizeof err), CORE_OK);
	do {
		core_alloc_fail_after(n++);
		rc = cost_plan_build(&g, &p, err, sizeof err);
		core_alloc_fail_after(-1);
		if (rc) {
			assert_int_equal(rc, CORE_ERR_NOMEM);
			assert_null(p.buffers);
			assert_null(p.op_live);
		}
	} while (rc);
	assert_true(n >= 9);
	cost_plan_free(&p);
	graph_free(&g);
	graph_free(&g); /* idempotent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(random_architectures),
	    cmocka_unit_test(elem_bytes_scale_tensors),
	    cmocka_unit_test(op_order_and_names),
	    cmocka_unit_test(depthwise_inplace_rule),
	    cmocka_unit_test(scratch_sizes),
	    cmocka_unit_test(allocation_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
