/* SPDX-License-Identifier: Apache-2.0 */
/* graph.h - the inference graph of an architecture: a struct arch lowered to a
 * flat, topologically ordered list of int8-deployable ops over NHWC tensors
 * (batch 1), with BatchNorm folded into the conv before it and dropout gone.
 *
 * Layer: above arch, below cost, quant and codegen. Includes only core and
 * arch. The cost model's memory planner, the quantizer and the MCU code
 * generator all walk this one list, so an op here is exactly one kernel call.
 *
 * Op names are the PyTorch twin's module paths (tools/arch_torch.py) without
 * the trailing ".conv": "stem", "stages.1.0.expand", "stages.1.0.dw",
 * "stages.1.0.se.reduce", "stages.1.0.project", "stages.1.0.shortcut",
 * "head.fc"; weightless ops get "stages.1.0.se.pool", "stages.1.0.se.scale",
 * "stages.1.0.add" and "head.pool".
 *
 * Lowering of one block (see arch.h for the network semantics):
 *   [shortcut]  when the residual needs a projection and out < in (keeping
 *               the narrower tensor alive across the block)
 *   expand      mbconv only: CONV1X1 C_in -> C, act
 *   dw          DEPTHWISE kxk, stride s, act
 *   se.pool     GAP HxWxC -> 1x1xC            } SE(r), r > 0:
 *   se.reduce   CONV1X1 on 1x1: C -> m, relu  }  m = max(1, floor(C*r))
 *   se.expand   CONV1X1 on 1x1: m -> C, sigmoid }
 *   se.scale    MUL HxWxC * 1x1xC (per channel), in place on the dw output
 *   project     CONV1X1 C -> out, no act
 *   [shortcut]  when the projection is needed and out >= in
 *   add         ADD (project output, residual), in place
 *
 * SE is lowered to explicit ops, not one fused op: every boundary (pooled
 * mean, reduced vector, gate, scaled map) is a tensor with its own int8
 * scale and zero point that the quantizer calibrates, and each op maps onto
 * a plain kernel (avg pool, 1x1 conv/FC with per-channel requant, LUT,
 * broadcast multiply) the code generator already needs. The planner then
 * keeps the dw output alive across the squeeze path through ordinary
 * lifetimes, and the multiply runs in place on it.
 *
 * In place (op.inplace_input >= 0: the output occupies the buffer of input
 * in[inplace_input]) is legal, and chosen, exactly when that input's last
 * use is this op and:
 *   - ADD and MUL (elementwise; the output has the input's shape): always.
 *     ADD prefers in[0] (the main path);
 *   - DEPTHWISE with stride 1 and H > (k-1)/2 + 1 (or k == 1). The kernel
 *     walks output rows top to bottom; before writing output row r over
 *     input row r it copies input row r into a ring of p+1 rows
 *     (p = (k-1)/2), which then holds input rows r-p..r; rows r+1..r+p are
 *     still untouched in place. Scratch: (p+1) * W * C bytes for int8
 *     (one row for k == 1: the kernel copies each row before it overwrites
 *     it, as for any k). See cost.h for the scratch of
 *     every kernel. With H <= p+1 the ring would copy the whole map, so the
 *     op runs out of place (no saving).
 * The graph input is an ordinary tensor here: once its last reader runs, its
 * buffer may be reused or run in place on (the application writes a fresh
 * input before every inference).
 */
#ifndef LMNAS_GRAPH_H
#define LMNAS_GRAPH_H

#include "arch/arch.h"
#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

enum graph_op_kind {
	GRAPH_OP_CONV2D = 0, /* dense kxk conv, groups 1 (the stem) */
	GRAPH_OP_CONV1X1,    /* pointwise conv (also SE's FCs on 1x1 maps) */
	GRAPH_OP_DEPTHWISE,  /* kxk depthwise conv, groups = C */
	GRAPH_OP_GAP,	     /* global average pool HxWxC -> 1x1xC */
	GRAPH_OP_MUL,	     /* x (HxWxC) * gate (1x1xC), per channel */
	GRAPH_OP_ADD,	     /* a + b, same shape */
	GRAPH_OP_LINEAR	     /* fully connected 1x1xC -> 1x1xN, with bias */
};
#define GRAPH_OP_KIND_COUNT 7

