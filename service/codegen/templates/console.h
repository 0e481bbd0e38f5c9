/* SPDX-License-Identifier: Apache-2.0 */
/* console.h - printf for the board console: %d %u %x %s %c with an
 * optional l modifier and %%, no field widths; at most 255 characters per
 * call. */
#ifndef CONSOLE_H
#define CONSOLE_H

void console_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
