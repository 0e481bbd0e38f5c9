/* SPDX-License-Identifier: Apache-2.0 */
/* arch.h - the `lmnas-arch/1` architecture format: parsing from JSON with
 * field-path validation, the canonical JSON form, and the stable hash used to
 * deduplicate candidates.
 *
 * Layer: arch sits right above core; space, cost, nn (model builder), quant,
 * codegen and everything above read struct arch. Includes only core and
 * Jansson.
 *
 * Semantics (the seed paper's reference design; tools/arch_torch.py is the
 * PyTorch twin):
 *   - a stage is `layers` blocks; the first has stride `stride` and maps the
 *     previous width to `out`, the others stride 1, out -> out;
 *   - mbconv: 1x1 (C_in -> C_in*expand, no bias) BN act, kxk dw (stride s,
 *     pad k/2, no bias) BN act, [SE], 1x1 (-> out, no bias) BN;
 *   - dwsep: kxk dw on C_in BN act, [SE], 1x1 (-> out) BN; expand ignored;
 *   - SE(r) on C: GAP, 1x1 C -> max(1, floor(C*r)) +bias, ReLU, 1x1 back to C
 *     +bias, sigmoid, channel multiply; se == 0: none;
 *   - skip residual: add the block input when the block's stride is 1; when
 *     widths differ the input goes through 1x1 conv (no bias) + BN first;
 *   - stem (optional): kxk conv (channels -> out, stride s, pad k/2, no bias)
 *     BN act;
 *   - head: GAP, dropout, linear (-> classes, with bias). BN eps 1e-5.
 *
 * Spatial size: every kxk layer pads k/2, so a stride-s layer maps H to
 * floor((H - 1) / s) + 1 (never 0). The size "collapses" when a stride-2 layer
 * (stem or a stage's first block) receives a 1x1 map: it has nothing left to
 * downsample, so the design's reduction is not what it says. arch_validate
 * rejects that and names the stem or stage that does it.
 *
 * The JSON form (`lmnas-arch/1`), with what is required and what defaults:
 *
 *   {"format": "lmnas-arch/1",            required, exactly this string
 *    "name": "label",                     default "", < 128 bytes, no control
 *                                         characters; not part of the hash
 *    "input": {"resolution": 160,         required, 8..512
 *              "channels": 3},            default 3, 1..16
 *    "stem": null,                        default null (no stem), or
 *            {"out": 16,                  required, 1..2048
 *             "kernel": 3,                default 3, odd 1..11
 *             "stride": 2,                default 2, 1 or 2
 *             "act": "relu6"},            default "relu6"
 *    "stages": [                          required, 1..12 entries
 *      {"block": "mbconv",                required, "dwsep" | "mbconv"
 *       "out": 48,                        required, 1..2048
 *       "layers": 2,                      required, 1..16
 *       "kernel": 5,                      required, odd 1..11
 *       "stride": 2,                      default 1, 1 or 2
 *       "expand": 3,                      required for mbconv, 1..8;
 *                                         default 1 for dwsep (ignored there)
 *       "se": 0.25,                       default 0, a number in [0, 1]
 *       "skip": "residual",               default "none", "none" | "residual"
 *       "act": "leakyrelu"}],             default "relu6"; relu, relu6,
 *                                         leakyrelu, swish, hswish
 *    "head": {"dropout": 0.05,            default 0, a number in [0, 1)
 *             "classes": 100}}            required, 2..10000
 *
 * Integers must be JSON integers (16, not 16.0 or "16"); se and dropout take
 * any JSON number and are rounded to 6 decimal places (arch_real_canonical),
 * so 0.25, 0.250 and 2.5e-1 are the same value. Unknown keys are errors.
 * Cross-field limits: no tensor has more than 2048 channels after expansion
 * (an mbconv stage expands C_in * expand in its first block and out * expand
 * in the others) and the spatial size never collapses (above); they are
 * checked only when every field is valid on its own, so they never report
 * the consequence of another error.
 *
 * Field paths in errors: "stages[2].kernel", "input.resolution", "stem.out",
 * "head.classes", "name"; "$" names the document itself (size, nesting,
 * syntax, duplicate keys, a root that is not an object).
 */
#ifndef LMNAS_ARCH_H
#define LMNAS_ARCH_H

#include "core/core.h"

#include <jansson.h>

#define ARCH_FORMAT "lmnas-arch/1"

/* Limits that keep one request from exhausting the machine. */
#define ARCH_MAX_STAGES		12
#define ARCH_MAX_LAYERS		16 /* per stage */
#define ARCH_MAX_CHANNELS	2048 /* any tensor's channel count, after expand */
#define ARCH_MAX_KERNEL		11 /* odd, 1..11 */
#define ARCH_MIN_RESOLUTION	8
#define ARCH_MAX_RESOLUTION	512
#define ARCH_MAX_INPUT_CHANNELS 16
#define ARCH_MAX_EXPAND		8
#define ARCH_MAX_CLASSES	10000
#define ARCH_MAX_NAME		128
#define ARCH_MAX_JSON_BYTES	(64 * 1024)
#define ARCH_MAX_JSON_DEPTH	8 /* nesting of [ and {; the format needs 3 */
#define ARCH_MIN_CLASSES	2
#define ARCH_REAL_SCALE		1e6 /* se and dropout keep 6 decimal places */

