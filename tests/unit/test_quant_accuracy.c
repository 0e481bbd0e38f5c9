/* SPDX-License-Identifier: Apache-2.0 */
/* test_quant_accuracy.c - the int8 accuracy guard: a small network trained
 * here on a synthetic data set with learnable structure (classes are noisy,
 * shifted copies of smooth random patterns) keeps its float top-1 after
 * post-training quantization, and the int8 logits stay as close to the
 * float ones as the quantizer allows today.
 *
 * Why trained and not random weights: a trained network's per-channel
 * weights and calibrated activation ranges have the spread a real export
 * sees, and its decision margins are as small as training leaves them, so
 * quantization noise shows up in top-1 and in the logits. The bounds sit
 * near what this test measures (printed on every run): a quantizer that
 * throws away weight resolution (every weight scale set to max / 110 or
 * max / 64 instead of max / 127) fails it.
 *
 * Everything runs on one thread so that the trained weights, and with them
 * the measured figures, do not depend on the machine's core count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "graph/graph.h"
#include "model/model.h"
#include "nn/nn.h"
#include "quant/quant.h"
#include "train/optim.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RES	12
#define CH	3
#define CLASSES 8
#define BATCH	32
#define STEPS	360
#define NTRAIN	2048
#define NTEST	1024
#define NCAL	128
#define PIX	(RES * RES * CH)

static double normal(struct core_rng *r)
{
	double u1 = core_rng_uniform(r), u2 = core_rng_uniform(r);

	return sqrt(-2.0 * log(u1 + 1e-300)) * cos(6.283185307179586 * u2);
}

/* Each class is a sum of three plane waves with random frequency, phase
 * and per-channel amplitude. */
struct wave {
	double fy, fx, phase, amp[CH];
};
static struct wave waves[CLASSES][3];

static void patterns_make(struct core_rng *r)
{
	for (int c = 0; c < CLASSES; c++)
		for (int k = 0; k < 3; k++) {
			struct wave *w = &waves[c][k];
			w->fy = 0.25 + 0.75 * core_rng_uniform(r);
			w->fx = 0.25 + 0.75 * core_rng_uniform(r);
			if (core_rng_uniform(r) < 0.5)
				w->fx = -w->fx;
			w->phase = 6.283185307179586 * core_rng_uniform(r);
			for (int ch = 0; ch < CH; ch++)
				w->amp[ch] = normal(r) * 0.6;
		}
}

/* n images (NHWC) and labels: the class pattern at a random shift of up to
 * 1.5 pixels and a random contrast, plus N(0, 0.9) noise. The noise makes
 * the task hard enough that float top-1 is well below 100%: decisions with
 * small margins are what quantization noise flips. */
static void images_make(struct core_rng *r, int n, float *x, int32_t *y)
{
	for (int i = 0; i < n; i++) {
		int c = (int)core_rng_below(r, CLASSES);
		double dy = 3.0 * core_rng_uniform(r) - 1.5;
		double dx = 3.0 * core_rng_uniform(r) - 1.5;
		double contrast = 0.7 + 0.6 * core_rng_uniform(r);
		float *img = x + (size_t)i * PIX;

		y[i] = c;
		for (int py = 0; py < RES; py++)
			for (int px = 0; px < RES; px++)
				for (int ch = 0; ch < CH; ch++) {
					double v = 0;
					for (int k = 0; k < 3; k++) {
						const struct wave *w =
						    &waves[c][k];
						v += w->amp[ch] *
						     sin(w->fy * (py + dy) +
							 w->fx * (px + dx) +
							 w->phase);
					}
					img[(py * RES + px) * CH + ch] =
					    (float)(contrast * v +
						    2.5 * normal(r));
				}
	}
}

static const char *arch_json =
    "{\"format\":\"lmnas-arch/1\",\"input\":{\"resolution\":12},"
    "\"stem\":{\"out\":16,\"kernel\":3,\"stride\":1,\"act\":\"relu6\"},"
    "\"stages\":["
    "{\"block\":\"mbconv\",\"out\":16,\"layers\":1,\"kernel\":3,"
    "\"stride\":2,\"expand\":2,\"se\":0.25,\"skip\":\"residual\","
    "\"act\":\"swish\"},"
    "{\"block\":\"mbconv\",\"out\":24,\"layers\":2,\"kernel\":3,"
    "\"stride\":2,\"expand\":3,\"skip\":\"residual\",\"act\":\"relu6\"}],"
    "\"head\":{\"dropout\":0.0,\"classes\":8}}";

struct fixture {
	struct model *m;
	float *xtrain, *xtest, *dlogits, *momentum;
	int32_t *ytrain, *ytest;
};

static void fixture_free(struct fixture *f)
{
	model_free(f->m);
	core_free(f->xtrain);
	core_free(f->xtest);
	core_free(f->dlogits);
	core_free(f->momentum);
	core_free(f->ytrain);
	core_free(f->ytest);
}

