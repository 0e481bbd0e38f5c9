/* SPDX-License-Identifier: Apache-2.0 */
/* pointwise_asm_s8.h - the hot loop of the int8 1x1 and kxk convolutions
 * in Thumb-2 assembly (s8_pw_asm_full, s8_pw_asm_lut, s8_pw_asm_clamped),
 * for pointwise_conv2d_s8.c alone: it includes this file once, on GCC
 * optimized builds for a Cortex-M with the DSP extension (PW_ASM), and
 * keeps its C twin (pw_rows_fast) for every other build. */
#ifndef S8_POINTWISE_ASM_H
#define S8_POINTWISE_ASM_H

#include <stdint.h>

#define PW_U 4 /* groups per iteration of the unrolled MAC loop */

/* The hot loop in assembly, one function per output stage, each a loop
 * over every row pair of the layer against one column block of doubled
 * inputs; pw_rows_fast (below, for other builds) is the reference for what
 * it computes. Registers: r0-r3 the accumulators of row 2j (pixels 0..3),
 * r10-r12 and lr those of row 2j+1; in the MAC loop r4 wp, r5 the column
 * pointer, r7/r8 the two sign-extended halves of a weight word, r9/r6 two
 * column words (one LDRD); in the output stage r4 the output pointer (or
 * the table), r5 the rq pointer, r6-r8 (m, h, e) of a channel, r9 a
 * temporary. What does not fit stays in a frame on the stack (pw_asm_frame:
 * the MAC loop needs all 14 registers) and is reloaded once per row pair.
 *
 * MAC: the first group starts from the bias (LDRD into r3/lr; pixels 0..2
 * read it, pixel 3's SMLAD overwrites it last), then the other groups run
 * PW_U to an iteration, entered in the middle (Duff) so that any count
 * needs no remainder loop, until the column pointer reaches the block's
 * end.
 * Output (pw_fast's operations): SMMLAR, ADD of acc >> 31, ASR by e (the
 * low byte of the e word), SSAT (USAT clamped, then LDRB from the table
 * with LUT). Row 2j's values stay in r0-r3, row 2j+1's are inserted as
 * their second byte (BFI), and each pixel's pair goes out in one STRH at
 * o + k * co (co even, the pair at an even offset; Cortex-M7 allows
 * unaligned halfword stores anyway, as the kernels' unaligned word loads).
 * Clamped: h holds -act_min, so USAT gives u = min(max(v - act_min, 0),
 * 255); per byte, UQADD8 with K = 255 - span saturates at 255, giving
 * min(u, span) + K, and UADD8 of act_min - K leaves min(u, span) + act_min
 * mod 256: the clamped output's byte. The loop ends after the row pair
 * whose e word of row 2j+1 has bit 8 set (the last, s8_packed_mm_setup). */
