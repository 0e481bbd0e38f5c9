/* SPDX-License-Identifier: Apache-2.0 */
/* test_llm_extract.c - llm: the JSON extractor on tricky model replies
 * (fences, prose, strings with brackets and escapes, truncation, reasoning
 * blocks, several values) and the names of the llm enums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "llm/llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs the extractor on s and returns its status; on OK *got receives the
 * extracted text (static buffer). */
static enum llm_extract_status run(const char *s, enum llm_json_want want,
				   const char **got, char *err, size_t errlen)
{
	static char buf[8192];
	size_t off = 99, span = 99;
	enum llm_extract_status st;

	st = llm_json_extract(s, strlen(s), want, &off, &span, err, errlen);
	if (st == LLM_EXTRACT_OK) {
		assert_true(off + span <= strlen(s));
		assert_true(span < sizeof buf);
		memcpy(buf, s + off, span);
		buf[span] = '\0';
		*got = buf;
	} else {
		assert_int_equal(off, 0);
		assert_int_equal(span, 0);
		assert_true(err[0] != '\0');
		*got = NULL;
	}
	return st;
}

static void expect_ok(const char *in, enum llm_json_want want,
		      const char *want_out)
{
	char err[CORE_ERR_LEN] = "";
	const char *got;
	enum llm_extract_status st = run(in, want, &got, err, sizeof err);

	if (st != LLM_EXTRACT_OK)
		fail_msg("input %s: status %d (%s)", in, st, err);
	assert_string_equal(got, want_out);
}

static void expect_len_ok(const char *in, size_t len, const char *want_out)
{
	char err[CORE_ERR_LEN] = "";
	size_t off, span;

	if (llm_json_extract(in, len, LLM_JSON_OBJECT, &off, &span, err,
			     sizeof err) != LLM_EXTRACT_OK)
		fail_msg("status not ok: %s", err);
	assert_int_equal(span, strlen(want_out));
	assert_memory_equal(in + off, want_out, span);
}

static void expect_status(const char *in, enum llm_json_want want,
			  enum llm_extract_status want_st, const char *err_has)
{
	char err[CORE_ERR_LEN] = "";
	const char *got;
	enum llm_extract_status st = run(in, want, &got, err, sizeof err);

	if (st != want_st)
		fail_msg("input %s: status %d, wanted %d (%s)", in, st, want_st,
			 err);
	if (err_has && !strstr(err, err_has))
		fail_msg("input %s: error '%s' lacks '%s'", in, err, err_has);
}

static void pure_json(void **state)
{
	expect_ok("{\"a\":1}", LLM_JSON_ANY, "{\"a\":1}");
	expect_ok("  \n{\"a\": [1, 2, {\"b\": null}]}\n ", LLM_JSON_ANY,
		  "{\"a\": [1, 2, {\"b\": null}]}");
	expect_ok("[{\"a\":1},{\"a\":2}]", LLM_JSON_ANY,
		  "[{\"a\":1},{\"a\":2}]");
	expect_ok("[]", LLM_JSON_ARRAY, "[]");
	expect_ok("{}", LLM_JSON_OBJECT, "{}");
}

static void fences(void **state)
{
	expect_ok("```json\n{\"a\": 1}\n```", LLM_JSON_ANY, "{\"a\": 1}");
	expect_ok("Here you go:\n```JSON\n[1, 2]\n```\nDone.", LLM_JSON_ANY,
		  "[1, 2]");
	expect_ok("```\n{\"plain\": true}\n```", LLM_JSON_OBJECT,
		  "{\"plain\": true}");
	/* a fence inside a JSON string, and a fence inside a fence */
	expect_ok("````markdown\n```json\n{\"code\": \"```x```\"}\n```\n````",
		  LLM_JSON_ANY, "{\"code\": \"```x```\"}");
	/* prose with a JSON-looking object before the fence: the fence wins */
	expect_ok("Example {\"x\": 0} only; answer:\n```json\n{\"x\": 1}\n```",
		  LLM_JSON_OBJECT, "{\"x\": 1}");
	/* an empty ```json fence falls back to the whole text */
	expect_ok("{\"x\": 2}\n```json\n```", LLM_JSON_OBJECT, "{\"x\": 2}");
}

