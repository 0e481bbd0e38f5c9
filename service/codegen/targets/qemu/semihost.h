/* SPDX-License-Identifier: Apache-2.0 */
/* semihost.h - console output and exit for the QEMU target through Arm
 * semihosting (`bkpt 0xab`; QEMU must run with -semihosting). */
#ifndef QEMU_SEMIHOST_H
#define QEMU_SEMIHOST_H

#include <stdint.h>

/* Writes a NUL-terminated string to the host's stdout (SYS_WRITE0). */
void semihost_write0(const char *s);

/* Ends the emulation; QEMU exits with `code` (SYS_EXIT_EXTENDED). */
void semihost_exit(int code) __attribute__((noreturn));

#endif
