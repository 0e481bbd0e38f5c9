/* SPDX-License-Identifier: Apache-2.0 */
/* check.h - part of search.h: what happens to one proposed architecture
 * before anything is trained, and to a whole LLM reply.
 *
 * A proposal goes through, in this order, stopping at the first failure:
 *   1. validation    arch_from_json: field errors        -> invalid
 *   2. the space     space_check, plus the task: 3 input
 *                    channels, the data set's classes    -> outside_space
 *   3. the cost      cost_report_build against the spec's
 *                    limits; never trained when over     -> infeasible
 *   4. novelty       canonical hash (arch_hash) against
 *                    the caller's set of known hashes and
 *                    the earlier proposals of the same
 *                    reply or batch                      -> duplicate
 * and is `ok` otherwise. Every rejection carries a one-line reason meant
 * for the LLM and for candidates.rejection_reason, e.g.
 *   stages[1].kernel: 9 is not in the space {3,5,7}
 *   max_macs: 123.4 M exceeds the limit of 100 M by 23.4%; max_sram: ...
 *   duplicate of candidate 17
 *   duplicate of proposal 2 of this round
 * Units in reasons and prompts: MACs in M (10^6), bytes in KB (1024) or MB
 * (1024^2), one decimal, a trailing ".0" dropped.
 */
#ifndef LMNAS_SEARCH_CHECK_H
#define LMNAS_SEARCH_CHECK_H

#include "arch/arch.h"
#include "core/core.h"
#include "cost/cost.h"
#include "search/spec.h"

#include <jansson.h>
#include <stdint.h>

/* ---- the set of known architectures ---------------------------------------
 */

/* Canonical hashes of the candidates a job has already (they are never
 * proposed again), each with its candidate id. Open addressing; grows by
 * doubling up to SEARCH_SEEN_MAX entries. */
#define SEARCH_SEEN_MAX (1 << 20)

struct search_seen_slot {
	char hash[65]; /* "" = empty slot */
	long id;
};

struct search_seen {
	size_t n, cap; /* cap is 0 or a power of two */
	struct search_seen_slot *slots;
};

void search_seen_init(struct search_seen *s);
/* Adds hash (64 lower-case hex digits) with its candidate id.
 * CORE_ERR_CONFLICT when it is already there (its id is kept),
 * CORE_ERR_INVALID for a malformed hash, CORE_ERR_NOMEM on allocation
 * failure or beyond SEARCH_SEEN_MAX (the set is left as it was). */
enum core_status search_seen_add(struct search_seen *s, const char *hash,
				 long id);
/* 1 and *id (if id is not NULL) when hash is in the set, else 0. */
int search_seen_find(const struct search_seen *s, const char *hash, long *id);
void search_seen_free(struct search_seen *s);

/* ---- one proposal ---------------------------------------------------------
 */

enum search_verdict {
	SEARCH_VERDICT_OK = 0,
	SEARCH_VERDICT_MALFORMED,     /* reply entry without a usable arch */
	SEARCH_VERDICT_INVALID,	      /* not a valid lmnas-arch/1 */
	SEARCH_VERDICT_OUTSIDE_SPACE, /* valid, but not in the space/task */
	SEARCH_VERDICT_INFEASIBLE,    /* over a limit */
	SEARCH_VERDICT_DUPLICATE      /* already known */
};

/* "ok", "malformed", "invalid", "outside_space", "infeasible",
 * "duplicate". */
const char *search_verdict_name(enum search_verdict v);

/* Who proposed a candidate; the names are candidates.source's. */
enum search_source {
	SEARCH_SOURCE_LLM = 0,
	SEARCH_SOURCE_EVOLUTION,
	SEARCH_SOURCE_RANDOM,
	SEARCH_SOURCE_USER
};
const char *search_source_name(enum search_source s);

#define SEARCH_RATIONALE_MAX 1024 /* bytes kept of a rationale, NUL incl. */
#define SEARCH_REASON_MAX    1536 /* bytes of a rejection reason, NUL incl. */
#define SEARCH_ARCH_JSON_MAX (16 * 1024) /* kept of a malformed arch's JSON */

struct search_cost {
	uint64_t macs;
	size_t sram;	/* peak SRAM arena, bytes */
	uint64_t flash; /* int8 flash, bytes */
	uint64_t params_trainable, params_deployed;
};

struct search_proposal {
	enum search_verdict verdict;
	enum search_source source;
	int index;     /* position in the reply or batch */
	int attempt;   /* LLM: 0 = first call, r = after the r-th repair */
	int have_arch; /* arch and hash are set (verdict >= outside_space) */
	struct arch arch;
	char hash[65];
	int have_cost; /* cost is set (verdict >= infeasible) */
	struct search_cost cost;
	long duplicate_of;   /* duplicate of a known candidate: its id; of an
				earlier proposal of this reply or batch: -1 */
	int duplicate_index; /* that proposal's index, or -1 */
	/* Compact JSON of what was proposed, for candidates.arch: the
	 * canonical form (arch_to_text) once valid, else the value as
	 * written (capped at SEARCH_ARCH_JSON_MAX; "null" when there was
	 * none or it was too large). Owned by the proposal
	 * (search_proposal_free). */
	char *arch_json;
	char rationale[SEARCH_RATIONALE_MAX]; /* control characters removed */
	char reason[SEARCH_REASON_MAX];	      /* "" when ok */
};

