/* SPDX-License-Identifier: Apache-2.0 */
/* graph.c - lowers a struct arch to its inference graph (ops, tensors,
 * lifetimes, in-place decisions); owns struct graph's two arrays. */
#include "graph.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[GRAPH_OP_KIND_COUNT] = {
    "conv2d", "conv1x1", "depthwise", "gap", "mul", "add", "linear"};

static const char *const act_names[] = {
    "none", "relu", "relu6", "leakyrelu", "swish", "hswish", "sigmoid"};

const char *graph_op_kind_name(enum graph_op_kind k)
{
	if ((unsigned)k >= GRAPH_OP_KIND_COUNT)
		return "?";
	return kind_names[k];
}

const char *graph_act_name(enum graph_act a)
{
	if ((unsigned)a > GRAPH_ACT_SIGMOID)
		return "?";
	return act_names[a];
}

int graph_act_needs_lut(enum graph_act act)
{
	return act == GRAPH_ACT_LEAKYRELU || act == GRAPH_ACT_SWISH ||
	       act == GRAPH_ACT_HSWISH || act == GRAPH_ACT_SIGMOID;
}

int graph_op_has_weights(const struct graph_op *op)
{
	return op->kind == GRAPH_OP_CONV2D || op->kind == GRAPH_OP_CONV1X1 ||
	       op->kind == GRAPH_OP_DEPTHWISE || op->kind == GRAPH_OP_LINEAR;
}

uint64_t graph_op_weight_count(const struct graph_op *op)
{
	if (!graph_op_has_weights(op))
		return 0;
	return (uint64_t)op->w_shape[0] * (uint64_t)op->w_shape[1] *
	       (uint64_t)op->w_shape[2] * (uint64_t)op->w_shape[3];
}

void graph_free(struct graph *g)
{
	core_free(g->ops);
	core_free(g->tensors);
	memset(g, 0, sizeof *g);
	g->input = g->output = -1;
}

/* ---- checks ------------------------------------------------------------- */

static int in_range(int v, int lo, int hi)
{
	return v >= lo && v <= hi;
}

static int kernel_ok(int k)
{
	return in_range(k, 1, ARCH_MAX_KERNEL) && k % 2 == 1;
}

static int act_ok(enum arch_act act)
{
	return (unsigned)act < ARCH_ACT_COUNT;
}

/* The ranges the lowering relies on (arch_validate checks more). */
static enum core_status check_arch(const struct arch *a, int elem_bytes,
				   char *err, size_t errlen)
{
	int c;

	if (!in_range(elem_bytes, 1, 8)) {
		core_errf(err, errlen, "elem_bytes %d is not in 1..8",
			  elem_bytes);
		return CORE_ERR_INVALID;
	}
	if (!in_range(a->resolution, 1, ARCH_MAX_RESOLUTION) ||
	    !in_range(a->channels, 1, ARCH_MAX_INPUT_CHANNELS) ||
	    !in_range(a->classes, 1, ARCH_MAX_CLASSES) ||
	    !in_range(a->nstages, 0, ARCH_MAX_STAGES)) {
		core_errf(err, errlen,
			  "resolution, channels, classes or stage count out "
			  "of range");
		return CORE_ERR_INVALID;
	}
	c = a->channels;
	if (a->stem.present) {
		if (!in_range(a->stem.out, 1, ARCH_MAX_CHANNELS) ||
		    !kernel_ok(a->stem.kernel) ||
		    !in_range(a->stem.stride, 1, 2) || !act_ok(a->stem.act)) {
			core_errf(err, errlen,
				  "stem: out, kernel, stride or "
				  "act out of range");
			return CORE_ERR_INVALID;
		}
		c = a->stem.out;
	}
	for (int i = 0; i < a->nstages; i++) {
		const struct arch_stage *s = &a->stages[i];
		int wide = s->block == ARCH_BLOCK_MBCONV;

		if ((s->block != ARCH_BLOCK_DWSEP && !wide) ||
		    !in_range(s->out, 1, ARCH_MAX_CHANNELS) ||
		    !in_range(s->layers, 1, ARCH_MAX_LAYERS) ||
		    !kernel_ok(s->kernel) || !in_range(s->stride, 1, 2) ||
		    (wide && !in_range(s->expand, 1, ARCH_MAX_EXPAND)) ||
		    !(s->se >= 0.0 && s->se <= 1.0) ||
		    (s->skip != ARCH_SKIP_NONE &&
		     s->skip != ARCH_SKIP_RESIDUAL) ||
		    !act_ok(s->act)) {
			core_errf(err, errlen,
				  "stages[%d]: a field is out of "
				  "range",
				  i);
			return CORE_ERR_INVALID;
		}
		/* the widest tensor of the stage: its first block's expand */
		if (wide && (long)c * s->expand > ARCH_MAX_CHANNELS) {
			core_errf(err, errlen,
				  "stages[%d]: expanded width %ld exceeds %d",
				  i, (long)c * s->expand, ARCH_MAX_CHANNELS);
			return CORE_ERR_INVALID;
		}
		if (wide && (long)s->out * s->expand > ARCH_MAX_CHANNELS &&
		    s->layers > 1) {
			core_errf(err, errlen,
				  "stages[%d]: expanded width %ld exceeds %d",
				  i, (long)s->out * s->expand,
				  ARCH_MAX_CHANNELS);
			return CORE_ERR_INVALID;
		}
		c = s->out;
	}
	return CORE_OK;
}

