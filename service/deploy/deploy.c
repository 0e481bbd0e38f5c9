/* SPDX-License-Identifier: Apache-2.0 */
/* deploy.c - checkpoint or model -> int8 network -> MCU project in memory
 * (deploy.h): options, calibration and test images, the optional float and
 * int8 evaluation, and the result (project, zip, report JSON). */
#include "deploy/deploy.h"

#include "quant/quant.h"
#include "train/train.h"

#include <math.h>
#include <string.h>

static const char *const calibration_names[DEPLOY_CALIBRATION_COUNT] = {
    "minmax", "percentile"};

const char *deploy_calibration_name(enum deploy_calibration c)
{
	return (unsigned)c < DEPLOY_CALIBRATION_COUNT ? calibration_names[c]
						      : "?";
}

enum core_status deploy_calibration_parse(const char *s,
					  enum deploy_calibration *out)
{
	for (int i = 0; i < DEPLOY_CALIBRATION_COUNT; i++)
		if (s && strcmp(s, calibration_names[i]) == 0) {
			*out = (enum deploy_calibration)i;
			return CORE_OK;
		}
	return CORE_ERR_INVALID;
}

void deploy_options_default(struct deploy_options *o)
{
	memset(o, 0, sizeof *o);
	o->target = CODEGEN_TARGET_STM32H743;
	o->kind = DATA_KIND_CIFAR100;
	o->calibration_images = 500;
	o->calibration = DEPLOY_CALIBRATION_MINMAX;
	o->percentile = 99.99;
	o->test_images = 3;
	o->threads = 1;
	o->seed = 1;
}

