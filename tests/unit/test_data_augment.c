/* SPDX-License-Identifier: Apache-2.0 */
/* test_data_augment.c - data: normalization table, per-sample random draws,
 * pad+crop+flip, cutout (hand-computed expectations) and the bilinear resize
 * against PyTorch fixtures (tools/gen_data_fixtures.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/data.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S DATA_IMAGE_SIZE

static const float mean100[3] = {0.50708f, 0.48655f, 0.44092f};
static const float std100[3] = {0.26733f, 0.25644f, 0.27615f};

static void norm_table_and_defaults(void **state)
{
	float lut[3][256], mean[3], std[3];

	data_norm_default(DATA_KIND_CIFAR100, mean, std);
	assert_memory_equal(mean, mean100, sizeof mean);
	assert_memory_equal(std, std100, sizeof std);
	data_norm_default(DATA_KIND_CIFAR10, mean, std);
	assert_true(mean[0] == 0.4914f && mean[1] == 0.4822f &&
		    mean[2] == 0.4465f);
	assert_true(std[0] == 0.2470f && std[1] == 0.2435f &&
		    std[2] == 0.2616f);
	data_norm_table(lut, mean100, std100);
	for (int c = 0; c < 3; c++) {
		assert_true(fabsf(lut[c][0] + mean100[c] / std100[c]) < 1e-6f);
		assert_true(fabsf(lut[c][255] - (1 - mean100[c]) / std100[c]) <
			    1e-6f);
		for (int v = 1; v < 256; v++)
			assert_true(lut[c][v] > lut[c][v - 1]);
	}
}

static uint8_t pixel(int y, int x, int c)
{
	return (uint8_t)((1 + y * 7 + x * 3 + c * 101) % 255 + 1); /* 1..255 */
}

static void fill_image(uint8_t *img)
{
	for (int y = 0; y < S; y++)
		for (int x = 0; x < S; x++)
			for (int c = 0; c < 3; c++)
				img[(y * S + x) * 3 + c] = pixel(y, x, c);
}

/* A literal model of torchvision: build the zero-padded (S+2p)^2 image,
 * cut the window at (dy, dx), mirror it if asked, normalize. */
static void reference_crop_flip(float *out, const uint8_t *img, int pad,
				const struct data_aug *a, float lut[3][256])
{
	int P = S + 2 * pad;
	uint8_t padded[(S + 32) * (S + 32) * 3];
	uint8_t crop[S * S * 3];

	memset(padded, 0, sizeof padded);
	for (int y = 0; y < S; y++)
		memcpy(padded + ((y + pad) * P + pad) * 3, img + y * S * 3,
		       S * 3);
	for (int y = 0; y < S; y++)
		for (int x = 0; x < S; x++)
			memcpy(crop + (y * S + x) * 3,
			       padded + ((y + a->dy) * P + x + a->dx) * 3, 3);
	for (int y = 0; y < S; y++)
		for (int x = 0; x < S; x++)
			for (int c = 0; c < 3; c++) {
				int sx = a->flip ? S - 1 - x : x;
				out[(y * S + x) * 3 + c] =
				    lut[c][crop[(y * S + sx) * 3 + c]];
			}
}

