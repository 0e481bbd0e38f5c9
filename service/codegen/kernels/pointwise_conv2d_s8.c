/* SPDX-License-Identifier: Apache-2.0 */
/* pointwise_conv2d_s8.c - int8 1x1 convolution, and the packed matrix core
 * it shares with conv2d_s8.c (s8_packed_mm_*), over weights packed at export
 * time (pack_s8.h, input offset folded into the bias): four pixels at a time
 * become one int16 column block, and each pair of output channels is
 * multiplied with it 2x4-blocked (one weight word feeds 8 SMLADs on DSP
 * builds), then requantized with the output offset folded into the rounding
 * constant. On a Cortex-M built by GCC with optimization, the loop over the
 * row pairs is assembly (pointwise_asm_s8.h). */
#include "kernels.h"
#include "pack_s8.h"
#include "requant.h"

#define PW_PIX 4 /* pixels per column block */

int32_t pointwise_conv2d_s8_scratch_size(const struct s8_dims *in_dims,
					 const struct s8_dims *out_dims)
{
	return PW_PIX * pointwise_s8_packed_len(in_dims->c) *
		   (int32_t)sizeof(int16_t) +
	       s8_packed_mm_rq_bytes(out_dims->c);
}

/* Requantization of one output channel: the SMMULR route (requant.h) when
 * every accumulator of the layer stays below 2^30 and the shift is a right
 * shift of 1..23, with the output offset folded in: (t + h + off * 2^e +
 * (t >> 31)) >> e is RoundingDivideByPOT(t, e) + off, and cannot overflow
 * since |t| <= 2^30. */
struct pw_rq {
	int32_t m, s, e, h; /* e = 0: the general route */
};

static void pw_rq_setup(struct pw_rq *rq, int32_t m, int32_t s, int32_t off,
			int fast)
{
	rq->m = m;
	rq->s = s;
	rq->e = 0;
	rq->h = 0;
#if S8_DSP
	if (fast && s8_rq_fast(m, s)) {
		rq->e = -s;
		rq->h = (1 << (rq->e - 1)) + (int32_t)((uint32_t)off << rq->e);
	}
#else
	(void)off;
	(void)fast;
#endif
}

S8_INLINE int8_t pw_rq_out(const struct pw_rq *rq, int32_t acc, int32_t off,
			   int32_t act_min, int32_t act_max, int full)
{
#if S8_DSP
	if (rq->e) {
		const int32_t t =
		    s8_smmulr((int32_t)((uint32_t)acc << 1), rq->m);
		// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
		const int32_t v = (t + rq->h + (t >> 31)) >> rq->e;

		return (int8_t)(full ? s8_ssat8(v)
				     : s8_clamp(v, act_min, act_max));
	}
#else
	(void)full;
#endif
	return s8_requantize_out(acc, rq->m, rq->s, off, act_min - off,
				 act_max - off);
}

#if S8_DSP
/* Column block of pixels px[0..3]: for input group g, words 8g .. 8g+3 are
 * the pixels' halfwords (k0, k2), words 8g+4 .. 8g+7 their (k1, k3); inputs
 * past ci are 0. Without doubling, only the first npx pixels. */
static void pw_columns(int32_t *col, const int8_t *const px[PW_PIX], int32_t ci,
		       int dbl, int npx)
{
	const int32_t full = ci >> 2;

	if (dbl) {
		/* the same with every input doubled (pw_rows_fast) */
		for (int p = 0; p < PW_PIX; p++) {
			const int8_t *x = px[p];
			int32_t *c = col + p;

			for (int32_t g = 0; g < full; g++) {
				const int32_t v = s8_read_s8x4(x);
				const int32_t v02 = s8_sxtb16(v);
				const int32_t v13 = s8_sxtb16_ror8(v);

				c[0] = s8_sadd16(v02, v02);
				c[4] = s8_sadd16(v13, v13);
				x += 4;
				c += 8;
			}
			if (ci & 3) {
				int32_t v[4] = {0, 0, 0, 0};

				for (int32_t k = 0; k < (ci & 3); k++)
					v[k] = 2 * x[k];
				c[0] = (int32_t)(((uint32_t)v[2] << 16) |
						 ((uint32_t)v[0] & 0xffffu));
				c[4] = (int32_t)(((uint32_t)v[3] << 16) |
						 ((uint32_t)v[1] & 0xffffu));
			}
		}
		return;
	}

	for (int p = 0; p < npx; p++) {
		const int8_t *x = px[p];
		int32_t *c = col + p;

		for (int32_t g = 0; g < full; g++) {
			const int32_t v = s8_read_s8x4(x);

			c[0] = s8_sxtb16(v);
			c[4] = s8_sxtb16_ror8(v);
			x += 4;
			c += 8;
		}
		if (ci & 3) {
			int32_t v[4] = {0, 0, 0, 0};

			for (int32_t k = 0; k < (ci & 3); k++)
				v[k] = x[k];
			c[0] = (int32_t)(((uint32_t)v[2] << 16) |
					 ((uint32_t)v[0] & 0xffffu));
			c[4] = (int32_t)(((uint32_t)v[3] << 16) |
					 ((uint32_t)v[1] & 0xffffu));
		}
	}
}

