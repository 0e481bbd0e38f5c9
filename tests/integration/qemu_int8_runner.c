/* SPDX-License-Identifier: Apache-2.0 */
/* qemu_int8_runner.c - Cortex-M7 side of test_int8_qemu.c: runs every int8
 * kernel case of the generated vectors.c, compares each output byte with the
 * host reference, prints one FAIL line per mismatching case and one KERNEL
 * line per kernel, and returns the number of failing cases (QEMU's exit
 * code). The convolutions run a second time with a fused activation table
 * (a fixed permutation of the bytes), whose output must be the table
 * applied to the reference (one FUSED TABLE line). Built with
 * arm-none-eabi-gcc against the kernels and the qemu target harness
 * (start-up, semihosting board, console). */
#include <string.h>

#include "console.h"
#include "dsp.h" /* S8_DSP: which code paths were built */
#include "kernels.h"
#include "pack_s8.h"
#include "qemu_int8.h"

static const char *const names[QOP_COUNT] = {
    "conv2d_s8",	   "depthwise_conv2d_s8", "depthwise_conv2d_inplace_s8",
    "pointwise_conv2d_s8", "fully_connected_s8",  "add_s8",
    "avgpool_global_s8",   "mul_channel_s8",	  "lut_s8"};

static int8_t out_buf[QMAX_OUT] __attribute__((aligned(8)));
static int32_t scratch[16384]; /* 64 KB */
static int8_t pw_packed[65536];
static int32_t pw_bias[1024];
static int8_t lut_table[256]; /* a fused activation table */

static int32_t scratch_needed(const struct qcase *c)
{
	switch (c->op) {
	case QOP_CONV2D:
		return conv2d_s8_scratch_size(&c->in, &c->filter, &c->out);
	case QOP_DEPTHWISE:
		return depthwise_conv2d_s8_scratch_size(&c->conv, &c->in,
							&c->filter, &c->out);
	case QOP_DEPTHWISE_INPLACE:
		return depthwise_conv2d_inplace_s8_scratch_size(&c->in,
								&c->filter);
	case QOP_POINTWISE:
		return pointwise_conv2d_s8_scratch_size(&c->in, &c->out);
	case QOP_FC: return fully_connected_s8_scratch_size(c->in.c);
	default: return 0;
	}
}

static int run(const struct qcase *c)
{
	const struct s8_per_channel q = {c->mult, c->shift};

	switch (c->op) {
	case QOP_CONV2D: {
		/* packed here, as the generator does at export time */
		const int32_t len = c->filter.h * c->filter.w * c->in.c;

		if (pointwise_s8_packed_bytes(len, c->out.c) >
			(int32_t)sizeof pw_packed ||
		    c->out.c > (int32_t)(sizeof pw_bias / sizeof pw_bias[0]))
			return S8_ERR_ARG;
		pointwise_s8_pack(pw_packed, pw_bias, c->w, c->bias,
				  c->conv.input_offset, len, c->out.c);
		return conv2d_s8(out_buf, c->x, pw_packed, pw_bias, &c->conv,
				 &q, &c->in, &c->filter, &c->out, scratch);
	}
	case QOP_DEPTHWISE:
		return depthwise_conv2d_s8(out_buf, c->x, c->w, c->bias,
					   &c->conv, &q, &c->in, &c->filter,
					   &c->out, scratch);
	case QOP_DEPTHWISE_INPLACE:
		memcpy(out_buf, c->x, (size_t)c->n_x);
		return depthwise_conv2d_inplace_s8(out_buf, c->w, c->bias,
						   &c->conv, &q, &c->in,
						   &c->filter, scratch);
	case QOP_POINTWISE:
		/* packed here, as the generator does at export time */
		if (pointwise_s8_packed_bytes(c->in.c, c->out.c) >
			(int32_t)sizeof pw_packed ||
		    c->out.c > (int32_t)(sizeof pw_bias / sizeof pw_bias[0]))
			return S8_ERR_ARG;
		pointwise_s8_pack(pw_packed, pw_bias, c->w, c->bias,
				  c->conv.input_offset, c->in.c, c->out.c);
		return pointwise_conv2d_s8(out_buf, c->x, pw_packed, pw_bias,
					   &c->conv, &q, &c->in, &c->out,
					   scratch);
	case QOP_FC:
		return fully_connected_s8(out_buf, c->x, c->w, c->bias, &c->fc,
					  &q, c->in.c, c->out.c, scratch);
	case QOP_ADD: return add_s8(out_buf, c->x, c->x2, &c->add, c->n_x);
	case QOP_AVGPOOL:
		return avgpool_global_s8(out_buf, c->x, &c->pool, &c->in);
	case QOP_MUL_CHANNEL:
		return mul_channel_s8(out_buf, c->x, c->x2, &c->mul, &c->in);
	case QOP_LUT: lut_s8(out_buf, c->x, c->n_x, c->table); return S8_OK;
	default: return S8_ERR_ARG;
	}
}

