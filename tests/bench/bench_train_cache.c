/* SPDX-License-Identifier: Apache-2.0 */
/* bench_train_cache.c - training images/s of one small network (32 px,
 * batch 64, 2 threads, crop + flip) from CIFAR-100's train.bin read into
 * memory vs the same images imported into a cache (memory-mapped), so the
 * only difference is where the loader reads the pixels. Each run is
 * LMNAS_BENCH_STEPS optimizer steps (default 300) after 10 warm-up steps;
 * the two sources alternate twice, so drift on a shared machine hits both
 * alike. Skips (exit 0, a message) without ../shared/data. Figures are
 * printed, not asserted. */
#include "arch/arch.h"
#include "data/data.h"
#include "train/train.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *arch_json =
    "{\"format\":\"lmnas-arch/1\",\"input\":{\"resolution\":32},"
    "\"stem\":{\"out\":16,\"kernel\":3,\"stride\":1},"
    "\"stages\":["
    "{\"block\":\"dwsep\",\"out\":24,\"layers\":1,\"kernel\":3,\"stride\":2,"
    "\"skip\":\"none\",\"act\":\"relu6\"},"
    "{\"block\":\"mbconv\",\"out\":40,\"layers\":2,\"kernel\":3,"
    "\"stride\":2,\"expand\":3,\"skip\":\"residual\",\"act\":\"relu6\"}],"
    "\"head\":{\"dropout\":0.0,\"classes\":100}}";

/* images/s of `steps` steps of a fresh session on d (-1 on failure). */
static double train_rate(const struct arch *a, const struct train_config *c,
			 const struct train_data *d, int steps)
{
	char err[CORE_ERR_LEN];
	struct train_session *s = NULL;
	double t0, rate = -1;
	int end = 0;

	if (train_session_open(a, c, d, NULL, 0, &s, err, sizeof err)) {
		fprintf(stderr, "bench_train_cache: %s\n", err);
		return -1;
	}
	for (int i = 0; i < 10; i++)
		if (train_session_step(s, &end, err, sizeof err))
			goto out;
	t0 = core_now_seconds();
	for (int i = 0; i < steps; i++)
		if (train_session_step(s, &end, err, sizeof err))
			goto out;
	rate = (double)steps * c->batch / (core_now_seconds() - t0);
out:
	if (rate < 0)
		fprintf(stderr, "bench_train_cache: %s\n", err);
	train_session_close(s);
	return rate;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR"), *root = getenv("LMNAS_ROOT");
	const char *senv = getenv("LMNAS_BENCH_STEPS");
	int steps = senv ? atoi(senv) : 300;
	char base[256], dst[512], cifar[PATH_MAX], cmd[600];
	char err[CORE_ERR_LEN];
	struct data_import_opts o;
	struct train_data mem, map;
	struct core_field_errors fe;
	struct train_config c;
	struct arch a;
	json_t *rep = NULL;
	int rc = 1;

	memset(&mem, 0, sizeof mem);
	memset(&map, 0, sizeof map);
	snprintf(cifar, sizeof cifar, "%s/../shared/data/cifar-100-binary",
		 root ? root : ".");
	if (train_data_load(cifar, DATA_KIND_CIFAR100, 0, &mem, err,
			    sizeof err)) {
		printf("no CIFAR-100 under ../shared/data (%s): skipped\n",
		       err);
		return 0;
	}
	snprintf(base, sizeof base, "%s/lmnas-bench-tcache-XXXXXX",
		 tmp ? tmp : "/tmp");
	if (steps < 1 || !mkdtemp(base)) {
		train_data_free(&mem);
		return 1;
	}
	snprintf(dst, sizeof dst, "%s/c100", base);
	/* no val records in the cache: both sessions hold out the same
	 * val_fraction of the same train records */
	data_import_opts_default(&o);
	o.val_fraction = 0;
	o.threads = 2;
	if (data_import_dir(cifar, dst, &o, NULL, NULL, &rep, err,
			    sizeof err) ||
	    train_data_load(dst, DATA_KIND_CACHE, 0, &map, err, sizeof err)) {
		fprintf(stderr, "bench_train_cache: %s\n", err);
		goto out;
	}
	core_field_errors_clear(&fe);
	if (arch_parse(arch_json, strlen(arch_json), &a, &fe)) {
		fprintf(stderr, "bench_train_cache: the arch does not parse\n");
		goto out;
	}
	train_config_default(&c);
	c.batch = 64;
	c.threads = 2;
	c.loader_threads = 2;
	c.epochs = 1;
	c.eval_test = 0;
	for (int k = 0; k < 2; k++) {
		double x = train_rate(&a, &c, &mem, steps);
		double y = train_rate(&a, &c, &map, steps);

		if (x < 0 || y < 0)
			goto out;
		printf("train 32 px, batch 64, 2 threads, %d steps: train.bin "
		       "in memory %.0f images/s, cache mmap %.0f images/s "
		       "(cache/bin %.3f)\n",
		       steps, x, y, y / x);
	}
	rc = 0;
out:
	json_decref(rep);
	train_data_free(&map);
	train_data_free(&mem);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
