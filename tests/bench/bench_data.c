/* SPDX-License-Identifier: Apache-2.0 */
/* bench_data.c - throughput of the data loader (images/s) at 32 px and with a
 * 160 px bilinear resize, 1 and 2 worker threads, training augmentation
 * (crop + flip, and crop + flip + cutout 16) and eval mode. Reads the real
 * CIFAR-100 train.bin from ../shared when present (LMNAS_CIFAR100_DIR
 * overrides), else 50,000 synthetic images. Figures are printed, not
 * asserted. */
#include "data/data.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct bench_case {
	int resolution, threads, augment, cutout, batches;
};

static int load(struct data_set *ds, const char **source)
{
	const char *env = getenv("LMNAS_CIFAR100_DIR");
	const char *root = getenv("LMNAS_ROOT");
	char dir[PATH_MAX], err[CORE_ERR_LEN];
	struct core_rng r;
	double t0 = core_now_seconds();

	if (env)
		snprintf(dir, sizeof dir, "%s", env);
	else
		snprintf(dir, sizeof dir, "%s/../shared/data/cifar-100-binary",
			 root ? root : ".");
	if (data_cifar_load(dir, DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN, ds, err,
			    sizeof err) == CORE_OK) {
		*source = "real CIFAR-100 train.bin";
		printf("loaded %d images from %s in %.2f s\n", ds->n, dir,
		       core_now_seconds() - t0);
		return 0;
	}
	printf("no CIFAR-100 (%s): synthetic images\n", err);
	if (data_set_alloc(ds, DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN, 50000, err,
			   sizeof err)) {
		fprintf(stderr, "bench_data: %s\n", err);
		return 1;
	}
	core_rng_seed(&r, 1);
	for (size_t i = 0; i < (size_t)ds->n * DATA_IMAGE_BYTES; i++)
		ds->pixels[i] = (uint8_t)core_rng_next(&r);
	for (int i = 0; i < ds->n; i++)
		ds->labels[i] = i % 100;
	*source = "synthetic";
	return 0;
}

static int run_case(const struct data_set *ds, const struct bench_case *bc)
{
	struct data_loader_cfg cfg;
	struct data_loader *ld = NULL;
	const struct data_batch *b;
	char err[CORE_ERR_LEN];
	double t0, secs, sink = 0;
	long images = 0;

	data_loader_cfg_default(&cfg, ds);
	cfg.batch_size = 128;
	cfg.resolution = bc->resolution;
	cfg.threads = bc->threads;
	cfg.augment = bc->augment;
	cfg.cutout = bc->cutout;
	cfg.prefetch = 4;
	cfg.seed = 42;
	if (data_loader_open(&cfg, &ld, err, sizeof err)) {
		fprintf(stderr, "bench_data: %s\n", err);
		return 1;
	}
	/* warm-up: thread start-up and the first touch of every ring slot
	 * (page faults) are not part of the steady state */
	for (int i = 0; i <= cfg.prefetch; i++)
		if (data_loader_next(ld, &b, err, sizeof err) || !b)
			goto fail;
	t0 = core_now_seconds();
	for (int i = 0; i < bc->batches; i++) {
		if (data_loader_next(ld, &b, err, sizeof err) || !b)
			goto fail;
		sink +=
		    b->x[(size_t)b->n * b->resolution * b->resolution * 3 - 1];
		images += b->n;
	}
	secs = core_now_seconds() - t0;
	printf("R=%3d threads=%d %-22s %8.0f img/s  %6.2f ms/batch of 128"
	       "  (%ld images, check %.3g)\n",
	       bc->resolution, bc->threads,
	       !bc->augment ? "eval (no aug)"
	       : bc->cutout ? "crop+flip+cutout16"
			    : "crop+flip",
	       (double)images / secs, 1e3 * secs / bc->batches, images, sink);
	data_loader_close(ld);
	return 0;
fail:
	fprintf(stderr, "bench_data: next failed: %s\n", err);
	data_loader_close(ld);
	return 1;
}

int main(void)
{
	static const struct bench_case cases[] = {
	    {32, 1, 1, 0, 1000}, {32, 2, 1, 0, 1000}, {32, 1, 1, 16, 1000},
	    {32, 1, 0, 0, 1000}, {160, 1, 1, 0, 60},  {160, 2, 1, 0, 60},
	    {160, 1, 0, 0, 60},	 {64, 1, 1, 0, 300},  {64, 2, 1, 0, 300},
	};
	struct data_set ds;
	const char *source = "";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc = 0;

	if (load(&ds, &source))
		return 1;
	printf("data loader throughput, %s, batch 128, prefetch 4, %ld CPUs "
	       "(consumer idle: the loader alone)\n",
	       source, cpus);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !rc; i++)
		rc = run_case(&ds, &cases[i]);
	data_set_free(&ds);
	return rc;
}
