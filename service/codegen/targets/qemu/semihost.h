/* semihost.h - console output and exit for the QEMU target through Arm
 * semihosting (`bkpt 0xab`; QEMU must run with -semihosting). */
#ifndef QEMU_SEMIHOST_H
#define QEMU_SEMIHOST_H

#include <stdint.h>

/* Writes a NUL-terminated string to the host's stdout (SYS_WRITE0). */
void semihost_write0(const char *s);

/* printf subset: %s %c %d %u %x (with an l modifier), %%; at most 255
 * characters per call (the rest is cut). */
void semihost_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Ends the emulation; QEMU exits with `code` (SYS_EXIT_EXTENDED). */
void semihost_exit(int code) __attribute__((noreturn));

#endif
