/* SPDX-License-Identifier: Apache-2.0 */
/* codegen.c - MCU projects: targets, the file list of a project, template
 * rendering, kernel selection, writing a directory or a zip archive, and
 * codegen_project_build that ties the emitters together; owns struct
 * codegen_project. */
#include "codegen_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

/* ---- targets ------------------------------------------------------------ */

static const char *const target_names[CODEGEN_TARGET_COUNT] = {"stm32h743",
							       "qemu"};

/* STM32H743: 2 MB flash; the arena goes to DTCM (128 KB, minus the 16 KB
 * stack and room for .data/.bss) when it fits, else to the 512 KB AXI SRAM.
 * QEMU mps2-an500: 4 MB each of code and data memory. */
static const struct codegen_target_info target_infos[CODEGEN_TARGET_COUNT] = {
    {"Nucleo-H743ZI2 (STM32H743ZI, Cortex-M7 at 480 MHz)", 2u << 20,
     (128u + 512u) << 10, 104u << 10, 512u << 10, COST_TARGET_STM32H743},
    {"QEMU mps2-an500 (Cortex-M7)", 4u << 20, 4u << 20, 0,
     (4u << 20) - (64u << 10), COST_TARGET_QEMU},
};

const char *codegen_target_name(enum codegen_target t)
{
	return (unsigned)t < CODEGEN_TARGET_COUNT ? target_names[t] : "?";
}

enum core_status codegen_target_parse(const char *s, enum codegen_target *t)
{
	for (int i = 0; i < CODEGEN_TARGET_COUNT; i++)
		if (s && strcmp(s, target_names[i]) == 0) {
			*t = (enum codegen_target)i;
			return CORE_OK;
		}
	return CORE_ERR_INVALID;
}

const struct codegen_target_info *codegen_target_info(enum codegen_target t)
{
	return (unsigned)t < CODEGEN_TARGET_COUNT ? &target_infos[t] : NULL;
}

/* ---- the file list ------------------------------------------------------ */

void codegen_project_free(struct codegen_project *p)
{
	for (int i = 0; i < p->nfiles; i++)
		core_free(p->files[i].data);
	core_free(p->files);
	cost_report_free(&p->cost);
	memset(p, 0, sizeof *p);
}

const struct codegen_out *codegen_project_find(const struct codegen_project *p,
					       const char *path)
{
	for (int i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i].path, path) == 0)
			return &p->files[i];
	return NULL;
}

static enum core_status add_owned(struct codegen_ctx *c, const char *path,
				  char *data, size_t len)
{
	struct codegen_project *p = c->p;
	struct codegen_out *f;

	if (strlen(path) >= sizeof p->files[0].path) {
		core_free(data);
		core_errf(c->err, c->errlen, "codegen: path %s too long", path);
		return CORE_ERR_INTERNAL;
	}
	f = core_realloc(p->files, (size_t)(p->nfiles + 1) * sizeof *f);
	if (!f) {
		core_free(data);
		core_errf(c->err, c->errlen, "codegen: out of memory");
		return CORE_ERR_NOMEM;
	}
	p->files = f;
	f = &p->files[p->nfiles++];
	snprintf(f->path, sizeof f->path, "%s", path);
	f->data = data;
	f->len = len;
	return CORE_OK;
}

enum core_status codegen_add(struct codegen_ctx *c, const char *path,
			     const char *data, size_t len)
{
	char *copy = core_malloc(len + 1);

	if (!copy) {
		core_errf(c->err, c->errlen, "codegen: out of memory for %s",
			  path);
		return CORE_ERR_NOMEM;
	}
	memcpy(copy, data, len);
	copy[len] = '\0';
	return add_owned(c, path, copy, len);
}

enum core_status codegen_add_buf(struct codegen_ctx *c, const char *path,
				 struct core_buf *b)
{
	size_t len = 0;
	char *data = core_buf_steal(b, &len);

	if (!data) { /* an empty file: still a file */
		data = core_malloc(1);
		if (!data) {
			core_errf(c->err, c->errlen, "codegen: out of memory");
			return CORE_ERR_NOMEM;
		}
		data[0] = '\0';
	}
	return add_owned(c, path, data, len);
}

/* ---- templates ---------------------------------------------------------- */

