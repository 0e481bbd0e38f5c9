/* SPDX-License-Identifier: Apache-2.0 */
/* cost.c - per-op MACs, elementwise work, parameter counts and int8 flash,
 * and the cost report that ties them to the memory plan; owns struct
 * cost_report. */
#include "cost.h"

#include <string.h>

static uint64_t elements(const struct graph_tensor *t)
{
	return (uint64_t)t->h * (uint64_t)t->w * (uint64_t)t->c;
}

/* Requantization bytes of an op: a pair per output channel of a weighted
 * op, one per GAP and MUL, three per ADD (both inputs and the output). */
static uint64_t op_requant_bytes(const struct graph_op *op)
{
	if (graph_op_has_weights(op))
		return (uint64_t)op->cout * COST_REQUANT_BYTES;
	if (op->kind == GRAPH_OP_ADD)
		return 3 * COST_REQUANT_BYTES;
	return COST_REQUANT_BYTES; /* GAP, MUL */
}

/* Weight bytes of an op in flash: 1x1 and kxk weights are emitted packed
 * (service/codegen/kernels/pack_s8.h): rows rounded up to an even count,
 * each of K*K*C_in padded to a multiple of 4. */
static uint64_t op_weight_bytes(const struct graph_op *op)
{
	const int len = op->kernel * op->kernel * op->cin;

	if (op->kind == GRAPH_OP_CONV1X1 || op->kind == GRAPH_OP_CONV2D)
		return (uint64_t)((op->cout + 1) & ~1) *
		       (uint64_t)((len + 3) & ~3);
	return graph_op_weight_count(op);
}

/* One row of the report, from the op alone (live bytes come from the plan).
 * The rules are those of cost.h. */
static void cost_op_count(const struct graph *g, int i, struct cost_op *c)
{
	const struct graph_op *op = &g->ops[i];
	const struct graph_tensor *out = &g->tensors[op->out];
	const struct graph_tensor *in = &g->tensors[op->in[0]];
	uint64_t w = graph_op_weight_count(op);
	uint64_t cout = (uint64_t)op->cout;

	memset(c, 0, sizeof *c);
	c->scratch_bytes = cost_op_scratch_size(g, i);
	switch (op->kind) {
	case GRAPH_OP_CONV2D:
	case GRAPH_OP_CONV1X1:
	case GRAPH_OP_DEPTHWISE:
		/* out_elements * (C_in / groups) * k * k */
		c->macs = elements(out) * (uint64_t)op->w_shape[3] *
			  (uint64_t)op->kernel * (uint64_t)op->kernel;
		break;
	case GRAPH_OP_LINEAR: c->macs = w; break;
	case GRAPH_OP_GAP: c->elementwise = elements(in); break;
	case GRAPH_OP_MUL:
	case GRAPH_OP_ADD: c->elementwise = elements(out); break;
	}
	c->flash_bytes = op_requant_bytes(op) + cost_op_code_bytes(op);
	if (graph_op_has_weights(op)) {
		c->params_trainable =
		    w + (op->bias ? cout : 0) + (op->bn ? 2 * cout : 0);
		c->params_deployed = w + cout;
		c->flash_bytes += op_weight_bytes(op) + cout * COST_BIAS_BYTES;
	}
	if (graph_act_needs_lut(op->act))
		c->flash_bytes += COST_LUT_BYTES;
}

uint64_t cost_op_code_bytes(const struct graph_op *op)
{
	uint64_t n = 0;

	switch (op->kind) {
	case GRAPH_OP_CONV2D: n = COST_OP_CONV2D; break;
	case GRAPH_OP_CONV1X1: n = COST_OP_POINTWISE; break;
	case GRAPH_OP_DEPTHWISE: n = COST_OP_DEPTHWISE; break;
	case GRAPH_OP_LINEAR: n = COST_OP_LINEAR; break;
	case GRAPH_OP_GAP: n = COST_OP_GAP; break;
	case GRAPH_OP_MUL: n = COST_OP_MUL; break;
	case GRAPH_OP_ADD: n = COST_OP_ADD; break;
	}
	return n + (graph_act_needs_lut(op->act) ? COST_OP_LUT : 0);
}

