/* SPDX-License-Identifier: Apache-2.0 */
/* startup.c - bare-metal start for Cortex-M7 on QEMU mps2-an500: the vector
 * table, the reset handler (FPU on, .data copied, .bss zeroed, main called,
 * its return value becomes QEMU's exit code) and fault handlers that report
 * the fault and exit with code 100 + the exception number. */
#include <stdint.h>

#include "console.h"
#include "semihost.h"

extern uint32_t __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[], __stack_top[];

int main(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_CFSR  (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR  (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_BFAR  (*(volatile uint32_t *)0xE000ED38u)

void qemu_reset_handler(void) __attribute__((noreturn));
void qemu_fault_handler(void) __attribute__((noreturn));

void qemu_reset_handler(void)
{
	/* CP10 and CP11 full access, before any floating-point instruction
	 * (the code is built with -mfloat-abi=hard). */
	SCB_CPACR |= 0xFu << 20;
	__asm__ volatile("dsb\n\tisb" ::: "memory");
	/* word counts from the linker's symbols (8-byte aligned sections) */
	const uintptr_t data_words =
	    ((uintptr_t)__data_end - (uintptr_t)__data_start) / 4;
	const uintptr_t bss_words =
	    ((uintptr_t)__bss_end - (uintptr_t)__bss_start) / 4;
	for (uintptr_t i = 0; i < data_words; i++)
		__data_start[i] = __data_load[i];
	for (uintptr_t i = 0; i < bss_words; i++)
		__bss_start[i] = 0;
	semihost_exit(main());
}

void qemu_fault_handler(void)
{
	uint32_t ipsr;

	__asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
	console_printf("FAULT exception %lu CFSR 0x%lx HFSR 0x%lx BFAR "
		       "0x%lx\n",
		       (unsigned long)(ipsr & 0x1ffu), (unsigned long)SCB_CFSR,
		       (unsigned long)SCB_HFSR, (unsigned long)SCB_BFAR);
	semihost_exit(100 + (int)(ipsr & 0x1ffu));
}

/* Initial stack pointer, then the handlers of exceptions 1..15. */
__attribute__((section(".vectors"),
	       used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top,
    qemu_reset_handler,
    qemu_fault_handler, /* NMI */
    qemu_fault_handler, /* HardFault */
    qemu_fault_handler, /* MemManage */
    qemu_fault_handler, /* BusFault */
    qemu_fault_handler, /* UsageFault */
    0,
    0,
    0,
    0,
    qemu_fault_handler, /* SVCall */
    qemu_fault_handler, /* DebugMonitor */
    0,
    qemu_fault_handler, /* PendSV */
    qemu_fault_handler, /* SysTick */
};
