/* SPDX-License-Identifier: Apache-2.0 */
/* depthwise_conv2d_s8.c - int8 depthwise kxk convolution (multiplier 1),
 * out of place and in place. Both compute one output row from K input row
 * pointers (NULL for padding rows), 4 channels at a time with SXTAB16 and
 * SMLABB/SMLATT on DSP builds; 3x3 and 5x5 layers with padding K/2 (stride
 * 1 or 2 out of place, 1 in place) take the band route of
 * depthwise_band_s8.c instead when it applies. An activation table
 * (p->lut) is applied to every output on every route. */
#include "kernels.h"
#include "requant.h"

struct dw_ctx {
	const int8_t *w; /* (K, K, C) */
	const int32_t *bias;
	const int32_t *mult, *shift;
	int32_t in_w, c, k, stride, padding, out_w;
	int32_t input_offset, output_offset, lo, hi;
};

#if S8_DSP
/* requantize four accumulators of channels c .. c+3 and store them (all
 * four computed before the first store, which may alias the parameters) */
static void dw_store4(const struct dw_ctx *d, int32_t c, int32_t a0, int32_t a1,
		      int32_t a2, int32_t a3, int8_t *o)
{
	const int32_t *m = d->mult + c, *s = d->shift + c;
	const int32_t off = d->output_offset, lo = d->lo, hi = d->hi;
	const int8_t v0 = s8_requantize_out(a0, m[0], s[0], off, lo, hi);
	const int8_t v1 = s8_requantize_out(a1, m[1], s[1], off, lo, hi);
	const int8_t v2 = s8_requantize_out(a2, m[2], s[2], off, lo, hi);
	const int8_t v3 = s8_requantize_out(a3, m[3], s[3], off, lo, hi);

	o[c] = v0;
	o[c + 1] = v1;
	o[c + 2] = v2;
	o[c + 3] = v3;
}

/* One tap for 4 channels: (x0, x2), (x1, x3) with the input offset added,
 * times (f0, f2), (f1, f3), each product into its channel's accumulator. */
#define DW_TAP4(xp, fp)                                                        \
	do {                                                                   \
		const int32_t xv_ = s8_read_s8x4(xp);                          \
		const int32_t fv_ = s8_read_s8x4(fp);                          \
		const int32_t x02_ = s8_sxtab16(off2, xv_);                    \
		const int32_t x13_ = s8_sxtab16_ror8(off2, xv_);               \
		const int32_t f02_ = s8_sxtb16(fv_);                           \
		const int32_t f13_ = s8_sxtb16_ror8(fv_);                      \
		a0 = s8_smlabb(x02_, f02_, a0);                                \
		a2 = s8_smlatt(x02_, f02_, a2);                                \
		a1 = s8_smlabb(x13_, f13_, a1);                                \
		a3 = s8_smlatt(x13_, f13_, a3);                                \
	} while (0)

/* Channels c .. c+3 of one output pixel whose window starts at input column
 * ix0, taps kx0 <= kx < kx1 of every present row (any K, borders). */
static void dw_quad(const struct dw_ctx *d, const int8_t *const *rows,
		    int32_t ix0, int32_t kx0, int32_t kx1, int32_t c, int8_t *o)
{
	const int32_t C = d->c, K = d->k;
	const int32_t off2 = s8_dup16(d->input_offset);
	int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;

	if (d->bias) {
		a0 = d->bias[c];
		a1 = d->bias[c + 1];
		a2 = d->bias[c + 2];
		a3 = d->bias[c + 3];
	}
	for (int32_t ky = 0; ky < K; ky++) {
		const int8_t *x, *f;

		if (!rows[ky])
			continue;
		x = rows[ky] + (ix0 + kx0) * C + c;
		f = d->w + (ky * K + kx0) * C + c;
		for (int32_t kx = kx0; kx < kx1; kx++) {
			DW_TAP4(x, f);
			x += C;
			f += C;
		}
	}
	dw_store4(d, c, a0, a1, a2, a3, o);
}

#define DWK_CHUNK 24 /* pixels accumulated before they are requantized */

/* kxk (K = 3 or 5, a constant after inlining) for the output pixels
 * [ox0, ox1) of a row whose windows lie inside the row (all but the
 * borders). Channel quads are the outer loop: a quad's K*K taps are
 * sign-extended once, then used along the row, and its channels'
 * requantization constants are worked out once per chunk of pixels. */
