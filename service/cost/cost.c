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
	c->flash_bytes = op_requant_bytes(op);
	if (graph_op_has_weights(op)) {
		c->params_trainable =
		    w + (op->bias ? cout : 0) + (op->bn ? 2 * cout : 0);
		c->params_deployed = w + cout;
		c->flash_bytes += w + cout * COST_BIAS_BYTES;
	}
	if (graph_act_needs_lut(op->act))
		c->flash_bytes += COST_LUT_BYTES;
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
		r->flash.weights += graph_op_weight_count(op);
		if (graph_op_has_weights(op))
			r->flash.biases += (uint64_t)op->cout * COST_BIAS_BYTES;
		r->flash.requant += op_requant_bytes(op);
		if (graph_act_needs_lut(op->act))
			r->flash.luts += COST_LUT_BYTES;
	}
	r->flash.runtime = COST_RUNTIME_FLASH_BYTES;
	r->flash.total = r->flash.weights + r->flash.biases + r->flash.requant +
			 r->flash.luts + r->flash.runtime;
	r->sram_bytes = r->plan.arena_bytes;
out:
	if (rc)
		cost_report_free(r);
	return rc;
}
