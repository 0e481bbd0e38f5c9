/* SPDX-License-Identifier: Apache-2.0 */
/* bounds.c - the worst-case int32 accumulator of a layer, so that a layer
 * whose sums could wrap is refused before any kernel runs it. */
#include "quant.h"

#include <inttypes.h>

enum core_status quant_acc_check(const char *layer, const int8_t *w,
				 int channels, int taps, long channel_stride,
				 long tap_stride, const int32_t *bias,
				 int32_t input_offset, const int32_t *shift,
				 int64_t *worst, char *err, size_t errlen)
{
	const char *name = layer ? layer : "(unnamed)";
	int64_t xmax, lo, hi, best = 0;

	if (!w || channels <= 0 || taps <= 0 || channel_stride < 0 ||
	    tap_stride < 0 || input_offset < -127 || input_offset > 128) {
		core_errf(err, errlen,
			  "layer %s: bad accumulator check arguments "
			  "(channels %d, taps %d, input_offset %" PRId32 ")",
			  name, channels, taps, input_offset);
		return CORE_ERR_INVALID;
	}
	/* The largest |x + input_offset| any int8 x can give. */
	lo = -128 + (int64_t)input_offset;
	hi = 127 + (int64_t)input_offset;
	xmax = (lo < 0 ? -lo : lo) > (hi < 0 ? -hi : hi) ? (lo < 0 ? -lo : lo)
							 : (hi < 0 ? -hi : hi);
	for (int c = 0; c < channels; c++) {
		int64_t sum_w = 0, bound;
		int s = shift && shift[c] > 0 ? shift[c] : 0;

		for (int t = 0; t < taps; t++) {
			int64_t v = w[c * channel_stride + t * tap_stride];
			sum_w += v < 0 ? -v : v;
		}
		/* taps * 128 * 255 + 2^31 < 2^63 for any int taps: no overflow.
		 */
		bound = sum_w * xmax;
		if (bias)
			bound += bias[c] < 0 ? -(int64_t)bias[c] : bias[c];
		if (bound > INT32_MAX) {
			core_errf(err, errlen,
				  "layer %s: output channel %d: worst-case "
				  "|accumulator| %" PRId64 " exceeds int32 "
				  "(sum |w| = %" PRId64 ", max |x - zp| = "
				  "%" PRId64 ")",
				  name, c, bound, sum_w, xmax);
			return CORE_ERR_INVALID;
		}
		if ((bound << s) > INT32_MAX) {
			core_errf(err, errlen,
				  "layer %s: output channel %d: worst-case "
				  "|accumulator| %" PRId64 " times 2^%d "
				  "(requantization left shift) exceeds int32",
				  name, c, bound, s);
			return CORE_ERR_INVALID;
		}
		if ((bound << s) > best)
			best = bound << s;
	}
	if (worst)
		*worst = best;
	return CORE_OK;
}