static void crop_flip_matches_padded_window(void **state)
{
	uint8_t img[S * S * 3];
	float lut[3][256], got[S * S * 3], want[S * S * 3];

	fill_image(img);
	data_norm_table(lut, mean100, std100);
	for (int pad = 0; pad <= 4; pad += 4)
		for (int dy = 0; dy <= 2 * pad; dy++)
			for (int dx = 0; dx <= 2 * pad; dx++)
				for (int flip = 0; flip < 2; flip++) {
					struct data_aug a = {dy, dx, flip, 0,
							     0};
					data_crop_flip_normalize(got, img, S, S,
								 pad, &a, lut);
					reference_crop_flip(want, img, pad, &a,
							    lut);
					assert_memory_equal(got, want,
							    sizeof got);
				}

	/* hand-computed corners, pad 4 */
	{
		struct data_aug a = {8, 8, 0, 0,
				     0}; /* window at bottom-right */
		data_crop_flip_normalize(got, img, S, S, 4, &a, lut);
		assert_true(got[0] == lut[0][pixel(4, 4, 0)]);
		assert_true(got[((S - 1) * S + S - 1) * 3 + 2] == lut[2][0]);
		assert_true(got[((27) * S + 27) * 3 + 1] ==
			    lut[1][pixel(31, 31, 1)]);
		assert_true(got[((28) * S + 27) * 3 + 1] == lut[1][0]);
	}
	{
		struct data_aug a = {0, 0, 1, 0, 0}; /* top-left, mirrored */
		/* the window holds padded cols 0..31 = 4 padding columns then
		 * image cols 0..27; mirrored: image cols 27..0, then padding */
		data_crop_flip_normalize(got, img, S, S, 4, &a, lut);
		assert_true(got[(4 * S + 0) * 3] == lut[0][pixel(0, 27, 0)]);
		assert_true(got[(10 * S + 27) * 3] == lut[0][pixel(6, 0, 0)]);
		assert_true(got[(10 * S + 28) * 3] == lut[0][0]);
		assert_true(got[(4 * S + 31) * 3 + 2] == lut[2][0]);
		assert_true(got[(3 * S + 5) * 3 + 1] == lut[1][0]); /* top */
	}
	{
		struct data_aug a = {4, 4, 1, 0, 0}; /* centered: pure flip */
		data_crop_flip_normalize(got, img, S, S, 4, &a, lut);
		for (int y = 0; y < S; y++)
			for (int x = 0; x < S; x++)
				assert_true(got[(y * S + x) * 3 + 1] ==
					    lut[1][pixel(y, S - 1 - x, 1)]);
	}
	/* no aug: plain normalization */
	data_crop_flip_normalize(got, img, S, S, 4, NULL, lut);
	assert_true(got[(5 * S + 6) * 3 + 2] == lut[2][pixel(5, 6, 2)]);
}

static void draws_are_seeded_and_in_range(void **state)
{
	struct data_aug a, b;
	int dy_hist[9] = {0}, flips = 0, cy_hist[S] = {0};
	int n = 20000, differ = 0;

	for (int r = 0; r < n; r++) {
		data_aug_draw(&a, 42, 3, r, 4);
		data_aug_draw(&b, 42, 3, r, 4);
		assert_memory_equal(&a, &b, sizeof a);
		assert_true(a.dy >= 0 && a.dy <= 8 && a.dx >= 0 && a.dx <= 8);
		assert_true(a.flip == 0 || a.flip == 1);
		assert_true(a.cy >= 0 && a.cy < S && a.cx >= 0 && a.cx < S);
		dy_hist[a.dy]++;
		flips += a.flip;
		cy_hist[a.cy]++;
		data_aug_draw(&b, 42, 4, r, 4); /* next epoch */
		differ += memcmp(&a, &b, sizeof a) != 0;
	}
	for (int i = 0; i < 9; i++)
		assert_true(abs(dy_hist[i] - n / 9) < n / 9 / 5);
	assert_true(abs(flips - n / 2) < n / 50);
	for (int i = 0; i < S; i++)
		assert_true(cy_hist[i] > n / S / 2);
	assert_true(differ > n * 95 / 100);
	data_aug_draw(&a, 1, 0, 0, 0);
	assert_int_equal(a.dy, 0);
	assert_int_equal(a.dx, 0);
	assert_true(data_seed_derive(1, 'A', 2, 3) !=
		    data_seed_derive(1, 'S', 2, 3));
	assert_true(data_seed_derive(1, 'A', 2, 3) !=
		    data_seed_derive(1, 'A', 3, 2));
}

