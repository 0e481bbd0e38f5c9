/* cmd_export.c - `lmnas export`: post-training quantization of a checkpoint
 * (or of an untrained architecture, for sizing and benchmarks), optional
 * float/int8 evaluation, and the MCU project for a target as a zip archive
 * or a directory, with the report summary on stdout. */
#include "cmd.h"
#include "codegen/codegen.h"
#include "quant/quant.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int load_model(const struct cmd_export_args *x, struct model **m,
		      char *err, size_t errlen)
{
	struct core_field_errors fe;
	struct arch a;
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (x->ckpt) {
		if (core_file_read(x->ckpt, TRAIN_CKPT_MAX_BYTES, &text, &len,
				   err, errlen) ||
		    train_checkpoint_arch(text, len, &a, err, errlen) ||
		    model_build(&a, 64, 0, 0, m, err, errlen) ||
		    train_checkpoint_restore(text, len, *m, NULL, NULL, err,
					     errlen))
			goto out;
	} else {
		if (core_file_read(x->arch, ARCH_MAX_JSON_BYTES, &text, &len,
				   err, errlen))
			goto out;
		core_field_errors_clear(&fe);
		if (arch_parse(text, len, &a, &fe)) {
			char why[1024];

			core_field_errors_join(&fe, why, sizeof why);
			core_errf(err, errlen, "%s: %s", x->arch, why);
			goto out;
		}
		if (model_build(&a, 64, 0, x->seed, m, err, errlen))
			goto out;
	}
	rc = 0;
out:
	core_free(text);
	return rc;
}

/* n normalized images: from ds, or N(0, 1) noise without data. */
static int images_get(const struct data_set *ds, int n, int r, float **x,
		      int32_t *labels, uint64_t seed, char *err, size_t errlen)
{
	struct core_rng g;
	size_t count = (size_t)n * (size_t)r * (size_t)r * 3;

	if (ds->n)
		return quant_images_load(ds, n < ds->n ? n : ds->n, r, x,
					 labels, err, errlen)
			   ? -1
			   : 0;
	*x = core_malloc(count * sizeof **x);
	if (!*x) {
		core_errf(err, errlen, "out of memory for %d images", n);
		return -1;
	}
	core_rng_seed(&g, seed);
	for (size_t i = 0; i < count; i++) {
		double u1 = core_rng_uniform(&g), u2 = core_rng_uniform(&g);
		(*x)[i] = (float)(sqrt(-2.0 * log(u1 + 1e-300)) *
				  cos(6.283185307179586 * u2));
	}
	for (int i = 0; labels && i < n; i++)
		labels[i] = -1;
	return 0;
}

