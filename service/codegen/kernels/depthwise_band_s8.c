/* SPDX-License-Identifier: Apache-2.0 */
/* depthwise_band_s8.c - the band route of the int8 depthwise kernels
 * (depthwise_conv2d_s8 and depthwise_conv2d_inplace_s8 take it when it
 * applies): DSP builds, K = 3 or 5, stride 1 or 2 (in place: 1), padding
 * K/2. For a quad of channels, the input rows a band of output rows reads
 * become int16 planes, one per channel, of x + input offset with zero
 * padding around (rows of wp halfwords, in a ring of plane rows), so that
 * every output is interior and a channel's taps kx, kx+1 are one word: two
 * outputs of a filter row take K loads and K + 1 SMLAD/SMLAxB at stride 1,
 * 3 loads and 4 (K = 3) or 4 loads and 6 (K = 5) at stride 2. Each input
 * row is converted once per quad, into the slot of the ring that the rows
 * no output reads any more free, before any output row that overwrites it
 * (in place) is written. Accumulators of a group of rows are computed
 * first, then requantized, with the activation table of p->lut applied
 * (with the loops in assembly on GCC/Thumb-2 builds). */
#include "kernels.h"
#include "requant.h"

#define DWB_ROWS   16	/* output rows per band, at most */
#define DWB_ACC	   256	/* accumulators per pass (on the stack) */
#define DWB_MAX_W  256	/* output width: a row of pairs fits DWB_ACC */
#define DWB_BUDGET 2048 /* out of place: plane bytes beyond K rows' */
/* plane rows a band reads, at most: 2 (DWB_ROWS - 1) + 5 */
#define DWB_LIST (2 * (DWB_ROWS - 1) + 5)

/* The geometry of the planes: halfwords per plane row, output rows per
 * band, plane rows in the ring. */
struct dwb_geom {
	int32_t wp, rows, ring;
};

/* The one place where the band route's shape is decided; returns its
 * scratch bytes (4 planes of ring rows of wp halfwords), 0 where it does
 * not apply. A row of P = ceil(W_out / 2) pairs reads plane columns up to
 * s (2P - 1) + K - 1, then the word there: wp = s (2P - 1) + K made even
 * (the columns past the input's are padding, zero). A band of R output
 * rows reads s (R - 1) + K plane rows. In place (stride 1): R = min(H,
 * DWB_ROWS), and only where the planes are no larger than the ring of the
 * plain route or a quarter of the map. Out of place: the largest R <=
 * min(H_out, DWB_ROWS) whose planes fit max(K rows, DWB_BUDGET bytes), so
 * the scratch stays small next to the layer's tensors. */
static int32_t dwb_geometry(const struct s8_dims *in, const struct s8_dims *out,
			    int32_t k, int32_t s, int32_t pad, int inplace,
			    struct dwb_geom *g)
{
	int32_t pairs, row, budget, r;

	if ((k != 3 && k != 5) || pad != k / 2 || s < 1 || s > 2 ||
	    (inplace && s != 1) || in->h < 1 || in->w < 1 || in->c < 1 ||
	    out->c != in->c || out->h != (in->h - 1) / s + 1 ||
	    out->w != (in->w - 1) / s + 1 || out->w > DWB_MAX_W)
		return 0;
	pairs = (out->w + 1) / 2;
	g->wp = (s * (2 * pairs - 1) + k + 1) & ~1;
	row = 4 * g->wp * (int32_t)sizeof(int16_t); /* one row of 4 planes */
	r = out->h < DWB_ROWS ? out->h : DWB_ROWS;
	if (inplace) {
		const int32_t ring = (k / 2 + 1) * in->w * in->c;
		const int32_t quarter = in->h * in->w * in->c / 4;

		g->rows = r;
		g->ring = r + k - 1;
		if (g->ring * row > ring && g->ring * row > quarter)
			return 0;
		return g->ring * row;
	}
	budget = k * row > DWB_BUDGET ? k * row : DWB_BUDGET;
	g->rows = 1;
	while (g->rows < r && (s * g->rows + k) * row <= budget)
		g->rows++;
	g->ring = s * (g->rows - 1) + k;
	return g->ring * row;
}

