/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - runs the model on the test images embedded at generation time
 * (test_data.c) and prints, per image, the class, the int8 logits, the
 * board counter around model_run (cycles on the STM32H743, instructions
 * under QEMU) and whether the logits equal those of lmnas' host int8
 * engine. Returns the number of images whose logits differ, which QEMU
 * turns into its exit code. Build with -DMODEL_PROFILE for a per-op table. */
#include <stdint.h>

#include "board.h"
#include "console.h"
#include "model.h"
#include "test_data.h"

#ifdef MODEL_PROFILE
/* op_counter[i + 1]: the counter when op i finished; [0] before op 0 */
static uint32_t op_counter[MODEL_NOPS + 1];

void model_profile_op(int op)
{
	op_counter[op + 1] = board_counter();
}

static void profile_print(void)
{
	uint64_t total = 0;

	console_printf("profile: op, name, %s, MACs\n", board_counter_unit);
	for (int i = 0; i < MODEL_NOPS; i++) {
		const uint32_t n = op_counter[i + 1] - op_counter[i];

		total += n;
		console_printf("op %d %s: %lu %s, %lu MACs\n", i,
			       model_op_names[i], (unsigned long)n,
			       board_counter_unit,
			       (unsigned long)model_op_macs[i]);
	}
	console_printf("profile total: %lu %s, %lu MACs\n",
		       (unsigned long)total, board_counter_unit,
		       (unsigned long)MODEL_MACS);
}
#endif

static int argmax(const int8_t *v, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

int main(void)
{
	static int8_t logits[MODEL_OUTPUT_BYTES];
	int differ = 0;

	board_init();
	console_printf("lmnas model %s: %d ops, %lu MACs, arena %lu B, %d "
		       "test images\n",
		       MODEL_NAME, MODEL_NOPS, (unsigned long)MODEL_MACS,
		       (unsigned long)MODEL_ARENA_BYTES, MODEL_TEST_IMAGES);
	for (int i = 0; i < MODEL_TEST_IMAGES; i++) {
		uint32_t t0, t1;
		int rc, same = 1;

#ifdef MODEL_PROFILE
		op_counter[0] = board_counter();
#endif
		t0 = board_counter();
		rc = model_run(model_test_images[i], logits);
		t1 = board_counter();
		if (rc != 0) {
			console_printf("image %d: model_run failed at op %d\n",
				       i, -rc - 1);
			return 100;
		}
		for (int c = 0; c < MODEL_OUTPUT_BYTES; c++)
			same &= logits[c] == model_test_expected[i][c];
		differ += !same;
		console_printf("image %d: class %d (label %d), %lu %s, %s\n", i,
			       argmax(logits, MODEL_OUTPUT_BYTES),
			       (int)model_test_labels[i],
			       (unsigned long)(t1 - t0), board_counter_unit,
			       same ? "matches the host reference"
				    : "DIFFERS from the host reference");
		console_printf("logits %d:", i);
		for (int c = 0; c < MODEL_OUTPUT_BYTES; c++)
			console_printf(" %d", (int)logits[c]);
		console_printf("\n");
#ifdef MODEL_PROFILE
		if (i == 0)
			profile_print();
#endif
	}
	console_printf("done: %d of %d images differ from the host reference\n",
		       differ, MODEL_TEST_IMAGES);
	return differ;
}
