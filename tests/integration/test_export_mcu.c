/* SPDX-License-Identifier: Apache-2.0 */
/* test_export_mcu.c - generated projects on the Cortex-M7: for the export
 * test architectures (together every op and activation), both targets build
 * with the project's Makefile (arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb
 * -mfpu=fpv5-d16 -mfloat-abi=hard -O2 -Wall -Wextra -Werror); by
 * arm-none-eabi-size, flash (text + data, minus the embedded test images)
 * is within 3% of the cost model's estimate and RAM (data + bss) holds the
 * arena within the target's SRAM; and the QEMU build, run under
 * qemu-system-arm -M mps2-an500 -semihosting, prints logits identical to the
 * host int8 engine's, as does its Cortex-M4F build (CPU=cortex-m4) on
 * mps2-an386. And a paper-sized network (tools/paper_arch.json, 87 M MACs
 * at 160 px: every kernel on its DSP fast paths, millions of
 * requantizations) with random weights whose BN statistics are those of the
 * calibration images, so that every layer's activations keep their range:
 * its QEMU build prints, for several images, logits that differ across
 * classes and across images and equal the host int8 engine's bit for bit.
 * Skipped when the Arm toolchain or QEMU is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/exportproj.h"
#include "../support/exporttest.h"
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLASH_TOLERANCE 0.03

static char log_buf[1 << 17];

struct sizes {
	unsigned long text, data, bss;
};

static int elf_size(const char *elf, struct sizes *s)
{
	char cmd[700];
	const char *p;

	snprintf(cmd, sizeof cmd, "arm-none-eabi-size '%s'", elf);
	if (exportproj_run(cmd, log_buf, sizeof log_buf) != 0)
		return -1;
	p = strchr(log_buf, '\n');
	return p && sscanf(p + 1, "%lu %lu %lu", &s->text, &s->data, &s->bss) ==
			   3
		   ? 0
		   : -1;
}

/* Builds target t in dir and checks its sizes against the estimate. */
static void build_and_size(const struct exportproj *e,
			   struct codegen_project *p, const char *dir,
			   enum codegen_target t)
{
	const struct codegen_target_info *ti = codegen_target_info(t);
	char cmd[1024], elf[600];
	struct sizes s;
	double t0 = core_now_seconds(), dev;
	uint64_t est, meas;

	snprintf(cmd, sizeof cmd,
		 "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C '%s' "
		 "TARGET=%s 2>&1",
		 dir, codegen_target_name(t));
	if (exportproj_run(cmd, log_buf, sizeof log_buf) != 0)
		fail_msg("%s: make TARGET=%s failed:\n%s", e->arch.name,
			 codegen_target_name(t), log_buf);
	/* a clean build: -Werror would have failed it, and nothing printed
	 * but the size table */
	assert_null(strstr(log_buf, "warning"));
	snprintf(elf, sizeof elf, "%s/build/%s/model.elf", dir,
		 codegen_target_name(t));
	assert_int_equal(elf_size(elf, &s), 0);
	cost_report_set_target(&p->cost, ti->cost);
	est = p->cost.flash.total;
	meas = s.text + s.data - p->test_data_bytes;
	dev = ((double)est - (double)meas) / (double)meas;
	print_message("# %-12s %-9s flash estimate %7llu B, "
		      "arm-none-eabi-size %7llu B (text %lu + data %lu - test "
		      "images %llu): %+.2f%%; RAM %lu B (arena %zu B in %s); "
		      "build %.1f s\n",
		      e->arch.name, codegen_target_name(t),
		      (unsigned long long)est, (unsigned long long)meas, s.text,
		      s.data, (unsigned long long)p->test_data_bytes, 100 * dev,
		      s.data + s.bss, p->arena_bytes,
		      t == CODEGEN_TARGET_STM32H743 ? p->arena_region : "RAM",
		      core_now_seconds() - t0);
	if (fabs(dev) > FLASH_TOLERANCE)
		fail_msg("%s/%s: flash estimate off by %.2f%%", e->arch.name,
			 codegen_target_name(t), 100 * dev);
	/* RAM holds the arena and stays within the target's SRAM */
	assert_true(s.data + s.bss >= p->arena_bytes);
	assert_true(s.data + s.bss <= ti->sram);
	assert_true(s.text + s.data <= ti->flash);
}

/* cpu: the project's CPU (cortex-m7: the mps2-an500 build of
 * build_and_size; cortex-m4: built here, run on the mps2-an386). */