int32_t depthwise_band_s8_scratch_size(const struct s8_dims *in_dims,
				       const struct s8_dims *out_dims,
				       int32_t k, int32_t stride,
				       int32_t padding, int inplace)
{
	struct dwb_geom g;

	return dwb_geometry(in_dims, out_dims, k, stride, padding, inplace,
			    &g);
}

#if S8_DSP
/* GCC / Thumb-2 optimized builds have the loops in assembly (C would
 * spill: they need the 14 allocatable registers, -O0 keeps a frame
 * pointer); other compilers and the host's emulated DSP the C below. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP &&                         \
    !defined(S8_DSP_EMULATE) && defined(__GNUC__) && defined(__thumb2__) &&    \
    defined(__OPTIMIZE__)
#define DWB_ASM 1
#else
#define DWB_ASM 0
#endif

enum dwb_mode { DWB_FULL, DWB_CLAMP, DWB_GEN };

struct dwb {
	const int8_t *w; /* (K, K, C) */
	const int32_t *bias, *mult, *shift;
	const int8_t *lut; /* NULL, or the table + 128 */
	int32_t h, wd, ho, wo, c, k, s, pad, in_off, out_off, lo, hi;
};

/* One channel's filter (per filter row: the pairs (w0, w1), (w2, w3) (0
 * for K = 3) then w_{K-1}), doubled on the fast routes, and its
 * requantization. */
struct dwb_ch {
	int32_t wq[15];
	int32_t b, m, s, e, h;
};

