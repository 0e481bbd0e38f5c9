/* SPDX-License-Identifier: Apache-2.0 */
/* search_internal.h - functions shared between the files of the search
 * module only; not part of its public face (search.h). */
#ifndef LMNAS_SEARCH_INTERNAL_H
#define LMNAS_SEARCH_INTERNAL_H

#include "search/search.h"

/* Compact canonical JSON of a without "name" (for prompts and examples),
 * owned by the caller (core_free); CORE_ERR_NOMEM. */
enum core_status search_arch_compact(const struct arch *a, char **out,
				     size_t *len);

/* Copies at most cap-1 bytes of s into dst, replacing control characters
 * by spaces and never cutting a UTF-8 sequence; "..." marks a cut when
 * ellipsis is set. */
void search_copy_text(char *dst, size_t cap, const char *s, size_t len,
		      int ellipsis);

/* A generator for one proposer call, derived from (seed, kind, round,
 * call within the round) so that a resumed job reproduces a round. */
void search_rng_derive(struct core_rng *r, uint64_t seed, unsigned kind,
		       int round, int call);

/* search_check_proposal that also looks for duplicates in batch (hash ->
 * index of an earlier proposal of the batch; may be NULL). */
enum core_status search_check_json_in(const struct search_spec *spec,
				      const struct search_seen *known,
				      const struct search_seen *batch,
				      const json_t *arch,
				      struct search_proposal *p, char *err,
				      size_t errlen);

/* Checks a (search_check_arch against known and batch) and, when it is
 * ok, appends it to ps with the given source and index = its position in
 * ps, and adds its hash to batch with that index. Rejected architectures
 * are not kept (random and evolution retry instead), so a duplicate is
 * recognised before it is costed. *verdict gets the verdict. CORE_ERR_NOMEM;
 * other failures are verdicts. */
enum core_status search_batch_try(const struct search_spec *spec,
				  const struct search_seen *known,
				  struct search_seen *batch,
				  struct search_proposals *ps,
				  const struct arch *a, enum search_source src,
				  enum search_verdict *verdict, char *err,
				  size_t errlen);

/* ---- proposers ------------------------------------------------------------
 */

struct search_proposer_ops {
	/* sets up p->impl (may be NULL: nothing to set up) */
	enum core_status (*init)(struct search_proposer *p, char *err,
				 size_t errlen);
	/* fills out (zeroed by the caller) from the call's generator */
	enum core_status (*propose)(struct search_proposer *p,
				    const struct search_propose_in *in,
				    struct core_rng *rng,
				    struct search_batch *out, char *err,
				    size_t errlen);
	enum core_status (*observe)(struct search_proposer *p,
				    const struct search_member *m, char *err,
				    size_t errlen);
	void (*destroy)(struct search_proposer *p); /* frees p->impl */
};

struct search_proposer {
	const struct search_proposer_ops *ops;
	struct search_proposer_config cfg;
	int round, calls_in_round; /* for search_rng_derive */
	int consecutive_failures;  /* llm */
	long budget_cap; /* llm: a prompt budget that fits the server's
			    context, learnt from a call that did not fit;
			    0 = the spec's */
	void *impl;	 /* evolution: its population */
};

extern const struct search_proposer_ops search_random_ops;
extern const struct search_proposer_ops search_evolution_ops;
extern const struct search_proposer_ops search_llm_ops;

/* Adds up to k - out->naccepted random candidates (source src) to out,
 * SEARCH_RANDOM_ATTEMPTS draws each; batch maps accepted hashes to their
 * index in out->props. Returns with fewer when a candidate could not be
 * found (the space is nearly exhausted); out->tries counts the draws. */
enum core_status
search_random_fill(const struct search_spec *spec,
		   const struct search_seen *known, struct search_seen *batch,
		   struct core_rng *rng, int k, enum search_source src,
		   struct search_batch *out, char *err, size_t errlen);

/* ---- embedded prompt templates (build/gen/prompts_embedded.c) ------------ */

struct search_prompt_file {
	const char *name; /* "system.txt" */
	const char *text; /* NUL-terminated */
	size_t len;
};
extern const struct search_prompt_file search_prompt_files[];
extern const size_t search_prompt_files_count;

#endif
