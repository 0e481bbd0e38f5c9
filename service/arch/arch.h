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
 */
#ifndef LMNAS_ARCH_H
#define LMNAS_ARCH_H

#include "core/core.h"

#include <jansson.h>

#define ARCH_FORMAT "lmnas-arch/1"

/* Limits that keep one request from exhausting the machine. */
#define ARCH_MAX_STAGES 12
#define ARCH_MAX_LAYERS 16     /* per stage */
#define ARCH_MAX_CHANNELS 2048 /* any tensor's channel count, after expand */
#define ARCH_MAX_KERNEL 11     /* odd, 1..11 */
#define ARCH_MIN_RESOLUTION 8
#define ARCH_MAX_RESOLUTION 512
#define ARCH_MAX_INPUT_CHANNELS 16
#define ARCH_MAX_EXPAND 8
#define ARCH_MAX_CLASSES 10000
#define ARCH_MAX_NAME 128
#define ARCH_MAX_JSON_BYTES (64 * 1024)

enum arch_block { ARCH_BLOCK_DWSEP = 0, ARCH_BLOCK_MBCONV };
enum arch_skip { ARCH_SKIP_NONE = 0, ARCH_SKIP_RESIDUAL };
enum arch_act {
	ARCH_ACT_RELU = 0,
	ARCH_ACT_RELU6,
	ARCH_ACT_LEAKYRELU, /* negative slope 0.01 */
	ARCH_ACT_SWISH,     /* x * sigmoid(x) */
	ARCH_ACT_HSWISH     /* x * relu6(x + 3) / 6 */
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
	int resolution;           /* square input, pixels */
	int channels;             /* input channels */
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
 * are errors (a typo must not silently become a default). */
enum core_status arch_from_json(const json_t *j, struct arch *out,
				struct core_field_errors *fe);
/* The same from text (at most ARCH_MAX_JSON_BYTES; depth-limited). */
enum core_status arch_parse(const char *text, size_t len, struct arch *out,
			    struct core_field_errors *fe);

/* Semantic validation of a struct arch built in code (the parser calls it). */
enum core_status arch_validate(const struct arch *a,
			       struct core_field_errors *fe);

/* The canonical JSON object (every field present, fixed key order, defaults
 * filled in). New reference, owned by the caller (json_decref). NULL on
 * out-of-memory. */
json_t *arch_to_json(const struct arch *a);

/* SHA-256 of the canonical form without "name": the same network gives the
 * same hash whatever the key order, formatting or defaulted fields. */
enum core_status arch_hash(const struct arch *a, char hex[65]);

/* Width entering stage i (after the stem, or input channels). */
int arch_stage_in_channels(const struct arch *a, int i);

#endif
