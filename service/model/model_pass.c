/* SPDX-License-Identifier: Apache-2.0 */
/* model_pass.c - the forward and backward passes of a whole model on the
 * fused kernels (nn_pw_*, nn_dw_*, BN views): each unit's forward and
 * backward side by side, blocks walked in order and in reverse; the
 * optional per-layer-kind timing. */
#include "model_internal.h"

#include <omp.h>
#include <string.h>

/* ---- optional timing per layer kind (model.profile) ---- */

static const char *const prof_names[MODEL_PROF_COUNT] = {
    "conv kxk", "conv 1x1", "depthwise", "bn+act",
    "se",	"add",	    "head",	 "zero grads",
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

/* ---- shapes and views ---- */

static size_t pix_n(struct nn_shape s, int n)
{
	return (size_t)n * (size_t)s.h * (size_t)s.w;
}

static size_t count_n(struct nn_shape s, int n)
{
	return pix_n(s, n) * (size_t)s.c;
}

static struct nn_pw_dims pw_dims(const struct model_convbn *u, int n)
{
	struct nn_pw_dims d = u->pd;

	d.m = pix_n(u->out_shape, n);
	return d;
}

static struct nn_dwconv_dims dw_dims(const struct model_convbn *u, int n)
{
	struct nn_dwconv_dims d = u->dd;

	d.n = n;
	return d;
}

/* act(BN(pre)) of unit u, times gate (N, C) when not NULL. */
static struct nn_bn_view unit_view(const struct model *m,
				   const struct model_convbn *u,
				   const float *gate)
{
	const float *A = m->arena;
	struct nn_bn_view v = {A + u->mean,
			       A + u->rstd,
			       A + u->scale,
			       m->params + u->beta,
			       u->act,
			       gate,
			       (size_t)u->out_shape.h * (size_t)u->out_shape.w};

	return v;
}

static struct nn_bn_grad unit_grad(const struct model *m,
				   const struct model_convbn *u)
{
	struct nn_bn_grad g;

	g.v = unit_view(m, u, NULL);
	g.m1 = m->arena + u->m1;
	g.m2 = m->arena + u->m2;
	return g;
}

/* After a unit's conv: its BN statistics from ns slices of partial sums
 * (training), or the running ones (inference), as its view's factors. */
static void unit_finish(struct model *m, const struct model_convbn *u, int ns,
			int n, int training)
{
	float *A = m->arena, *B = m->bn_stats, *P = m->params;
	int c = u->out_shape.c;
	double t = prof_start(m);

	if (training) {
		nn_bn_stats_finish(A + u->mean, A + u->rstd, A + u->scale,
				   B + u->rmean, B + u->rvar, P + u->gamma,
				   m->sums, ns, pix_n(u->out_shape, n), c);
	} else {
		memcpy(A + u->mean, B + u->rmean, (size_t)c * sizeof(float));
		nn_bn_eval_scale(A + u->scale, B + u->rvar, P + u->gamma, c);
	}
	prof_add(m, 0, MODEL_PROF_BN_ACT, t);
}

/* BN-backward sums of unit u for dout (the gradient of its view) into its
 * dgamma, dbeta, m1, m2. */
static void unit_grad_sums(struct model *m, const struct model_convbn *u,
			   const float *dout, int n)
{
	float *A = m->arena, *G = m->grads;
	struct nn_bn_view v = unit_view(m, u, NULL);
	size_t pix = pix_n(u->out_shape, n);
	double t = prof_start(m);

	nn_bn_grad_sums(m->sums, dout, A + u->pre, &v, pix, u->out_shape.c,
			m->pool);
	nn_bn_grad_finish(G + u->gamma, G + u->beta, A + u->m1, A + u->m2,
			  m->sums, nn_bn_grad_slices(pix), pix, u->out_shape.c);
	prof_add(m, 1, MODEL_PROF_BN_ACT, t);
}

/* The same from ns slices of sums a fused kernel left in m->sums. */
static void unit_grad_finish(struct model *m, const struct model_convbn *u,
			     int ns, int n)
{
	float *A = m->arena, *G = m->grads;
	double t = prof_start(m);

	nn_bn_grad_finish(G + u->gamma, G + u->beta, A + u->m1, A + u->m2,
			  m->sums, ns, pix_n(u->out_shape, n), u->out_shape.c);
	prof_add(m, 1, MODEL_PROF_BN_ACT, t);
}

/* ---- units ---- */

/* Pointwise unit u on in (seen through vin, or as it is). */
static void pw_forward(struct model *m, const struct model_convbn *u,
		       const float *in, const struct nn_bn_view *vin, int n,
		       int training)
{
	struct nn_pw_dims d = pw_dims(u, n);
	double t = prof_start(m);

	nn_pw_forward(m->arena + u->pre, training ? m->sums : NULL, in, vin,
		      m->params + u->w, &d, m->pool, m->scratch);
	prof_add(m, 0, MODEL_PROF_POINTWISE, t);
	unit_finish(m, u, nn_pw_slices(&d), n, training);
}

static void dw_forward(struct model *m, const struct model_convbn *u,
		       const float *in, const struct nn_bn_view *vin, int n,
		       int training)
{
	struct nn_dwconv_dims d = dw_dims(u, n);
	double t = prof_start(m);

	nn_dw_forward(m->arena + u->pre, training ? m->sums : NULL, in, vin,
		      m->params + u->w, &d, m->pool, m->scratch);
	prof_add(m, 0, MODEL_PROF_DEPTHWISE, t);
	unit_finish(m, u, nn_dw_slices(&d), n, training);
}

/* The stem: a dense conv, then BN + act into its stored output, through
 * the same view arithmetic as every other unit (so that forward and
 * backward decide the activation's kinks alike). */
static void stem_forward(struct model *m, const struct model_convbn *u,
			 const float *in, int n, int training)
{
	float *A = m->arena, *P = m->params;
	struct nn_conv2d_dims d = u->cd;
	struct nn_bn_view v;
	size_t pix = pix_n(u->out_shape, n);
	double t = prof_start(m);

	d.n = n;
	nn_conv2d_forward_fused(A + u->pre, training ? m->sums : NULL, in,
				P + u->w, &d, m->pool, m->scratch);
	prof_add(m, 0, MODEL_PROF_CONV, t);
	unit_finish(m, u, nn_conv2d_fused_slices(&d), n, training);
	t = prof_start(m);
	v = unit_view(m, u, NULL);
	nn_bn_view_apply(A + u->out, A + u->pre, &v, NULL, NULL, pix,
			 u->out_shape.c, m->pool);
	prof_add(m, 0, MODEL_PROF_BN_ACT, t);
}

/* The stem's backward: its weight gradient (the network input needs no
 * gradient), dout the gradient of its output. */
static void stem_backward(struct model *m, const struct model_convbn *u,
			  const float *dout, const float *in, int n)
{
	float *A = m->arena, *G = m->grads;
	struct nn_conv2d_dims d = u->cd;
	struct nn_bn_grad g;
	double t;

	d.n = n;
	unit_grad_sums(m, u, dout, n);
	g = unit_grad(m, u);
	t = prof_start(m);
	nn_conv2d_backward_fused(G + u->w, dout, A + u->pre, &g, in, &d,
				 m->pool, m->scratch);
	prof_add(m, 1, MODEL_PROF_CONV, t);
}

/* ---- a block ---- */

static void block_forward(struct model *m, const struct model_block *b, int n,
			  int training)
{
	float *A = m->arena, *P = m->params;
	const float *x = A + b->in, *dw_in = x;
	struct nn_bn_view vexp, vdw, vproj, vshort;
	const struct nn_bn_view *vdw_in = NULL;
	double t;

	if (b->has_expand) {
		pw_forward(m, &b->expand, x, NULL, n, training);
		vexp = unit_view(m, &b->expand, NULL);
		dw_in = A + b->expand.pre;
		vdw_in = &vexp;
	}
	dw_forward(m, &b->dw, dw_in, vdw_in, n, training);
	vdw = unit_view(m, &b->dw, NULL);
	if (b->has_se) {
		struct nn_shape s = b->mid_shape;
		s.n = n;
		t = prof_start(m);
		nn_se_forward_view(A + b->se_pooled, A + b->se_hidden,
				   A + b->se_gate, A + b->dw.pre, &vdw,
				   P + b->se_w1, P + b->se_b1, P + b->se_w2,
				   P + b->se_b2, &s, b->se_r, m->pool);
		prof_add(m, 0, MODEL_PROF_SE, t);
		vdw.gate = A + b->se_gate;
	}
	pw_forward(m, &b->project, A + b->dw.pre, &vdw, n, training);
	vproj = unit_view(m, &b->project, NULL);
	if (b->has_shortcut) {
		pw_forward(m, &b->shortcut, x, NULL, n, training);
		vshort = unit_view(m, &b->shortcut, NULL);
	}
	t = prof_start(m);
	nn_bn_view_apply(A + b->out, A + b->project.pre, &vproj,
			 !b->residual	   ? NULL
			 : b->has_shortcut ? A + b->shortcut.pre
					   : x,
			 b->has_shortcut ? &vshort : NULL,
			 pix_n(b->out_shape, n), b->out_shape.c, m->pool);
	prof_add(m, 0, MODEL_PROF_ADD, t);
}

/* gin (block input gradient, NULL for the network input) is written;
 * gout = dL/d block output; mid and exp are free buffers for the gradients
 * of the depthwise and expand outputs (see MODEL_GBUFS). */
static void block_backward(struct model *m, const struct model_block *b, int n,
			   float *gin, float *gout, float *mid, float *exp)
{
	float *A = m->arena, *P = m->params, *G = m->grads;
	const float *x = A + b->in;
	struct nn_pw_dims dproj = pw_dims(&b->project, n);
	struct nn_dwconv_dims ddw = dw_dims(&b->dw, n);
	struct nn_bn_grad gproj, gdw;
	struct nn_bn_view vdw, vexp;
	int gin_set = 0; /* gin holds a first contribution */
	double t;

	/* BN-backward sums of what reads gout: the project (and shortcut) */
	unit_grad_sums(m, &b->project, gout, n);
	if (b->has_shortcut)
		unit_grad_sums(m, &b->shortcut, gout, n);
	if (b->residual && b->has_shortcut) {
		struct nn_pw_dims d = pw_dims(&b->shortcut, n);
		struct nn_bn_grad g = unit_grad(m, &b->shortcut);
		t = prof_start(m);
		nn_pw_backward(gin, 0, NULL, G + b->shortcut.w, gout,
			       A + b->shortcut.pre, &g, x, NULL,
			       P + b->shortcut.w, &d, m->pool, m->scratch);
		prof_add(m, 1, MODEL_PROF_POINTWISE, t);
		gin_set = gin != NULL;
	} else if (b->residual && gin) {
		t = prof_start(m);
		memcpy(gin, gout, count_n(b->in_shape, n) * sizeof *gin);
		prof_add(m, 1, MODEL_PROF_ADD, t);
		gin_set = 1;
	}

	/* project: the gradient of its input (dw's view, gated) into mid,
	 * and without SE the dw BN's backward sums on the way */
	gproj = unit_grad(m, &b->project);
	vdw = unit_view(m, &b->dw, b->has_se ? A + b->se_gate : NULL);
	t = prof_start(m);
	nn_pw_backward(mid, 0, b->has_se ? NULL : m->sums, G + b->project.w,
		       gout, A + b->project.pre, &gproj, A + b->dw.pre, &vdw,
		       P + b->project.w, &dproj, m->pool, m->scratch);
	prof_add(m, 1, MODEL_PROF_POINTWISE, t);
	if (b->has_se) {
		struct nn_shape s = b->mid_shape;
		s.n = n;
		vdw.gate = NULL;
		t = prof_start(m);
		nn_se_backward_view(mid, m->sums, G + b->se_w1, G + b->se_b1,
				    G + b->se_w2, G + b->se_b2, A + b->dw.pre,
				    &vdw, A + b->se_pooled, A + b->se_hidden,
				    A + b->se_gate, P + b->se_w1, P + b->se_w2,
				    &s, b->se_r, m->scratch, m->pool);
		prof_add(m, 1, MODEL_PROF_SE, t);
		unit_grad_finish(m, &b->dw,
				 nn_bn_grad_slices(pix_n(b->mid_shape, n)), n);
	} else {
		unit_grad_finish(m, &b->dw, nn_pw_slices(&dproj), n);
	}
	/* mid = dL/d dw's output; the dw kernel applies dw's BN backward as
	 * it stages the rows */
	gdw = unit_grad(m, &b->dw);
	if (!b->has_expand) {
		/* dwsep: the dw reads the block input directly */
		t = prof_start(m);
		nn_dw_backward(gin, gin_set, NULL, G + b->dw.w, mid,
			       A + b->dw.pre, &gdw, x, NULL, P + b->dw.w, &ddw,
			       m->pool, m->scratch);
		prof_add(m, 1, MODEL_PROF_DEPTHWISE, t);
		return;
	}
	/* the gradient of the expand's output, with the expand BN's sums */
	vexp = unit_view(m, &b->expand, NULL);
	t = prof_start(m);
	nn_dw_backward(exp, 0, m->sums, G + b->dw.w, mid, A + b->dw.pre, &gdw,
		       A + b->expand.pre, &vexp, P + b->dw.w, &ddw, m->pool,
		       m->scratch);
	prof_add(m, 1, MODEL_PROF_DEPTHWISE, t);
	unit_grad_finish(m, &b->expand, nn_dw_slices(&ddw), n);
	{
		struct nn_pw_dims d = pw_dims(&b->expand, n);
		struct nn_bn_grad g = unit_grad(m, &b->expand);
		t = prof_start(m);
		nn_pw_backward(gin, gin_set, NULL, G + b->expand.w, exp,
			       A + b->expand.pre, &g, x, NULL, P + b->expand.w,
			       &d, m->pool, m->scratch);
		prof_add(m, 1, MODEL_PROF_POINTWISE, t);
	}
}

/* ---- the whole model ---- */

/* A pass's arguments, for its pool session. */
struct pass_args {
	struct model *m;
	const float *x, *dlogits;
	int n, training;
	struct core_rng *rng;
};

static void forward_pass(struct model *m, const float *x, int n, int training,
			 struct core_rng *rng)
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
		stem_forward(m, m->stem, A + m->input_off, n, training);
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
}

