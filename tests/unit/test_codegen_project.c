/* SPDX-License-Identifier: Apache-2.0 */
/* test_codegen_project.c - generated MCU projects on the host: the file set
 * (only the kernels used), the arena of model.c is the memory planner's
 * (size and every tensor and scratch offset), in-place kernels where the
 * plan says, the generated sources compiled for the host give logits
 * bit-identical to the host int8 engine for architectures that together
 * cover every op and activation, the zip archive, templates, and the
 * refusals (bad options, an arena too large for the target, allocation
 * failures). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/exportproj.h"
#include "../support/exporttest.h"
#include "codegen/codegen_internal.h" /* template rendering */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

/* Host harness: runs model_run on every image of argv[1] into argv[2], and
 * the first image once more through model_input()/model_output(). */
static const char host_main[] =
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "#include \"model.h\"\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "\tstatic int8_t x[MODEL_INPUT_BYTES], y[MODEL_OUTPUT_BYTES];\n"
    "\tFILE *in = fopen(argv[1], \"rb\"), *out = fopen(argv[2], \"wb\");\n"
    "\tint n = 0;\n"
    "\tif (argc != 3 || !in || !out)\n\t\treturn 3;\n"
    "\twhile (fread(x, 1, sizeof x, in) == sizeof x) {\n"
    "\t\tif (model_run(x, y) != 0)\n\t\t\treturn 2;\n"
    "\t\tfwrite(y, 1, sizeof y, out);\n"
    "\t\tif (n++ == 0) {\n"
    "\t\t\tmemcpy(model_input(), x, sizeof x);\n"
    "\t\t\tif (model_run(NULL, NULL) != 0 ||\n"
    "\t\t\t    memcmp(model_output(), y, sizeof y) != 0)\n"
    "\t\t\t\treturn 4;\n"
    "\t\t}\n"
    "\t}\n"
    "\treturn fclose(out) != 0;\n"
    "}\n";

