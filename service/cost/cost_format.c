/* SPDX-License-Identifier: Apache-2.0 */
/* cost_format.c - the cost report as a text table (for `lmnas cost`) and as
 * JSON (for `--json` and the HTTP API). */
#include "cost.h"

#include <stdio.h>

/* v with thousands separators ("1,234,567") into buf. */
static const char *grouped(uint64_t v, char buf[32])
{
	char raw[24];
	int n = snprintf(raw, sizeof raw, "%llu", (unsigned long long)v);
	int o = 0;

	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

static enum core_status format_totals(const struct cost_report *r,
				      struct core_buf *out)
{
	const struct graph *g = &r->graph;
	const struct graph_tensor *in = &g->tensors[g->input];
	const struct cost_flash *f = &r->flash;
	char b[7][32];
	enum core_status rc;

	rc = core_buf_printf(
	    out,
	    "input %dx%dx%d int8, %d ops, %d tensors\n"
	    "MACs               %s  (elementwise %s: adds, SE multiplies, "
	    "pooling)\n",
	    in->h, in->w, in->c, g->nops, g->ntensors, grouped(r->macs, b[0]),
	    grouped(r->elementwise, b[1]));
	if (rc)
		return rc;
	rc = core_buf_printf(out,
			     "params             trainable %s, deployed %s "
			     "(BN folded)\n",
			     grouped(r->params_trainable, b[0]),
			     grouped(r->params_deployed, b[1]));
	if (rc)
		return rc;
	rc = core_buf_printf(out,
			     "flash (int8)       %s B = weights %s + biases %s "
			     "+ requant %s + LUTs %s + op calls %s + kernels "
			     "and runtime %s (%s)\n",
			     grouped(f->total, b[0]), grouped(f->weights, b[1]),
			     grouped(f->biases, b[2]),
			     grouped(f->requant, b[3]), grouped(f->luts, b[4]),
			     grouped(f->ops, b[5]), grouped(f->runtime, b[6]),
			     f->target == COST_TARGET_QEMU ? "qemu"
							   : "stm32h743");
	if (rc)
		return rc;
	return core_buf_printf(
	    out,
	    "peak SRAM (arena)  %s B  (largest live set %s B at op %d "
	    "%s)\n",
	    grouped(r->sram_bytes, b[0]),
	    grouped(r->plan.peak_live_bytes, b[1]), r->plan.peak_op,
	    g->ops[r->plan.peak_op].name);
}

enum core_status cost_report_format_text(const struct cost_report *r,
					 struct core_buf *out)
{
	const struct graph *g = &r->graph;
	enum core_status rc;

	rc = format_totals(r, out);
	if (rc)
		return rc;
	rc = core_buf_printf(out,
			     "\n%4s  %-22s %-9s %-9s %-11s %12s %9s %9s %8s "
			     "%9s %9s\n",
			     "#", "op", "kind", "act", "out", "MACs", "params",
			     "flash", "scratch", "live B", "offset");
	if (rc)
		return rc;
	for (int i = 0; i < g->nops; i++) {
		const struct graph_op *op = &g->ops[i];
		const struct graph_tensor *t = &g->tensors[op->out];
		const struct cost_op *c = &r->ops[i];
		char shape[32], b[6][32];

		snprintf(shape, sizeof shape, "%dx%dx%d", t->h, t->w, t->c);
		rc = core_buf_printf(
		    out,
		    "%4d%c %-22s %-9s %-9s %-11s %12s %9s %9s %8s %9s "
		    "%9zu\n",
		    i, i == r->plan.peak_op ? '>' : ' ', op->name,
		    graph_op_kind_name(op->kind), graph_act_name(op->act),
		    shape, grouped(c->macs, b[0]),
		    grouped(c->params_deployed, b[1]),
		    grouped(c->flash_bytes, b[2]),
		    grouped(c->scratch_bytes, b[3]),
		    grouped(c->live_bytes, b[4]),
		    cost_plan_tensor_offset(&r->plan, op->out));
		if (rc)
			return rc;
	}
	return core_buf_printf(out,
			       "('>' marks the peak op; in-place ops share "
			       "their input's offset)\n");
}

/* ---- JSON --------------------------------------------------------------- */

/* Sets o[k] = v, stealing v; counts a failure (v NULL or no memory). */
static void put(json_t *o, const char *k, json_t *v, int *bad)
{
	if (!v || json_object_set_new(o, k, v))
		(*bad)++;
}

static json_t *u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *op_json(const struct cost_report *r, int i, int *bad)
{
	const struct graph_op *op = &r->graph.ops[i];
	const struct graph_tensor *t = &r->graph.tensors[op->out];
	const struct cost_op *c = &r->ops[i];
	json_t *o = json_object();

	if (!o) {
		(*bad)++;
		return NULL;
	}
	put(o, "name", json_string(op->name), bad);
	put(o, "kind", json_string(graph_op_kind_name(op->kind)), bad);
	put(o, "act", json_string(graph_act_name(op->act)), bad);
	put(o, "out", json_pack("[iii]", t->h, t->w, t->c), bad);
	put(o, "macs", u64(c->macs), bad);
	put(o, "elementwise", u64(c->elementwise), bad);
	put(o, "params", u64(c->params_deployed), bad);
	put(o, "params_trainable", u64(c->params_trainable), bad);
	put(o, "flash", u64(c->flash_bytes), bad);
	put(o, "scratch", u64(c->scratch_bytes), bad);
	put(o, "live", u64(c->live_bytes), bad);
	put(o, "offset", u64(cost_plan_tensor_offset(&r->plan, op->out)), bad);
	put(o, "inplace", json_boolean(op->inplace_input >= 0), bad);
	return o;
}

json_t *cost_report_to_json(const struct cost_report *r)
{
	json_t *o = json_object(), *ops = json_array();
	int bad = 0;

	if (!o || !ops)
		goto fail;
	put(o, "macs", u64(r->macs), &bad);
	put(o, "elementwise", u64(r->elementwise), &bad);
	put(o, "params",
	    json_pack("{sIsI}", "trainable", (json_int_t)r->params_trainable,
		      "deployed", (json_int_t)r->params_deployed),
	    &bad);
	put(o, "flash",
	    json_pack(
		"{sIsIsIsIsIsIsIss}", "weights", (json_int_t)r->flash.weights,
		"biases", (json_int_t)r->flash.biases, "requant",
		(json_int_t)r->flash.requant, "luts", (json_int_t)r->flash.luts,
		"ops", (json_int_t)r->flash.ops, "runtime",
		(json_int_t)r->flash.runtime, "total",
		(json_int_t)r->flash.total, "target",
		r->flash.target == COST_TARGET_QEMU ? "qemu" : "stm32h743"),
	    &bad);
	put(o, "sram",
	    json_pack("{sIsIsiss}", "arena_bytes", (json_int_t)r->sram_bytes,
		      "peak_live_bytes", (json_int_t)r->plan.peak_live_bytes,
		      "peak_op", r->plan.peak_op, "peak_op_name",
		      r->graph.ops[r->plan.peak_op].name),
	    &bad);
	for (int i = 0; i < r->graph.nops && !bad; i++) {
		json_t *row = op_json(r, i, &bad);

		if (row && json_array_append_new(ops, row))
			bad++;
	}
	put(o, "ops", ops, &bad);
	ops = NULL; /* stolen by put, even on failure */
	if (bad)
		goto fail;
	return o;
fail:
	json_decref(ops);
	json_decref(o);
	return NULL;
}