static void prose_around(void **state)
{
	expect_ok("Sure! Here are the candidates: {\"c\": [1]} Hope it helps.",
		  LLM_JSON_ANY, "{\"c\": [1]}");
	/* brackets in prose before the JSON do not look like JSON */
	expect_ok("Options [see below] and {braces}: {\"x\": 1}", LLM_JSON_ANY,
		  "{\"x\": 1}");
	/* a stray closing bracket, then the value */
	expect_ok("} ] {\"x\": 1}", LLM_JSON_ANY, "{\"x\": 1}");
	/* mismatched brackets are skipped */
	expect_ok("{\"a\": ]} then {\"b\": 2}", LLM_JSON_ANY, "{\"b\": 2}");
}

static void strings_and_escapes(void **state)
{
	expect_ok("x {\"a\": \"}{][\", \"b\": \"x\"} y", LLM_JSON_ANY,
		  "{\"a\": \"}{][\", \"b\": \"x\"}");
	expect_ok("{\"a\": \"he said \\\"}\\\" ok\", \"b\": 1} tail",
		  LLM_JSON_ANY, "{\"a\": \"he said \\\"}\\\" ok\", \"b\": 1}");
	/* an escaped backslash right before the closing quote */
	expect_ok("{\"a\": \"c:\\\\\"} {\"b\": 2}", LLM_JSON_ANY,
		  "{\"a\": \"c:\\\\\"}");
	expect_ok("{\"u\": \"\\u00e9\\n\\t\"}", LLM_JSON_ANY,
		  "{\"u\": \"\\u00e9\\n\\t\"}");
}

static void first_of_several(void **state)
{
	expect_ok("{\"a\":1} {\"b\":2}", LLM_JSON_ANY, "{\"a\":1}");
	expect_ok("{\"a\":1}\n\n{\"a\":1}", LLM_JSON_OBJECT, "{\"a\":1}");
	/* an invalid first value, then a valid one */
	expect_ok("{\"a\": 1 2} or rather {\"a\": 2}", LLM_JSON_ANY,
		  "{\"a\": 2}");
}

/* The lenient dialect, and invalid values skipped whole: never an inner
 * fragment as the answer (the old extractor moved on by one byte and
 * handed {"resolution":32,"channels":3} on). */
static void lenient_and_no_fragments(void **state)
{
	char buf[256];
	const char *frag = "{\"candidates\": [{\"arch\": {\"resolution\":32,"
			   "\"channels\":3}, \"x\": tru}]}";

	expect_ok("{\"a\": 1, // one\n \"b\": [2, 3,], /* c */}", LLM_JSON_ANY,
		  "{\"a\": 1, // one\n \"b\": [2, 3,], /* c */}");
	expect_ok("[ // a list\n 1, 2,\n]", LLM_JSON_ARRAY,
		  "[ // a list\n 1, 2,\n]");
	/* slashes inside strings are no comment */
	expect_ok("{\"u\": \"http://h/*x*/\"}", LLM_JSON_OBJECT,
		  "{\"u\": \"http://h/*x*/\"}");
	expect_status(frag, LLM_JSON_OBJECT, LLM_EXTRACT_INVALID, "offset 0");
	expect_status(frag, LLM_JSON_ANY, LLM_EXTRACT_INVALID, "column");
	/* a bracket pair that does not match: nothing inside is taken */
	expect_status("{\"c\": [{\"resolution\": 32}}", LLM_JSON_OBJECT,
		      LLM_EXTRACT_INVALID, "closes");
	expect_status("{\"a\": 1 /* open comment", LLM_JSON_ANY,
		      LLM_EXTRACT_TRUNCATED, "comment");
	/* llm_json_relax makes strict JSON of the same length */
	snprintf(buf, sizeof buf, "%s",
		 "{\"a\": [1, 2,], // x\n \"s\": \"a,]//\", /* y */ }");
	assert_true(llm_json_relax(buf, strlen(buf)) > 0);
	assert_string_equal(
	    buf, "{\"a\": [1, 2 ],     \n \"s\": \"a,]//\"          }");
}