/* The fused activation of an op, applied after the (folded) BN and bias. */
enum graph_act {
	GRAPH_ACT_NONE = 0,
	GRAPH_ACT_RELU,
	GRAPH_ACT_RELU6,
	GRAPH_ACT_LEAKYRELU, /* slope 0.01 */
	GRAPH_ACT_SWISH,
	GRAPH_ACT_HSWISH,
	GRAPH_ACT_SIGMOID /* SE gate */
};

/* What an op is for in the network (names, reporting, weight exchange). */
enum graph_role {
	GRAPH_ROLE_STEM = 0,
	GRAPH_ROLE_EXPAND,
	GRAPH_ROLE_DW,
	GRAPH_ROLE_SE_POOL,
	GRAPH_ROLE_SE_REDUCE,
	GRAPH_ROLE_SE_EXPAND,
	GRAPH_ROLE_SE_SCALE,
	GRAPH_ROLE_PROJECT,
	GRAPH_ROLE_SHORTCUT,
	GRAPH_ROLE_ADD,
	GRAPH_ROLE_HEAD_POOL,
	GRAPH_ROLE_HEAD_FC
};

#define GRAPH_NAME_LEN 32
/* Upper bound of ops: 12 stages * 16 blocks * 10 ops + stem + head. */
#define GRAPH_MAX_OPS (ARCH_MAX_STAGES * ARCH_MAX_LAYERS * 10 + 3)

struct graph_op {
	enum graph_op_kind kind;
	enum graph_role role;
	char name[GRAPH_NAME_LEN]; /* module path, see above */
	int stage, block;	   /* -1 for the stem and the head */
	int nin;		   /* 1 or 2 */
	int in[2];     /* tensor ids; ADD: (main, residual); MUL: (x, gate) */
	int out;       /* tensor id */
	int kernel;    /* convs: k; 1 otherwise */
	int stride;    /* convs: 1 or 2; 1 otherwise */
	int pad;       /* convs: k/2 on every side; 0 otherwise */
	int groups;    /* DEPTHWISE: C; 1 otherwise */
	int cin, cout; /* weighted ops: weight dims; else 0 */
	enum graph_act act; /* fused activation */
	int bn;	  /* 1: trained with BN (gamma, beta) after it, folded here */
	int bias; /* 1: the trained layer has its own bias (SE FCs, head.fc) */
	int w_shape[4];	   /* weighted ops: (cout, k, k, cin/groups); else 0s.
			    * Deployed, every weighted op also has a bias (cout)
			    * of its own or from the folded BN. */
	int inplace_input; /* -1, or the index in in[] whose buffer out reuses
			    */
};

struct graph_tensor {
	int h, w, c;	/* NHWC, batch 1 */
	int elem_bytes; /* 1 for the int8 deployment */
	size_t bytes;	/* h * w * c * elem_bytes */
	int producer;	/* op index; -1 for the graph input */
	int first_op;	/* producer, or 0 for the graph input */
	int last_op;	/* last op reading it; nops-1 for the graph output */
};

struct graph {
	int nops;
	struct graph_op *ops; /* (nops) in execution order */
	int ntensors;
	struct graph_tensor *tensors; /* (ntensors), indexed by tensor id */
	int input, output;	      /* tensor ids */
};

/* Lowers a to its inference graph with tensors of elem_bytes per element
 * (1 for int8). a should have passed arch_validate; the ranges graph_build
 * relies on (kernel, stride, widths, resolution, counts) are checked again so
 * a bad struct fails with CORE_ERR_INVALID rather than overflowing. On success
 * g owns two allocations (graph_free); on failure g is left empty. */
enum core_status graph_build(const struct arch *a, int elem_bytes,
			     struct graph *g, char *err, size_t errlen);

/* Frees what graph_build allocated and empties g; safe on an empty graph. */
void graph_free(struct graph *g);

/* Weight elements of an op (product of w_shape), 0 for weightless ops. */
uint64_t graph_op_weight_count(const struct graph_op *op);

/* 1 for ops with weights (CONV2D, CONV1X1, DEPTHWISE, LINEAR). */
int graph_op_has_weights(const struct graph_op *op);

/* 1 when the op's activation needs a 256-entry int8 lookup table (it is not
 * a clamp that folds into the requantization): leakyrelu, swish, hswish,
 * sigmoid. */
int graph_act_needs_lut(enum graph_act act);

/* Stable lower-case names ("conv1x1", "swish", ...). */
const char *graph_op_kind_name(enum graph_op_kind k);
const char *graph_act_name(enum graph_act a);

#endif
