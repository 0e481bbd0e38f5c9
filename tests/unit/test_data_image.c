/* SPDX-License-Identifier: Apache-2.0 */
/* test_data_image.c - data: PNG and JPEG decoding of files written by libpng
 * and libjpeg (every PNG colour type and depth, gray and CMYK JPEG, EXIF
 * orientation), the header caps (a 30,000 x 30,000 PNG refused without an
 * allocation), corrupt files turned into reasons, and the centre
 * crop-and-resize of import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/data.h"
#include "imgtest.h"

#include <stdlib.h>
#include <string.h>

static void decode_ok(const uint8_t *b, size_t n, struct data_image *im)
{
	char err[CORE_ERR_LEN] = "";
	enum core_status st = data_image_decode(b, n, 0, im, err, sizeof err);

	if (st)
		fail_msg("decode: %s", err);
}

static void px_eq(const struct data_image *im, int x, int y, int r, int g,
		  int b, int tol)
{
	const uint8_t *p = im->rgb + ((size_t)y * im->width + x) * 3;

	if (abs(p[0] - r) > tol || abs(p[1] - g) > tol || abs(p[2] - b) > tol)
		fail_msg(
		    "pixel (%d, %d) = %d %d %d, expected %d %d %d (tol %d)", x,
		    y, p[0], p[1], p[2], r, g, b, tol);
}

/* Every PNG colour type: RGB, RGBA (alpha dropped, colour kept even where
 * fully transparent), gray (replicated), gray+alpha, palette, 16-bit (high
 * byte), 1-bit gray. */
static void png_color_types(void **state)
{
	struct data_image im;
	uint8_t *f;
	size_t n;

	{ /* RGB 8 */
		uint8_t s[2 * 3] = {10, 20, 30, 200, 100, 0};
		f = it_png(2, 1, PNG_COLOR_TYPE_RGB, 8, s, 6, NULL, 0, &n);
		decode_ok(f, n, &im);
		assert_int_equal(im.width, 2);
		assert_int_equal(im.height, 1);
		assert_string_equal(im.format, "png");
		px_eq(&im, 0, 0, 10, 20, 30, 0);
		px_eq(&im, 1, 0, 200, 100, 0, 0);
		data_image_free(&im);
		free(f);
	}
	{ /* RGBA: alpha 0 still gives the stored colour */
		uint8_t s[2 * 4] = {10, 20, 30, 0, 200, 100, 5, 255};
		f = it_png(2, 1, PNG_COLOR_TYPE_RGBA, 8, s, 8, NULL, 0, &n);
		decode_ok(f, n, &im);
		px_eq(&im, 0, 0, 10, 20, 30, 0);
		px_eq(&im, 1, 0, 200, 100, 5, 0);
		data_image_free(&im);
		free(f);
	}
	{ /* gray and gray+alpha: replicated */
		uint8_t s[3] = {0, 77, 255}, sa[6] = {0, 9, 77, 9, 255, 9};
		f = it_png(3, 1, PNG_COLOR_TYPE_GRAY, 8, s, 3, NULL, 0, &n);
		decode_ok(f, n, &im);
		assert_int_equal(im.source_channels, 1);
		px_eq(&im, 1, 0, 77, 77, 77, 0);
		px_eq(&im, 2, 0, 255, 255, 255, 0);
		data_image_free(&im);
		free(f);
		f = it_png(3, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, sa, 6, NULL, 0,
			   &n);
		decode_ok(f, n, &im);
		px_eq(&im, 1, 0, 77, 77, 77, 0);
		data_image_free(&im);
		free(f);
	}
	{ /* palette, 4-bit indices */
		png_color pal[3] = {{1, 2, 3}, {250, 0, 7}, {9, 99, 199}};
		uint8_t s[1] = {0x21}; /* indices 2, 1 */
		f = it_png(2, 1, PNG_COLOR_TYPE_PALETTE, 4, s, 1, pal, 3, &n);
		decode_ok(f, n, &im);
		px_eq(&im, 0, 0, 9, 99, 199, 0);
		px_eq(&im, 1, 0, 250, 0, 7, 0);
		data_image_free(&im);
		free(f);
	}
	{ /* 16-bit RGB: the high byte of each big-endian sample */
		uint8_t s[6] = {0x12, 0x34, 0xab, 0xcd, 0xff, 0xff};
		f = it_png(1, 1, PNG_COLOR_TYPE_RGB, 16, s, 6, NULL, 0, &n);
		decode_ok(f, n, &im);
		assert_int_equal(im.source_depth, 16);
		px_eq(&im, 0, 0, 0x12, 0xab, 0xff, 0);
		data_image_free(&im);
		free(f);
	}
	{ /* 16-bit gray+alpha */
		uint8_t s[4] = {0x80, 0x01, 0x00, 0x00};
		f = it_png(1, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 16, s, 4, NULL, 0,
			   &n);
		decode_ok(f, n, &im);
		px_eq(&im, 0, 0, 0x80, 0x80, 0x80, 0);
		data_image_free(&im);
		free(f);
	}
	{			       /* 1-bit gray: 0 -> 0, 1 -> 255 */
		uint8_t s[1] = {0x40}; /* 0, 1, 0 */
		f = it_png(3, 1, PNG_COLOR_TYPE_GRAY, 1, s, 1, NULL, 0, &n);
		decode_ok(f, n, &im);
		px_eq(&im, 0, 0, 0, 0, 0, 0);
		px_eq(&im, 1, 0, 255, 255, 255, 0);
		data_image_free(&im);
		free(f);
	}
}

