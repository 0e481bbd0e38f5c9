/* SPDX-License-Identifier: Apache-2.0 */
/* test_quant_ptq.c - post-training quantization of whole networks: the BN
 * folded float network equals the model's eval forward, calibration and
 * qparams, the int8 engine tracks the float network, layers that could
 * overflow are refused by name, percentile clipping, evaluation on a
 * CIFAR-format set, and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/exporttest.h"
#include "../support/ts_cifar.h"
#include "quant/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t image_floats(const struct arch *a)
{
	return (size_t)a->resolution * (size_t)a->resolution *
	       (size_t)a->channels;
}

/* quant_fnet_forward (folded BN, op by op over the graph) reproduces
 * model_forward in eval mode. */
static void fnet_equals_model_forward(void **state)
{
	char err[CORE_ERR_LEN];

	for (int ai = 0; ai < EXPORTTEST_NARCH; ai++) {
		struct arch a;
		struct model *m;
		struct quant_fnet f;
		float *x, logits[16];
		double worst = 0;

		exporttest_arch(ai, &a);
		m = exporttest_model(&a, 100 + (uint64_t)ai);
		x = exporttest_images(3, a.resolution, 3, 7);
		assert_int_equal(quant_fnet_build(m, &f, err, sizeof err),
				 CORE_OK);
		for (int i = 0; i < 3; i++) {
			const float *ref = model_forward(
			    m, x + (size_t)i * image_floats(&a), 1, 0, NULL);

			assert_int_equal(
			    quant_fnet_forward(&f,
					       x + (size_t)i * image_floats(&a),
					       logits, NULL, err, sizeof err),
			    CORE_OK);
			for (int c = 0; c < a.classes; c++) {
				double d = fabs((double)logits[c] - ref[c]);
				worst = d > worst ? d : worst;
			}
		}
		print_message("# %s: max |fnet - model_forward| = %.3g\n",
			      a.name, worst);
		assert_true(worst <= 1e-4);
		quant_fnet_free(&f);
		core_free(x);
		model_free(m);
	}
}

static void qparams_from_ranges(void **state)
{
	struct quant_qparams p;

	p = quant_qparams_from_range(-1.0, 1.0);
	assert_true(fabs(p.scale - 2.0 / 255) < 1e-12);
	assert_int_equal(p.zp, -1); /* round(-0.5), half away from zero */
	p = quant_qparams_from_range(0.0, 6.0);
	assert_int_equal(p.zp, -128);
	/* ranges are widened to hold 0 */
	p = quant_qparams_from_range(2.0, 4.0);
	assert_int_equal(p.zp, -128);
	assert_true(fabs(p.scale - 4.0 / 255) < 1e-12);
	p = quant_qparams_from_range(-5.0, -1.0);
	assert_int_equal(p.zp, 127);
	/* empty or degenerate ranges still give a usable scale */
	p = quant_qparams_from_range(0.0, 0.0);
	assert_true(p.scale > 0);
	p = quant_qparams_from_range(NAN, NAN);
	assert_true(p.scale > 0 && isfinite(p.scale));
}

/* Dequantized int8 logits follow the float network; every tensor's zero
 * point is valid and every weighted op passed the accumulator check. */