/* Input row src (channels c0 .. c0+nc-1) into plane row at of pl. */
static void dwb_convert(const struct dwb *d, int16_t *const pl[4], int32_t at,
			const int8_t *src, int32_t nc)
{
	const int32_t C = d->c, W = d->wd;
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
#if DWB_ASM
	if (W >= 2) {
		/* two pixels a turn: (x0, x2), (x1, x3) of each, paired by
		 * channel, one word per plane */
		int32_t n = W >> 1, u, v, t0, t1, t2;

		__asm__ volatile(
		    "1:\n\t"
		    "ldr %[u], [%[src]]\n\t"
		    "ldr %[v], [%[src], %[C]]\n\t"
		    "add %[src], %[src], %[C], lsl #1\n\t"
		    "sxtab16 %[t0], %[o2], %[u]\n\t"
		    "sxtab16 %[u], %[o2], %[u], ror #8\n\t"
		    "sxtab16 %[t1], %[o2], %[v]\n\t"
		    "sxtab16 %[v], %[o2], %[v], ror #8\n\t"
		    "pkhbt %[t2], %[t0], %[t1], lsl #16\n\t"
		    "str %[t2], [%[q0]], #4\n\t"
		    "pkhtb %[t0], %[t1], %[t0], asr #16\n\t"
		    "str %[t0], [%[q2]], #4\n\t"
		    "pkhbt %[t2], %[u], %[v], lsl #16\n\t"
		    "str %[t2], [%[q1]], #4\n\t"
		    "pkhtb %[u], %[v], %[u], asr #16\n\t"
		    "str %[u], [%[q3]], #4\n\t"
		    "subs %[n], %[n], #1\n\t"
		    "bne 1b"
		    : [src] "+r"(src), [q0] "+r"(q0), [q1] "+r"(q1),
		      [q2] "+r"(q2), [q3] "+r"(q3), [n] "+r"(n), [u] "=&r"(u),
		      [v] "=&r"(v), [t0] "=&r"(t0), [t1] "=&r"(t1),
		      [t2] "=&r"(t2)
		    : [C] "r"(C), [o2] "r"(off2)
		    : "cc", "memory");
		x = W & ~1;
		q0 -= x;
		q1 -= x;
		q2 -= x;
		q3 -= x;
	}
#endif
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
 * as in pointwise_conv2d_s8.c's pw_fast) or acc (DWB_GEN), then the table
 * when there is one. DWB_CLAMP: h has the output offset minus act_min
 * folded in, so the shift gives u = v - act_min, and min(max(u, 0), R) +
 * act_min with R = act_max - act_min is act_max - usat(R - usat(u)). */
S8_INLINE int8_t dwb_out(int32_t a, const struct dwb_ch *ch, int32_t R,
			 int32_t amax, const struct dwb *d, const int mode)
{
	int32_t v;

	if (mode == DWB_GEN) {
		v = s8_requantize_out(a, ch->m, ch->s, d->out_off, d->lo,
				      d->hi);
	} else {
		// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
		v = (s8_smmlar(a, ch->m, ch->h) + (a >> 31)) >> ch->e;
		if (mode == DWB_FULL)
			v = s8_ssat8(v);
		else
			v = amax - s8_usat8(R - s8_usat8(v));
	}
	return d->lut ? d->lut[v] : (int8_t)v;
}

#if DWB_ASM
/* ---- GCC / Thumb-2: the loops in assembly ------------------------------
 * (the row bookkeeping lives in memory operands, so the functions are kept
 * out of line, where those are plain stack slots) */

/* clang-format off */
/* The start of a row of outputs: K plane row pointers from the list (in
 * memory), which then moves on by S rows; n = pairs. */
#define DWB_ASM_LIST3(S)                                                       \
	"ldr %[t], %[rl]\n\t"                                                  \
	"ldr %[r0], [%[t]]\n\t"                                                \
	"ldr %[r1], [%[t], #4]\n\t"                                            \
	"ldr %[r2], [%[t], #8]\n\t"                                            \
	"add %[t], %[t], #4*" S "\n\t"                                         \
	"str %[t], %[rl]\n\t"                                                  \
	"ldr %[n], %[pairs]\n\t"

#define DWB_ASM_LIST5(S)                                                       \
	"ldr %[t], %[rl]\n\t"                                                  \
	"ldr %[r0], [%[t]]\n\t"                                                \
	"ldr %[r1], [%[t], #4]\n\t"                                            \
	"ldr %[r2], [%[t], #8]\n\t"                                            \
	"ldr %[r3], [%[t], #12]\n\t"                                           \
	"ldr %[r4], [%[t], #16]\n\t"                                           \
	"add %[t], %[t], #4*" S "\n\t"                                         \
	"str %[t], %[rl]\n\t"                                                  \
	"ldr %[n], %[pairs]\n\t"

/* The end of a pair, of a row, of the rows. */
#define DWB_ASM_TAIL                                                           \
	"strd %[a0], %[a1], [%[acc]], #8\n\t"                                  \
	"subs %[n], %[n], #1\n\t"                                              \
	"bne 1b\n\t"                                                           \
	"ldr %[t], %[rows]\n\t"                                                \
	"subs %[t], %[t], #1\n\t"                                              \
	"str %[t], %[rows]\n\t"                                                \
	"bne 2b"

/* K = 3, stride 1, one filter row of a pair: plane row pointer rp
 * (advanced by one pair), pair weight wp_, last tap wl. */
#define DWB_ASM_ROW3S1(rp, wp_, wl)                                            \
	"ldr %[t], [%[" rp "]], #4\n\t"                                        \
	"smlad %[a0], %[t], %[" wp_ "], %[a0]\n\t"                             \
	"ldr %[t], [%[" rp "], #-2]\n\t"                                       \
	"smlad %[a1], %[t], %[" wp_ "], %[a1]\n\t"                             \
	"ldr %[t], [%[" rp "]]\n\t"                                            \
	"smlabb %[a0], %[t], %[" wl "], %[a0]\n\t"                             \
	"smlatb %[a1], %[t], %[" wl "], %[a1]\n\t"

/* K = 3, stride 2: columns 4j .. 4j+4 are L0, L1, L2; a0 = L0 . p +
 * L1.lo l, a1 = L1 . p + L2.lo l. */
#define DWB_ASM_ROW3S2(rp, wp_, wl)                                            \
	"ldr %[t], [%[" rp "]], #8\n\t"                                        \
	"smlad %[a0], %[t], %[" wp_ "], %[a0]\n\t"                             \
	"ldr %[t], [%[" rp "], #-4]\n\t"                                       \
	"smlad %[a1], %[t], %[" wp_ "], %[a1]\n\t"                             \
	"smlabb %[a0], %[t], %[" wl "], %[a0]\n\t"                             \
	"ldr %[t], [%[" rp "]]\n\t"                                            \
	"smlabb %[a1], %[t], %[" wl "], %[a1]\n\t"

/* K = 3, weights in registers: rows of `pairs` pairs of accumulators, row
 * i from the plane rows rl[S i], rl[S i + 1], rl[S i + 2]. */
#define DWB_ACC3_ASM(name, S, ROW)                                             \
	__attribute__((noinline)) static void name(                            \
	    const int16_t *const *rl, const int32_t *w, int32_t b,             \
	    int32_t *acc, int32_t pairs, int32_t rows)                         \
	{                                                                      \
		const int32_t w0 = w[0], w1 = w[2], w2 = w[3], w3 = w[5];      \
		const int32_t w4 = w[6], w5 = w[8];                            \
		const int16_t *r0, *r1, *r2;                                   \
		int32_t n, a0, a1, t;                                          \
                                                                               \
		__asm__ volatile(                                              \
		    "2:\n\t"                                                   \
		    DWB_ASM_LIST3(S)                                           \
		    "1:\n\t"                                                   \
		    "ldr %[a0], %[b]\n\t"                                      \
		    "mov %[a1], %[a0]\n\t"                                     \
		    ROW("r0", "w0", "w1")                                      \
		    ROW("r1", "w2", "w3")                                      \
		    ROW("r2", "w4", "w5")                                      \
		    DWB_ASM_TAIL                                               \
		    : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2),          \
		      [acc] "+r"(acc), [n] "=&r"(n), [a0] "=&r"(a0),           \
		      [a1] "=&r"(a1), [t] "=&r"(t), [rows] "+m"(rows),         \
		      [rl] "+m"(rl)                                            \
		    : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [w3] "r"(w3),  \
		      [w4] "r"(w4), [w5] "r"(w5), [b] "m"(b),                  \
		      [pairs] "m"(pairs)                                       \
		    : "cc", "memory");                                         \
	}