S8_INLINE void dwk_interior(const struct dw_ctx *d, const int8_t *const *rows,
			    int32_t ox0, int32_t ox1, int8_t *out, const int K)
{
	const int32_t C = d->c, step = d->stride * d->c;
	const int32_t off2 = s8_dup16(d->input_offset);
	/* locals, not d->...: the int8 stores below could alias *d */
	const int32_t off = d->output_offset, lo = d->lo, hi = d->hi;
	const int32_t amin = lo + off, amax = hi + off;
	const int full = amin == -128 && amax == 127;
	/* K*K taps of |x + offset| <= 255 times |w| <= 128, plus a bias of at
	 * most this, stay below 2^30 in magnitude */
	const int32_t small_bias = (1 << 30) - 1 - K * K * 255 * 128;

	for (int32_t c = 0; c + 4 <= C; c += 4) {
		int32_t wx[2 * 25]; /* per tap: (f0, f2), (f1, f3) */
		int32_t b[4] = {0, 0, 0, 0};

		for (int32_t t = 0; t < K * K; t++) {
			const int32_t fv = s8_read_s8x4(d->w + t * C + c);

			wx[2 * t] = s8_sxtb16(fv);
			wx[2 * t + 1] = s8_sxtb16_ror8(fv);
		}
		if (d->bias)
			for (int j = 0; j < 4; j++)
				b[j] = d->bias[c + j];
		for (int32_t oc = ox0; oc < ox1; oc += DWK_CHUNK) {
			const int32_t n =
			    ox1 - oc < DWK_CHUNK ? ox1 - oc : DWK_CHUNK;
			const int32_t first =
			    (oc * d->stride - d->padding) * C + c;
			int32_t acc[4 * DWK_CHUNK];

			for (int32_t k = 0; k < n; k++) {
				const int32_t at = first + k * step;
				int32_t a0 = b[0], a1 = b[1], a2 = b[2],
					a3 = b[3];

#define DWK_TAP(p, wt)                                                         \
	do {                                                                   \
		const int32_t xv_ = s8_read_s8x4(p);                           \
		const int32_t x02_ = s8_sxtab16(off2, xv_);                    \
		const int32_t x13_ = s8_sxtab16_ror8(off2, xv_);               \
		a0 = s8_smlabb(x02_, (wt)[0], a0);                             \
		a2 = s8_smlatt(x02_, (wt)[0], a2);                             \
		a1 = s8_smlabb(x13_, (wt)[1], a1);                             \
		a3 = s8_smlatt(x13_, (wt)[1], a3);                             \
	} while (0)
/* filter row ky, written out (K is a constant: no loop) */
#define DWK_ROW(ky)                                                            \
	do {                                                                   \
		const int8_t *xp_ = rows[(ky)];                                \
		const int32_t *wt_ = wx + 2 * K * (ky);                        \
		if (xp_) {                                                     \
			xp_ += at;                                             \
			DWK_TAP(xp_, wt_);                                     \
			DWK_TAP(xp_ + C, wt_ + 2);                             \
			DWK_TAP(xp_ + 2 * C, wt_ + 4);                         \
			if (K == 5) {                                          \
				DWK_TAP(xp_ + 3 * C, wt_ + 6);                 \
				DWK_TAP(xp_ + 4 * C, wt_ + 8);                 \
			}                                                      \
		}                                                              \
	} while (0)
				DWK_ROW(0);
				DWK_ROW(1);
				DWK_ROW(2);
				if (K == 5) {
					DWK_ROW(3);
					DWK_ROW(4);
				}
#undef DWK_ROW
#undef DWK_TAP
				acc[4 * k] = a0;
				acc[4 * k + 1] = a1;
				acc[4 * k + 2] = a2;
				acc[4 * k + 3] = a3;
			}
			for (int j = 0; j < 4; j++) {
				const int32_t m = d->mult[c + j];
				const int32_t s = d->shift[c + j];
				int8_t *o = out + oc * C + c + j;

				if (s8_rq_fast(m, s) && m > 0 && full &&
				    b[j] >= -small_bias && b[j] <= small_bias) {
					/* |acc| < 2^30, m > 0: SMMLAR with the
					 * output offset in the rounding
					 * constant, acc's sign for t's (as in
					 * pointwise_conv2d_s8.c) */
					const int32_t e = -s;
					const int32_t h =
					    (1 << (e - 1)) +
					    (int32_t)((uint32_t)off << e);

					for (int32_t k = 0; k < n; k++) {
						const int32_t a = acc[4 * k + j];
						const int32_t t = s8_smmlar(
						    (int32_t)((uint32_t)a << 1),
						    m, h);
						// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
						const int32_t v = (t + (a >> 31)) >> e;

						o[k * C] = (int8_t)s8_ssat8(v);
					}
				} else if (s8_rq_fast(m, s) &&
					   b[j] >= -small_bias &&
					   b[j] <= small_bias) {
					/* |acc| < 2^30: the SMMULR route */
					const int32_t e = -s, h = 1 << (e - 1);

					for (int32_t k = 0; k < n; k++)
						o[k * C] = (int8_t)s8_clamp(
						    s8_rq_fast_value_small(
							acc[4 * k + j], m, e,
							h) +
							off,
						    amin, amax);
				} else {
					for (int32_t k = 0; k < n; k++)
						o[k * C] = s8_requantize_out(
						    acc[4 * k + j], m, s, off,
						    lo, hi);
				}
			}
		}
	}
}