static void int8_engine_tracks_float(void **state)
{
	char err[CORE_ERR_LEN];

	for (int ai = 0; ai < EXPORTTEST_NARCH; ai++) {
		struct arch a;
		struct model *m;
		struct quant_fnet f;
		struct quant_net q;
		float *cal, *x, logits[16];
		int8_t x8[16 * 16 * 3], y8[16];
		void *work;
		double err_sum = 0, range = 0;
		int agree = 0;
		const int n = 16;

		exporttest_arch(ai, &a);
		m = exporttest_model(&a, 200 + (uint64_t)ai);
		cal = exporttest_images(32, a.resolution, 3, 11);
		x = exporttest_images(n, a.resolution, 3, 12);
		if (quant_net_build(m, cal, 32, NULL, &q, err, sizeof err))
			fail_msg("%s: %s", a.name, err);
		assert_int_equal(quant_fnet_build(m, &f, err, sizeof err),
				 CORE_OK);
		for (int t = 0; t < q.graph.ntensors; t++) {
			assert_true(q.tq[t].zp >= -128 && q.tq[t].zp <= 127);
			assert_true(q.tq[t].scale > 0);
		}
		for (int i = 0; i < q.graph.nops; i++)
			if (graph_op_has_weights(&q.graph.ops[i]))
				assert_true(q.layers[i].acc_worst > 0 &&
					    q.layers[i].acc_worst <= INT32_MAX);
		work = core_malloc(quant_net_work_bytes(&q));
		assert_non_null(work);
		for (int i = 0; i < n; i++) {
			const float *xi = x + (size_t)i * image_floats(&a);
			const struct quant_qparams o = q.tq[q.graph.output];
			int best = 0;

			assert_int_equal(quant_fnet_forward(&f, xi, logits,
							    NULL, err,
							    sizeof err),
					 CORE_OK);
			quant_net_quantize_input(&q, xi, x8);
			assert_int_equal(
			    quant_net_run(&q, x8, y8, work, err, sizeof err),
			    CORE_OK);
			for (int c = 0; c < a.classes; c++) {
				double v = o.scale * (y8[c] - o.zp);
				err_sum += fabs(v - logits[c]);
				range = fabs(logits[c]) > range
					    ? fabs(logits[c])
					    : range;
				if (logits[c] > logits[best])
					best = c;
			}
			agree += quant_argmax_s8(y8, a.classes) == best;
		}
		print_message("# %s: mean |int8 - float| logit %.4f (max "
			      "|logit| %.3f), top-1 agreement %d/%d\n",
			      a.name, err_sum / (n * a.classes), range, agree,
			      n);
		assert_true(err_sum / (n * a.classes) < 0.05 * range);
		assert_true(agree >= n * 3 / 4);
		core_free(work);
		quant_net_free(&q);
		quant_fnet_free(&f);
		core_free(cal);
		core_free(x);
		model_free(m);
	}
}

/* A percentile below 100 clips the widest activations: no scale grows and
 * some shrink. */
