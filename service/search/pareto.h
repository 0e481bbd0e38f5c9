/* SPDX-License-Identifier: Apache-2.0 */
/* pareto.h - part of search.h: constrained non-dominated sorting, crowding
 * distance and exact 3-D hypervolume over (accuracy up, MACs down, peak SRAM
 * down), with MACs, SRAM and flash limits as constraints. Plain data only: no
 * database, no HTTP. */
#ifndef LMNAS_SEARCH_PARETO_H
#define LMNAS_SEARCH_PARETO_H

#include "core/core.h"

struct search_point {
	double acc;   /* validation top-1 in [0, 1] (maximised) */
	double macs;  /* minimised */
	double sram;  /* peak SRAM bytes, minimised */
	double flash; /* bytes; a constraint only */
};

/* Limits; a limit <= 0 means "no limit" (then the hypervolume reference for
 * that axis is the largest value among the points, see below). */
struct search_limits {
	double max_macs;
	double max_sram;
	double max_flash;
};

/* Sum of relative excesses over the limits (0 = feasible), e.g. MACs 10%
 * over and flash 5% over gives 0.15. */
double search_violation(const struct search_point *p,
			const struct search_limits *lim);

/* Deb's constrained domination: a feasible point dominates an infeasible
 * one; of two infeasible points the smaller violation dominates; of two
 * feasible points, Pareto dominance on (acc up, macs down, sram down). */
int search_dominates(const struct search_point *a, const struct search_point *b,
		     const struct search_limits *lim);

/* Non-dominated sorting: rank[i] = 0 for the first front, 1 for the next...
 * O(n^2) comparisons; n <= SEARCH_MAX_POINTS. Allocates scratch internally
 * (freed before return); CORE_ERR_NOMEM leaves rank undefined. */
#define SEARCH_MAX_POINTS 100000
enum core_status search_nondominated_sort(const struct search_point *pts, int n,
					  const struct search_limits *lim,
					  int *rank /* (n) */);

/* Crowding distance of the m points pts[idx[0..m-1]] (one front): boundary
 * points get INFINITY, others the sum over objectives of the normalised gap
 * between their neighbours. Writes dist[0..m-1] in idx order. */
enum core_status search_crowding_distance(const struct search_point *pts,
					  const int *idx, int m,
					  double *dist /* (m) */);

/* Exact hypervolume of the feasible points that are strictly better than the
 * reference point in every objective, normalised to [0, 1] by the reference
 * box. Reference: accuracy 0, MACs = max_macs, SRAM = max_sram (for an
 * unlimited axis: the largest value among the feasible points). Sweep over
 * SRAM with a 2-D staircase per slab: O(n^2 log n). */
enum core_status search_hypervolume(const struct search_point *pts, int n,
				    const struct search_limits *lim,
				    double *hv);

#endif
