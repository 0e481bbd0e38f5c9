/* SPDX-License-Identifier: Apache-2.0 */
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

#define MM_CHUNK 16 /* rows accumulated before they are requantized */

#if S8_DSP
/* The common case of requant_rows, two columns: len products of
 * |x + offset| <= 255 and |w| <= 128 plus a bias within small_bias stay
 * below 2^30 in magnitude, so the SMMULR route applies; with no activation
 * clamp (full, a constant after inlining) SSAT is the int8 clamp. Returns
 * the first row it could not do. */
S8_INLINE int32_t requant_rows2_fast(const int32_t *acc, int32_t r0, int32_t n,
				     int32_t len, const int32_t *bias,
				     const struct s8_per_channel *q,
				     int32_t off, int32_t act_min,
				     int32_t act_max, int full, int8_t *out0,
				     int8_t *out1)
{
	const int32_t *const mult = q->multiplier + r0;
	const int32_t *const shift = q->shift + r0;
	const int32_t small_bias =
	    len < 32000 ? (1 << 30) - 1 - len * 32640 : -1;
	int32_t i;

	for (i = 0; i < n; i++) {
		const int32_t m = mult[i], s = shift[i];
		const int32_t b = bias ? bias[r0 + i] : 0;

		if (!s8_rq_fast(m, s) || b < -small_bias || b > small_bias)
			break;
		const int32_t e = -s, h = 1 << (e - 1);
		const int32_t v0 =
		    s8_rq_fast_value_small(acc[2 * i], m, e, h) + off;
		const int32_t v1 =
		    s8_rq_fast_value_small(acc[2 * i + 1], m, e, h) + off;

		if (full) {
			out0[r0 + i] = (int8_t)s8_ssat8(v0);
			out1[r0 + i] = (int8_t)s8_ssat8(v1);
		} else {
			out0[r0 + i] = (int8_t)s8_clamp(v0, act_min, act_max);
			out1[r0 + i] = (int8_t)s8_clamp(v1, act_min, act_max);
		}
	}
	return i;
}
#endif

/* Requantizes the accumulators of rows r0 .. r0+n-1 (acc[2 * i] for col0,
 * acc[2 * i + 1] for col1 when ncol is 2) into out0[r], out1[r]. A loop of
 * its own: beside the accumulation loop the per-channel requantization
 * does not fit in the registers. */
static void requant_rows(const int32_t *acc, int32_t r0, int32_t n, int ncol,
			 int32_t len, const int32_t *bias,
			 const struct s8_per_channel *q, int32_t off,
			 int32_t act_min, int32_t act_max, int8_t *out0,
			 int8_t *out1)
{
	const int32_t lo = act_min - off, hi = act_max - off;
	int32_t i = 0;

#if !S8_DSP
	(void)len; /* only the DSP route needs them */
	(void)bias;
#endif
	while (i < n) {
#if S8_DSP
		if (ncol == 2) {
			if (act_min == -128 && act_max == 127)
				i += requant_rows2_fast(
				    acc + 2 * i, r0 + i, n - i, len, bias, q,
				    off, -128, 127, 1, out0, out1);
			else
				i += requant_rows2_fast(
				    acc + 2 * i, r0 + i, n - i, len, bias, q,
				    off, act_min, act_max, 0, out0, out1);
			if (i == n)
				break;
		}
#endif
		/* one row the fast route does not take */
		const int32_t m = q->multiplier[r0 + i];
		const int32_t s = q->shift[r0 + i];

		out0[r0 + i] = s8_requantize_out(acc[2 * i], m, s, off, lo, hi);
		if (ncol == 2)
			out1[r0 + i] = s8_requantize_out(acc[2 * i + 1], m, s,
							 off, lo, hi);
		i++;
	}
}

void mat_mult_s8_s16(const int8_t *w, const int16_t *col0, const int16_t *col1,
		     int32_t len, int32_t rows, const int32_t *bias,
		     const struct s8_per_channel *q, int32_t output_offset,
		     int32_t act_min, int32_t act_max, int8_t *out0,
		     int8_t *out1)
{
	const int ncol = col1 ? 2 : 1;
	int32_t acc[2 * MM_CHUNK];

	for (int32_t r0 = 0; r0 < rows; r0 += MM_CHUNK) {
		const int32_t n = rows - r0 < MM_CHUNK ? rows - r0 : MM_CHUNK;
		int32_t i = 0;

		for (; i + 2 <= n; i += 2) {
			const int32_t r = r0 + i;
			const int8_t *w0 = w + r * len;
			const int32_t b0 = bias ? bias[r] : 0;
			const int32_t b1 = bias ? bias[r + 1] : 0;

			if (col1) {
				int32_t a[4] = {b0, b0, b1, b1};

				rows2_cols2(w0, w0 + len, col0, col1, len, a);
				acc[2 * i] = a[0];
				acc[2 * i + 1] = a[1];
				acc[2 * i + 2] = a[2];
				acc[2 * i + 3] = a[3];
			} else {
				int32_t a[2] = {b0, b1};

				rows2_cols1(w0, w0 + len, col0, len, a);
				acc[2 * i] = a[0];
				acc[2 * i + 2] = a[1];
			}
		}
		if (i < n) {
			const int32_t r = r0 + i;
			const int32_t b = bias ? bias[r] : 0;

			acc[2 * i] = row1_col1(w + r * len, col0, len, b);
			if (col1)
				acc[2 * i + 1] =
				    row1_col1(w + r * len, col1, len, b);
		}
		requant_rows(acc, r0, n, ncol, len, bias, q, output_offset,
			     act_min, act_max, out0, out1);
	}
}