/* Trains f->m for STEPS steps of SGD (Nesterov, step decay of the rate)
 * on batches drawn from the training images. */
static void train(struct fixture *f)
{
	struct train_sgd opt = {0.05f, 0.9f, 1, 5e-4f};
	struct core_rng r;
	float xb[BATCH * PIX];
	int32_t yb[BATCH];
	char err[CORE_ERR_LEN];
	double loss = 0;

	core_rng_seed(&r, 7);
	for (int s = 0; s < STEPS; s++) {
		const float *logits;

		if (s == STEPS * 2 / 3)
			opt.lr = 0.005f;
		for (int i = 0; i < BATCH; i++) {
			int k = (int)core_rng_below(&r, NTRAIN);
			memcpy(xb + (size_t)i * PIX,
			       f->xtrain + (size_t)k * PIX,
			       sizeof(float) * PIX);
			yb[i] = f->ytrain[k];
		}
		logits = model_forward(f->m, xb, BATCH, 1, &r);
		if (nn_loss_cross_entropy(&loss, f->dlogits, logits, yb, BATCH,
					  CLASSES, 0.0f, err, sizeof err))
			fail_msg("loss: %s", err);
		assert_true(isfinite(loss));
		model_zero_grads(f->m);
		model_backward(f->m, f->dlogits, BATCH);
		train_sgd_step(&opt, f->m->params, f->m->grads, f->momentum,
			       f->m->decay_mask, f->m->nparams);
	}
	print_message("# final training loss %.3f\n", loss);
}

/* What quantization did to the test set. */
struct measure {
	int float_correct, int8_correct, agree;
	double logit_err;   /* mean |int8 - float| logit / float logits' std */
	double w_err;	    /* worst |dequantized - float| weight, in steps */
	int channels, full; /* weighted output channels; those reaching 127 */
};

/* The int8 weights against the folded float ones, per output channel c of
 * every weighted op: the best symmetric 8-bit grid for a channel has the
 * step max |w(c)| / 127, so every weight must be within half of that step
 * of its float value (w_err <= 0.5) and the channel's largest weight must
 * be +-127. Layouts as quant.h says: depthwise (K, K, C) with the channel
 * fastest, every other op (C_out, taps). */
static void weights_check(const struct quant_fnet *fn,
			  const struct quant_net *q, struct measure *out)
{
	for (int i = 0; i < q->graph.nops; i++) {
		const struct graph_op *op = &q->graph.ops[i];
		const size_t nw = (size_t)graph_op_weight_count(op);
		const int dw = op->kind == GRAPH_OP_DEPTHWISE;
		const size_t taps = nw / (size_t)(op->cout ? op->cout : 1);

		if (!graph_op_has_weights(op))
			continue;
		for (int c = 0; c < op->cout; c++) {
			double maxw = 0, worst = 0;
			int maxq = 0;

			for (size_t t = 0; t < taps; t++) {
				size_t k = dw ? t * (size_t)op->cout + (size_t)c
					      : (size_t)c * taps + t;
				double w = fn->ops[i].w[k];
				int qv = q->layers[i].w[k];

				maxw = fabs(w) > maxw ? fabs(w) : maxw;
				maxq = abs(qv) > maxq ? abs(qv) : maxq;
			}
			if (maxw == 0)
				continue;
			for (size_t t = 0; t < taps; t++) {
				size_t k = dw ? t * (size_t)op->cout + (size_t)c
					      : (size_t)c * taps + t;
				double d = fabs(q->layers[i].w_scale[c] *
						    q->layers[i].w[k] -
						fn->ops[i].w[k]) /
					   (maxw / 127.0);
				worst = d > worst ? d : worst;
			}
			out->w_err = worst > out->w_err ? worst : out->w_err;
			out->channels++;
			out->full += maxq == 127;
		}
	}
}

static void measure(struct fixture *f, struct measure *out)
{
	struct quant_fnet fn;
	struct quant_net q;
	char err[CORE_ERR_LEN];
	float logits[CLASSES];
	int8_t x8[PIX], y8[CLASSES];
	void *work;
	double abs_sum = 0, sum = 0, sq = 0;
	const long nl = (long)NTEST * CLASSES;

	memset(out, 0, sizeof *out);
	if (quant_fnet_build(f->m, &fn, err, sizeof err))
		fail_msg("fnet: %s", err);
	/* calibration on training images, as lmnas export does */
	if (quant_net_build(f->m, f->xtrain, NCAL, NULL, &q, err, sizeof err))
		fail_msg("quant: %s", err);
	weights_check(&fn, &q, out);
	work = core_malloc(quant_net_work_bytes(&q));
	assert_non_null(work);
	for (int i = 0; i < NTEST; i++) {
		const float *xi = f->xtest + (size_t)i * PIX;
		const struct quant_qparams o = q.tq[q.graph.output];
		int fbest = 0, qbest;

		if (quant_fnet_forward(&fn, xi, logits, NULL, err, sizeof err))
			fail_msg("fnet forward: %s", err);
		quant_net_quantize_input(&q, xi, x8);
		if (quant_net_run(&q, x8, y8, work, err, sizeof err))
			fail_msg("int8 run: %s", err);
		for (int c = 0; c < CLASSES; c++) {
			abs_sum += fabs(o.scale * (y8[c] - o.zp) - logits[c]);
			sum += logits[c];
			sq += (double)logits[c] * logits[c];
			if (logits[c] > logits[fbest])
				fbest = c;
		}
		qbest = quant_argmax_s8(y8, CLASSES);
		out->float_correct += fbest == f->ytest[i];
		out->int8_correct += qbest == f->ytest[i];
		out->agree += qbest == fbest;
	}
	out->logit_err =
	    (abs_sum / nl) / sqrt(sq / nl - (sum / nl) * (sum / nl));
	core_free(work);
	quant_net_free(&q);
	quant_fnet_free(&fn);
}

