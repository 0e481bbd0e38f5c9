/* SPDX-License-Identifier: Apache-2.0 */
/* bench_main.c - Cortex-M7 (QEMU mps2-an500) instruction counts of the int8
 * kernels, built and run by tools/m7_bench.sh. QEMU is run with
 * -icount shift=0 and counted by the QEMU board's counter (board_qemu.c:
 * SysTick ticks once per 40 instructions), which a calibration loop of known
 * length confirms. These are
 * instruction counts, not cycles: QEMU models neither the M7's dual issue
 * nor its memory wait states. */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "console.h"
#include "dsp.h"
#include "kernels.h"
#include "pack_s8.h"

#define H    20
#define W    20
#define CIN  48
#define CEXP 288

static int8_t x_in[H * W * CIN];
static int8_t w_pw[CEXP * CIN];
static int8_t w_pw_packed[CEXP * CIN];
static int32_t bias_pw[CEXP];
static int8_t x_exp[H * W * CEXP];
static int8_t y_dw[H * W * CEXP];
static int8_t w_dw[3 * 3 * CEXP];
static int8_t w_dw5[5 * 5 * CEXP];
static int32_t bias[CEXP], mult[CEXP], shift[CEXP];
static int32_t scratch[4096];

static uint32_t lcg = 12345u;
static int8_t rnd8(void)
{
	lcg = lcg * 1664525u + 1013904223u;
	return (int8_t)(lcg >> 24);
}

static void fill(int8_t *p, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		p[i] = rnd8();
}

static void busy(uint32_t n)
{
	__asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n));
}

static void report(const char *what, uint32_t insn, uint32_t macs)
{
	/* per MAC with 3 decimals */
	uint32_t milli = (uint32_t)(((uint64_t)insn * 1000u + macs / 2) / macs);

	uint32_t frac = milli % 1000;

	/* console_printf has no field widths: pad the fraction by hand */
	console_printf("%s: %lu instructions, %lu MACs, %lu.%s%s%lu "
		       "instructions/MAC\n",
		       what, (unsigned long)insn, (unsigned long)macs,
		       (unsigned long)(milli / 1000), frac < 100 ? "0" : "",
		       frac < 10 ? "0" : "", (unsigned long)frac);
}

/* One out-of-place depthwise run of x_exp into y_dw, reported per MAC. */
static void bench_depthwise(const char *what, const int8_t *w,
			    const struct s8_conv_params *p,
			    const struct s8_per_channel *q,
			    const struct s8_dims *in, const struct s8_dims *f,
			    const struct s8_dims *out)
{
	uint32_t t0, t1;
	enum s8_status st;

	t0 = board_counter();
	st = depthwise_conv2d_s8(y_dw, x_exp, w, bias, p, q, in, f, out,
				 scratch);
	t1 = board_counter();
	if (st != S8_OK) {
		console_printf("%s: status %d\n", what, (int)st);
		return;
	}
	report(what, t1 - t0,
	       (uint32_t)(out->h * out->w * f->h * f->w * out->c));
}

int main(void)
{
	const struct s8_per_channel q = {mult, shift};
	struct s8_conv_params pw = {3, -5, 1, 0, 1, -128, 127, NULL};
	struct s8_conv_params dw = {3, -5, 1, 1, 1, -128, 127, NULL};
	struct s8_dims in = {H, W, CIN}, exp = {H, W, CEXP}, f3 = {3, 3, CEXP};
	struct s8_dims f5 = {5, 5, CEXP}, half = {H / 2, W / 2, CEXP};
	uint32_t t0, t1;

	fill(x_in, sizeof x_in);
	fill(w_pw, sizeof w_pw);
	fill(w_dw, sizeof w_dw);
	fill(w_dw5, sizeof w_dw5);
	for (int i = 0; i < CEXP; i++) {
		bias[i] = (int32_t)rnd8() * 64;
		mult[i] = 1300000000 + rnd8() * 1000000;
		shift[i] = -9;
	}
	console_printf("S8_DSP %d\n", S8_DSP);
	board_init();

	/* calibration: 2 instructions per iteration */
	t0 = board_counter();
	busy(1000000);
	t1 = board_counter();
	console_printf("calibration: 2000000-instruction loop = %lu "
		       "instructions (expect 2000000 + a few)\n",
		       (unsigned long)t1 - t0);

	/* as the generator does at export time (not timed) */
	pointwise_s8_pack(w_pw_packed, bias_pw, w_pw, bias, pw.input_offset,
			  CIN, CEXP);
	t0 = board_counter();
	pointwise_conv2d_s8(x_exp, x_in, w_pw_packed, bias_pw, &pw, &q, &in,
			    &exp, scratch);
	t1 = board_counter();
	report("pointwise 1x1 48->288 on 20x20", t1 - t0, H * W * CIN * CEXP);

	/* the same with a relu6-style clamp: the other requantization loop */
	pw.act_min = -100;
	pw.act_max = 90;
	t0 = board_counter();
	pointwise_conv2d_s8(x_exp, x_in, w_pw_packed, bias_pw, &pw, &q, &in,
			    &exp, scratch);
	t1 = board_counter();
	report("pointwise 1x1 48->288 on 20x20, clamped", t1 - t0,
	       H * W * CIN * CEXP);

	dw.stride = 2;
	bench_depthwise("depthwise 3x3 s2 288ch 20x20 -> 10x10", w_dw, &dw, &q,
			&exp, &f3, &half);
	dw.padding = 2;
	bench_depthwise("depthwise 5x5 s2 288ch 20x20 -> 10x10", w_dw5, &dw, &q,
			&exp, &f5, &half);
	dw.stride = 1;
	dw.padding = 1;
	bench_depthwise("depthwise 3x3 s1 288ch on 20x20", w_dw, &dw, &q, &exp,
			&f3, &exp);

	t0 = board_counter();
	depthwise_conv2d_inplace_s8(x_exp, w_dw, bias, &dw, &q, &exp, &f3,
				    scratch);
	t1 = board_counter();
	report("depthwise 3x3 s1 288ch on 20x20, in place", t1 - t0,
	       H * W * 9 * CEXP);
	/* the in-place result must equal the out-of-place one */
	if (memcmp(x_exp, y_dw, sizeof y_dw) != 0) {
		console_printf("in-place output differs\n");
		return 1;
	}
	return 0;
}
