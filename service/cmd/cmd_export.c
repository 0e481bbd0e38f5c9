/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_export.c - `lmnas export`: the deploy module (int8 quantization and
 * the MCU project, deploy.h) run on a checkpoint file (or an untrained
 * architecture, for sizing and benchmarks), written as a zip archive or a
 * directory, with the report summary on stdout. */
#include "cmd.h"
#include "deploy/deploy.h"
#include "train/train.h"

#include <stdio.h>
#include <string.h>

/* The untrained model of --arch (seeded weights), for sizing. */
static enum core_status arch_model(const char *path, uint64_t seed,
				   struct model **m, char *err, size_t errlen)
{
	struct core_field_errors fe;
	struct arch a;
	char *text = NULL;
	size_t len = 0;
	enum core_status st;

	st =
	    core_file_read(path, ARCH_MAX_JSON_BYTES, &text, &len, err, errlen);
	if (st)
		return st;
	core_field_errors_clear(&fe);
	st = arch_parse(text, len, &a, &fe);
	if (st) {
		char why[1024];

		core_field_errors_join(&fe, why, sizeof why);
		core_errf(err, errlen, "%s: %s", path, why);
	} else {
		st = model_build(&a, 64, 0, seed, m, err, errlen);
	}
	core_free(text);
	return st;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void print_summary(const struct deploy_result *d,
			  const struct deploy_options *o, const char *out)
{
	const struct codegen_project *p = &d->project;
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
	       d->calibration_images,
	       o->calibration == DEPLOY_CALIBRATION_MINMAX
		   ? "min/max"
		   : "percentile clipping",
	       d->input_scale, d->input_zero_point);
	if (d->float_top1 >= 0)
		printf("  accuracy        top-1 float %.2f%%, int8 %.2f%% (%d "
		       "test images)\n",
		       100 * d->float_top1, 100 * d->int8_top1, d->eval_images);
	printf("  build           make TARGET=%s (see README.md)\n",
	       codegen_target_name(p->target));
}

struct export_args {
	const char *ckpt, *arch, *target, *out, *data, *dataset, *name;
	const char *calibration;
	int calib, images, eval, threads;
	double percentile;
	uint64_t seed;
};

/* Checks the flags into o; returns 2 (usage) with a message, or 0. */
static int export_options(const struct export_args *x, struct deploy_options *o)
{
	char err[CORE_ERR_LEN];

	deploy_options_default(o);
	if (codegen_target_parse(x->target, &o->target) ||
	    data_kind_parse(x->dataset, &o->kind)) {
		fprintf(stderr,
			"lmnas export: --target must be stm32h743 or qemu and "
			"--dataset cifar10 or cifar100\n");
		return 2;
	}
	if (x->calibration) {
		if (deploy_calibration_parse(x->calibration, &o->calibration)) {
			fprintf(stderr,
				"lmnas export: --calibration: '%s' is not "
				"minmax or percentile\n",
				x->calibration);
			return 2;
		}
	} else {
		/* --percentile alone (below 100) asks for clipping */
		o->calibration = x->percentile < 100
				     ? DEPLOY_CALIBRATION_PERCENTILE
				     : DEPLOY_CALIBRATION_MINMAX;
	}
	if (x->percentile < 100)
		o->percentile = x->percentile;
	o->calibration_images = x->calib;
	o->test_images = x->images;
	o->eval_images = x->eval;
	o->threads = x->threads;
	o->name = x->name;
	o->seed = x->seed;
	if (deploy_options_validate(o, err, sizeof err)) {
		fprintf(stderr, "lmnas export: --%s\n", err);
		return 2;
	}
	return 0;
}

static int export_run(const struct export_args *x)
{
	char err[CORE_ERR_LEN];
	struct deploy_options o;
	struct deploy_result d;
	struct data_set train, test;
	struct model *m = NULL;
	char *blob = NULL;
	size_t len = 0;
	enum core_status st;
	int rc = export_options(x, &o);

	if (rc)
		return rc;
	rc = 1;
	memset(&d, 0, sizeof d);
	memset(&train, 0, sizeof train);
	memset(&test, 0, sizeof test);
	if (x->ckpt)
		st = core_file_read(x->ckpt, TRAIN_CKPT_MAX_BYTES, &blob, &len,
				    err, sizeof err);
	else
		st = arch_model(x->arch, x->seed, &m, err, sizeof err);
	if (st) {
		fprintf(stderr, "lmnas export: %s\n", err);
		goto out;
	}
	if (x->arch)
		fprintf(stderr,
			"lmnas export: untrained weights (seed %llu): "
			"for sizing and benchmarks only\n",
			(unsigned long long)x->seed);
	if (x->data) {
		if (data_set_load(x->data, o.kind, DATA_SPLIT_TRAIN, &train,
				  err, sizeof err) ||
		    data_set_load(x->data, o.kind, DATA_SPLIT_TEST, &test, err,
				  sizeof err)) {
			fprintf(stderr, "lmnas export: %s\n", err);
			goto out;
		}
	} else {
		fprintf(stderr,
			"lmnas export: no --data: calibrating on random "
			"inputs (int8 accuracy will suffer)\n");
	}
	st = m ? deploy_model(m, &train, &test, &o, &d, err, sizeof err)
	       : deploy_checkpoint(blob, len, &train, &test, &o, &d, err,
				   sizeof err);
	if (!st)
		st = ends_with(x->out, ".zip")
			 ? core_file_write_atomic(x->out, d.zip, d.zip_len, err,
						  sizeof err)
			 : codegen_project_write_dir(&d.project, x->out, err,
						     sizeof err);
	if (st) {
		fprintf(stderr, "lmnas export: %s\n", err);
		goto out;
	}
	print_summary(&d, &o, x->out);
	rc = 0;
out:
	deploy_result_free(&d);
	data_set_free(&train);
	data_set_free(&test);
	model_free(m);
	core_free(blob);
	return rc;
}

int cmd_export(const struct config *cfg, int argc, char **argv)
{
	struct export_args x = {.target = "stm32h743",
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
	     "cifar100 (default), cifar10 or cache (a directory made by "
	     "data_import_dir)"},
	    {"--calib", CMD_ARG_INT, &x.calib, 1, 50000,
	     "calibration images, default 500"},
	    {"--calibration", CMD_ARG_STRING, &x.calibration, 0, 0,
	     "minmax (default) or percentile (activation ranges clipped at "
	     "--percentile)"},
	    {"--percentile", CMD_ARG_DOUBLE, &x.percentile, 50.000001, 100,
	     "percentile calibration's percentile, default 99.99; given "
	     "alone below 100 it selects percentile calibration"},
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
	const char *usage = "lmnas export --checkpoint C --target "
			    "stm32h743|qemu --out model.zip [options]";

	(void)cfg;
	if (cmd_args_help(argc, argv)) {
		cmd_args_usage(stdout, usage, args);
		return 0;
	}
	if (cmd_args_parse(args, argc, argv, err, sizeof err) || !x.out ||
	    !x.ckpt == !x.arch) {
		fprintf(stderr, "lmnas export: %s\n",
			*err ? err
			     : "--out and one of --checkpoint or --arch are "
			       "required");
		cmd_args_usage(stderr, usage, args);
		return 2;
	}
	return export_run(&x);
}
