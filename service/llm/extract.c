/* SPDX-License-Identifier: Apache-2.0 */
/* extract.c - finds the JSON object or array in a model's reply text: pure
 * JSON, markdown fences, prose around it, reasoning blocks, the lenient
 * dialect models write (comments, trailing commas); tells truncated JSON
 * apart from invalid JSON. One pass over the text: every byte is scanned a
 * bounded number of times, so a 4 MB reply nested 500 deep costs what its
 * size costs. */
#include "llm.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

/* Deeper nesting is refused (jansson itself stops at 2048). */
#define EXTRACT_MAX_DEPTH 512

/* Work done by the last llm_json_extract of this thread (see llm.h). */
static _Thread_local size_t extract_steps;

size_t llm_json_extract_steps(void)
{
	return extract_steps;
}

enum scan_result {
	SCAN_CLOSED,   /* balanced: *end is one past the closing bracket */
	SCAN_OPEN,     /* the text ended inside the value */
	SCAN_MISMATCH, /* a closing bracket of the wrong kind at *end - 1 */
	SCAN_TOO_DEEP
};

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Scans the value opening at t[p] ('{' or '['), honouring strings,
 * backslash escapes and comments, up to t[len]. *lenient is set when the
 * value holds a comment or a trailing comma (llm_json_relax removes them). */
static enum scan_result scan_value(const char *t, size_t len, size_t p,
				   size_t *end, int *lenient)
{
	char stack[EXTRACT_MAX_DEPTH];
	int depth = 0, in_str = 0, after_comma = 0;

	*lenient = 0;
	for (size_t i = p; i < len; i++) {
		char c = t[i];

		extract_steps++;
		if (in_str) {
			if (c == '\\')
				i++; /* skip the escaped character */
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '/' && i + 1 < len &&
		    (t[i + 1] == '/' || t[i + 1] == '*')) {
			const char *stop = t[i + 1] == '/' ? "\n" : "*/";
			size_t j = i + 2, n = strlen(stop);

			while (j + n <= len && memcmp(t + j, stop, n) != 0) {
				extract_steps++;
				j++;
			}
			if (j + n > len)
				return SCAN_OPEN; /* the text ends in it */
			*lenient = 1;
			i = j + n - 1;
			continue;
		}
		if (is_ws(c))
			continue;
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (depth == EXTRACT_MAX_DEPTH)
				return SCAN_TOO_DEEP;
			stack[depth++] = c == '{' ? '}' : ']';
		} else if (c == '}' || c == ']') {
			if (depth == 0 || stack[depth - 1] != c) {
				*end = i + 1;
				return SCAN_MISMATCH;
			}
			if (after_comma)
				*lenient = 1;
			if (--depth == 0) {
				*end = i + 1;
				return SCAN_CLOSED;
			}
		}
		after_comma = c == ',';
	}
	return SCAN_OPEN;
}

size_t llm_json_relax(char *s, size_t n)
{
	size_t changed = 0, comma = 0, i, j;
	int in_str = 0, have_comma = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '/' && i + 1 < n && s[i + 1] == '/') {
			for (j = i; j < n && s[j] != '\n'; j++, changed++)
				s[j] = ' ';
			i = j; /* the newline (whitespace) or the end */
			continue;
		}
		if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			/* blanked with its delimiters; newlines are kept so
			 * that the line numbers of a later parse error still
			 * match the reply */
			s[i] = s[i + 1] = ' ';
			changed += 2;
			for (j = i + 2; j < n; j++) {
				if (s[j] == '*' && j + 1 < n &&
				    s[j + 1] == '/') {
					s[j] = s[j + 1] = ' ';
					changed += 2;
					j++;
					break;
				}
				if (s[j] != '\n') {
					s[j] = ' ';
					changed++;
				}
			}
			i = j;
			continue;
		}
		if (is_ws(c))
			continue;
		if ((c == '}' || c == ']') && have_comma) {
			s[comma] = ' ';
			changed++;
		}
		have_comma = c == ',';
		if (have_comma)
			comma = i;
		if (c == '"')
			in_str = 1;
	}
	return changed;
}

/* Whether the bracket at t[p] starts something a JSON value could start
 * with; the end of the text counts as "yes" (it may be a truncated value).
 * A comment may come first ("{ // the candidates"). */
