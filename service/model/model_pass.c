/* model_pass.c - the forward and backward passes of a whole model: each
 * unit's forward and backward side by side, blocks walked in order and in
 * reverse. */
#include "model_internal.h"

#include <string.h>

/* ---- optional timing per layer kind (model.profile) ---- */

static const char *const prof_names[MODEL_PROF_COUNT] = {
	"conv kxk", "conv 1x1", "depthwise", "bn+act",
	"se",	    "add",	"head",	     "zero grads",
};

const char *model_prof_kind_name(enum model_prof_kind k)
{
	return (unsigned)k < MODEL_PROF_COUNT ? prof_names[k] : "unknown";
}

static double prof_start(const struct model *m)
{
	return m->profile ? core_now_seconds() : 0.0;
}

/* Adds the time since t0 to kind k and returns the time now. */
static double prof_add(const struct model *m, int backward,
		       enum model_prof_kind k, double t0)
{
	double now;

	if (!m->profile)
		return 0.0;
	now = core_now_seconds();
	(backward ? m->profile->bwd : m->profile->fwd)[k] += now - t0;
	return now;
}

static enum model_prof_kind conv_kind(const struct model_convbn *u)
{
	if (u->depthwise)
		return MODEL_PROF_DEPTHWISE;
	return u->cd.k == 1 && u->cd.stride == 1 ? MODEL_PROF_POINTWISE
						 : MODEL_PROF_CONV;
}

/* ---- conv + BN (+ act) ---- */

static void convbn_forward(struct model *m, const struct model_convbn *u,
			   const float *in, int n, int training)
{
	float *A = m->arena, *P = m->params, *B = m->bn_stats;
	struct nn_shape s = u->out_shape;
	double t = prof_start(m);

	if (u->depthwise) {
		struct nn_dwconv_dims d = u->dd;
		d.n = n;
		nn_dwconv_forward(A + u->pre, in, P + u->w, &d);
	} else {
		struct nn_conv2d_dims d = u->cd;
		d.n = n;
		nn_conv2d_forward(A + u->pre, in, P + u->w, &d, m->scratch,
				  m->scratch_bytes);
	}
	s.n = n;
	t = prof_add(m, 0, conv_kind(u), t);
	if (training)
		nn_bn_act_forward(A + u->out, A + u->mean, A + u->rstd,
				  B + u->rmean, B + u->rvar, A + u->pre,
				  P + u->gamma, P + u->beta, &s, u->act,
				  m->scratch);
	else
		nn_bn_act_forward_eval(A + u->out, A + u->pre, B + u->rmean,
				       B + u->rvar, P + u->gamma, P + u->beta,
				       &s, u->act);
	prof_add(m, 0, MODEL_PROF_BN_ACT, t);
}

/* dinp (the unit's input gradient, may be NULL) += ...; dout = dL/d out;
 * tmp (out_shape) is clobbered. */
static void convbn_backward(struct model *m, const struct model_convbn *u,
			    float *dinp, const float *dout, const float *in,
			    int n, float *tmp)
{
	float *A = m->arena, *P = m->params, *G = m->grads;
	struct nn_shape s = u->out_shape;
	double t = prof_start(m);

	s.n = n;
	memset(tmp, 0, nn_shape_count(&s) * sizeof *tmp);
	t = prof_add(m, 1, MODEL_PROF_ZERO, t);
	nn_bn_act_backward(tmp, G + u->gamma, G + u->beta, dout, A + u->pre,
			   A + u->mean, A + u->rstd, P + u->gamma, P + u->beta,
			   &s, u->act, m->scratch);
	t = prof_add(m, 1, MODEL_PROF_BN_ACT, t);
	if (u->depthwise) {
		struct nn_dwconv_dims d = u->dd;
		d.n = n;
		nn_dwconv_backward(dinp, G + u->w, tmp, in, P + u->w, &d,
				   m->scratch);
	} else {
		struct nn_conv2d_dims d = u->cd;
		d.n = n;
		nn_conv2d_backward(dinp, G + u->w, tmp, in, P + u->w, &d,
				   m->scratch, m->scratch_bytes);
	}
	prof_add(m, 1, conv_kind(u), t);
}

