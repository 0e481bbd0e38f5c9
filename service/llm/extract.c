/* extract.c - finds the JSON object or array in a model's reply text: pure
 * JSON, markdown fences, prose around it, reasoning blocks; tells truncated
 * JSON apart from invalid JSON. Allocates nothing (jansson validates). */
#include "llm.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

/* Deeper nesting is refused (jansson itself stops at 2048). */
#define EXTRACT_MAX_DEPTH 512

enum scan_result {
	SCAN_CLOSED,   /* balanced: *end is one past the closing bracket */
	SCAN_OPEN,     /* the text ended inside the value */
	SCAN_MISMATCH, /* a closing bracket of the wrong kind */
	SCAN_TOO_DEEP
};

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Scans the value opening at t[p] ('{' or '['), honouring strings and
 * backslash escapes, up to t[len]. */
static enum scan_result scan_value(const char *t, size_t len, size_t p,
				   size_t *end)
{
	char stack[EXTRACT_MAX_DEPTH];
	int depth = 0, in_str = 0;

	for (size_t i = p; i < len; i++) {
		char c = t[i];

		if (in_str) {
			if (c == '\\')
				i++; /* skip the escaped character */
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (depth == EXTRACT_MAX_DEPTH)
				return SCAN_TOO_DEEP;
			stack[depth++] = c == '{' ? '}' : ']';
		} else if (c == '}' || c == ']') {
			if (depth == 0 || stack[depth - 1] != c)
				return SCAN_MISMATCH;
			if (--depth == 0) {
				*end = i + 1;
				return SCAN_CLOSED;
			}
		}
	}
	return SCAN_OPEN;
}

/* Whether the bracket at t[p] starts something a JSON value could start
 * with; the end of the text counts as "yes" (it may be a truncated value). */
static int looks_like_json(const char *t, size_t len, size_t p)
{
	size_t i = p + 1;

	while (i < len && is_ws(t[i]))
		i++;
	if (i == len)
		return 1;
	if (t[p] == '{')
		return t[i] == '"' || t[i] == '}';
	return strchr("{[\"-0123456789tfn]", t[i]) != NULL;
}

static const char *find_ci(const char *t, size_t len, size_t from,
			   const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = from; i + n <= len; i++)
		if (strncasecmp(t + i, needle, n) == 0)
			return t + i;
	return NULL;
}

/* Scans t[from, len) for candidates. Returns OK with *off and *span, TRUNCATED,
 * INVALID (a balanced candidate failed to parse; err says why) or
 * NOT_FOUND. */
static enum llm_extract_status scan_region(const char *t, size_t len,
					   size_t from, enum llm_json_want want,
					   size_t *off, size_t *span, char *err,
					   size_t errlen)
{
	enum llm_extract_status best = LLM_EXTRACT_NOT_FOUND;
	size_t p = from;

	while (p < len) {
		size_t end = 0;
		enum scan_result sr;
		int wanted;
		json_error_t jerr;
		json_t *v;

		if ((t[p] != '{' && t[p] != '[') ||
		    !looks_like_json(t, len, p)) {
			p++;
			continue;
		}
		sr = scan_value(t, len, p, &end);
		if (sr == SCAN_OPEN) {
			core_errf(
			    err, errlen,
			    "the JSON value at offset %zu is cut off "
			    "(%zu bytes, brackets or a string still open)",
			    p, len - p);
			return LLM_EXTRACT_TRUNCATED;
		}
		if (sr == SCAN_TOO_DEEP) {
			/* Its inner values are no answer either: stop. */
			core_errf(err, errlen,
				  "the JSON value at offset %zu nests deeper "
				  "than %d",
				  p, EXTRACT_MAX_DEPTH);
			return LLM_EXTRACT_INVALID;
		}
		if (sr == SCAN_MISMATCH) {
			p++;
			continue;
		}
		wanted = want == LLM_JSON_ANY ||
			 (want == LLM_JSON_OBJECT && t[p] == '{') ||
			 (want == LLM_JSON_ARRAY && t[p] == '[');
		v = json_loadb(t + p, end - p, 0, &jerr);
		if (!v) {
			if (wanted) {
				core_errf(err, errlen,
					  "the JSON value at offset %zu is "
					  "invalid: %s (at its line %d, column "
					  "%d)",
					  p, jerr.text, jerr.line, jerr.column);
				best = LLM_EXTRACT_INVALID;
			}
			p++;
			continue;
		}
		json_decref(v);
		if (wanted) {
			*off = p;
			*span = end - p;
			return LLM_EXTRACT_OK;
		}
		p = end; /* a valid value of the other kind: skip it whole */
	}
	if (best == LLM_EXTRACT_NOT_FOUND)
		core_errf(err, errlen, "no JSON %s found in the reply",
			  want == LLM_JSON_OBJECT  ? "object"
			  : want == LLM_JSON_ARRAY ? "array"
						   : "object or array");
	return best;
}

enum llm_extract_status llm_json_extract(const char *text, size_t len,
					 enum llm_json_want want, size_t *off,
					 size_t *span, char *err, size_t errlen)
{
	size_t start = 0, i;
	const char *think, *fence;
	enum llm_extract_status st;

	*off = 0;
	*span = 0;
	for (i = 0; i < len && is_ws(text[i]); i++)
		;
	if (i == len) {
		core_errf(err, errlen, "the reply is empty");
		return LLM_EXTRACT_EMPTY;
	}
	/* Reasoning models (DeepSeek-R1, Qwen3) may think aloud first, drafts
	 * of the answer included: look after the block. */
	think = find_ci(text, len, 0, "<think>");
	if (think) {
		const char *done =
		    find_ci(text, len, (size_t)(think - text), "</think>");
		if (done)
			start = (size_t)(done - text) + strlen("</think>");
	}
	fence = find_ci(text, len, start, "```json");
	if (fence) {
		st = scan_region(text, len, (size_t)(fence - text) + 7, want,
				 off, span, err, errlen);
		if (st == LLM_EXTRACT_OK || st == LLM_EXTRACT_TRUNCATED)
			return st;
	}
	return scan_region(text, len, start, want, off, span, err, errlen);
}