/* Frees arch_json; the proposal can be reused after. */
void search_proposal_free(struct search_proposal *p);

/* Checks the JSON value arch (any JSON value; NULL counts as missing)
 * against spec, with known (may be NULL) as the set of known hashes. *p is
 * overwritten (index -1, attempt 0, source llm, rationale ""); the verdict
 * and reason say what happened. Returns CORE_OK whenever a verdict was
 * reached, CORE_ERR_NOMEM (p left freed and zeroed) when memory ran out;
 * err says why. */
enum core_status search_check_proposal(const struct search_spec *spec,
				       const struct search_seen *known,
				       const json_t *arch,
				       struct search_proposal *p, char *err,
				       size_t errlen);
/* The same for an architecture built in code (random, evolution): starts
 * at arch_validate. batch (may be NULL) is also searched for duplicates
 * (hash -> index of an earlier proposal of the same batch: duplicate_of
 * -1, duplicate_index that index); it is not changed. */
enum core_status search_check_arch(const struct search_spec *spec,
				   const struct search_seen *known,
				   const struct search_seen *batch,
				   const struct arch *a,
				   struct search_proposal *p, char *err,
				   size_t errlen);

/* Compares the costs in r with the spec's limits: 0 when within them;
 * else 1 and one "max_...: X exceeds the limit of Y by Z%" per limit
 * exceeded, "; "-separated, into out. */
int search_cost_excess(const struct search_spec *spec,
		       const struct search_cost *c, char *out, size_t outlen);
/* The figures of a cost report. */
void search_cost_from_report(const struct cost_report *r,
			     struct search_cost *c);

/* "23.4 M" (MACs); "180.2 KB" or "1.1 MB" (bytes, by size). */
void search_format_macs(double macs, char *out, size_t outlen);
void search_format_bytes(double bytes, char *out, size_t outlen);

/* ---- a batch of proposals -------------------------------------------------
 */

struct search_proposals {
	int n, cap;
	struct search_proposal *v; /* (cap) */
};

void search_proposals_init(struct search_proposals *ps);
/* A new zeroed slot at the end (*out); CORE_ERR_NOMEM leaves ps as it was.
 * At most SEARCH_PROPOSALS_MAX. */
#define SEARCH_PROPOSALS_MAX 1024
enum core_status search_proposals_push(struct search_proposals *ps,
				       struct search_proposal **out);
/* Moves *p to the end of ps (p is zeroed, its arch_json now ps's). */
enum core_status search_proposals_take(struct search_proposals *ps,
				       struct search_proposal *p);
int search_proposals_count(const struct search_proposals *ps,
			   enum search_verdict v);
void search_proposals_free(struct search_proposals *ps);

/* ---- an LLM reply ---------------------------------------------------------
 */

#define SEARCH_REPLY_MAX_BYTES	    (512 * 1024)
#define SEARCH_REPLY_EXTRA_REPORTED 8

/* Parses the JSON text of a reply (llm_record.json) into proposals, one per
 * entry, each checked as above (source llm, attempt 0, index = entry
 * position in the reply). Accepted shapes:
 *   {"candidates": [entry, ...]}   the asked-for form; other members are
 *                                  ignored
 *   [entry, ...]                   a bare array
 *   an lmnas-arch/1 object         one candidate without a rationale
 * where an entry is {"rationale": "...", "arch": {...}} (other members
 * ignored; rationale optional) or an lmnas-arch/1 object itself (it has a
 * "format" or "stages" member and no "arch"). An entry that is not an
 * object, has no arch, or a rationale that is not a string is `malformed`
 * with the reason; entries past max_candidates are malformed too ("beyond
 * the N candidates asked for") and not checked, and past max_candidates +
 * SEARCH_REPLY_EXTRA_REPORTED not even listed.
 *
 * batch (may be NULL) holds the hashes accepted earlier in the same batch
 * (hash -> index in ps); accepted proposals of this reply are added to it
 * with their index in ps, so a later copy (in this reply or a repair) is a
 * duplicate of that proposal (duplicate_of -1, duplicate_index set).
 *
 * Returns CORE_ERR_INVALID (ps unchanged, err says what) when the text is
 * not JSON, is larger than SEARCH_REPLY_MAX_BYTES, or has none of those
 * shapes or no entry at all; CORE_ERR_NOMEM; else CORE_OK with the new
 * proposals appended to ps. */
enum core_status search_parse_reply(const struct search_spec *spec,
				    const struct search_seen *known,
				    struct search_seen *batch, const char *text,
				    size_t len, int max_candidates,
				    struct search_proposals *ps, char *err,
				    size_t errlen);

#endif
