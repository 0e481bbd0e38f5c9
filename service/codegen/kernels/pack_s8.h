/* SPDX-License-Identifier: Apache-2.0 */
/* pack_s8.h - the export-time weight layout of pointwise_conv2d_s8: weight
 * rows packed in pairs for its 2x4-blocked core, and the input offset
 * folded into the bias. lmnas' generator applies it on the host and emits
 * the result; tests and benchmarks apply it before calling the kernel.
 * Static inline, portable C99, no allocation.
 *
 * Layout (C_out rows of C_in weights, len4 = C_in rounded up to 4, rows
 * rounded up to an even count, padding weights 0): rows r = 2j and 2j+1
 * form pair j of 2 * len4 bytes at wp + 2 * j * len4; its group g of inputs
 * 4g .. 4g+3 (k0..k3) is 8 bytes
 *   r0k0 r1k0 r0k2 r1k2  r0k1 r1k1 r0k3 r1k3
 * so that SXTB16 of the first word gives row 0's (k0, k2) halfwords and
 * SXTB16 ROR #8 row 1's, matching the int16 column halfwords (k0, k2),
 * (k1, k3) that SXTB16 makes of 4 input bytes. */
#ifndef S8_PACK_H
#define S8_PACK_H

#include <stdint.h>

/* Inputs per row in the packed layout: C_in rounded up to 4. */
static inline int32_t pointwise_s8_packed_len(int32_t ci)
{
	return (ci + 3) & ~3;
}

/* Bytes of packed weights of a (co, ci) weight matrix. */
static inline int32_t pointwise_s8_packed_bytes(int32_t ci, int32_t co)
{
	return ((co + 1) & ~1) * pointwise_s8_packed_len(ci);
}

/* Offset in the packed layout of weight (r, k). */
static inline int32_t pointwise_s8_packed_index(int32_t len4, int32_t r,
						int32_t k)
{
	const int32_t kk = k & 3;

	return (r >> 1) * 2 * len4 + (k >> 2) * 8 + (kk & 1) * 4 +
	       (kk >> 1) * 2 + (r & 1);
}

/* wp (pointwise_s8_packed_bytes) = w (co, ci) in the packed layout;
 * bias_out (co) = bias (may be NULL: 0) + input_offset * sum of the row's
 * weights, so that the kernel multiplies raw input bytes. The sum is taken
 * modulo 2^32, like the kernel's accumulator: where the layer's accumulator
 * fits int32 (the generator checks it), so does the folded bias. */
static inline void pointwise_s8_pack(int8_t *wp, int32_t *bias_out,
				     const int8_t *w, const int32_t *bias,
				     int32_t input_offset, int32_t ci,
				     int32_t co)
{
	const int32_t len4 = pointwise_s8_packed_len(ci);

	for (int32_t i = 0; i < pointwise_s8_packed_bytes(ci, co); i++)
		wp[i] = 0;
	for (int32_t r = 0; r < co; r++) {
		uint32_t b = bias ? (uint32_t)bias[r] : 0u;
		int32_t sum = 0;

		for (int32_t k = 0; k < ci; k++) {
			wp[pointwise_s8_packed_index(len4, r, k)] =
			    w[r * ci + k];
			sum += w[r * ci + k];
		}
		b += (uint32_t)input_offset * (uint32_t)sum;
		bias_out[r] = (int32_t)b;
	}
}

#endif
