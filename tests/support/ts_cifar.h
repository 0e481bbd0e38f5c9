/* SPDX-License-Identifier: Apache-2.0 */
/* ts_cifar.h - test-only: writes small synthetic data sets in the CIFAR
 * binary layouts, learnable by a tiny network (each class has its own colour
 * and stripe pattern, plus noise). */
#ifndef LMNAS_TS_CIFAR_H
#define LMNAS_TS_CIFAR_H

#include <stdint.h>

/* Writes DIR/train.bin and DIR/test.bin (CIFAR-100 layout: coarse, fine,
 * 3072 pixels CHW) with n_train and n_test records of `classes` (<= 100)
 * classes in round-robin label order. Returns 0 or -1. */
int ts_cifar100_write(const char *dir, int n_train, int n_test, int classes,
		      uint64_t seed);

/* Writes an (n, classes) little-endian '<f4' .npy file with rows derived
 * from labels (teacher-like: the label's logit largest). */
int ts_npy_logits_write(const char *path, int n, int classes,
			const int32_t *labels);

#endif
