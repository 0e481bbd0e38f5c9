/* SPDX-License-Identifier: Apache-2.0 */
/* runner_export.c - a job's final model to its int8 MCU project: the spec's
 * "export" settings mapped onto deploy, over the data set the job already
 * holds. Nothing is written to disk. */
#include "runner_internal.h"

#include "deploy/deploy.h"

#include <string.h>

enum core_status job_export(struct job *j, const void *ckpt, size_t len,
			    void **zip, size_t *zip_len, char **report,
			    char *err, size_t errlen)
{
	const struct search_export_spec *x = &j->spec.export;
	struct deploy_options o;
	struct deploy_result d;
	enum core_status st;

	*zip = NULL;
	*zip_len = 0;
	*report = NULL;
	st = job_data(j, 1, err, errlen);
	if (st)
		return st;
	deploy_options_default(&o);
	o.target = x->target;
	o.kind = j->spec.dataset_kind;
	o.calibration_images = x->calibration_images;
	o.calibration = x->calibration == SEARCH_CALIBRATION_PERCENTILE
			    ? DEPLOY_CALIBRATION_PERCENTILE
			    : DEPLOY_CALIBRATION_MINMAX;
	o.percentile = x->percentile;
	o.test_images = x->test_images;
	o.eval_images = x->eval_images;
	o.threads = j->spec.threads > 0 ? j->spec.threads : 1;
	if (o.threads > 64)
		o.threads = 64;
	o.seed = j->spec.seed;
	st = deploy_checkpoint(ckpt, len, &j->data.train, &j->data.test, &o, &d,
			       err, errlen);
	if (st)
		return st;
	/* hand the buffers over; the rest of the project goes */
	*zip = d.zip;
	*zip_len = d.zip_len;
	*report = d.report_json;
	d.zip = NULL;
	d.report_json = NULL;
	deploy_result_free(&d);
	return CORE_OK;
}
