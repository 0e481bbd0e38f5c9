/* SPDX-License-Identifier: Apache-2.0 */
/* bench_train.c - throughput and peak memory of lmnas' training step on an
 * lmnas-arch/1 architecture: forward, distillation loss against random
 * teacher logits with label smoothing, backward, SGD with Nesterov momentum
 * and weight decay, on a random batch (no data loading: the model alone).
 * tools/bench_train_torch.py is the same step in PyTorch and
 * tests/bench/bench_train.sh runs the two alternately. Warm-up steps, then
 * timed steps; prints one line
 *
 *   lmnas arch=NAME res=R batch=N threads=T steps=S img_s=X step_ms=Y
 *         best_ms=B cpu_ms=C peak_rss_mib=Z model_mib=M
 *
 * (best_ms: the fastest single step, the least disturbed by other load on
 * the machine; cpu_ms: process CPU time per step, user + system; peak RSS
 * from getrusage: the whole process) and with --profile the wall time per layer
 * kind of the timed steps. Figures are printed, not asserted. */
#include "arch/arch.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/optim.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char usage[] =
    "usage: bench_train ARCH.json [--batch N] [--warmup N] [--steps N]\n"
    "                   [--threads N] [--profile]\n";

struct opts {
	const char *arch;
	int batch, warmup, steps, threads, profile;
};

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	o->arch = NULL;
	o->batch = 128;
	o->warmup = 3;
	o->steps = 10;
	o->threads = 2;
	o->profile = 0;
	for (int i = 1; i < argc; i++) {
		int *dst = NULL, lo = 1, hi = 4096;
		if (strcmp(argv[i], "--profile") == 0) {
			o->profile = 1;
			continue;
		}
		if (strcmp(argv[i], "--batch") == 0)
			dst = &o->batch;
		else if (strcmp(argv[i], "--warmup") == 0)
			dst = &o->warmup, lo = 0;
		else if (strcmp(argv[i], "--steps") == 0)
			dst = &o->steps;
		else if (strcmp(argv[i], "--threads") == 0)
			dst = &o->threads, hi = 256;
		if (dst) {
			if (i + 1 >= argc || parse_int(argv[++i], lo, hi, dst))
				return -1;
		} else if (argv[i][0] != '-' && !o->arch) {
			o->arch = argv[i];
		} else {
			return -1;
		}
	}
	return o->arch && o->batch >= 2 ? 0 : -1;
}

