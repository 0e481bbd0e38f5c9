/* SPDX-License-Identifier: Apache-2.0 */
/* loader.c - the prefetching batch loader: a ring of prepared batches filled
 * in order by worker threads, with per-epoch seeded shuffles, deterministic
 * per-sample augmentation, resume at (epoch, batch) and clean shutdown.
 *
 * Sequence numbers s = 0, 1, 2, ... name the batches in serving order;
 * global batch g = first + s gives epoch g / bpe and batch g % bpe. Slot
 * s % prefetch of the ring carries batch s. Workers claim sequence numbers
 * in order under the lock (copying the batch's record indices out of the
 * current epoch's permutation, which therefore only moves forward), wait
 * until their slot has been released for exactly that s, fill it without the
 * lock, and mark it ready. The consumer takes s in order and releases it at
 * its next call. Nothing a worker writes depends on which worker it is. */
#include "data.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LOADER_MAX_THREADS    64
#define LOADER_MAX_PREFETCH   256
#define LOADER_MAX_BATCH      65536
#define LOADER_MAX_RING_BYTES (4ull << 30)

enum slot_state { SLOT_FREE = 0, SLOT_FILLING, SLOT_READY, SLOT_IN_USE };

struct loader_slot {
	enum slot_state state;
	long seq; /* FREE: the sequence number allowed in next; else held */
	struct data_batch b;
};

struct loader_worker {
	struct data_loader *ld;
	pthread_t thread;
	int32_t *idx;	 /* (batch_size) records of the claimed batch */
	float *scratch;	 /* (32, 32, 3) source-resolution image */
	float *rscratch; /* (32, R, 3) resize row pass */
};

struct data_loader {
	struct data_loader_cfg cfg; /* indices points into base */
	const struct data_set *ds;
	int32_t *base; /* (n) records served, in the caller's order */
	int32_t *perm; /* (n) current epoch's order */
	int n;
	int h, w;	 /* record size of ds (CIFAR: 32 x 32) */
	long bpe;	 /* batches per epoch */
	long first;	 /* global batch number of sequence 0 */
	long total;	 /* sequences to serve (LONG_MAX: endless) */
	long perm_epoch; /* epoch perm holds; -1 before the first */
	float lut[3][256];

	pthread_mutex_t mu;
	pthread_cond_t cv_ready; /* a slot became READY (consumer waits) */
	pthread_cond_t cv_free;	 /* a slot became FREE (workers wait) */
	long next_claim;	 /* next sequence a worker claims */
	long next_take;		 /* next sequence the consumer takes */
	int held;		 /* slot lent to the consumer, -1: none */
	int stop;

	int nslots;
	struct loader_slot *slots;
	float *xbuf;	   /* (nslots, batch, R, R, 3) */
	int32_t *ybuf;	   /* (nslots, batch) */
	int32_t *rbuf;	   /* (nslots, batch) */
	int32_t *wbuf;	   /* (threads, batch) worker index copies */
	float *sbuf;	   /* (threads, per_worker) worker scratch */
	size_t per_worker; /* h*w*3 + data_resize_scratch_size(h, R, 3) */
	int nworkers;	   /* started */
	struct loader_worker *workers;
	int sync_inited; /* mutex and conditions exist */
};

void data_loader_cfg_default(struct data_loader_cfg *cfg,
			     const struct data_set *ds)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->ds = ds;
	cfg->batch_size = 128;
	cfg->resolution = DATA_IMAGE_SIZE;
	cfg->shuffle = 1;
	cfg->augment = 1;
	cfg->crop_padding = 4;
	cfg->flip = 1;
	if (ds && ds->has_stats) {
		memcpy(cfg->mean, ds->mean, sizeof cfg->mean);
		memcpy(cfg->std, ds->std, sizeof cfg->std);
	} else {
		data_norm_default(ds ? ds->kind : DATA_KIND_CIFAR100, cfg->mean,
				  cfg->std);
	}
	cfg->threads = 1;
	cfg->prefetch = 4;
}