static int count_zero(const float *img, int *ymin, int *ymax, int *xmin,
		      int *xmax)
{
	int n = 0;

	*ymin = *xmin = 1000;
	*ymax = *xmax = -1;
	for (int y = 0; y < S; y++)
		for (int x = 0; x < S; x++) {
			const float *p = img + (y * S + x) * 3;
			if (p[0] == 0 && p[1] == 0 && p[2] == 0) {
				n++;
				*ymin = y < *ymin ? y : *ymin;
				*ymax = y > *ymax ? y : *ymax;
				*xmin = x < *xmin ? x : *xmin;
				*xmax = x > *xmax ? x : *xmax;
			}
		}
	return n;
}

static void cutout_clips_like_the_paper(void **state)
{
	static const struct {
		int cy, cx, size, n, y0, y1, x0, x1;
	} cases[] = {
	    {10, 20, 16, 256, 2, 17, 12, 27},	/* inside: [2,18)x[12,28) */
	    {0, 0, 8, 16, 0, 3, 0, 3},		/* corner: [0,4)x[0,4) */
	    {31, 31, 8, 25, 27, 31, 27, 31},	/* [27,32) x [27,32) */
	    {31, 0, 16, 9 * 8, 23, 31, 0, 7},	/* [23,32) x [0,8) */
	    {5, 5, 5, 16, 3, 6, 3, 6},		/* odd: 5/2 = 2, [3,7) */
	    {16, 16, 32, 1024, 0, 31, 0, 31},	/* whole image */
	    {16, 16, 1, 0, 1000, -1, 1000, -1}, /* 1/2 = 0: nothing */
	};
	float img[S * S * 3];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int y0, y1, x0, x1;

		for (int k = 0; k < S * S * 3; k++)
			img[k] = 0.5f + (float)k;
		data_cutout(img, S, S, 3, cases[i].cy, cases[i].cx,
			    cases[i].size);
		assert_int_equal(count_zero(img, &y0, &y1, &x0, &x1),
				 cases[i].n);
		assert_int_equal(y0, cases[i].y0);
		assert_int_equal(y1, cases[i].y1);
		assert_int_equal(x0, cases[i].x0);
		assert_int_equal(x1, cases[i].x1);
	}
	for (int k = 0; k < S * S * 3; k++)
		img[k] = 1.0f;
	data_cutout(img, S, S, 3, 3, 3, 0);
	assert_int_equal(
	    count_zero(img, &(int){0}, &(int){0}, &(int){0}, &(int){0}), 0);
}

static void resize_identity_and_constant(void **state)
{
	float in[S * S * 3], out[100 * 100 * 3], tmp[S * 100 * 3];

	for (int k = 0; k < S * S * 3; k++)
		in[k] = (float)(k % 97) * 0.37f - 3;
	assert_int_equal(data_resize_scratch_size(S, 100, 3), S * 100 * 3);
	data_resize_bilinear(out, S, S, in, S, S, 3, tmp);
	assert_memory_equal(out, in, sizeof in);
	for (int k = 0; k < S * S * 3; k++)
		in[k] = -1.25f;
	data_resize_bilinear(out, 100, 77, in, S, S, 3, tmp);
	for (int k = 0; k < 100 * 77 * 3; k++)
		assert_true(fabsf(out[k] + 1.25f) < 1e-6f);
	/* 2x upsampling of a 2x1 ramp, hand-computed: src = (dst+.5)/2 - .5
	 * -> 0 (clamped), .25, .75, 1.25 -> taps (0,1) or (1,1) */
	{
		float r[2] = {0.0f, 4.0f}, o[4], t[4];
		data_resize_bilinear(o, 1, 4, r, 1, 2, 1, t);
		assert_true(o[0] == 0.0f && o[1] == 1.0f && o[2] == 3.0f &&
			    o[3] == 4.0f);
	}
}

/* ---- PyTorch fixtures -------------------------------------------------- */