/* One k-pair of the block: weight word at wp + wo, column words xo..xo+3. */
#define PW_STEP(wo, xo)                                                        \
	do {                                                                   \
		const int32_t w_ = s8_read_s8x4(wp + (wo));                    \
		const int32_t w0_ = s8_sxtb16(w_), w1_ = s8_sxtb16_ror8(w_);   \
		int32_t x_ = x[(xo)];                                          \
		a0 = s8_smlad(w0_, x_, a0);                                    \
		b0 = s8_smlad(w1_, x_, b0);                                    \
		x_ = x[(xo) + 1];                                              \
		a1 = s8_smlad(w0_, x_, a1);                                    \
		b1 = s8_smlad(w1_, x_, b1);                                    \
		x_ = x[(xo) + 2];                                              \
		a2 = s8_smlad(w0_, x_, a2);                                    \
		b2 = s8_smlad(w1_, x_, b2);                                    \
		x_ = x[(xo) + 3];                                              \
		a3 = s8_smlad(w0_, x_, a3);                                    \
		b3 = s8_smlad(w1_, x_, b3);                                    \
	} while (0)

/* Rows 2j, 2j+1 (packed pair wp) times the column block: a[0..3] row 0's
 * pixels, a[4..7] row 1's. groups = len4 / 4. */
static void pw_block(const int8_t *wp, const int32_t *col, int32_t groups,
		     int32_t a[8])
{
	int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
	int32_t b0 = a[4], b1 = a[5], b2 = a[6], b3 = a[7];

	for (const int32_t *x = col; groups > 0; groups--, wp += 8, x += 8) {
		PW_STEP(0, 0);
		PW_STEP(4, 4);
	}
	a[0] = a0;
	a[1] = a1;
	a[2] = a2;
	a[3] = a3;
	a[4] = b0;
	a[5] = b1;
	a[6] = b2;
	a[7] = b3;
}

/* The same for pixel 0 alone (a single-pixel layer: SE), a[0] and a[4]. */
static void pw_block1(const int8_t *wp, const int32_t *col, int32_t groups,
		      int32_t a[8])
{
	int32_t a0 = a[0], b0 = a[4];

	while (groups--) {
		const int32_t w = s8_read_s8x4(wp), v = s8_read_s8x4(wp + 4);

		a0 = s8_smlad(s8_sxtb16(w), col[0], a0);
		b0 = s8_smlad(s8_sxtb16_ror8(w), col[0], b0);
		a0 = s8_smlad(s8_sxtb16(v), col[4], a0);
		b0 = s8_smlad(s8_sxtb16_ror8(v), col[4], b0);
		wp += 8;
		col += 8;
	}
	a[0] = a0;
	a[4] = b0;
}

/* On a real Cortex-M (GCC, Thumb-2, optimized builds) the hot loop is
 * written out in assembly (s8_pw_asm_*); elsewhere pw_rows_fast computes
 * the same in C, the twin the host tests run with an emulated DSP. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP &&                         \
    !defined(S8_DSP_EMULATE) && defined(__GNUC__) && defined(__thumb2__) &&    \
    defined(__OPTIMIZE__)
#define PW_ASM 1
#else
#define PW_ASM 0
#endif

/* The fast route of one accumulator, output offset folded into h. No
 * clamp (span < 0): int8 saturation. Clamped: h also holds -act_min, so the
 * shift gives u = v - act_min, and min(max(u, 0), span) + act_min with
 * span = act_max - act_min is amax - usat(span - usat(u)). */
