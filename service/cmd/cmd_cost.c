/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_cost.c - `lmnas cost ARCH.json [--space SPACE.json] [--json]`: checks an
 * architecture (and its membership of a search space) and prints what it
 * costs on a microcontroller: MACs, parameters, int8 flash, peak SRAM and the
 * per-op table of the memory plan.
 *
 * Exit status: 0 valid (and a member of the space when --space is given),
 * 1 invalid or outside the space (the cost is still printed when the
 * architecture is valid), 2 usage, file or internal errors. */
#include "cmd.h"
#include "cost/cost.h"
#include "space/space.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: lmnas cost ARCH.json [--space SPACE.json] [--json]\n"
    "  validates an lmnas-arch/1 architecture, checks it against a search\n"
    "  space (--space), and prints MACs, parameters, int8 flash, peak SRAM\n"
    "  and the per-op memory plan (--json: one JSON object instead)\n";

struct cost_args {
	const char *arch_path;
	const char *space_path; /* NULL: membership not checked */
	int json;
};

static int parse_args(int argc, char **argv, struct cost_args *a)
{
	memset(a, 0, sizeof *a);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			a->json = 1;
		} else if (strcmp(argv[i], "--space") == 0 && i + 1 < argc) {
			a->space_path = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			return 1;
		} else if (argv[i][0] == '-' || a->arch_path) {
			fprintf(stderr,
				"lmnas cost: unexpected argument '%s'\n",
				argv[i]);
			return -1;
		} else {
			a->arch_path = argv[i];
		}
	}
	if (!a->arch_path) {
		fprintf(stderr, "lmnas cost: no ARCH.json given\n");
		return -1;
	}
	return 0;
}

static void print_field_errors(FILE *f, const struct core_field_errors *fe)
{
	for (int i = 0; i < fe->n; i++)
		fprintf(f, "  %s: %s\n", fe->e[i].field, fe->e[i].reason);
	if (fe->dropped)
		fprintf(f, "  (and %d more)\n", fe->dropped);
}

/* Reads path (at most max bytes); on failure prints why and returns 2. */
static int read_file(const char *path, size_t max, char **text, size_t *len)
{
	char err[CORE_ERR_LEN];

	if (core_file_read(path, max, text, len, err, sizeof err)) {
		fprintf(stderr, "lmnas cost: %s\n", err);
		return 2;
	}
	return 0;
}

/* Membership of a in the space at path: 0 member, 1 not (fe says why),
 * 2 the space could not be read or parsed (printed to stderr). */
static int check_space(const char *path, const struct arch *a,
		       struct core_field_errors *fe)
{
	struct space s;
	char *text = NULL;
	size_t len = 0;
	enum core_status rc;

	if (read_file(path, SPACE_MAX_JSON_BYTES, &text, &len))
		return 2;
	rc = space_parse(text, len, &s, fe);
	core_free(text);
	if (rc) {
		fprintf(stderr, "lmnas cost: %s is not a valid %s (%s)\n", path,
			SPACE_FORMAT, core_status_name(rc));
		print_field_errors(stderr, fe);
		return 2;
	}
	rc = space_check(&s, a, fe);
	if (rc == CORE_ERR_INVALID)
		return 1;
	return rc ? 2 : 0;
}

static int print_text(const struct cost_args *args, const struct arch *a,
		      const char *hash, int member,
		      const struct core_field_errors *space_fe,
		      const struct cost_report *r)
{
	struct core_buf b;

	printf("arch    %s: valid %s, hash %.16s\n",
	       a->name[0] ? a->name : args->arch_path, ARCH_FORMAT, hash);
	if (!args->space_path) {
		printf("space   not checked (no --space)\n");
	} else if (member == 0) {
		printf("space   member of %s\n", args->space_path);
	} else {
		printf("space   NOT a member of %s:\n", args->space_path);
		print_field_errors(stdout, space_fe);
	}
	core_buf_init(&b, 4u << 20);
	if (cost_report_format_text(r, &b)) {
		fprintf(stderr, "lmnas cost: out of memory\n");
		return 2;
	}
	fputs(b.data, stdout);
	core_buf_free(&b);
	return 0;
}

static int print_json(const struct cost_args *args, const struct arch *a,
		      const char *hash, int member,
		      const struct core_field_errors *space_fe,
		      const struct cost_report *r)
{
	struct cost_space_check sc = {args->space_path, member == 0, space_fe};
	json_t *o = cost_arch_json(a, hash, args->space_path ? &sc : NULL, r);
	char *text =
	    o ? json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	if (!text) {
		fprintf(stderr, "lmnas cost: out of memory\n");
		return 2;
	}
	puts(text);
	free(text);
	return 0;
}

/* An invalid architecture: its field errors, as text or JSON. */
static int print_invalid(const struct cost_args *args,
			 const struct core_field_errors *fe)
{
	if (args->json) {
		json_t *o = cost_invalid_json(fe);
		char *text =
		    o ? json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER)
		      : NULL;

		if (text)
			puts(text);
		free(text);
		json_decref(o);
	} else {
		printf("arch    %s: INVALID %s:\n", args->arch_path,
		       ARCH_FORMAT);
		print_field_errors(stdout, fe);
	}
	return 1;
}

int cmd_cost(const struct config *cfg, int argc, char **argv)
{
	struct cost_args args;
	struct core_field_errors fe, space_fe;
	struct arch a;
	struct cost_report r;
	char err[CORE_ERR_LEN], hash[65] = "";
	char *text = NULL;
	size_t len = 0;
	enum core_status rc;
	int member = 0, ret;

	ret = parse_args(argc, argv, &args);
	if (ret) {
		fputs(usage, ret > 0 ? stdout : stderr);
		return ret > 0 ? 0 : 2;
	}
	if (read_file(args.arch_path, ARCH_MAX_JSON_BYTES, &text, &len))
		return 2;
	rc = arch_parse(text, len, &a, &fe);
	core_free(text);
	if (rc == CORE_ERR_INVALID)
		return print_invalid(&args, &fe);
	if (rc) {
		fprintf(stderr, "lmnas cost: %s: %s\n", args.arch_path,
			core_status_name(rc));
		return 2;
	}
	if (arch_hash(&a, hash)) {
		fprintf(stderr, "lmnas cost: cannot hash the architecture\n");
		return 2;
	}
	core_field_errors_clear(&space_fe);
	if (args.space_path) {
		member = check_space(args.space_path, &a, &space_fe);
		if (member == 2)
			return 2;
	}
	rc = cost_report_build(&a, &r, err, sizeof err);
	if (rc) {
		fprintf(stderr, "lmnas cost: %s\n", err);
		return 2;
	}
	if (args.json)
		ret = print_json(&args, &a, hash, member, &space_fe, &r);
	else
		ret = print_text(&args, &a, hash, member, &space_fe, &r);
	cost_report_free(&r);
	if (ret)
		return ret;
	return member ? 1 : 0;
}
