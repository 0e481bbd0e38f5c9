/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_npy_header.c - libFuzzer harness for the .npy preamble and header-dict
 * parser (data_npy_header_parse), the part of the teacher-logits reader that
 * sees outside bytes before any size check. Not built by `make`; run:
 *
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iservice tests/fuzz/fuzz_npy_header.c service/data/npy.c \
 *     service/data/cifar.c service/core/status.c service/core/memory.c \
 *     service/core/file.c -o build/fuzz_npy_header
 *   build/fuzz_npy_header -max_total_time=60 tests/fuzz/corpus/npy_header
 *
 * The corpus holds the first 128 bytes of each .npy fixture numpy wrote (in
 * tests/fixtures/data) and the inputs a 60 s run found new coverage with,
 * minimized with -merge=1. */
#include "data/data.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct data_npy_header h;
	char err[CORE_ERR_LEN];

	if (data_npy_header_parse(data, size, &h, err, sizeof err) != CORE_OK)
		return 0;
	/* what the reader relies on when the parse succeeds */
	if (h.ndim != 2 || h.data_offset > size || h.shape[0] < 0 ||
	    h.shape[1] < 0 || h.shape[0] > 2147483647LL ||
	    h.shape[1] > 2147483647LL ||
	    (h.dtype != DATA_NPY_F4 && h.dtype != DATA_NPY_F2) ||
	    h.version < 1 || h.version > 3)
		abort();
	return 0;
}
