/* SPDX-License-Identifier: Apache-2.0 */
/* args.c - parsing a subcommand's own flags from a table, with errors that
 * name the flag and the reason. */
#include "cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_value(const struct cmd_arg *a, const char *v, char *err,
		     size_t errlen)
{
	char *end = NULL;

	switch (a->kind) {
	case CMD_ARG_STRING: *(const char **)a->dst = v; return 0;
	case CMD_ARG_INT: {
		long x;
		errno = 0;
		x = strtol(v, &end, 10);
		if (errno || end == v || *end || x < a->min || x > a->max) {
			core_errf(err, errlen,
				  "%s: '%s' is not a whole number "
				  "in %.0f..%.0f",
				  a->name, v, a->min, a->max);
			return -1;
		}
		*(int *)a->dst = (int)x;
		return 0;
	}
	case CMD_ARG_U64: {
		unsigned long long x;
		errno = 0;
		x = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-') {
			core_errf(err, errlen, "%s: '%s' is not a whole number",
				  a->name, v);
			return -1;
		}
		*(uint64_t *)a->dst = (uint64_t)x;
		return 0;
	}
	case CMD_ARG_DOUBLE: {
		double x;
		errno = 0;
		x = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(x) || x < a->min ||
		    x > a->max) {
			core_errf(err, errlen,
				  "%s: '%s' is not a number in "
				  "%g..%g",
				  a->name, v, a->min, a->max);
			return -1;
		}
		*(double *)a->dst = x;
		return 0;
	}
	case CMD_ARG_FLAG: break;
	}
	return -1;
}

int cmd_args_parse(const struct cmd_arg *args, int argc, char **argv, char *err,
		   size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const struct cmd_arg *a = NULL;
		const char *v = NULL;
		size_t nl;

		for (const struct cmd_arg *t = args; t->name && !a; t++) {
			nl = strlen(t->name);
			if (strncmp(argv[i], t->name, nl) != 0)
				continue;
			if (argv[i][nl] == '\0')
				a = t;
			else if (argv[i][nl] == '=' &&
				 t->kind != CMD_ARG_FLAG) {
				a = t;
				v = argv[i] + nl + 1;
			}
		}
		if (!a) {
			core_errf(err, errlen, "unknown option '%s'", argv[i]);
			return -1;
		}
		if (a->kind == CMD_ARG_FLAG) {
			*(int *)a->dst = 1;
			continue;
		}
		if (!v) {
			if (i + 1 >= argc) {
				core_errf(err, errlen, "%s: needs a value",
					  a->name);
				return -1;
			}
			v = argv[++i];
		}
		if (set_value(a, v, err, errlen))
			return -1;
	}
	return 0;
}

void cmd_args_usage(FILE *f, const char *usage, const struct cmd_arg *args)
{
	fprintf(f, "usage: %s\n", usage);
	for (const struct cmd_arg *a = args; a->name; a++)
		fprintf(f, "  %-22s %s\n", a->name, a->help ? a->help : "");
}

int cmd_args_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}
