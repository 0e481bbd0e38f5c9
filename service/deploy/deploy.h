/* SPDX-License-Identifier: Apache-2.0 */
/* deploy.h - a trained network to what runs on a microcontroller, in
 * memory: post-training int8 quantization (calibrated on images of the
 * training split), the generated MCU project (codegen), the project as a
 * zip archive in memory, and its report JSON. `lmnas export` and the search
 * runner's final models both go through it; it writes no files (the caller
 * decides where the zip goes: a file, a database row, an HTTP body).
 *
 * Layer: deploy sits above quant, codegen, train and model (beside search),
 * below store, queue, runner and the CLI.
 *
 *   struct deploy_options o;
 *   struct deploy_result r;
 *   deploy_options_default(&o);
 *   o.target = CODEGEN_TARGET_QEMU;
 *   if (deploy_checkpoint(blob, len, &train, &test, &o, &r, err, n) == 0)
 *           store(r.zip, r.zip_len, r.report_json);
 *   deploy_result_free(&r);
 */
#ifndef LMNAS_DEPLOY_H
#define LMNAS_DEPLOY_H

#include "codegen/codegen.h"
#include "core/core.h"
#include "data/data.h"
#include "model/model.h"

#include <stddef.h>
#include <stdint.h>

/* How activation ranges are calibrated. */
enum deploy_calibration {
	DEPLOY_CALIBRATION_MINMAX = 0, /* the observed min and max */
	DEPLOY_CALIBRATION_PERCENTILE  /* clipped at a percentile */
};
#define DEPLOY_CALIBRATION_COUNT 2

/* "minmax", "percentile" */
const char *deploy_calibration_name(enum deploy_calibration c);
enum core_status deploy_calibration_parse(const char *s,
					  enum deploy_calibration *out);

#define DEPLOY_MAX_CALIBRATION_IMAGES 50000
#define DEPLOY_MAX_EVAL_IMAGES	      10000

struct deploy_options {
	enum codegen_target target;	     /* default stm32h743 */
	enum data_kind kind;		     /* the input normalization */
	int calibration_images;		     /* 1..50000, default 500 */
	enum deploy_calibration calibration; /* default minmax */
	double percentile; /* (50, 100): with percentile calibration, default
			      99.99 */
	int test_images;   /* embedded in the project, 1..16, default 3 */
	int eval_images;   /* float and int8 top-1 on this many test-split
			      images, 0..10000 (0: none, the default) */
	int threads;	   /* evaluation threads, 1..64, default 1 */
	const char *name;  /* project name; NULL: the architecture's */
	uint64_t seed;	   /* random inputs when there is no data */
};

/* The defaults above. */
void deploy_options_default(struct deploy_options *o);

/* Checks o; err names the option ("calibration_images: 0 is outside
 * 1..50000"). */
enum core_status deploy_options_validate(const struct deploy_options *o,
					 char *err, size_t errlen);

struct deploy_result {
	struct codegen_project project; /* every file, in memory */
	void *zip;			/* the project under "<name>/" */
	size_t zip_len;
	char *report_json;	/* the project's report.json, NUL-terminated */
	int calibration_images; /* used (fewer when the split is smaller) */
	double input_scale;	/* the int8 input's quantization */
	long input_zero_point;
	double float_top1, int8_top1; /* fractions; -1 when not evaluated */
	int eval_images;
};

/* Quantizes m and generates its project for o->target. Calibration images
 * come from train (the first o->calibration_images of the training split;
 * N(0, 1) noise when train is NULL or empty: sizing only, int8 accuracy
 * suffers), embedded test images and the evaluation from test (noise,
 * unlabelled, and no evaluation when NULL or empty). On success r owns
 * everything (deploy_result_free); on failure r is empty and err says why
 * (the network does not fit the target, a layer's accumulator bound, ...).
 * m is only read (its forward passes use its buffers). */
enum core_status deploy_model(struct model *m, const struct data_set *train,
			      const struct data_set *test,
			      const struct deploy_options *o,
			      struct deploy_result *r, char *err,
			      size_t errlen);

/* The same from a checkpoint blob (train_checkpoint_encode). */
enum core_status
deploy_checkpoint(const void *blob, size_t len, const struct data_set *train,
		  const struct data_set *test, const struct deploy_options *o,
		  struct deploy_result *r, char *err, size_t errlen);

void deploy_result_free(struct deploy_result *r);

/* The project as a zip archive built in memory (libzip), every file under
 * "<name>/". *zip is the caller's (core_free); NULL on failure. */
enum core_status deploy_zip(const struct codegen_project *p, void **zip,
			    size_t *len, char *err, size_t errlen);

#endif
