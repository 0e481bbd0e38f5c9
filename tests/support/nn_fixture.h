/* SPDX-License-Identifier: Apache-2.0 */
/* nn_fixture.h - reader for the PyTorch reference fixtures written by
 * tools/gen_nn_fixtures.py (format described there), and the error measure
 * the nn tests report. */
#ifndef LMNAS_TEST_NN_FIXTURE_H
#define LMNAS_TEST_NN_FIXTURE_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

#define NN_FIXTURE_MAX_TENSORS 64
#define NN_FIXTURE_MAX_DIMS    8
#define NN_FIXTURE_MAX_BYTES   (4u << 20)

struct nn_fixture_tensor {
	char name[33];
	int dtype; /* 0 float32, 1 int32 */
	int ndim;
	int dims[NN_FIXTURE_MAX_DIMS];
	size_t count;
	const unsigned char *data; /* into the file buffer, 4-byte aligned */
};

struct nn_fixture {
	char *buf; /* the whole file; owned */
	size_t len;
	int count;
	struct nn_fixture_tensor t[NN_FIXTURE_MAX_TENSORS];
};

/* Loads tests/fixtures/nn/<name>.bin under $LMNAS_ROOT (or the current
 * directory). Bounds-checks every record. On failure nothing is left
 * allocated and err says why. */
enum core_status nn_fixture_load(struct nn_fixture *f, const char *name,
				 char *err, size_t errlen);
/* The same from a path. */
enum core_status nn_fixture_load_path(struct nn_fixture *f, const char *path,
				      char *err, size_t errlen);
void nn_fixture_free(struct nn_fixture *f);

/* The named tensor of the given dtype, or NULL. *count (if not NULL)
 * receives its element count. Pointers live as long as f. */
const float *nn_fixture_f32(const struct nn_fixture *f, const char *name,
			    size_t *count);
const int32_t *nn_fixture_i32(const struct nn_fixture *f, const char *name,
			      size_t *count);

/* max |a - b| / max(1, max |b|): relative to the reference's scale, absolute
 * for references smaller than 1. NaN anywhere gives +inf. */
double nn_max_rel_err(const float *a, const float *b, size_t n);

#endif
