/* SPDX-License-Identifier: Apache-2.0 */
/* board.c - the QEMU mps2-an500 board: console through Arm semihosting, and
 * an instruction counter from SysTick. Run QEMU with -icount shift=0: every
 * instruction then advances virtual time by 1 ns and SysTick (processor
 * clock, 25 MHz on this board) ticks once per 40 instructions. QEMU counts
 * instructions, not cycles: it models neither the M7's dual issue nor
 * memory wait states. Without -icount the counter follows host time and
 * means nothing. */
#include "board.h"

#include "semihost.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

#define INSTRUCTIONS_PER_TICK 40u

const char board_counter_unit[] = "instructions";

static uint32_t last_cvr, total;

void board_init(void)
{
	SYST_RVR = 0xFFFFFFu;
	SYST_CVR = 0;
	SYST_CSR = 5; /* enable, processor clock, no interrupt */
	last_cvr = SYST_CVR;
	total = 0;
}

void board_puts(const char *s)
{
	semihost_write0(s);
}

/* SysTick is a 24-bit down counter: fold each reading's distance from the
 * previous one into a 32-bit total (readings must come less than 2^24
 * ticks, 671 M instructions, apart). */
uint32_t board_counter(void)
{
	const uint32_t now = SYST_CVR;

	total += ((last_cvr - now) & 0xFFFFFFu) * INSTRUCTIONS_PER_TICK;
	last_cvr = now;
	return total;
}