/* ---- counting ----------------------------------------------------------- */

static int block_op_count(const struct arch_stage *s, int cin, int stride)
{
	int residual = s->skip == ARCH_SKIP_RESIDUAL && stride == 1;
	int n = 2; /* dw, project */

	n += s->block == ARCH_BLOCK_MBCONV;
	n += s->se > 0.0 ? 4 : 0;
	n += residual;			/* add */
	n += residual && cin != s->out; /* shortcut */
	return n;
}

static int graph_op_count(const struct arch *a)
{
	int n = 2; /* head.pool, head.fc */
	int c = a->channels;

	if (a->stem.present) {
		n++;
		c = a->stem.out;
	}
	for (int i = 0; i < a->nstages; i++)
		for (int j = 0; j < a->stages[i].layers; j++) {
			n += block_op_count(&a->stages[i], c,
					    j == 0 ? a->stages[i].stride : 1);
			c = a->stages[i].out;
		}
	return n;
}

/* ---- emitting ----------------------------------------------------------- */

/* Both arrays are sized exactly by graph_op_count before emitting starts:
 * every op produces one new tensor, the graph input is the extra one. */
struct builder {
	struct graph *g;
	int cap; /* ops counted; tensors: cap + 1 */
	int elem_bytes;
	int stage, block; /* of the ops being emitted; -1 outside stages */
};

static int tensor_new(struct builder *b, int h, int w, int c, int producer)
{
	struct graph *g = b->g;
	struct graph_tensor *t;

	assert(g->ntensors <= b->cap); /* graph_op_count matches emitting */
	t = &g->tensors[g->ntensors];
	t->h = h;
	t->w = w;
	t->c = c;
	t->elem_bytes = b->elem_bytes;
	t->bytes = (size_t)h * (size_t)w * (size_t)c * (size_t)b->elem_bytes;
	t->producer = producer;
	t->first_op = producer < 0 ? 0 : producer;
	t->last_op = t->first_op;
	return g->ntensors++;
}

static struct graph_op *op_new(struct builder *b, enum graph_op_kind kind,
			       enum graph_role role, const char *suffix, int x)
{
	struct graph *g = b->g;
	struct graph_op *op;

	assert(g->nops < b->cap); /* graph_op_count matches emitting */
	op = &g->ops[g->nops++];
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->role = role;
	op->stage = b->stage;
	op->block = b->block;
	if (b->stage >= 0)
		snprintf(op->name, sizeof op->name, "stages.%d.%d.%s", b->stage,
			 b->block, suffix);
	else
		snprintf(op->name, sizeof op->name, "%s", suffix);
	op->nin = 1;
	op->in[0] = x;
	op->in[1] = -1;
	op->kernel = 1;
	op->stride = 1;
	op->groups = 1;
	op->act = GRAPH_ACT_NONE;
	op->inplace_input = -1;
	return op;
}

static enum graph_act act_of(enum arch_act a)
{
	switch (a) {
	case ARCH_ACT_RELU: return GRAPH_ACT_RELU;
	case ARCH_ACT_RELU6: return GRAPH_ACT_RELU6;
	case ARCH_ACT_LEAKYRELU: return GRAPH_ACT_LEAKYRELU;
	case ARCH_ACT_SWISH: return GRAPH_ACT_SWISH;
	case ARCH_ACT_HSWISH: return GRAPH_ACT_HSWISH;
	}
	return GRAPH_ACT_NONE; /* unreachable: check_arch refused it */
}

