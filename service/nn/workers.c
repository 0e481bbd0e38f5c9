/* SPDX-License-Identifier: Apache-2.0 */
/* workers.c - the worker pool of the fused kernels: one OpenMP parallel
 * region per session (a whole forward or backward pass) whose threads serve
 * the kernels' task lists. A task list is claimed task by task through one
 * atomic word and finished when its tasks are done, not when every thread
 * has passed a barrier, so a worker that lost its CPU to another process
 * holds nobody up unless it holds a task. */
#include "nn/nn.h"

#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

/* Polls of an idle worker before it sleeps (a few tens of microseconds:
 * long enough to catch the next kernel of a pass, short enough not to
 * steal a CPU between passes). */
#define POOL_SPIN 2000
/* Polls of the caller waiting for the last tasks before it yields. */
#define POOL_WAIT_SPIN 4000

struct nn_pool {
	int workers;
	/* the task list: generation << 32 | next unclaimed task */
	_Atomic uint64_t word;
	_Atomic int done;   /* tasks finished in this generation */
	_Atomic int ntasks; /* fields of the current list (atomics: a late */
	_Atomic(nn_pool_task_fn) task; /* worker may read them while the  */
	_Atomic(void *) ctx;	       /* next list is being published)   */
	_Atomic int team; /* threads of the running session, 0 = none */
	_Atomic int quit;
	_Atomic int sleepers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static inline void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

enum core_status nn_pool_create(int workers, struct nn_pool **out, char *err,
				size_t errlen)
{
	struct nn_pool *p;

	*out = NULL;
	if (workers < 1 || workers > 1024) {
		core_errf(err, errlen, "pool: %d workers is outside 1..1024",
			  workers);
		return CORE_ERR_INVALID;
	}
	p = core_calloc(1, sizeof *p);
	if (!p) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	p->workers = workers;
	if (pthread_mutex_init(&p->mu, NULL)) {
		core_free(p);
		core_errf(err, errlen, "pool: mutex");
		return CORE_ERR_INTERNAL;
	}
	if (pthread_cond_init(&p->cv, NULL)) {
		pthread_mutex_destroy(&p->mu);
		core_free(p);
		core_errf(err, errlen, "pool: condition variable");
		return CORE_ERR_INTERNAL;
	}
	*out = p;
	return CORE_OK;
}

void nn_pool_free(struct nn_pool *p)
{
	if (!p)
		return;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	core_free(p);
}

int nn_pool_workers(const struct nn_pool *p)
{
	return p ? p->workers : 1;
}

static void pool_wake(struct nn_pool *p)
{
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Claims and runs tasks of generation gen until none is left. */
static void pool_claim(struct nn_pool *p, uint32_t gen, int worker)
{
	nn_pool_task_fn task =
	    atomic_load_explicit(&p->task, memory_order_relaxed);
	void *ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
	int ntasks = atomic_load_explicit(&p->ntasks, memory_order_relaxed);

	for (;;) {
		uint64_t w =
		    atomic_load_explicit(&p->word, memory_order_acquire);
		uint32_t i = (uint32_t)w;

		if ((uint32_t)(w >> 32) != gen || i >= (uint32_t)ntasks)
			return;
		/* a claim of (gen, i) only succeeds while the list is not
		 * finished, so the fields read above are this list's */
		if (!atomic_compare_exchange_weak_explicit(
			&p->word, &w, w + 1, memory_order_acq_rel,
			memory_order_relaxed))
			continue;
		task(ctx, (int)i, worker);
		atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
	}
}

static void pool_serve(struct nn_pool *p, int worker)
{
	uint32_t seen = (uint32_t)(atomic_load(&p->word) >> 32);

	for (;;) {
		uint32_t gen;

		for (int spin = 0;; spin++) {
			gen = (uint32_t)(atomic_load(&p->word) >> 32);
			if (gen != seen || atomic_load(&p->quit))
				break;
			if (spin < POOL_SPIN) {
				pool_relax();
				continue;
			}
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->sleepers, 1);
			while ((uint32_t)(atomic_load(&p->word) >> 32) ==
				   seen &&
			       !atomic_load(&p->quit))
				pthread_cond_wait(&p->cv, &p->mu);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->quit))
			return;
		seen = gen;
		pool_claim(p, gen, worker);
	}
}

void nn_pool_session(struct nn_pool *p, void (*fn)(void *ctx), void *ctx)
{
	int threads = p ? p->workers : 1;

	if (threads > omp_get_max_threads())
		threads = omp_get_max_threads();
	if (threads <= 1 || omp_in_parallel()) {
		fn(ctx);
		return;
	}
	atomic_store(&p->quit, 0);
#pragma omp parallel num_threads(threads)
	{
		int id = omp_get_thread_num();

		if (id == 0) {
			atomic_store(&p->team, omp_get_num_threads());
			fn(ctx);
			atomic_store(&p->team, 0);
			atomic_store(&p->quit, 1);
			pthread_mutex_lock(&p->mu);
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
		} else {
			pool_serve(p, id);
		}
	}
}

void nn_pool_run(struct nn_pool *p, int ntasks, nn_pool_task_fn task, void *ctx)
{
	uint64_t w;
	uint32_t gen;

	if (!p || ntasks <= 1 || atomic_load(&p->team) <= 1) {
		for (int i = 0; i < ntasks; i++)
			task(ctx, i, 0);
		return;
	}
	atomic_store_explicit(&p->task, task, memory_order_relaxed);
	atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
	atomic_store_explicit(&p->ntasks, ntasks, memory_order_relaxed);
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	w = atomic_load(&p->word);
	gen = (uint32_t)(w >> 32) + 1;
	atomic_store(&p->word, (uint64_t)gen << 32);
	pool_wake(p);
	pool_claim(p, gen, 0);
	for (int spin = 0;
	     atomic_load_explicit(&p->done, memory_order_acquire) < ntasks;
	     spin++) {
		if (spin < POOL_WAIT_SPIN)
			pool_relax();
		else
			sched_yield(); /* a preempted task holder may need it */
	}
}