enum arch_block { ARCH_BLOCK_DWSEP = 0, ARCH_BLOCK_MBCONV };
enum arch_skip { ARCH_SKIP_NONE = 0, ARCH_SKIP_RESIDUAL };
enum arch_act {
	ARCH_ACT_RELU = 0,
	ARCH_ACT_RELU6,
	ARCH_ACT_LEAKYRELU, /* negative slope 0.01 */
	ARCH_ACT_SWISH,	    /* x * sigmoid(x) */
	ARCH_ACT_HSWISH	    /* x * relu6(x + 3) / 6 */
};
#define ARCH_ACT_COUNT 5

struct arch_stage {
	enum arch_block block;
	int out;    /* output channels */
	int layers; /* blocks in the stage, >= 1 */
	int kernel; /* odd depthwise kernel size */
	int stride; /* 1 or 2, first block only */
	int expand; /* mbconv expansion ratio; ignored (kept) for dwsep */
	double se;  /* SE ratio, 0 = none, else in (0, 1] */
	enum arch_skip skip;
	enum arch_act act;
};

struct arch_stem {
	int present; /* 0 when "stem" is null or absent */
	int out, kernel, stride;
	enum arch_act act;
};

struct arch {
	char name[ARCH_MAX_NAME]; /* "" when absent; not part of the hash */
	int resolution;		  /* square input, pixels */
	int channels;		  /* input channels */
	struct arch_stem stem;
	int nstages;
	struct arch_stage stages[ARCH_MAX_STAGES];
	double dropout; /* head dropout, [0, 1) */
	int classes;
};

/* Stable names used in JSON ("dwsep", "relu6", ...). */
const char *arch_block_name(enum arch_block b);
const char *arch_skip_name(enum arch_skip s);
const char *arch_act_name(enum arch_act a);
/* Name -> value; CORE_ERR_INVALID for an unknown name. */
enum core_status arch_act_parse(const char *s, enum arch_act *out);

/* Parses and validates an architecture. Every problem found goes into fe with
 * its field path; returns CORE_ERR_INVALID when fe is not empty. Unknown keys
 * are errors (a typo must not silently become a default). fe is cleared
 * first; *out is written only on success. */
enum core_status arch_from_json(const json_t *j, struct arch *out,
				struct core_field_errors *fe);
/* The same from text (at most ARCH_MAX_JSON_BYTES; depth-limited; see
 * arch_json_load). CORE_ERR_NOMEM when Jansson runs out of memory. */
enum core_status arch_parse(const char *text, size_t len, struct arch *out,
			    struct core_field_errors *fe);

/* Semantic validation of a struct arch built in code (the parser calls it).
 * fe is cleared first; every problem goes into it (same paths as the
 * parser). Enum values outside their enum are errors too. */
enum core_status arch_validate(const struct arch *a,
			       struct core_field_errors *fe);

/* The canonical JSON object (every field present, fixed key order, defaults
 * filled in). New reference, owned by the caller (json_decref). NULL on
 * out-of-memory. Key order: format, name, input{resolution, channels},
 * stem (null or {out, kernel, stride, act}), stages[{block, out, layers,
 * kernel, stride, expand, se, skip, act}], head{dropout, classes}; se and
 * dropout always reals (canonical, see arch_real_canonical); a stage's
 * expand is written as stored, also for dwsep. */
json_t *arch_to_json(const struct arch *a);

/* SHA-256 of the compact canonical form without "name": the same network
 * gives the same hash whatever the key order, formatting, number spelling or
 * defaulted fields. Before hashing, fields the network does not depend on
 * are normalised so that equal networks hash equal: a dwsep stage's expand
 * counts as 1 (dwsep ignores it), and skip "residual" counts as "none" on a
 * stage of one layer with stride 2 (no block of it adds its input).
 * CORE_ERR_INVALID when a fails arch_validate (hex is then ""), CORE_ERR_NOMEM
 * on allocation failure. */
enum core_status arch_hash(const struct arch *a, char hex[65]);

/* Width entering stage i (after the stem, or input channels), for
 * 0 <= i <= nstages (i == nstages gives the width entering the head). */
int arch_stage_in_channels(const struct arch *a, int i);

/* ---- additions beyond the first draft of this header ------------------ */

/* Name -> value for blocks and skips; CORE_ERR_INVALID for an unknown name. */
enum core_status arch_block_parse(const char *s, enum arch_block *out);
enum core_status arch_skip_parse(const char *s, enum arch_skip *out);

