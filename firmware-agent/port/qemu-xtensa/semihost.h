/*
 * QEMU's Xtensa semihosting (target/xtensa/xtensa-semi.c): simcall with
 * the call number in a2 and arguments in a3..a5; the result in a2.
 */
#ifndef APPCORE_XT_SEMIHOST_H
#define APPCORE_XT_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

#define SH_SYS_EXIT	1
#define SH_SYS_READ	3
#define SH_SYS_WRITE	4
#define SH_SYS_SELECT_ONE 29
#define SH_SYS_ARGC	1000
#define SH_SYS_ARGV_SZ	1001
#define SH_SYS_ARGV	1002
#define SH_SELECT_READ	1

static inline int32_t
sh_call(int32_t nr, int32_t a, int32_t b, int32_t c)
{
	register int32_t a2 __asm__("a2") = nr;
	register int32_t a3 __asm__("a3") = a;
	register int32_t a4 __asm__("a4") = b;
	register int32_t a5 __asm__("a5") = c;

	__asm__ volatile ("simcall" : "+r"(a2), "+r"(a3) : "r"(a4), "r"(a5)
	    : "memory");
	return a2;
}

/* All of p to the host's fd (1 stdout, 2 stderr); -1 on failure. */
static inline int
sh_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		int32_t w = sh_call(SH_SYS_WRITE, fd, (int32_t)(uintptr_t)b,
		    (int32_t)n);

		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Whether the host's fd has bytes to read, without waiting. */
static inline int
sh_readable(int fd)
{
	static const int32_t zero_timeout[2] = { 0, 0 };

	return sh_call(SH_SYS_SELECT_ONE, fd, SH_SELECT_READ,
	    (int32_t)(uintptr_t)zero_timeout) > 0;
}

/* Up to n bytes from the host's fd: how many, 0 when none or on error. */
static inline size_t
sh_read(int fd, void *p, size_t n)
{
	int32_t r = sh_call(SH_SYS_READ, fd, (int32_t)(uintptr_t)p,
	    (int32_t)n);

	return r > 0 ? (size_t)r : 0;
}

/* As much of p as the host's fd takes now (0 when it would block). */
static inline size_t
sh_write_some(int fd, const void *p, size_t n)
{
	int32_t r = sh_call(SH_SYS_WRITE, fd, (int32_t)(uintptr_t)p,
	    (int32_t)n);

	return r > 0 ? (size_t)r : 0;
}

static inline uint32_t
xt_ccount(void)
{
	uint32_t v;

	__asm__ volatile ("rsr.ccount %0" : "=r"(v));
	return v;
}

#endif
