/* SPDX-License-Identifier: Apache-2.0 */
/* image.c - PNG and JPEG decoding into RGB uint8 HWC with Debian's libpng and
 * libjpeg-turbo. Every library error is caught by a setjmp/longjmp error
 * manager and turned into a reason; the libraries never print or exit().
 * Dimensions are checked from the header, before any pixel allocation.
 * EXIF orientation of JPEG files is read by a small APP1 parser here (only
 * tag 0x0112 of IFD0 is needed, so libexif would be a dependency for one
 * number). */
#include "data.h"

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

static const char *image_format_name(const uint8_t *b, size_t n)
{
	if (n >= 8 && png_sig_cmp(b, 0, 8) == 0)
		return "png";
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return "jpeg";
	return NULL;
}

static enum core_status image_dims_check(int w, int h, char *err, size_t errlen)
{
	if (w <= 0 || h <= 0 || w > DATA_IMAGE_MAX_SIDE ||
	    h > DATA_IMAGE_MAX_SIDE || (int64_t)w * h > DATA_IMAGE_MAX_PIXELS) {
		core_errf(err, errlen,
			  "image of %d x %d pixels exceeds the limit (%d per "
			  "side, %lld pixels)",
			  w, h, DATA_IMAGE_MAX_SIDE,
			  (long long)DATA_IMAGE_MAX_PIXELS);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

void data_image_free(struct data_image *im)
{
	if (!im)
		return;
	core_free(im->rgb);
	memset(im, 0, sizeof *im);
}

/* ---- PNG ---------------------------------------------------------------- */

struct png_src {
	const uint8_t *b;
	size_t n, off;
	char msg[160];
};

static void png_on_error(png_structp p, png_const_charp msg)
{
	struct png_src *s = png_get_error_ptr(p);

	snprintf(s->msg, sizeof s->msg, "png: %s", msg);
	png_longjmp(p, 1);
}

static void png_on_warning(png_structp p, png_const_charp msg)
{
	(void)p; /* warnings (bad CRC of an ancillary chunk...) are ignored */
	(void)msg;
}

static void png_on_read(png_structp p, png_bytep out, size_t len)
{
	struct png_src *s = png_get_io_ptr(p);

	if (len > s->n - s->off)
		png_error(p, "file is truncated");
	memcpy(out, s->b + s->off, len);
	s->off += len;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The PNG spec puts IHDR first, at a fixed offset: its size is read here,
 * before libpng (whose png_read_info already reads the next chunks) */
static enum core_status png_ihdr_peek(const uint8_t *b, size_t n,
				      struct data_image *im, char *err,
				      size_t errlen)
{
	uint32_t w, h;

	if (n < 33 || be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0) {
		core_errf(err, errlen, "png: no IHDR chunk first");
		return CORE_ERR_INVALID;
	}
	w = be32(b + 16);
	h = be32(b + 20);
	if (w > (uint32_t)DATA_IMAGE_MAX_SIDE ||
	    h > (uint32_t)DATA_IMAGE_MAX_SIDE) {
		core_errf(err, errlen,
			  "png: image of %u x %u pixels exceeds the limit (%d "
			  "per side)",
			  (unsigned)w, (unsigned)h, DATA_IMAGE_MAX_SIDE);
		return CORE_ERR_INVALID;
	}
	if (image_dims_check((int)w, (int)h, err, errlen))
		return CORE_ERR_INVALID;
	im->width = (int)w;
	im->height = (int)h;
	im->source_depth = b[24];
	im->source_channels = (b[25] & PNG_COLOR_MASK_COLOR) ? 3 : 1;
	return CORE_OK;
}

/* Volatile across setjmp: what cleanup must free after a longjmp. */
static enum core_status png_decode(const uint8_t *buf, size_t len,
				   int header_only, struct data_image *im,
				   char *err, size_t errlen)
{
	struct png_src src = {.b = buf, .n = len};
	png_structp p;
	png_infop info = NULL;
	uint8_t *volatile rgb = NULL;
	png_bytep *volatile rows = NULL;
	volatile enum core_status st = CORE_ERR_INVALID;
	png_uint_32 w, h;
	int depth, ctype;

	if (png_ihdr_peek(buf, len, im, err, errlen))
		return CORE_ERR_INVALID;
	if (header_only)
		return CORE_OK;
	p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error,
				   png_on_warning);
	if (!p) {
		core_errf(err, errlen, "png: out of memory");
		return CORE_ERR_NOMEM;
	}
	info = png_create_info_struct(p);
	if (!info) {
		png_destroy_read_struct(&p, NULL, NULL);
		core_errf(err, errlen, "png: out of memory");
		return CORE_ERR_NOMEM;
	}
	if (setjmp(png_jmpbuf(p))) {
		core_errf(err, errlen, "%s", src.msg);
		goto out;
	}
	/* libpng's own limit is 1,000,000 per side: ours, again */
	png_set_user_limits(p, DATA_IMAGE_MAX_SIDE, DATA_IMAGE_MAX_SIDE);
	png_set_read_fn(p, &src, png_on_read);
	png_read_info(p, info);
	png_get_IHDR(p, info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
	if (w > (png_uint_32)DATA_IMAGE_MAX_SIDE ||
	    h > (png_uint_32)DATA_IMAGE_MAX_SIDE) {
		core_errf(err, errlen,
			  "png: image of %u x %u pixels exceeds the limit (%d "
			  "per side)",
			  (unsigned)w, (unsigned)h, DATA_IMAGE_MAX_SIDE);
		goto out;
	}
	st = image_dims_check((int)w, (int)h, err, errlen);
	if (st)
		goto out;
	st = CORE_ERR_INVALID;
	im->width = (int)w;
	im->height = (int)h;
	im->source_channels = (ctype & PNG_COLOR_MASK_COLOR) ? 3 : 1;
	if (ctype == PNG_COLOR_TYPE_PALETTE)
		im->source_channels = 3;
	im->source_depth = depth;
	/* to 8-bit RGB: 16-bit samples keep their high byte (not treated as
	 * linear light, unlike the simplified API), palette and low-bit gray
	 * expanded, gray replicated to three channels, alpha dropped (not
	 * composited: a transparent pixel keeps its stored colour) */
	if (depth == 16)
		png_set_strip_16(p);
	if (ctype == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(p);
	if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(p);
	if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)
		png_set_gray_to_rgb(p);
	if (ctype & PNG_COLOR_MASK_ALPHA)
		png_set_strip_alpha(p);
	png_set_interlace_handling(p);
	png_read_update_info(p, info);
	if (png_get_rowbytes(p, info) != (size_t)w * 3) {
		core_errf(err, errlen,
			  "png: unexpected row size after "
			  "conversion to RGB");
		goto out;
	}
	rgb = core_malloc((size_t)w * h * 3);
	rows = core_malloc((size_t)h * sizeof *rows);
	if (!rgb || !rows) {
		core_errf(err, errlen, "png: out of memory for %u x %u",
			  (unsigned)w, (unsigned)h);
		st = CORE_ERR_NOMEM;
		goto out;
	}
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = rgb + (size_t)y * w * 3;
	png_read_image(p, rows);
	png_read_end(p, NULL);
	im->rgb = rgb;
	rgb = NULL;
	st = CORE_OK;
out:
	png_destroy_read_struct(&p, &info, NULL);
	core_free(rows);
	core_free(rgb);
	return st;
}

/* ---- JPEG --------------------------------------------------------------- */

struct jpeg_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX + 8];
};

static void jpeg_on_error(j_common_ptr c)
{
	struct jpeg_err *e = (struct jpeg_err *)c->err;
	char m[JMSG_LENGTH_MAX];

	(*c->err->format_message)(c, m);
	snprintf(e->msg, sizeof e->msg, "jpeg: %s", m);
	longjmp(e->jb, 1);
}

/* A warning is corrupt data that libjpeg patched over (a truncated file is
 * padded with gray): for training data that is a bad file, so the first
 * warning is kept and fails the decode at the end. Trace messages
 * (level > 0) are ignored. */
static void jpeg_on_emit(j_common_ptr c, int level)
{
	struct jpeg_err *e = (struct jpeg_err *)c->err;
	char m[JMSG_LENGTH_MAX];

	if (level >= 0)
		return;
	if (!e->pub.num_warnings++) {
		(*c->err->format_message)(c, m);
		snprintf(e->msg, sizeof e->msg, "jpeg: %s", m);
	}
}

static unsigned rd16(const uint8_t *p, int le)
{
	return le ? (unsigned)p[0] | (unsigned)p[1] << 8
		  : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t rd32(const uint8_t *p, int le)
{
	return le ? (uint32_t)rd16(p, 1) | (uint32_t)rd16(p + 2, 1) << 16
		  : (uint32_t)rd16(p, 0) << 16 | (uint32_t)rd16(p + 2, 0);
}

int data_exif_orientation(const uint8_t *app1, size_t n)
{
	const uint8_t *t;
	size_t tn;
	uint32_t ifd;
	unsigned count;
	int le;

	if (n < 14 || memcmp(app1, "Exif\0\0", 6) != 0)
		return 1;
	t = app1 + 6;
	tn = n - 6;
	if (t[0] == 'I' && t[1] == 'I')
		le = 1;
	else if (t[0] == 'M' && t[1] == 'M')
		le = 0;
	else
		return 1;
	if (rd16(t + 2, le) != 42)
		return 1;
	ifd = rd32(t + 4, le);
	if (ifd > tn || tn - ifd < 2)
		return 1;
	count = rd16(t + ifd, le);
	for (unsigned i = 0; i < count; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		unsigned v;

		if (e + 12 > tn)
			return 1;
		if (rd16(t + e, le) != 0x0112)
			continue;
		/* SHORT, count 1: the value sits in the first two bytes */
		if (rd16(t + e + 2, le) != 3)
			return 1;
		v = rd16(t + e + 8, le);
		return v >= 1 && v <= 8 ? (int)v : 1;
	}
	return 1;
}

/* CMYK/YCCK JPEGs are all but always written by Adobe software, which
 * stores the inks inverted (0 = full ink): R = C * K / 255 then. A file
 * without the Adobe marker holds plain inks: R = (255 - C)(255 - K) / 255. */
static void cmyk_to_rgb(uint8_t *dst, const uint8_t *src, int w, int inverted)
{
	for (int x = 0; x < w; x++) {
		unsigned c = src[4 * x], m = src[4 * x + 1], y = src[4 * x + 2],
			 k = src[4 * x + 3];

		if (!inverted) {
			c = 255 - c;
			m = 255 - m;
			y = 255 - y;
			k = 255 - k;
		}
		dst[3 * x] = (uint8_t)((c * k + 127) / 255);
		dst[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
		dst[3 * x + 2] = (uint8_t)((y * k + 127) / 255);
	}
}

static enum core_status jpeg_decode(const uint8_t *buf, size_t len,
				    int header_only, struct data_image *im,
				    char *err, size_t errlen)
{
	struct jpeg_decompress_struct d;
	struct jpeg_err je;
	uint8_t *volatile rgb = NULL;
	uint8_t *volatile line = NULL;
	volatile enum core_status st = CORE_ERR_INVALID;
	int cmyk;

	memset(&d, 0, sizeof d);
	d.err = jpeg_std_error(&je.pub);
	je.pub.error_exit = jpeg_on_error;
	je.pub.emit_message = jpeg_on_emit;
	je.msg[0] = 0;
	if (setjmp(je.jb)) {
		core_errf(err, errlen, "%s", je.msg);
		goto out;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, buf, (unsigned long)len);
	jpeg_save_markers(&d, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(&d, TRUE);
	st = image_dims_check((int)d.image_width, (int)d.image_height, err,
			      errlen);
	if (st)
		goto out;
	st = CORE_ERR_INVALID;
	im->orientation = 1;
	for (jpeg_saved_marker_ptr m = d.marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1) {
			im->orientation =
			    data_exif_orientation(m->data, m->data_length);
			if (im->orientation != 1)
				break;
		}
	im->source_channels = d.num_components;
	im->source_depth = 8;
	cmyk = d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK;
	if (d.num_components != 1 && d.num_components != 3 && !cmyk) {
		core_errf(err, errlen,
			  "jpeg: %d colour components are not supported "
			  "(gray, RGB/YCbCr or CMYK)",
			  d.num_components);
		goto out;
	}
	/* stored (pre-rotation) size: the caller rotates */
	im->width = (int)d.image_width;
	im->height = (int)d.image_height;
	if (header_only) {
		st = CORE_OK;
		goto out;
	}
	d.out_color_space = cmyk ? JCS_CMYK : JCS_RGB; /* gray replicated */
	jpeg_start_decompress(&d);
	rgb = core_malloc((size_t)d.output_width * d.output_height * 3);
	line = cmyk ? core_malloc((size_t)d.output_width * 4) : NULL;
	if (!rgb || (cmyk && !line)) {
		core_errf(err, errlen, "jpeg: out of memory");
		st = CORE_ERR_NOMEM;
		goto out;
	}
	while (d.output_scanline < d.output_height) {
		uint8_t *row =
		    rgb + (size_t)d.output_scanline * d.output_width * 3;
		JSAMPROW r = cmyk ? line : row;

		jpeg_read_scanlines(&d, &r, 1);
		if (cmyk)
			cmyk_to_rgb(row, line, (int)d.output_width,
				    d.saw_Adobe_marker);
	}
	jpeg_finish_decompress(&d);
	if (je.pub.num_warnings) {
		core_errf(err, errlen, "%s", je.msg);
		goto out;
	}
	im->rgb = rgb;
	rgb = NULL;
	st = CORE_OK;
out:
	jpeg_destroy_decompress(&d);
	core_free(line);
	core_free(rgb);
	return st;
}

/* Applies EXIF orientation o (2..8) to im in place (new buffer). */
static enum core_status image_orient(struct data_image *im, char *err,
				     size_t errlen)
{
	const int o = im->orientation, w = im->width, h = im->height;
	const int swap = o >= 5; /* 5..8 transpose the axes */
	const int ow = swap ? h : w, oh = swap ? w : h;
	uint8_t *out;

	if (o <= 1 || o > 8)
		return CORE_OK;
	out = core_malloc((size_t)w * h * 3);
	if (!out) {
		core_errf(err, errlen, "image: out of memory");
		return CORE_ERR_NOMEM;
	}
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			int sx, sy;

			switch (o) {
			case 2: sx = w - 1 - x, sy = y; break;
			case 3: sx = w - 1 - x, sy = h - 1 - y; break;
			case 4: sx = x, sy = h - 1 - y; break;
			case 5: sx = y, sy = x; break;
			case 6: sx = y, sy = h - 1 - x; break;
			case 7: sx = w - 1 - y, sy = h - 1 - x; break;
			default: sx = w - 1 - y, sy = x; break; /* 8 */
			}
			memcpy(out + ((size_t)y * ow + x) * 3,
			       im->rgb + ((size_t)sy * w + sx) * 3, 3);
		}
	core_free(im->rgb);
	im->rgb = out;
	im->width = ow;
	im->height = oh;
	return CORE_OK;
}

enum core_status data_image_decode(const uint8_t *buf, size_t len, int flags,
				   struct data_image *im, char *err,
				   size_t errlen)
{
	const char *fmt = image_format_name(buf, len);
	enum core_status st;

	memset(im, 0, sizeof *im);
	if (!fmt) {
		core_errf(err, errlen, "not a PNG or JPEG file (signature)");
		return CORE_ERR_INVALID;
	}
	im->format = fmt;
	im->orientation = 1;
	if (fmt[0] == 'p')
		st = png_decode(buf, len, flags & DATA_IMAGE_HEADER_ONLY, im,
				err, errlen);
	else
		st = jpeg_decode(buf, len, flags & DATA_IMAGE_HEADER_ONLY, im,
				 err, errlen);
	if (!st && (flags & DATA_IMAGE_HEADER_ONLY) && im->orientation >= 5) {
		int t = im->width;
		im->width = im->height;
		im->height = t;
	} else if (!st && !(flags & DATA_IMAGE_HEADER_ONLY)) {
		st = image_orient(im, err, errlen);
	}
	if (st)
		data_image_free(im);
	return st;
}
