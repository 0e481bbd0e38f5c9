/* lut_s8.c - int8 -> int8 table lookup (sigmoid, swish, hswish, leakyrelu
 * tables built at generation time). */
#include "kernels.h"

void lut_s8(int8_t *out, const int8_t *in, int32_t n, const int8_t table[256])
{
	for (int32_t i = 0; i < n; i++)
		out[i] = table[in[i] + 128];
}
