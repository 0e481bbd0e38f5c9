/* SPDX-License-Identifier: Apache-2.0 */
/* exporttest.h - test-only helpers for the quantization and export tests:
 * tiny architectures that together cover every op and activation the int8
 * export handles, models with random weights and random BN statistics (so
 * that folding does something), random normalized images, and a checkpoint
 * file of such a model. */
#ifndef LMNAS_EXPORTTEST_H
#define LMNAS_EXPORTTEST_H

#include "arch/arch.h"
#include "core/core.h"
#include "model/model.h"

#include <stdint.h>

/* The test architectures:
 *   0 "stem_mbconv": stem 3x3 relu6; mbconv x2 k3 expand 2 SE 0.25 swish
 *     with identity residuals (in-place depthwise, SE); dwsep k5 stride 2
 *     hswish; 10 classes at 16 px;
 *   1 "nostem_dwsep": no stem; dwsep x2 k3 SE 0.5 leakyrelu, residual with
 *     a projection after the block (3 -> 8, out > in); mbconv k3 expand 3
 *     relu, residual with the projection first (8 -> 4, out < in); 5
 *     classes at 12 px;
 *   2 "k7_k1": stem 5x5 stride 2 relu; mbconv x2 k7 expand 4 SE 0.25
 *     relu6 identity residual; mbconv k1 (in-place 1x1 depthwise) expand 2
 *     hswish with a projection (6 -> 10); 4 classes at 16 px. */
#define EXPORTTEST_NARCH 3
void exporttest_arch(int i, struct arch *a);

/* A model of a (max batch 1, inference) with parameters drawn from seed and
 * BN running statistics, gammas and betas drawn away from 1/0. Fails the
 * test on error. Owned by the caller (model_free). */
struct model *exporttest_model(const struct arch *a, uint64_t seed);

/* n images of r x r x c floats, roughly normalized (N(0, 1), clipped to
 * [-3, 3]). Owned by the caller (core_free). */
float *exporttest_images(int n, int r, int c, uint64_t seed);

/* Writes m as a checkpoint file (train_checkpoint_encode). 0 or -1. */
int exporttest_checkpoint_write(const struct model *m, const char *path);

#endif
