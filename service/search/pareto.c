/* SPDX-License-Identifier: Apache-2.0 */
/* pareto.c - constrained non-dominated sorting, crowding distance and the
 * exact 3-D hypervolume. */
#include "pareto.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double search_violation(const struct search_point *p,
			const struct search_limits *lim)
{
	double v = 0.0;

	if (lim->max_macs > 0 && p->macs > lim->max_macs)
		v += (p->macs - lim->max_macs) / lim->max_macs;
	if (lim->max_sram > 0 && p->sram > lim->max_sram)
		v += (p->sram - lim->max_sram) / lim->max_sram;
	if (lim->max_flash > 0 && p->flash > lim->max_flash)
		v += (p->flash - lim->max_flash) / lim->max_flash;
	return v;
}

static int pareto_dominates(const struct search_point *a,
			    const struct search_point *b)
{
	if (a->acc < b->acc || a->macs > b->macs || a->sram > b->sram)
		return 0;
	return a->acc > b->acc || a->macs < b->macs || a->sram < b->sram;
}

int search_dominates(const struct search_point *a, const struct search_point *b,
		     const struct search_limits *lim)
{
	double va = search_violation(a, lim), vb = search_violation(b, lim);

	if (va == 0.0 && vb > 0.0)
		return 1;
	if (va > 0.0 && vb == 0.0)
		return 0;
	if (va > 0.0 && vb > 0.0)
		return va < vb;
	return pareto_dominates(a, b);
}

enum core_status search_nondominated_sort(const struct search_point *pts, int n,
					  const struct search_limits *lim,
					  int *rank)
{
	int *count = NULL, *front = NULL, *next = NULL;
	unsigned char *dom = NULL; /* dom[i*n+j]: i dominates j */
	int nf, nn, r;

	if (n < 0 || n > SEARCH_MAX_POINTS)
		return CORE_ERR_INVALID;
	if (n == 0)
		return CORE_OK;
	count = core_calloc((size_t)n, sizeof *count);
	front = core_calloc((size_t)n, sizeof *front);
	next = core_calloc((size_t)n, sizeof *next);
	dom = core_calloc((size_t)n * (size_t)n, 1);
	if (!count || !front || !next || !dom) {
		core_free(count), core_free(front), core_free(next);
		core_free(dom);
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			if (search_dominates(&pts[i], &pts[j], lim)) {
				dom[(size_t)i * n + j] = 1;
				count[j]++;
			} else if (search_dominates(&pts[j], &pts[i], lim)) {
				dom[(size_t)j * n + i] = 1;
				count[i]++;
			}
		}
	nf = 0;
	for (int i = 0; i < n; i++)
		if (count[i] == 0)
			front[nf++] = i;
	for (r = 0; nf > 0; r++) {
		nn = 0;
		for (int k = 0; k < nf; k++) {
			int i = front[k];
			rank[i] = r;
			for (int j = 0; j < n; j++)
				if (dom[(size_t)i * n + j] && --count[j] == 0)
					next[nn++] = j;
		}
		memcpy(front, next, (size_t)nn * sizeof *front);
		nf = nn;
	}
	core_free(count), core_free(front), core_free(next), core_free(dom);
	return CORE_OK;
}

struct crowd_ctx {
	const struct search_point *pts;
	const int *idx;
	int obj;
};

static double objective(const struct search_point *p, int obj)
{
	return obj == 0 ? p->acc : obj == 1 ? p->macs : p->sram;
}

static int cmp_by_obj(const void *a, const void *b, void *arg)
{
	const struct crowd_ctx *c = arg;
	double x = objective(&c->pts[c->idx[*(const int *)a]], c->obj);
	double y = objective(&c->pts[c->idx[*(const int *)b]], c->obj);

	return (x > y) - (x < y);
}