static void dw3_interior(const struct dw_ctx *d, const int8_t *const *rows,
			 int32_t ox0, int32_t ox1, int8_t *out)
{
	dwk_interior(d, rows, ox0, ox1, out, 3);
}

static void dw5_interior(const struct dw_ctx *d, const int8_t *const *rows,
			 int32_t ox0, int32_t ox1, int8_t *out)
{
	dwk_interior(d, rows, ox0, ox1, out, 5);
}
#endif

/* 3x3 interior in plain C, for channels c_begin .. C-1 (the channels left
 * over by the DSP quads, or all of them): a channel's 9 weights stay in
 * registers along the row. The input offset is folded into the bias:
 * sum (x + off) * w = sum x * w + off * sum w over the present rows; the
 * sums run in uint32, which wraps harmlessly since the final accumulator
 * fits int32 (the generator's bound). */
static void dw3_interior_c(const struct dw_ctx *d, const int8_t *const *rows,
			   int32_t ox0, int32_t ox1, int32_t c_begin,
			   int8_t *out)
{
	const int32_t C = d->c, C2 = 2 * d->c, step = d->stride * d->c;
	const int8_t *const r0 = rows[0], *const r1 = rows[1],
			    *const r2 = rows[2];
	const int32_t off = d->output_offset, lo = d->lo, hi = d->hi;
	const int32_t first = (ox0 * d->stride - d->padding) * C;

	for (int32_t c = c_begin; c < C; c++) {
		const int8_t *const f = d->w + c;
		const int32_t w0 = f[0], w1 = f[C], w2 = f[C2];
		const int32_t w3 = f[3 * C], w4 = f[4 * C], w5 = f[5 * C];
		const int32_t w6 = f[6 * C], w7 = f[7 * C], w8 = f[8 * C];
		const int32_t m = d->mult[c], s = d->shift[c];
		uint32_t base = d->bias ? (uint32_t)d->bias[c] : 0u;
		int32_t sum_w = 0;
		int8_t *o = out + ox0 * C + c;

		if (r0)
			sum_w += w0 + w1 + w2;
		if (r1)
			sum_w += w3 + w4 + w5;
		if (r2)
			sum_w += w6 + w7 + w8;
		base += (uint32_t)(d->input_offset * sum_w);
		for (int32_t ox = ox0, at = first + c; ox < ox1;
		     ox++, at += step) {
			uint32_t acc = base;

			if (r0)
				acc +=
				    (uint32_t)(r0[at] * w0 + r0[at + C] * w1 +
					       r0[at + C2] * w2);
			if (r1)
				acc +=
				    (uint32_t)(r1[at] * w3 + r1[at + C] * w4 +
					       r1[at + C2] * w5);
			if (r2)
				acc +=
				    (uint32_t)(r2[at] * w6 + r2[at + C] * w7 +
					       r2[at + C2] * w8);
			*o = s8_requantize_out((int32_t)acc, m, s, off, lo, hi);
			o += C;
		}
	}
}

