/* SPDX-License-Identifier: Apache-2.0 */
/* searchtest.h - test-only helpers for the search tests: job specs from
 * readable JSON (' for "), evaluated members with a synthetic accuracy, and
 * an llm proposer talking to the scripted fake server (fake_llm.h). */
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

/* Whether a drawn member will do (ctx is the caller's). */
typedef int (*searchtest_keep_fn)(const struct search_member *m,
				  const void *ctx);

/* The first member of spec's space (space_sample, as a member with id and
 * round) for which keep(m, ctx) is non-zero, within 10000 draws. Returns 0,
 * or -1 (none found, or a draw failed). */
int searchtest_random_where(const struct search_spec *spec,
			    struct core_rng *rng, long id, int round,
			    searchtest_keep_fn keep, const void *ctx,
			    struct search_member *m);

/* Compact canonical JSON of a without "name", as prompts show it
 * (core_free). */
char *searchtest_compact(const struct arch *a);

/* ---- the llm proposer against the fake server ---------------------------
 */

struct fake_llm;

/* Client settings for the fake at url: llmtest_settings, model "fake",
 * connect 1 s, timeout 3 s, max_attempts attempts, backoff 5..10 ms,
 * jitter seed 1. */
void searchtest_llm_settings(struct llm_settings *ls, const char *url,
			     int attempts);
/* An llm proposer for s calling through c (both borrowed: they outlive
 * it); NULL after printing why. */
struct search_proposer *searchtest_llm_proposer(const struct search_spec *s,
						struct llm_client *c);
/* Scripts f with n (at most 8) 200 replies carrying contents[i]
 * (fake_llm_chat_body, finish "stop", usage FAKE_LLM_TOKENS_AUTO and 50
 * tokens). 0 or -1. */
int searchtest_script_contents(struct fake_llm *f, const char *const *contents,
			       size_t n);
/* The JSON body of request i that f received, parsed (json_decref), or
 * NULL. */
json_t *searchtest_request_body(struct fake_llm *f, size_t i);
/* The content of message i of a request body, NULL when there is none;
 * its role into *role unless role is NULL. */
const char *searchtest_message(const json_t *body, size_t i, const char **role);

#endif