/* The value of "#define <name> (model_arena + N)" in text, or -1. */
static long arena_define(const char *text, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof key, "#define %s (model_arena + ", name);
	p = strstr(text, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void check_layout(const struct exportproj *e,
			 const struct codegen_project *p)
{
	const struct graph *g = &e->q.graph;
	const struct cost_plan *plan = &p->cost.plan;
	const struct codegen_out *mc = codegen_project_find(p, "model.c");
	const struct codegen_out *mh = codegen_project_find(p, "model.h");
	char key[64], line[128];

	assert_non_null(mc);
	assert_non_null(mh);
	/* one arena, the planner's size */
	assert_int_equal(p->arena_bytes, plan->arena_bytes);
	snprintf(line, sizeof line, "#define MODEL_ARENA_BYTES\t%zu\n",
		 plan->arena_bytes);
	assert_non_null(strstr(mh->data, line));
	assert_non_null(strstr(mc->data, "static int8_t model_arena"
					 "[MODEL_ARENA_BYTES]"));
	/* every tensor and scratch buffer at the planner's offset */
	for (int t = 0; t < g->ntensors; t++) {
		snprintf(key, sizeof key, "T%d", t);
		assert_int_equal(arena_define(mc->data, key),
				 (long)cost_plan_tensor_offset(plan, t));
	}
	for (int i = 0; i < g->nops; i++) {
		snprintf(key, sizeof key, "S%d", i);
		if (plan->op_scratch[i] < 0)
			assert_int_equal(arena_define(mc->data, key), -1);
		else
			assert_int_equal(
			    arena_define(mc->data, key),
			    (long)plan->buffers[plan->op_scratch[i]].offset);
	}
	/* depthwise in place exactly when the plan says */
	for (int i = 0; i < g->nops; i++) {
		const struct graph_op *op = &g->ops[i];

		if (op->kind != GRAPH_OP_DEPTHWISE)
			continue;
		snprintf(line, sizeof line,
			 "MODEL_CHECK(depthwise_conv2d_inplace_s8(T%d,",
			 op->out);
		if (op->inplace_input >= 0)
			assert_non_null(strstr(mc->data, line));
		else
			assert_null(strstr(mc->data, line));
	}
}

/* Only the kernels the graph uses; every fixed file is there. */
static void check_files(const struct exportproj *e,
			const struct codegen_project *p)
{
	static const char *const always[] = {
	    "Makefile",
	    "README.md",
	    "report.json",
	    "arch.json",
	    "model.h",
	    "model.c",
	    "model_weights.c",
	    "model_weights.h",
	    "main.c",
	    "console.c",
	    "console.h",
	    "board.h",
	    "test_data.c",
	    "test_data.h",
	    "kernels/kernels.h",
	    "kernels/requant.h",
	    "kernels/dsp.h",
	    "targets/qemu/startup.c",
	    "targets/qemu/board.c",
	    "targets/qemu/mps2_an500.ld",
	    "targets/stm32h743/board.c",
	    "targets/stm32h743/arena_region.ld",
	    "targets/stm32h743/stm32h743.ld",
	    "targets/stm32h743/system.c"};
	const struct graph *g = &e->q.graph;
	int has_stem = 0, has_add = 0, has_mul = 0;

	for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
		if (!codegen_project_find(p, always[i]))
			fail_msg("%s: no %s", e->arch.name, always[i]);
	for (int i = 0; i < g->nops; i++) {
		has_stem |= g->ops[i].kind == GRAPH_OP_CONV2D;
		has_add |= g->ops[i].kind == GRAPH_OP_ADD;
		has_mul |= g->ops[i].kind == GRAPH_OP_MUL;
	}
	assert_int_equal(!!codegen_project_find(p, "kernels/conv2d_s8.c"),
			 has_stem);
	assert_int_equal(!!codegen_project_find(p, "kernels/add_s8.c"),
			 has_add);
	assert_int_equal(!!codegen_project_find(p, "kernels/mul_channel_s8.c"),
			 has_mul);
	/* kernels verbatim under their SPDX line (added unless the source
	 * has one) */
	for (const struct codegen_file *f = codegen_kernel_files; f->path;
	     f++) {
		const struct codegen_out *o = codegen_project_find(p, f->path);
		const char *spdx =
		    "/* SPDX-License-Identifier: Apache-2.0 */\n";
		size_t k = strstr(f->text, "SPDX-License-Identifier:")
			       ? 0
			       : strlen(spdx);
		if (o) {
			assert_int_equal(o->len, f->len + k);
			assert_memory_equal(o->data, spdx, k);
			assert_memory_equal(o->data + k, f->text, f->len);
		}
	}
	/* no placeholder left unrendered */
	for (int i = 0; i < p->nfiles; i++)
		if (strstr(p->files[i].data, "{{"))
			fail_msg("%s: %s keeps a {{ placeholder", e->arch.name,
				 p->files[i].path);
}

/* Compiles the generated network for the host (UBSan on) and compares its
 * logits with the engine's, image by image. */
static void host_bit_exact(const struct exportproj *e,
			   const struct codegen_project *p)
{
	char dir[] = "/tmp/lmnas-cg-host-XXXXXX", cmd[2048], path[512],
	     err[CORE_ERR_LEN];
	static char log[1 << 16];
	char *got = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(codegen_project_write_dir(p, dir, err, sizeof err),
			 CORE_OK);
	snprintf(path, sizeof path, "%s/host_main.c", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(host_main, f);
	fclose(f);
	snprintf(path, sizeof path, "%s/images.bin", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(e->images, e->in_bytes, (size_t)e->n, f),
			 (size_t)e->n);
	fclose(f);
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && cc -std=c99 -O1 -Wall -Wextra -Werror "
		 "-fsanitize=undefined -fno-sanitize-recover=undefined -I. "
		 "-Ikernels model.c model_weights.c kernels/*.c host_main.c "
		 "-o host 2>&1 && ./host images.bin logits.bin 2>&1",
		 dir);
	if (exportproj_run(cmd, log, sizeof log) != 0)
		fail_msg("%s: host build or run failed:\n%s", e->arch.name,
			 log);
	snprintf(path, sizeof path, "%s/logits.bin", dir);
	assert_int_equal(
	    core_file_read(path, 1 << 20, &got, &len, err, sizeof err),
	    CORE_OK);
	assert_int_equal(len, (size_t)e->n * e->classes);
	for (int i = 0; i < e->n; i++)
		if (memcmp(got + (size_t)i * e->classes,
			   e->expected + (size_t)i * e->classes,
			   e->classes) != 0)
			fail_msg("%s: image %d: generated logits differ from "
				 "the host engine",
				 e->arch.name, i);
	print_message("# %s: %d images, generated code == host engine\n",
		      e->arch.name, e->n);
	core_free(got);
	exportproj_rmtree(dir);
}

static void projects_on_the_host(void **state)
{
	char err[CORE_ERR_LEN];

	for (int ai = 0; ai < EXPORTTEST_NARCH; ai++) {
		struct exportproj e;
		struct codegen_options o;
		struct codegen_project p;

		exportproj_make(&e, ai, 8);
		o = exportproj_options(&e, CODEGEN_TARGET_STM32H743);
		o.n_images = 2;
		if (codegen_project_build(&e.q, &o, &p, err, sizeof err))
			fail_msg("%s: %s", e.arch.name, err);
		assert_string_equal(p.name, e.arch.name);
		assert_string_equal(p.arena_region, "DTCM");
		check_files(&e, &p);
		check_layout(&e, &p);
		host_bit_exact(&e, &p);
		codegen_project_free(&p);
		exportproj_free(&e);
	}
}

/* Every generated source opens with its SPDX line; LICENSE is the
 * repository's Apache-2.0 text (the embedded copy is checked against the file
 * by test_codegen_files). */
static void licence_check(const char *path, const char *text)
{
	size_t n = strlen(path);
	const char *want = NULL;

	if (n > 2 && (strcmp(path + n - 2, ".c") == 0 ||
		      strcmp(path + n - 2, ".h") == 0))
		want = "/* SPDX-License-Identifier: Apache-2.0 */\n";
	else if (n > 3 && strcmp(path + n - 3, ".ld") == 0)
		want = "/* SPDX-License-Identifier: Apache-2.0 */\n";
	else if (strcmp(path, "Makefile") == 0)
		want = "# SPDX-License-Identifier: Apache-2.0\n";
	else if (strcmp(path, "LICENSE") == 0) {
		assert_non_null(strstr(text, "Apache License"));
		assert_non_null(strstr(text, "Version 2.0, January 2004"));
		assert_non_null(strstr(text, "TERMS AND CONDITIONS"));
		assert_string_equal(text, codegen_licence_files[0].text);
	}
	if (want && strncmp(text, want, strlen(want)) != 0)
		fail_msg("%s does not open with '%s'", path, want);
}

/* The zip holds every file under <name>/, byte for byte, with the licence. */
static void zip_archive(void **state)
{
	struct exportproj e;
	struct codegen_options o;
	struct codegen_project p;
	char dir[] = "/tmp/lmnas-cg-zip-XXXXXX", path[512], name[256],
	     err[CORE_ERR_LEN];
	zip_t *z;
	int zerr = 0;

	exportproj_make(&e, 1, 2);
	o = exportproj_options(&e, CODEGEN_TARGET_QEMU);
	o.name = "tiny-net_1";
	assert_int_equal(codegen_project_build(&e.q, &o, &p, err, sizeof err),
			 CORE_OK);
	assert_string_equal(p.arena_region, "RAM");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/model.zip", dir);
	assert_int_equal(codegen_project_write_zip(&p, path, err, sizeof err),
			 CORE_OK);
	z = zip_open(path, ZIP_RDONLY, &zerr);
	assert_non_null(z);
	assert_int_equal(zip_get_num_entries(z, 0), p.nfiles);
	for (int i = 0; i < p.nfiles; i++) {
		zip_stat_t st;
		zip_file_t *f;
		char *buf = core_malloc(p.files[i].len + 1);

		snprintf(name, sizeof name, "tiny-net_1/%s", p.files[i].path);
		assert_int_equal(zip_stat(z, name, 0, &st), 0);
		assert_int_equal(st.size, p.files[i].len);
		f = zip_fopen(z, name, 0);
		assert_non_null(f);
		assert_int_equal(zip_fread(f, buf, p.files[i].len),
				 (zip_int64_t)p.files[i].len);
		assert_memory_equal(buf, p.files[i].data, p.files[i].len);
		buf[p.files[i].len] = '\0';
		licence_check(p.files[i].path, buf);
		zip_fclose(f);
		core_free(buf);
	}
	/* the licence travels with the kernels */
	assert_int_equal(zip_stat(z, "tiny-net_1/LICENSE", 0, &(zip_stat_t){0}),
			 0);
	zip_close(z);
	/* an unwritable place fails cleanly */
	assert_int_equal(codegen_project_write_zip(&p, "/nonexistent-dir/x.zip",
						   err, sizeof err),
			 CORE_ERR_IO);
	assert_int_equal(
	    codegen_project_write_dir(&p, "/proc/lmnas-no", err, sizeof err),
	    CORE_ERR_IO);
	codegen_project_free(&p);
	exportproj_free(&e);
	exportproj_rmtree(dir);
}

static void templates_render(void **state)
{
	const struct codegen_kv kv[] = {{"A", "x"}, {"LONG_KEY2", "yy"}};
	struct core_buf b;
	char err[CORE_ERR_LEN];

	core_buf_init(&b, 1 << 10);
	assert_int_equal(codegen_render("{{A}}-{{LONG_KEY2}} {{ a }} {{a}} "
					"{x}} = {{0}};",
					kv, 2, &b, err, sizeof err),
			 CORE_OK);
	assert_string_equal(b.data, "x-yy {{ a }} {{a}} {x}} = {{0}};");
	core_buf_free(&b);
	core_buf_init(&b, 1 << 10);
	assert_int_equal(
	    codegen_render("a {{MISSING}} b", kv, 2, &b, err, sizeof err),
	    CORE_ERR_INTERNAL);
	assert_non_null(strstr(err, "MISSING"));
	core_buf_free(&b);
	/* every placeholder of the shipped templates is known to an emitter:
	 * the projects above rendered them all; the templates exist */
	assert_non_null(codegen_template("model.c"));
	assert_null(codegen_template("nothing.c"));
	assert_string_equal(codegen_target_name(CODEGEN_TARGET_QEMU), "qemu");
	{
		enum codegen_target t;
		assert_int_equal(codegen_target_parse("stm32h743", &t),
				 CORE_OK);
		assert_int_equal(t, CODEGEN_TARGET_STM32H743);
		assert_int_equal(codegen_target_parse("esp32", &t),
				 CORE_ERR_INVALID);
	}
}

/* Bad options and networks that do not fit are refused with a reason. */
static void refusals(void **state)
{
	struct exportproj e;
	struct codegen_options o;
	struct codegen_project p;
	char err[CORE_ERR_LEN];

	exportproj_make(&e, 0, 2);
	o = exportproj_options(&e, CODEGEN_TARGET_STM32H743);
	o.n_images = 0;
	assert_int_equal(codegen_project_build(&e.q, &o, &p, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "test images"));
	o = exportproj_options(&e, CODEGEN_TARGET_STM32H743);
	o.name = "../evil";
	assert_int_equal(codegen_project_build(&e.q, &o, &p, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(p.files);
	o.name = NULL;
	o.target = (enum codegen_target)7;
	assert_int_equal(codegen_project_build(&e.q, &o, &p, err, sizeof err),
			 CORE_ERR_INVALID);
	exportproj_free(&e);

	/* 160 px with a 32-wide stride-1 stem: 800 KB tensors fit QEMU's RAM
	 * but no SRAM region of the STM32H743 */
	{
		struct arch a;
		struct model *m;
		struct quant_net q;
		float *x;
		int8_t *x8;

		exporttest_arch(0, &a);
		a.resolution = 160;
		a.stem.out = 32;
		a.nstages = 1;
		a.stages[0].layers = 1;
		m = exporttest_model(&a, 1);
		x = exporttest_images(1, 160, 3, 1);
		assert_int_equal(
		    quant_net_build(m, x, 1, NULL, &q, err, sizeof err),
		    CORE_OK);
		x8 = core_malloc(160 * 160 * 3);
		quant_net_quantize_input(&q, x, x8);
		memset(&o, 0, sizeof o);
		o.n_images = 1;
		o.images = x8;
		o.float_top1 = o.int8_top1 = -1;
		o.target = CODEGEN_TARGET_STM32H743;
		assert_int_equal(
		    codegen_project_build(&q, &o, &p, err, sizeof err),
		    CORE_ERR_INVALID);
		assert_non_null(strstr(err, "arena"));
		o.target = CODEGEN_TARGET_QEMU;
		assert_int_equal(
		    codegen_project_build(&q, &o, &p, err, sizeof err),
		    CORE_OK);
		assert_true(p.arena_bytes > 512 * 1024);
		codegen_project_free(&p);
		core_free(x8);
		core_free(x);
		quant_net_free(&q);
		model_free(m);
	}
}

static void allocation_failures(void **state)
{
	struct exportproj e;
	struct codegen_options o;
	struct codegen_project p;
	char err[CORE_ERR_LEN];
	int failed = 0;

	exportproj_make(&e, 1, 2);
	o = exportproj_options(&e, CODEGEN_TARGET_STM32H743);
	for (long k = 0;; k++) {
		enum core_status rc;

		core_alloc_fail_after(k);
		rc = codegen_project_build(&e.q, &o, &p, err, sizeof err);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK)
			break;
		if (rc != CORE_ERR_NOMEM)
			fail_msg("allocation %ld: %s (%s)", k,
				 core_status_name(rc), err);
		assert_null(p.files);
		failed++;
	}
	assert_true(failed > 20);
	codegen_project_free(&p);
	exportproj_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(projects_on_the_host),
	    cmocka_unit_test(zip_archive),
	    cmocka_unit_test(templates_render),
	    cmocka_unit_test(refusals),
	    cmocka_unit_test(allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