/* Float and int8 top-1 on n test images spread over ds. */
static int evaluate(struct model *m, const struct quant_net *q,
		    const struct data_set *ds, int n, int threads, double *f1,
		    double *i1, char *err, size_t errlen)
{
	struct train_metrics met;
	int32_t *idx;
	int rc = -1;

	if (n > ds->n)
		n = ds->n;
	idx = core_malloc((size_t)n * sizeof *idx);
	if (!idx) {
		core_errf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++)
		idx[i] = (int32_t)((int64_t)i * ds->n / n);
	if (train_evaluate(m, ds, idx, n, 64, m->arch.resolution, threads, &met,
			   err, errlen) ||
	    quant_net_evaluate(q, ds, idx, n, threads, i1, err, errlen))
		goto out;
	*f1 = met.top1;
	rc = 0;
out:
	core_free(idx);
	return rc;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void print_summary(const struct codegen_project *p,
			  const struct quant_net *q,
			  const struct codegen_options *o, const char *out)
{
	const struct cost_report *r = &p->cost;
	const struct codegen_target_info *ti = codegen_target_info(p->target);

	printf("exported %s for %s to %s (%d files)\n", p->name, ti->board, out,
	       p->nfiles);
	printf("  MACs            %llu\n", (unsigned long long)r->macs);
	printf("  params          %llu (BN folded)\n",
	       (unsigned long long)r->params_deployed);
	printf("  flash estimate  %llu B (weights %llu, biases %llu, requant "
	       "%llu, LUTs %llu, op calls %llu, kernels and runtime %llu) + "
	       "%llu B of test images; %.1f%% of %llu B\n",
	       (unsigned long long)r->flash.total,
	       (unsigned long long)r->flash.weights,
	       (unsigned long long)r->flash.biases,
	       (unsigned long long)r->flash.requant,
	       (unsigned long long)r->flash.luts,
	       (unsigned long long)r->flash.ops,
	       (unsigned long long)r->flash.runtime,
	       (unsigned long long)p->test_data_bytes,
	       100.0 * (double)(r->flash.total + p->test_data_bytes) /
		   (double)ti->flash,
	       (unsigned long long)ti->flash);
	printf("  SRAM            arena %zu B in %s (peak live set %zu B at "
	       "%s)\n",
	       p->arena_bytes, p->arena_region, r->plan.peak_live_bytes,
	       r->plan.peak_op >= 0 ? r->graph.ops[r->plan.peak_op].name : "-");
	printf("  quantization    %d calibration images, %s; input scale "
	       "%.6g zero point %ld\n",
	       q->calib_images,
	       q->percentile >= 100 ? "min/max" : "percentile clipping",
	       q->tq[q->graph.input].scale, (long)q->tq[q->graph.input].zp);
	if (o->float_top1 >= 0)
		printf("  accuracy        top-1 float %.2f%%, int8 %.2f%% (%d "
		       "test images)\n",
		       100 * o->float_top1, 100 * o->int8_top1, o->eval_images);
	printf("  build           make TARGET=%s (see README.md)\n",
	       codegen_target_name(p->target));
}

int cmd_export_run(const struct cmd_export_args *xp, char **report_json)
{
	struct cmd_export_args x = *xp;
	char err[CORE_ERR_LEN];
	struct model *m = NULL;
	struct quant_net q;
	struct quant_config qc;
	struct codegen_options o;
	struct codegen_project p;
	struct data_set train, test;
	enum codegen_target target;
	enum data_kind kind;
	float *cal = NULL, *img = NULL;
	int8_t *img8 = NULL;
	int32_t labels[CODEGEN_MAX_IMAGES];
	size_t in_bytes;
	int rc = 1;

	if (report_json)
		*report_json = NULL;
	memset(&q, 0, sizeof q);
	memset(&p, 0, sizeof p);
	memset(&train, 0, sizeof train);
	memset(&test, 0, sizeof test);
	if (codegen_target_parse(x.target, &target) ||
	    data_kind_parse(x.dataset, &kind)) {
		fprintf(stderr,
			"lmnas export: --target must be stm32h743 or qemu and "
			"--dataset cifar10 or cifar100\n");
		return 2;
	}
	if (load_model(&x, &m, err, sizeof err)) {
		fprintf(stderr, "lmnas export: %s\n", err);
		goto out;
	}
	if (x.arch)
		fprintf(stderr,
			"lmnas export: untrained weights (seed %llu): "
			"for sizing and benchmarks only\n",
			(unsigned long long)x.seed);
	if (x.data) {
		if (data_cifar_load(x.data, kind, DATA_SPLIT_TRAIN, &train, err,
				    sizeof err) ||
		    data_cifar_load(x.data, kind, DATA_SPLIT_TEST, &test, err,
				    sizeof err)) {
			fprintf(stderr, "lmnas export: %s\n", err);
			goto out;
		}
	} else {
		fprintf(stderr,
			"lmnas export: no --data: calibrating on random "
			"inputs (int8 accuracy will suffer)\n");
	}
	if (m->arch.channels != 3) {
		fprintf(stderr, "lmnas export: only 3-channel (CIFAR) inputs "
				"are supported\n");
		goto out;
	}
	quant_config_default(&qc);
	qc.percentile = x.percentile;
	if (images_get(&train, x.calib, m->arch.resolution, &cal, NULL, 11, err,
		       sizeof err) ||
	    quant_net_build(m, cal,
			    train.n && x.calib > train.n ? train.n : x.calib,
			    &qc, &q, err, sizeof err) ||
	    images_get(&test, x.images, m->arch.resolution, &img, labels, 12,
		       err, sizeof err)) {
		fprintf(stderr, "lmnas export: %s\n", err);
		goto out;
	}
	memset(&o, 0, sizeof o);
	o.target = target;
	o.name = x.name;
	o.n_images = test.n && x.images > test.n ? test.n : x.images;
	o.labels = labels;
	o.float_top1 = o.int8_top1 = -1;
	o.dataset = x.data ? x.dataset : NULL;
	data_norm_default(kind, o.mean, o.std);
	in_bytes = q.graph.tensors[q.graph.input].bytes;
	img8 = core_malloc((size_t)o.n_images * in_bytes);
	if (!img8) {
		fprintf(stderr, "lmnas export: out of memory\n");
		goto out;
	}
	for (int i = 0; i < o.n_images; i++)
		quant_net_quantize_input(&q, img + (size_t)i * in_bytes,
					 img8 + (size_t)i * in_bytes);
	o.images = img8;
	if (x.eval && test.n) {
		if (evaluate(m, &q, &test, x.eval, x.threads, &o.float_top1,
			     &o.int8_top1, err, sizeof err)) {
			fprintf(stderr, "lmnas export: --eval: %s\n", err);
			goto out;
		}
		o.eval_images = x.eval < test.n ? x.eval : test.n;
	}
	if (codegen_project_build(&q, &o, &p, err, sizeof err) ||
	    (ends_with(x.out, ".zip")
		 ? codegen_project_write_zip(&p, x.out, err, sizeof err)
		 : codegen_project_write_dir(&p, x.out, err, sizeof err))) {
		fprintf(stderr, "lmnas export: %s\n", err);
		goto out;
	}
	if (report_json) {
		const struct codegen_out *r =
		    codegen_project_find(&p, "report.json");
		*report_json = r ? core_strdup(r->data) : NULL;
	}
	print_summary(&p, &q, &o, x.out);
	rc = 0;
out:
	codegen_project_free(&p);
	quant_net_free(&q);
	core_free(cal);
	core_free(img);
	core_free(img8);
	data_set_free(&train);
	data_set_free(&test);
	model_free(m);
	return rc;
}

int cmd_export(const struct config *cfg, int argc, char **argv)
{
	struct cmd_export_args x = {.target = "stm32h743",
				    .dataset = "cifar100",
				    .calib = 500,
				    .images = 3,
				    .eval = 0,
				    .threads = 1,
				    .percentile = 100.0,
				    .seed = 1};
	const struct cmd_arg args[] = {
	    {"--checkpoint", CMD_ARG_STRING, &x.ckpt, 0, 0,
	     "checkpoint.lmnas to export"},
	    {"--arch", CMD_ARG_STRING, &x.arch, 0, 0,
	     "instead of --checkpoint: an lmnas-arch/1 file with untrained "
	     "(seeded) weights, for sizing and benchmarks"},
	    {"--target", CMD_ARG_STRING, &x.target, 0, 0,
	     "stm32h743 (default) or qemu"},
	    {"--out", CMD_ARG_STRING, &x.out, 0, 0,
	     "model.zip, or a directory (required)"},
	    {"--data", CMD_ARG_STRING, &x.data, 0, 0,
	     "CIFAR binary files: calibration (train split), test images and "
	     "--eval (test split); without it, random inputs"},
	    {"--dataset", CMD_ARG_STRING, &x.dataset, 0, 0,
	     "cifar100 (default) or cifar10"},
	    {"--calib", CMD_ARG_INT, &x.calib, 1, 50000,
	     "calibration images, default 500"},
	    {"--percentile", CMD_ARG_DOUBLE, &x.percentile, 50.000001, 100,
	     "activation range percentile, default 100 (min/max)"},
	    {"--images", CMD_ARG_INT, &x.images, 1, CODEGEN_MAX_IMAGES,
	     "test images embedded in the project, default 3"},
	    {"--eval", CMD_ARG_INT, &x.eval, 0, 10000,
	     "float and int8 top-1 on this many test images, default 0"},
	    {"--name", CMD_ARG_STRING, &x.name, 0, 0,
	     "project name (default: the architecture's)"},
	    {"--threads", CMD_ARG_INT, &x.threads, 1, 64, "default 1"},
	    {"--seed", CMD_ARG_U64, &x.seed, 0, 0,
	     "--arch: weight seed, default 1"},
	    {NULL, 0, NULL, 0, 0, NULL},
	};
	char err[CORE_ERR_LEN] = "";

	(void)cfg;
	if (cmd_args_parse(args, argc, argv, err, sizeof err) || !x.out ||
	    !x.ckpt == !x.arch) {
		fprintf(stderr, "lmnas export: %s\n",
			*err ? err
			     : "--out and one of --checkpoint or --arch are "
			       "required");
		cmd_args_usage(stderr,
			       "lmnas export --checkpoint C --target "
			       "stm32h743|qemu --out model.zip [options]",
			       args);
		return 2;
	}
	return cmd_export_run(&x, NULL);
}
