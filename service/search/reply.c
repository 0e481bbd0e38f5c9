/* SPDX-License-Identifier: Apache-2.0 */
/* reply.c - an LLM reply (the JSON the llm module extracted) -> checked
 * proposals, tolerating the shapes models actually write. */
#include "search_internal.h"

#include <stdio.h>
#include <string.h>

/* An entry that is an architecture itself rather than {rationale, arch}. */
static int looks_like_arch(const json_t *o)
{
	return json_object_get(o, "format") || json_object_get(o, "stages");
}

/* Why a duplicate repeats an earlier proposal, in the reply's own terms. */
static void duplicate_reason(struct search_proposal *p,
			     const struct search_proposals *ps, int start)
{
	const struct search_proposal *first = &ps->v[p->duplicate_index];

	if (p->duplicate_index >= start)
		snprintf(p->reason, sizeof p->reason,
			 "duplicate of candidates[%d] of this reply",
			 first->index);
	else
		snprintf(p->reason, sizeof p->reason,
			 "duplicate of a candidate already accepted this "
			 "round");
}

/* Fills p from entry i (the caller has pushed it). */
static enum core_status
read_entry(const struct search_spec *spec, const struct search_seen *known,
	   const struct search_seen *batch, const json_t *e, int i, int max,
	   struct search_proposal *p, char *err, size_t errlen)
{
	const json_t *arch = NULL, *why = NULL;
	json_t *copy = NULL;
	const char *problem = NULL;
	char reason[160];
	enum core_status rc;

	if (i >= max) {
		snprintf(reason, sizeof reason,
			 "beyond the %d candidates asked for (ignored)", max);
		problem = reason;
	} else if (!json_is_object(e)) {
		snprintf(reason, sizeof reason,
			 "expected an object {\"rationale\", \"arch\"}, got %s",
			 arch_json_kind(e));
		problem = reason;
	} else {
		arch = json_object_get(e, "arch");
		why = json_object_get(e, "rationale");
		if (!arch && looks_like_arch(e)) {
			/* the entry is the architecture; its rationale (if
			 * any) is not an architecture field */
			copy = json_copy((json_t *)e);
			if (!copy)
				goto nomem;
			json_object_del(copy, "rationale");
			arch = copy;
		}
		if (why && !json_is_string(why)) {
			snprintf(reason, sizeof reason,
				 "rationale: expected a string, got %s",
				 arch_json_kind(why));
			problem = reason;
		} else if (!arch) {
			problem = "no \"arch\" member";
		}
	}
	rc = search_check_json_in(spec, known, batch, problem ? NULL : arch, p,
				  err, errlen);
	json_decref(copy);
	if (rc)
		return rc;
	if (problem) {
		p->verdict = SEARCH_VERDICT_MALFORMED;
		snprintf(p->reason, sizeof p->reason, "%s", problem);
	}
	if (why && json_is_string(why))
		search_copy_text(p->rationale, sizeof p->rationale,
				 json_string_value(why),
				 json_string_length(why), 1);
	p->index = i;
	p->source = SEARCH_SOURCE_LLM;
	return CORE_OK;
nomem:
	core_errf(err, errlen, "out of memory reading the reply");
	return CORE_ERR_NOMEM;
}

/* The entries of the reply (borrowed from root, or root itself as the one
 * entry of *single), or NULL with err set. */
static const json_t *entries_of(const json_t *root, json_t **single, char *err,
				size_t errlen)
{
	const json_t *c;

	*single = NULL;
	if (json_is_array(root))
		return root;
	if (!json_is_object(root)) {
		core_errf(err, errlen,
			  "expected {\"candidates\": [...]}, got %s",
			  arch_json_kind(root));
		return NULL;
	}
	c = json_object_get(root, "candidates");
	if (c && json_is_array(c))
		return c;
	if (c) {
		core_errf(err, errlen,
			  "\"candidates\" must be an array, got %s",
			  arch_json_kind(c));
		return NULL;
	}
	if (looks_like_arch(root)) {
		*single = json_array();
		if (!*single || json_array_append((*single), (json_t *)root)) {
			json_decref(*single);
			*single = NULL;
			core_errf(err, errlen, "out of memory");
			return NULL;
		}
		return *single;
	}
	core_errf(err, errlen,
		  "expected {\"candidates\": [...]}, got an object without "
		  "\"candidates\"");
	return NULL;
}

enum core_status search_parse_reply(const struct search_spec *spec,
				    const struct search_seen *known,
				    struct search_seen *batch, const char *text,
				    size_t len, int max_candidates,
				    struct search_proposals *ps, char *err,
				    size_t errlen)
{
	struct search_seen local;
	json_error_t jerr;
	json_t *root = NULL, *single = NULL;
	const json_t *list;
	int start = ps->n;
	size_t n;
	enum core_status rc = CORE_OK;

	search_seen_init(&local);
	if (!batch)
		batch = &local;
	if (len > SEARCH_REPLY_MAX_BYTES) {
		core_errf(err, errlen, "the reply is %zu bytes, at most %d",
			  len, SEARCH_REPLY_MAX_BYTES);
		return CORE_ERR_INVALID;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory) {
			core_errf(err, errlen, "out of memory");
			return CORE_ERR_NOMEM;
		}
		core_errf(err, errlen,
			  "not valid JSON (line %d, column %d): %s", jerr.line,
			  jerr.column, jerr.text);
		return CORE_ERR_INVALID;
	}
	list = entries_of(root, &single, err, errlen);
	if (!list) {
		rc = strstr(err, "out of memory") ? CORE_ERR_NOMEM
						  : CORE_ERR_INVALID;
		goto out;
	}
	n = json_array_size(list);
	if (n == 0) {
		core_errf(err, errlen, "the reply holds no candidates");
		rc = CORE_ERR_INVALID;
		goto out;
	}
	/* a model that writes hundreds of entries gets a few reported as
	 * extra; the rest is dropped unseen */
	if (max_candidates < 1)
		max_candidates = 1;
	if (n > (size_t)max_candidates + SEARCH_REPLY_EXTRA_REPORTED)
		n = (size_t)max_candidates + SEARCH_REPLY_EXTRA_REPORTED;
	for (size_t i = 0; i < n; i++) {
		struct search_proposal *p;

		rc = search_proposals_push(ps, &p);
		if (rc) {
			core_errf(err, errlen, "out of memory");
			goto out;
		}
		rc = read_entry(spec, known, batch, json_array_get(list, i),
				(int)i, max_candidates, p, err, errlen);
		if (rc) {
			ps->n--; /* read_entry left it freed */
			goto out;
		}
		if (p->verdict == SEARCH_VERDICT_DUPLICATE &&
		    p->duplicate_index >= 0)
			duplicate_reason(p, ps, start);
		if (p->verdict == SEARCH_VERDICT_OK) {
			rc = search_seen_add(batch, p->hash, ps->n - 1);
			if (rc) {
				core_errf(err, errlen, "out of memory");
				goto out;
			}
		}
	}
out:
	if (rc) {
		/* leave ps as it was: drop what this call appended (their
		 * hashes may be in batch: the caller fails the batch) */
		while (ps->n > start)
			search_proposal_free(&ps->v[--ps->n]);
	}
	json_decref(single);
	json_decref(root);
	search_seen_free(&local);
	return rc;
}
