/* SPDX-License-Identifier: Apache-2.0 */
/* space.h - search spaces (`lmnas-space/1`): which values each field of an
 * lmnas-arch/1 architecture may take. Parsing with field-path errors, the
 * seed paper's default space, membership of an architecture, a compact text
 * for LLM prompts, uniform random members and the canonical JSON.
 *
 * Layer: space sits above arch (and core); search, llm and the HTTP layer
 * read it. Includes only core, arch and Jansson.
 *
 * The JSON form; every member except "format" is optional and defaults to
 * the default space (space_default), so `{"format": "lmnas-space/1",
 * "resolution": [32]}` is the seed space at one resolution:
 *
 *   {"format": "lmnas-space/1",             required
 *    "name": "seed",                        default "", < 128 bytes
 *    "stages": {"min": 5, "max": 5},        1 <= min <= max <= 12
 *    "resolution": [32, 64, 96, 128, 160],  input.resolution
 *    "channels": [3],                       input.channels
 *    "stem": null,                          default null: no stem; or
 *            {"optional": false,            default false: a stem is
 *                                           required; true: absent or
 *                                           present (sampled half/half)
 *             "out": [16, 24, 32],          required
 *             "kernel": [3],                default [3]
 *             "stride": [2],                default [2]
 *             "act": ["relu6"]},            default ["relu6"]
 *    "block": ["dwsep", "mbconv"],          every stage draws from these
 *    "out": [16, 24, 32, 48, 64, 96, 128, 160],
 *    "layers": [1, 2, 3, 4, 6],
 *    "kernel": [3, 5, 7],
 *    "stride": [1, 2],
 *    "expand": [2, 3, 4, 6],                checked for mbconv stages only
 *    "se": [0, 0.25, 0.5],
 *    "skip": ["none", "residual"],
 *    "act": ["relu6", "leakyrelu", "swish"],
 *    "dropout": [0, 0.05, 0.1, 0.2],        head.dropout
 *    "overrides": [{"stage": 0, "stride": [2]}]}
 *
 * Every list is non-empty, holds at most SPACE_MAX_VALUES distinct values,
 * and every value is valid for its arch field (odd kernels, arch limits).
 * Lists are kept sorted (numbers ascending, names in enum order) and
 * duplicates (also 0.25 next to 0.250) are errors.
 *
 * "overrides" replaces, for one stage (0-based, below stages.max), any of the
 * per-stage lists (block, out, layers, kernel, stride, expand, se, skip,
 * act): e.g. force the first stage to downsample, or widen the last. Each
 * stage appears at most once.
 *
 * Not in a space: head.classes and the name of an architecture (the task
 * fixes the classes: space_sample takes them, space_check ignores them).
 *
 * The default space is the seed paper's: 5 stages; out {16, 24, 32, 48, 64,
 * 96, 128, 160}; kernel {3, 5, 7}; stride {1, 2}; expand {2, 3, 4, 6}; se {0,
 * 0.25, 0.5}; block {dwsep, mbconv}; skip {residual, none}; act {relu6,
 * leakyrelu, swish}; layers {1, 2, 3, 4, 6}; resolution {32, 64, 96, 128,
 * 160}; no stem; plus what the paper leaves open: 3 input channels and head
 * dropout {0, 0.05, 0.1, 0.2}.
 *
 * A space must have at least one valid member: parsing builds the narrowest
 * architecture it allows (fewest stages, largest resolution, smallest
 * strides, widths and expansions) and rejects the space when even that one
 * fails arch_validate (channels over ARCH_MAX_CHANNELS after expansion, or a
 * spatial size that collapses).
 */
#ifndef LMNAS_SPACE_H
#define LMNAS_SPACE_H

#include "arch/arch.h"
#include "core/core.h"

#include <jansson.h>

#define SPACE_FORMAT	     "lmnas-space/1"
#define SPACE_MAX_VALUES     32 /* per list */
#define SPACE_MAX_JSON_BYTES (64 * 1024)
/* space_sample draws whole architectures and keeps the first valid one
 * (rejection sampling); it gives up after this many. */
#define SPACE_SAMPLE_ATTEMPTS 1000

/* A sorted list of distinct allowed values; enum fields hold enum values. */
struct space_ints {
	int n;
	int v[SPACE_MAX_VALUES];
};

struct space_reals {
	int n;
	double v[SPACE_MAX_VALUES]; /* canonical (arch_real_canonical) */
};

