/* SPDX-License-Identifier: Apache-2.0 */
/* semihost.c - Arm semihosting calls for the QEMU target (SYS_WRITE0,
 * SYS_EXIT_EXTENDED); formatted output is console.c's, over board_puts. */
#include "semihost.h"

#define SYS_WRITE0		     0x04
#define SYS_EXIT_EXTENDED	     0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int semihost_call(int op, const void *arg)
{
	register int r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void semihost_write0(const char *s)
{
	semihost_call(SYS_WRITE0, s);
}

void semihost_exit(int code)
{
	/* The 32-bit SYS_EXIT carries no exit code; the extended form takes a
	 * block {reason, code}. */
	const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT,
				   (uint32_t)code};

	semihost_call(SYS_EXIT_EXTENDED, block);
	for (;;)
		;
}