static void want_kind(void **state)
{
	/* a valid array is skipped whole when an object is wanted ... */
	expect_ok("[1, 2] {\"a\": 1}", LLM_JSON_OBJECT, "{\"a\": 1}");
	/* ... but when only the other kind is there, it is the answer */
	expect_ok("[{\"a\": 1}]", LLM_JSON_OBJECT, "[{\"a\": 1}]");
	/* ... and objects when an array is wanted */
	expect_ok("{\"a\": [1]} [2]", LLM_JSON_ARRAY, "[2]");
	expect_ok("[1] {\"a\": 1}", LLM_JSON_ANY, "[1]");
}

static void truncated(void **state)
{
	expect_status("{\"a\": [1, 2", LLM_JSON_ANY, LLM_EXTRACT_TRUNCATED,
		      "cut off");
	expect_status("{\"a\": \"abc", LLM_JSON_ANY, LLM_EXTRACT_TRUNCATED,
		      NULL);
	/* complete inner values of a cut-off value are not the answer */
	expect_status("{\"c\": [{\"a\": 1}, {\"b\":", LLM_JSON_ANY,
		      LLM_EXTRACT_TRUNCATED, NULL);
	expect_status("```json\n{\"c\": [{\"a\": 1},", LLM_JSON_ANY,
		      LLM_EXTRACT_TRUNCATED, NULL);
	expect_status("Here: {", LLM_JSON_ANY, LLM_EXTRACT_TRUNCATED, NULL);
	/* an escape as the very last byte */
	expect_status("{\"a\": \"x\\", LLM_JSON_ANY, LLM_EXTRACT_TRUNCATED,
		      NULL);
}

static void invalid_and_missing(void **state)
{
	expect_status("", LLM_JSON_ANY, LLM_EXTRACT_EMPTY, "empty");
	expect_status(" \n\t ", LLM_JSON_ANY, LLM_EXTRACT_EMPTY, NULL);
	expect_status("no json here", LLM_JSON_ANY, LLM_EXTRACT_NOT_FOUND,
		      "no JSON");
	expect_status("[see below]", LLM_JSON_ANY, LLM_EXTRACT_NOT_FOUND, NULL);
	expect_status("{\"a\": 1 2}", LLM_JSON_ANY, LLM_EXTRACT_INVALID,
		      "invalid");
	expect_status("{\"a\": tru}", LLM_JSON_ANY, LLM_EXTRACT_INVALID, NULL);
	expect_status("[see] {braces}", LLM_JSON_ARRAY, LLM_EXTRACT_NOT_FOUND,
		      "array");
}

static void deep_nesting(void **state)
{
	size_t n = 2000;
	char *s = malloc(2 * n + 1);
	char err[CORE_ERR_LEN] = "";
	size_t off, span;

	assert_non_null(s);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	assert_int_equal(llm_json_extract(s, 2 * n, LLM_JSON_ANY, &off, &span,
					  err, sizeof err),
			 LLM_EXTRACT_INVALID);
	assert_non_null(strstr(err, "deeper"));
	free(s);
}

/* The reply: 4 MB nested 500 deep that is not valid JSON. The old
 * extractor moved on by one byte after each failed candidate and scanned
 * (and parsed) the 4 MB again from each of the 500 brackets: 24-43 s of
 * CPU. Now each candidate is scanned once and skipped whole: the work
 * counter stays within a small multiple of the size. */
