/* SPDX-License-Identifier: Apache-2.0 */
/* console.c - a small printf over board_puts (no libc stdio: keeps the
 * image small and needs no system calls). */
#include "console.h"

#include <stdarg.h>

#include "board.h"

struct out {
	char buf[256];
	unsigned n;
};

static void put(struct out *o, char c)
{
	if (o->n < sizeof o->buf - 1)
		o->buf[o->n++] = c;
}

static void put_unsigned(struct out *o, unsigned long v, unsigned base)
{
	char digits[24];
	int n = 0;

	do {
		unsigned d = (unsigned)(v % base);
		digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	while (n)
		put(o, digits[--n]);
}

void console_printf(const char *fmt, ...)
{
	struct out o;
	va_list ap;

	o.n = 0;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++) {
		int is_long = 0;

		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f++;
		if (*f == 'l') {
			is_long = 1;
			f++;
		}
		switch (*f) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			while (s && *s)
				put(&o, *s++);
			break;
		}
		case 'c': put(&o, (char)va_arg(ap, int)); break;
		case 'd': {
			long v = is_long ? va_arg(ap, long) : va_arg(ap, int);
			unsigned long u = (unsigned long)v;
			if (v < 0) {
				put(&o, '-');
				u = 0ul - u;
			}
			put_unsigned(&o, u, 10);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long u = is_long ? va_arg(ap, unsigned long)
						  : va_arg(ap, unsigned);
			put_unsigned(&o, u, *f == 'u' ? 10 : 16);
			break;
		}
		case '%': put(&o, '%'); break;
		case '\0': f--; break;
		default:
			put(&o, '%');
			put(&o, *f);
		}
	}
	va_end(ap);
	o.buf[o.n] = '\0';
	board_puts(o.buf);
}
