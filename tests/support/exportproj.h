/* SPDX-License-Identifier: Apache-2.0 */
/* exportproj.h - test-only: quantized networks of the export test
 * architectures and generated projects for them, plus running commands and
 * reading back what the generated code printed. Shared by the host codegen
 * test and the Cortex-M7 (QEMU) export test. */
#ifndef LMNAS_EXPORTPROJ_H
#define LMNAS_EXPORTPROJ_H

#include "codegen/codegen.h"
#include "quant/quant.h"

#include <stddef.h>
#include <stdint.h>

/* A quantized test network with n quantized images (n, input bytes). */
struct exportproj {
	struct arch arch;
	struct model *m;
	struct quant_net q;
	int n;
	int8_t *images;
	int8_t *expected; /* (n, classes): quant_net_run */
	size_t in_bytes, classes;
};

/* Builds architecture ai of exporttest with random weights, calibrates on
 * 16 random images and quantizes n test images. Fails the test on error. */
void exportproj_make(struct exportproj *e, int ai, int n);
/* The same for architecture a and model m (taken over: exportproj_free
 * frees it), calibrated on the ncal images cal, with the n images x (both
 * (count, R, R, C) normalized floats) quantized and run. */
void exportproj_make_model(struct exportproj *e, const struct arch *a,
			   struct model *m, const float *cal, int ncal,
			   const float *x, int n);
void exportproj_free(struct exportproj *e);

/* Options for the first min(n, 16) images on target t. */
struct codegen_options exportproj_options(const struct exportproj *e,
					  enum codegen_target t);

/* Runs cmd (sh -c), capturing stdout and stderr into out (NUL-terminated,
 * cut at cap). Returns the exit status, or -1. */
int exportproj_run(const char *cmd, char *out, size_t cap);

/* 1 when `tool --version` runs. */
int exportproj_have(const char *tool);

/* Parses "logits <i>: v v v ..." of image i from a demo's output into v
 * (n values). Returns 0, or -1 when the line is missing or short. */
int exportproj_logits(const char *log, int i, int8_t *v, size_t n);

/* rm -rf of a test directory (under /tmp only). */
void exportproj_rmtree(const char *dir);

#endif
