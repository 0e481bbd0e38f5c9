/* depthwise_band_s8.c - the band route of the int8 depthwise kernel
 * (depthwise_conv2d_inplace_s8 takes it when it applies): DSP builds, K = 3
 * or 5, stride 1, padding K/2. For a quad of channels and a band of up to
 * DWB_ROWS output rows, the input rows the band reads become int16 planes,
 * one per channel, of x + input offset with zero padding around (rows of
 * dwb_row_len halfwords), so that every output is interior and a channel's
 * taps kx, kx+1 are one word: two outputs of a filter row take K loads and
 * K + 1 SMLAD/SMLAxB. The last K - 1 plane rows move to the top for the
 * next band, so each input row is converted once per quad, before any
 * output row that overwrites it (in place) is written. Accumulators of a
 * group of rows are computed first, then requantized (with the loops in
 * assembly on GCC/Thumb-2 builds). */
#include "kernels.h"
#include "requant.h"

#define DWB_ROWS  16  /* output rows per band */
#define DWB_ACC	  256 /* accumulators per pass (on the stack) */
#define DWB_MAX_W 256 /* a row of pairs fits DWB_ACC */

static int32_t dwb_row_len(int32_t w, int32_t k)
{
	/* W + 2 * (K / 2), plus one when odd: an odd row ends with a pair
	 * whose second output reads the padding halfword after the row */
	return (w + 2 * (k / 2) + 1) & ~1;
}

/* Plane rows: a band and the K - 1 rows around it. */
static int32_t dwb_rows_of(int32_t h, int32_t k)
{
	return (h < DWB_ROWS ? h : DWB_ROWS) + k - 1;
}

int32_t depthwise_band_s8_scratch_size(const struct s8_dims *dims, int32_t k)
{
	const int32_t ring = (k / 2 + 1) * dims->w * dims->c;
	const int32_t quarter = dims->h * dims->w * dims->c / 4;
	const int32_t band = 4 * dwb_rows_of(dims->h, k) *
			     dwb_row_len(dims->w, k) * (int32_t)sizeof(int16_t);

	if ((k != 3 && k != 5) || dims->w > DWB_MAX_W ||
	    (band > ring && band > quarter))
		return 0;
	return band;
}

#if S8_DSP
enum dwb_mode { DWB_FULL, DWB_CLAMP, DWB_GEN };

struct dwb {
	const int8_t *w; /* (K, K, C) */
	const int32_t *bias, *mult, *shift;
	int32_t h, wd, c, k, pad, in_off, out_off, lo, hi;
};

/* One channel's filter (per filter row: the pairs (w0, w1), (w2, w3) (0
 * for K = 3) then w_{K-1}), doubled on the fast routes, and its
 * requantization. */
struct dwb_ch {
	int32_t wq[15];
	int32_t b, m, s, e, h;
};

/* Input row src (channels c0 .. c0+nc-1) into row j of the planes. */
static void dwb_convert(const struct dwb *d, int16_t *const pl[4], int32_t wp,
			const int8_t *src, int32_t nc, int32_t j)
{
	const int32_t C = d->c, W = d->wd, at = j * wp + d->pad;
	const int32_t off2 = s8_dup16(d->in_off);
	int16_t *q0 = pl[0] + at, *q1 = pl[1] + at;
	int16_t *q2 = pl[2] + at, *q3 = pl[3] + at;
	int32_t x = 0;

	if (nc < 4) {
		for (; x < W; x++)
			for (int32_t k = 0; k < nc; k++)
				pl[k][at + x] =
				    (int16_t)(src[x * C + k] + d->in_off);
		return;
	}
	for (; x + 2 <= W; x += 2, src += 2 * C) {
		const int32_t u = s8_read_s8x4(src), v = s8_read_s8x4(src + C);
		const int32_t u02 = s8_sxtab16(off2, u);
		const int32_t u13 = s8_sxtab16_ror8(off2, u);
		const int32_t v02 = s8_sxtab16(off2, v);
		const int32_t v13 = s8_sxtab16_ror8(off2, v);

		s8_write_s16x2(q0 + x, s8_pkhbt16(u02, v02));
		s8_write_s16x2(q1 + x, s8_pkhbt16(u13, v13));
		s8_write_s16x2(q2 + x, s8_pkhtb16(u02, v02));
		s8_write_s16x2(q3 + x, s8_pkhtb16(u13, v13));
	}
	if (x < W) {
		const int32_t u = s8_read_s8x4(src);
		const int32_t u02 = s8_sxtab16(off2, u);
		const int32_t u13 = s8_sxtab16_ror8(off2, u);

		q0[x] = (int16_t)u02;
		q1[x] = (int16_t)u13;
		q2[x] = (int16_t)(u02 >> 16);
		q3[x] = (int16_t)(u13 >> 16);
	}
}

