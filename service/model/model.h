/* SPDX-License-Identifier: Apache-2.0 */
/* model.h - a trainable float32 network built from an lmnas-arch/1
 * architecture on the nn layers: its parameter table (PyTorch state_dict
 * names and order, so weights move between lmnas and tools/arch_torch.py),
 * one allocation each for parameters, gradients and BN running statistics,
 * one activation arena sized once for the largest batch, and the forward and
 * backward passes of the whole network.
 *
 * Layer: model sits above nn and arch, below train, quant and search.
 *
 * Memory: the arena keeps what the backward pass needs: each conv's pre-BN
 * output (its BN+activation output is never stored: the next layer reads
 * it through a view and backward recomputes it, see nn_bn_view), block
 * outputs, BN statistics, SE internals, the dropout mask. Gradients flow
 * through MODEL_GBUFS buffers reused block after block, so gradient memory
 * does not grow with depth.
 *
 * Threads: each pass runs as one worker-pool session (nn_pool_session) of
 * up to omp_get_max_threads() at build time workers (fewer if the OpenMP
 * setting is lower when it runs); results are the same for any number of
 * them. */
#ifndef LMNAS_MODEL_H
#define LMNAS_MODEL_H

#include "arch/arch.h"
#include "core/core.h"
#include "nn/nn.h"

enum model_tensor_kind {
	MODEL_PARAM = 0, /* trainable: in params/grads */
	MODEL_BUFFER	 /* BN running statistics: in bn_stats */
};

enum model_tensor_layout {
	MODEL_LAYOUT_PLAIN = 0, /* same order as PyTorch */
	MODEL_LAYOUT_CONV, /* ours (Cout,K,K,Cin), PyTorch (Cout,Cin,K,K) */
	MODEL_LAYOUT_DW,   /* ours (K,K,C), PyTorch (C,1,K,K) */
};

/* One named tensor of the state_dict. */
struct model_tensor {
	char name[64]; /* e.g. "stages.1.0.dw.conv.weight" */
	enum model_tensor_kind kind;
	enum model_tensor_layout layout;
	int ndim;
	int shape[4];  /* PyTorch's shape */
	size_t offset; /* floats, into params or bn_stats */
	size_t count;
	int decay; /* 1 for conv and linear weights, 0 for BN and biases */
};

/* Layer kinds of the optional per-kind timing of the passes. */
enum model_prof_kind {
	MODEL_PROF_CONV = 0,  /* k x k dense convs (the stem): im2col + GEMM */
	MODEL_PROF_POINTWISE, /* 1x1 convs: one GEMM each */
	MODEL_PROF_DEPTHWISE,
	MODEL_PROF_BN_ACT, /* batch norm fused with its activation */
	MODEL_PROF_SE,
	MODEL_PROF_ADD,	 /* residual adds */
	MODEL_PROF_HEAD, /* input copy, pool, dropout, fc */
	MODEL_PROF_ZERO, /* clearing gradient buffers */
	MODEL_PROF_COUNT
};

/* Wall seconds per layer kind, ADDED to by every forward and backward while
 * model.profile points at one (two clock reads per layer; NULL = off). */
struct model_profile {
	double fwd[MODEL_PROF_COUNT];
	double bwd[MODEL_PROF_COUNT];
};

const char *model_prof_kind_name(enum model_prof_kind k);

/* Gradient buffers: a block's output and input gradients rotate through
 * buffers 0 and 1, its middle gradient (the depthwise output's) goes to 2
 * and its expand output's to 3, each sized for the largest of its kind. */
#define MODEL_GBUFS 4

struct model_convbn; /* private */
struct model_block;  /* private */

struct model {
	struct arch arch;
	int max_batch;
	int training; /* built with gradients and saved activations */
	int classes;

	float *params;	 /* (nparams) one allocation */
	float *grads;	 /* (nparams) one allocation, NULL when !training */
	float *bn_stats; /* (nbuffers) running means and variances */
	size_t nparams, nbuffers;
	unsigned char *decay_mask; /* (nparams) 1 where weight decay applies */

	struct model_tensor *tensors; /* state_dict order */
	int ntensors;

	/* private layout */
	struct model_convbn *stem; /* NULL without stem */
	struct model_block *blocks;
	int nblocks;
	size_t head_in; /* arena: the last block's output */
	struct nn_shape head_in_shape;
	size_t head_pooled, head_dropped, head_mask, head_logits; /* arena */
	size_t head_dpool, head_ddrop; /* arena: head gradients (N, C) */
	size_t fc_w, fc_b;	       /* params */
	int head_c;
	size_t input_off; /* arena offset of the input copy */

	float *arena; /* (arena_count) activations */
	size_t arena_count;
	float *gbuf[MODEL_GBUFS]; /* (gbuf_count[i]) gradients, training only */
	size_t gbuf_count[MODEL_GBUFS];
	double *sums; /* (sums_count) partial sums (NN_SLICES, 2, C) */
	size_t sums_count;
	int last_dropout; /* the last forward applied dropout */
	void *scratch;	  /* kernel scratch for the pool's workers */
	size_t scratch_bytes;
	struct nn_pool *pool; /* omp_get_max_threads() workers when built */
	struct model_profile *profile; /* NULL, or owned by the caller */
};

/* Builds the model for batches of up to max_batch images of the
 * architecture's resolution and channels. training = 0 builds an
 * inference-only model (no gradients). Parameters are initialised from seed
 * (conv: Kaiming normal, fan_out; linear: N(0, 0.01); biases 0; BN 1/0; as
 * torchvision's MobileNet). *out is owned by the caller (model_free). On
 * failure nothing is allocated and err says why. */
enum core_status model_build(const struct arch *a, int max_batch, int training,
			     uint64_t seed, struct model **out, char *err,
			     size_t errlen);
void model_free(struct model *m);

/* Bytes of every allocation of the model (params, grads, buffers, arena,
 * gradient buffers, scratch): what model_build will allocate. */
size_t model_memory_bytes(const struct model *m);

/* Forward pass of n <= max_batch images x (n, R, R, C) NHWC. training: BN
 * uses (and updates the running) batch statistics and dropout draws from
 * rng; else BN uses running statistics and dropout is the identity.
 * Returns the logits (n, classes), inside the arena: valid until the next
 * forward. */
const float *model_forward(struct model *m, const float *x, int n, int training,
			   struct core_rng *rng);

/* Backward pass after a training forward of the same n: ADDS the parameter
 * gradients into m->grads (zero them with model_zero_grads first). dlogits
 * (n, classes). */
void model_backward(struct model *m, const float *dlogits, int n);

void model_zero_grads(struct model *m);

/* The named tensor, or NULL. */
const struct model_tensor *model_tensor_find(const struct model *m,
					     const char *name);
/* Pointer to a tensor's data (params or bn_stats, our layout). */
float *model_tensor_data(struct model *m, const struct model_tensor *t);

/* Copies tensor t to/from PyTorch's layout (count floats). */
void model_tensor_to_torch(const struct model *m, const struct model_tensor *t,
			   float *dst);
void model_tensor_from_torch(struct model *m, const struct model_tensor *t,
			     const float *src);

#endif
