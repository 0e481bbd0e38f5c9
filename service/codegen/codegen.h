/* codegen.h - code generation for MCU targets. For now: the files that
 * generated projects receive verbatim, embedded in the binary at build time
 * by scripts/embed_files.sh (the generator itself comes later).
 *
 * Layer: codegen sits above quant (whose reference kernels define what the
 * int8 kernels in service/codegen/kernels/ must compute) and below search and
 * the HTTP layer. Sources under service/codegen/kernels/ and targets/ are
 * not compiled into lmnas: they are text for the generated projects (and are
 * compiled by the tests, for the host and for a Cortex-M7 under QEMU). */
#ifndef LMNAS_CODEGEN_H
#define LMNAS_CODEGEN_H

#include <stddef.h>

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
 * console of each target board (today: qemu, the mps2-an500 Cortex-M7). */
extern const struct codegen_file codegen_target_files[];
extern const size_t codegen_target_files_count;

#endif
