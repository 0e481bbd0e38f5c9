/* SPDX-License-Identifier: Apache-2.0 */
/* board.h - what main.c needs from a board: start-up of the clock, console
 * and counter, a console, and a free-running counter. Each target's
 * targets/<target>/board.c implements it. */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

/* Clocks (the start-up code already set them), console, counter. */
void board_init(void);

/* Writes a NUL-terminated string to the console. */
void board_puts(const char *s);

/* A free-running counter: core cycles on the STM32H743 (DWT CYCCNT at
 * 480 MHz), executed instructions on QEMU (SysTick with -icount shift=0).
 * Differences of two readings wrap correctly up to 2^32. */
uint32_t board_counter(void);

/* What board_counter counts: "cycles" or "instructions". */
extern const char board_counter_unit[];

#endif