/* The canonical value of se or dropout: rounded to 6 decimal places, -0 made
 * 0. Printed with 15 significant digits (ARCH_JSON_REAL_PRECISION) such a
 * value comes out as its shortest decimal ("0.25", "0.05") and reads back as
 * the same double. NaN stays NaN. */
double arch_real_canonical(double x);
#define ARCH_JSON_REAL_PRECISION 15

/* Spatial sizes: sizes[0] is the size entering stage 0 (after the stem, if
 * any), sizes[1 + i] the size leaving stage i. Returns the index of
 * the first stage that strides a 1x1 map (-1 for the stem), or
 * ARCH_NO_COLLAPSE. sizes has room for ARCH_MAX_STAGES + 1 entries; a must
 * have valid resolution, strides and nstages. */
#define ARCH_NO_COLLAPSE (-2)
int arch_spatial_sizes(const struct arch *a, int sizes[ARCH_MAX_STAGES + 1]);

/* Serialises j into a new NUL-terminated string owned by the caller
 * (core_free): compact (`{"a":1,"b":[2]}`) or pretty (2-space indent), key
 * order kept, reals with ARCH_JSON_REAL_PRECISION digits, at most
 * ARCH_MAX_JSON_BYTES * 4 bytes. CORE_ERR_NOMEM on allocation failure or cap;
 * *out is NULL then. len may be NULL. */
enum core_status arch_json_dump(const json_t *j, int pretty, char **out,
				size_t *len);
/* The canonical JSON text of a (see arch_to_json), same ownership. */
enum core_status arch_to_text(const struct arch *a, int pretty, char **out,
			      size_t *len);

/* Loads outside JSON text defensively, for every lmnas-* format: at most
 * max_bytes, nesting at most ARCH_MAX_JSON_DEPTH, duplicate keys rejected, no
 * NUL in strings, nothing after the value, and the root must be an object.
 * Problems go into fe under the path "$" (with line and column) and give
 * CORE_ERR_INVALID; Jansson running out of memory gives CORE_ERR_NOMEM
 * (except where Jansson's lexer itself turns a failed allocation into an
 * invalid token: that one surfaces as a syntax error at "$"). On
 * success *out is a new reference owned by the caller, else NULL. fe is not
 * cleared. */
enum core_status arch_json_load(const char *text, size_t len, size_t max_bytes,
				json_t **out, struct core_field_errors *fe);

/* Helpers shared with the other lmnas JSON formats (space):
 *   arch_json_kind: "object", "array", "string", "integer", "real",
 *     "boolean" or "null" (for "expected an integer, got string");
 *   arch_json_printable: copies at most 40 bytes of s into out (outlen >= 48)
 *     with every byte outside printable ASCII replaced by '?' and "..." when
 *     cut, so error text quoting outside data stays one line of valid UTF-8;
 *   arch_json_check_keys: reports "<path>.<key>: unknown field" (or "<key>"
 *     when path is "") for every key of obj not in the NULL-terminated list
 *     allowed; returns how many it found. */
const char *arch_json_kind(const json_t *v);
void arch_json_printable(const char *s, char *out, size_t outlen);
int arch_json_check_keys(const json_t *obj, const char *path,
			 const char *const *allowed,
			 struct core_field_errors *fe);

/* Field readers (arch_fields.c) for the parsers of JSON documents with
 * field-path errors (the architecture, the search job spec). A reader is
 * the path prefix of the object being read ("" at the root, "stages[2]",
 * "budget.proxy") and where its errors go. Each reader reports what is
 * wrong under "<prefix>.<key>" and leaves *out alone unless it read a
 * value:
 *   arch_reader_member: the member, or NULL ("required" when required);
 *   arch_reader_type_error: "expected <expected>, got <kind of v>";
 *   arch_reader_int: a JSON integer within lo..hi ("N is outside lo..hi");
 *   arch_reader_enum: a string equal to one of names[0..count-1], *out its
 *     index ("'x' is not one of a, b, c");
 *   arch_reader_object: an object, its keys checked against the
 *     NULL-terminated list keys (not checked when keys is NULL).
 * The int and enum readers return 1 when they set *out. */
struct arch_reader {
	struct core_field_errors *fe;
	const char *prefix;
};

void arch_reader_path(const struct arch_reader *r, const char *key, char *p,
		      size_t n);
const json_t *arch_reader_member(const struct arch_reader *r, const json_t *obj,
				 const char *key, int required);
void arch_reader_type_error(const struct arch_reader *r, const char *key,
			    const char *expected, const json_t *v);
int arch_reader_int(const struct arch_reader *r, const json_t *obj,
		    const char *key, int required, long long lo, long long hi,
		    long long *out);
int arch_reader_enum(const struct arch_reader *r, const json_t *obj,
		     const char *key, int required, const char *const *names,
		     int count, int *out);
const json_t *arch_reader_object(const struct arch_reader *r, const json_t *obj,
				 const char *key, int required,
				 const char *const *keys);

#endif
