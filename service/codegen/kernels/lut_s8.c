/* SPDX-License-Identifier: Apache-2.0 */
/* lut_s8.c - int8 -> int8 table lookup (sigmoid, swish, hswish, leakyrelu
 * tables built at generation time), four bytes per word. */
#include "kernels.h"
#include "requant.h"

void lut_s8(int8_t *out, const int8_t *in, int32_t n, const int8_t table[256])
{
	/* indexed by the signed byte: t[x] = table[x + 128] */
	const uint8_t *t = (const uint8_t *)table + 128;
	int32_t i = 0;

	for (; i + 4 <= n; i += 4) {
		const uint32_t v = (uint32_t)s8_read_s8x4(in + i);
		const uint32_t r =
		    (uint32_t)t[(int8_t)(v & 0xffu)] |
		    ((uint32_t)t[(int8_t)((v >> 8) & 0xffu)] << 8) |
		    ((uint32_t)t[(int8_t)((v >> 16) & 0xffu)] << 16) |
		    ((uint32_t)t[(int8_t)(v >> 24)] << 24);

		memcpy(out + i, &r, 4);
	}
	for (; i < n; i++)
		out[i] = table[in[i] + 128];
}
