/* SPDX-License-Identifier: Apache-2.0 */
/* cost.h - what an architecture costs on a microcontroller: MACs, parameter
 * counts, int8 flash, and peak SRAM from a memory planner over the int8
 * inference graph, with a per-op table.
 *
 * Layer: above arch and graph, below quant, codegen and search. Includes
 * core, arch, graph and Jansson.
 *
 * Counting rules (tests/fixtures/cost/ holds PyTorch's figures for them,
 * made by tools/gen_cost_fixtures.py):
 *   - MACs as PyTorch forward hooks on Conv2d and Linear count them: a conv
 *     out_elements * (C_in / groups) * k * k (stem, expand, dw, SE FCs,
 *     project, shortcut), a linear in * out. BN, activations, pooling, adds
 *     and the SE multiply are not MACs: they are reported apart as
 *     elementwise work (ADD, MUL: output elements; GAP: input elements).
 *   - trainable params: every parameter of the PyTorch twin: weights, own
 *     biases (SE FCs, head.fc), BN gamma and beta (running stats are
 *     buffers, not parameters).
 *   - deployed params: BN folded: weights + one bias per output channel of
 *     every conv and linear.
 *   - int8 flash, as the code generator (codegen.h) lays a project out:
 *     one byte per weight, an int32 bias and a requantization pair (int32
 *     multiplier + int32 shift) per output channel of every conv and
 *     linear, one requantization pair per GAP and MUL and three per ADD
 *     (each input and the output), a 256-byte table per op whose
 *     activation is a LUT (graph_act_needs_lut); "ops": per op the code of
 *     its kernel call and its constant parameter structs (COST_OP_*);
 *     "runtime": the kernel families the network uses (COST_KERNEL_*) plus
 *     the target's start-up, console, demo main and libc pieces
 *     (COST_BASE_*). The op, kernel and base sizes are measured with
 *     arm-none-eabi-gcc 12.2 -mcpu=cortex-m7 -O2 (-ffunction-sections,
 *     --gc-sections) on generated projects (tools/flash_calibrate.py); the
 *     export tests check that the estimate stays within 3% of
 *     arm-none-eabi-size (text + data, minus the embedded test images).
 *
 * Peak SRAM is the size of one arena that holds every int8 tensor (the
 * graph input and output included) and every kernel's scratch. Tensors that
 * an op runs in place on share one buffer; each buffer lives from the first
 * op writing it to the last op reading it (inclusive), scratch only during
 * its op. Offsets come from greedy first-fit placement (TFLite Micro's
 * GreedyMemoryPlanner) tried in three orders (size, lifetime length, first
 * use), keeping the smallest arena; the plan is what generated MCU code uses.
 */
#ifndef LMNAS_COST_H
#define LMNAS_COST_H

#include "arch/arch.h"
#include "core/core.h"
#include "graph/graph.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define COST_LUT_BYTES	   256 /* int8 -> int8 activation table */
#define COST_REQUANT_BYTES 8   /* int32 multiplier + int32 shift */
#define COST_BIAS_BYTES	   4   /* int32 */
/* Every buffer offset and size is a multiple of this (word access on
 * Cortex-M0 and the int16 im2col columns). */
#define COST_ARENA_ALIGN 4

/* ---- kernel scratch -------------------------------------------------------
 * Exactly what each MCU kernel of service/codegen/kernels/ asks for (its
 * <op>_s8_scratch_size()): generated code hands every kernel its scratch
 * buffer from this plan, so the sizes must not drift apart (the codegen
 * tests compile the kernels and check). */

/* kxk conv: im2col of two output pixels as int16, each column rounded up to
 * an even length: 2 * ceil2(k * k * cin) * 2 bytes. */