static void percentile_clips(void **state)
{
	struct arch a;
	struct model *m;
	struct quant_net q0, q1;
	struct quant_config cfg;
	char err[CORE_ERR_LEN];
	float *cal;
	int smaller = 0;

	exporttest_arch(0, &a);
	m = exporttest_model(&a, 5);
	cal = exporttest_images(8, a.resolution, 3, 13);
	quant_config_default(&cfg);
	assert_true(cfg.percentile == 100.0);
	assert_int_equal(quant_net_build(m, cal, 8, &cfg, &q0, err, sizeof err),
			 CORE_OK);
	cfg.percentile = 99.0;
	assert_int_equal(quant_net_build(m, cal, 8, &cfg, &q1, err, sizeof err),
			 CORE_OK);
	for (int t = 0; t < q0.graph.ntensors; t++) {
		assert_true(q1.tq[t].scale <= q0.tq[t].scale * (1 + 1e-9));
		smaller += q1.tq[t].scale < q0.tq[t].scale * 0.99;
	}
	assert_true(smaller > q0.graph.ntensors / 2);
	quant_net_free(&q1);
	/* bad settings are refused, leaving q empty */
	cfg.percentile = 30;
	assert_int_equal(quant_net_build(m, cal, 8, &cfg, &q1, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "percentile"));
	cfg.percentile = 100;
	assert_int_equal(quant_net_build(m, cal, 0, &cfg, &q1, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(q1.layers);
	quant_net_free(&q0);
	core_free(cal);
	model_free(m);
}

/* A layer whose int32 accumulator could overflow is refused, by name: a
 * BN mean that folds into a bias far beyond int32 at the layer's scales. */
static void overflowing_layer_is_refused(void **state)
{
	struct arch a;
	struct model *m;
	struct quant_net q;
	char err[CORE_ERR_LEN];
	float *cal, *mean;

	exporttest_arch(0, &a);
	m = exporttest_model(&a, 6);
	mean = model_tensor_data(
	    m, model_tensor_find(m, "stages.0.1.project.bn.running_mean"));
	/* tiny weights keep the weight scale small, so the bias in units of
	 * in_scale * w_scale explodes */
	{
		float *w = model_tensor_data(
		    m, model_tensor_find(m, "stages.0.1.project.conv.weight"));
		for (int i = 0; i < 8 * 16; i++)
			w[i] *= 1e-6f;
	}
	mean[0] = -1e4f;
	cal = exporttest_images(4, a.resolution, 3, 14);
	assert_int_equal(quant_net_build(m, cal, 4, NULL, &q, err, sizeof err),
			 CORE_ERR_INVALID);
	print_message("# %s\n", err);
	assert_non_null(strstr(err, "stages.0.1.project"));
	assert_null(q.layers);
	/* the bound check itself names the layer when the sum could wrap */
	{
		int8_t w[4] = {127, -127, 127, -127};
		int32_t bias[1] = {INT32_MAX - 1000};
		assert_int_equal(quant_acc_check("stages.3.0.expand", w, 1, 4,
						 4, 1, bias, 128, NULL, NULL,
						 err, sizeof err),
				 CORE_ERR_INVALID);
		assert_non_null(strstr(err, "stages.3.0.expand"));
	}
	/* NaN in the float network is a calibration error naming the op */
	mean[0] = NAN;
	assert_int_equal(quant_net_build(m, cal, 4, NULL, &q, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "NaN"));
	core_free(cal);
	model_free(m);
}

/* Images from a CIFAR-format set, and top-1 of the int8 net on it equals
 * what running the engine image by image gives. */
static void evaluate_on_cifar_files(void **state)
{
	char dir[] = "/tmp/lmnas-ptq-XXXXXX", err[CORE_ERR_LEN], path[256];
	struct data_set ds;
	struct arch a;
	struct model *m;
	struct quant_net q;
	float *x = NULL;
	int32_t labels[40];
	double top1 = -1;
	int correct = 0;
	void *work;
	int8_t x8[16 * 16 * 3], y8[16];

	assert_non_null(mkdtemp(dir));
	assert_int_equal(ts_cifar100_write(dir, 40, 40, 10, 3), 0);
	assert_int_equal(data_cifar_load(dir, DATA_KIND_CIFAR100,
					 DATA_SPLIT_TEST, &ds, err, sizeof err),
			 CORE_OK);
	exporttest_arch(0, &a);
	m = exporttest_model(&a, 8);
	assert_int_equal(quant_images_load(&ds, 40, a.resolution, &x, labels,
					   err, sizeof err),
			 CORE_OK);
	for (int i = 0; i < 40; i++)
		assert_int_equal(labels[i], ds.labels[i]);
	assert_int_equal(quant_net_build(m, x, 40, NULL, &q, err, sizeof err),
			 CORE_OK);
	work = core_malloc(quant_net_work_bytes(&q));
	for (int i = 0; i < 40; i++) {
		quant_net_quantize_input(&q, x + (size_t)i * image_floats(&a),
					 x8);
		assert_int_equal(
		    quant_net_run(&q, x8, y8, work, err, sizeof err), CORE_OK);
		correct += quant_argmax_s8(y8, 10) == labels[i];
	}
	assert_int_equal(
	    quant_net_evaluate(&q, &ds, NULL, 0, 2, &top1, err, sizeof err),
	    CORE_OK);
	assert_true(fabs(top1 - correct / 40.0) < 1e-12);
	/* more images than the set holds */
	{
		float *none = NULL;
		assert_int_equal(quant_images_load(&ds, 41, 16, &none, NULL,
						   err, sizeof err),
				 CORE_ERR_INVALID);
		assert_null(none);
	}
	core_free(work);
	core_free(x);
	quant_net_free(&q);
	model_free(m);
	data_set_free(&ds);
	snprintf(path, sizeof path, "%s/train.bin", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/test.bin", dir);
	unlink(path);
	rmdir(dir);
}

/* Every allocation of folding, calibration and quantization can fail
 * without a leak or a crash. */
static void allocation_failures(void **state)
{
	struct arch a;
	struct model *m;
	struct quant_net q;
	char err[CORE_ERR_LEN];
	float *cal;
	int failed = 0;

	exporttest_arch(1, &a);
	m = exporttest_model(&a, 9);
	cal = exporttest_images(2, a.resolution, 3, 15);
	for (long k = 0;; k++) {
		struct quant_config cfg = {99.9};
		enum core_status rc;

		core_alloc_fail_after(k);
		rc = quant_net_build(m, cal, 2, &cfg, &q, err, sizeof err);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK) {
			quant_net_free(&q);
			break;
		}
		if (rc != CORE_ERR_NOMEM)
			fail_msg("allocation %ld: %s", k, err);
		assert_null(q.layers);
		failed++;
	}
	assert_true(failed > 10);
	core_free(cal);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fnet_equals_model_forward),
	    cmocka_unit_test(qparams_from_ranges),
	    cmocka_unit_test(int8_engine_tracks_float),
	    cmocka_unit_test(percentile_clips),
	    cmocka_unit_test(overflowing_layer_is_refused),
	    cmocka_unit_test(evaluate_on_cifar_files),
	    cmocka_unit_test(allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