DWB_ACC3_ASM(dwb_acc3s1_asm, "1", DWB_ASM_ROW3S1)
DWB_ACC3_ASM(dwb_acc3s2_asm, "2", DWB_ASM_ROW3S2)

/* K = 5, stride 1: a filter row's weights loaded per row of the filter. */
#define DWB_ASM_ROW5S1(rp, off)                                                \
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

/* K = 5, stride 2: columns 4j .. 4j+6 are L0 .. L3; a0 = L0 . p0 + L1 .
 * p1 + L2.lo l, a1 = L1 . p0 + L2 . p1 + L3.lo l. */
#define DWB_ASM_ROW5S2(rp, off)                                                \
	"ldrd %[p0], %[p1], [%[w], #" off "]\n\t"                              \
	"ldr %[t], [%[" rp "]], #8\n\t"                                        \
	"smlad %[a0], %[t], %[p0], %[a0]\n\t"                                  \
	"ldr %[t], [%[" rp "], #-4]\n\t"                                       \
	"smlad %[a0], %[t], %[p1], %[a0]\n\t"                                  \
	"smlad %[a1], %[t], %[p0], %[a1]\n\t"                                  \
	"ldr %[t], [%[" rp "]]\n\t"                                            \
	"smlad %[a1], %[t], %[p1], %[a1]\n\t"                                  \
	"ldr %[p0], [%[w], #" off "+8]\n\t"                                    \
	"smlabb %[a0], %[t], %[p0], %[a0]\n\t"                                 \
	"ldr %[t], [%[" rp "], #4]\n\t"                                        \
	"smlabb %[a1], %[t], %[p0], %[a1]\n\t"

#define DWB_ACC5_ASM(name, S, ROW)                                             \
	__attribute__((noinline)) static void name(                            \
	    const int16_t *const *rl, const int32_t *w, int32_t b,             \
	    int32_t *acc, int32_t pairs, int32_t rows)                         \
	{                                                                      \
		const int16_t *r0, *r1, *r2, *r3, *r4;                         \
		int32_t n, a0, a1, t, p0, p1;                                  \
                                                                               \
		__asm__ volatile(                                              \
		    "2:\n\t"                                                   \
		    DWB_ASM_LIST5(S)                                           \
		    "1:\n\t"                                                   \
		    "ldr %[a0], %[b]\n\t"                                      \
		    "mov %[a1], %[a0]\n\t"                                     \
		    ROW("r0", "0") ROW("r1", "12") ROW("r2", "24")             \
		    ROW("r3", "36") ROW("r4", "48")                            \
		    DWB_ASM_TAIL                                               \
		    : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2),          \
		      [r3] "=&r"(r3), [r4] "=&r"(r4), [acc] "+r"(acc),         \
		      [n] "=&r"(n), [a0] "=&r"(a0), [a1] "=&r"(a1),            \
		      [t] "=&r"(t), [p0] "=&r"(p0), [p1] "=&r"(p1),            \
		      [rows] "+m"(rows), [rl] "+m"(rl)                         \
		    : [w] "r"(w), [b] "m"(b), [pairs] "m"(pairs)               \
		    : "cc", "memory");                                         \
	}

