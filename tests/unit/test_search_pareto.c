/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_pareto.c - constrained non-dominated sorting, crowding distance
 * and the exact hypervolume against brute-force computations on random point
 * sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void random_points(struct core_rng *r, struct search_point *p, int n,
			  int grid)
{
	for (int i = 0; i < n; i++) {
		/* coarse grids make ties, fine ones make distinct values */
		p[i].acc =
		    (double)(1 + core_rng_below(r, (uint64_t)grid)) / grid;
		p[i].macs =
		    1e6 * (double)(1 + core_rng_below(r, (uint64_t)grid));
		p[i].sram =
		    1e3 * (double)(1 + core_rng_below(r, (uint64_t)grid));
		p[i].flash =
		    1e3 * (double)(1 + core_rng_below(r, (uint64_t)grid));
	}
}

/* rank by definition: peel off the set of points no remaining point
 * dominates, repeatedly */
static void brute_ranks(const struct search_point *p, int n,
			const struct search_limits *lim, int *rank)
{
	int left = n;

	for (int i = 0; i < n; i++)
		rank[i] = -1;
	for (int r = 0; left > 0; r++) {
		int in_front[512];
		int nf = 0;
		for (int i = 0; i < n; i++) {
			int dominated = 0;
			if (rank[i] >= 0)
				continue;
			for (int j = 0; j < n && !dominated; j++)
				if (j != i && rank[j] < 0 &&
				    search_dominates(&p[j], &p[i], lim))
					dominated = 1;
			if (!dominated)
				in_front[nf++] = i;
		}
		assert_true(nf > 0);
		for (int k = 0; k < nf; k++)
			rank[in_front[k]] = r;
		left -= nf;
	}
}

static void nondominated_sort_matches_brute_force(void **state)
{
	struct core_rng rng;
	struct search_point p[120];
	int rank[120], want[120];
	struct search_limits lim = {8e6, 8e3, 9e3};

	core_rng_seed(&rng, 7);
	for (int trial = 0; trial < 200; trial++) {
		int n = 1 + (int)core_rng_below(&rng, 120);
		int grid = trial % 2 ? 10 : 1000;
		random_points(&rng, p, n, grid);
		assert_int_equal(search_nondominated_sort(p, n, &lim, rank),
				 CORE_OK);
		brute_ranks(p, n, &lim, want);
		for (int i = 0; i < n; i++)
			assert_int_equal(rank[i], want[i]);
	}
}

static void constraints_order_the_fronts(void **state)
{
	struct search_limits lim = {100, 100, 100};
	struct search_point p[3] = {
	    {0.9, 150, 10, 10}, /* 50% over on MACs */
	    {0.1, 90, 90, 90},	/* feasible, poor */
	    {0.95, 120, 10, 10} /* 20% over */
	};
	int rank[3];

	assert_true(search_violation(&p[0], &lim) > 0.49);
	assert_int_equal(search_nondominated_sort(p, 3, &lim, rank), CORE_OK);
	assert_int_equal(rank[1], 0); /* the only feasible point leads */
	assert_int_equal(rank[2], 1); /* then the smaller violation */
	assert_int_equal(rank[0], 2);
}

static void crowding_distance_by_hand(void **state)
{
	struct search_point p[4] = {
	    {0.1, 4, 1, 0}, {0.2, 3, 2, 0}, {0.4, 2, 3, 0}, {0.8, 1, 4, 0}};
	int idx[4] = {0, 1, 2, 3};
	double d[4];

	assert_int_equal(search_crowding_distance(p, idx, 4, d), CORE_OK);
	assert_true(isinf(d[0]) && isinf(d[3]));
	/* point 1: acc gap (0.4-0.1)/0.7, macs gap (4-2)/3, sram (3-1)/3 */
	assert_true(fabs(d[1] - (0.3 / 0.7 + 2.0 / 3 + 2.0 / 3)) < 1e-12);
	assert_true(fabs(d[2] - (0.6 / 0.7 + 2.0 / 3 + 2.0 / 3)) < 1e-12);
}

static int add_unique(double *v, int n, double x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return n;
	v[n] = x;
	return n + 1;
}