const struct codegen_file *codegen_template(const char *name)
{
	char path[128];

	snprintf(path, sizeof path, "templates/%s", name);
	for (const struct codegen_file *f = codegen_template_files; f->path;
	     f++)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* Length of a placeholder key at s: an upper-case letter, then upper-case
 * letters, digits and '_' (so C's "{{0}}" is not a placeholder). */
static size_t key_length(const char *s)
{
	size_t n = 0;

	if (!(s[0] >= 'A' && s[0] <= 'Z'))
		return 0;
	while ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
	       s[n] == '_')
		n++;
	return n;
}

enum core_status codegen_render(const char *text, const struct codegen_kv *kv,
				int n, struct core_buf *out, char *err,
				size_t errlen)
{
	const char *p = text;
	enum core_status rc = CORE_OK;

	while (!rc && *p) {
		const char *open = strstr(p, "{{");
		size_t klen;
		int found = -1;

		if (!open) {
			rc = core_buf_append(out, p, strlen(p));
			break;
		}
		rc = core_buf_append(out, p, (size_t)(open - p));
		if (rc)
			break;
		klen = key_length(open + 2);
		if (!klen || strncmp(open + 2 + klen, "}}", 2) != 0) {
			rc = core_buf_append(out, "{{", 2);
			p = open + 2;
			continue;
		}
		for (int i = 0; i < n && found < 0; i++)
			if (strlen(kv[i].key) == klen &&
			    strncmp(kv[i].key, open + 2, klen) == 0)
				found = i;
		if (found < 0) {
			core_errf(err, errlen,
				  "template placeholder {{%.*s}} has no value",
				  (int)klen, open + 2);
			return CORE_ERR_INTERNAL;
		}
		rc = core_buf_append(out, kv[found].value,
				     strlen(kv[found].value));
		p = open + 2 + klen + 2;
	}
	if (rc)
		core_errf(err, errlen, "template: out of memory");
	return rc;
}

enum core_status codegen_add_template(struct codegen_ctx *c, const char *name,
				      const char *path,
				      const struct codegen_kv *kv, int n)
{
	const struct codegen_file *t = codegen_template(name);
	struct core_buf b;
	enum core_status rc;

	if (!t) {
		core_errf(c->err, c->errlen, "codegen: no template %s", name);
		return CORE_ERR_INTERNAL;
	}
	core_buf_init(&b, CODEGEN_MAX_FILE_BYTES);
	rc = codegen_render(t->text, kv, n, &b, c->err, c->errlen);
	if (!rc)
		rc = codegen_add_buf(c, path, &b);
	core_buf_free(&b);
	return rc;
}

/* ---- kernels ------------------------------------------------------------ */

int codegen_uses_kernel(const struct graph *g, const struct quant_net *q,
			const char *file)
{
	for (int i = 0; i < g->nops; i++) {
		const enum graph_op_kind k = g->ops[i].kind;
		const char *f = NULL;

		if (q->layers[i].lut && !codegen_lut_fused(k) &&
		    strcmp(file, "lut_s8.c") == 0)
			return 1;
		switch (k) {
		case GRAPH_OP_CONV2D: f = "conv2d_s8.c"; break;
		case GRAPH_OP_CONV1X1: f = "pointwise_conv2d_s8.c"; break;
		case GRAPH_OP_DEPTHWISE: f = "depthwise_conv2d_s8.c"; break;
		case GRAPH_OP_GAP: f = "avgpool_s8.c"; break;
		case GRAPH_OP_MUL: f = "mul_channel_s8.c"; break;
		case GRAPH_OP_ADD: f = "add_s8.c"; break;
		case GRAPH_OP_LINEAR: f = "fully_connected_s8.c"; break;
		}
		if (strcmp(file, f) == 0)
			return 1;
		/* the int16 matrix core serves the dense kernel, the packed
		 * one (pointwise_conv2d_s8.c) the 1x1 and kxk kernels */
		if (strcmp(file, "mat_mult_s8_s16.c") == 0 &&
		    k == GRAPH_OP_LINEAR)
			return 1;
		if (strcmp(file, "pointwise_conv2d_s8.c") == 0 &&
		    k == GRAPH_OP_CONV2D)
			return 1;
		/* the in-place depthwise kernel's band route */
		if (strcmp(file, "depthwise_band_s8.c") == 0 &&
		    k == GRAPH_OP_DEPTHWISE)
			return 1;
	}
	return 0;
}

/* The kernel files the network needs (headers always), verbatim. */
static enum core_status add_kernels(struct codegen_ctx *c)
{
	enum core_status rc = CORE_OK;

	for (const struct codegen_file *f = codegen_kernel_files;
	     f->path && !rc; f++) {
		const char *base = f->path + strlen("kernels/");
		const size_t n = strlen(base);

		if (n > 2 && strcmp(base + n - 2, ".c") == 0 &&
		    !codegen_uses_kernel(c->g, c->q, base))
			continue;
		rc = codegen_add(c, f->path, f->text, f->len);
	}
	return rc;
}

/* Target files verbatim under targets/<t>/, for every target, plus each
 * board's board.c from templates/board_<t>.c. */
static enum core_status add_targets(struct codegen_ctx *c)
{
	enum core_status rc = CORE_OK;
	char path[128], name[64];

	for (const struct codegen_file *f = codegen_target_files;
	     f->path && !rc; f++)
		rc = codegen_add(c, f->path, f->text, f->len);
	for (int t = 0; t < CODEGEN_TARGET_COUNT && !rc; t++) {
		const struct codegen_file *b;

		snprintf(name, sizeof name, "board_%s.c", target_names[t]);
		snprintf(path, sizeof path, "targets/%s/board.c",
			 target_names[t]);
		b = codegen_template(name);
		if (!b) {
			core_errf(c->err, c->errlen, "codegen: no template %s",
				  name);
			return CORE_ERR_INTERNAL;
		}
		rc = codegen_add(c, path, b->text, b->len);
	}
	return rc;
}

/* Templates copied as they are (no placeholders). */
static enum core_status add_fixed(struct codegen_ctx *c)
{
	static const char *const fixed[] = {"main.c", "console.c", "console.h",
					    "board.h"};
	enum core_status rc = CORE_OK;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && !rc; i++)
		rc = codegen_add_template(c, fixed[i], fixed[i], NULL, 0);
	return rc;
}