static size_t count_n(struct nn_shape s, int n)
{
	s.n = n;
	return nn_shape_count(&s);
}

/* ---- a block ---- */

static void block_forward(struct model *m, const struct model_block *b, int n,
			  int training)
{
	float *A = m->arena, *P = m->params;
	const float *x = A + b->in, *h = x;

	if (b->has_expand) {
		convbn_forward(m, &b->expand, x, n, training);
		h = A + b->expand.out;
	}
	convbn_forward(m, &b->dw, h, n, training);
	h = A + b->dw.out;
	if (b->has_se) {
		struct nn_shape s = b->mid_shape;
		double t = prof_start(m);
		s.n = n;
		nn_se_forward(A + b->se_out, A + b->se_pooled, A + b->se_hidden,
			      A + b->se_gate, h, P + b->se_w1, P + b->se_b1,
			      P + b->se_w2, P + b->se_b2, &s, b->se_r);
		prof_add(m, 0, MODEL_PROF_SE, t);
		h = A + b->se_out;
	}
	convbn_forward(m, &b->project, h, n, training);
	if (b->residual) {
		const float *sc = x;
		double t;
		if (b->has_shortcut) {
			convbn_forward(m, &b->shortcut, x, n, training);
			sc = A + b->shortcut.out;
		}
		t = prof_start(m);
		nn_add_forward(A + b->out, A + b->out, sc,
			       count_n(b->out_shape, n));
		prof_add(m, 0, MODEL_PROF_ADD, t);
	}
}

/* gin (block input gradient, NULL for the network input) += ...;
 * gout = dL/d block output, clobbered once read; t1, t2 are free buffers of
 * max_act floats. */
static void block_backward(struct model *m, const struct model_block *b,
			   int n, float *gin, float *gout, float *t1,
			   float *t2)
{
	float *A = m->arena, *P = m->params, *G = m->grads;
	const float *x = A + b->in;
	const float *dw_in = b->has_expand ? A + b->expand.out : x;
	const float *p_in = b->has_se ? A + b->se_out : A + b->dw.out;
	size_t mid = count_n(b->mid_shape, n);
	float *d_dwout, *spare;
	double tz;

	if (b->residual) {
		if (b->has_shortcut)
			convbn_backward(m, &b->shortcut, gin, gout, x, n, t1);
		else if (gin) {
			double t = prof_start(m);
			nn_add_backward(gin, NULL, gout,
					count_n(b->in_shape, n));
			prof_add(m, 1, MODEL_PROF_ADD, t);
		}
	}
	/* project: gradient of its input into t2 */
	tz = prof_start(m);
	memset(t2, 0, mid * sizeof *t2);
	prof_add(m, 1, MODEL_PROF_ZERO, tz);
	convbn_backward(m, &b->project, t2, gout, p_in, n, t1);
	d_dwout = t2;
	spare = t1;
	if (b->has_se) {
		struct nn_shape s = b->mid_shape;
		double t = prof_start(m);
		s.n = n;
		memset(t1, 0, mid * sizeof *t1);
		t = prof_add(m, 1, MODEL_PROF_ZERO, t);
		nn_se_backward(t1, G + b->se_w1, G + b->se_b1, G + b->se_w2,
			       G + b->se_b2, t2, A + b->dw.out,
			       A + b->se_pooled, A + b->se_hidden,
			       A + b->se_gate, P + b->se_w1, P + b->se_w2, &s,
			       b->se_r, m->scratch);
		prof_add(m, 1, MODEL_PROF_SE, t);
		d_dwout = t1;
		spare = t2;
	}
	if (!b->has_expand) {
		convbn_backward(m, &b->dw, gin, d_dwout, dw_in, n, spare);
		return;
	}
	/* gout is dead now (project and shortcut have read it): it becomes
	 * dw's BN temporary, and d_dwout (dead after dw) expand's */
	tz = prof_start(m);
	memset(spare, 0, count_n(b->expand.out_shape, n) * sizeof *spare);
	prof_add(m, 1, MODEL_PROF_ZERO, tz);
	convbn_backward(m, &b->dw, spare, d_dwout, dw_in, n, gout);
	convbn_backward(m, &b->expand, gin, spare, x, n, d_dwout);
}

