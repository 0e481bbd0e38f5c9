/* SPDX-License-Identifier: Apache-2.0 */
/* dsp.h - the Armv7E-M DSP instructions the int8 kernels use, one name each:
 * ACLE intrinsics (and inline assembly for the rotated extends GCC's
 * arm_acle.h lacks) when __ARM_FEATURE_DSP is defined, exact portable C
 * definitions when S8_DSP_EMULATE is defined (host tests of the DSP code
 * paths), nothing otherwise (S8_DSP is 0 and the kernels use plain C).
 *
 * Halfword lanes: lo = bits 0..15, hi = bits 16..31; little-endian only. */
#ifndef S8_DSP_H
#define S8_DSP_H

#include <stdint.h>

#if defined(S8_DSP_EMULATE)
#define S8_DSP 1

static inline int32_t s8_lo16(int32_t x)
{
	return (int16_t)(uint16_t)((uint32_t)x & 0xffffu);
}

static inline int32_t s8_hi16(int32_t x)
{
	return (int16_t)(uint16_t)((uint32_t)x >> 16);
}

static inline int32_t s8_pack16(int32_t lo, int32_t hi)
{
	return (int32_t)(((uint32_t)hi << 16) | ((uint32_t)lo & 0xffffu));
}

static inline int32_t s8_ror8(int32_t x)
{
	return (int32_t)(((uint32_t)x >> 8) | ((uint32_t)x << 24));
}

/* SXTB16: sign-extend bytes 0 and 2 into the two halfwords. */
static inline int32_t s8_sxtb16(int32_t x)
{
	return s8_pack16((int8_t)(uint8_t)((uint32_t)x & 0xffu),
			 (int8_t)(uint8_t)(((uint32_t)x >> 16) & 0xffu));
}

/* SXTB16 Rd, Rm, ROR #8: bytes 1 and 3. */
static inline int32_t s8_sxtb16_ror8(int32_t x)
{
	return s8_sxtb16(s8_ror8(x));
}

/* SXTAB16: a's halfwords plus bytes 0 and 2 of x, each modulo 2^16. */
static inline int32_t s8_sxtab16(int32_t a, int32_t x)
{
	int32_t e = s8_sxtb16(x);

	return s8_pack16(s8_lo16(a) + s8_lo16(e), s8_hi16(a) + s8_hi16(e));
}

static inline int32_t s8_sxtab16_ror8(int32_t a, int32_t x)
{
	return s8_sxtab16(a, s8_ror8(x));
}

/* SMLAD: acc + lo*lo + hi*hi, modulo 2^32 (the Q flag is not modelled). */
static inline int32_t s8_smlad(int32_t a, int32_t b, int32_t acc)
{
	uint32_t r = (uint32_t)acc + (uint32_t)(s8_lo16(a) * s8_lo16(b)) +
		     (uint32_t)(s8_hi16(a) * s8_hi16(b));
	return (int32_t)r;
}

static inline int32_t s8_smlabb(int32_t a, int32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)(s8_lo16(a) * s8_lo16(b)));
}

/* SMLATB: acc + hi(a) * lo(b). */
static inline int32_t s8_smlatb(int32_t a, int32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)(s8_hi16(a) * s8_lo16(b)));
}

static inline int32_t s8_smlatt(int32_t a, int32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)(s8_hi16(a) * s8_hi16(b)));
}

/* SMMULR: (a * b + 2^31) >> 32, the rounded high word of the product. */
static inline int32_t s8_smmulr(int32_t a, int32_t b)
{
	return (int32_t)(((int64_t)a * b + 0x80000000LL) >> 32);
}

/* SMMLAR: acc + SMMULR(a, b), modulo 2^32. */
static inline int32_t s8_smmlar(int32_t a, int32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)s8_smmulr(a, b));
}

/* SADD16: halfword-wise a + b, each modulo 2^16. */
static inline int32_t s8_sadd16(int32_t a, int32_t b)
{
	return s8_pack16(s8_lo16(a) + s8_lo16(b), s8_hi16(a) + s8_hi16(b));
}

/* SSAT #8: x saturated to [-128, 127]. */
static inline int32_t s8_ssat8(int32_t x)
{
	return x < -128 ? -128 : (x > 127 ? 127 : x);
}

/* PKHBT a, b, LSL #16: (lo(a), lo(b)); PKHTB b, a, ASR #16: (hi(a),
 * hi(b)). */
static inline int32_t s8_pkhbt16(int32_t a, int32_t b)
{
	return s8_pack16(s8_lo16(a), s8_lo16(b));
}

static inline int32_t s8_pkhtb16(int32_t a, int32_t b)
{
	return s8_pack16(s8_hi16(a), s8_hi16(b));
}

/* USAT #8: x saturated to [0, 255]. */
static inline int32_t s8_usat8(int32_t x)
{
	return x < 0 ? 0 : (x > 255 ? 255 : x);
}

/* QADD: a + b saturated to the int32 range. */
static inline int32_t s8_qadd(int32_t a, int32_t b)
{
	const int64_t r = (int64_t)a + b;

	return r > INT32_MAX ? INT32_MAX
			     : (r < INT32_MIN ? INT32_MIN : (int32_t)r);
}

#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define S8_DSP 1
#include <arm_acle.h>

#define s8_sxtb16(x)	     ((int32_t)__sxtb16(x))
#define s8_sxtab16(a, x)     ((int32_t)__sxtab16((a), (x)))
#define s8_smlad(a, b, acc)  ((int32_t)__smlad((a), (b), (acc)))
#define s8_smlabb(a, b, acc) ((int32_t)__smlabb((a), (b), (acc)))
#define s8_smlatb(a, b, acc) ((int32_t)__smlatb((a), (b), (acc)))
#define s8_smlatt(a, b, acc) ((int32_t)__smlatt((a), (b), (acc)))
#define s8_qadd(a, b)	     ((int32_t)__qadd((a), (b)))
#define s8_ssat8(x)	     ((int32_t)__ssat((x), 8))
#define s8_usat8(x)	     ((int32_t)__usat((x), 8))

static inline __attribute__((always_inline)) int32_t s8_smmulr(int32_t a,
							       int32_t b)
{
	int32_t r;

	__asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
	return r;
}

static inline __attribute__((always_inline)) int32_t
s8_smmlar(int32_t a, int32_t b, int32_t acc)
{
	int32_t r;

	__asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
	return r;
}

#define s8_sadd16(a, b) ((int32_t)__sadd16((a), (b)))

static inline __attribute__((always_inline)) int32_t s8_pkhbt16(int32_t a,
								int32_t b)
{
	int32_t r;

	__asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
	return r;
}

static inline __attribute__((always_inline)) int32_t s8_pkhtb16(int32_t a,
								int32_t b)
{
	int32_t r;

	__asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
	return r;
}

/* GCC 12 has no __ror and does not fold a rotate into SXTB16/SXTAB16. */
static inline __attribute__((always_inline)) int32_t s8_sxtb16_ror8(int32_t x)
{
	int32_t r;

	__asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
	return r;
}

static inline __attribute__((always_inline)) int32_t s8_sxtab16_ror8(int32_t a,
								     int32_t x)
{
	int32_t r;

	__asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
	return r;
}

#else
#define S8_DSP 0
#endif

#endif