static void forward_session(void *ctx)
{
	struct pass_args *p = ctx;

	forward_pass(p->m, p->x, p->n, p->training, p->rng);
}

const float *model_forward(struct model *m, const float *x, int n, int training,
			   struct core_rng *rng)
{
	struct pass_args p = {m, x, NULL, n, training, rng};

	/* one parallel region for the whole pass: its kernels hand their
	 * tasks to the pool's workers */
	nn_pool_session(m->pool, forward_session, &p);
	return m->arena + m->head_logits;
}

static void backward_pass(struct model *m, const float *dlogits, int n)
{
	float *A = m->arena, *P = m->params, *G = m->grads;
	const struct arch *a = &m->arch;
	struct nn_shape hs = m->head_in_shape;
	size_t nc = (size_t)n * (size_t)m->head_c;
	const float *fc_in =
	    m->last_dropout ? A + m->head_dropped : A + m->head_pooled;
	int o = 0; /* buffer of the current output gradient */
	float *dpool;
	double t = prof_start(m);

	/* head: fc -> (dropout) -> pool into buffer 0 */
	dpool = A + m->head_dpool;
	memset(dpool, 0, nc * sizeof(float));
	nn_linear_backward(dpool, G + m->fc_w, G + m->fc_b, dlogits, fc_in,
			   P + m->fc_w, n, m->head_c, a->classes);
	if (m->last_dropout) {
		float *dd = A + m->head_ddrop;
		memset(dd, 0, nc * sizeof(float));
		nn_dropout_backward(dd, dpool, A + m->head_mask, nc);
		dpool = dd;
	}
	hs.n = n;
	memset(m->gbuf[0], 0, nn_shape_count(&hs) * sizeof(float));
	nn_gap_backward(m->gbuf[0], dpool, &hs);
	prof_add(m, 1, MODEL_PROF_HEAD, t);

	for (int i = m->nblocks - 1; i >= 0; i--) {
		const struct model_block *b = &m->blocks[i];
		int gi = 1 - o;

		block_backward(m, b, n, i > 0 || m->stem ? m->gbuf[gi] : NULL,
			       m->gbuf[o], m->gbuf[2], m->gbuf[3]);
		o = gi;
	}
	if (m->stem)
		stem_backward(m, m->stem, m->gbuf[o], A + m->input_off, n);
}

static void backward_session(void *ctx)
{
	struct pass_args *p = ctx;

	backward_pass(p->m, p->dlogits, p->n);
}

void model_backward(struct model *m, const float *dlogits, int n)
{
	struct pass_args p = {m, NULL, dlogits, n, 0, NULL};

	nn_pool_session(m->pool, backward_session, &p);
}