/* ---- build ----------------------------------------------------------------
 */

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-' || (s[i] == '.' && i > 0)))
			return 0;
	return 1;
}

static enum core_status check_options(const struct quant_net *q,
				      const struct codegen_options *o,
				      char *name, char *err, size_t errlen)
{
	if (!codegen_target_info(o->target)) {
		core_errf(err, errlen, "codegen: unknown target %d",
			  (int)o->target);
		return CORE_ERR_INVALID;
	}
	if (o->n_images < 1 || o->n_images > CODEGEN_MAX_IMAGES || !o->images) {
		core_errf(err, errlen,
			  "codegen: need 1..%d test images (got %d)",
			  CODEGEN_MAX_IMAGES, o->n_images);
		return CORE_ERR_INVALID;
	}
	if (o->name && *o->name && strlen(o->name) > 63) {
		core_errf(err, errlen, "codegen: project name longer than 63");
		return CORE_ERR_INVALID;
	}
	if (o->name && *o->name)
		snprintf(name, 64, "%.63s", o->name);
	else if (name_ok(q->arch.name))
		snprintf(name, 64, "%.63s", q->arch.name);
	else
		snprintf(name, 64, "lmnas_model");
	if (!name_ok(name)) {
		core_errf(err, errlen,
			  "codegen: project name '%.64s' must be 1..63 of "
			  "A-Z a-z 0-9 _ - .",
			  name);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

/* The host engine's logits for the test images. */
static enum core_status expected_logits(struct codegen_ctx *c)
{
	const struct graph *g = c->g;
	const size_t in = g->tensors[g->input].bytes;
	const size_t classes = g->tensors[g->output].bytes;
	void *work = core_malloc(quant_net_work_bytes(c->q));
	enum core_status rc = CORE_OK;

	c->expected = core_malloc((size_t)c->o->n_images * classes);
	if (!work || !c->expected) {
		core_free(work);
		core_errf(c->err, c->errlen, "codegen: out of memory");
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < c->o->n_images && !rc; i++)
		rc = quant_net_run(c->q, c->o->images + (size_t)i * in,
				   c->expected + (size_t)i * classes, work,
				   c->err, c->errlen);
	core_free(work);
	return rc;
}

/* Arena placement and flash on the target. */
static enum core_status check_fit(struct codegen_ctx *c)
{
	const struct codegen_target_info *ti =
	    codegen_target_info(c->o->target);
	struct codegen_project *p = c->p;

	p->arena_bytes = p->cost.plan.arena_bytes;
	if (p->arena_bytes > ti->max_arena) {
		core_errf(c->err, c->errlen,
			  "the arena needs %zu B, more than the %zu B the %s "
			  "can give it",
			  p->arena_bytes, ti->max_arena, ti->board);
		return CORE_ERR_INVALID;
	}
	if (c->o->target == CODEGEN_TARGET_STM32H743)
		p->arena_region =
		    p->arena_bytes <= ti->fast_arena ? "DTCM" : "AXI SRAM";
	else
		p->arena_region = "RAM";
	cost_report_set_target(&p->cost, ti->cost);
	p->flash_estimate = p->cost.flash.total;
	if (p->flash_estimate > ti->flash) {
		core_errf(c->err, c->errlen,
			  "the network needs about %llu B of flash, more than "
			  "the %llu B of the %s",
			  (unsigned long long)p->flash_estimate,
			  (unsigned long long)ti->flash, ti->board);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

enum core_status codegen_project_build(const struct quant_net *q,
				       const struct codegen_options *o,
				       struct codegen_project *p, char *err,
				       size_t errlen)
{
	struct codegen_ctx c;
	enum core_status rc;

	memset(p, 0, sizeof *p);
	c = (struct codegen_ctx){q, o, p, &q->graph, NULL, NULL, err, errlen};
	rc = check_options(q, o, p->name, err, errlen);
	if (rc)
		return rc;
	p->target = o->target;
	rc = cost_report_build(&q->arch, &p->cost, err, errlen);
	if (rc)
		goto out;
	if (p->cost.graph.nops != q->graph.nops ||
	    p->cost.graph.ntensors != q->graph.ntensors) {
		core_errf(err, errlen,
			  "codegen: the cost graph and the quantized graph "
			  "differ");
		rc = CORE_ERR_INTERNAL;
		goto out;
	}
	c.plan = &p->cost.plan;
	rc = check_fit(&c);
	if (!rc)
		rc = expected_logits(&c);
	if (!rc)
		rc = codegen_emit_model(&c);
	if (!rc)
		rc = codegen_emit_app(&c);
	if (!rc)
		rc = add_kernels(&c);
	if (!rc)
		rc = add_targets(&c);
	if (!rc)
		rc = add_fixed(&c);
	if (!rc)
		rc = codegen_licence_apply(&c);
out:
	core_free(c.expected);
	if (rc)
		codegen_project_free(p);
	return rc;
}

/* ---- output ------------------------------------------------------------- */

/* mkdir -p of the directories above path (path itself is a file). */
static enum core_status make_parents(char *path, char *err, size_t errlen)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			core_errf(err, errlen, "%s: %s", path, strerror(errno));
			*s = '/';
			return CORE_ERR_IO;
		}
		*s = '/';
	}
	return CORE_OK;
}

enum core_status codegen_project_write_dir(const struct codegen_project *p,
					   const char *dir, char *err,
					   size_t errlen)
{
	char path[4096];
	enum core_status rc = CORE_OK;

	for (int i = 0; i < p->nfiles && !rc; i++) {
		if (snprintf(path, sizeof path, "%s/%s", dir,
			     p->files[i].path) >= (int)sizeof path) {
			core_errf(err, errlen, "%s: path too long", dir);
			return CORE_ERR_INVALID;
		}
		rc = make_parents(path, err, errlen);
		if (!rc)
			rc = core_file_write_atomic(path, p->files[i].data,
						    p->files[i].len, err,
						    errlen);
	}
	return rc;
}

enum core_status codegen_project_write_zip(const struct codegen_project *p,
					   const char *path, char *err,
					   size_t errlen)
{
	char tmp[4096], name[192];
	zip_t *z;
	int zerr = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof tmp) {
		core_errf(err, errlen, "%s: path too long", path);
		return CORE_ERR_INVALID;
	}
	z = zip_open(tmp, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	if (!z) {
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		core_errf(err, errlen, "%s: %s", path, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return CORE_ERR_IO;
	}
	for (int i = 0; i < p->nfiles; i++) {
		/* libzip reads the data at zip_close: the project outlives
		 * that, so no copy is needed */
		zip_source_t *s =
		    zip_source_buffer(z, p->files[i].data, p->files[i].len, 0);

		snprintf(name, sizeof name, "%s/%s", p->name, p->files[i].path);
		if (!s || zip_file_add(z, name, s, ZIP_FL_ENC_UTF_8) < 0) {
			core_errf(err, errlen, "%s: %s", path, zip_strerror(z));
			zip_source_free(s);
			zip_discard(z);
			unlink(tmp);
			return CORE_ERR_IO;
		}
	}
	if (zip_close(z) != 0) {
		core_errf(err, errlen, "%s: %s", path, zip_strerror(z));
		zip_discard(z);
		unlink(tmp);
		return CORE_ERR_IO;
	}
	if (rename(tmp, path) != 0) {
		core_errf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return CORE_ERR_IO;
	}
	return CORE_OK;
}
