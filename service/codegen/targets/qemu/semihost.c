/* semihost.c - Arm semihosting calls (SYS_WRITE0, SYS_EXIT_EXTENDED) and a
 * small printf for the QEMU target. */
#include "semihost.h"

#include <stdarg.h>

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

void semihost_printf(const char *fmt, ...)
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
		default: put(&o, '%'); put(&o, *f);
		}
	}
	va_end(ap);
	o.buf[o.n] = '\0';
	semihost_write0(o.buf);
}
