/* add_s8.c - int8 elementwise add (TFLite ADD): both inputs rescaled to a
 * common scale with 20 bits of headroom, summed, rescaled to the output. */
#include "kernels.h"
#include "requant.h"

enum s8_status add_s8(int8_t *out, const int8_t *in1, const int8_t *in2,
		      const struct s8_add_params *p, int32_t n)
{
	const int32_t lo = p->act_min - p->output_offset;
	const int32_t hi = p->act_max - p->output_offset;

	if (n < 0 || p->left_shift < 0 || p->left_shift > 20 ||
	    p->input1_shift > 0 || p->input2_shift > 0 || p->output_shift > 0)
		return S8_ERR_ARG;
	for (int32_t i = 0; i < n; i++) {
		/* |x + offset| <= 255: the shifted values stay below 2^28. */
		const int32_t a =
		    (in1[i] + p->input1_offset) * (1 << p->left_shift);
		const int32_t b =
		    (in2[i] + p->input2_offset) * (1 << p->left_shift);
		const int32_t sa = s8_rdbpot(s8_srdhm(a, p->input1_multiplier),
					     -p->input1_shift);
		const int32_t sb = s8_rdbpot(s8_srdhm(b, p->input2_multiplier),
					     -p->input2_shift);

		out[i] = s8_requantize_out(sa + sb, p->output_multiplier,
					   p->output_shift, p->output_offset,
					   lo, hi);
	}
	return S8_OK;
}
