/* SPDX-License-Identifier: Apache-2.0 */
/* bench_import.c - import throughput and reading from the cache:
 *   1. N JPEGs of 640 x 480 (LMNAS_BENCH_IMPORT_N, default 2000; 10 classes,
 *      written with libjpeg at quality 90 first, not timed) imported at the
 *      default resolution 256: images/s of data_import_dir (2 threads);
 *   2. the loader's images/s (batch 128, 2 threads, crop + flip, 32 px) over
 *      the CIFAR-100 training set read from train.bin into memory vs the
 *      same set imported into a cache (memory-mapped).
 * Files go under $TMPDIR (default /tmp) and are removed. Figures are
 * printed, not asserted. */
#include "data/data.h"

#include <jpeglib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_jpeg(const char *path, int w, int h, const uint8_t *px)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW r = (JSAMPROW)(px + (size_t)c.next_scanline * w * 3);
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return fclose(f);
}

/* Smooth gradients plus noise: compresses like a photo, not like flat
 * colour. */
static int make_jpegs(const char *dir, int n)
{
	const int w = 640, h = 480;
	uint8_t *px = malloc((size_t)w * h * 3);
	struct core_rng r;
	char p[1024];

	if (!px)
		return -1;
	core_rng_seed(&r, 1);
	for (int c = 0; c < 10; c++) {
		snprintf(p, sizeof p, "%s/class%d", dir, c);
		if (mkdir(p, 0700) != 0)
			return -1;
	}
	for (int i = 0; i < n; i++) {
		int c = i % 10;

		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				uint8_t *q = px + ((size_t)y * w + x) * 3;
				int noise = (int)core_rng_below(&r, 24);
				q[0] =
				    (uint8_t)((x * 255 / w + c * 20 + noise) &
					      255);
				q[1] =
				    (uint8_t)((y * 255 / h + i + noise) & 255);
				q[2] = (uint8_t)(((x + y) / 5 + noise) & 255);
			}
		snprintf(p, sizeof p, "%s/class%d/%06d.jpg", dir, c, i);
		if (write_jpeg(p, w, h, px) != 0)
			return -1;
	}
	free(px);
	return 0;
}

static double loader_rate(const struct data_set *ds)
{
	struct data_loader_cfg lc;
	struct data_loader *ld;
	const struct data_batch *b;
	char err[CORE_ERR_LEN];
	double t0, sink = 0;
	int batches = 0;

	data_loader_cfg_default(&lc, ds);
	lc.threads = 2;
	lc.epochs = 1;
	if (data_loader_open(&lc, &ld, err, sizeof err)) {
		fprintf(stderr, "bench_import: %s\n", err);
		return -1;
	}
	t0 = core_now_seconds();
	while (data_loader_next(ld, &b, err, sizeof err) == CORE_OK && b &&
	       batches < 200) {
		sink += b->x[0];
		batches++;
	}
	t0 = core_now_seconds() - t0;
	data_loader_close(ld);
	return sink == 12345.678 ? 0 : batches * 128.0 / t0;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR"),
		   *nenv = getenv("LMNAS_BENCH_IMPORT_N");
	const char *root = getenv("LMNAS_ROOT");
	int n = nenv ? atoi(nenv) : 2000;
	char base[256], src[512], dst[512], cifar[PATH_MAX];
	char cmd[600], err[CORE_ERR_LEN];
	struct data_import_opts o;
	struct data_set mem, map;
	json_t *rep = NULL;
	double t0, secs;
	int rc = 1;

	snprintf(base, sizeof base, "%s/lmnas-bench-import-XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(base) || n < 10)
		return 1;
	snprintf(src, sizeof src, "%s/src", base);
	snprintf(dst, sizeof dst, "%s/cache", base);
	if (mkdir(src, 0700) != 0 || make_jpegs(src, n) != 0) {
		fprintf(stderr, "bench_import: cannot write the JPEGs\n");
		goto out;
	}
	data_import_opts_default(&o);
	o.threads = 2;
	t0 = core_now_seconds();
	if (data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err)) {
		fprintf(stderr, "bench_import: %s\n", err);
		goto out;
	}
	secs = core_now_seconds() - t0;
	printf("import of %d JPEGs 640x480 at resolution 256 (2 threads): "
	       "%.1f s, %.0f images/s\n",
	       n, secs, n / secs);
	json_decref(rep);
	rep = NULL;

	snprintf(cifar, sizeof cifar, "%s/../shared/data/cifar-100-binary",
		 root ? root : ".");
	snprintf(dst, sizeof dst, "%s/c100", base);
	if (data_cifar_load(cifar, DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN, &mem,
			    err, sizeof err)) {
		printf("no CIFAR-100 (%s): loader comparison skipped\n", err);
		rc = 0;
		goto out;
	}
	o.val_fraction = 0;
	if (data_import_dir(cifar, dst, &o, NULL, NULL, &rep, err,
			    sizeof err) ||
	    data_cache_load(dst, DATA_SPLIT_TRAIN, &map, err, sizeof err)) {
		fprintf(stderr, "bench_import: %s\n", err);
		data_set_free(&mem);
		goto out;
	}
	/* alternate, so drift on a shared machine hits both alike */
	for (int k = 0; k < 3; k++) {
		double a = loader_rate(&mem), b = loader_rate(&map);
		printf(
		    "loader 32 px, crop+flip, 2 threads, 200 batches of 128: "
		    "train.bin in memory %.0f images/s, cache mmap %.0f "
		    "images/s\n",
		    a, b);
	}
	data_set_free(&map);
	data_set_free(&mem);
	rc = 0;
out:
	json_decref(rep);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