static void run_qemu(const struct exportproj *e, const char *dir, int n,
		     const char *cpu)
{
	const int m4 = strcmp(cpu, "cortex-m4") == 0;
	char cmd[1024];
	int8_t v[256];
	int rc;

	assert_true(e->classes <= sizeof v);

	if (m4) {
		snprintf(cmd, sizeof cmd,
			 "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "
			 "'%s' TARGET=qemu CPU=cortex-m4 2>&1",
			 dir);
		if (exportproj_run(cmd, log_buf, sizeof log_buf) != 0)
			fail_msg("%s: make TARGET=qemu CPU=cortex-m4 "
				 "failed:\n%s",
				 e->arch.name, log_buf);
		assert_null(strstr(log_buf, "warning"));
	}
	snprintf(cmd, sizeof cmd,
		 "timeout 60 qemu-system-arm -M %s -nographic -monitor none "
		 "-semihosting -kernel '%s/build/%s/model.elf' 2>&1",
		 m4 ? "mps2-an386" : "mps2-an500", dir,
		 m4 ? "qemu-m4" : "qemu");
	rc = exportproj_run(cmd, log_buf, sizeof log_buf);
	if (rc != 0)
		fail_msg("%s: qemu (%s) exit %d:\n%s", e->arch.name, cpu, rc,
			 log_buf);
	for (int i = 0; i < n; i++) {
		if (exportproj_logits(log_buf, i, v, e->classes))
			fail_msg("%s: no logits of image %d in:\n%s",
				 e->arch.name, i, log_buf);
		if (memcmp(v, e->expected + (size_t)i * e->classes,
			   e->classes) != 0)
			fail_msg("%s: image %d: %s logits differ from the host "
				 "engine:\n%s",
				 e->arch.name, i, cpu, log_buf);
	}
	assert_non_null(strstr(log_buf, "done: 0 of"));
	print_message("# %-12s qemu %s: %d images, logits identical to the "
		      "host engine\n",
		      e->arch.name, cpu, n);
}

static void projects_on_cortex_m7(void **state)
{
	char err[CORE_ERR_LEN];

	if (!exportproj_have("arm-none-eabi-gcc") ||
	    !exportproj_have("arm-none-eabi-size") ||
	    !exportproj_have("qemu-system-arm")) {
		print_message("SKIP: arm-none-eabi-gcc, arm-none-eabi-size or "
			      "qemu-system-arm not found (scripts/deps.sh "
			      "installs gcc-arm-none-eabi, "
			      "libnewlib-arm-none-eabi, qemu-system-arm)\n");
		skip();
	}
	for (int ai = 0; ai < EXPORTTEST_NARCH; ai++) {
		char dir[] = "/tmp/lmnas-export-mcu-XXXXXX";
		struct exportproj e;
		struct codegen_options o;
		struct codegen_project p;
		const struct codegen_out *mk;

		exportproj_make(&e, ai, 3);
		o = exportproj_options(&e, CODEGEN_TARGET_STM32H743);
		if (codegen_project_build(&e.q, &o, &p, err, sizeof err))
			fail_msg("%s: %s", e.arch.name, err);
		mk = codegen_project_find(&p, "Makefile");
		assert_non_null(mk);
		assert_non_null(strstr(mk->data,
				       "-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 "
				       "-mfloat-abi=hard\n"));
		assert_non_null(strstr(mk->data, "CFLAGS := $(ARCHFLAGS) -O2"));
		assert_non_null(strstr(mk->data, "-Wall -Wextra -Werror"));
		assert_non_null(mkdtemp(dir));
		assert_int_equal(
		    codegen_project_write_dir(&p, dir, err, sizeof err),
		    CORE_OK);
		build_and_size(&e, &p, dir, CODEGEN_TARGET_STM32H743);
		build_and_size(&e, &p, dir, CODEGEN_TARGET_QEMU);
		run_qemu(&e, dir, o.n_images, "cortex-m7");
		run_qemu(&e, dir, o.n_images, "cortex-m4");
		codegen_project_free(&p);
		exportproj_free(&e);
		exportproj_rmtree(dir);
	}
}

#define PAPER_CAL    8 /* calibration images, also the BN statistics' */
#define PAPER_IMAGES 4 /* images run under QEMU */

static void paper_arch(struct arch *a)
{
	char path[600], err[CORE_ERR_LEN], *text = NULL;
	const char *root = getenv("LMNAS_ROOT");
	struct core_field_errors fe;
	size_t len = 0;

	snprintf(path, sizeof path, "%s/tools/paper_arch.json",
		 root ? root : ".");
	if (core_file_read(path, ARCH_MAX_JSON_BYTES, &text, &len, err,
			   sizeof err))
		fail_msg("%s", err);
	core_field_errors_clear(&fe);
	if (arch_parse(text, len, a, &fe)) {
		core_field_errors_join(&fe, err, sizeof err);
		fail_msg("%s: %s", path, err);
	}
	core_free(text);
}

