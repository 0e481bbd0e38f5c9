/* mat_mult_s8_s16.c - the matrix core of the kxk, 1x1 and fully connected
 * kernels: int8 weight rows times one or two int16 columns, 2x2 output
 * blocking with SMLAD on DSP builds, and the column layout helpers. */
#include "kernels.h"
#include "requant.h"

void s8_col_from_s8(int16_t *dst, const int8_t *src, int32_t n, int32_t offset)
{
	int32_t i = 0;
#if S8_DSP
	/* (x0, x1, x2, x3) -> halfwords (x0, x2), (x1, x3), offset added. */
	const int32_t off2 = s8_dup16(offset);

	for (; i + 4 <= n; i += 4) {
		int32_t x = s8_read_s8x4(src + i);

		s8_write_s16x2(dst + i, s8_sxtab16(off2, x));
		s8_write_s16x2(dst + i + 2, s8_sxtab16_ror8(off2, x));
	}
#endif
	for (; i < n; i++)
		dst[i] = (int16_t)(src[i] + offset);
}

void s8_col_reorder(int16_t *col, int32_t n)
{
#if S8_DSP
	for (int32_t i = 0; i + 4 <= n; i += 4) {
		int16_t t = col[i + 1];

		col[i + 1] = col[i + 2];
		col[i + 2] = t;
	}
#else
	(void)col;
	(void)n;
#endif
}

#if S8_DSP
/* Rows r, r+1 against both columns: 16 MACs per 4 weights of each row. */
static void rows2_cols2(const int8_t *w0, const int8_t *w1, const int16_t *x0,
			const int16_t *x1, int32_t len, int32_t acc[4])
{
	int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
	int32_t n = len >> 2;

	while (n--) {
		const int32_t wa = s8_read_s8x4(w0), wb = s8_read_s8x4(w1);
		const int32_t wa02 = s8_sxtb16(wa), wa13 = s8_sxtb16_ror8(wa);
		const int32_t wb02 = s8_sxtb16(wb), wb13 = s8_sxtb16_ror8(wb);
		int32_t xa = s8_read_s16x2(x0), xb = s8_read_s16x2(x0 + 2);

		a00 = s8_smlad(wa02, xa, a00);
		a00 = s8_smlad(wa13, xb, a00);
		a10 = s8_smlad(wb02, xa, a10);
		a10 = s8_smlad(wb13, xb, a10);
		xa = s8_read_s16x2(x1);
		xb = s8_read_s16x2(x1 + 2);
		a01 = s8_smlad(wa02, xa, a01);
		a01 = s8_smlad(wa13, xb, a01);
		a11 = s8_smlad(wb02, xa, a11);
		a11 = s8_smlad(wb13, xb, a11);
		w0 += 4;
		w1 += 4;
		x0 += 4;
		x1 += 4;
	}
	for (n = len & 3; n > 0; n--) {
		a00 += *w0 * *x0;
		a01 += *w0++ * *x1;
		a10 += *w1 * *x0++;
		a11 += *w1++ * *x1++;
	}
	acc[0] = a00;
	acc[1] = a01;
	acc[2] = a10;
	acc[3] = a11;
}

/* Rows r, r+1 against one column. */
static void rows2_cols1(const int8_t *w0, const int8_t *w1, const int16_t *x0,
			int32_t len, int32_t acc[2])
{
	int32_t a0 = acc[0], a1 = acc[1];
	int32_t n = len >> 2;

	while (n--) {
		const int32_t wa = s8_read_s8x4(w0), wb = s8_read_s8x4(w1);
		const int32_t xa = s8_read_s16x2(x0),
			      xb = s8_read_s16x2(x0 + 2);

		a0 = s8_smlad(s8_sxtb16(wa), xa, a0);
		a0 = s8_smlad(s8_sxtb16_ror8(wa), xb, a0);
		a1 = s8_smlad(s8_sxtb16(wb), xa, a1);
		a1 = s8_smlad(s8_sxtb16_ror8(wb), xb, a1);
		w0 += 4;
		w1 += 4;
		x0 += 4;
	}
	for (n = len & 3; n > 0; n--) {
		a0 += *w0++ * *x0;
		a1 += *w1++ * *x0++;
	}
	acc[0] = a0;
	acc[1] = a1;
}