__asm__("	.macro pw_half\n"
	"	ldr r8, [r4], #4\n"
	"	sxtb16 r7, r8\n"
	"	sxtb16 r8, r8, ror #8\n"
	"	ldrd r9, r6, [r5], #8\n"
	"	smlad r0, r7, r9, r0\n"
	"	smlad r10, r8, r9, r10\n"
	"	smlad r1, r7, r6, r1\n"
	"	smlad r11, r8, r6, r11\n"
	"	ldrd r9, r6, [r5], #8\n"
	"	smlad r2, r7, r9, r2\n"
	"	smlad r12, r8, r9, r12\n"
	"	smlad r3, r7, r6, r3\n"
	"	smlad lr, r8, r6, lr\n"
	"	.endm\n"
	/* the first group: from the bias in r3 / lr */
	"	.macro pw_peel\n"
	"	ldr r8, [r4], #4\n"
	"	sxtb16 r7, r8\n"
	"	sxtb16 r8, r8, ror #8\n"
	"	ldrd r9, r6, [r5], #8\n"
	"	smlad r0, r7, r9, r3\n"
	"	smlad r10, r8, r9, lr\n"
	"	smlad r1, r7, r6, r3\n"
	"	smlad r11, r8, r6, lr\n"
	"	ldrd r9, r6, [r5], #8\n"
	"	smlad r2, r7, r9, r3\n"
	"	smlad r12, r8, r9, lr\n"
	"	smlad r3, r7, r6, r3\n"
	"	smlad lr, r8, r6, lr\n"
	"	pw_half\n"
	"	.endm\n"
	/* requantizes accumulator a in place (m r6, h r7, e r8; r9 scratch) */
	"	.macro pw_rq a, sat\n"
	"	smmlar r9, \\a, r6, r7\n"
	"	add \\a, r9, \\a, asr #31\n"
	"	asr \\a, \\a, r8\n"
	"	\\sat \\a, #8, \\a\n"
	"	.endm\n"
	/* the function: prologue (frame from r0), then per row pair the bias,
	 * the MAC loop and the output stage out */
	"	.macro pw_fn name, out\n"
	"	.pushsection .text.\\name,\"ax\",%progbits\n"
	"	.syntax unified\n"
	"	.thumb\n"
	"	.align 2\n"
	"	.global \\name\n"
	"	.thumb_func\n"
	"	.type \\name, %function\n"
	"\\name:\n"
	"	push {r4-r11, lr}\n"
	"	ldmia r0, {r1-r10}\n"
	"	adr r11, .L\\name\\()_entries\n"
	"	ldr r6, [r11, r6, lsl #2]\n"
	"	push {r1-r10}\n"
	"	mov r5, r2\n"
	".L\\name\\()_pair:\n"
	"	ldrd r3, lr, [r5], #8\n"
	"	str r5, [sp, #4]\n"
	"	ldrd r4, r5, [sp, #8]\n"
	"	pw_peel\n"
	"	ldr pc, [sp, #20]\n"
	".L\\name\\()_loop:\n"
	".L\\name\\()_e0:\n"
	"	pw_half\n"
	"	pw_half\n"
	".L\\name\\()_e1:\n"
	"	pw_half\n"
	"	pw_half\n"
	".L\\name\\()_e2:\n"
	"	pw_half\n"
	"	pw_half\n"
	".L\\name\\()_e3:\n"
	"	pw_half\n"
	"	pw_half\n"
	"	ldr r7, [sp, #16]\n"
	"	cmp r5, r7\n"
	"	bne .L\\name\\()_loop\n"
	".L\\name\\()_out:\n"
	"	str r4, [sp, #8]\n"
	"	ldrd r4, r5, [sp]\n"
	"	ldmia r5!, {r6, r7, r8}\n"
	"	\\out \\name\n"
	"	tst r8, #256\n"
	"	beq .L\\name\\()_pair\n"
	"	add sp, sp, #40\n"
	"	pop {r4-r11, pc}\n"
	"	.align 2\n"
	".L\\name\\()_entries:\n"
	"	.word .L\\name\\()_e0 + 1, .L\\name\\()_e1 + 1\n"
	"	.word .L\\name\\()_e2 + 1, .L\\name\\()_e3 + 1\n"
	"	.word .L\\name\\()_out + 1\n"
	"	.size \\name, . - \\name\n"
	"	.popsection\n"
	"	.endm\n"
	/* output stages: row 2j's (m, h, e) are loaded, row 2j+1's follow at
	 * r5; each ends with the output pointer advanced and stored */
	"	.macro pw_out_full name\n"
	"	pw_rq r0, ssat\n"
	"	pw_rq r1, ssat\n"
	"	pw_rq r2, ssat\n"
	"	pw_rq r3, ssat\n"
	"	ldmia r5!, {r6, r7, r8}\n"
	"	pw_rq r10, ssat\n"
	"	bfi r0, r10, #8, #8\n"
	"	strh r0, [r4]\n"
	"	ldrd r0, r10, [sp, #24]\n"
	"	pw_rq r11, ssat\n"
	"	bfi r1, r11, #8, #8\n"
	"	strh r1, [r4, r0]\n"
	"	pw_rq r12, ssat\n"
	"	bfi r2, r12, #8, #8\n"
	"	strh r2, [r4, r0, lsl #1]\n"
	"	pw_rq lr, ssat\n"
	"	bfi r3, lr, #8, #8\n"
	"	strh r3, [r4, r10]\n"
	"	adds r4, r4, #2\n"
	"	str r4, [sp]\n"
	"	.endm\n"
	"	.macro pw_out_lut name\n"
	"	pw_rq r0, ssat\n"
	"	ldrb r0, [r4, r0]\n"
	"	pw_rq r1, ssat\n"
	"	ldrb r1, [r4, r1]\n"
	"	pw_rq r2, ssat\n"
	"	ldrb r2, [r4, r2]\n"
	"	pw_rq r3, ssat\n"
	"	ldrb r3, [r4, r3]\n"
	"	ldmia r5!, {r6, r7, r8}\n"
	"	pw_rq r10, ssat\n"
	"	ldrb r10, [r4, r10]\n"
	"	bfi r0, r10, #8, #8\n"
	"	pw_rq r11, ssat\n"
	"	ldrb r11, [r4, r11]\n"
	"	bfi r1, r11, #8, #8\n"
	"	ldrd r10, r11, [sp, #24]\n"
	"	strh r0, [r10]\n"
	"	strh r1, [r10, r11]\n"
	"	pw_rq r12, ssat\n"
	"	ldrb r12, [r4, r12]\n"
	"	bfi r2, r12, #8, #8\n"
	"	strh r2, [r10, r11, lsl #1]\n"
	"	pw_rq lr, ssat\n"
	"	ldrb lr, [r4, lr]\n"
	"	bfi r3, lr, #8, #8\n"
	"	ldr r0, [sp, #32]\n"
	"	strh r3, [r10, r0]\n"
	"	adds r10, r10, #2\n"
	"	str r10, [sp, #24]\n"
	"	.endm\n"
	"	.macro pw_out_clamped name\n"
	"	pw_rq r0, usat\n"
	"	pw_rq r1, usat\n"
	"	pw_rq r2, usat\n"
	"	pw_rq r3, usat\n"
	"	ldmia r5!, {r6, r7, r8}\n"
	"	pw_rq r10, usat\n"
	"	orr r0, r0, r10, lsl #8\n"
	"	pw_rq r11, usat\n"
	"	orr r1, r1, r11, lsl #8\n"
	"	pw_rq r12, usat\n"
	"	orr r2, r2, r12, lsl #8\n"
	"	pw_rq lr, usat\n"
	"	orr r3, r3, lr, lsl #8\n"
	"	ldrd r10, r11, [sp, #32]\n"
	"	ldrd r12, lr, [sp, #24]\n"
	"	uqadd8 r0, r0, r10\n"
	"	uadd8 r0, r0, r11\n"
	"	strh r0, [r4]\n"
	"	uqadd8 r1, r1, r10\n"
	"	uadd8 r1, r1, r11\n"
	"	strh r1, [r4, r12]\n"
	"	uqadd8 r2, r2, r10\n"
	"	uadd8 r2, r2, r11\n"
	"	strh r2, [r4, r12, lsl #1]\n"
	"	uqadd8 r3, r3, r10\n"
	"	uadd8 r3, r3, r11\n"
	"	strh r3, [r4, lr]\n"
	"	adds r4, r4, #2\n"
	"	str r4, [sp]\n"
	"	.endm\n"
	"	pw_fn s8_pw_asm_full, pw_out_full\n"
	"	pw_fn s8_pw_asm_lut, pw_out_lut\n"
	"	pw_fn s8_pw_asm_clamped, pw_out_clamped\n"
	"	.purgem pw_half\n"
	"	.purgem pw_peel\n"
	"	.purgem pw_rq\n"
	"	.purgem pw_fn\n"
	"	.purgem pw_out_full\n"
	"	.purgem pw_out_lut\n"
	"	.purgem pw_out_clamped\n");

/* The frame of s8_pw_asm_*, word by word: 0 the output (full, clamped) or
 * the table + 128 (LUT); 1 the rq table; 2 wp; 3 the column block; 4 its
 * end; 5 where the MAC loop is entered after the first group (index of
 * the unrolled group, PW_U: not at all); then full and clamped: co, 3 co,
 * clamped: K = 255 - span and act_min - K in both low bytes; LUT: the
 * output, co, 3 co. */
void s8_pw_asm_full(const uint32_t frame[10]);
void s8_pw_asm_lut(const uint32_t frame[10]);
void s8_pw_asm_clamped(const uint32_t frame[10]);

#endif
