/* SPDX-License-Identifier: Apache-2.0 */
/* exportproj.c - quantized test networks and helpers for the export tests. */
#include "exportproj.h"

#include "exporttest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

void exportproj_make(struct exportproj *e, int ai, int n)
{
	struct arch a;
	float *cal, *x;

	exporttest_arch(ai, &a);
	cal = exporttest_images(16, a.resolution, 3, 30 + (uint64_t)ai);
	x = exporttest_images(n, a.resolution, 3, 40 + (uint64_t)ai);
	exportproj_make_model(e, &a, exporttest_model(&a, 300 + (uint64_t)ai),
			      cal, 16, x, n);
	core_free(cal);
	core_free(x);
}

void exportproj_make_model(struct exportproj *e, const struct arch *a,
			   struct model *m, const float *cal, int ncal,
			   const float *x, int n)
{
	char err[CORE_ERR_LEN];
	void *work;

	memset(e, 0, sizeof *e);
	e->arch = *a;
	e->m = m;
	if (quant_net_build(e->m, cal, ncal, NULL, &e->q, err, sizeof err)) {
		fprintf(stderr, "exportproj_make: %s\n", err);
		abort();
	}
	e->n = n;
	e->in_bytes = e->q.graph.tensors[e->q.graph.input].bytes;
	e->classes = e->q.graph.tensors[e->q.graph.output].bytes;
	e->images = core_malloc((size_t)n * e->in_bytes);
	e->expected = core_malloc((size_t)n * e->classes);
	work = core_malloc(quant_net_work_bytes(&e->q));
	if (!e->images || !e->expected || !work)
		abort();
	for (int i = 0; i < n; i++) {
		quant_net_quantize_input(&e->q, x + (size_t)i * e->in_bytes,
					 e->images + (size_t)i * e->in_bytes);
		if (quant_net_run(&e->q, e->images + (size_t)i * e->in_bytes,
				  e->expected + (size_t)i * e->classes, work,
				  err, sizeof err)) {
			fprintf(stderr, "exportproj_make: %s\n", err);
			abort();
		}
	}
	core_free(work);
}

void exportproj_free(struct exportproj *e)
{
	quant_net_free(&e->q);
	model_free(e->m);
	core_free(e->images);
	core_free(e->expected);
	memset(e, 0, sizeof *e);
}

struct codegen_options exportproj_options(const struct exportproj *e,
					  enum codegen_target t)
{
	struct codegen_options o;

	memset(&o, 0, sizeof o);
	o.target = t;
	o.n_images = e->n < CODEGEN_MAX_IMAGES ? e->n : CODEGEN_MAX_IMAGES;
	o.images = e->images;
	o.float_top1 = o.int8_top1 = -1;
	data_norm_default(DATA_KIND_CIFAR100, o.mean, o.std);
	return o;
}

int exportproj_run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, got;
	int st;

	if (!p)
		return -1;
	while (n + 1 < cap && (got = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += got;
	out[n] = '\0';
	st = pclose(p);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int exportproj_have(const char *tool)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

int exportproj_logits(const char *log, int i, int8_t *v, size_t n)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof key, "logits %d:", i);
	p = strstr(log, key);
	if (!p)
		return -1;
	p += strlen(key);
	for (size_t k = 0; k < n; k++) {
		char *end;
		long x = strtol(p, &end, 10);

		if (end == p || x < -128 || x > 127)
			return -1;
		v[k] = (int8_t)x;
		p = end;
	}
	return 0;
}

void exportproj_rmtree(const char *dir)
{
	char cmd[512];

	if (strncmp(dir, "/tmp/", 5) != 0 || strstr(dir, ".."))
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}
