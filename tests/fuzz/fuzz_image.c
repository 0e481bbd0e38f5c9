/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_image.c - libFuzzer harness for the image decoder (data_image_decode:
 * libpng, libjpeg-turbo, the EXIF parser and the orientation), which sees
 * every uploaded file. Beyond "no crash, no leak": a success has a size
 * within the caps, pixels for a full decode, and a header-only decode of the
 * same bytes agrees on the size. Not built by `make`; run:
 *
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iservice tests/fuzz/fuzz_image.c service/data/image.c \
 *     service/core/status.c service/core/memory.c \
 *     $(pkg-config --cflags --libs libpng libjpeg jansson) \
 *     -o build/fuzz_image
 *   build/fuzz_image -max_total_time=60 -max_len=65536 tests/fuzz/corpus/image
 *
 * The corpus starts from small PNG and JPEG files written by libpng and
 * libjpeg (every PNG colour type, gray/RGB/CMYK JPEG, EXIF orientations). */
#include "data/data.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct data_image im, hd;
	char err[CORE_ERR_LEN];

	if (data_image_decode(data, size, 0, &im, err, sizeof err) != CORE_OK) {
		if (im.rgb || !err[0])
			abort(); /* a failure leaves nothing and says why */
		return 0;
	}
	if (!im.rgb || im.width < 1 || im.height < 1 ||
	    im.width > DATA_IMAGE_MAX_SIDE || im.height > DATA_IMAGE_MAX_SIDE)
		abort();
	/* touch every byte: ASan checks the buffer is width*height*3 */
	{
		unsigned sum = 0;
		for (size_t i = 0; i < (size_t)im.width * im.height * 3; i++)
			sum += im.rgb[i];
		if (sum == 0xffffffffu)
			abort();
	}
	if (data_image_decode(data, size, DATA_IMAGE_HEADER_ONLY, &hd, err,
			      sizeof err) != CORE_OK ||
	    hd.width != im.width || hd.height != im.height)
		abort();
	data_image_free(&im);
	return 0;
}