static enum core_status cfg_check(const struct data_loader_cfg *c, char *err,
				  size_t errlen)
{
#define BAD(...)                                                               \
	do {                                                                   \
		core_errf(err, errlen, __VA_ARGS__);                           \
		return CORE_ERR_INVALID;                                       \
	} while (0)
	const struct data_set *ds = c->ds;

	if (!ds || ds->n <= 0 || !ds->pixels || !ds->labels)
		BAD("loader: no data set");
	if (c->indices && (c->n_indices <= 0 || c->n_indices > ds->n))
		BAD("loader: n_indices %d is outside 1..%d", c->n_indices,
		    ds->n);
	if (c->batch_size < 1 || c->batch_size > LOADER_MAX_BATCH)
		BAD("loader: batch_size %d is outside 1..%d", c->batch_size,
		    LOADER_MAX_BATCH);
	if (c->resolution < DATA_MIN_RESOLUTION ||
	    c->resolution > DATA_MAX_RESOLUTION)
		BAD("loader: resolution %d is outside %d..%d", c->resolution,
		    DATA_MIN_RESOLUTION, DATA_MAX_RESOLUTION);
	if (c->crop_padding < 0 || c->crop_padding > 16)
		BAD("loader: crop_padding %d is outside 0..16",
		    c->crop_padding);
	if (c->cutout < 0 || c->cutout > DATA_IMAGE_SIZE)
		BAD("loader: cutout %d is outside 0..%d", c->cutout,
		    DATA_IMAGE_SIZE);
	for (int i = 0; i < 3; i++)
		if (!(c->std[i] > 0.0f) || !isfinite(c->std[i]) ||
		    !isfinite(c->mean[i]))
			BAD("loader: channel %d: std %g must be > 0 (mean %g)",
			    i, (double)c->std[i], (double)c->mean[i]);
	if (c->threads < 1 || c->threads > LOADER_MAX_THREADS)
		BAD("loader: threads %d is outside 1..%d", c->threads,
		    LOADER_MAX_THREADS);
	if (c->prefetch < 1 || c->prefetch > LOADER_MAX_PREFETCH)
		BAD("loader: prefetch %d is outside 1..%d", c->prefetch,
		    LOADER_MAX_PREFETCH);
	if (c->start_epoch < 0 || c->start_batch < 0 || c->epochs < 0)
		BAD("loader: negative start_epoch, start_batch or epochs");
	return CORE_OK;
#undef BAD
}

/* Fills ld->perm with epoch e's order. Called with the lock held. */
static void loader_perm_make(struct data_loader *ld, long e)
{
	memcpy(ld->perm, ld->base, (size_t)ld->n * sizeof *ld->perm);
	if (ld->cfg.shuffle) {
		struct core_rng r;

		core_rng_seed(&r, data_seed_derive(ld->cfg.seed, 'S', e, 0));
		for (int i = ld->n - 1; i > 0; i--) {
			int j = (int)core_rng_below(&r, (uint64_t)i + 1);
			int32_t t = ld->perm[i];
			ld->perm[i] = ld->perm[j];
			ld->perm[j] = t;
		}
	}
	ld->perm_epoch = e;
}

/* Prepares batch (epoch, index) of the records idx[0..n) into slot b. */
static void loader_batch_fill(const struct data_loader *ld,
			      struct data_batch *b, const int32_t *idx, int n,
			      float *scratch, float *rscratch)
{
	const struct data_loader_cfg *c = &ld->cfg;
	const int H = ld->h, W = ld->w, R = c->resolution;
	const size_t img = (size_t)R * R * 3, rec_bytes = (size_t)H * W * 3;

	for (int i = 0; i < n; i++) {
		int rec = idx[i];
		const uint8_t *src = ld->ds->pixels + (size_t)rec * rec_bytes;
		float *dst = R == H && R == W ? b->x + i * img : scratch;
		struct data_aug a;

		if (c->augment) {
			data_aug_draw(&a, c->seed, b->epoch, rec,
				      c->crop_padding);
			if (!c->flip)
				a.flip = 0;
			data_crop_flip_normalize(dst, src, H, W,
						 c->crop_padding, &a, ld->lut);
			/* the centre is drawn in 0..31: scaled to the record
			 * (CIFAR: unchanged) */
			data_cutout(dst, H, W, 3, a.cy * H / DATA_IMAGE_SIZE,
				    a.cx * W / DATA_IMAGE_SIZE, c->cutout);
		} else {
			data_crop_flip_normalize(dst, src, H, W, 0, NULL,
						 ld->lut);
		}
		if (R != H || R != W)
			data_resize_bilinear(b->x + i * img, R, R, dst, H, W, 3,
					     rscratch);
		b->y[i] = ld->ds->labels[rec];
		b->record[i] = rec;
	}
	b->n = n;
}