/* ---- the whole model ---- */

const float *model_forward(struct model *m, const float *x, int n,
			   int training, struct core_rng *rng)
{
	float *A = m->arena, *P = m->params;
	const struct arch *a = &m->arch;
	struct nn_shape hs = m->head_in_shape;
	size_t in_count = (size_t)n * (size_t)a->resolution *
			  (size_t)a->resolution * (size_t)a->channels;
	const float *fc_in;
	size_t nc = (size_t)n * (size_t)m->head_c;
	double t = prof_start(m);

	training = training && m->training;
	memcpy(A + m->input_off, x, in_count * sizeof *x);
	prof_add(m, 0, MODEL_PROF_HEAD, t);
	if (m->stem)
		convbn_forward(m, m->stem, A + m->input_off, n, training);
	for (int i = 0; i < m->nblocks; i++)
		block_forward(m, &m->blocks[i], n, training);
	hs.n = n;
	t = prof_start(m);
	nn_gap_forward(A + m->head_pooled, A + m->head_in, &hs);
	fc_in = A + m->head_pooled;
	if (training && a->dropout > 0.0) {
		nn_dropout_forward(A + m->head_dropped, A + m->head_mask,
				   A + m->head_pooled, nc, (float)a->dropout,
				   rng);
		fc_in = A + m->head_dropped;
	}
	nn_linear_forward(A + m->head_logits, fc_in, P + m->fc_w, P + m->fc_b,
			  n, m->head_c, a->classes);
	m->last_dropout = training && a->dropout > 0.0;
	prof_add(m, 0, MODEL_PROF_HEAD, t);
	return A + m->head_logits;
}

void model_backward(struct model *m, const float *dlogits, int n)
{
	float *A = m->arena, *P = m->params, *G = m->grads;
	const struct arch *a = &m->arch;
	struct nn_shape hs = m->head_in_shape;
	size_t nc = (size_t)n * (size_t)m->head_c;
	const float *fc_in =
		m->last_dropout ? A + m->head_dropped : A + m->head_pooled;
	int o = 0; /* slot of the current output gradient */
	float *dpool;
	double t = prof_start(m);

	/* head: fc -> (dropout) -> pool; the pooled gradient in slot 1 */
	memset(m->gbuf[1], 0, nc * sizeof(float));
	nn_linear_backward(m->gbuf[1], G + m->fc_w, G + m->fc_b, dlogits, fc_in,
			   P + m->fc_w, n, m->head_c, a->classes);
	dpool = m->gbuf[1];
	if (m->last_dropout) {
		memset(m->gbuf[2], 0, nc * sizeof(float));
		nn_dropout_backward(m->gbuf[2], m->gbuf[1], A + m->head_mask,
				    nc);
		dpool = m->gbuf[2];
	}
	hs.n = n;
	memset(m->gbuf[0], 0, nn_shape_count(&hs) * sizeof(float));
	nn_gap_backward(m->gbuf[0], dpool, &hs);
	prof_add(m, 1, MODEL_PROF_HEAD, t);

	for (int i = m->nblocks - 1; i >= 0; i--) {
		const struct model_block *b = &m->blocks[i];
		int gi = (o + 1) % 4, t1 = (o + 2) % 4, t2 = (o + 3) % 4;
		float *gin = NULL;
		if (i > 0 || m->stem) {
			t = prof_start(m);
			gin = m->gbuf[gi];
			memset(gin, 0, count_n(b->in_shape, n) * sizeof *gin);
			prof_add(m, 1, MODEL_PROF_ZERO, t);
		}
		block_backward(m, b, n, gin, m->gbuf[o], m->gbuf[t1],
			       m->gbuf[t2]);
		o = gi;
	}
	if (m->stem)
		convbn_backward(m, m->stem, NULL, m->gbuf[o],
				A + m->input_off, n, m->gbuf[(o + 1) % 4]);
}
