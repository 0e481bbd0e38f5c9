/* SPDX-License-Identifier: Apache-2.0 */
/* codegen.h - code generation for MCU targets: a quantized network (quant.h)
 * becomes a self-contained C project for a Cortex-M7, as files in memory,
 * written to a directory or a zip archive.
 *
 * Layer: codegen sits above quant (whose reference kernels define what the
 * int8 kernels in service/codegen/kernels/ compute) and cost (whose memory
 * plan lays out the arena), below the CLI, search and the HTTP layer.
 * Sources under service/codegen/kernels/, targets/ and templates/ are not
 * compiled into lmnas: they are text for the generated projects, embedded
 * in the binary by scripts/embed_files.sh (and compiled by the tests, for
 * the host and for a Cortex-M7 under QEMU).
 *
 * A project (under <name>/ in the zip):
 *   model.h, model.c         the API, int model_run(const int8_t *in,
 *                            int8_t *out), and one kernel call per op over
 *                            ONE static arena of the cost planner's
 *                            arena_bytes, every tensor and scratch buffer at
 *                            the planner's offset (Tn / Sn in model.c);
 *                            depthwise, MUL and ADD in place where the plan
 *                            says so
 *   model_weights.c/.h       const int8 weights, int32 biases, per-channel
 *                            multipliers and shifts, 256-byte tables
 *   kernels/                 the kernels the network uses, verbatim from
 *                            codegen_kernel_files
 *   main.c, console.c/.h,    the demo: runs the embedded test images and
 *   board.h, test_data.c/.h  prints class, logits, counter, and whether the
 *                            logits equal the host engine's
 *   targets/stm32h743/       start-up, clocks (480 MHz), USART3, DWT,
 *                            linker script + arena_region.ld
 *   targets/qemu/            mps2-an500 start-up, semihosting, linker script
 *   Makefile                 make TARGET=stm32h743 | qemu [run|profile|flash]
 *   README.md, report.json,  documentation, figures (cost report, flash
 *   arch.json                estimate, accuracy, quantization), architecture
 *   LICENSE                  Apache-2.0 (the repository's); every .c, .h,
 *                            .ld, .md and Makefile opens with its SPDX line
 * Templates for the fixed files live in service/codegen/templates/ with
 * {{KEY}} placeholders.
 */
#ifndef LMNAS_CODEGEN_H
#define LMNAS_CODEGEN_H

#include "core/core.h"
#include "cost/cost.h"
#include "quant/quant.h"

#include <stddef.h>
#include <stdint.h>

struct codegen_file {
	const char *path; /* relative to service/codegen/: "kernels/lut_s8.c" */
	const char *text; /* the file's bytes, NUL-terminated */
	size_t len;	  /* bytes, without the NUL */
};

/* service/codegen/kernels/: the int8 kernels (C99), one family per file,
 * with kernels.h, requant.h and dsp.h. Ended by {NULL, NULL, 0}. */
extern const struct codegen_file codegen_kernel_files[];
extern const size_t codegen_kernel_files_count;

/* service/codegen/targets/<target>/: start-up code, linker scripts and
 * register definitions of each target board (qemu: the mps2-an500
 * Cortex-M7; stm32h743: the Nucleo-H743ZI2). */
extern const struct codegen_file codegen_target_files[];
extern const size_t codegen_target_files_count;

/* service/codegen/templates/: the fixed files of a project, with {{KEY}}
 * placeholders. */
extern const struct codegen_file codegen_template_files[];
extern const size_t codegen_template_files_count;

/* The repository's LICENSE (Apache-2.0), copied into every project. */
extern const struct codegen_file codegen_licence_files[];
extern const size_t codegen_licence_files_count;

/* ---- targets ------------------------------------------------------------ */

enum codegen_target { CODEGEN_TARGET_STM32H743 = 0, CODEGEN_TARGET_QEMU };
#define CODEGEN_TARGET_COUNT 2

const char *codegen_target_name(enum codegen_target t); /* "stm32h743" */
enum core_status codegen_target_parse(const char *s, enum codegen_target *t);

/* Where the arena can go on a target, and the flash there is. */
struct codegen_target_info {
	const char *board;     /* "Nucleo-H743ZI2 (STM32H743ZI)" */
	uint64_t flash;	       /* bytes of flash */
	size_t sram;	       /* all SRAM the project uses (regions below) */
	size_t fast_arena;     /* largest arena that goes into DTCM (0: none) */
	size_t max_arena;      /* largest arena at all */
	enum cost_target cost; /* the cost model's runtime for this target */
};
const struct codegen_target_info *codegen_target_info(enum codegen_target t);

/* ---- projects ----------------------------------------------------------- */

#define CODEGEN_MAX_IMAGES 16

struct codegen_options {
	enum codegen_target target;
	const char *name;      /* project directory name: [A-Za-z0-9_.-], 1..63;
				* NULL or "": the architecture's name, else
				* "lmnas_model" */
	int n_images;	       /* test images embedded in test_data.c, 1..16 */
	const int8_t *images;  /* (n_images, input bytes), already quantized
				* with the network's input parameters */
	const int32_t *labels; /* (n_images) or NULL (-1) */
	double float_top1, int8_top1; /* fractions; < 0 when unknown */
	int eval_images;	      /* images behind the two figures */
	const char *dataset;	      /* "cifar100", ... or NULL */
	float mean[3], std[3];	      /* the input normalization (CIFAR) */
};

struct codegen_out {
	char path[96]; /* relative to the project directory */
	char *data;    /* owned */
	size_t len;
};

struct codegen_project {
	char name[64];
	enum codegen_target target;
	int nfiles;
	struct codegen_out *files; /* (nfiles) */
	struct cost_report cost;   /* what the project was laid out from */
	size_t arena_bytes;	   /* = cost.plan.arena_bytes */
	const char *arena_region;  /* "DTCM", "AXI SRAM" or "RAM" */
	uint64_t flash_estimate;   /* cost model, this target (no test data) */
	uint64_t test_data_bytes;  /* flash of test_data.c's arrays */
};

/* Generates the project of q for o. The expected logits of the test images
 * come from quant_net_run. Fails (CORE_ERR_INVALID, err says why) when the
 * options are bad or the network does not fit the target (arena larger than
 * its largest SRAM region, flash estimate above its flash). On success p
 * owns everything (codegen_project_free); on failure p is empty. */
enum core_status codegen_project_build(const struct quant_net *q,
				       const struct codegen_options *o,
				       struct codegen_project *p, char *err,
				       size_t errlen);
void codegen_project_free(struct codegen_project *p);

/* The file at path ("model.c", "kernels/add_s8.c"), or NULL. */
const struct codegen_out *codegen_project_find(const struct codegen_project *p,
					       const char *path);

/* Writes every file under dir (created if missing, as are subdirectories;
 * existing files are replaced). */
enum core_status codegen_project_write_dir(const struct codegen_project *p,
					   const char *dir, char *err,
					   size_t errlen);

/* Writes a zip archive (libzip) with every file under "<name>/". The file
 * is written atomically (a temporary beside it, renamed). */
enum core_status codegen_project_write_zip(const struct codegen_project *p,
					   const char *path, char *err,
					   size_t errlen);

#endif
