/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_train.c - `lmnas train` (train an architecture on CIFAR, with optional
 * distillation, as a training session over data loaded up front; every
 * input checked before --out is written; progress bar on a TTY, JSON lines
 * otherwise; epoch checkpoints in --out) and `lmnas eval` (evaluate a
 * checkpoint, in float and, with --int8, post-training quantized). */
#include "cmd.h"
#include "quant/quant.h"
#include "train/train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct train_cli {
	const char *out;
	int tty;
	FILE *metrics; /* out/metrics.jsonl */
};

static void fmt_eta(double s, char *buf, size_t len)
{
	long t = s > 0 && s < 1e8 ? (long)s : 0;

	snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

static int on_progress(const struct train_progress *p, void *ctx)
{
	struct train_cli *cli = ctx;
	char eta[32];

	fmt_eta(p->eta_s, eta, sizeof eta);
	if (p->epoch_done) {
		char line[512];
		snprintf(
		    line, sizeof line,
		    "{\"event\":\"epoch\",\"epoch\":%d,\"epochs\":%d,"
		    "\"train_loss\":%.6f,\"lr\":%.6g,\"val_top1\":%.4f,"
		    "\"val_top5\":%.4f,\"val_loss\":%.5f,\"img_per_s\":%.1f,"
		    "\"seconds\":%.1f}",
		    p->epoch + 1, p->epochs, p->loss, p->lr, p->val.top1,
		    p->val.top5, p->val.loss, p->img_per_s, p->epoch_seconds);
		if (cli->metrics) {
			fprintf(cli->metrics, "%s\n", line);
			fflush(cli->metrics);
		}
		if (cli->tty)
			printf(
			    "\r\033[Kepoch %d/%d  loss %.4f  val top-1 %.2f%%  "
			    "top-5 %.2f%%  (%.0f s)\n",
			    p->epoch + 1, p->epochs, p->loss, 100 * p->val.top1,
			    100 * p->val.top5, p->epoch_seconds);
		else
			printf("%s\n", line);
		fflush(stdout);
		return 0;
	}
	if (cli->tty) {
		int width = 30;
		int done = (int)(width * p->step / (p->steps ? p->steps : 1));
		printf("\r\033[Kepoch %d/%d [%.*s%*s] %ld/%ld  loss %.4f  "
		       "%.0f img/s  ETA %s",
		       p->epoch + 1, p->epochs, done,
		       "##############################", width - done, "",
		       p->step, p->steps, p->loss, p->img_per_s, eta);
	} else {
		printf("{\"event\":\"progress\",\"epoch\":%d,\"step\":%ld,"
		       "\"steps\":%ld,\"loss\":%.6f,\"lr\":%.6g,"
		       "\"img_per_s\":%.1f,\"eta_s\":%.0f}\n",
		       p->epoch + 1, p->step, p->steps, p->loss, p->lr,
		       p->img_per_s, p->eta_s);
	}
	fflush(stdout);
	return 0;
}

static enum core_status on_checkpoint(const void *blob, size_t len, int epoch,
				      void *ctx, char *err, size_t errlen)
{
	struct train_cli *cli = ctx;
	char path[4096];

	snprintf(path, sizeof path, "%s/checkpoint.lmnas", cli->out);
	return core_file_write_atomic(path, blob, len, err, errlen);
}

static int parse_alpha(const char *s, double *a0, double *a1, char *err,
		       size_t errlen)
{
	char *end = NULL;

	errno = 0;
	*a0 = strtod(s, &end);
	*a1 = -1.0;
	if (errno || end == s || (*end && *end != ':') || !(*a0 >= 0) ||
	    *a0 > 1)
		goto bad;
	if (*end == ':') {
		const char *t = end + 1;
		*a1 = strtod(t, &end);
		if (errno || end == t || *end || !(*a1 >= 0) || *a1 > 1)
			goto bad;
	}
	return 0;
bad:
	core_errf(err, errlen,
		  "--kd-alpha: '%s' is not A or A0:A1 with "
		  "values in [0, 1]",
		  s);
	return -1;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		core_errf(err, errlen, "--out %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int load_arch_file(const char *path, struct arch *a)
{
	char err[CORE_ERR_LEN], why[2048];
	struct core_field_errors fe;
	char *text = NULL;
	size_t len = 0;

	if (core_file_read(path, ARCH_MAX_JSON_BYTES, &text, &len, err,
			   sizeof err)) {
		fprintf(stderr, "lmnas: --arch %s\n", err);
		return -1;
	}
	core_field_errors_clear(&fe);
	if (arch_parse(text, len, a, &fe)) {
		core_field_errors_join(&fe, why, sizeof why);
		fprintf(stderr, "lmnas: --arch %s: %s\n", path, why);
		core_free(text);
		return -1;
	}
	core_free(text);
	return 0;
}

int cmd_train(const struct config *cfg, int argc, char **argv)
{
	struct train_config tc;
	struct train_result res;
	struct train_hooks hooks;
	struct train_data data;
	struct train_session *s = NULL;
	int done = 0;
	const char *usage =
	    "lmnas train --arch A.json --data DIR --out DIR [options]";
	struct train_cli cli = {0};
	struct arch a;
	char err[CORE_ERR_LEN], path[4096];
	const char *arch_path = NULL, *dataset = "cifar100", *alpha = NULL;
	const char *resume = NULL, *schedule = "cosine";
	int no_aug = 0, no_test = 0, no_nesterov = 0, rc = 1;
	char *blob = NULL;
	size_t blob_len = 0;
	enum core_status st = CORE_OK;

	train_config_default(&tc);
	const struct cmd_arg args[] = {
	    {"--arch", CMD_ARG_STRING, &arch_path, 0, 0,
	     "lmnas-arch/1 JSON file (required)"},
	    {"--data", CMD_ARG_STRING, &tc.data_dir, 0, 0,
	     "directory with the CIFAR binary files (required)"},
	    {"--dataset", CMD_ARG_STRING, &dataset, 0, 0,
	     "cifar100 (default), cifar10 or cache (a directory made by "
	     "data_import_dir)"},
	    {"--out", CMD_ARG_STRING, &cli.out, 0, 0,
	     "output directory: checkpoint.lmnas, metrics.jsonl, "
	     "result.json (required)"},
	    {"--epochs", CMD_ARG_INT, &tc.epochs, 1, 10000, "default 10"},
	    {"--batch", CMD_ARG_INT, &tc.batch, 2, 4096, "default 128"},
	    {"--lr", CMD_ARG_DOUBLE, &tc.lr, 1e-9, 10, "default 0.05"},
	    {"--min-lr", CMD_ARG_DOUBLE, &tc.min_lr, 0, 10, "default 0"},
	    {"--warmup", CMD_ARG_DOUBLE, &tc.warmup_epochs, 0, 10000,
	     "warmup epochs, default 1"},
	    {"--schedule", CMD_ARG_STRING, &schedule, 0, 0,
	     "cosine (default), step or constant"},
	    {"--step-epochs", CMD_ARG_DOUBLE, &tc.step_epochs, 1e-9, 1e6,
	     "step schedule: epochs per step, default 30"},
	    {"--step-gamma", CMD_ARG_DOUBLE, &tc.step_gamma, 1e-9, 1,
	     "step schedule: factor, default 0.1"},
	    {"--momentum", CMD_ARG_DOUBLE, &tc.momentum, 0, 0.999999,
	     "default 0.9 (Nesterov)"},
	    {"--no-nesterov", CMD_ARG_FLAG, &no_nesterov, 0, 0, ""},
	    {"--weight-decay", CMD_ARG_DOUBLE, &tc.weight_decay, 0, 0.999,
	     "default 5e-4, not on BN and biases"},
	    {"--decay-bn-bias", CMD_ARG_FLAG, &tc.decay_bn_and_bias, 0, 0,
	     "apply weight decay to BN parameters and biases too"},
	    {"--clip", CMD_ARG_DOUBLE, &tc.clip_norm, 0, 1e9,
	     "gradient-norm clip, 0 = off (default)"},
	    {"--label-smoothing", CMD_ARG_DOUBLE, &tc.label_smoothing, 0, 0.999,
	     "default 0.1"},
	    {"--teacher-logits", CMD_ARG_STRING, &tc.teacher_logits, 0, 0,
	     ".npy (N, classes) float32/float16 in training-file order"},
	    {"--kd-T", CMD_ARG_DOUBLE, &tc.kd_temperature, 1e-6, 100,
	     "distillation temperature, default 4"},
	    {"--kd-alpha", CMD_ARG_STRING, &alpha, 0, 0,
	     "weight of the label loss: A or A0:A1 (linear over epochs), "
	     "default 0.5"},
	    {"--val-fraction", CMD_ARG_DOUBLE, &tc.val_fraction, 1e-9, 0.5,
	     "held-out validation split, default 0.05"},
	    {"--train-fraction", CMD_ARG_DOUBLE, &tc.train_fraction, 1e-9, 1,
	     "fraction of the rest used for training, default 1"},
	    {"--resolution", CMD_ARG_INT, &tc.resolution, 8, 512,
	     "override the architecture's input resolution"},
	    {"--cutout", CMD_ARG_INT, &tc.cutout, 0, 32, "default 0 (off)"},
	    {"--no-augment", CMD_ARG_FLAG, &no_aug, 0, 0, ""},
	    {"--threads", CMD_ARG_INT, &tc.threads, 0, 256,
	     "compute threads (0 = OpenMP default)"},
	    {"--loader-threads", CMD_ARG_INT, &tc.loader_threads, 1, 64,
	     "data loader threads, default 1"},
	    {"--seed", CMD_ARG_U64, &tc.seed, 0, 0, "default 1"},
	    {"--resume", CMD_ARG_STRING, &resume, 0, 0,
	     "continue from a checkpoint.lmnas"},
	    {"--no-test", CMD_ARG_FLAG, &no_test, 0, 0,
	     "skip the final test-set evaluation"},
	    {NULL, 0, NULL, 0, 0, NULL},
	};

	if (cmd_args_help(argc, argv)) {
		cmd_args_usage(stdout, usage, args);
		return 0;
	}
	if (cmd_args_parse(args, argc, argv, err, sizeof err)) {
		fprintf(stderr, "lmnas train: %s\n", err);
		cmd_args_usage(stderr, usage, args);
		return 2;
	}
	if (!arch_path || !tc.data_dir || !cli.out) {
		fprintf(stderr, "lmnas train: --arch, --data and --out are "
				"required\n");
		return 2;
	}
	if (no_nesterov)
		tc.nesterov = 0;
	tc.augment = !no_aug;
	tc.eval_test = !no_test;
	if (data_kind_parse(dataset, &tc.kind)) {
		fprintf(stderr,
			"lmnas train: --dataset: '%s' is not cifar10, cifar100 "
			"or cache\n",
			dataset);
		return 2;
	}
	if (strcmp(schedule, "cosine") == 0)
		tc.decay = TRAIN_LR_COSINE;
	else if (strcmp(schedule, "step") == 0)
		tc.decay = TRAIN_LR_STEP;
	else if (strcmp(schedule, "constant") == 0)
		tc.decay = TRAIN_LR_CONSTANT;
	else {
		fprintf(stderr,
			"lmnas train: --schedule: '%s' is not cosine, "
			"step or constant\n",
			schedule);
		return 2;
	}
	if (alpha &&
	    parse_alpha(alpha, &tc.kd_alpha0, &tc.kd_alpha1, err, sizeof err)) {
		fprintf(stderr, "lmnas train: %s\n", err);
		return 2;
	}
	if (load_arch_file(arch_path, &a))
		return 2;
	if (train_config_validate(&tc, err, sizeof err)) {
		fprintf(stderr, "lmnas train: %s\n", err);
		return 2;
	}
	memset(&data, 0, sizeof data);
	/* every input is read and checked before anything is written: the
	 * checkpoint to resume, both splits (the test split too, so that a
	 * missing test file does not wait for the end of training), the
	 * teacher's shape, and the model against all of them */
	if (resume && core_file_read(resume, TRAIN_CKPT_MAX_BYTES, &blob,
				     &blob_len, err, sizeof err)) {
		fprintf(stderr, "lmnas train: --resume %s\n", err);
		goto out;
	}
	if (train_data_load(tc.data_dir, tc.kind, tc.eval_test, &data, err,
			    sizeof err)) {
		fprintf(stderr, "lmnas train: --data %s\n", err);
		goto out;
	}
	if (tc.teacher_logits &&
	    train_data_load_teacher(&data, tc.teacher_logits, err,
				    sizeof err)) {
		fprintf(stderr, "lmnas train: --teacher-logits %s\n", err);
		goto out;
	}
	if (train_session_open(&a, &tc, &data, blob, blob_len, &s, err,
			       sizeof err)) {
		fprintf(stderr, "lmnas train: %s\n", err);
		goto out;
	}
	/* --out is created and proven writable now, not at the first
	 * checkpoint an epoch later */
	if (make_dir(cli.out, err, sizeof err)) {
		fprintf(stderr, "lmnas train: %s\n", err);
		goto out;
	}
	snprintf(path, sizeof path, "%s/metrics.jsonl", cli.out);
	cli.metrics = fopen(path, resume ? "a" : "w");
	if (!cli.metrics) {
		fprintf(stderr,
			"lmnas train: --out %s is not writable: %s: %s\n",
			cli.out, path, strerror(errno));
		goto out;
	}
	cli.tty = isatty(STDOUT_FILENO);
	hooks.progress = on_progress;
	hooks.checkpoint = on_checkpoint;
	hooks.ctx = &cli;
	LOG_INFO("training %s on %s for %d epochs (batch %d, %d threads)",
		 a.name[0] ? a.name : arch_path, dataset, tc.epochs, tc.batch,
		 tc.threads);
	while (!st && !done)
		st = train_session_epoch(s, &hooks, &done, err, sizeof err);
	if (!st)
		st = train_session_result(s, &res, err, sizeof err);
	if (cli.tty)
		printf("\n");
	if (st) {
		fprintf(stderr, "lmnas train: %s\n", err);
		goto out;
	}
	snprintf(path, sizeof path, "%s/result.json", cli.out);
	{
		json_t *r = json_pack(
		    "{s:i, s:{s:f, s:f, s:f, s:i}, s:{s:f, s:f, s:f, s:i}, "
		    "s:f, s:f}",
		    "epochs", res.epochs_done, "val", "top1", res.val.top1,
		    "top5", res.val.top5, "loss", res.val.loss, "n", res.val.n,
		    "test", "top1", res.test.top1, "top5", res.test.top5,
		    "loss", res.test.loss, "n", res.test.n, "seconds",
		    res.seconds, "train_img_per_s", res.train_img_per_s);
		if (!r || json_dump_file(r, path, JSON_INDENT(1)) != 0) {
			json_decref(r);
			fprintf(stderr, "lmnas train: cannot write %s\n", path);
			goto out;
		}
		json_decref(r);
	}
	printf("validation top-1 %.2f%% top-5 %.2f%% (%d images)\n",
	       100 * res.val.top1, 100 * res.val.top5, res.val.n);
	if (res.test.n)
		printf("test top-1 %.2f%% top-5 %.2f%% (%d images)\n",
		       100 * res.test.top1, 100 * res.test.top5, res.test.n);
	printf("checkpoint: %s/checkpoint.lmnas (%.0f s, %.0f img/s)\n",
	       cli.out, res.seconds, res.train_img_per_s);
	rc = 0;
out:
	if (cli.metrics)
		fclose(cli.metrics);
	train_session_close(s);
	train_data_free(&data);
	core_free(blob);
	return rc;
}

/* --int8: quantize m with calib images of the training split and evaluate
 * the int8 engine on ds; prints the int8 line. */
static int eval_int8(struct model *m, const char *data, enum data_kind kind,
		     const struct data_set *ds, int calib, double percentile,
		     int threads, double float_top1)
{
	struct data_set train;
	struct quant_net q;
	struct quant_config qc;
	float *x = NULL;
	char err[CORE_ERR_LEN];
	double top1 = 0, t0 = core_now_seconds(), t1;
	int rc = 1;

	memset(&train, 0, sizeof train);
	memset(&q, 0, sizeof q);
	quant_config_default(&qc);
	qc.percentile = percentile;
	if (data_set_load(data, kind, DATA_SPLIT_TRAIN, &train, err,
			  sizeof err) ||
	    quant_images_load(&train, calib < train.n ? calib : train.n,
			      m->arch.resolution, &x, NULL, err, sizeof err) ||
	    quant_net_build(m, x, calib < train.n ? calib : train.n, &qc, &q,
			    err, sizeof err)) {
		fprintf(stderr, "lmnas eval --int8: %s\n", err);
		goto out;
	}
	t1 = core_now_seconds();
	if (quant_net_evaluate(&q, ds, NULL, ds->n, threads, &top1, err,
			       sizeof err)) {
		fprintf(stderr, "lmnas eval --int8: %s\n", err);
		goto out;
	}
	printf("int8 top-1 %.2f%% (%d images; calibrated on %d training "
	       "images, percentile %g, %.1f s; evaluated in %.1f s)\n",
	       100 * top1, ds->n, q.calib_images, percentile, t1 - t0,
	       core_now_seconds() - t1);
	printf("float - int8: %+.2f percentage points\n",
	       100 * (float_top1 - top1));
	rc = 0;
out:
	quant_net_free(&q);
	core_free(x);
	data_set_free(&train);
	return rc;
}

int cmd_eval(const struct config *cfg, int argc, char **argv)
{
	const char *ckpt = NULL, *data = NULL, *dataset = "cifar100";
	const char *split = "test";
	int batch = 256, threads = 1, rc = 1, int8 = 0, calib = 500;
	double percentile = 100.0;
	char err[CORE_ERR_LEN] = "";
	char *blob = NULL;
	size_t len = 0;
	struct arch a;
	struct model *m = NULL;
	struct data_set ds;
	enum data_kind kind;
	enum data_split sp;
	struct train_metrics met;
	const struct cmd_arg args[] = {
	    {"--checkpoint", CMD_ARG_STRING, &ckpt, 0, 0,
	     "checkpoint.lmnas (required)"},
	    {"--data", CMD_ARG_STRING, &data, 0, 0,
	     "directory with the CIFAR binary files (required)"},
	    {"--dataset", CMD_ARG_STRING, &dataset, 0, 0,
	     "cifar100 (default), cifar10 or cache (a directory made by "
	     "data_import_dir)"},
	    {"--split", CMD_ARG_STRING, &split, 0, 0,
	     "test (default) or train"},
	    {"--batch", CMD_ARG_INT, &batch, 1, 4096, "default 256"},
	    {"--threads", CMD_ARG_INT, &threads, 1, 64,
	     "data loader threads (and int8 engine threads), default 1"},
	    {"--int8", CMD_ARG_FLAG, &int8, 0, 0,
	     "also quantize (post-training, int8) and evaluate the int8 "
	     "network"},
	    {"--calib", CMD_ARG_INT, &calib, 1, 50000,
	     "--int8: calibration images from the training split, default "
	     "500"},
	    {"--percentile", CMD_ARG_DOUBLE, &percentile, 50.000001, 100,
	     "--int8: activation range percentile, default 100 (min/max)"},
	    {NULL, 0, NULL, 0, 0, NULL},
	};

	memset(&ds, 0, sizeof ds);
	if (cmd_args_help(argc, argv)) {
		cmd_args_usage(stdout, "lmnas eval --checkpoint C --data DIR",
			       args);
		return 0;
	}
	if (cmd_args_parse(args, argc, argv, err, sizeof err) || !ckpt ||
	    !data) {
		fprintf(stderr, "lmnas eval: %s\n",
			*err ? err : "--checkpoint and --data are required");
		cmd_args_usage(stderr, "lmnas eval --checkpoint C --data DIR",
			       args);
		return 2;
	}
	if (data_kind_parse(dataset, &kind) || data_split_parse(split, &sp)) {
		fprintf(stderr, "lmnas eval: bad --dataset or --split\n");
		return 2;
	}
	if (core_file_read(ckpt, TRAIN_CKPT_MAX_BYTES, &blob, &len, err,
			   sizeof err) ||
	    train_checkpoint_arch(blob, len, &a, err, sizeof err) ||
	    model_build(&a, batch, 0, 0, &m, err, sizeof err) ||
	    train_checkpoint_restore(blob, len, m, NULL, NULL, err,
				     sizeof err) ||
	    data_set_load(data, kind, sp, &ds, err, sizeof err) ||
	    train_evaluate(m, &ds, NULL, ds.n, batch, a.resolution, threads,
			   &met, err, sizeof err)) {
		fprintf(stderr, "lmnas eval: %s\n", err);
		goto out;
	}
	printf("%s %s: top-1 %.2f%% top-5 %.2f%% loss %.4f (%d images)\n",
	       dataset, split, 100 * met.top1, 100 * met.top5, met.loss, met.n);
	if (int8 &&
	    eval_int8(m, data, kind, &ds, calib, percentile, threads, met.top1))
		goto out;
	rc = 0;
out:
	data_set_free(&ds);
	model_free(m);
	core_free(blob);
	return rc;
}