S8_INLINE int32_t pw_fast(int32_t acc2, int32_t m, int32_t e, int32_t h,
			  int32_t span, int32_t amax, const int clamp)
{
	/* acc2 = 2 * acc (doubled columns and bias): SMMLAR gives t + h with
	 * t = SRDHM(acc, m). With m > 0, t < 0 implies acc < 0, and acc < 0
	 * with t = 0 rounds the same either way, so acc's sign serves as
	 * t's. */
	// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
	const int32_t v = (s8_smmlar(acc2, m, h) + (acc2 >> 31)) >> e;

	if (clamp)
		return amax - s8_usat8(span - s8_usat8(v));
	return s8_ssat8(v);
}

#if PW_ASM
#include "pointwise_asm_s8.h"

static void pw_asm_frame(uint32_t f[10], const int8_t *wp, const int32_t *col,
			 int32_t groups, const struct s8_packed_mm *m)
{
	const int32_t more = groups - 1;

	f[1] = (uint32_t)(uintptr_t)m->rq;
	f[2] = (uint32_t)(uintptr_t)wp;
	f[3] = (uint32_t)(uintptr_t)col;
	f[4] = (uint32_t)(uintptr_t)(col + 8 * groups);
	f[5] = (uint32_t)(more ? (PW_U - more % PW_U) % PW_U : PW_U);
}

static void pw_rows_full(const int8_t *wp, const int32_t *col, int32_t groups,
			 const struct s8_packed_mm *m, int8_t *o)
{
	uint32_t f[10];

	pw_asm_frame(f, wp, col, groups, m);
	f[0] = (uint32_t)(uintptr_t)o;
	f[6] = (uint32_t)m->rows;
	f[7] = 3u * (uint32_t)m->rows;
	s8_pw_asm_full(f);
}

static void pw_rows_lut(const int8_t *wp, const int32_t *col, int32_t groups,
			const struct s8_packed_mm *m, int8_t *o)
{
	uint32_t f[10];

	pw_asm_frame(f, wp, col, groups, m);
	f[0] = (uint32_t)(uintptr_t)m->lut;
	f[6] = (uint32_t)(uintptr_t)o;
	f[7] = (uint32_t)m->rows;
	f[8] = 3u * (uint32_t)m->rows;
	s8_pw_asm_lut(f);
}

static void pw_rows_clamped(const int8_t *wp, const int32_t *col,
			    int32_t groups, const struct s8_packed_mm *m,
			    int8_t *o)
{
	const uint32_t k = 255u - (uint32_t)(m->amax - m->amin);
	const uint32_t c = ((uint32_t)m->amin - k) & 0xffu;
	uint32_t f[10];

	pw_asm_frame(f, wp, col, groups, m);
	f[0] = (uint32_t)(uintptr_t)o;
	f[6] = (uint32_t)m->rows;
	f[7] = 3u * (uint32_t)m->rows;
	f[8] = k * 0x0101u;
	f[9] = c * 0x0101u;
	s8_pw_asm_clamped(f);
}
#else

/* Four pixels of one output channel (m, h = mh[0], mh[1]; shift e) to o,
 * o + co, o + 2 co, o + 3 co, through the table when use_lut. */
S8_INLINE void pw_out4(int32_t a0, int32_t a1, int32_t a2, int32_t a3,
		       const int32_t *mh, int32_t e, int32_t span, int32_t amax,
		       const int clamp, const int use_lut, const int8_t *lut,
		       int8_t *o, int32_t co)
{
	const int32_t m = mh[0], h = mh[1];
	int32_t v0 = pw_fast(a0, m, e, h, span, amax, clamp);
	int32_t v1 = pw_fast(a1, m, e, h, span, amax, clamp);
	int32_t v2 = pw_fast(a2, m, e, h, span, amax, clamp);
	int32_t v3 = pw_fast(a3, m, e, h, span, amax, clamp);

	if (use_lut) {
		v0 = lut[v0];
		v1 = lut[v1];
		v2 = lut[v2];
		v3 = lut[v3];
	}
	o[0] = (int8_t)v0;
	o[co] = (int8_t)v1;
	o[2 * co] = (int8_t)v2;
	o[3 * co] = (int8_t)v3;
}