static void *loader_worker_main(void *arg)
{
	struct loader_worker *w = arg;
	struct data_loader *ld = w->ld;

	pthread_mutex_lock(&ld->mu);
	for (;;) {
		long s, g, e, bi, off;
		int n;
		struct loader_slot *slot;

		if (ld->stop || ld->next_claim >= ld->total)
			break;
		s = ld->next_claim++;
		g = ld->first + s;
		e = g / ld->bpe;
		bi = g % ld->bpe;
		if (ld->perm_epoch != e)
			loader_perm_make(ld, e);
		off = bi * ld->cfg.batch_size;
		n = ld->n - off < ld->cfg.batch_size ? (int)(ld->n - off)
						     : ld->cfg.batch_size;
		memcpy(w->idx, ld->perm + off, (size_t)n * sizeof *w->idx);
		slot = &ld->slots[s % ld->nslots];
		while (!ld->stop &&
		       !(slot->state == SLOT_FREE && slot->seq == s))
			pthread_cond_wait(&ld->cv_free, &ld->mu);
		if (ld->stop)
			break;
		slot->state = SLOT_FILLING;
		slot->b.epoch = (int)e;
		slot->b.index = (int)bi;
		pthread_mutex_unlock(&ld->mu);

		loader_batch_fill(ld, &slot->b, w->idx, n, w->scratch,
				  w->rscratch);

		pthread_mutex_lock(&ld->mu);
		slot->state = SLOT_READY;
		pthread_cond_broadcast(&ld->cv_ready);
	}
	pthread_mutex_unlock(&ld->mu);
	return NULL;
}

/* a * b * c, or 0 on overflow (every factor is > 0 here) */
static size_t mul3(size_t a, size_t b, size_t c)
{
	if (b > SIZE_MAX / a)
		return 0;
	a *= b;
	if (c > SIZE_MAX / a)
		return 0;
	return a * c;
}

static enum core_status loader_alloc(struct data_loader *ld, char *err,
				     size_t errlen)
{
	const struct data_loader_cfg *c = &ld->cfg;
	size_t B = (size_t)c->batch_size, R = (size_t)c->resolution;
	size_t per = mul3(B, R * R * 3, sizeof(float));
	size_t ring = mul3(per, (size_t)ld->nslots, 1);

	if (!per || !ring || ring > LOADER_MAX_RING_BYTES) {
		core_errf(err, errlen,
			  "loader: ring of %d batches of %zu images at %zu px "
			  "needs more than the limit of %llu bytes",
			  ld->nslots, B, R, LOADER_MAX_RING_BYTES);
		return CORE_ERR_INVALID;
	}
	ld->base = core_malloc((size_t)ld->n * sizeof *ld->base);
	ld->perm = core_malloc((size_t)ld->n * sizeof *ld->perm);
	ld->slots = core_calloc((size_t)ld->nslots, sizeof *ld->slots);
	ld->xbuf = core_malloc(ring);
	ld->ybuf = core_malloc(ld->nslots * B * sizeof *ld->ybuf);
	ld->rbuf = core_malloc(ld->nslots * B * sizeof *ld->rbuf);
	ld->wbuf = core_malloc((size_t)c->threads * B * sizeof *ld->wbuf);
	ld->per_worker = (size_t)ld->h * ld->w * 3 +
			 data_resize_scratch_size(ld->h, (int)R, 3);
	ld->sbuf =
	    core_malloc((size_t)c->threads * ld->per_worker * sizeof *ld->sbuf);
	ld->workers = core_calloc((size_t)c->threads, sizeof *ld->workers);
	if (!ld->base || !ld->perm || !ld->slots || !ld->xbuf || !ld->ybuf ||
	    !ld->rbuf || !ld->wbuf || !ld->sbuf || !ld->workers) {
		core_errf(err, errlen, "loader: out of memory (%zu bytes ring)",
			  ring);
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < ld->nslots; i++) {
		struct loader_slot *s = &ld->slots[i];
		s->state = SLOT_FREE;
		s->seq = i;
		s->b.resolution = c->resolution;
		s->b.x = ld->xbuf + (size_t)i * B * R * R * 3;
		s->b.y = ld->ybuf + (size_t)i * B;
		s->b.record = ld->rbuf + (size_t)i * B;
	}
	return CORE_OK;
}