/* 16 x 16 flat colour blocks: JPEG keeps flat 8x8 blocks nearly exact. */
static void jpeg_rgb_gray_cmyk(void **state)
{
	uint8_t rgb[16 * 16 * 3], gray[16 * 16], cmyk[16 * 16 * 4];
	struct data_image im;
	uint8_t *f;
	size_t n;

	for (int i = 0; i < 16 * 16; i++) {
		rgb[3 * i] = 200, rgb[3 * i + 1] = 40, rgb[3 * i + 2] = 90;
		gray[i] = 123;
		/* Adobe-inverted inks (libjpeg writes the Adobe marker for
		 * CMYK): R = C * K / 255 */
		cmyk[4 * i] = 200, cmyk[4 * i + 1] = 100, cmyk[4 * i + 2] = 50;
		cmyk[4 * i + 3] = 255;
	}
	f = it_jpeg(16, 16, 3, JCS_RGB, rgb, 95, NULL, 0, &n);
	decode_ok(f, n, &im);
	assert_string_equal(im.format, "jpeg");
	px_eq(&im, 5, 5, 200, 40, 90, 3);
	data_image_free(&im);
	free(f);

	f = it_jpeg(16, 16, 1, JCS_GRAYSCALE, gray, 95, NULL, 0, &n);
	decode_ok(f, n, &im);
	assert_int_equal(im.source_channels, 1);
	px_eq(&im, 7, 3, 123, 123, 123, 1);
	data_image_free(&im);
	free(f);

	f = it_jpeg(16, 16, 4, JCS_CMYK, cmyk, 95, NULL, 0, &n);
	decode_ok(f, n, &im);
	assert_int_equal(im.source_channels, 4);
	px_eq(&im, 3, 9, 200, 100, 50, 3);
	data_image_free(&im);
	free(f);
}

/* A 16 x 8 JPEG, left half red, right half blue, displayed with each EXIF
 * orientation: the decoded size and where red lands. */
static void jpeg_exif_orientation(void **state)
{
	uint8_t rgb[16 * 8 * 3], exif[64];
	struct data_image im;

	for (int y = 0; y < 8; y++)
		for (int x = 0; x < 16; x++) {
			uint8_t *p = rgb + (y * 16 + x) * 3;
			p[0] = x < 8 ? 255 : 0;
			p[1] = 0;
			p[2] = x < 8 ? 0 : 255;
		}
	for (int o = 1; o <= 8; o++) {
		size_t en = it_exif(exif, o, o % 2), n;
		uint8_t *f = it_jpeg(16, 8, 3, JCS_RGB, rgb, 95, exif, en, &n);
		/* (x, y) in the displayed image where red is expected, and
		 * a point where blue is */
		int rx, ry, bx, by;

		decode_ok(f, n, &im);
		assert_int_equal(im.orientation, o);
		if (o <= 4) {
			assert_int_equal(im.width, 16);
			assert_int_equal(im.height, 8);
			/* 2 and 3 mirror left-right: red on the right */
			rx = (o == 2 || o == 3) ? 12 : 3;
			bx = (o == 2 || o == 3) ? 3 : 12;
			ry = by = 4;
		} else {
			assert_int_equal(im.width, 8);
			assert_int_equal(im.height, 16);
			/* 5 transpose, 6 rotate 90 CW: stored left -> top;
			 * 7 transverse, 8 rotate 90 CCW: left -> bottom */
			ry = (o == 5 || o == 6) ? 3 : 12;
			by = (o == 5 || o == 6) ? 12 : 3;
			rx = bx = 4;
		}
		px_eq(&im, rx, ry, 255, 0, 0, 4);
		px_eq(&im, bx, by, 0, 0, 255, 4);
		data_image_free(&im);
		free(f);
	}
	/* the parser alone: both byte orders, junk */
	assert_int_equal(data_exif_orientation(exif, it_exif(exif, 6, 1)), 6);
	assert_int_equal(data_exif_orientation(exif, it_exif(exif, 8, 0)), 8);
	assert_int_equal(data_exif_orientation(exif, it_exif(exif, 9, 0)), 1);
	assert_int_equal(data_exif_orientation(exif, 20), 1); /* truncated */
	assert_int_equal(data_exif_orientation((const uint8_t *)"Exif", 4), 1);
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A PNG signature and a valid IHDR of w x h RGB 8-bit, nothing after. */
static size_t png_header(uint8_t *b, uint32_t w, uint32_t h)
{
	static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};

	memcpy(b, sig, 8);
	put32(b + 8, 13);
	memcpy(b + 12, "IHDR", 4);
	put32(b + 16, w);
	put32(b + 20, h);
	b[24] = 8, b[25] = 2, b[26] = 0, b[27] = 0, b[28] = 0;
	put32(b + 29, crc32_png(b + 12, 17));
	return 33;
}

