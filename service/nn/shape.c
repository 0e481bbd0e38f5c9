/* SPDX-License-Identifier: Apache-2.0 */
/* shape.c - NHWC shapes and the checks that the model builder runs once, so
 * that kernels can trust their sizes. */
#include "nn/nn.h"

#include <limits.h>
#include <stdint.h>

size_t nn_shape_count(const struct nn_shape *s)
{
	return (size_t)s->n * (size_t)s->h * (size_t)s->w * (size_t)s->c;
}

enum core_status nn_shape_check(const struct nn_shape *s, char *err,
				size_t errlen)
{
	size_t pix;

	if (s->n < 1 || s->h < 1 || s->w < 1 || s->c < 1) {
		core_errf(err, errlen,
			  "shape (%d, %d, %d, %d) has a dimension < 1", s->n,
			  s->h, s->w, s->c);
		return CORE_ERR_INVALID;
	}
	/* Each factor is < 2^31, so the products below stay in 64 bits as
	 * long as each step is checked against INT_MAX first. */
	pix = (size_t)s->n * (size_t)s->h;
	if (pix > INT_MAX || pix * (size_t)s->w > INT_MAX) {
		core_errf(err, errlen,
			  "shape (%d, %d, %d, %d): n*h*w exceeds %d (a GEMM "
			  "dimension)",
			  s->n, s->h, s->w, s->c, INT_MAX);
		return CORE_ERR_INVALID;
	}
	pix *= (size_t)s->w;
	if (pix > SIZE_MAX / sizeof(float) / (size_t)s->c) {
		core_errf(err, errlen, "shape (%d, %d, %d, %d) is too large",
			  s->n, s->h, s->w, s->c);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}