/* Every row pair against a full column block (4 pixels, co even, a bias)
 * of doubled inputs, every channel on the fast route with m > 0, clamped
 * to [amin, amax] or not: the hot loop of the network. Accumulators start
 * from twice the bias. The rq table, per row pair: {2 b0, 2 b1, m0, h0, e0,
 * m1, h1, e1}, e1's bit 8 marking the last pair (the shift is its low
 * byte). */
S8_INLINE void pw_rows_fast(const int8_t *wp, const int32_t *col,
			    int32_t groups, const int32_t *rq, int32_t co,
			    int8_t *o, int32_t amin, int32_t amax,
			    const int clamp, const int use_lut,
			    const int8_t *lut)
{
	const int32_t span = amax - amin;
	const int8_t *const end = o + co;

	for (; o < end; o += 2, rq += 8) {
		const int32_t *x = col;
		int32_t a0 = rq[0], b0 = rq[1];
		int32_t a1 = a0, a2 = a0, a3 = a0, b1 = b0, b2 = b0, b3 = b0;

		for (int32_t n = groups; n > 0; n--) {
			PW_STEP(0, 0);
			PW_STEP(4, 4);
			wp += 8;
			x += 8;
		}
		/* row 2j's four pixels, then row 2j+1's beside them */
		pw_out4(a0, a1, a2, a3, rq + 2, rq[4], span, amax, clamp,
			use_lut, lut, o, co);
		pw_out4(b0, b1, b2, b3, rq + 5, rq[7] & 0xff, span, amax, clamp,
			use_lut, lut, o + 1, co);
	}
}

static void pw_rows_full(const int8_t *wp, const int32_t *col, int32_t groups,
			 const struct s8_packed_mm *m, int8_t *o)
{
	pw_rows_fast(wp, col, groups, m->rq, m->rows, o, -128, 127, 0, 0, NULL);
}

/* The same with a fused activation table (full range only; clamped layers
 * with a table take the general block) */
static void pw_rows_lut(const int8_t *wp, const int32_t *col, int32_t groups,
			const struct s8_packed_mm *m, int8_t *o)
{
	pw_rows_fast(wp, col, groups, m->rq, m->rows, o, -128, 127, 0, 1,
		     m->lut);
}

static void pw_rows_clamped(const int8_t *wp, const int32_t *col,
			    int32_t groups, const struct s8_packed_mm *m,
			    int8_t *o)
{
	pw_rows_fast(wp, col, groups, m->rq, m->rows, o, m->amin, m->amax, 1, 0,
		     NULL);
}
#undef PW_STEP
#endif
#else
/* Column block: the 4 pixels' values of an input side by side, inputs in
 * the packed weights' order (k0, k2, k1, k3 of each group of 4), zero
 * padded to len4 inputs. */
static void pw_columns(int32_t *col, const int8_t *const px[PW_PIX], int32_t ci,
		       int dbl)
{
	const int32_t len4 = pointwise_s8_packed_len(ci);
	int16_t *c16 = (int16_t *)col;

	(void)dbl; /* the DSP route only */
	for (int p = 0; p < PW_PIX; p++)
		for (int32_t k = 0; k < len4; k++) {
			const int32_t at =
			    (k & ~3) + ((k & 1) << 1) + ((k >> 1) & 1);

			c16[4 * at + p] = (int16_t)(k < ci ? px[p][k] : 0);
		}
}

/* Rows 2j, 2j+1 (packed pair wp) times the column block: a[0..3] row 0's
 * pixels, a[4..7] row 1's, modulo 2^32 like SMLAD. Input by input (a loop
 * the compiler keeps as chains of multiply-adds): its two weights, four
 * pixel values, eight products into accumulators kept in locals (stores
 * through a[] could alias the int8 weights). */
