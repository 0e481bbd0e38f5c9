/* search.h - the search logic of lmnas, free of database and HTTP code so
 * that it is testable on plain data: the constrained Pareto front and its
 * hypervolume (more parts join as they are built).
 *
 * Layer: search (above arch/space/cost/train/llm, below store/queue/http). */
#ifndef LMNAS_SEARCH_H
#define LMNAS_SEARCH_H

#include "search/pareto.h"

#endif
