/* SPDX-License-Identifier: Apache-2.0 */
/* startup.c - bare-metal start for the STM32H743 (Nucleo-H743ZI2) in C: the
 * vector table (16 Cortex-M7 exceptions + 150 interrupts, all but reset on
 * one default handler), and the reset handler: FPU on, .data copied from
 * flash to DTCM, .bss zeroed, clocks to 480 MHz and caches on, then main;
 * main's return value is kept in stm32_exit_code and the core sleeps. */
#include <stdint.h>

#include "stm32h743.h"

extern uint32_t __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[], __stack_top[];

int main(void);

volatile int stm32_exit_code;

void stm32_reset_handler(void) __attribute__((noreturn));
void stm32_default_handler(void) __attribute__((noreturn));

void stm32_reset_handler(void)
{
	extern void (*const stm32_vectors[])(void);

	SCB_VTOR = (uint32_t)(uintptr_t)stm32_vectors;
	/* CP10 and CP11 full access before any floating-point instruction
	 * (the code is built with -mfloat-abi=hard). */
	SCB_CPACR |= 0xFu << 20;
	__asm__ volatile("dsb\n\tisb" ::: "memory");
	/* the linker script's section bounds: one region each, though C
	 * cannot know it */
	/* cppcheck-suppress comparePointers */
	for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;)
		*d++ = *s++;
	/* cppcheck-suppress comparePointers */
	for (uint32_t *d = __bss_start; d < __bss_end;)
		*d++ = 0;
	stm32_clock_init();
	stm32_cache_enable();
	stm32_exit_code = main();
	for (;;)
		__asm__ volatile("wfi");
}

/* An unexpected exception or interrupt: stop here, fault status readable
 * from a debugger (SCB_CFSR, SCB_HFSR). */
void stm32_default_handler(void)
{
	for (;;)
		;
}

#define VECTORS 166 /* 16 exceptions + 150 interrupts (RM0433 table 145) */

__attribute__((section(".isr_vector"), used)) void (*const stm32_vectors[VECTORS])(void) = {
    [0] = (void (*)(void))__stack_top,
    [1] = stm32_reset_handler,
    [2 ... VECTORS - 1] = stm32_default_handler,
};
