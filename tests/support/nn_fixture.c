/* SPDX-License-Identifier: Apache-2.0 */
/* nn_fixture.c - loads the nn reference fixtures (see nn_fixture.h). */
#include "nn_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rd_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

enum core_status nn_fixture_load_path(struct nn_fixture *f, const char *path,
				      char *err, size_t errlen)
{
	enum core_status rc;
	const unsigned char *p, *end;
	uint32_t count;

	memset(f, 0, sizeof *f);
	rc = core_file_read(path, NN_FIXTURE_MAX_BYTES, &f->buf, &f->len, err,
			    errlen);
	if (rc)
		return rc;
	p = (const unsigned char *)f->buf;
	end = p + f->len;
	rc = CORE_ERR_INVALID;
	if (f->len < 12 || memcmp(p, "LMNF0001", 8) != 0) {
		core_errf(err, errlen, "%s: not an LMNF0001 fixture", path);
		goto out;
	}
	count = rd_u32(p + 8);
	p += 12;
	if (count > NN_FIXTURE_MAX_TENSORS) {
		core_errf(err, errlen, "%s: %u tensors (max %d)", path, count,
			  NN_FIXTURE_MAX_TENSORS);
		goto out;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct nn_fixture_tensor *t = &f->t[i];
		uint32_t dtype, ndim;

		if (end - p < 40) {
			core_errf(err, errlen, "%s: tensor %u header truncated",
				  path, i);
			goto out;
		}
		memcpy(t->name, p, 32);
		t->name[32] = '\0';
		dtype = rd_u32(p + 32);
		ndim = rd_u32(p + 36);
		p += 40;
		if (dtype > 1 || ndim > NN_FIXTURE_MAX_DIMS ||
		    (size_t)(end - p) < 4 * (size_t)ndim) {
			core_errf(err, errlen, "%s: tensor '%s' bad header",
				  path, t->name);
			goto out;
		}
		t->dtype = (int)dtype;
		t->ndim = (int)ndim;
		t->count = 1;
		for (uint32_t d = 0; d < ndim; d++) {
			uint32_t v = rd_u32(p + 4 * d);

			if (v > NN_FIXTURE_MAX_BYTES / 4 ||
			    t->count * v > NN_FIXTURE_MAX_BYTES / 4) {
				core_errf(err, errlen,
					  "%s: tensor '%s' too big", path,
					  t->name);
				goto out;
			}
			t->dims[d] = (int)v;
			t->count *= v;
		}
		p += 4 * ndim;
		if ((size_t)(end - p) < 4 * t->count) {
			core_errf(err, errlen, "%s: tensor '%s' data truncated",
				  path, t->name);
			goto out;
		}
		t->data = p;
		p += 4 * t->count;
	}
	if (p != end) {
		core_errf(err, errlen, "%s: %zu trailing bytes", path,
			  (size_t)(end - p));
		goto out;
	}
	f->count = (int)count;
	rc = CORE_OK;
out:
	if (rc)
		nn_fixture_free(f);
	return rc;
}

enum core_status nn_fixture_load(struct nn_fixture *f, const char *name,
				 char *err, size_t errlen)
{
	const char *root = getenv("LMNAS_ROOT");
	char path[1024];

	if (!root || !*root)
		root = ".";
	snprintf(path, sizeof path, "%s/tests/fixtures/nn/%s.bin", root, name);
	return nn_fixture_load_path(f, path, err, errlen);
}

void nn_fixture_free(struct nn_fixture *f)
{
	core_free(f->buf);
	memset(f, 0, sizeof *f);
}

static const struct nn_fixture_tensor *find(const struct nn_fixture *f,
					    const char *name, int dtype)
{
	for (int i = 0; i < f->count; i++)
		if (f->t[i].dtype == dtype && strcmp(f->t[i].name, name) == 0)
			return &f->t[i];
	return NULL;
}

/* The data is little-endian float32/int32 at 4-byte aligned offsets of a
 * malloc'd buffer; the test hosts are little-endian x86-64. */
const float *nn_fixture_f32(const struct nn_fixture *f, const char *name,
			    size_t *count)
{
	const struct nn_fixture_tensor *t = find(f, name, 0);

	if (!t)
		return NULL;
	if (count)
		*count = t->count;
	return (const float *)(const void *)t->data;
}

const int32_t *nn_fixture_i32(const struct nn_fixture *f, const char *name,
			      size_t *count)
{
	const struct nn_fixture_tensor *t = find(f, name, 1);

	if (!t)
		return NULL;
	if (count)
		*count = t->count;
	return (const int32_t *)(const void *)t->data;
}

double nn_max_rel_err(const float *a, const float *b, size_t n)
{
	double diff = 0.0, scale = 1.0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);

		if (isnan(d))
			return INFINITY;
		if (d > diff)
			diff = d;
		if (fabs((double)b[i]) > scale)
			scale = fabs((double)b[i]);
	}
	return diff / scale;
}