uint64_t cost_runtime_flash_bytes(const struct graph *g, enum cost_target t)
{
	int used[GRAPH_OP_KIND_COUNT] = {0}, lut = 0, dw_inplace = 0;
	uint64_t n =
	    t == COST_TARGET_QEMU ? COST_BASE_QEMU : COST_BASE_STM32H743;

	for (int i = 0; i < g->nops; i++) {
		used[g->ops[i].kind] = 1;
		/* kxk, 1x1 and depthwise convolutions apply their table in
		 * their own output stage (no lut_s8 call) */
		lut |= graph_act_needs_lut(g->ops[i].act) &&
		       g->ops[i].kind != GRAPH_OP_CONV2D &&
		       g->ops[i].kind != GRAPH_OP_CONV1X1 &&
		       g->ops[i].kind != GRAPH_OP_DEPTHWISE;
		dw_inplace |= g->ops[i].kind == GRAPH_OP_DEPTHWISE &&
			      g->ops[i].inplace_input >= 0;
	}
	if (used[GRAPH_OP_LINEAR])
		n += COST_KERNEL_MATMUL;
	/* the packed matrix core lives in the 1x1 kernel's file */
	if (used[GRAPH_OP_CONV2D] && !used[GRAPH_OP_CONV1X1])
		n += COST_KERNEL_POINTWISE;
	n += used[GRAPH_OP_CONV2D] ? COST_KERNEL_CONV2D : 0;
	n += used[GRAPH_OP_CONV1X1] ? COST_KERNEL_POINTWISE : 0;
	n += used[GRAPH_OP_LINEAR] ? COST_KERNEL_FC : 0;
	n += used[GRAPH_OP_DEPTHWISE] ? COST_KERNEL_DEPTHWISE : 0;
	/* the in-place kernel (the band route serves both) */
	n += dw_inplace ? COST_KERNEL_DEPTHWISE_INPLACE : 0;
	n += used[GRAPH_OP_GAP] ? COST_KERNEL_AVGPOOL : 0;
	n += used[GRAPH_OP_MUL] ? COST_KERNEL_MUL : 0;
	n += used[GRAPH_OP_ADD] ? COST_KERNEL_ADD : 0;
	n += lut ? COST_KERNEL_LUT : 0;
	return n;
}

void cost_report_set_target(struct cost_report *r, enum cost_target t)
{
	struct cost_flash *f = &r->flash;

	f->target = t;
	f->runtime = cost_runtime_flash_bytes(&r->graph, t);
	f->total =
	    f->weights + f->biases + f->requant + f->luts + f->ops + f->runtime;
}

void cost_report_free(struct cost_report *r)
{
	graph_free(&r->graph);
	cost_plan_free(&r->plan);
	core_free(r->ops);
	memset(r, 0, sizeof *r);
	r->graph.input = r->graph.output = -1;
	r->plan.peak_op = -1;
}

enum core_status cost_report_build(const struct arch *a, struct cost_report *r,
				   char *err, size_t errlen)
{
	const struct graph *g = &r->graph;
	enum core_status rc;

	memset(r, 0, sizeof *r);
	rc = graph_build(a, 1, &r->graph, err, errlen);
	if (rc)
		goto out;
	rc = cost_plan_build(g, &r->plan, err, errlen);
	if (rc)
		goto out;
	r->ops = core_calloc((size_t)g->nops, sizeof *r->ops);
	if (!r->ops) {
		core_errf(err, errlen, "cost: out of memory");
		rc = CORE_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < g->nops; i++) {
		const struct graph_op *op = &g->ops[i];
		struct cost_op *c = &r->ops[i];

		cost_op_count(g, i, c);
		c->live_bytes = r->plan.op_live[i];
		r->macs += c->macs;
		r->elementwise += c->elementwise;
		r->params_trainable += c->params_trainable;
		r->params_deployed += c->params_deployed;
		r->flash.weights += op_weight_bytes(op);
		if (graph_op_has_weights(op))
			r->flash.biases += (uint64_t)op->cout * COST_BIAS_BYTES;
		r->flash.requant += op_requant_bytes(op);
		if (graph_act_needs_lut(op->act))
			r->flash.luts += COST_LUT_BYTES;
		r->flash.ops += cost_op_code_bytes(op);
	}
	cost_report_set_target(r, COST_TARGET_STM32H743);
	r->sram_bytes = r->plan.arena_bytes;
out:
	if (rc)
		cost_report_free(r);
	return rc;
}
