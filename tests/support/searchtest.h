/* searchtest.h - test-only helpers for the search tests: job specs from
 * readable JSON (' for "), evaluated members with a synthetic accuracy, and
 * chat replies in the OpenAI shape. */
#ifndef LMNAS_SEARCHTEST_H
#define LMNAS_SEARCHTEST_H

#include "search/search.h"

/* Parses {'name': 't', 'dataset': {'path': '/d'}, <extra>} (extra may be
 * "", and brings its own dataset when it names one) into s. Returns 0, or
 * -1 after printing the errors. */
int searchtest_spec(const char *extra, struct search_spec *s);

/* A synthetic "accuracy" in (0, 1) of an architecture: grows with the log
 * of its MACs and rewards choices a search can learn (kernel 5, swish,
 * residual skips, SE 0.25, mbconv with expand 4, resolution 96). Known
 * function, no training. */
double searchtest_fake_acc(const struct arch *a, double macs);

/* m for a: costed (cost_report_build), accuracy searchtest_fake_acc.
 * Returns 0 or -1. */
int searchtest_member(const struct arch *a, long id, int round,
		      struct search_member *m);

/* A feasible random member of spec's space (space_sample until it is
 * within the limits), as a member with id and round. Returns 0 or -1. */
int searchtest_random_member(const struct search_spec *spec,
			     struct core_rng *rng, long id, int round,
			     struct search_member *m);

/* 0 when q is everything an accepted proposal must be, checked without
 * the checker: verdict ok, arch_validate, space_check, the data set's
 * classes, a fresh cost_report_build within the limits and equal to
 * q->cost, arch_hash equal to q->hash. Else -1 and why. */
int searchtest_proposal_ok(const struct search_spec *s,
			   const struct search_proposal *q, char *why,
			   size_t whylen);

/* Compact canonical JSON of a without "name", as prompts show it
 * (core_free). */
char *searchtest_compact(const struct arch *a);

#endif