static void int8_top1_tracks_float(void **state)
{
	struct fixture f;
	struct measure ms;
	struct arch a;
	struct core_field_errors fe;
	struct core_rng r;
	char err[CORE_ERR_LEN];
	double t0, t1;

	memset(&f, 0, sizeof f);
	omp_set_num_threads(1);
	core_field_errors_clear(&fe);
	assert_int_equal(arch_parse(arch_json, strlen(arch_json), &a, &fe),
			 CORE_OK);
	if (model_build(&a, BATCH, 1, 3, &f.m, err, sizeof err))
		fail_msg("model: %s", err);
	f.xtrain = core_malloc(sizeof(float) * NTRAIN * PIX);
	f.xtest = core_malloc(sizeof(float) * NTEST * PIX);
	f.ytrain = core_malloc(sizeof(int32_t) * NTRAIN);
	f.ytest = core_malloc(sizeof(int32_t) * NTEST);
	f.dlogits = core_malloc(sizeof(float) * BATCH * CLASSES);
	f.momentum = core_calloc(f.m->nparams, sizeof(float));
	assert_true(f.xtrain && f.xtest && f.ytrain && f.ytest && f.dlogits &&
		    f.momentum);
	core_rng_seed(&r, 11);
	patterns_make(&r);
	images_make(&r, NTRAIN, f.xtrain, f.ytrain);
	images_make(&r, NTEST, f.xtest, f.ytest);

	t0 = core_now_seconds();
	train(&f);
	t1 = core_now_seconds();
	measure(&f, &ms);
	print_message("# training %.1f s, quantization and evaluation %.1f s\n",
		      t1 - t0, core_now_seconds() - t1);
	print_message("# test set of %d: float top-1 %.2f%%, int8 top-1 "
		      "%.2f%% (%+.2f points), int8/float agreement %.2f%%, "
		      "mean |int8 - float| logit %.4f of the logits' std\n",
		      NTEST, 100.0 * ms.float_correct / NTEST,
		      100.0 * ms.int8_correct / NTEST,
		      100.0 * (ms.int8_correct - ms.float_correct) / NTEST,
		      100.0 * ms.agree / NTEST, ms.logit_err);
	print_message("# weights: worst |int8 - float| %.4f of a step max|w| "
		      "/ 127; %d of %d channels reach +-127\n",
		      ms.w_err, ms.full, ms.channels);
	/* the network learned the task (chance is 12.5%) but not perfectly:
	 * decisions with small margins are what quantization flips */
	assert_true(ms.float_correct > NTEST * 6 / 10);
	assert_true(ms.float_correct < NTEST * 98 / 100);
	/* Measured (2026-12, this seed): float 77.93%, int8 77.93%, agreement
	 * 98.83%, logit error 0.0240; with every weight scale max / 64 instead
	 * of max / 127: int8 77.44%, agreement 97.95%, logit error 0.0328; with
	 * max / 110: 77.83%, 98.63%, 0.0260. Four other seeds of this test
	 * gave, with the correct quantizer, int8 - float top-1 from -0.6 to
	 * +0.6 points, agreement 97.85% to 99.71% and logit errors 0.021 to
	 * 0.026, so the accuracy bounds keep that room (another CPU's BLAS
	 * trains slightly different weights): the logit error catches a
	 * quantizer that loses half its weight resolution, the weight checks
	 * below catch any loss of resolution exactly. */
	assert_true(abs(ms.int8_correct - ms.float_correct) <= NTEST / 100);
	assert_true(ms.agree >= NTEST * 975 / 1000);
	assert_true(ms.logit_err <= 0.0275);
	/* every weight within half a step of the best grid (float rounding
	 * of the scale aside), every channel using the whole int8 range */
	assert_true(ms.channels > 0);
	assert_true(ms.w_err <= 0.5 + 1e-4);
	assert_int_equal(ms.full, ms.channels);
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(int8_top1_tracks_float),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
