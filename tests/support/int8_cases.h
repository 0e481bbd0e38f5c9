/* SPDX-License-Identifier: Apache-2.0 */
/* int8_cases.h - test support: the table of int8 kernel cases (op, shapes,
 * zero points, multiplier style, seed) and their materialization with
 * seeded random tensors, parameters from service/quant and the reference
 * output. Shared by the host kernel tests and the Cortex-M7 (QEMU) test. */
#ifndef LMNAS_TEST_INT8_CASES_H
#define LMNAS_TEST_INT8_CASES_H

#include "codegen/kernels/kernels.h"
#include "quant/quant.h"

enum int8_op {
	INT8_OP_CONV2D = 0,
	INT8_OP_DEPTHWISE,
	INT8_OP_DEPTHWISE_INPLACE, /* same reference, in-place kernel */
	INT8_OP_POINTWISE,
	INT8_OP_FC,
	INT8_OP_ADD,
	INT8_OP_AVGPOOL,
	INT8_OP_MUL_CHANNEL,
	INT8_OP_LUT
};
#define INT8_OP_COUNT 9

enum int8_mult {
	INT8_MULT_REALISTIC = 0, /* from scales: outputs spread over int8 */
	INT8_MULT_EXTREME	 /* random multipliers, shifts in [-31, 30] */
};

struct int8_case_spec {
	enum int8_op op;
	int h, w, cin, cout; /* fc: cin -> cout; elementwise: h, w, cin */
	int k, stride, pad;
	int in_zp, out_zp;
	int act_min, act_max; /* 0, 0 = full range */
	enum int8_mult mult;
	int bias; /* 0 none, 1 random small, 2 random near the bound */
	uint64_t seed;
};

/* A materialized case. Buffers are owned by the case (int8_case_free). */
struct int8_case {
	struct int8_case_spec s;
	char name[96];
	struct quant_dims in, filter, out;
	int8_t *x;  /* input (in) */
	int8_t *x2; /* add: second input (n_x); mul_channel: gate (C) */
	int8_t *w;  /* weights */
	int32_t *bias, *mult, *shift;
	long n_x, n_x2, n_w, n_out, n_ch;
	struct quant_conv_params conv;
	struct quant_fc_params fc;
	struct quant_add_params add;
	struct quant_pool_params pool;
	struct quant_mul_params mul;
	int8_t table[256];
	int8_t *expect; /* reference output (n_out) */
};

extern const struct int8_case_spec int8_case_table[];
extern const int int8_case_count;

const char *int8_op_name(enum int8_op op);

/* Builds tensors and parameters from s and runs the reference. On failure
 * nothing is left allocated. */
enum core_status int8_case_make(const struct int8_case_spec *s,
				struct int8_case *c, char *err, size_t errlen);
void int8_case_free(struct int8_case *c);

/* The kernel parameter structs of a case (pointers into c). */
void int8_case_kernel_params(const struct int8_case *c,
			     struct s8_conv_params *conv,
			     struct s8_fc_params *fc, struct s8_add_params *add,
			     struct s8_pool_params *pool,
			     struct s8_mul_params *mul,
			     struct s8_per_channel *q, struct s8_dims *in,
			     struct s8_dims *filter, struct s8_dims *out);

#endif
