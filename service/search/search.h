/* SPDX-License-Identifier: Apache-2.0 */
/* search.h - the search logic of lmnas, free of database and HTTP code so
 * that it is testable on plain data:
 *   pareto.h    the constrained Pareto front, crowding and hypervolume;
 *   spec.h      the job spec (parse, canonical JSON, training and LLM
 *               settings);
 *   check.h     checking a proposed architecture (valid, in the space,
 *               feasible, new) and parsing an LLM reply;
 *   prompt.h    the LLM messages from templates, trimmed to a token
 *               budget, the repair message and the reply's JSON Schema;
 *   proposer.h  the random, evolution and llm proposers behind one
 *               interface.
 * The job runner (above) orchestrates rounds, training and persistence.
 *
 * Layer: search (above arch/space/cost/train/llm, below store/queue/http). */
#ifndef LMNAS_SEARCH_H
#define LMNAS_SEARCH_H

#include "search/check.h"
#include "search/pareto.h"
#include "search/prompt.h"
#include "search/proposer.h"
#include "search/spec.h"

#endif
