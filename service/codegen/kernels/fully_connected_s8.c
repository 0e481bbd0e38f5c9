/* SPDX-License-Identifier: Apache-2.0 */
/* fully_connected_s8.c - int8 fully connected layer: the input vector is
 * widened once to int16 and every weight row goes through the matrix core
 * (two rows at a time). */
#include "kernels.h"
#include "requant.h"

int32_t fully_connected_s8_scratch_size(int32_t n_in)
{
	return n_in * (int32_t)sizeof(int16_t);
}

enum s8_status fully_connected_s8(int8_t *out, const int8_t *in,
				  const int8_t *w, const int32_t *bias,
				  const struct s8_fc_params *p,
				  const struct s8_per_channel *q, int32_t n_in,
				  int32_t n_out, void *scratch)
{
	int16_t *col = (int16_t *)scratch;

	if (n_in < 1 || n_out < 1 || !scratch || ((uintptr_t)scratch & 3u) != 0)
		return S8_ERR_ARG;
	s8_col_from_s8(col, in, n_in, p->input_offset);
	mat_mult_s8_s16(w, col, NULL, n_in, n_out, bias, q, p->output_offset,
			p->act_min, p->act_max, out, NULL);
	return S8_OK;
}