/* Requantization of a = 2 * acc (fast routes: |acc| < 2^30, m > 0; SMMLAR
 * as in pointwise_conv2d_s8.c's pw_fast) or acc (DWB_GEN). DWB_CLAMP: h
 * has the output offset minus act_min folded in, so the shift gives u =
 * v - act_min, and min(max(u, 0), R) + act_min with R = act_max - act_min
 * is act_max - usat(R - usat(u)). */
S8_INLINE int8_t dwb_out(int32_t a, const struct dwb_ch *ch, int32_t R,
			 int32_t amax, const struct dwb *d, const int mode)
{
	int32_t v;

	if (mode == DWB_GEN)
		return s8_requantize_out(a, ch->m, ch->s, d->out_off, d->lo,
					 d->hi);
	// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
	v = (s8_smmlar(a, ch->m, ch->h) + (a >> 31)) >> ch->e;
	if (mode == DWB_FULL)
		return (int8_t)s8_ssat8(v);
	return (int8_t)(amax - s8_usat8(R - s8_usat8(v)));
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP &&                         \
    !defined(S8_DSP_EMULATE) && defined(__GNUC__) && defined(__thumb2__) &&    \
    defined(__OPTIMIZE__)
/* ---- GCC / Thumb-2: the loops in assembly ------------------------------
 * (C would spill: the accumulation loops need the 14 allocatable registers,
 * the row bookkeeping lives in memory operands, so the functions are kept
 * out of line, where those are plain stack slots; optimized builds only:
 * -O0 keeps a frame pointer.) */

/* One filter row of the pair loop: plane row pointer rp (advanced by one
 * pair), pair weight wp_, last tap wl. */
#define DWB_ASM_ROW3(rp, wp_, wl)                                              \
	"ldr %[t], [%[" rp "]], #4\n\t"                                        \
	"smlad %[a0], %[t], %[" wp_ "], %[a0]\n\t"                             \
	"ldr %[t], [%[" rp "], #-2]\n\t"                                       \
	"smlad %[a1], %[t], %[" wp_ "], %[a1]\n\t"                             \
	"ldr %[t], [%[" rp "]]\n\t"                                            \
	"smlabb %[a0], %[t], %[" wl "], %[a0]\n\t"                             \
	"smlatb %[a1], %[t], %[" wl "], %[a1]\n\t"

/* K = 3, weights in registers: rows of `pairs` pairs of accumulators from
 * plane rows r, r + wp, r + 2 wp, then the next row. */
__attribute__((noinline)) static void dwb_acc3_asm(const int16_t *r, int32_t wp,
						   const int32_t *w, int32_t b,
						   int32_t *acc, int32_t pairs,
						   int32_t rows)
{
	const int16_t *r0 = r, *r1 = r + wp, *r2 = r + 2 * wp;
	const int32_t w0 = w[0], w1 = w[2], w2 = w[3], w3 = w[5];
	const int32_t w4 = w[6], w5 = w[8];
	const int32_t adv = (wp - 2 * pairs) * (int32_t)sizeof(int16_t);
	int32_t n = pairs, a0, a1, t;

	__asm__ volatile(
	    "1:\n\t"
	    "ldr %[a0], %[b]\n\t"
	    "mov %[a1], %[a0]\n\t" DWB_ASM_ROW3("r0", "w0", "w1")
		DWB_ASM_ROW3("r1", "w2", "w3") DWB_ASM_ROW3(
		    "r2", "w4", "w5") "strd %[a0], %[a1], [%[acc]], #8\n\t"
				      "subs %[n], %[n], #1\n\t"
				      "bne 1b\n\t"
				      "ldr %[t], %[adv]\n\t"
				      "add %[r0], %[r0], %[t]\n\t"
				      "add %[r1], %[r1], %[t]\n\t"
				      "add %[r2], %[r2], %[t]\n\t"
				      "ldr %[n], %[pairs]\n\t"
				      "ldr %[t], %[rows]\n\t"
				      "subs %[t], %[t], #1\n\t"
				      "str %[t], %[rows]\n\t"
				      "bne 1b"
	    : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [acc] "+r"(acc),
	      [n] "+r"(n), [a0] "=&r"(a0), [a1] "=&r"(a1), [t] "=&r"(t),
	      [rows] "+m"(rows)
	    : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [w3] "r"(w3),
	      [w4] "r"(w4), [w5] "r"(w5), [b] "m"(b), [adv] "m"(adv),
	      [pairs] "m"(pairs)
	    : "cc", "memory");
}

/* K = 5: a filter row's weights loaded per row of the filter. */
#define DWB_ASM_ROW5(rp, off)                                                  \
	"ldrd %[p0], %[p1], [%[w], #" off "]\n\t"                              \
	"ldr %[t], [%[" rp "]], #4\n\t"                                        \
	"smlad %[a0], %[t], %[p0], %[a0]\n\t"                                  \
	"ldr %[t], [%[" rp "], #-2]\n\t"                                       \
	"smlad %[a1], %[t], %[p0], %[a1]\n\t"                                  \
	"ldr %[t], [%[" rp "]]\n\t"                                            \
	"smlad %[a0], %[t], %[p1], %[a0]\n\t"                                  \
	"ldr %[t], [%[" rp "], #2]\n\t"                                        \
	"smlad %[a1], %[t], %[p1], %[a1]\n\t"                                  \
	"ldr %[p0], [%[w], #" off "+8]\n\t"                                    \
	"ldr %[t], [%[" rp "], #4]\n\t"                                        \
	"smlabb %[a0], %[t], %[p0], %[a0]\n\t"                                 \
	"smlatb %[a1], %[t], %[p0], %[a1]\n\t"

__attribute__((noinline)) static void dwb_acc5_asm(const int16_t *r, int32_t wp,
						   const int32_t *w, int32_t b,
						   int32_t *acc, int32_t pairs,
						   int32_t rows)
{
	const int16_t *r0 = r, *r1 = r + wp, *r2 = r + 2 * wp;
	const int16_t *r3 = r + 3 * wp, *r4 = r + 4 * wp;
	const int32_t adv = (wp - 2 * pairs) * (int32_t)sizeof(int16_t);
	int32_t n = pairs, a0, a1, t, p0, p1;

	__asm__ volatile(
	    "1:\n\t"
	    "ldr %[a0], %[b]\n\t"
	    "mov %[a1], %[a0]\n\t" DWB_ASM_ROW5("r0", "0") DWB_ASM_ROW5(
		"r1", "12") DWB_ASM_ROW5("r2", "24") DWB_ASM_ROW5("r3", "36")
		DWB_ASM_ROW5("r4", "48") "strd %[a0], %[a1], [%[acc]], #8\n\t"
					 "subs %[n], %[n], #1\n\t"
					 "bne 1b\n\t"
					 "ldr %[t], %[adv]\n\t"
					 "add %[r0], %[r0], %[t]\n\t"
					 "add %[r1], %[r1], %[t]\n\t"
					 "add %[r2], %[r2], %[t]\n\t"
					 "add %[r3], %[r3], %[t]\n\t"
					 "add %[r4], %[r4], %[t]\n\t"
					 "ldr %[n], %[pairs]\n\t"
					 "ldr %[t], %[rows]\n\t"
					 "subs %[t], %[t], #1\n\t"
					 "str %[t], %[rows]\n\t"
					 "bne 1b"
	    : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [r3] "+r"(r3),
	      [r4] "+r"(r4), [acc] "+r"(acc), [n] "+r"(n), [a0] "=&r"(a0),
	      [a1] "=&r"(a1), [t] "=&r"(t), [p0] "=&r"(p0), [p1] "=&r"(p1),
	      [rows] "+m"(rows)
	    : [w] "r"(w), [b] "m"(b), [adv] "m"(adv), [pairs] "m"(pairs)
	    : "cc", "memory");
}

/* One requantized output from accumulator register a (dwb_out's fast
 * routes), into t; clamped when CL is "1". */
#define DWB_ASM_OUT(a, CL)                                                     \
	"smmlar %[t], %[" a "], %[m], %[h]\n\t"                                \
	"add %[t], %[t], %[" a "], asr #31\n\t"                                \
	"asr %[t], %[t], %[e]\n\t"                                             \
	".if " CL "\n\t"                                                       \
	"usat %[t], #8, %[t]\n\t"                                              \
	"sub %[t], %[R], %[t]\n\t"                                             \
	"usat %[t], #8, %[t]\n\t"                                              \
	"sub %[t], %[amax], %[t]\n\t"                                          \
	".else\n\t"                                                            \
	"ssat %[t], #8, %[t]\n\t"                                              \
	".endif\n\t"

/* rows rows of W = 2 * pairs + odd outputs from rows of 2 * ceil(W / 2)
 * accumulators, to o, o + C, ... (output rows are contiguous). */
#define DWB_ASM_REQ(CL)                                                        \
	"2:\n\t"                                                               \
	"ldr %[n], %[pairs]\n\t"                                               \
	"cmp %[n], #0\n\t"                                                     \
	"beq 3f\n\t"                                                           \
	"1:\n\t"                                                               \
	"ldrd %[a0], %[a1], [%[acc]], #8\n\t" DWB_ASM_OUT(                     \
	    "a0",                                                              \
	    CL) "strb %[t], [%[o]]\n\t" DWB_ASM_OUT("a1",                      \
						    CL) "strb %[t], [%[o], "   \
							"%[C]]\n\t"            \
							"add %[o], %[o], "     \
							"%[C], lsl #1\n\t"     \
							"subs %[n], %[n], "    \
							"#1\n\t"               \
							"bne 1b\n\t"           \
							"3:\n\t"               \
							"ldr %[t], %[odd]\n\t" \
							"cmp %[t], #0\n\t"     \
							"beq 4f\n\t"           \
							"ldr %[a0], "          \
							"[%[acc]], "           \
							"#8\n\t" DWB_ASM_OUT(  \
							    "a0",              \
							    CL) "strb %[t], "  \
								"[%[o]]\n\t"   \
								"add %[o], "   \
								"%[o], "       \
								"%[C]\n\t"     \
								"4:\n\t"       \
								"subs "        \
								"%[rows], "    \
								"%[rows], "    \
								"#1\n\t"       \
								"bne 2b"

__attribute__((noinline)) static void
dwb_req_asm(const int32_t *acc, int8_t *o, int32_t C, int32_t pairs,
	    int32_t odd, int32_t rows, const struct dwb_ch *ch, int32_t R,
	    int32_t amax, int full)
{
	const int32_t m = ch->m, h = ch->h, e = ch->e;
	int32_t n, a0, a1, t;

	if (full)
		__asm__ volatile(
		    DWB_ASM_REQ("0")
		    : [acc] "+r"(acc), [o] "+r"(o), [rows] "+r"(rows),
		      [n] "=&r"(n), [a0] "=&r"(a0), [a1] "=&r"(a1), [t] "=&r"(t)
		    : [C] "r"(C), [m] "r"(m), [h] "r"(h), [e] "r"(e),
		      [R] "r"(0), [amax] "r"(0), [pairs] "m"(pairs),
		      [odd] "m"(odd)
		    : "cc", "memory");
	else
		__asm__ volatile(
		    DWB_ASM_REQ("1")
		    : [acc] "+r"(acc), [o] "+r"(o), [rows] "+r"(rows),
		      [n] "=&r"(n), [a0] "=&r"(a0), [a1] "=&r"(a1), [t] "=&r"(t)
		    : [C] "r"(C), [m] "r"(m), [h] "r"(h), [e] "r"(e),
		      [R] "r"(R), [amax] "r"(amax), [pairs] "m"(pairs),
		      [odd] "m"(odd)
		    : "cc", "memory");
}

/* R output rows of one channel from its plane; o: the channel's byte of
 * the band's first output pixel. */
static void dwb_rows(const struct dwb *d, const struct dwb_ch *ch,
		     const int16_t *pl, int32_t wp, int32_t R, int8_t *o,
		     int mode)
{
	const int32_t W = d->wd, C = d->c, P = (W + 1) / 2;
	const int32_t g = DWB_ACC / (2 * P);
	const int32_t amax = d->hi + d->out_off, span = d->hi - d->lo;
	int32_t acc[DWB_ACC];

	for (int32_t y = 0; y < R; y += g) {
		const int32_t rows = R - y < g ? R - y : g;
		int8_t *op = o + y * W * C;

		if (d->k == 3)
			dwb_acc3_asm(pl + y * wp, wp, ch->wq, ch->b, acc, P,
				     rows);
		else
			dwb_acc5_asm(pl + y * wp, wp, ch->wq, ch->b, acc, P,
				     rows);
		if (mode != DWB_GEN) {
			dwb_req_asm(acc, op, C, W >> 1, W & 1, rows, ch, span,
				    amax, mode == DWB_FULL);
			continue;
		}
		for (int32_t i = 0; i < rows; i++)
			for (int32_t x = 0; x < W; x++)
				op[(i * W + x) * C] =
				    dwb_out(acc[i * 2 * P + x], ch, span, amax,
					    d, DWB_GEN);
	}
}
#else
/* ---- other compilers and the host's emulated DSP: the loops in C ------- */

/* One filter row (pairs p0, p1, last tap l) at plane row rr for the outputs
 * at rr (*a0) and rr + 1 (*a1). */
S8_INLINE void dwb_frow(const int16_t *rr, int32_t p0, int32_t p1, int32_t l,
			int32_t *a0, int32_t *a1, const int K)
{
	int32_t x0 = *a0, x1 = *a1, t;

	x0 = s8_smlad(s8_read_s16x2(rr), p0, x0);
	x1 = s8_smlad(s8_read_s16x2(rr + 1), p0, x1);
	if (K == 5) {
		x0 = s8_smlad(s8_read_s16x2(rr + 2), p1, x0);
		x1 = s8_smlad(s8_read_s16x2(rr + 3), p1, x1);
	}
	t = s8_read_s16x2(rr + K - 1);
	*a0 = s8_smlabb(t, l, x0);
	*a1 = s8_smlatb(t, l, x1);
}

/* Filter row ky of the copy w (pairs and last tap). */
#define DWB_W(ky) w[3 * (ky)], w[3 * (ky) + 1], w[3 * (ky) + 2]

/* R output rows of one channel from its plane; o: the channel's byte of
 * the band's first output pixel. Pairs of outputs, an odd row ending with
 * a pair whose second output (on the padding) is not stored. */
S8_INLINE void dwb_rows_k(const struct dwb *d, const struct dwb_ch *ch,
			  const int16_t *pl, int32_t wp, int32_t R, int8_t *o,
			  const int K, const int mode)
{
	const int32_t W = d->wd, C = d->c;
	const int32_t amax = d->hi + d->out_off, span = d->hi - d->lo;
	/* locals: the int8 stores below may alias *ch and *d */
	const struct dwb_ch c = *ch;
	const int32_t *const w = c.wq;

	for (int32_t y = 0; y < R; y++, pl += wp, o += W * C) {
		const int16_t *r = pl;
		int8_t *op = o;

		for (int32_t x = 0; x < W; x += 2, r += 2, op += 2 * C) {
			int32_t a0 = c.b, a1 = a0;
			int8_t v0, v1;

			dwb_frow(r, DWB_W(0), &a0, &a1, K);
			dwb_frow(r + wp, DWB_W(1), &a0, &a1, K);
			dwb_frow(r + 2 * wp, DWB_W(2), &a0, &a1, K);
			if (K == 5) {
				dwb_frow(r + 3 * wp, DWB_W(3), &a0, &a1, K);
				dwb_frow(r + 4 * wp, DWB_W(4), &a0, &a1, K);
			}
			v0 = dwb_out(a0, &c, span, amax, d, mode);
			v1 = dwb_out(a1, &c, span, amax, d, mode);
			op[0] = v0;
			if (x + 1 < W)
				op[C] = v1;
		}
	}
}
#undef DWB_W

static void dwb_rows3_full(const struct dwb *d, const struct dwb_ch *ch,
			   const int16_t *pl, int32_t wp, int32_t R, int8_t *o)
{
	dwb_rows_k(d, ch, pl, wp, R, o, 3, DWB_FULL);
}

static void dwb_rows3_clamp(const struct dwb *d, const struct dwb_ch *ch,
			    const int16_t *pl, int32_t wp, int32_t R, int8_t *o)
{
	dwb_rows_k(d, ch, pl, wp, R, o, 3, DWB_CLAMP);
}

static void dwb_rows5_full(const struct dwb *d, const struct dwb_ch *ch,
			   const int16_t *pl, int32_t wp, int32_t R, int8_t *o)
{
	dwb_rows_k(d, ch, pl, wp, R, o, 5, DWB_FULL);
}

static void dwb_rows5_clamp(const struct dwb *d, const struct dwb_ch *ch,
			    const int16_t *pl, int32_t wp, int32_t R, int8_t *o)
{
	dwb_rows_k(d, ch, pl, wp, R, o, 5, DWB_CLAMP);
}

static void dwb_rows(const struct dwb *d, const struct dwb_ch *ch,
		     const int16_t *pl, int32_t wp, int32_t R, int8_t *o,
		     int mode)
{
	if (mode == DWB_GEN && d->k == 3)
		dwb_rows_k(d, ch, pl, wp, R, o, 3, DWB_GEN);
	else if (mode == DWB_GEN)
		dwb_rows_k(d, ch, pl, wp, R, o, 5, DWB_GEN);
	else if (d->k == 3)
		(mode == DWB_FULL ? dwb_rows3_full : dwb_rows3_clamp)(d, ch, pl,
								      wp, R, o);
	else
		(mode == DWB_FULL ? dwb_rows5_full : dwb_rows5_clamp)(d, ch, pl,
								      wp, R, o);
}
#endif

/* Channel c's filter and requantization; the route it takes. */
static int dwb_channel(const struct dwb *d, int32_t c, struct dwb_ch *ch)
{
	const int32_t K = d->k, C = d->c, half = K / 2;
	const int32_t bias = d->bias ? d->bias[c] : 0;
	/* K*K taps of |x + offset| <= 255 times |w| <= 128, plus a bias of at
	 * most this, stay below 2^30 in magnitude */
	const int32_t small_bias = (1 << 30) - 1 - K * K * 255 * 128;
	const int32_t m = d->mult[c], s = d->shift[c];
	const int32_t nlo = d->lo < 0 ? -d->lo : d->lo;
	int mode = DWB_GEN, dbl;

	if (s8_rq_fast(m, s) && m > 0 && bias >= -small_bias &&
	    bias <= small_bias) {
		if (d->lo + d->out_off == -128 && d->hi + d->out_off == 127)
			mode = DWB_FULL;
		else if (((int64_t)nlo << -s) < (1LL << 30))
			/* t + h stays in range (|t| < 2^29) */
			mode = DWB_CLAMP;
	}
	dbl = mode == DWB_GEN ? 1 : 2;
	for (int32_t t = 0; t < 15; t++)
		ch->wq[t] = 0;
	for (int32_t ky = 0; ky < K; ky++) {
		const int8_t *f = d->w + ky * K * C + c;
		int32_t *wq = ch->wq + 3 * ky;

		for (int32_t q = 0; q < half; q++)
			wq[q] = s8_pack16x2(dbl * f[2 * q * C],
					    dbl * f[(2 * q + 1) * C]);
		wq[2] = dbl * f[(K - 1) * C];
	}
	ch->b = (int32_t)((uint32_t)bias * (uint32_t)dbl);
	ch->m = m;
	ch->s = s;
	ch->e = mode == DWB_GEN ? 0 : -s;
	ch->h = 0;
	if (mode == DWB_FULL)
		ch->h = (1 << (-s - 1)) + (int32_t)((uint32_t)d->out_off << -s);
	else if (mode == DWB_CLAMP)
		ch->h = (1 << (-s - 1)) + (int32_t)((uint32_t)(-d->lo) << -s);
	return mode;
}

/* The whole layer; out may be in. */
static void dwb_run(const struct dwb *d, int8_t *out, const int8_t *in,
		    void *scratch)
{
	const int32_t K = d->k, W = d->wd, C = d->c, H = d->h;
	const int32_t wp = dwb_row_len(W, K), rows = dwb_rows_of(H, K);
	int16_t *const base = (int16_t *)scratch;
	int16_t *pl[4];

	for (int k = 0; k < 4; k++)
		pl[k] = base + k * rows * wp;
	/* the padding columns stay zero: conversions write the others */
	for (int32_t i = 0; i < 4 * rows * wp; i += 2)
		s8_write_s16x2(base + i, 0);
	for (int32_t c0 = 0; c0 < C; c0 += 4) {
		const int32_t nc = C - c0 < 4 ? C - c0 : 4;

		for (int32_t y0 = 0; y0 < H; y0 += DWB_ROWS) {
			const int32_t R = H - y0 < DWB_ROWS ? H - y0 : DWB_ROWS;
			int32_t j = 0;

			if (y0 > 0) {
				for (int32_t k = 0; k < nc; k++)
					for (int32_t i = 0; i < (K - 1) * wp;
					     i += 2)
						s8_write_s16x2(
						    pl[k] + i,
						    s8_read_s16x2(
							pl[k] + DWB_ROWS * wp +
							i));
				j = K - 1;
			}
			for (; j < R + K - 1; j++) {
				const int32_t iy = y0 - d->pad + j;

				if (iy >= 0 && iy < H) {
					dwb_convert(d, pl, wp,
						    in + iy * W * C + c0, nc,
						    j);
					continue;
				}
				for (int32_t k = 0; k < nc; k++)
					for (int32_t i = 0; i < wp; i += 2)
						s8_write_s16x2(
						    pl[k] + j * wp + i, 0);
			}
			for (int32_t k = 0; k < nc; k++) {
				struct dwb_ch ch;
				const int mode = dwb_channel(d, c0 + k, &ch);

				dwb_rows(d, &ch, pl[k], wp, R,
					 out + y0 * W * C + c0 + k, mode);
			}
		}
	}
}

int depthwise_band_s8_run(int8_t *out, const int8_t *in, const int8_t *w,
			  const int32_t *bias, const struct s8_conv_params *p,
			  const struct s8_per_channel *q,
			  const struct s8_dims *dims, int32_t k, void *scratch)
{
	struct dwb d;

	if (depthwise_band_s8_scratch_size(dims, k) == 0 || !scratch ||
	    ((uintptr_t)scratch & 3u) != 0 || p->stride != 1 ||
	    p->padding != k / 2)
		return 0;
	d.w = w;
	d.bias = bias;
	d.mult = q->multiplier;
	d.shift = q->shift;
	d.h = dims->h;
	d.wd = dims->w;
	d.c = dims->c;
	d.k = k;
	d.pad = k / 2;
	d.in_off = p->input_offset;
	d.out_off = p->output_offset;
	d.lo = p->act_min - p->output_offset;
	d.hi = p->act_max - p->output_offset;
	dwb_run(&d, out, in, scratch);
	return 1;
}
#else
int depthwise_band_s8_run(int8_t *out, const int8_t *in, const int8_t *w,
			  const int32_t *bias, const struct s8_conv_params *p,
			  const struct s8_per_channel *q,
			  const struct s8_dims *dims, int32_t k, void *scratch)
{
	(void)out;
	(void)in;
	(void)w;
	(void)bias;
	(void)p;
	(void)q;
	(void)dims;
	(void)k;
	(void)scratch;
	return 0; /* portable builds: the ring route */
}
#endif
