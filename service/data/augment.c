/* SPDX-License-Identifier: Apache-2.0 */
/* augment.c - per-sample image kernels: normalization table, random draws,
 * pad+crop+flip+normalize, cutout and the PyTorch-compatible bilinear
 * resize. Nothing here allocates. */
#include "data.h"

#include <string.h>

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t data_seed_derive(uint64_t seed, uint32_t tag, int64_t a, int64_t b)
{
	uint64_t z = mix64(seed ^ ((uint64_t)tag << 32));

	z = mix64(z ^ (uint64_t)a);
	return mix64(z ^ (uint64_t)b);
}

void data_norm_default(enum data_kind kind, float mean[3], float std[3])
{
	static const float c100_mean[3] = {0.50708f, 0.48655f, 0.44092f};
	static const float c100_std[3] = {0.26733f, 0.25644f, 0.27615f};
	static const float c10_mean[3] = {0.4914f, 0.4822f, 0.4465f};
	static const float c10_std[3] = {0.2470f, 0.2435f, 0.2616f};
	int c10 = kind == DATA_KIND_CIFAR10;

	memcpy(mean, c10 ? c10_mean : c100_mean, sizeof c10_mean);
	memcpy(std, c10 ? c10_std : c100_std, sizeof c10_std);
}

void data_norm_table(float lut[3][256], const float mean[3], const float std[3])
{
	/* the same float32 operations as ToTensor (x / 255) followed by
	 * Normalize ((x - mean) / std), so the result is bit-identical */
	for (int c = 0; c < 3; c++)
		for (int v = 0; v < 256; v++) {
			float x = (float)v / 255.0f;
			lut[c][v] = (x - mean[c]) / std[c];
		}
}

void data_aug_draw(struct data_aug *a, uint64_t seed, int epoch, int record,
		   int pad)
{
	struct core_rng r;
	uint64_t span = pad > 0 ? (uint64_t)(2 * pad + 1) : 1;

	core_rng_seed(&r, data_seed_derive(seed, 'A', epoch, record));
	a->dy = (int)core_rng_below(&r, span);
	a->dx = (int)core_rng_below(&r, span);
	a->flip = (int)(core_rng_next(&r) >> 63);
	a->cy = (int)core_rng_below(&r, DATA_IMAGE_SIZE);
	a->cx = (int)core_rng_below(&r, DATA_IMAGE_SIZE);
}

void data_crop_flip_normalize(float *out, const uint8_t *img, int h, int w,
			      int pad, const struct data_aug *a,
			      const float lut[3][256])
{
	int dy = a ? a->dy - pad : 0;
	int dx = a ? a->dx - pad : 0;
	int flip = a ? a->flip : 0;

	/* out(y, x) = padded(y + a->dy, x' + a->dx) with x' = w-1-x when
	 * flipped: the flip acts on the cropped window (crop, then flip) */
	for (int y = 0; y < h; y++) {
		int sy = y + dy;
		float *o = out + (size_t)y * w * 3;

		for (int x = 0; x < w; x++, o += 3) {
			int sx = (flip ? w - 1 - x : x) + dx;
			const uint8_t *p;

			if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
				o[0] = lut[0][0]; /* zero (black) padding */
				o[1] = lut[1][0];
				o[2] = lut[2][0];
				continue;
			}
			p = img + ((size_t)sy * w + sx) * 3;
			o[0] = lut[0][p[0]];
			o[1] = lut[1][p[1]];
			o[2] = lut[2][p[2]];
		}
	}
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void data_cutout(float *img, int h, int w, int c, int cy, int cx, int size)
{
	int half = size / 2;
	int y1 = clampi(cy - half, 0, h), y2 = clampi(cy + half, 0, h);
	int x1 = clampi(cx - half, 0, w), x2 = clampi(cx + half, 0, w);

	if (size <= 0)
		return;
	for (int y = y1; y < y2; y++)
		memset(img + ((size_t)y * w + x1) * c, 0,
		       (size_t)(x2 - x1) * c * sizeof *img);
}

/* Source taps and weights of output index o, as PyTorch 1.13's CPU kernel
 * computes them (compute_source_index_and_lambda, align_corners=False): the
 * scale in/out is a float, the source coordinate (dst + 0.5) * scale - 0.5 is
 * accumulated in double (acc_type<float> on CPU) and clamped at 0, lambda1 is
 * its fraction rounded to float and lambda0 = 1 - lambda1 in float. Rounding
 * the coordinate to float first changes lambdas by up to 1e-6 and outputs by
 * up to 1e-5. */
static void lin_coeff(int o, int in, int out, int *i0, int *i1, float *l0,
		      float *l1)
{
	float scale;
	double src, l;
	int i;

	if (in == out) {
		*i0 = *i1 = o;
		*l0 = 1.0f;
		*l1 = 0.0f;
		return;
	}
	scale = (float)in / (float)out;
	src = (double)scale * ((double)o + 0.5) - 0.5;
	if (src < 0.0)
		src = 0.0;
	i = (int)src;
	*i0 = i;
	*i1 = i + (i < in - 1 ? 1 : 0);
	l = src - (double)i;
	l = l < 0.0 ? 0.0 : l > 1.0 ? 1.0 : l;
	*l1 = (float)l;
	*l0 = 1.0f - *l1;
}

size_t data_resize_scratch_size(int ih, int ow, int c)
{
	return (size_t)ih * ow * c;
}

/* Separable: rows first, then columns. Row pass t(y, x) = w0 * a + w1 * b for
 * every input row y; column pass out = h0 * t(y0) + h1 * t(y1). That is
 * h0 * (w0 a + w1 b) + h1 * (w0 c + w1 d), the same float operations in the
 * same order as PyTorch's kernel, with (ow * ih) instead of (ow * oh) row
 * interpolations and a column pass that runs over contiguous memory. */
void data_resize_bilinear(float *out, int oh, int ow, const float *in, int ih,
			  int iw, int c, float *scratch)
{
	const size_t orow = (size_t)ow * c;

	for (int x = 0; x < ow; x++) {
		int x0, x1;
		float w0, w1;

		lin_coeff(x, iw, ow, &x0, &x1, &w0, &w1);
		for (int y = 0; y < ih; y++) {
			const float *a = in + ((size_t)y * iw + x0) * c;
			const float *b = in + ((size_t)y * iw + x1) * c;
			float *t = scratch + y * orow + (size_t)x * c;

			for (int k = 0; k < c; k++)
				t[k] = w0 * a[k] + w1 * b[k];
		}
	}
	for (int y = 0; y < oh; y++) {
		int y0, y1;
		float h0, h1;
		const float *r0, *r1;
		float *o = out + (size_t)y * orow;

		lin_coeff(y, ih, oh, &y0, &y1, &h0, &h1);
		r0 = scratch + (size_t)y0 * orow;
		r1 = scratch + (size_t)y1 * orow;
		for (size_t j = 0; j < orow; j++)
			o[j] = h0 * r0[j] + h1 * r1[j];
	}
}