static void linear_in_reply_size(void **state)
{
	size_t depth = 500, body = (size_t)2 << 20, len = 0, steps;
	char *s = malloc(2 * depth + 2 * body + 64);
	char err[CORE_ERR_LEN] = "";
	size_t off, span;

	assert_non_null(s);
	memset(s + len, '[', depth);
	len += depth;
	for (size_t i = 0; i < body; i++) {
		s[len++] = '1';
		s[len++] = ',';
	}
	s[len++] = 'x'; /* invalid at the very end */
	memset(s + len, ']', depth);
	len += depth;
	assert_true(len > (size_t)4 << 20);
	assert_int_equal(llm_json_extract(s, len, LLM_JSON_ANY, &off, &span,
					  err, sizeof err),
			 LLM_EXTRACT_INVALID);
	steps = llm_json_extract_steps();
	print_message("# %zu bytes, %zu steps\n", len, steps);
	assert_true(steps <= 2 * len);
	assert_non_null(strstr(err, "offset 0 is invalid"));
	/* an answer after it is still found, in one pass */
	memcpy(s + len, " {\"a\": 1}", 10);
	len += 10;
	expect_len_ok(s, len, "{\"a\": 1}");
	assert_true(llm_json_extract_steps() <= 2 * len);
	free(s);
}

static void think_blocks(void **state)
{
	expect_ok("<think>maybe {\"draft\": 1}?</think>\n{\"final\": 2}",
		  LLM_JSON_ANY, "{\"final\": 2}");
	/* a truncated draft inside the reasoning is not a truncated reply */
	expect_ok("<think>{\"draft\": [</think>{\"final\": 3}", LLM_JSON_ANY,
		  "{\"final\": 3}");
	expect_status("<think>still thinking {\"a\":", LLM_JSON_ANY,
		      LLM_EXTRACT_TRUNCATED, NULL);
}

static void not_nul_terminated(void **state)
{
	const char text[] = "{\"a\":1}{\"b\":2}";
	char err[CORE_ERR_LEN];
	size_t off, span;

	/* only the first 5 bytes are given: the value is cut off */
	assert_int_equal(llm_json_extract(text, 5, LLM_JSON_ANY, &off, &span,
					  err, sizeof err),
			 LLM_EXTRACT_TRUNCATED);
	assert_int_equal(llm_json_extract(text + 7, 7, LLM_JSON_ANY, &off,
					  &span, err, sizeof err),
			 LLM_EXTRACT_OK);
	assert_int_equal(off, 0);
	assert_int_equal(span, 7);
}

static void names(void **state)
{
	enum llm_format f;

	assert_string_equal(llm_outcome_name(LLM_OUTCOME_OK), "ok");
	assert_string_equal(llm_outcome_name(LLM_OUTCOME_REFUSED_FORMAT),
			    "refused_format");
	assert_string_equal(llm_outcome_name(LLM_OUTCOME_UNREACHABLE),
			    "unreachable");
	assert_string_equal(llm_outcome_name((enum llm_outcome)99), "unknown");
	assert_string_equal(llm_reply_error_name(LLM_REPLY_TRUNCATED),
			    "truncated");
	assert_string_equal(llm_format_name(LLM_FORMAT_JSON_OBJECT),
			    "json_object");
	assert_int_equal(llm_format_parse("none", &f), CORE_OK);
	assert_int_equal(f, LLM_FORMAT_NONE);
	assert_int_equal(llm_format_parse("xml", &f), CORE_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pure_json),
	    cmocka_unit_test(fences),
	    cmocka_unit_test(prose_around),
	    cmocka_unit_test(strings_and_escapes),
	    cmocka_unit_test(first_of_several),
	    cmocka_unit_test(want_kind),
	    cmocka_unit_test(truncated),
	    cmocka_unit_test(invalid_and_missing),
	    cmocka_unit_test(deep_nesting),
	    cmocka_unit_test(linear_in_reply_size),
	    cmocka_unit_test(lenient_and_no_fragments),
	    cmocka_unit_test(think_blocks),
	    cmocka_unit_test(not_nul_terminated),
	    cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