/* One row against one column (odd row count). */
static int32_t row1_col1(const int8_t *w0, const int16_t *x0, int32_t len,
			 int32_t acc)
{
	int32_t n = len >> 2;

	while (n--) {
		const int32_t wa = s8_read_s8x4(w0);

		acc = s8_smlad(s8_sxtb16(wa), s8_read_s16x2(x0), acc);
		acc = s8_smlad(s8_sxtb16_ror8(wa), s8_read_s16x2(x0 + 2), acc);
		w0 += 4;
		x0 += 4;
	}
	for (n = len & 3; n > 0; n--)
		acc += *w0++ * *x0++;
	return acc;
}
#else
static void rows2_cols2(const int8_t *w0, const int8_t *w1, const int16_t *x0,
			const int16_t *x1, int32_t len, int32_t acc[4])
{
	int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];

	for (int32_t i = 0; i < len; i++) {
		const int32_t wa = w0[i], wb = w1[i], xa = x0[i], xb = x1[i];

		a00 += wa * xa;
		a01 += wa * xb;
		a10 += wb * xa;
		a11 += wb * xb;
	}
	acc[0] = a00;
	acc[1] = a01;
	acc[2] = a10;
	acc[3] = a11;
}

static void rows2_cols1(const int8_t *w0, const int8_t *w1, const int16_t *x0,
			int32_t len, int32_t acc[2])
{
	int32_t a0 = acc[0], a1 = acc[1];

	for (int32_t i = 0; i < len; i++) {
		a0 += w0[i] * x0[i];
		a1 += w1[i] * x0[i];
	}
	acc[0] = a0;
	acc[1] = a1;
}

static int32_t row1_col1(const int8_t *w0, const int16_t *x0, int32_t len,
			 int32_t acc)
{
	for (int32_t i = 0; i < len; i++)
		acc += w0[i] * x0[i];
	return acc;
}
#endif

void mat_mult_s8_s16(const int8_t *w, const int16_t *col0, const int16_t *col1,
		     int32_t len, int32_t rows, const int32_t *bias,
		     const struct s8_per_channel *q, int32_t output_offset,
		     int32_t act_min, int32_t act_max, int8_t *out0,
		     int8_t *out1)
{
	const int32_t lo = act_min - output_offset;
	const int32_t hi = act_max - output_offset;
	const int32_t off = output_offset;
	const int32_t *mult = q->multiplier, *shift = q->shift;
	int32_t r = 0;

	/* Every output of a block is computed before any is stored: int8
	 * stores may alias anything as far as the compiler knows, and would
	 * otherwise force the per-channel parameters to be reloaded. */
	for (; r + 2 <= rows; r += 2) {
		const int8_t *w0 = w + r * len;
		const int32_t m0 = mult[r], s0 = shift[r];
		const int32_t m1 = mult[r + 1], s1 = shift[r + 1];
		const int32_t b0 = bias ? bias[r] : 0;
		const int32_t b1 = bias ? bias[r + 1] : 0;

		if (col1) {
			int32_t acc[4] = {b0, b0, b1, b1};

			rows2_cols2(w0, w0 + len, col0, col1, len, acc);
			const int8_t v00 =
				s8_requantize_out(acc[0], m0, s0, off, lo, hi);
			const int8_t v01 =
				s8_requantize_out(acc[1], m0, s0, off, lo, hi);
			const int8_t v10 =
				s8_requantize_out(acc[2], m1, s1, off, lo, hi);
			const int8_t v11 =
				s8_requantize_out(acc[3], m1, s1, off, lo, hi);
			out0[r] = v00;
			out1[r] = v01;
			out0[r + 1] = v10;
			out1[r + 1] = v11;
		} else {
			int32_t acc[2] = {b0, b1};

			rows2_cols1(w0, w0 + len, col0, len, acc);
			const int8_t v0 =
				s8_requantize_out(acc[0], m0, s0, off, lo, hi);
			const int8_t v1 =
				s8_requantize_out(acc[1], m1, s1, off, lo, hi);
			out0[r] = v0;
			out0[r + 1] = v1;
		}
	}
	if (r < rows) {
		const int8_t *w0 = w + r * len;
		const int32_t b = bias ? bias[r] : 0;
		const int32_t m0 = mult[r], s0 = shift[r];
		const int8_t v0 = s8_requantize_out(row1_col1(w0, col0, len, b),
						    m0, s0, off, lo, hi);

		out0[r] = v0;
		if (col1)
			out1[r] = s8_requantize_out(row1_col1(w0, col1, len, b),
						    m0, s0, off, lo, hi);
	}
}