static FILE *fixture_open(const char *name)
{
	const char *root = getenv("LMNAS_ROOT");
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/fixtures/data/%s",
		 root ? root : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s (run from the repository root "
			 "or set LMNAS_ROOT)",
			 path);
	return f;
}

static void rd(FILE *f, void *p, size_t n)
{
	assert_int_equal(fread(p, 1, n, f), n);
}

static int32_t rd_i32(FILE *f)
{
	int32_t v;

	rd(f, &v, sizeof v);
	return v;
}

static void bilinear_matches_pytorch(void **state)
{
	FILE *f = fixture_open("bilinear.bin");
	char magic[4];
	int32_t k, ncases;
	uint8_t *images;
	float mean[3], std[3], lut[3][256], norm[S * S * 3];
	float *out = malloc(160 * 160 * 3 * sizeof *out);
	float *want = malloc(160 * 160 * 3 * sizeof *want);
	float *tmp = malloc(data_resize_scratch_size(S, 160, 3) * sizeof *tmp);
	double worst = 0;

	assert_non_null(out);
	assert_non_null(want);
	assert_non_null(tmp);
	rd(f, magic, 4);
	assert_memory_equal(magic, "LMBL", 4);
	assert_int_equal(rd_i32(f), 1);
	k = rd_i32(f);
	assert_true(k > 0 && k < 16);
	images = malloc((size_t)k * S * S * 3);
	assert_non_null(images);
	rd(f, images, (size_t)k * S * S * 3);
	rd(f, mean, sizeof mean);
	rd(f, std, sizeof std);
	data_norm_table(lut, mean, std);
	ncases = rd_i32(f);
	assert_true(ncases >= 8);
	for (int i = 0; i < ncases; i++) {
		int32_t img = rd_i32(f), oh = rd_i32(f), ow = rd_i32(f);
		int32_t nrows = rd_i32(f), rows[160];
		double maxerr = 0;

		assert_true(img >= 0 && img < k && oh > 0 && oh <= 160 &&
			    ow > 0 && ow <= 160 && nrows > 0 && nrows <= oh);
		for (int r = 0; r < nrows; r++)
			rows[r] = rd_i32(f);
		rd(f, want, (size_t)nrows * ow * 3 * sizeof *want);
		data_crop_flip_normalize(norm, images + (size_t)img * S * S * 3,
					 S, S, 0, NULL, lut);
		data_resize_bilinear(out, oh, ow, norm, S, S, 3, tmp);
		for (int r = 0; r < nrows; r++)
			for (int j = 0; j < ow * 3; j++) {
				double e = fabs(
				    (double)out[(size_t)rows[r] * ow * 3 + j] -
				    (double)want[(size_t)r * ow * 3 + j]);
				maxerr = e > maxerr ? e : maxerr;
			}
		print_message("bilinear image %d 32->%dx%d (%d rows): max abs "
			      "err %.3g\n",
			      img, oh, ow, nrows, maxerr);
		/* the brief asks for <= 1e-5; matching PyTorch's double
		 * source coordinate gets 1 ulp, so hold it to 1e-6 */
		if (maxerr > 1e-6)
			fail_msg("bilinear 32->%d: max abs err %g > 1e-6", oh,
				 maxerr);
		worst = maxerr > worst ? maxerr : worst;
	}
	print_message("bilinear vs PyTorch: worst max abs err %.3g over %d "
		      "cases\n",
		      worst, ncases);
	free(images);
	free(out);
	free(want);
	free(tmp);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(norm_table_and_defaults),
	    cmocka_unit_test(crop_flip_matches_padded_window),
	    cmocka_unit_test(draws_are_seeded_and_in_range),
	    cmocka_unit_test(cutout_clips_like_the_paper),
	    cmocka_unit_test(resize_identity_and_constant),
	    cmocka_unit_test(bilinear_matches_pytorch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