DWB_ACC5_ASM(dwb_acc5s1_asm, "1", DWB_ASM_ROW5S1)
DWB_ACC5_ASM(dwb_acc5s2_asm, "2", DWB_ASM_ROW5S2)

/* One requantized output from accumulator register a (dwb_out's fast
 * routes), into t: full range, clamped, full range through the table. */
#define DWB_ASM_OUT_Q(a)                                                       \
	"smmlar %[t], %[" a "], %[m], %[h]\n\t"                                \
	"add %[t], %[t], %[" a "], asr #31\n\t"                                \
	"asr %[t], %[t], %[e]\n\t"
#define DWB_ASM_OUT_FULL(a) DWB_ASM_OUT_Q(a) "ssat %[t], #8, %[t]\n\t"
#define DWB_ASM_OUT_CLAMP(a)                                                   \
	DWB_ASM_OUT_Q(a)                                                       \
	"usat %[t], #8, %[t]\n\t"                                              \
	"sub %[t], %[R], %[t]\n\t"                                             \
	"usat %[t], #8, %[t]\n\t"                                              \
	"sub %[t], %[amax], %[t]\n\t"
#define DWB_ASM_OUT_LUT(a)                                                     \
	DWB_ASM_OUT_FULL(a) "ldrsb %[t], [%[lut], %[t]]\n\t"

/* rows rows of W = 2 * pairs + odd outputs from rows of 2 * ceil(W / 2)
 * accumulators, to o, o + C, ... (output rows are contiguous). */
#define DWB_ASM_REQ(OUT)                                                       \
	"2:\n\t"                                                               \
	"ldr %[n], %[pairs]\n\t"                                               \
	"cmp %[n], #0\n\t"                                                     \
	"beq 3f\n\t"                                                           \
	"1:\n\t"                                                               \
	"ldrd %[a0], %[a1], [%[acc]], #8\n\t"                                  \
	OUT("a0")                                                              \
	"strb %[t], [%[o]]\n\t"                                                \
	OUT("a1")                                                              \
	"strb %[t], [%[o], %[C]]\n\t"                                          \
	"add %[o], %[o], %[C], lsl #1\n\t"                                     \
	"subs %[n], %[n], #1\n\t"                                              \
	"bne 1b\n\t"                                                           \
	"3:\n\t"                                                               \
	"ldr %[t], %[odd]\n\t"                                                 \
	"cmp %[t], #0\n\t"                                                     \
	"beq 4f\n\t"                                                           \
	"ldr %[a0], [%[acc]], #8\n\t"                                          \
	OUT("a0")                                                              \
	"strb %[t], [%[o]]\n\t"                                                \
	"add %[o], %[o], %[C]\n\t"                                             \
	"4:\n\t"                                                               \
	"subs %[rows], %[rows], #1\n\t"                                        \
	"bne 2b"
/* clang-format on */