int main(void)
{
	int cases[QOP_COUNT] = {0}, failed[QOP_COUNT] = {0};
	long bytes[QOP_COUNT] = {0};
	int total_failed = 0, fused = 0, fused_failed = 0;

	console_printf("S8_DSP %d\n", S8_DSP);
	for (int k = 0; k < 256; k++)
		lut_table[k] = (int8_t)(k * 37 + 11);
	for (int i = 0; i < qcases_count; i++) {
		const struct qcase *c = &qcases[i];
		int32_t need = scratch_needed(c);
		int st, bad = -1;

		if (c->op >= QOP_COUNT || c->n_out > QMAX_OUT ||
		    c->n_x > QMAX_OUT || need > (int32_t)sizeof scratch) {
			console_printf("FAIL case %d %s: buffers too small\n",
				       i, c->name);
			total_failed++;
			continue;
		}
		memset(out_buf, 0x5a, sizeof out_buf);
		st = run(c);
		for (int32_t j = 0; j < c->n_out && st == S8_OK; j++) {
			if (out_buf[j] != c->expect[j]) {
				bad = (int)j;
				break;
			}
		}
		/* convolutions: an activation table fused into the output
		 * stage gives the table of the reference's output */
		if (st == S8_OK && bad < 0 &&
		    (c->op == QOP_CONV2D || c->op == QOP_DEPTHWISE ||
		     c->op == QOP_DEPTHWISE_INPLACE ||
		     c->op == QOP_POINTWISE)) {
			struct qcase t = *c;

			t.conv.lut = lut_table;
			memset(out_buf, 0x5a, sizeof out_buf);
			st = run(&t);
			for (int32_t j = 0; j < c->n_out && st == S8_OK; j++) {
				if (out_buf[j] !=
				    lut_table[c->expect[j] + 128]) {
					bad = (int)j;
					break;
				}
			}
			fused++;
			if (st != S8_OK || bad >= 0) {
				fused_failed++;
				console_printf("FAIL case %d %s: with a "
					       "table\n",
					       i, c->name);
			}
		}
		cases[c->op]++;
		bytes[c->op] += c->n_out;
		if (st != S8_OK || bad >= 0) {
			failed[c->op]++;
			total_failed++;
			if (st != S8_OK)
				console_printf("FAIL case %d %s: status %d\n",
					       i, c->name, st);
			else
				console_printf("FAIL case %d %s: output %d: "
					       "got %d want %d\n",
					       i, c->name, bad, out_buf[bad],
					       c->expect[bad]);
		}
	}
	console_printf("FUSED TABLE cases %d %s\n", fused,
		       fused_failed ? "MISMATCH" : "identical");
	for (int op = 0; op < QOP_COUNT; op++) {
		if (!cases[op])
			continue;
		console_printf("KERNEL %s cases %d bytes %ld %s\n", names[op],
			       cases[op], bytes[op],
			       failed[op] ? "MISMATCH" : "identical");
	}
	return total_failed;
}
