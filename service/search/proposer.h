/* SPDX-License-Identifier: Apache-2.0 */
/* proposer.h - part of search.h: where candidates come from. Three
 * proposers behind one interface:
 *
 *   random     uniform members of the space (space_sample), each checked
 *              like any proposal; an infeasible or known one is drawn
 *              again, up to SEARCH_RANDOM_ATTEMPTS draws per candidate.
 *   evolution  regularized evolution (Real et al., AAAI 2019): the
 *              population is the most recent P evaluated candidates (older
 *              ones age out, whatever their fitness); a child is a copy
 *              of the fittest of S members drawn at random from it, with
 *              one mutation. Until P candidates have been evaluated the
 *              children are random members, as in the paper.
 *              Fitness: the lower non-domination rank in the
 *              population (Deb's constrained domination over accuracy up,
 *              MACs down, SRAM down, pareto.h) wins, then the higher
 *              accuracy, then the newer member. Rank keeps the search
 *              multi-objective: a cheap member of the front can be a
 *              parent although a dominated member is more accurate.
 *              Measured on the synthetic accuracy of
 *              tests/support/searchtest.c (default space, H743 limits,
 *              P 20, S 5, 300 evaluations, mean of 6 seeds), hypervolume
 *              and best accuracy: this fitness 0.422 and 0.557; NSGA-II's
 *              tie-break by crowding distance instead of accuracy 0.401
 *              and 0.516 (with three objectives most members of a small
 *              population are extreme on some axis, infinite distance, so
 *              crowding picks nearly at random); accuracy alone 0.430 and
 *              0.588 (as good here, where accuracy grows with MACs, but it
 *              drifts to the limits and never breeds from the cheap end);
 *              random 0.354 and 0.438.
 *              A mutation changes one thing, drawn uniformly from the
 *              sites the space lets vary: the resolution; the head
 *              dropout; the stem (presence when optional, else one of its
 *              fields); the stage count (add a copy of a neighbouring stage
 *              or remove one, when stages.min < stages.max); or one stage,
 *              then one of its fields with more than one allowed value,
 *              set to a different allowed value (to mbconv: an allowed
 *              expand is drawn; to dwsep: expand 1). A child that fails
 *              any check is discarded and mutated again, with a new
 *              tournament every 8 tries, up to SEARCH_EVOLUTION_ATTEMPTS
 *              tries, then SEARCH_RANDOM_ATTEMPTS random draws.
 *   llm        builds the prompts (prompt.h), calls the model, parses and
 *              checks the reply, and sends a repair message for what was
 *              rejected, up to llm.repair_attempts times per round. A call
 *              that did not fit the server's context (context_exceeded)
 *              whose context length the client learnt is sent again, in
 *              place of a repair, with the prompt rebuilt within
 *              (context - max_tokens) x 3/4 tokens (bytes / 4 under-counts
 *              real tokens), and that budget is kept for the later rounds
 *              of the proposer; when even the trimmed prompt cannot fit,
 *              the batch falls back with the fix in its note.
 *
 * Random and evolution children are always valid, in the space, within
 * the limits and new (not known, not earlier in the batch). For a seed, the
 * same calls give the same proposals: each call draws from a generator
 * derived from (seed, kind, round, call within the round), so a job resumed
 * at round r proposes what it would have proposed. The llm proposer is
 * deterministic up to the model's replies.
 *
 * Falling back. The llm proposer never switches by itself; its batch says
 * what happened (enum search_batch_status): `llm_unreachable` (the server
 * could not be reached, kept failing at the HTTP level or refused every
 * response_format the client may send: no repair is tried, no candidates)
 * and `llm_failing` (it answered, but nothing usable after every repair)
 * mean "propose this round with evolution"; `give_up` in the batch says
 * the llm has failed SEARCH_LLM_GIVE_UP rounds in a row, time to switch
 * for the rest of the job. `partial` means fewer than k candidates came:
 * the runner may top up with evolution.
 *
 * Worked example (one round; errors shortened):
 *
 *	struct search_proposer_config pc = {.spec = &spec,
 *					    .kind = SEARCH_PROPOSER_LLM,
 *					    .client = client};
 *	struct search_propose_in in = {.round = r, .k = 4, .known = &known,
 *				       .history = &hist};
 *	struct search_batch b;
 *	search_proposer_open(&pc, &llm, err, errlen);
 *	search_proposer_propose(llm, &in, &b, err, errlen);
 *	// store b.calls[] and every b.props.v[] (accepted: verdict ok)
 *	if (b.status == SEARCH_BATCH_LLM_UNREACHABLE ||
 *	    b.status == SEARCH_BATCH_LLM_FAILING)
 *		search_proposer_propose(evo, &in, &b2, err, errlen);
 *	... train, then search_proposer_observe(evo, &member) for each ...
 *	search_batch_free(&b);
 */
#ifndef LMNAS_SEARCH_PROPOSER_H
#define LMNAS_SEARCH_PROPOSER_H

#include "core/core.h"
#include "llm/llm.h"
#include "search/check.h"
#include "search/prompt.h"
#include "search/spec.h"