static int load_arch(const char *path, struct arch *a)
{
	struct core_field_errors fe;
	char err[CORE_ERR_LEN], *text = NULL;
	size_t len = 0;
	enum core_status st;

	if (core_file_read(path, ARCH_MAX_JSON_BYTES, &text, &len, err,
			   sizeof err)) {
		fprintf(stderr, "bench_train: %s\n", err);
		return -1;
	}
	st = arch_parse(text, len, a, &fe);
	core_free(text);
	if (st) {
		core_field_errors_join(&fe, err, sizeof err);
		fprintf(stderr, "bench_train: %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

static double normal(struct core_rng *r)
{
	double u1 = core_rng_uniform(r), u2 = core_rng_uniform(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Everything a run allocates, freed in one place. */
struct bench {
	struct model *m;
	float *x, *teacher, *dlogits, *momentum;
	int32_t *labels;
};

static void bench_free(struct bench *b)
{
	model_free(b->m);
	core_free(b->x);
	core_free(b->teacher);
	core_free(b->dlogits);
	core_free(b->momentum);
	core_free(b->labels);
}

/* One training step; the loss through *loss. */
static int step(struct bench *b, int n, const struct train_sgd *opt,
		struct core_rng *rng, double *loss, double *t_loss,
		double *t_sgd)
{
	struct model *m = b->m;
	char err[CORE_ERR_LEN];
	const float *logits = model_forward(m, b->x, n, 1, rng);
	double t = core_now_seconds();

	if (nn_loss_distill(loss, b->dlogits, logits, b->teacher, b->labels, n,
			    m->classes, 0.5f, 4.0f, 0.1f, err, sizeof err)) {
		fprintf(stderr, "bench_train: %s\n", err);
		return -1;
	}
	*t_loss += core_now_seconds() - t;
	model_zero_grads(m);
	model_backward(m, b->dlogits, n);
	t = core_now_seconds();
	train_sgd_step(opt, m->params, m->grads, b->momentum, m->decay_mask,
		       m->nparams);
	*t_sgd += core_now_seconds() - t;
	return isfinite(*loss) ? 0 : -1;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec +
	       (double)ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec;
}

static void print_profile(const struct model_profile *p, double t_loss,
			  double t_sgd, double total, int steps)
{
	double sum = t_loss + t_sgd;

	printf("  per-step wall time by layer kind (ms; %% of the step)\n");
	printf("  %-12s %9s %9s %9s %6s\n", "kind", "forward", "backward",
	       "total", "%");
	for (int k = 0; k < MODEL_PROF_COUNT; k++) {
		double f = p->fwd[k], bw = p->bwd[k];
		sum += f + bw;
		printf("  %-12s %9.2f %9.2f %9.2f %5.1f%%\n",
		       model_prof_kind_name((enum model_prof_kind)k),
		       1e3 * f / steps, 1e3 * bw / steps,
		       1e3 * (f + bw) / steps, 100.0 * (f + bw) / total);
	}
	printf("  %-12s %9s %9s %9.2f %5.1f%%\n", "loss", "", "",
	       1e3 * t_loss / steps, 100.0 * t_loss / total);
	printf("  %-12s %9s %9s %9.2f %5.1f%%\n", "sgd", "", "",
	       1e3 * t_sgd / steps, 100.0 * t_sgd / total);
	printf("  %-12s %9s %9s %9.2f %5.1f%%\n", "other", "", "",
	       1e3 * (total - sum) / steps, 100.0 * (total - sum) / total);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct arch a;
	struct bench b;
	struct model_profile prof;
	struct core_rng rng;
	struct rusage ru;
	char err[CORE_ERR_LEN];
	struct train_sgd opt = {0.01f, 0.9f, 1, 5e-4f};
	size_t nx, nt;
	double loss = 0.0, t0, c0, secs, cpu, t_loss = 0.0, t_sgd = 0.0;
	double best = 1e300;
	int rc = 1;

	memset(&b, 0, sizeof b);
	if (parse_opts(argc, argv, &o)) {
		fputs(usage, stderr);
		return 2;
	}
	if (load_arch(o.arch, &a))
		return 2;
	omp_set_num_threads(o.threads);
	if (model_build(&a, o.batch, 1, 1, &b.m, err, sizeof err)) {
		fprintf(stderr, "bench_train: %s\n", err);
		return 1;
	}
	nx = (size_t)o.batch * a.resolution * a.resolution * a.channels;
	nt = (size_t)o.batch * a.classes;
	b.x = core_malloc(nx * sizeof *b.x);
	b.teacher = core_malloc(nt * sizeof *b.teacher);
	b.dlogits = core_malloc(nt * sizeof *b.dlogits);
	b.labels = core_malloc((size_t)o.batch * sizeof *b.labels);
	b.momentum = core_calloc(b.m->nparams, sizeof *b.momentum);
	if (!b.x || !b.teacher || !b.dlogits || !b.labels || !b.momentum) {
		fprintf(stderr, "bench_train: out of memory\n");
		goto out;
	}
	core_rng_seed(&rng, 1);
	for (size_t i = 0; i < nx; i++)
		b.x[i] = (float)normal(&rng);
	for (size_t i = 0; i < nt; i++)
		b.teacher[i] = (float)(3.0 * normal(&rng));
	for (int i = 0; i < o.batch; i++)
		b.labels[i] =
		    (int32_t)core_rng_below(&rng, (uint64_t)a.classes);

	for (int s = 0; s < o.warmup; s++)
		if (step(&b, o.batch, &opt, &rng, &loss, &t_loss, &t_sgd))
			goto diverged;
	memset(&prof, 0, sizeof prof);
	if (o.profile)
		b.m->profile = &prof;
	t_loss = t_sgd = 0.0;
	c0 = cpu_seconds();
	t0 = core_now_seconds();
	for (int s = 0; s < o.steps; s++) {
		double ts = core_now_seconds();
		if (step(&b, o.batch, &opt, &rng, &loss, &t_loss, &t_sgd))
			goto diverged;
		ts = core_now_seconds() - ts;
		best = ts < best ? ts : best;
	}
	secs = core_now_seconds() - t0;
	cpu = cpu_seconds() - c0;
	getrusage(RUSAGE_SELF, &ru);
	printf("lmnas arch=%s res=%d batch=%d threads=%d steps=%d img_s=%.1f "
	       "step_ms=%.1f best_ms=%.1f cpu_ms=%.1f peak_rss_mib=%.1f "
	       "model_mib=%.1f\n",
	       a.name, a.resolution, o.batch, o.threads, o.steps,
	       (double)o.batch * o.steps / secs, 1e3 * secs / o.steps,
	       1e3 * best, 1e3 * cpu / o.steps, (double)ru.ru_maxrss / 1024.0,
	       (double)model_memory_bytes(b.m) / (1024.0 * 1024.0));
	if (o.profile)
		print_profile(&prof, t_loss, t_sgd, secs, o.steps);
	rc = 0;
	goto out;
diverged:
	fprintf(stderr, "bench_train: the loss is %g\n", loss);
out:
	bench_free(&b);
	return rc;
}
