/* SPDX-License-Identifier: Apache-2.0 */
/* memory.c - checked allocation with a fault injector, arenas and capped
 * growable buffers. */
#include "core.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long alloc_count;
static atomic_long alloc_fail_at = -1;

void core_alloc_fail_after(long n)
{
	atomic_store(&alloc_fail_at,
		     n < 0 ? -1 : atomic_load(&alloc_count) + n);
}

long core_alloc_count(void)
{
	return atomic_load(&alloc_count);
}

static int alloc_should_fail(void)
{
	long at = atomic_load(&alloc_fail_at);
	long n = atomic_fetch_add(&alloc_count, 1);

	return at >= 0 && n >= at;
}

void *core_malloc(size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *core_calloc(size_t count, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return calloc(count ? count : 1, size ? size : 1);
}

void *core_realloc(void *p, size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

char *core_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = core_malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

void core_free(void *p)
{
	free(p);
}

/* ---- arena ---- */

#define ARENA_ALIGN 64

enum core_status core_arena_init(struct core_arena *a, size_t cap)
{
	memset(a, 0, sizeof *a);
	cap = (cap + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (alloc_should_fail())
		return CORE_ERR_NOMEM;
	a->base = aligned_alloc(ARENA_ALIGN, cap ? cap : ARENA_ALIGN);
	if (!a->base)
		return CORE_ERR_NOMEM;
	a->cap = cap;
	return CORE_OK;
}

void *core_arena_alloc(struct core_arena *a, size_t n)
{
	size_t start = (a->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (start > a->cap || n > a->cap - start)
		return NULL;
	a->used = start + n;
	if (a->used > a->high_water)
		a->high_water = a->used;
	return a->base + start;
}

void core_arena_reset(struct core_arena *a)
{
	a->used = 0;
}

void core_arena_free(struct core_arena *a)
{
	free(a->base);
	memset(a, 0, sizeof *a);
}

/* ---- buffer ---- */

void core_buf_init(struct core_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void core_buf_free(struct core_buf *b)
{
	core_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

enum core_status core_buf_append(struct core_buf *b, const void *p, size_t n)
{
	size_t need;

	if (n > b->max || b->len > b->max - n) {
		core_buf_free(b);
		return CORE_ERR_NOMEM;
	}
	need = b->len + n + 1;
	if (need > b->alloc) {
		size_t na = b->alloc ? b->alloc : 256;
		char *nd;
		while (na < need)
			na *= 2;
		if (na > b->max + 1)
			na = b->max + 1;
		nd = core_realloc(b->data, na);
		if (!nd) {
			core_buf_free(b);
			return CORE_ERR_NOMEM;
		}
		b->data = nd;
		b->alloc = na;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return CORE_OK;
}

enum core_status core_buf_printf(struct core_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;
	enum core_status st;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		core_buf_free(b);
		return CORE_ERR_INVALID;
	}
	if ((size_t)n < sizeof small)
		return core_buf_append(b, small, (size_t)n);
	{
		char *big = core_malloc((size_t)n + 1);
		if (!big) {
			core_buf_free(b);
			return CORE_ERR_NOMEM;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		st = core_buf_append(b, big, (size_t)n);
		core_free(big);
	}
	return st;
}

char *core_buf_steal(struct core_buf *b, size_t *len)
{
	char *d = b->data;

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return d;
}