/* A conv (CONV2D, CONV1X1 or DEPTHWISE) on tensor x; returns its output. For
 * odd k with pad k/2 the output side is (H - 1) / stride + 1. */
static int emit_conv(struct builder *b, enum graph_op_kind kind,
		     enum graph_role role, const char *suffix, int x, int cout,
		     int k, int stride, enum graph_act act, int bn)
{
	const struct graph_tensor *t = &b->g->tensors[x];
	int h = (t->h - 1) / stride + 1, w = (t->w - 1) / stride + 1;
	int cin = t->c;
	struct graph_op *op = op_new(b, kind, role, suffix, x);

	op->kernel = k;
	op->stride = stride;
	op->pad = k / 2;
	op->groups = kind == GRAPH_OP_DEPTHWISE ? cin : 1;
	op->cin = cin;
	op->cout = cout;
	op->act = act;
	op->bn = bn;
	op->bias = !bn;
	op->w_shape[0] = cout;
	op->w_shape[1] = k;
	op->w_shape[2] = k;
	op->w_shape[3] = cin / op->groups;
	op->out = tensor_new(b, h, w, cout, (int)(op - b->g->ops));
	return op->out;
}

static int emit_pool(struct builder *b, enum graph_role role,
		     const char *suffix, int x)
{
	struct graph_op *op = op_new(b, GRAPH_OP_GAP, role, suffix, x);

	op->out =
	    tensor_new(b, 1, 1, b->g->tensors[x].c, (int)(op - b->g->ops));
	return op->out;
}

/* MUL (x, gate) or ADD (x, y): the output has x's shape. */
static int emit_binary(struct builder *b, enum graph_op_kind kind,
		       enum graph_role role, const char *suffix, int x, int y)
{
	const struct graph_tensor *t = &b->g->tensors[x];
	struct graph_op *op = op_new(b, kind, role, suffix, x);

	op->nin = 2;
	op->in[1] = y;
	op->out = tensor_new(b, t->h, t->w, t->c, (int)(op - b->g->ops));
	return op->out;
}

/* SE width: max(1, floor(C*r)) in double precision, as the PyTorch twin. */
static int se_width(int c, double r)
{
	int m = (int)floor((double)c * r);

	return m < 1 ? 1 : m;
}

static int emit_block(struct builder *b, const struct arch_stage *s, int x,
		      int stride)
{
	int cin = b->g->tensors[x].c;
	int residual = s->skip == ARCH_SKIP_RESIDUAL && stride == 1;
	int project = residual && cin != s->out;
	enum graph_act act = act_of(s->act);
	int sc = -1, y = x;

	/* Run the projection first when its output is narrower than the block
	 * input: then the narrower tensor is the one kept across the block. */
	if (project && s->out < cin)
		sc = emit_conv(b, GRAPH_OP_CONV1X1, GRAPH_ROLE_SHORTCUT,
			       "shortcut", x, s->out, 1, 1, GRAPH_ACT_NONE, 1);
	if (s->block == ARCH_BLOCK_MBCONV)
		y = emit_conv(b, GRAPH_OP_CONV1X1, GRAPH_ROLE_EXPAND, "expand",
			      y, cin * s->expand, 1, 1, act, 1);
	y = emit_conv(b, GRAPH_OP_DEPTHWISE, GRAPH_ROLE_DW, "dw", y,
		      b->g->tensors[y].c, s->kernel, stride, act, 1);
	if (s->se > 0.0) {
		int c = b->g->tensors[y].c, p, r, gate;

		p = emit_pool(b, GRAPH_ROLE_SE_POOL, "se.pool", y);
		r = emit_conv(b, GRAPH_OP_CONV1X1, GRAPH_ROLE_SE_REDUCE,
			      "se.reduce", p, se_width(c, s->se), 1, 1,
			      GRAPH_ACT_RELU, 0);
		gate = emit_conv(b, GRAPH_OP_CONV1X1, GRAPH_ROLE_SE_EXPAND,
				 "se.expand", r, c, 1, 1, GRAPH_ACT_SIGMOID, 0);
		y = emit_binary(b, GRAPH_OP_MUL, GRAPH_ROLE_SE_SCALE,
				"se.scale", y, gate);
	}
	y = emit_conv(b, GRAPH_OP_CONV1X1, GRAPH_ROLE_PROJECT, "project", y,
		      s->out, 1, 1, GRAPH_ACT_NONE, 1);
	if (project && sc < 0)
		sc = emit_conv(b, GRAPH_OP_CONV1X1, GRAPH_ROLE_SHORTCUT,
			       "shortcut", x, s->out, 1, 1, GRAPH_ACT_NONE, 1);
	if (residual)
		y = emit_binary(b, GRAPH_OP_ADD, GRAPH_ROLE_ADD, "add", y,
				project ? sc : x);
	return y;
}

