/* SPDX-License-Identifier: Apache-2.0 */
/* codegen_internal.h - private to service/codegen: the project under
 * construction, template rendering and the emitters of the generated files
 * (emit_model.c: model.*, model_weights.*; emit_app.c: test data, report,
 * README, Makefile, linker include, arch.json). */
#ifndef LMNAS_CODEGEN_INTERNAL_H
#define LMNAS_CODEGEN_INTERNAL_H

#include "codegen.h"

/* Hard cap on one generated file (weights of a 2 MB-flash model printed as
 * text stay well below). */
#define CODEGEN_MAX_FILE_BYTES ((size_t)64 << 20)

/* One {{KEY}} of a template and its text. */
struct codegen_kv {
	const char *key;
	const char *value;
};

/* What the emitters share while a project is built. */
struct codegen_ctx {
	const struct quant_net *q;
	const struct codegen_options *o;
	struct codegen_project *p;
	const struct graph *g;
	const struct cost_plan *plan;
	int8_t *expected; /* (n_images, classes) host engine logits */
	char *err;
	size_t errlen;
};

/* Adds a file with a copy of data (len bytes). */
enum core_status codegen_add(struct codegen_ctx *c, const char *path,
			     const char *data, size_t len);
/* Adds a file that takes over b's data (b is left empty). */
enum core_status codegen_add_buf(struct codegen_ctx *c, const char *path,
				 struct core_buf *b);

/* The embedded template "templates/<name>", or NULL. */
const struct codegen_file *codegen_template(const char *name);

/* Appends text to out with every {{KEY}} replaced by its value from kv (n
 * entries). A placeholder without a value is CORE_ERR_INTERNAL naming it
 * (a template and its emitter disagree); "{{" not followed by an upper-case
 * key and "}}" is copied as is. */
enum core_status codegen_render(const char *text, const struct codegen_kv *kv,
				int n, struct core_buf *out, char *err,
				size_t errlen);

/* Renders template name into the project file path. */
enum core_status codegen_add_template(struct codegen_ctx *c, const char *name,
				      const char *path,
				      const struct codegen_kv *kv, int n);

/* A printf into a small static-size string (for kv values). */
#define CODEGEN_VAL_LEN 96

/* emit_model.c: model.h, model.c, model_weights.h, model_weights.c. */
/* licence.c: an SPDX line on top of every source and Makefile that has
 * none, and LICENSE (the repository's Apache-2.0 text) beside them. */
enum core_status codegen_licence_apply(struct codegen_ctx *c);

enum core_status codegen_emit_model(struct codegen_ctx *c);
/* emit_app.c: test_data.*, report.json, README.md, Makefile,
 * arch.json, targets/stm32h743/arena_region.ld. */
enum core_status codegen_emit_app(struct codegen_ctx *c);

/* 1 when an op of this kind applies its activation table in its own
 * output stage (s8_conv_params.lut: kxk, 1x1 and depthwise convolutions,
 * on every route of their kernels) instead of a lut_s8 pass after it. */
static inline int codegen_lut_fused(enum graph_op_kind k)
{
	return k == GRAPH_OP_CONV2D || k == GRAPH_OP_CONV1X1 ||
	       k == GRAPH_OP_DEPTHWISE;
}

/* 1 when the network uses a kernel family ("conv2d_s8.c", ...). */
int codegen_uses_kernel(const struct graph *g, const struct quant_net *q,
			const char *file);

/* core_buf_printf into b unless rc already holds an error (the buffer frees
 * itself when it fails, so later appends fail too and rc keeps the first
 * status): emitters check rc once at the end. */
#define CODEGEN_PRINTF(b, rc, ...)                                             \
	do {                                                                   \
		if (!(rc))                                                     \
			(rc) = core_buf_printf((b), __VA_ARGS__);              \
	} while (0)

#endif