#define SEARCH_RANDOM_ATTEMPTS	  1000 /* draws per random candidate */
#define SEARCH_EVOLUTION_ATTEMPTS 200  /* mutations per child */
#define SEARCH_LLM_GIVE_UP	  3    /* failed llm rounds in a row */
#define SEARCH_MAX_CALLS	  (1 + SEARCH_MAX_REPAIRS)
#define SEARCH_BATCH_MAX_K	  256 /* k of one call */

enum search_batch_status {
	SEARCH_BATCH_OK = 0,	      /* k candidates accepted */
	SEARCH_BATCH_PARTIAL,	      /* some, fewer than k */
	SEARCH_BATCH_EXHAUSTED,	      /* random/evolution found none new */
	SEARCH_BATCH_LLM_UNREACHABLE, /* no usable answer from the server */
	SEARCH_BATCH_LLM_FAILING      /* answers, but none usable */
};

/* "ok", "partial", "exhausted", "llm_unreachable", "llm_failing". */
const char *search_batch_status_name(enum search_batch_status s);

/* One chat call of a batch, for the llm_calls table. */
struct search_llm_call {
	int attempt; /* 0 = first, r = r-th repair */
	struct llm_record rec;
};

struct search_batch {
	enum search_batch_status status;
	int naccepted;
	/* Every proposal, in order: the accepted ones (verdict ok), and for
	 * llm every rejected reply entry too (random and evolution retry
	 * instead of keeping rejections). */
	struct search_proposals props;
	int ncalls;
	struct search_llm_call calls[SEARCH_MAX_CALLS];
	int tries;		  /* random/evolution: architectures checked */
	int consecutive_failures; /* llm: failed rounds in a row, this one
				     included (0 when it succeeded) */
	int give_up;		  /* llm: consecutive_failures reached
				     SEARCH_LLM_GIVE_UP */
	char note[CORE_ERR_LEN];  /* why the status is not ok */
};

void search_batch_free(struct search_batch *b);

/* What happened to an llm call, in words, into out (valid UTF-8):
 * "LLM: HTTP 401 unauthorized (check api_key_env): ...", "LLM: HTTP 500
 * server error: ...", "LLM: cannot reach URL: ...", "LLM: the prompt does
 * not fit the server's context: ...". The batch note of an
 * llm_unreachable batch is this text of its last call. */
void search_llm_call_describe(const struct llm_record *rec, char *out,
			      size_t outlen);

/* The kind of a stored rejection reason of an LLM proposal, from the texts
 * check.c and reply.c write: "duplicate", "over the limits", "malformed",
 * "invalid or outside the space", or "other" for none. */
const char *search_reason_kind(const char *reason);

/* The closing line about the LLM of a run, into out (valid UTF-8, cut to
 * outlen): "LLM: 9 calls (7 ok, 2 bad_reply); 12 candidates accepted, 5
 * rejected (3 duplicate, 2 over the limits); 1 of 4 rounds fell back to
 * evolution". job is the stored job (store_job_json), calls its LLM calls
 * counted by outcome ({"ok": 7, ...}). "" when the job had no LLM. */
enum core_status search_llm_summary(const json_t *job, const json_t *calls,
				    char *out, size_t outlen);

/* The chat function the llm proposer calls: llm_client_chat's contract
 * (rec always filled). Tests may inject their own. */
typedef enum core_status (*search_chat_fn)(void *ctx,
					   const struct llm_request *req,
					   struct llm_record *rec, char *err,
					   size_t errlen);

struct search_proposer_config {
	const struct search_spec *spec; /* borrowed: outlives the proposer */
	enum search_proposer_kind kind;
	/* llm: the client (borrowed) used through llm_client_chat, unless
	 * chat is set, then chat(chat_ctx, ...) is called instead */
	struct llm_client *client;
	search_chat_fn chat;
	void *chat_ctx;
	volatile int *cancel; /* may be NULL; polled by llm calls */
};

struct search_proposer; /* opaque */

/* Creates a proposer; *out is owned by the caller (search_proposer_close).
 * CORE_ERR_INVALID for an llm proposer without client or chat. */
enum core_status search_proposer_open(const struct search_proposer_config *c,
				      struct search_proposer **out, char *err,
				      size_t errlen);
void search_proposer_close(struct search_proposer *p);
enum search_proposer_kind search_proposer_kind(const struct search_proposer *p);

/* Reports an evaluated candidate (every one, whatever proposed it, in the
 * order they were evaluated; a resumed job replays them). Evolution keeps
 * the most recent evolution.population of them; the others ignore it. */
enum core_status search_proposer_observe(struct search_proposer *p,
					 const struct search_member *m,
					 char *err, size_t errlen);

struct search_propose_in {
	int round; /* 0-based */
	int k;	   /* candidates wanted, 1..SEARCH_BATCH_MAX_K */
	const struct search_seen *known;      /* may be NULL */
	const struct search_history *history; /* llm; may be NULL */
};

/* Proposes up to in->k candidates into *out (overwritten; free it with
 * search_batch_free, also on failure). Returns CORE_OK whenever the batch
 * says what happened (any status, see above); CORE_ERR_CANCELLED,
 * CORE_ERR_NOMEM, CORE_ERR_INVALID (bad arguments, or a prompt that cannot
 * fit the budget), CORE_ERR_INTERNAL otherwise, with err. */
enum core_status search_proposer_propose(struct search_proposer *p,
					 const struct search_propose_in *in,
					 struct search_batch *out, char *err,
					 size_t errlen);

#endif
