/* SPDX-License-Identifier: Apache-2.0 */
/* prompt.h - part of search.h: the messages sent to the LLM and the JSON
 * Schema of its reply.
 *
 * The texts are template files (prompts/system.txt, user.txt, repair.txt)
 * embedded in the binary at build time (scripts/embed_files.sh) and filled
 * by a small renderer: `{{name}}` is replaced by the value of variable
 * `name` ([a-z_]+); an unknown name, a `{{` without `}}` or a name that is
 * not [a-z_]+ is an error (so a template and the code cannot drift apart
 * silently); the output is capped.
 *
 * The system message holds the task, the data set, the hard limits, the
 * format, the space (space_render_prompt) and an example. The user message
 * holds the history and the ask (K candidates as {"candidates":
 * [{"rationale", "arch"}]}). Architectures appear as compact canonical JSON
 * without "name".
 *
 * Token budget. Tokens are estimated as bytes / 4 (rounded up). The first
 * call's system + user message must fit in the budget minus a reserve
 * (min(budget / 4, 1024) tokens) kept for a repair turn. When they do not,
 * the history is trimmed, one item at a time, in this order:
 *   1. front members, oldest first (lower round, then lower id; of equal
 *      age the less accurate first), until SEARCH_PROMPT_FRONT_KEEP remain;
 *   2. rejects, oldest first, until SEARCH_PROMPT_REJECTS_KEEP remain;
 *   3. the remaining front members, in the same order, down to none;
 *   4. the remaining rejects, oldest first, down to none;
 *   5. the "what the last round changed" summary.
 * Never trimmed: the system message, the round, the best candidate so far
 * and the ask. Omissions are stated ("3 older members not shown"). When
 * even that does not fit, the call fails (CORE_ERR_INVALID, the budget is
 * too small for the space).
 */
#ifndef LMNAS_SEARCH_PROMPT_H
#define LMNAS_SEARCH_PROMPT_H

#include "arch/arch.h"
#include "core/core.h"
#include "search/check.h"
#include "search/pareto.h"
#include "search/spec.h"

#include <stddef.h>

#define SEARCH_PROMPT_MAX_BYTES	   (1024 * 1024) /* any rendered message */
#define SEARCH_PROMPT_FRONT_KEEP   3
#define SEARCH_PROMPT_REJECTS_KEEP 3
#define SEARCH_PROMPT_REASON_SHOWN 600 /* bytes of a reject's reason */
#define SEARCH_PROMPT_ARCH_SHOWN   480 /* bytes of a reject's arch JSON */

/* Estimated tokens of a text of n bytes: ceil(n / 4). */
long search_tokens_estimate(size_t bytes);
/* The repair reserve of a budget: min(budget / 4, 1024) tokens. */
long search_prompt_reserve(long budget);

/* ---- templates ------------------------------------------------------------
 */

struct search_template_var {
	const char *name;
	const char *value;
};

/* Renders tpl[0, len) with vars into a new NUL-terminated string (*out,
 * owned by the caller: core_free; *out_len may be NULL). CORE_ERR_INVALID
 * for an unknown or malformed placeholder (err names it and its byte
 * offset), CORE_ERR_NOMEM when memory runs out or the output would exceed
 * max_out bytes; *out is NULL then. */
enum core_status search_template_render(const char *tpl, size_t len,
					const struct search_template_var *vars,
					int nvars, size_t max_out, char **out,
					size_t *out_len, char *err,
					size_t errlen);

/* The embedded template called name ("system.txt", "user.txt",
 * "repair.txt"), NUL-terminated and static; NULL when there is none. */
const char *search_prompt_template(const char *name, size_t *len);

/* ---- the history the runner supplies ----------------------------------------
 */

/* An evaluated candidate. */
struct search_member {
	long id;   /* candidate id */
	int round; /* the round that proposed it */
	struct arch arch;
	struct search_point pt; /* proxy val accuracy, MACs, SRAM, flash */
};

/* A rejected proposal of an earlier round. */
struct search_reject {
	long id; /* candidate id; <= 0 when it has none */
	int round;
	enum search_verdict verdict;
	const char *arch_json; /* as stored; may be NULL */
	const char *reason;
};

struct search_history {
	int round;     /* the round being asked for, 0-based */
	int evaluated; /* candidates trained so far */
	const struct search_member *front; /* the current Pareto front */
	int nfront;
	const struct search_member *best;    /* most accurate so far, or NULL */
	const struct search_reject *rejects; /* recent, oldest first */
	int nrejects;
	/* what the last round changed in the front: ids that entered and
	 * left it, hypervolume before and after (< 0: unknown) */
	const long *entered;
	int nentered;
	const long *left;
	int nleft;
	double hv_before, hv_after;
};

/* ---- messages
 * ---------------------------------------------------------------- */

struct search_prompt {
	char *system; /* owned (search_prompt_free) */
	size_t system_len;
	char *user; /* owned */
	size_t user_len;
	long tokens; /* estimate of system + user */
	long budget; /* what they had to fit in (budget - reserve) */
	int front_shown, front_omitted;
	int rejects_shown, rejects_omitted;
	int change_shown; /* 0 once step 5 dropped it */
};

/* Builds the system and user messages for k candidates (h may be NULL: the
 * first round, nothing known). On failure *out is empty. */
enum core_status search_prompt_build(const struct search_spec *spec,
				     const struct search_history *h, int k,
				     struct search_prompt *out, char *err,
				     size_t errlen);
void search_prompt_free(struct search_prompt *p);

/* The repair message (prompts/repair.txt) after a reply that did not give
 * enough good candidates: either problem (a reply-level problem: not JSON,
 * no candidates...) or the rejected proposals ps->v[from..n-1] (each as
 * "candidates[i] (verdict): reason"); accepted counts the candidates
 * accepted so far this round, needed how many are still wanted. At most
 * max_bytes (later problems are summarised as "N more not shown"). *out is
 * owned by the caller (core_free). */
enum core_status
search_prompt_repair(const struct search_spec *spec, const char *problem,
		     const struct search_proposals *ps, int from, int accepted,
		     int needed, size_t max_bytes, char **out, size_t *out_len,
		     char *err, size_t errlen);

/* The JSON Schema (as compact text, for llm_request.schema) of a reply of
 * 1..k candidates whose archs are drawn from the spec's space: every
 * architecture field required, its allowed values as an enum (a stage's
 * lists are the union over the stages, overrides included), the stage
 * count bounded by the space, head.classes fixed to the data set's; no
 * additional properties (so it is usable with strict json_schema mode).
 * Owned by the caller (core_free). */
enum core_status search_reply_schema(const struct search_spec *spec, int k,
				     char **out, size_t *out_len, char *err,
				     size_t errlen);

#endif