enum core_status deploy_options_validate(const struct deploy_options *o,
					 char *err, size_t errlen)
{
	if (!codegen_target_info(o->target)) {
		core_errf(err, errlen, "target: %d is not a known target",
			  (int)o->target);
		return CORE_ERR_INVALID;
	}
	if (o->calibration_images < 1 ||
	    o->calibration_images > DEPLOY_MAX_CALIBRATION_IMAGES) {
		core_errf(err, errlen,
			  "calibration_images: %d is outside 1..%d",
			  o->calibration_images, DEPLOY_MAX_CALIBRATION_IMAGES);
		return CORE_ERR_INVALID;
	}
	if ((unsigned)o->calibration >= DEPLOY_CALIBRATION_COUNT) {
		core_errf(err, errlen,
			  "calibration: %d is not minmax or "
			  "percentile",
			  (int)o->calibration);
		return CORE_ERR_INVALID;
	}
	if (o->calibration == DEPLOY_CALIBRATION_PERCENTILE &&
	    !(o->percentile > 50 && o->percentile < 100)) {
		core_errf(err, errlen, "percentile: %g is outside (50, 100)",
			  o->percentile);
		return CORE_ERR_INVALID;
	}
	if (o->test_images < 1 || o->test_images > CODEGEN_MAX_IMAGES) {
		core_errf(err, errlen, "test_images: %d is outside 1..%d",
			  o->test_images, CODEGEN_MAX_IMAGES);
		return CORE_ERR_INVALID;
	}
	if (o->eval_images < 0 || o->eval_images > DEPLOY_MAX_EVAL_IMAGES) {
		core_errf(err, errlen, "eval_images: %d is outside 0..%d",
			  o->eval_images, DEPLOY_MAX_EVAL_IMAGES);
		return CORE_ERR_INVALID;
	}
	if (o->threads < 1 || o->threads > 64) {
		core_errf(err, errlen, "threads: %d is outside 1..64",
			  o->threads);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

void deploy_result_free(struct deploy_result *r)
{
	codegen_project_free(&r->project);
	core_free(r->zip);
	core_free(r->report_json);
	memset(r, 0, sizeof *r);
	r->float_top1 = r->int8_top1 = -1;
}

static int has_data(const struct data_set *ds)
{
	return ds && ds->n > 0;
}

/* n normalized images at resolution res: the first n of ds, or N(0, 1)
 * noise (labels -1) without data. *x is the caller's. */
static enum core_status images_get(const struct data_set *ds, int n, int res,
				   float **x, int32_t *labels, uint64_t seed,
				   char *err, size_t errlen)
{
	struct core_rng g;
	size_t count = (size_t)n * (size_t)res * (size_t)res * 3;

	if (has_data(ds))
		return quant_images_load(ds, n, res, x, labels, err, errlen);
	*x = core_malloc(count * sizeof **x);
	if (!*x) {
		core_errf(err, errlen, "out of memory for %d images", n);
		return CORE_ERR_NOMEM;
	}
	core_rng_seed(&g, seed);
	for (size_t i = 0; i < count; i++) {
		double u1 = core_rng_uniform(&g), u2 = core_rng_uniform(&g);
		(*x)[i] = (float)(sqrt(-2.0 * log(u1 + 1e-300)) *
				  cos(6.283185307179586 * u2));
	}
	for (int i = 0; labels && i < n; i++)
		labels[i] = -1;
	return CORE_OK;
}

/* Float and int8 top-1 on n test images spread evenly over ds. */
static enum core_status evaluate(struct model *m, const struct quant_net *q,
				 const struct data_set *ds, int n, int threads,
				 double *f1, double *i1, char *err,
				 size_t errlen)
{
	struct train_metrics met;
	int32_t *idx;
	enum core_status st;

	idx = core_malloc((size_t)n * sizeof *idx);
	if (!idx) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < n; i++)
		idx[i] = (int32_t)((int64_t)i * ds->n / n);
	st = train_evaluate(m, ds, idx, n, m->max_batch, m->arch.resolution,
			    threads, &met, err, errlen);
	if (!st)
		st =
		    quant_net_evaluate(q, ds, idx, n, threads, i1, err, errlen);
	if (!st)
		*f1 = met.top1;
	core_free(idx);
	return st;
}

/* The embedded test images, quantized with the network's input
 * parameters; *out is the caller's. */
static enum core_status test_images(const struct quant_net *q,
				    const struct data_set *test, int n, int res,
				    uint64_t seed, int32_t *labels,
				    int8_t **out, char *err, size_t errlen)
{
	size_t in_bytes = q->graph.tensors[q->graph.input].bytes;
	float *img = NULL;
	enum core_status st;

	*out = NULL;
	st = images_get(test, n, res, &img, labels, seed, err, errlen);
	if (st)
		return st;
	*out = core_malloc((size_t)n * in_bytes);
	if (!*out) {
		core_free(img);
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < n; i++)
		quant_net_quantize_input(q, img + (size_t)i * in_bytes,
					 *out + (size_t)i * in_bytes);
	core_free(img);
	return CORE_OK;
}

enum core_status deploy_model(struct model *m, const struct data_set *train,
			      const struct data_set *test,
			      const struct deploy_options *o,
			      struct deploy_result *r, char *err, size_t errlen)
{
	struct quant_net q;
	struct quant_config qc;
	struct codegen_options co;
	const struct codegen_out *rep;
	int32_t labels[CODEGEN_MAX_IMAGES];
	float *cal = NULL;
	int8_t *img8 = NULL;
	int ncal, ntest, res = m->arch.resolution;
	enum core_status st;

	memset(&q, 0, sizeof q);
	memset(r, 0, sizeof *r);
	r->float_top1 = r->int8_top1 = -1;
	st = deploy_options_validate(o, err, errlen);
	if (st)
		return st;
	if (m->arch.channels != 3) {
		core_errf(err, errlen,
			  "only 3-channel (CIFAR) inputs can be exported; the "
			  "architecture takes %d",
			  m->arch.channels);
		return CORE_ERR_INVALID;
	}
	ncal = o->calibration_images;
	if (has_data(train) && ncal > train->n)
		ncal = train->n;
	ntest = o->test_images;
	if (has_data(test) && ntest > test->n)
		ntest = test->n;
	quant_config_default(&qc);
	qc.percentile = o->calibration == DEPLOY_CALIBRATION_PERCENTILE
			    ? o->percentile
			    : 100.0;
	st =
	    images_get(train, ncal, res, &cal, NULL, o->seed ^ 11, err, errlen);
	if (!st)
		st = quant_net_build(m, cal, ncal, &qc, &q, err, errlen);
	if (!st)
		st = test_images(&q, test, ntest, res, o->seed ^ 12, labels,
				 &img8, err, errlen);
	if (st)
		goto out;
	memset(&co, 0, sizeof co);
	co.target = o->target;
	co.name = o->name;
	co.n_images = ntest;
	co.images = img8;
	co.labels = labels;
	co.float_top1 = co.int8_top1 = -1;
	co.dataset =
	    has_data(train) || has_data(test) ? data_kind_name(o->kind) : NULL;
	data_norm_default(o->kind, co.mean, co.std);
	/* an imported data set brings its own statistics, which the loader
	 * used for calibration: the generated project must normalize alike */
	if (has_data(train) && train->has_stats) {
		memcpy(co.mean, train->mean, sizeof co.mean);
		memcpy(co.std, train->std, sizeof co.std);
	} else if (has_data(test) && test->has_stats) {
		memcpy(co.mean, test->mean, sizeof co.mean);
		memcpy(co.std, test->std, sizeof co.std);
	}
	if (o->eval_images > 0 && has_data(test)) {
		co.eval_images =
		    o->eval_images < test->n ? o->eval_images : test->n;
		st = evaluate(m, &q, test, co.eval_images, o->threads,
			      &co.float_top1, &co.int8_top1, err, errlen);
		if (st)
			goto out;
	}
	st = codegen_project_build(&q, &co, &r->project, err, errlen);
	if (st)
		goto out;
	st = deploy_zip(&r->project, &r->zip, &r->zip_len, err, errlen);
	if (st)
		goto out;
	rep = codegen_project_find(&r->project, "report.json");
	r->report_json = rep ? core_strdup(rep->data) : NULL;
	if (rep && !r->report_json) {
		core_errf(err, errlen, "out of memory");
		st = CORE_ERR_NOMEM;
		goto out;
	}
	r->calibration_images = q.calib_images;
	r->input_scale = q.tq[q.graph.input].scale;
	r->input_zero_point = (long)q.tq[q.graph.input].zp;
	r->float_top1 = co.float_top1;
	r->int8_top1 = co.int8_top1;
	r->eval_images = co.eval_images;
out:
	if (st)
		deploy_result_free(r);
	quant_net_free(&q);
	core_free(cal);
	core_free(img8);
	return st;
}

enum core_status
deploy_checkpoint(const void *blob, size_t len, const struct data_set *train,
		  const struct data_set *test, const struct deploy_options *o,
		  struct deploy_result *r, char *err, size_t errlen)
{
	struct model *m = NULL;
	struct arch a;
	enum core_status st;

	memset(r, 0, sizeof *r);
	r->float_top1 = r->int8_top1 = -1;
	st = train_checkpoint_arch(blob, len, &a, err, errlen);
	if (!st)
		st = model_build(&a, 64, 0, 0, &m, err, errlen);
	if (!st)
		st = train_checkpoint_restore(blob, len, m, NULL, NULL, err,
					      errlen);
	if (!st)
		st = deploy_model(m, train, test, o, r, err, errlen);
	model_free(m);
	return st;
}