static void pw_block(const int8_t *wp, const int32_t *col, int32_t groups,
		     int32_t a[8])
{
	const int16_t *x = (const int16_t *)col;
	uint32_t a0 = (uint32_t)a[0], a1 = (uint32_t)a[1];
	uint32_t a2 = (uint32_t)a[2], a3 = (uint32_t)a[3];
	uint32_t b0 = (uint32_t)a[4], b1 = (uint32_t)a[5];
	uint32_t b2 = (uint32_t)a[6], b3 = (uint32_t)a[7];

	for (int32_t n = 4 * groups; n > 0; n--, wp += 2, x += 4) {
		const int32_t u = wp[0], v = wp[1];
		int32_t xv = x[0];

		a0 += (uint32_t)(u * xv);
		b0 += (uint32_t)(v * xv);
		xv = x[1];
		a1 += (uint32_t)(u * xv);
		b1 += (uint32_t)(v * xv);
		xv = x[2];
		a2 += (uint32_t)(u * xv);
		b2 += (uint32_t)(v * xv);
		xv = x[3];
		a3 += (uint32_t)(u * xv);
		b3 += (uint32_t)(v * xv);
	}
	a[0] = (int32_t)a0;
	a[1] = (int32_t)a1;
	a[2] = (int32_t)a2;
	a[3] = (int32_t)a3;
	a[4] = (int32_t)b0;
	a[5] = (int32_t)b1;
	a[6] = (int32_t)b2;
	a[7] = (int32_t)b3;
}
#endif

int s8_packed_mm_setup(struct s8_packed_mm *m, const int8_t *wp,
		       const int32_t *bias, const struct s8_per_channel *q,
		       int32_t len, int32_t rows, int32_t output_offset,
		       int32_t act_min, int32_t act_max, void *scratch,
		       void *rq)
{
	const int32_t len4 = pointwise_s8_packed_len(len);

	if (len < 1 || rows < 1 || !scratch || ((uintptr_t)scratch & 3u) != 0)
		return 0;
	m->wp = wp;
	m->bias = bias;
	m->q = q;
	m->len = len;
	m->rows = rows;
	m->off = output_offset;
	m->amin = act_min;
	m->amax = act_max;
	m->col = (int32_t *)scratch;
	m->rq = (int32_t *)rq;
	m->lut = NULL;
	m->padded = 0;
	m->full = act_min == -128 && act_max == 127;
	/* |x| <= 128 times |w| <= 128 over len4 inputs, plus the bias, below
	 * 2^30 for every channel: the SMMULR route applies */
	m->fast = len4 < 32768;
	for (int32_t r = 0; r < rows && m->fast && bias; r++)
		if (bias[r] < -((1 << 30) - 1 - len4 * 16384) ||
		    bias[r] > (1 << 30) - 1 - len4 * 16384)
			m->fast = 0;
	/* every channel on the fast route, even rows: the hot loop
	 * (pw_rows_fast); clamped, (off - act_min) << e below 2^30 keeps t + h
	 * (|t| < 2^29) in range */
	m->all_fast = 0;
#if S8_DSP
	m->all_fast = m->fast && bias && (rows & 1) == 0;
	for (int32_t r = 0; r < rows && m->all_fast; r++) {
		const int32_t d = output_offset - act_min;

		m->all_fast = s8_rq_fast(q->multiplier[r], q->shift[r]) &&
			      q->multiplier[r] > 0 &&
			      (m->full || ((int64_t)(d < 0 ? -d : d)
					   << -q->shift[r]) < (1LL << 30));
	}
	/* the hot loop's constants, a row pair's in one place: {2 b0, 2 b1,
	 * m0, h0, e0, m1, h1, e1} (pw_rows_fast) */
	for (int32_t r = 0; r < rows && m->all_fast; r++) {
		const uint32_t hk =
		    2u * (uint32_t)(m->full ? output_offset
					    : output_offset - act_min) +
		    1u;
		int32_t *t = m->rq + (r & ~1) * 4;
		const int j = (int)(r & 1);

		t[j] = bias[r] * 2;
		t[2 + 3 * j] = q->multiplier[r];
		/* h = 2^(e-1) + hoff * 2^e = (2 * hoff + 1) << (e - 1) */
		t[3 + 3 * j] = (int32_t)(hk << (-q->shift[r] - 1));
		t[4 + 3 * j] = -q->shift[r];
	}
	/* bit 8 of the last pair's e1 ends the loop (the shift is e1's low
	 * byte) */
	if (m->all_fast)
		m->rq[rows * 4 - 1] |= 0x100;
#endif
	return 1;
}