/* One output row from the K input rows it reads. */
static void dw_row(const struct dw_ctx *d, int8_t *out,
		   const int8_t *const *rows)
{
	const int32_t C = d->c, K = d->k;
	int32_t ilo = 0, ihi = 0;

	if (K == 3 || (S8_DSP && K == 5)) {
		/* outputs whose K-wide window starts at column >= 0 and ends
		 * at column <= in_w - 1 */
		ilo = (d->padding + d->stride - 1) / d->stride;
		ihi = (d->in_w - K + d->padding) / d->stride + 1;
		if (ihi > d->out_w)
			ihi = d->out_w;
		if (ihi > ilo) {
#if S8_DSP
			if (K == 3) {
				dw3_interior(d, rows, ilo, ihi, out);
				dw3_interior_c(d, rows, ilo, ihi, C & ~3, out);
			} else {
				dw5_interior(d, rows, ilo, ihi, out);
			}
#else
			dw3_interior_c(d, rows, ilo, ihi, 0, out);
#endif
		}
	}
	for (int32_t ox = 0; ox < d->out_w; ox++) {
		const int32_t ix0 = ox * d->stride - d->padding;
		const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
		const int32_t kx1 = ix0 + K > d->in_w ? d->in_w - ix0 : K;
		const int interior = ox >= ilo && ox < ihi;
		int8_t *o = out + ox * C;
		int32_t c = 0;

		if (K == 3 && interior)
			continue; /* done above */
#if S8_DSP
		if (interior)
			c = C & ~3; /* quads done above (5x5) */
		for (; c + 4 <= C; c += 4)
			dw_quad(d, rows, ix0, kx0, kx1, c, o);
#endif
		for (; c < C; c++) {
			int32_t acc = d->bias ? d->bias[c] : 0;

			for (int32_t ky = 0; ky < K; ky++) {
				if (!rows[ky])
					continue;
				for (int32_t kx = kx0; kx < kx1; kx++)
					acc += (rows[ky][(ix0 + kx) * C + c] +
						d->input_offset) *
					       d->w[(ky * K + kx) * C + c];
			}
			o[c] =
			    s8_requantize_out(acc, d->mult[c], d->shift[c],
					      d->output_offset, d->lo, d->hi);
		}
	}
}

/* The activation table (NULL: none) over n output bytes. */
static void dw_lut(int8_t *o, int32_t n, const int8_t *lut)
{
	if (!lut)
		return;
	for (int32_t i = 0; i < n; i++)
		o[i] = lut[o[i] + 128];
}

#define DW_MAX_K 15

static int dw_setup(struct dw_ctx *d, const int8_t *w, const int32_t *bias,
		    const struct s8_conv_params *p,
		    const struct s8_per_channel *q,
		    const struct s8_dims *in_dims,
		    const struct s8_dims *filter_dims,
		    const struct s8_dims *out_dims)
{
	const int32_t k = filter_dims->h;

	if (k < 1 || k > DW_MAX_K || filter_dims->w != k || in_dims->c < 1 ||
	    filter_dims->c != in_dims->c || out_dims->c != in_dims->c ||
	    p->dilation != 1 || p->stride < 1 || p->padding < 0 ||
	    in_dims->h + 2 * p->padding < k ||
	    in_dims->w + 2 * p->padding < k ||
	    out_dims->h != (in_dims->h + 2 * p->padding - k) / p->stride + 1 ||
	    out_dims->w != (in_dims->w + 2 * p->padding - k) / p->stride + 1)
		return 0;
	d->w = w;
	d->bias = bias;
	d->mult = q->multiplier;
	d->shift = q->shift;
	d->in_w = in_dims->w;
	d->c = in_dims->c;
	d->k = k;
	d->stride = p->stride;
	d->padding = p->padding;
	d->out_w = out_dims->w;
	d->input_offset = p->input_offset;
	d->output_offset = p->output_offset;
	d->lo = p->act_min - p->output_offset;
	d->hi = p->act_max - p->output_offset;
	return 1;
}

int32_t depthwise_conv2d_s8_scratch_size(const struct s8_conv_params *p,
					 const struct s8_dims *in_dims,
					 const struct s8_dims *filter_dims,
					 const struct s8_dims *out_dims)
{
	/* the band route's planes (0 where it does not apply) */
	return depthwise_band_s8_scratch_size(in_dims, out_dims, filter_dims->h,
					      p->stride, p->padding, 0);
}