/* mode DWB_FULL or DWB_CLAMP, no table with DWB_CLAMP */
__attribute__((noinline)) static void
dwb_req_asm(const int32_t *acc, int8_t *o, int32_t C, int32_t pairs,
	    int32_t odd, int32_t rows, const struct dwb_ch *ch, int32_t R,
	    int32_t amax, const int8_t *lut, int full)
{
	const int32_t m = ch->m, h = ch->h, e = ch->e;
	int32_t n, a0, a1, t;

	if (full && lut)
		__asm__ volatile(
		    DWB_ASM_REQ(DWB_ASM_OUT_LUT)
		    : [acc] "+r"(acc), [o] "+r"(o), [rows] "+r"(rows),
		      [n] "=&r"(n), [a0] "=&r"(a0), [a1] "=&r"(a1), [t] "=&r"(t)
		    : [C] "r"(C), [m] "r"(m), [h] "r"(h), [e] "r"(e),
		      [lut] "r"(lut), [pairs] "m"(pairs), [odd] "m"(odd)
		    : "cc", "memory");
	else if (full)
		__asm__ volatile(
		    DWB_ASM_REQ(DWB_ASM_OUT_FULL)
		    : [acc] "+r"(acc), [o] "+r"(o), [rows] "+r"(rows),
		      [n] "=&r"(n), [a0] "=&r"(a0), [a1] "=&r"(a1), [t] "=&r"(t)
		    : [C] "r"(C), [m] "r"(m), [h] "r"(h), [e] "r"(e),
		      [pairs] "m"(pairs), [odd] "m"(odd)
		    : "cc", "memory");
	else
		__asm__ volatile(
		    DWB_ASM_REQ(DWB_ASM_OUT_CLAMP)
		    : [acc] "+r"(acc), [o] "+r"(o), [rows] "+r"(rows),
		      [n] "=&r"(n), [a0] "=&r"(a0), [a1] "=&r"(a1), [t] "=&r"(t)
		    : [C] "r"(C), [m] "r"(m), [h] "r"(h), [e] "r"(e),
		      [R] "r"(R), [amax] "r"(amax), [pairs] "m"(pairs),
		      [odd] "m"(odd)
		    : "cc", "memory");
}

/* R output rows of one channel, row i from the plane rows rl[s i] ..
 * rl[s i + K - 1]; o: the channel's byte of the band's first output
 * pixel. */
static void dwb_rows(const struct dwb *d, const struct dwb_ch *ch,
		     const int16_t *const *rl, int32_t R, int8_t *o, int mode)
{
	const int32_t W = d->wo, C = d->c, P = (W + 1) / 2;
	const int32_t g = DWB_ACC / (2 * P);
	const int32_t amax = d->hi + d->out_off, span = d->hi - d->lo;
	int32_t acc[DWB_ACC];

	for (int32_t y = 0; y < R; y += g) {
		const int32_t rows = R - y < g ? R - y : g;
		const int16_t *const *ry = rl + d->s * y;
		int8_t *op = o + y * W * C;

		if (d->k == 3)
			(d->s == 1 ? dwb_acc3s1_asm : dwb_acc3s2_asm)(
			    ry, ch->wq, ch->b, acc, P, rows);
		else
			(d->s == 1 ? dwb_acc5s1_asm : dwb_acc5s2_asm)(
			    ry, ch->wq, ch->b, acc, P, rows);
		if (mode == DWB_FULL || (mode == DWB_CLAMP && !d->lut)) {
			dwb_req_asm(acc, op, C, W >> 1, W & 1, rows, ch, span,
				    amax, d->lut, mode == DWB_FULL);
			continue;
		}
		for (int32_t i = 0; i < rows; i++)
			for (int32_t x = 0; x < W; x++)
				op[(i * W + x) * C] =
				    mode == DWB_GEN
					? dwb_out(acc[i * 2 * P + x], ch, span,
						  amax, d, DWB_GEN)
					: dwb_out(acc[i * 2 * P + x], ch, span,
						  amax, d, DWB_CLAMP);
	}
}
#else
/* ---- other compilers and the host's emulated DSP: the loops in C ------- */

/* One filter row (pairs p0, p1, last tap l) at plane row rr for the outputs
 * at columns rr (*a0) and rr + S (*a1). */
S8_INLINE void dwb_frow(const int16_t *rr, int32_t p0, int32_t p1, int32_t l,
			int32_t *a0, int32_t *a1, const int K, const int S)
{
	int32_t x0 = *a0, x1 = *a1;

	x0 = s8_smlad(s8_read_s16x2(rr), p0, x0);
	x1 = s8_smlad(s8_read_s16x2(rr + S), p0, x1);
	if (K == 5) {
		x0 = s8_smlad(s8_read_s16x2(rr + 2), p1, x0);
		x1 = s8_smlad(s8_read_s16x2(rr + S + 2), p1, x1);
	}
	if (S == 1) {
		const int32_t t = s8_read_s16x2(rr + K - 1);

		*a0 = s8_smlabb(t, l, x0);
		*a1 = s8_smlatb(t, l, x1);
	} else {
		*a0 = s8_smlabb(s8_read_s16x2(rr + K - 1), l, x0);
		*a1 = s8_smlabb(s8_read_s16x2(rr + S + K - 1), l, x1);
	}
}