/* exact union volume on the grid of all distinct coordinates */
static double brute_hv(const struct search_point *p, int n,
		       const struct search_limits *lim)
{
	double xs[64], ys[64], zs[64], vol = 0.0;
	int nx = 0, ny = 0, nz = 0;
	double rx = 0, ry = lim->max_macs, rz = lim->max_sram;

	xs[nx++] = rx, ys[ny++] = ry, zs[nz++] = rz;
	for (int i = 0; i < n; i++) {
		if (search_violation(&p[i], lim) > 0 || !(p[i].acc > 0) ||
		    !(p[i].macs < ry) || !(p[i].sram < rz))
			continue;
		nx = add_unique(xs, nx, -p[i].acc);
		ny = add_unique(ys, ny, p[i].macs);
		nz = add_unique(zs, nz, p[i].sram);
	}
	for (int a = 0; a < nx; a++)
		for (int b = 0; b < ny; b++)
			for (int c = 0; c < nz; c++) {
				/* cell [xs[a], next x) etc: covered if some
				 * point is <= its lower corner */
				double x1 = INFINITY, y1 = INFINITY,
				       z1 = INFINITY;
				for (int k = 0; k < nx; k++)
					if (xs[k] > xs[a] && xs[k] < x1)
						x1 = xs[k];
				for (int k = 0; k < ny; k++)
					if (ys[k] > ys[b] && ys[k] < y1)
						y1 = ys[k];
				for (int k = 0; k < nz; k++)
					if (zs[k] > zs[c] && zs[k] < z1)
						z1 = zs[k];
				if (isinf(x1) || isinf(y1) || isinf(z1))
					continue;
				for (int i = 0; i < n; i++) {
					if (search_violation(&p[i], lim) > 0)
						continue;
					if (-p[i].acc <= xs[a] &&
					    p[i].macs <= ys[b] &&
					    p[i].sram <= zs[c]) {
						vol += (x1 - xs[a]) *
						       (y1 - ys[b]) *
						       (z1 - zs[c]);
						break;
					}
				}
			}
	return vol / (ry * rz);
}

static void hypervolume_matches_brute_force(void **state)
{
	struct core_rng rng;
	struct search_point p[40];
	struct search_limits lim = {9e6, 9e3, 9.5e3};
	double worst = 0.0;

	core_rng_seed(&rng, 99);
	for (int trial = 0; trial < 150; trial++) {
		int n = 1 + (int)core_rng_below(&rng, 40);
		double hv, want;
		random_points(&rng, p, n, trial % 3 ? 10 : 100);
		assert_int_equal(search_hypervolume(p, n, &lim, &hv), CORE_OK);
		want = brute_hv(p, n, &lim);
		worst = fmax(worst, fabs(hv - want));
		assert_true(fabs(hv - want) < 1e-9);
		assert_true(hv >= 0.0 && hv <= 1.0);
	}
	printf("# hypervolume max abs diff vs brute force: %.3g\n", worst);
}

static void hypervolume_single_point_by_hand(void **state)
{
	struct search_limits lim = {100, 200, 0};
	struct search_point p = {0.5, 50, 100, 0};
	double hv;

	assert_int_equal(search_hypervolume(&p, 1, &lim, &hv), CORE_OK);
	/* box 1 x 100 x 200; dominated 0.5 x 50 x 100 */
	assert_true(fabs(hv - 0.125) < 1e-12);
	assert_int_equal(search_hypervolume(&p, 0, &lim, &hv), CORE_OK);
	assert_true(hv == 0.0);
}

static void allocation_failures_are_reported(void **state)
{
	struct search_point p[3] = {
	    {0.5, 1, 1, 1}, {0.6, 2, 2, 2}, {0.7, 3, 3, 3}};
	struct search_limits lim = {10, 10, 10};
	int rank[3], idx[3] = {0, 1, 2};
	double hv, d[3];

	core_alloc_fail_after(0);
	assert_int_equal(search_nondominated_sort(p, 3, &lim, rank),
			 CORE_ERR_NOMEM);
	assert_int_equal(search_hypervolume(p, 3, &lim, &hv), CORE_ERR_NOMEM);
	assert_int_equal(search_crowding_distance(p, idx, 3, d),
			 CORE_ERR_NOMEM);
	core_alloc_fail_after(2);
	assert_int_equal(search_nondominated_sort(p, 3, &lim, rank),
			 CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_int_equal(search_nondominated_sort(p, -1, &lim, rank),
			 CORE_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(nondominated_sort_matches_brute_force),
	    cmocka_unit_test(constraints_order_the_fronts),
	    cmocka_unit_test(crowding_distance_by_hand),
	    cmocka_unit_test(hypervolume_matches_brute_force),
	    cmocka_unit_test(hypervolume_single_point_by_hand),
	    cmocka_unit_test(allocation_failures_are_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
