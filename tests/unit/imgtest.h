/* SPDX-License-Identifier: Apache-2.0 */
/* imgtest.h - PNG and JPEG writers for the data tests (libpng, libjpeg), so
 * the decoder is checked against files made by the reference libraries. A
 * header-only helper: each test program that includes it gets its own
 * static copy. */
#ifndef LMNAS_IMGTEST_H
#define LMNAS_IMGTEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jpeglib.h needs size_t and FILE declared first */
#include <jpeglib.h>
#include <png.h>

struct it_buf {
	uint8_t *p;
	size_t n, cap;
};

static inline void it_png_write_cb(png_structp p, png_bytep d, size_t n)
{
	struct it_buf *b = png_get_io_ptr(p);

	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static inline void it_png_flush_cb(png_structp p)
{
	(void)p;
}

/* A PNG of w x h with colour type ctype and bit depth depth from samples
 * (rows of w * channels samples, 8-bit or big-endian 16-bit as PNG stores
 * them); palette (n entries) for PNG_COLOR_TYPE_PALETTE. Caller frees. */
static inline uint8_t *it_png(int w, int h, int ctype, int depth,
			      const uint8_t *samples, size_t rowbytes,
			      const png_color *palette, int npal, size_t *len)
{
	struct it_buf b = {0};
	png_structp p =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(p);

	if (setjmp(png_jmpbuf(p)))
		abort();
	png_set_write_fn(p, &b, it_png_write_cb, it_png_flush_cb);
	png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, depth, ctype,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	if (palette)
		png_set_PLTE(p, info, palette, npal);
	png_write_info(p, info);
	for (int y = 0; y < h; y++)
		png_write_row(p, samples + (size_t)y * rowbytes);
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
	*len = b.n;
	return b.p;
}

/* A JPEG at quality q of w x h with `comps` components in colour space cs
 * (JCS_RGB, JCS_GRAYSCALE, JCS_CMYK); exif (n bytes, "Exif\0\0...") is
 * written as an APP1 marker when not NULL. Caller frees. */
static inline uint8_t *it_jpeg(int w, int h, int comps, J_COLOR_SPACE cs,
			       const uint8_t *samples, int q,
			       const uint8_t *exif, size_t exif_n, size_t *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL;
	unsigned long n = 0;

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &n);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = comps;
	c.in_color_space = cs;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, q, TRUE);
	jpeg_start_compress(&c, TRUE);
	if (exif)
		jpeg_write_marker(&c, JPEG_APP0 + 1, exif, (unsigned)exif_n);
	while (c.next_scanline < c.image_height) {
		JSAMPROW r =
		    (JSAMPROW)(samples + (size_t)c.next_scanline * w * comps);
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*len = n;
	return out;
}

/* An EXIF APP1 payload with only IFD0 tag 0x0112 = orient, in byte order
 * "II" (little) or "MM" (big); 26 bytes into out. */
static inline size_t it_exif(uint8_t *out, int orient, int little)
{
	static const uint8_t head[6] = {'E', 'x', 'i', 'f', 0, 0};
	uint8_t *t = out + 6;

	memcpy(out, head, 6);
	memset(t, 0, 26);
	t[0] = t[1] = little ? 'I' : 'M';
	if (little) {
		t[2] = 42, t[4] = 8;	    /* IFD0 at 8 */
		t[8] = 1;		    /* one entry */
		t[10] = 0x12, t[11] = 0x01; /* tag 0x0112 */
		t[12] = 3;		    /* SHORT */
		t[14] = 1;		    /* count 1 */
		t[18] = (uint8_t)orient;    /* value */
	} else {
		t[3] = 42, t[7] = 8;
		t[9] = 1;
		t[10] = 0x01, t[11] = 0x12;
		t[13] = 3;
		t[17] = 1;
		t[19] = (uint8_t)orient;
	}
	return 6 + 26;
}

static inline void it_file_write(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(d, 1, n, f) != n)
		abort();
	fclose(f);
}

#endif