size_t cost_conv2d_s8_scratch_size(int kernel, int cin, int cout);
/* 1x1 conv (also SE's FCs on 1x1 maps): two int16 columns of ceil2(cin). */
size_t cost_pointwise_conv2d_s8_scratch_size(int cin, int cout);
/* Fully connected: the input widened to int16, 2 * cin bytes. */
size_t cost_fully_connected_s8_scratch_size(int cin);
/* Depthwise, input h x w x c: out of place, for k 3 and 5 with padding
 * k/2 and stride 1 or 2 the DSP band planes (at most max(k plane rows,
 * 2 KB)), else 0; in place (graph.h) a ring of k/2 + 1 input rows,
 * (k/2 + 1) * w * c bytes (one row for k == 1), or for k 3 and 5 the band
 * planes when larger but within a quarter of the map. */
size_t cost_depthwise_conv2d_s8_scratch_size(int kernel, int stride, int pad,
					     int h, int w, int c, int inplace);
/* Global average pool: 0 (the kernel keeps its sums in registers). */
size_t cost_avgpool_s8_scratch_size(int c);
/* The scratch of op i of g (add and mul need none). */
size_t cost_op_scratch_size(const struct graph *g, int i);

/* ---- memory plan -------------------------------------------------------- */

struct cost_buffer {
	int tensor;   /* first tensor of an in-place chain; -1 for scratch */
	int op;	      /* for scratch: the op using it; -1 otherwise */
	int first_op; /* live from this op ... */
	int last_op;  /* ... to this one, inclusive */
	size_t bytes; /* largest tensor of the chain, rounded up to the align */
	size_t offset; /* in the arena, a multiple of COST_ARENA_ALIGN */
};

struct cost_plan {
	int nbuffers;
	struct cost_buffer *buffers; /* (nbuffers): tensor chains, then
				      * scratch in op order */
	int ntensors;
	int *tensor_buffer; /* (ntensors) tensor id -> buffer index */
	int nops;
	int *op_scratch;	/* (nops) op -> scratch buffer index, or -1 */
	size_t *op_live;	/* (nops) bytes of buffers live at the op,
				 * its scratch included */
	size_t arena_bytes;	/* max(offset + bytes): peak SRAM */
	size_t peak_live_bytes; /* max of op_live: no arena can be smaller */
	int peak_op;		/* first op where op_live is largest */
};

/* Plans the arena for g. On success p owns its arrays (cost_plan_free); on
 * failure p is left empty. */
enum core_status cost_plan_build(const struct graph *g, struct cost_plan *p,
				 char *err, size_t errlen);
void cost_plan_free(struct cost_plan *p);

/* Arena offset of a tensor's data. */
size_t cost_plan_tensor_offset(const struct cost_plan *p, int tensor);

/* ---- the report --------------------------------------------------------- */

struct cost_op {
	uint64_t macs;
	uint64_t elementwise;
	uint64_t params_trainable;
	uint64_t params_deployed;
	uint64_t flash_bytes; /* its weights, biases, requant and LUT */
	size_t scratch_bytes; /* unaligned, as the kernel asks */
	size_t live_bytes;    /* = plan.op_live[i] */
};

/* ---- flash of generated code (see the counting rules above) ------------- */

/* The deployment target the runtime figure is for. */
enum cost_target { COST_TARGET_STM32H743 = 0, COST_TARGET_QEMU };
#define COST_TARGET_COUNT 2

/* Start-up, vector table, clocks or semihosting, console, the demo main,
 * memcpy/memset: what a generated project holds besides the network. */
#define COST_BASE_STM32H743 3701
#define COST_BASE_QEMU	    2605
/* Each kernel family the network uses (the int16 matrix core serves the
 * dense kernel; the packed core in the 1x1 kernel's file also serves the kxk
 * one, counted once). */
#define COST_KERNEL_MATMUL    1900
#define COST_KERNEL_CONV2D    818
#define COST_KERNEL_POINTWISE 5224
#define COST_KERNEL_FC	      102
/* depthwise_conv2d_s8.c's out-of-place kernel and the band route of
 * depthwise_band_s8.c */