/* Filter row ky of the copy w (pairs and last tap). */
#define DWB_W(ky) w[3 * (ky)], w[3 * (ky) + 1], w[3 * (ky) + 2]

/* R output rows of one channel, row i from the plane rows rl[S i] ..
 * rl[S i + K - 1]; o: the channel's byte of the band's first output pixel.
 * Pairs of outputs, an odd row ending with a pair whose second output (on
 * the padding) is not stored. */
S8_INLINE void dwb_rows_k(const struct dwb *d, const struct dwb_ch *ch,
			  const int16_t *const *rl, int32_t R, int8_t *o,
			  const int K, const int S, const int mode)
{
	const int32_t W = d->wo, C = d->c;
	const int32_t amax = d->hi + d->out_off, span = d->hi - d->lo;
	/* locals: the int8 stores below may alias *ch and *d */
	const struct dwb_ch c = *ch;
	const int32_t *const w = c.wq;

	for (int32_t y = 0; y < R; y++, rl += S, o += W * C) {
		int8_t *op = o;

		for (int32_t x = 0; x < W; x += 2, op += 2 * C) {
			const int32_t at = S * x;
			int32_t a0 = c.b, a1 = a0;
			int8_t v0, v1;

			dwb_frow(rl[0] + at, DWB_W(0), &a0, &a1, K, S);
			dwb_frow(rl[1] + at, DWB_W(1), &a0, &a1, K, S);
			dwb_frow(rl[2] + at, DWB_W(2), &a0, &a1, K, S);
			if (K == 5) {
				dwb_frow(rl[3] + at, DWB_W(3), &a0, &a1, K, S);
				dwb_frow(rl[4] + at, DWB_W(4), &a0, &a1, K, S);
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

/* The specializations (K, stride and mode constants after inlining). */
#define DWB_ROWS_FN(K, S, MODE)                                                \
	static void dwb_rows_##K##_##S##_##MODE(                               \
	    const struct dwb *d, const struct dwb_ch *ch,                      \
	    const int16_t *const *rl, int32_t R, int8_t *o)                    \
	{                                                                      \
		dwb_rows_k(d, ch, rl, R, o, K, S, DWB_##MODE);                 \
	}
#define DWB_ROWS_FNS(K, S)                                                     \
	DWB_ROWS_FN(K, S, FULL) DWB_ROWS_FN(K, S, CLAMP) DWB_ROWS_FN(K, S, GEN)
DWB_ROWS_FNS(3, 1)
DWB_ROWS_FNS(3, 2)
DWB_ROWS_FNS(5, 1)
DWB_ROWS_FNS(5, 2)
#undef DWB_ROWS_FNS
#undef DWB_ROWS_FN

typedef void (*dwb_rows_fn)(const struct dwb *, const struct dwb_ch *,
			    const int16_t *const *, int32_t, int8_t *);

static void dwb_rows(const struct dwb *d, const struct dwb_ch *ch,
		     const int16_t *const *rl, int32_t R, int8_t *o, int mode)
{
	/* by 6 (K == 5) + 3 (stride 2) + mode */
	static const dwb_rows_fn fns[12] = {
	    dwb_rows_3_1_FULL, dwb_rows_3_1_CLAMP, dwb_rows_3_1_GEN,
	    dwb_rows_3_2_FULL, dwb_rows_3_2_CLAMP, dwb_rows_3_2_GEN,
	    dwb_rows_5_1_FULL, dwb_rows_5_1_CLAMP, dwb_rows_5_1_GEN,
	    dwb_rows_5_2_FULL, dwb_rows_5_2_CLAMP, dwb_rows_5_2_GEN};

	fns[6 * (d->k == 5) + 3 * (d->s == 2) + mode](d, ch, rl, R, o);
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

/* The whole layer; out may be in (stride 1). Input row iy (from -pad) lives
 * in ring slot (iy + pad) % ring; rows above and below the map are zero
 * rows. */
static void dwb_run(const struct dwb *d, const struct dwb_geom *g,
		    int8_t *out, const int8_t *in, void *scratch)
{
	const int32_t K = d->k, S = d->s, C = d->c, wp = g->wp;
	const int32_t nr = g->ring;
	int16_t *const base = (int16_t *)scratch;
	int16_t *pl[4];

	for (int k = 0; k < 4; k++)
		pl[k] = base + k * nr * wp;
	/* the padding columns stay zero: conversions write the others */
	for (int32_t i = 0; i < 4 * nr * wp; i += 2)
		s8_write_s16x2(base + i, 0);
	for (int32_t c0 = 0; c0 < C; c0 += 4) {
		const int32_t nc = C - c0 < 4 ? C - c0 : 4;
		struct dwb_ch ch[4];
		int32_t off[DWB_LIST];
		int mode[4];
		/* the next input row to convert, and its slot */
		int32_t next = -d->pad, slot = 0;

		for (int32_t k = 0; k < nc; k++)
			mode[k] = dwb_channel(d, c0 + k, &ch[k]);
		for (int32_t y0 = 0; y0 < d->ho; y0 += g->rows) {
			const int32_t R =
			    d->ho - y0 < g->rows ? d->ho - y0 : g->rows;
			const int32_t first = S * y0 - d->pad;
			const int32_t n = S * (R - 1) + K;

			for (; next < first + n; next++) {
				const int32_t at = slot * wp;

				slot = slot + 1 == nr ? 0 : slot + 1;

				if (next >= 0 && next < d->h) {
					dwb_convert(d, pl, at + d->pad,
						    in + next * d->wd * C + c0,
						    nc);
					continue;
				}
				for (int32_t k = 0; k < nc; k++)
					for (int32_t i = 0; i < wp; i += 2)
						s8_write_s16x2(pl[k] + at + i,
							       0);
			}
			/* the band's plane rows: offsets in plane 0, then
			 * the pointers of plane k */
			for (int32_t j = 0, at = (first + d->pad) % nr; j < n;
			     j++) {
				off[j] = at * wp;
				at = at + 1 == nr ? 0 : at + 1;
			}
			for (int32_t k = 0; k < nc; k++) {
				const int16_t *rl[DWB_LIST];

				for (int32_t j = 0; j < n; j++)
					rl[j] = pl[k] + off[j];
				dwb_rows(d, &ch[k], rl, R,
					 out + y0 * d->wo * C + c0 + k,
					 mode[k]);
			}
		}
	}
}
#endif

int depthwise_band_s8_run(int8_t *out, const int8_t *in, const int8_t *w,
			  const int32_t *bias, const struct s8_conv_params *p,
			  const struct s8_per_channel *q,
			  const struct s8_dims *in_dims,
			  const struct s8_dims *out_dims, int32_t k,
			  void *scratch, int inplace)
{
#if S8_DSP
	struct dwb d;
	struct dwb_geom g;

	if (dwb_geometry(in_dims, out_dims, k, p->stride, p->padding,
			 inplace, &g) == 0 ||
	    !scratch || ((uintptr_t)scratch & 3u) != 0)
		return 0;
	d.w = w;
	d.bias = bias;
	d.mult = q->multiplier;
	d.shift = q->shift;
	d.lut = p->lut ? p->lut + 128 : NULL;
	d.h = in_dims->h;
	d.wd = in_dims->w;
	d.ho = out_dims->h;
	d.wo = out_dims->w;
	d.c = in_dims->c;
	d.k = k;
	d.s = p->stride;
	d.pad = k / 2;
	d.in_off = p->input_offset;
	d.out_off = p->output_offset;
	d.lo = p->act_min - p->output_offset;
	d.hi = p->act_max - p->output_offset;
	dwb_run(&d, &g, out, in, scratch);
	return 1;
#else
	(void)out;
	(void)in;
	(void)w;
	(void)bias;
	(void)p;
	(void)q;
	(void)in_dims;
	(void)out_dims;
	(void)k;
	(void)scratch;
	(void)inplace;
	return 0; /* portable builds: the plain loops */
#endif
}