enum s8_status depthwise_conv2d_s8(
    int8_t *out, const int8_t *in, const int8_t *w, const int32_t *bias,
    const struct s8_conv_params *p, const struct s8_per_channel *q,
    const struct s8_dims *in_dims, const struct s8_dims *filter_dims,
    const struct s8_dims *out_dims, void *scratch)
{
	struct dw_ctx d;
	const int8_t *rows[DW_MAX_K];
	int32_t row_bytes, need;

	if (!dw_setup(&d, w, bias, p, q, in_dims, filter_dims, out_dims))
		return S8_ERR_ARG;
	need =
	    depthwise_conv2d_s8_scratch_size(p, in_dims, filter_dims, out_dims);
	if (need > 0 && (!scratch || ((uintptr_t)scratch & 3u) != 0))
		return S8_ERR_ARG;
	if (need > 0 && depthwise_band_s8_run(out, in, w, bias, p, q, in_dims,
					      out_dims, d.k, scratch, 0))
		return S8_OK;
	row_bytes = in_dims->w * in_dims->c;
	for (int32_t oy = 0; oy < out_dims->h; oy++) {
		int8_t *o = out + oy * out_dims->w * out_dims->c;

		for (int32_t ky = 0; ky < d.k; ky++) {
			const int32_t iy = oy * d.stride - d.padding + ky;

			rows[ky] = iy >= 0 && iy < in_dims->h
				       ? in + iy * row_bytes
				       : NULL;
		}
		dw_row(&d, o, rows);
		dw_lut(o, out_dims->w * out_dims->c, p->lut);
	}
	return S8_OK;
}

int32_t
depthwise_conv2d_inplace_s8_scratch_size(const struct s8_dims *dims,
					 const struct s8_dims *filter_dims)
{
	const int32_t ring = (filter_dims->h / 2 + 1) * dims->w * dims->c;
	const int32_t band = depthwise_band_s8_scratch_size(
	    dims, dims, filter_dims->h, 1, filter_dims->h / 2, 1);

	/* the ring (portable builds, other K) or the band planes */
	return band > ring ? band : ring;
}

/* Output row y overwrites input row y, which rows y+1 .. y+K/2 still read,
 * so each input row is copied into a ring of K/2 + 1 rows just before its
 * output is written: row y's taps read rows y-K/2 .. y from the ring and
 * rows y+1 .. y+K/2 from buf, which are still untouched. */
enum s8_status depthwise_conv2d_inplace_s8(int8_t *buf, const int8_t *w,
					   const int32_t *bias,
					   const struct s8_conv_params *p,
					   const struct s8_per_channel *q,
					   const struct s8_dims *dims,
					   const struct s8_dims *filter_dims,
					   void *scratch)
{
	struct dw_ctx d;
	const int8_t *rows[DW_MAX_K];
	int8_t *ring = (int8_t *)scratch;
	int32_t half, slots, row_bytes;

	if (!scratch || p->stride != 1 || (filter_dims->h & 1) == 0 ||
	    p->padding != filter_dims->h / 2 ||
	    !dw_setup(&d, w, bias, p, q, dims, filter_dims, dims))
		return S8_ERR_ARG;
	if (depthwise_band_s8_run(buf, buf, w, bias, p, q, dims, dims, d.k,
				  scratch, 1))
		return S8_OK;
	half = d.k / 2;
	slots = half + 1;
	row_bytes = dims->w * dims->c;
	for (int32_t y = 0; y < dims->h; y++) {
		memcpy(ring + (y % slots) * row_bytes, buf + y * row_bytes,
		       (size_t)row_bytes);
		for (int32_t ky = 0; ky < d.k; ky++) {
			const int32_t iy = y - half + ky;

			if (iy < 0 || iy >= dims->h)
				rows[ky] = NULL;
			else if (iy <= y)
				rows[ky] = ring + (iy % slots) * row_bytes;
			else
				rows[ky] = buf + iy * row_bytes;
		}
		dw_row(&d, buf + y * row_bytes, rows);
		dw_lut(buf + y * row_bytes, row_bytes, p->lut);
	}
	return S8_OK;
}