static int looks_like_json(const char *t, size_t len, size_t p)
{
	size_t i = p + 1;

	while (i < len && is_ws(t[i]))
		i++;
	if (i == len)
		return 1;
	if (t[i] == '/' && i + 1 < len && (t[i + 1] == '/' || t[i + 1] == '*'))
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

/* Parses t[p, end) (relaxed first when lenient) with jansson. Returns 1 when
 * it is valid JSON, 0 with the reason in jerr, -1 out of memory. */
static int value_valid(const char *t, size_t p, size_t end, int lenient,
		       json_error_t *jerr)
{
	char *copy = NULL;
	const char *src = t + p;
	json_t *v;

	if (lenient) {
		copy = core_malloc(end - p);
		if (!copy)
			return -1;
		memcpy(copy, t + p, end - p);
		llm_json_relax(copy, end - p);
		src = copy;
	}
	v = json_loadb(src, end - p, 0, jerr);
	core_free(copy);
	if (!v)
		return json_error_code(jerr) == json_error_out_of_memory ? -1
									 : 0;
	json_decref(v);
	return 1;
}

/* Scans t[from, len) for candidates, each once: a candidate that is not
 * valid JSON is skipped whole, never searched for an inner fragment. Returns
 * OK with *off and *span, TRUNCATED, INVALID (the first balanced candidate
 * of the wanted kind failed to parse; err gives jansson's reason) or
 * NOT_FOUND. A valid value of the other kind is remembered in *other_off and
 * *other_span (when *other_span is still 0). */
static enum llm_extract_status
scan_region(const char *t, size_t len, size_t from, enum llm_json_want want,
	    size_t *off, size_t *span, size_t *other_off, size_t *other_span,
	    char *err, size_t errlen)
{
	enum llm_extract_status best = LLM_EXTRACT_NOT_FOUND;
	size_t p = from;

	while (p < len) {
		size_t end = 0;
		enum scan_result sr;
		int wanted, lenient, ok;
		json_error_t jerr;

		extract_steps++;
		if ((t[p] != '{' && t[p] != '[') ||
		    !looks_like_json(t, len, p)) {
			p++;
			continue;
		}
		sr = scan_value(t, len, p, &end, &lenient);
		if (sr == SCAN_OPEN) {
			core_errf(err, errlen,
				  "the JSON value at offset %zu is cut off "
				  "(%zu bytes, brackets, a string or a "
				  "comment still open)",
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
		wanted = want == LLM_JSON_ANY ||
			 (want == LLM_JSON_OBJECT && t[p] == '{') ||
			 (want == LLM_JSON_ARRAY && t[p] == '[');
		if (sr == SCAN_MISMATCH) {
			/* Brackets that do not pair up: no value starts here,
			 * and none of its insides is the answer. */
			if (wanted && best == LLM_EXTRACT_NOT_FOUND) {
				core_errf(err, errlen,
					  "the JSON value at offset %zu is "
					  "invalid: '%c' at offset %zu closes "
					  "nothing open",
					  p, t[end - 1], end - 1);
				best = LLM_EXTRACT_INVALID;
			}
			p = end;
			continue;
		}
		ok = value_valid(t, p, end, lenient, &jerr);
		if (ok < 0) {
			core_errf(err, errlen,
				  "out of memory checking the JSON");
			return LLM_EXTRACT_INVALID;
		}
		if (ok && wanted) {
			*off = p;
			*span = end - p;
			return LLM_EXTRACT_OK;
		}
		if (ok && *other_span == 0) {
			*other_off = p;
			*other_span = end - p;
		}
		if (!ok && wanted && best == LLM_EXTRACT_NOT_FOUND) {
			core_errf(err, errlen,
				  "the JSON value at offset %zu is invalid: "
				  "%s (at its line %d, column %d)",
				  p, jerr.text, jerr.line, jerr.column);
			best = LLM_EXTRACT_INVALID;
		}
		p = end; /* skip it whole */
	}
	return best;
}

enum llm_extract_status llm_json_extract(const char *text, size_t len,
					 enum llm_json_want want, size_t *off,
					 size_t *span, char *err, size_t errlen)
{
	size_t start = 0, i, other_off = 0, other_span = 0;
	const char *think, *fence;
	enum llm_extract_status st;

	*off = 0;
	*span = 0;
	extract_steps = 0;
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
				 off, span, &other_off, &other_span, err,
				 errlen);
		if (st == LLM_EXTRACT_OK || st == LLM_EXTRACT_TRUNCATED)
			return st;
	}
	st = scan_region(text, len, start, want, off, span, &other_off,
			 &other_span, err, errlen);
	if (st == LLM_EXTRACT_NOT_FOUND && other_span) {
		/* Only the other kind is there: a bare list of candidates
		 * where an object was asked for is still the answer. */
		*off = other_off;
		*span = other_span;
		return LLM_EXTRACT_OK;
	}
	if (st == LLM_EXTRACT_NOT_FOUND)
		core_errf(err, errlen, "no JSON %s found in the reply",
			  want == LLM_JSON_OBJECT  ? "object"
			  : want == LLM_JSON_ARRAY ? "array"
						   : "object or array");
	return st;
}