/* Stops and joins the started workers, frees everything. */
void data_loader_close(struct data_loader *ld)
{
	if (!ld)
		return;
	if (ld->sync_inited) {
		pthread_mutex_lock(&ld->mu);
		ld->stop = 1;
		pthread_cond_broadcast(&ld->cv_free);
		pthread_cond_broadcast(&ld->cv_ready);
		pthread_mutex_unlock(&ld->mu);
	}
	for (int i = 0; i < ld->nworkers; i++)
		pthread_join(ld->workers[i].thread, NULL);
	if (ld->sync_inited) {
		pthread_cond_destroy(&ld->cv_free);
		pthread_cond_destroy(&ld->cv_ready);
		pthread_mutex_destroy(&ld->mu);
	}
	core_free(ld->base);
	core_free(ld->perm);
	core_free(ld->slots);
	core_free(ld->xbuf);
	core_free(ld->ybuf);
	core_free(ld->rbuf);
	core_free(ld->wbuf);
	core_free(ld->sbuf);
	core_free(ld->workers);
	core_free(ld);
}

static enum core_status loader_sync_init(struct data_loader *ld, char *err,
					 size_t errlen)
{
	if (pthread_mutex_init(&ld->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&ld->cv_ready, NULL) != 0) {
		pthread_mutex_destroy(&ld->mu);
		goto fail;
	}
	if (pthread_cond_init(&ld->cv_free, NULL) != 0) {
		pthread_cond_destroy(&ld->cv_ready);
		pthread_mutex_destroy(&ld->mu);
		goto fail;
	}
	ld->sync_inited = 1;
	return CORE_OK;
fail:
	core_errf(err, errlen, "loader: cannot create a mutex or condition");
	return CORE_ERR_NOMEM;
}