/* ---- lifetimes and in place ---------------------------------------------- */

static void graph_set_lifetimes(struct graph *g)
{
	for (int i = 0; i < g->nops; i++)
		for (int k = 0; k < g->ops[i].nin; k++) {
			struct graph_tensor *t = &g->tensors[g->ops[i].in[k]];

			if (t->last_op < i)
				t->last_op = i;
		}
	g->tensors[g->output].last_op = g->nops - 1;
}

/* The rule of graph.h: the input dies here, and the kind allows it. */
static int inplace_choice(const struct graph *g, int i)
{
	const struct graph_op *op = &g->ops[i];
	const struct graph_tensor *x = &g->tensors[op->in[0]];

	switch (op->kind) {
	case GRAPH_OP_ADD:
		if (x->last_op == i)
			return 0;
		return g->tensors[op->in[1]].last_op == i ? 1 : -1;
	case GRAPH_OP_MUL: return x->last_op == i ? 0 : -1;
	case GRAPH_OP_DEPTHWISE:
		if (x->last_op != i || op->stride != 1)
			return -1;
		if (op->kernel == 1 || (op->kernel - 1) / 2 + 1 < x->h)
			return 0;
		return -1;
	default: return -1;
	}
}

enum core_status graph_build(const struct arch *a, int elem_bytes,
			     struct graph *g, char *err, size_t errlen)
{
	struct builder b;
	enum core_status rc;
	int n, x, c;

	memset(g, 0, sizeof *g);
	g->input = g->output = -1;
	rc = check_arch(a, elem_bytes, err, errlen);
	if (rc)
		return rc;
	n = graph_op_count(a);
	b = (struct builder){g, n, elem_bytes, -1, -1};
	g->ops = core_calloc((size_t)n, sizeof *g->ops);
	g->tensors = core_calloc((size_t)n + 1, sizeof *g->tensors);
	if (!g->ops || !g->tensors) {
		graph_free(g);
		core_errf(err, errlen, "out of memory for a graph of %d ops",
			  n);
		return CORE_ERR_NOMEM;
	}
	x = g->input =
	    tensor_new(&b, a->resolution, a->resolution, a->channels, -1);
	if (a->stem.present)
		x = emit_conv(&b, GRAPH_OP_CONV2D, GRAPH_ROLE_STEM, "stem", x,
			      a->stem.out, a->stem.kernel, a->stem.stride,
			      act_of(a->stem.act), 1);
	for (int i = 0; i < a->nstages; i++)
		for (int j = 0; j < a->stages[i].layers; j++) {
			b.stage = i;
			b.block = j;
			x = emit_block(&b, &a->stages[i], x,
				       j == 0 ? a->stages[i].stride : 1);
		}
	b.stage = b.block = -1;
	x = emit_pool(&b, GRAPH_ROLE_HEAD_POOL, "head.pool", x);
	c = g->tensors[x].c;
	{
		struct graph_op *op = op_new(&b, GRAPH_OP_LINEAR,
					     GRAPH_ROLE_HEAD_FC, "head.fc", x);

		op->cin = c;
		op->cout = a->classes;
		op->bias = 1;
		op->w_shape[0] = a->classes;
		op->w_shape[1] = op->w_shape[2] = 1;
		op->w_shape[3] = c;
		op->out = tensor_new(&b, 1, 1, a->classes, g->nops - 1);
		g->output = op->out;
	}
	if (g->nops != n || g->ntensors != n + 1) {
		core_errf(err, errlen, "graph: emitted %d ops for %d counted",
			  g->nops, n);
		graph_free(g);
		return CORE_ERR_INTERNAL;
	}
	graph_set_lifetimes(g);
	for (int i = 0; i < g->nops; i++)
		g->ops[i].inplace_input = inplace_choice(g, i);
	return CORE_OK;
}
