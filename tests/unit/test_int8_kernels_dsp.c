/* SPDX-License-Identifier: Apache-2.0 */
/* test_int8_kernels_dsp.c - the int8 kernel tests of test_int8_kernels.c,
 * run through the kernels' DSP code paths (SMLAD, SXTB16, SXTAB16, SMLABB)
 * on the host: S8_DSP_EMULATE gives those instructions exact C definitions
 * (service/codegen/kernels/dsp.h), so ASan and UBSan watch the same loops
 * that run on a Cortex-M4/M7. The real instructions are checked under QEMU
 * by tests/integration/test_int8_qemu.c. */
#define S8_DSP_EMULATE 1
#include "test_int8_kernels.c"