enum core_status data_loader_open(const struct data_loader_cfg *cfg,
				  struct data_loader **out, char *err,
				  size_t errlen)
{
	struct data_loader *ld = NULL;
	enum core_status st;
	long end;

	*out = NULL;
	st = cfg_check(cfg, err, errlen);
	if (st)
		return st;
	ld = core_calloc(1, sizeof *ld);
	if (!ld) {
		core_errf(err, errlen, "loader: out of memory");
		return CORE_ERR_NOMEM;
	}
	ld->cfg = *cfg;
	ld->ds = cfg->ds;
	ld->h = cfg->ds->height ? cfg->ds->height : DATA_IMAGE_SIZE;
	ld->w = cfg->ds->width ? cfg->ds->width : DATA_IMAGE_SIZE;
	ld->n = cfg->indices ? cfg->n_indices : cfg->ds->n;
	ld->nslots = cfg->prefetch;
	ld->held = -1;
	ld->perm_epoch = -1;
	ld->bpe = cfg->drop_last
		      ? ld->n / cfg->batch_size
		      : (ld->n + cfg->batch_size - 1) / cfg->batch_size;
	if (ld->bpe == 0) {
		core_errf(err, errlen,
			  "loader: %d records make no full batch of %d "
			  "(drop_last)",
			  ld->n, cfg->batch_size);
		st = CORE_ERR_INVALID;
		goto out;
	}
	if (cfg->start_batch >= ld->bpe ||
	    (long)cfg->start_epoch > (LONG_MAX / 2) / ld->bpe) {
		core_errf(err, errlen,
			  "loader: start (epoch %d, batch %d) is outside an "
			  "epoch of %ld batches",
			  cfg->start_epoch, cfg->start_batch, ld->bpe);
		st = CORE_ERR_INVALID;
		goto out;
	}
	ld->first = (long)cfg->start_epoch * ld->bpe + cfg->start_batch;
	end = cfg->epochs > 0 ? (long)cfg->epochs * ld->bpe : LONG_MAX;
	if (cfg->epochs > 0 && ld->first >= end) {
		core_errf(err, errlen,
			  "loader: start epoch %d is not before epochs %d",
			  cfg->start_epoch, cfg->epochs);
		st = CORE_ERR_INVALID;
		goto out;
	}
	ld->total = end == LONG_MAX ? LONG_MAX : end - ld->first;
	st = loader_alloc(ld, err, errlen);
	if (st)
		goto out;
	for (int i = 0; i < ld->n; i++) {
		int32_t r = cfg->indices ? cfg->indices[i] : i;
		if (r < 0 || r >= cfg->ds->n) {
			core_errf(err, errlen,
				  "loader: indices[%d] = %d is outside 0..%d",
				  i, (int)r, cfg->ds->n - 1);
			st = CORE_ERR_INVALID;
			goto out;
		}
		ld->base[i] = r;
	}
	ld->cfg.indices = ld->base;
	data_norm_table(ld->lut, cfg->mean, cfg->std);
	st = loader_sync_init(ld, err, errlen);
	if (st)
		goto out;
	for (int i = 0; i < cfg->threads; i++) {
		struct loader_worker *w = &ld->workers[i];
		w->ld = ld;
		w->idx = ld->wbuf + (size_t)i * cfg->batch_size;
		w->scratch = ld->sbuf + (size_t)i * ld->per_worker;
		w->rscratch = w->scratch + (size_t)ld->h * ld->w * 3;
		if (pthread_create(&w->thread, NULL, loader_worker_main, w) !=
		    0) {
			core_errf(err, errlen,
				  "loader: cannot start worker thread %d", i);
			st = CORE_ERR_NOMEM;
			goto out;
		}
		ld->nworkers++;
	}
	*out = ld;
	ld = NULL;
out:
	data_loader_close(ld);
	return st;
}

enum core_status data_loader_next(struct data_loader *ld,
				  const struct data_batch **out, char *err,
				  size_t errlen)
{
	struct loader_slot *slot;
	long s;

	*out = NULL;
	pthread_mutex_lock(&ld->mu);
	if (ld->held >= 0) {
		slot = &ld->slots[ld->held];
		slot->state = SLOT_FREE;
		slot->seq += ld->nslots;
		ld->held = -1;
		pthread_cond_broadcast(&ld->cv_free);
	}
	if (ld->next_take >= ld->total) {
		pthread_mutex_unlock(&ld->mu);
		return CORE_OK; /* every epoch served */
	}
	s = ld->next_take;
	slot = &ld->slots[s % ld->nslots];
	while (!(slot->state == SLOT_READY && slot->seq == s))
		pthread_cond_wait(&ld->cv_ready, &ld->mu);
	slot->state = SLOT_IN_USE;
	ld->held = (int)(s % ld->nslots);
	ld->next_take++;
	pthread_mutex_unlock(&ld->mu);
	*out = &slot->b;
	return CORE_OK;
}

long data_loader_batches_per_epoch(const struct data_loader *ld)
{
	return ld->bpe;
}

void data_loader_position(const struct data_loader *ld, int *epoch, int *batch)
{
	/* next_take is only written by the consumer thread, the caller */
	long g = ld->first + ld->next_take;

	*epoch = (int)(g / ld->bpe);
	*batch = (int)(g % ld->bpe);
}