void s8_packed_mm_block(const struct s8_packed_mm *m, const int8_t *const px[4],
			int np, int8_t *out)
{
	const int32_t len4 = pointwise_s8_packed_len(m->len), co = m->rows;
	const struct s8_per_channel *q = m->q;
	const int32_t *bias = m->bias;
	const int32_t off = m->off, amin = m->amin, amax = m->amax;
	const int full = m->full;
	const int8_t *lut = m->lut;
	int32_t *col = m->col;

#if S8_DSP
	const int hot = m->all_fast && np == PW_PIX && (!lut || full);

	/* padded vectors: whole groups of 4, no tail */
	pw_columns(col, px, m->padded ? len4 : m->len, hot,
		   np == 1 ? 1 : PW_PIX);
	if (hot) {
		if (lut)
			pw_rows_lut(m->wp, col, len4 >> 2, m, out);
		else if (full)
			pw_rows_full(m->wp, col, len4 >> 2, m, out);
		else
			pw_rows_clamped(m->wp, col, len4 >> 2, m, out);
		return;
	}
#else
	pw_columns(col, px, m->len, 0);
#endif
	for (int32_t r = 0; r < co; r += 2) {
		const int two = r + 1 < co;
		const int8_t *w = m->wp + r * len4;
		const int32_t b0 = bias ? bias[r] : 0;
		const int32_t b1 = bias && two ? bias[r + 1] : 0;
		int32_t a[8] = {b0, b0, b0, b0, b1, b1, b1, b1};
		struct pw_rq rq0, rq1;
		int8_t *o = out + r;

#if S8_DSP
		if (np == 1)
			pw_block1(w, col, len4 >> 2, a);
		else
#endif
			pw_block(w, col, len4 >> 2, a);
		pw_rq_setup(&rq0, q->multiplier[r], q->shift[r], off, m->fast);
		rq1 = rq0;
		if (two)
			pw_rq_setup(&rq1, q->multiplier[r + 1], q->shift[r + 1],
				    off, m->fast);
		for (int k = 0; k < np; k++) {
			/* both computed before either store, which may
			 * alias the parameters */
			int8_t v0 =
			    pw_rq_out(&rq0, a[k], off, amin, amax, full);
			int8_t v1 =
			    pw_rq_out(&rq1, a[4 + k], off, amin, amax, full);

			if (lut) {
				v0 = lut[v0];
				v1 = lut[v1];
			}

			o[k * co] = v0;
			if (two)
				o[k * co + 1] = v1;
		}
	}
}

enum s8_status pointwise_conv2d_s8(int8_t *out, const int8_t *in,
				   const int8_t *wp, const int32_t *bias,
				   const struct s8_conv_params *p,
				   const struct s8_per_channel *q,
				   const struct s8_dims *in_dims,
				   const struct s8_dims *out_dims,
				   void *scratch)
{
	const int32_t ci = in_dims->c, co = out_dims->c;
	struct s8_packed_mm m;
	int32_t npix;

	if (ci < 1 || co < 1 || p->stride != 1 || p->padding != 0 ||
	    p->dilation != 1 || out_dims->h != in_dims->h ||
	    out_dims->w != in_dims->w ||
	    !s8_packed_mm_setup(&m, wp, bias, q, ci, co, p->output_offset,
				p->act_min, p->act_max, scratch,
				(char *)scratch +
				    PW_PIX * pointwise_s8_packed_len(ci) *
					(int32_t)sizeof(int16_t)))
		return S8_ERR_ARG;
	m.lut = p->lut ? p->lut + 128 : NULL;
	npix = in_dims->h * in_dims->w;
	for (int32_t p0 = 0; p0 < npix; p0 += PW_PIX) {
		const int8_t *px[PW_PIX];
		const int np = npix - p0 < PW_PIX ? (int)(npix - p0) : PW_PIX;

		/* missing pixels repeat the last one (computed, not stored) */
		for (int k = 0; k < PW_PIX; k++)
			px[k] = in + (p0 + (k < np ? k : np - 1)) * ci;
		s8_packed_mm_block(&m, px, np, out + p0 * co);
	}
	return S8_OK;
}
