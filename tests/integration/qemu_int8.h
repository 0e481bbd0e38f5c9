/* SPDX-License-Identifier: Apache-2.0 */
/* qemu_int8.h - the case record shared by the host generator
 * (test_int8_qemu.c writes vectors.c with an array of them) and the
 * Cortex-M7 runner (qemu_int8_runner.c). Target code: C99, kernels.h only. */
#ifndef QEMU_INT8_H
#define QEMU_INT8_H

#include <stdint.h>

#include "kernels.h"

enum qop {
	QOP_CONV2D = 0,
	QOP_DEPTHWISE,
	QOP_DEPTHWISE_INPLACE,
	QOP_POINTWISE,
	QOP_FC,
	QOP_ADD,
	QOP_AVGPOOL,
	QOP_MUL_CHANNEL,
	QOP_LUT,
	QOP_COUNT
};

struct qcase {
	enum qop op;
	const char *name;
	struct s8_dims in, filter, out;
	struct s8_conv_params conv;
	struct s8_fc_params fc;
	struct s8_add_params add;
	struct s8_pool_params pool;
	struct s8_mul_params mul;
	const int8_t *x, *x2, *w, *table;
	const int32_t *bias, *mult, *shift;
	const int8_t *expect; /* the host reference's output */
	int32_t n_x, n_out;
};

extern const struct qcase qcases[];
extern const int qcases_count;

/* The largest n_out (and n_x) over the cases, sized by the generator. */
#ifndef QMAX_OUT
#define QMAX_OUT 65536
#endif

#endif
