/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_space.c - `lmnas space sample|show`: random members of a search space
 * and its prompt rendering, from the default space or a lmnas-space/1 file.
 */
#include "cmd.h"
#include "space/space.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: lmnas space sample [--space SPACE.json] [--seed N] "
    "[--classes N]\n"
    "       lmnas space show [--space SPACE.json] [--json]\n"
    "  sample  print a uniformly random member as canonical JSON\n"
    "          (--seed: any 64-bit number, random when absent;\n"
    "           --classes: 2..10000, default 100)\n"
    "  show    print the space as it is put into LLM prompts\n"
    "          (--json: its canonical JSON instead)\n"
    "  without --space, the default (seed paper) space is used\n";

static int load_space(const char *path, struct space *s)
{
	struct core_field_errors fe;
	char err[CORE_ERR_LEN];
	char *text = NULL;
	size_t len = 0;
	enum core_status rc;

	if (!path) {
		space_default(s);
		return 0;
	}
	rc = core_file_read(path, SPACE_MAX_JSON_BYTES, &text, &len, err,
			    sizeof err);
	if (rc) {
		fprintf(stderr, "lmnas space: %s\n", err);
		return 1;
	}
	rc = space_parse(text, len, s, &fe);
	core_free(text);
	if (rc == CORE_ERR_INVALID) {
		fprintf(stderr, "lmnas space: %s is not a valid %s:\n", path,
			SPACE_FORMAT);
		for (int i = 0; i < fe.n; i++)
			fprintf(stderr, "  %s: %s\n", fe.e[i].field,
				fe.e[i].reason);
		if (fe.dropped)
			fprintf(stderr, "  (and %d more)\n", fe.dropped);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "lmnas space: %s: %s\n", path,
			core_status_name(rc));
		return 1;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int print_sample(const struct space *s, int have_seed, uint64_t seed,
			int classes)
{
	struct core_rng rng;
	struct arch a;
	char err[CORE_ERR_LEN], hex[17];
	char *text = NULL;

	if (!have_seed) {
		core_random_hex(hex, 8);
		seed = strtoull(hex, NULL, 16);
		fprintf(stderr, "lmnas space: --seed %" PRIu64 "\n", seed);
	}
	core_rng_seed(&rng, seed);
	if (space_sample(s, &rng, classes, &a, err, sizeof err)) {
		fprintf(stderr, "lmnas space sample: %s\n", err);
		return 1;
	}
	if (arch_to_text(&a, 1, &text, NULL)) {
		fprintf(stderr, "lmnas space sample: out of memory\n");
		return 1;
	}
	printf("%s\n", text);
	core_free(text);
	return 0;
}

static int print_show(const struct space *s, int as_json)
{
	struct core_buf b;
	json_t *j;
	char *text = NULL;
	int rc = 1;

	if (as_json) {
		j = space_to_json(s);
		if (j && arch_json_dump(j, 1, &text, NULL) == CORE_OK) {
			printf("%s\n", text);
			rc = 0;
		}
		json_decref(j);
		core_free(text);
	} else {
		core_buf_init(&b, 64 * 1024);
		if (space_render_prompt(s, &b) == CORE_OK) {
			fputs(b.data, stdout);
			rc = 0;
		}
		core_buf_free(&b);
	}
	if (rc)
		fprintf(stderr, "lmnas space show: out of memory\n");
	return rc;
}

int cmd_space(const struct config *cfg, int argc, char **argv)
{
	const char *space_path = NULL;
	uint64_t seed = 0, classes64 = 100;
	int have_seed = 0, as_json = 0, sample;
	struct space s;

	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2 ||
	    (strcmp(argv[1], "sample") != 0 && strcmp(argv[1], "show") != 0)) {
		if (argc >= 2)
			fprintf(stderr,
				"lmnas space: unknown subcommand '%s'\n",
				argv[1]);
		fputs(usage, stderr);
		return 2;
	}
	sample = strcmp(argv[1], "sample") == 0;
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--space") == 0 && val) {
			space_path = val;
			i++;
		} else if (sample && strcmp(arg, "--seed") == 0 && val) {
			if (parse_u64(val, &seed)) {
				fprintf(stderr,
					"lmnas space: --seed: '%s' is not a "
					"number\n",
					val);
				return 2;
			}
			have_seed = 1;
			i++;
		} else if (sample && strcmp(arg, "--classes") == 0 && val) {
			if (parse_u64(val, &classes64) ||
			    classes64 < ARCH_MIN_CLASSES ||
			    classes64 > ARCH_MAX_CLASSES) {
				fprintf(stderr,
					"lmnas space: --classes: '%s' is not "
					"in %d..%d\n",
					val, ARCH_MIN_CLASSES,
					ARCH_MAX_CLASSES);
				return 2;
			}
			i++;
		} else if (!sample && strcmp(arg, "--json") == 0) {
			as_json = 1;
		} else {
			fprintf(stderr, "lmnas space: unexpected '%s'\n%s", arg,
				usage);
			return 2;
		}
	}
	if (load_space(space_path, &s))
		return 1;
	if (sample)
		return print_sample(&s, have_seed, seed, (int)classes64);
	return print_show(&s, as_json);
}