/* The allowed values of one stage's fields. */
struct space_stage {
	struct space_ints block; /* enum arch_block */
	struct space_ints out, layers, kernel, stride, expand;
	struct space_reals se;
	struct space_ints skip; /* enum arch_skip */
	struct space_ints act;	/* enum arch_act */
};

/* Bits of space.overridden[i]: which lists of stage i an override set. */
enum space_field {
	SPACE_FIELD_BLOCK = 1 << 0,
	SPACE_FIELD_OUT = 1 << 1,
	SPACE_FIELD_LAYERS = 1 << 2,
	SPACE_FIELD_KERNEL = 1 << 3,
	SPACE_FIELD_STRIDE = 1 << 4,
	SPACE_FIELD_EXPAND = 1 << 5,
	SPACE_FIELD_SE = 1 << 6,
	SPACE_FIELD_SKIP = 1 << 7,
	SPACE_FIELD_ACT = 1 << 8
};

enum space_stem_mode {
	SPACE_STEM_NONE = 0, /* architectures have no stem */
	SPACE_STEM_REQUIRED, /* they have one, drawn from the lists */
	SPACE_STEM_OPTIONAL  /* either */
};

struct space_stem {
	enum space_stem_mode mode;
	struct space_ints out, kernel, stride, act; /* unused when NONE */
};

struct space {
	char name[ARCH_MAX_NAME];
	int stages_min, stages_max;
	struct space_ints resolution, channels;
	struct space_stem stem;
	struct space_stage all; /* the lists every stage draws from */
	/* Effective lists of stage i: `all` with the override of stage i
	 * applied; overridden[i] says which lists the override set. */
	struct space_stage stage[ARCH_MAX_STAGES];
	unsigned overridden[ARCH_MAX_STAGES];
	struct space_reals dropout;
};

/* Fills s with the default space (see above). Cannot fail. */
void space_default(struct space *s);

/* Parses and validates a space. fe is cleared first and receives one entry
 * per problem with its path ("kernel[1]", "overrides[0].stride",
 * "stem.out", "$" for the document); CORE_ERR_INVALID when there is any,
 * CORE_ERR_NOMEM when Jansson runs out of memory. *out is written only on
 * success. */
enum core_status space_from_json(const json_t *j, struct space *out,
				 struct core_field_errors *fe);
enum core_status space_parse(const char *text, size_t len, struct space *out,
			     struct core_field_errors *fe);

/* The canonical JSON object: every member present in the order above, lists
 * sorted, "stem" null or an object with all five members, "overrides" an
 * array (by stage) of objects holding only the lists they set. New
 * reference owned by the caller; NULL on out-of-memory. */
json_t *space_to_json(const struct space *s);

/* Membership of an architecture that passed arch_validate: fe (cleared
 * first) gets one entry per field outside the space, with the arch's field
 * path, e.g. `stages[1].kernel: 9 is not in the space {3,5,7}`. head.classes
 * and name are not checked; neither is a dwsep stage's expand, which dwsep
 * ignores. CORE_ERR_INVALID when a is not a member. */
enum core_status space_check(const struct space *s, const struct arch *a,
			     struct core_field_errors *fe);

/* Appends a compact description for an LLM prompt to buf: a few lines that
 * list every allowed value, e.g.
 *   stages: 5 (each stage: one block type, repeated `layers` times)
 *   input.resolution: {32,64,96,128,160}; input.channels: {3}; stem: null
 *   every stage: block {dwsep,mbconv}; out {16,...}; ...
 *   stages[0] only: stride {2}
 *   head.dropout: {0,0.05,0.1,0.2}
 * CORE_ERR_NOMEM when buf fails (buf is then freed, per core_buf). */
enum core_status space_render_prompt(const struct space *s,
				     struct core_buf *buf);

/* A uniformly random member with the given classes: the stage count, then
 * every field independently and uniformly from its list (the stem present
 * or not half/half when optional; a dwsep stage's expand is set to 1, which
 * is how arch_hash sees it anyway). A draw that fails arch_validate (too
 * many channels after expansion, spatial size collapsing) is thrown away and
 * drawn again, at most SPACE_SAMPLE_ATTEMPTS times; so the distribution is
 * the uniform product conditioned on validity: fields that make invalid
 * draws likelier (many stride-2 stages at a small resolution, wide mbconv
 * with large expand) are slightly under-represented. The draw uses only rng,
 * so a seed reproduces it. CORE_ERR_INVALID for bad classes or when every
 * attempt failed (err says why); *out is written only on success. */
enum core_status space_sample(const struct space *s, struct core_rng *rng,
			      int classes, struct arch *out, char *err,
			      size_t errlen);

#endif