/* A model of a with model_build's He-initialised weights and BN running
 * statistics equal to the batch statistics of the ncal images cal: one
 * training-mode forward (no dropout: paper_arch has none) sees the same
 * batch statistics b at every BN and moves each running statistic r0 to
 * r1 = (1 - NN_BN_MOMENTUM) r0 + NN_BN_MOMENTUM b, so b is solved for. In
 * eval mode every BN then normalizes its input as it does in training:
 * activations neither vanish nor saturate through the 50-odd layers. The
 * head's weights are scaled up so that the logits spread over the classes. */
static struct model *paper_model(const struct arch *a, const float *cal,
				 int ncal)
{
	struct model *m = NULL;
	struct core_rng rng;
	char err[CORE_ERR_LEN];
	const double mom = 0.1; /* NN_BN_MOMENTUM */

	if (model_build(a, ncal, 1, 17, &m, err, sizeof err))
		fail_msg("model: %s", err);
	core_rng_seed(&rng, 18);
	(void)model_forward(m, cal, ncal, 1, &rng);
	for (int i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		float *d = model_tensor_data(m, t);
		const int var = strstr(t->name, "running_var") != NULL;

		if (!var && !strstr(t->name, "running_mean")) {
			if (strcmp(t->name, "head.fc.weight") == 0)
				for (size_t k = 0; k < t->count; k++)
					d[k] *= 30.0f;
			continue;
		}
		for (size_t k = 0; k < t->count; k++) {
			double b = ((double)d[k] - (1.0 - mom) * var) / mom;
			d[k] = (float)(var && b < 1e-4 ? 1e-4 : b);
		}
	}
	return m;
}

static void paper_net_on_cortex_m7(void **state)
{
	char dir[] = "/tmp/lmnas-export-paper-XXXXXX", err[CORE_ERR_LEN];
	struct exportproj e;
	struct codegen_options o;
	struct codegen_project p;
	struct arch a;
	float *cal, *x;
	int distinct_min = 256, range_min = 256, differ = 0;
	double t0 = core_now_seconds();

	if (!exportproj_have("arm-none-eabi-gcc") ||
	    !exportproj_have("arm-none-eabi-size") ||
	    !exportproj_have("qemu-system-arm")) {
		print_message("SKIP: arm-none-eabi-gcc, arm-none-eabi-size or "
			      "qemu-system-arm not found (scripts/deps.sh "
			      "installs gcc-arm-none-eabi, "
			      "libnewlib-arm-none-eabi, qemu-system-arm)\n");
		skip();
	}
	paper_arch(&a);
	cal = exporttest_images(PAPER_CAL, a.resolution, a.channels, 50);
	x = exporttest_images(PAPER_IMAGES, a.resolution, a.channels, 51);
	exportproj_make_model(&e, &a, paper_model(&a, cal, PAPER_CAL), cal,
			      PAPER_CAL, x, PAPER_IMAGES);
	core_free(cal);
	core_free(x);
	/* logits that vary across classes (each image) and across images:
	 * a constant or saturated output would compare equal whatever the
	 * kernels computed */
	for (int i = 0; i < e.n; i++) {
		const int8_t *v = e.expected + (size_t)i * e.classes;
		int seen[256] = {0}, distinct = 0, lo = 127, hi = -128;

		for (size_t c = 0; c < e.classes; c++) {
			distinct += !seen[v[c] + 128]++;
			lo = v[c] < lo ? v[c] : lo;
			hi = v[c] > hi ? v[c] : hi;
		}
		distinct_min =
		    distinct < distinct_min ? distinct : distinct_min;
		range_min = hi - lo < range_min ? hi - lo : range_min;
		if (i > 0)
			for (size_t c = 0; c < e.classes; c++)
				differ += v[c] != e.expected[c];
	}
	print_message("# paper160: host int8 logits: at least %d distinct "
		      "values and a range of %d per image; %d of %zu logits "
		      "of images 1..%d differ from image 0's (%.1f s)\n",
		      distinct_min, range_min, differ,
		      (size_t)(e.n - 1) * e.classes, e.n - 1,
		      core_now_seconds() - t0);
	/* measured: 72 distinct values, a range of 176, 297 of 300 differ */
	assert_true(distinct_min >= 50);
	assert_true(range_min >= 120);
	assert_true(differ >= (int)((size_t)(e.n - 1) * e.classes * 9 / 10));

	o = exportproj_options(&e, CODEGEN_TARGET_QEMU);
	if (codegen_project_build(&e.q, &o, &p, err, sizeof err))
		fail_msg("%s: %s", e.arch.name, err);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(codegen_project_write_dir(&p, dir, err, sizeof err),
			 CORE_OK);
	build_and_size(&e, &p, dir, CODEGEN_TARGET_QEMU);
	run_qemu(&e, dir, o.n_images, "cortex-m7");
	print_message("# paper160: %.1f s in all\n", core_now_seconds() - t0);
	codegen_project_free(&p);
	exportproj_free(&e);
	exportproj_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(projects_on_cortex_m7),
	    cmocka_unit_test(paper_net_on_cortex_m7),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