static void header_caps(void **state)
{
	uint8_t b[64];
	struct data_image im;
	char err[CORE_ERR_LEN];
	size_t n = png_header(b, 30000, 30000);
	long before = core_alloc_count();

	assert_int_equal(data_image_decode(b, n, 0, &im, err, sizeof err),
			 CORE_ERR_INVALID);
	if (!strstr(err, "30000 x 30000"))
		fail_msg("%s", err);
	assert_non_null(strstr(err, "exceeds the limit"));
	/* refused from the header: no pixel buffer was allocated */
	assert_int_equal(core_alloc_count(), before);
	assert_null(im.rgb);
	/* within the side cap but over the pixel cap */
	n = png_header(b, 16000, 16000);
	assert_int_equal(data_image_decode(b, n, 0, &im, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(core_alloc_count(), before);
	/* header-only of a plausible size works without pixel data */
	n = png_header(b, 640, 480);
	assert_int_equal(data_image_decode(b, n, DATA_IMAGE_HEADER_ONLY, &im,
					   err, sizeof err),
			 CORE_OK);
	assert_int_equal(im.width, 640);
	assert_int_equal(im.height, 480);
	/* the same header decoded in full: no image data */
	assert_int_equal(data_image_decode(b, n, 0, &im, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "png:"));
}

static void corrupt_files(void **state)
{
	uint8_t s[32 * 32 * 3], b[64];
	struct data_image im;
	char err[CORE_ERR_LEN];
	uint8_t *f;
	size_t n;

	for (size_t i = 0; i < sizeof s; i++)
		s[i] = (uint8_t)(i * 7);
	assert_int_equal(data_image_decode((const uint8_t *)"GIF89a....", 10, 0,
					   &im, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "not a PNG or JPEG"));
	/* PNG truncated in its image data */
	f = it_png(32, 32, PNG_COLOR_TYPE_RGB, 8, s, 96, NULL, 0, &n);
	assert_int_equal(data_image_decode(f, n / 2, 0, &im, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "png:"));
	assert_null(im.rgb);
	free(f);
	/* IHDR with a wrong CRC */
	n = png_header(b, 8, 8);
	b[30] ^= 0xff;
	assert_int_equal(data_image_decode(b, n, 0, &im, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "CRC"));
	/* JPEG truncated: libjpeg would pad it with gray and warn */
	f = it_jpeg(32, 32, 3, JCS_RGB, s, 90, NULL, 0, &n);
	assert_int_equal(data_image_decode(f, n / 2, 0, &im, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "jpeg:"));
	/* JPEG with garbage in its headers */
	memset(f + 20, 0x55, 40);
	assert_int_equal(data_image_decode(f, n, 0, &im, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "jpeg:"));
	free(f);
}

/* Centre crop + resize: a 6 x 4 image whose centre 4 x 4 is one colour
 * and whose outer columns are another gives the centre colour at any
 * size; a 2x downscale of a checkerboard averages it. */
static void crop_resize(void **state)
{
	uint8_t in[4 * 6 * 3], out[4 * 4 * 3], cb[8 * 8 * 3], half[4 * 4 * 3];

	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 6; x++) {
			uint8_t *p = in + (y * 6 + x) * 3;
			int edge = x == 0 || x == 5;
			p[0] = edge ? 0 : 180;
			p[1] = edge ? 255 : 60;
			p[2] = edge ? 0 : 20;
		}
	assert_int_equal(data_image_crop_resize(out, 4, in, 4, 6), CORE_OK);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(out[3 * i], 180);
		assert_int_equal(out[3 * i + 1], 60);
	}
	for (int y = 0; y < 8; y++)
		for (int x = 0; x < 8; x++)
			memset(cb + (y * 8 + x) * 3, (x + y) % 2 ? 200 : 0, 3);
	assert_int_equal(data_image_crop_resize(half, 4, cb, 8, 8), CORE_OK);
	/* by hand: a triangle of radius 2 input pixels, taps at distance
	 * 0.25, 0.25, 0.75, 0.75 -> weights 1/4 3/4 3/4 1/4, so every output
	 * whose taps are all inside averages the board to 100; a corner keeps
	 * three taps per axis (3/4 3/4 1/4, renormalized): rows average to
	 * 85.71 / 114.29, then (85.71*.75 + 114.29*.75 + 85.71*.25)/1.75 =
	 * 97.96 -> 98 at (0, 0) and (3, 3), where the board's corner pixel
	 * is black, and 102.04 -> 102 at the other two */
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 4; x++) {
			int corner = (x == 0 || x == 3) && (y == 0 || y == 3);
			int want = !corner ? 100 : x == y ? 98 : 102;
			assert_int_equal(half[(y * 4 + x) * 3], want);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(png_color_types),
	    cmocka_unit_test(jpeg_rgb_gray_cmyk),
	    cmocka_unit_test(jpeg_exif_orientation),
	    cmocka_unit_test(header_caps),
	    cmocka_unit_test(corrupt_files),
	    cmocka_unit_test(crop_resize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