enum core_status search_crowding_distance(const struct search_point *pts,
					  const int *idx, int m, double *dist)
{
	int *order;

	if (m <= 0)
		return CORE_OK;
	order = core_calloc((size_t)m, sizeof *order);
	if (!order)
		return CORE_ERR_NOMEM;
	for (int k = 0; k < m; k++)
		dist[k] = 0.0;
	for (int obj = 0; obj < 3; obj++) {
		double lo, hi;
		for (int k = 0; k < m; k++)
			order[k] = k;
		struct crowd_ctx ctx = {pts, idx, obj};
		qsort_r(order, (size_t)m, sizeof *order, cmp_by_obj, &ctx);
		lo = objective(&pts[idx[order[0]]], obj);
		hi = objective(&pts[idx[order[m - 1]]], obj);
		dist[order[0]] = INFINITY;
		dist[order[m - 1]] = INFINITY;
		if (hi <= lo)
			continue;
		for (int k = 1; k < m - 1; k++) {
			double gap = objective(&pts[idx[order[k + 1]]], obj) -
				     objective(&pts[idx[order[k - 1]]], obj);
			dist[order[k]] += gap / (hi - lo);
		}
	}
	core_free(order);
	return CORE_OK;
}

/* Points reduced to minimisation coordinates inside the reference box. */
struct hv_pt {
	double x, y, z; /* -acc, macs, sram: all minimised */
};

static int cmp_z(const void *a, const void *b)
{
	double x = ((const struct hv_pt *)a)->z,
	       y = ((const struct hv_pt *)b)->z;
	return (x > y) - (x < y);
}

static int cmp_x(const void *a, const void *b)
{
	const struct hv_pt *p = a, *q = b;
	if (p->x != q->x)
		return (p->x > q->x) - (p->x < q->x);
	return (p->y > q->y) - (p->y < q->y);
}

/* 2-D hypervolume of pts (minimisation) against (rx, ry); sorts pts. */
static double hv2d(struct hv_pt *pts, int n, double rx, double ry)
{
	double area = 0.0, best_y = ry;

	qsort(pts, (size_t)n, sizeof *pts, cmp_x);
	for (int i = 0; i < n; i++) {
		double x_next = i + 1 < n ? pts[i + 1].x : rx;
		if (pts[i].y < best_y)
			best_y = pts[i].y;
		area += (x_next - pts[i].x) * (ry - best_y);
	}
	return area;
}

enum core_status search_hypervolume(const struct search_point *pts, int n,
				    const struct search_limits *lim, double *hv)
{
	struct hv_pt *p = NULL, *slab = NULL;
	double rx = 0.0, ry = lim->max_macs, rz = lim->max_sram, vol = 0.0;
	int m = 0;

	*hv = 0.0;
	if (n < 0 || n > SEARCH_MAX_POINTS)
		return CORE_ERR_INVALID;
	if (ry <= 0 || rz <= 0) {
		/* unlimited axis: reference at the largest feasible value */
		double my = 0.0, mz = 0.0;
		for (int i = 0; i < n; i++)
			if (search_violation(&pts[i], lim) == 0.0) {
				my = fmax(my, pts[i].macs);
				mz = fmax(mz, pts[i].sram);
			}
		if (ry <= 0)
			ry = my;
		if (rz <= 0)
			rz = mz;
	}
	if (ry <= 0 || rz <= 0 || n == 0)
		return CORE_OK;
	p = core_calloc((size_t)n, sizeof *p);
	slab = core_calloc((size_t)n, sizeof *slab);
	if (!p || !slab) {
		core_free(p), core_free(slab);
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < n; i++) {
		const struct search_point *q = &pts[i];
		if (search_violation(q, lim) != 0.0)
			continue;
		if (!(q->acc > 0.0 && q->macs < ry && q->sram < rz))
			continue;
		p[m].x = -q->acc;
		p[m].y = q->macs;
		p[m].z = q->sram;
		m++;
	}
	/* sweep z upwards: between z[k] and z[k+1] the dominated region's cross
	 * section is the 2-D hypervolume of the points with z <= z[k] */
	qsort(p, (size_t)m, sizeof *p, cmp_z);
	for (int k = 0; k < m; k++) {
		double z_next = k + 1 < m ? p[k + 1].z : rz;
		if (z_next <= p[k].z)
			continue;
		memcpy(slab, p, (size_t)(k + 1) * sizeof *slab);
		vol += hv2d(slab, k + 1, rx, ry) * (z_next - p[k].z);
	}
	/* normalise by the box: accuracy span 1 (from -1 to 0), ry, rz */
	*hv = vol / (1.0 * ry * rz);
	core_free(p);
	core_free(slab);
	return CORE_OK;
}
