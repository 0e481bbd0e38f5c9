/* SPDX-License-Identifier: Apache-2.0 */
/* ts_cifar.c - synthetic CIFAR-format files for tests. */
#include "ts_cifar.h"

#include "core/core.h"

#include <stdio.h>
#include <string.h>

static int write_split(const char *path, int n, int classes, uint64_t seed)
{
	unsigned char rec[3074];
	struct core_rng r;
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	core_rng_seed(&r, seed);
	for (int i = 0; i < n; i++) {
		int label = i % classes;
		rec[0] = (unsigned char)(label % 20);
		rec[1] = (unsigned char)label;
		for (int c = 0; c < 3; c++)
			for (int y = 0; y < 32; y++)
				for (int x = 0; x < 32; x++) {
					/* class colour + class stripe period */
					int base =
					    40 + ((label * 37 + c * 71) % 160);
					int stripe = ((x + y * (c + 1)) /
						      (2 + label % 5)) %
						     2;
					int noise =
					    (int)core_rng_below(&r, 41) - 20;
					int v =
					    base + (stripe ? 30 : -30) + noise;
					rec[2 + c * 1024 + y * 32 + x] =
					    (unsigned char)(v < 0     ? 0
							    : v > 255 ? 255
								      : v);
				}
		if (fwrite(rec, 1, sizeof rec, f) != sizeof rec) {
			fclose(f);
			return -1;
		}
	}
	return fclose(f) == 0 ? 0 : -1;
}

int ts_cifar100_write(const char *dir, int n_train, int n_test, int classes,
		      uint64_t seed)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/train.bin", dir);
	if (write_split(path, n_train, classes, seed))
		return -1;
	snprintf(path, sizeof path, "%s/test.bin", dir);
	return write_split(path, n_test, classes, seed + 1);
}

int ts_npy_logits_write(const char *path, int n, int classes,
			const int32_t *labels)
{
	char header[128];
	int hl;
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	hl = snprintf(header, sizeof header,
		      "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, "
		      "%d), }",
		      n, classes);
	/* pad so that magic(6)+version(2)+len(2)+header is a multiple of 64 */
	while ((10 + hl + 1) % 64)
		header[hl++] = ' ';
	header[hl++] = '\n';
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	fputc(hl & 0xff, f);
	fputc(hl >> 8, f);
	fwrite(header, 1, (size_t)hl, f);
	for (int i = 0; i < n; i++)
		for (int c = 0; c < classes; c++) {
			float v = c == labels[i] ? 5.0f : (float)(c % 3) * 0.5f;
			fwrite(&v, sizeof v, 1, f);
		}
	return fclose(f) == 0 ? 0 : -1;
}