#define COST_KERNEL_DEPTHWISE 9788
/* in addition when a depthwise layer runs in place */
#define COST_KERNEL_DEPTHWISE_INPLACE 342
#define COST_KERNEL_AVGPOOL	      1370
#define COST_KERNEL_MUL		      1246
#define COST_KERNEL_ADD		      2106
#define COST_KERNEL_LUT		      128
/* Per op: its call in model_run and its constant parameter structs. */
#define COST_OP_CONV2D	  168
#define COST_OP_POINTWISE 130
#define COST_OP_DEPTHWISE 140
#define COST_OP_LINEAR	  78
#define COST_OP_GAP	  112
#define COST_OP_MUL	  33
#define COST_OP_ADD	  77
#define COST_OP_LUT	  2 /* a table: its call, or its fused pointer */

/* Code and parameters of op i of g (COST_OP_*). */
uint64_t cost_op_code_bytes(const struct graph_op *op);
/* The runtime figure of g on target t: base + kernels used. */
uint64_t cost_runtime_flash_bytes(const struct graph *g, enum cost_target t);

struct cost_flash {
	uint64_t weights, biases, requant, luts;
	uint64_t ops;	  /* kernel calls and parameter structs */
	uint64_t runtime; /* kernels used + the target's base */
	uint64_t total;
	enum cost_target target;
};

struct cost_report {
	struct graph graph; /* int8 inference graph (elem_bytes 1) */
	struct cost_plan plan;
	struct cost_op *ops; /* (graph.nops), one row per graph op */
	uint64_t macs;
	uint64_t elementwise;
	uint64_t params_trainable;
	uint64_t params_deployed;
	struct cost_flash flash;
	size_t sram_bytes; /* = plan.arena_bytes */
};

/* Lowers a to its int8 graph, counts and plans it, with the flash runtime
 * of COST_TARGET_STM32H743. a should have passed arch_validate (graph_build
 * re-checks the ranges it needs). On success r owns everything
 * (cost_report_free); on failure r is left empty. */
enum core_status cost_report_build(const struct arch *a, struct cost_report *r,
				   char *err, size_t errlen);
void cost_report_free(struct cost_report *r);

/* Recomputes the runtime and total flash of r for target t. */
void cost_report_set_target(struct cost_report *r, enum cost_target t);

/* Human-readable totals and per-op table appended to out. */
enum core_status cost_report_format_text(const struct cost_report *r,
					 struct core_buf *out);

/* {"macs", "elementwise", "params": {"trainable", "deployed"}, "flash":
 *  {...}, "sram": {"arena_bytes", "peak_live_bytes", "peak_op"},
 *  "ops": [{"name", "kind", "out": [h, w, c], "macs", "params", "flash",
 *  "scratch", "live", "offset", "inplace"}]}. New reference owned by the
 * caller; NULL on out-of-memory. */
json_t *cost_report_to_json(const struct cost_report *r);

/* ---- the cost document (cost_json.c) ------------------------------------
 * What `lmnas cost --json` prints and POST /v1/cost answers. */

/* [{"field", "reason"}] of fe; NULL on out-of-memory. */
json_t *cost_field_errors_json(const struct core_field_errors *fe);

/* An invalid architecture: {"valid": false, "errors": [...]}. */
json_t *cost_invalid_json(const struct core_field_errors *fe);

/* The membership of a search space, checked by the caller. */
struct cost_space_check {
	const char *path; /* the space's file (NULL: none, not shown) */
	int member;
	const struct core_field_errors *errors; /* why not a member */
};

/* A valid architecture: {"name", "hash", "valid": true, "space": null or
 * {"path"?, "member", "errors"}, "cost": cost_report_to_json(r)} in that
 * key order. space NULL: not checked. New reference owned by the caller;
 * NULL on out-of-memory. */
json_t *cost_arch_json(const struct arch *a, const char *hash,
		       const struct cost_space_check *space,
		       const struct cost_report *r);

#endif
