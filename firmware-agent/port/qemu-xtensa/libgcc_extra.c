/*
 * What Debian's libgcc for lx106 lacks and compiled C asks for
 * (../shared/notes/xtensa-qemu.md): 32- and 64-bit unsigned and signed
 * division (shift and subtract: slow and simple; the agent's poll divides
 * only when a hang is found) and 64-bit multiplication.
 */
#include <stdint.h>

/* How often each ran: what a cost measured with these includes. */
uint32_t xt_div64_calls, xt_div32_calls, xt_mul64_calls;

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);
uint32_t __udivsi3(uint32_t n, uint32_t d);
uint32_t __umodsi3(uint32_t n, uint32_t d);
int32_t __divsi3(int32_t n, int32_t d);
int32_t __modsi3(int32_t n, int32_t d);
uint64_t __muldi3(uint64_t a, uint64_t b);

uint64_t
__udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t q = 0, r = 0;

	xt_div64_calls++;
	if (d == 0) {			/* as the hardware would not say */
		if (rem != 0)
			*rem = n;
		return ~(uint64_t)0;
	}
	for (int i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (uint64_t)1 << i;
		}
	}
	if (rem != 0)
		*rem = r;
	return q;
}

uint64_t
__udivdi3(uint64_t n, uint64_t d)
{
	return __udivmoddi4(n, d, 0);
}

uint64_t
__umoddi3(uint64_t n, uint64_t d)
{
	uint64_t r;

	(void)__udivmoddi4(n, d, &r);
	return r;
}

static uint64_t
mag(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

int64_t
__divdi3(int64_t n, int64_t d)
{
	uint64_t q = __udivmoddi4(mag(n), mag(d), 0);

	return (int64_t)((n < 0) != (d < 0) ? (uint64_t)0 - q : q);
}

int64_t
__moddi3(int64_t n, int64_t d)
{
	uint64_t r;

	(void)__udivmoddi4(mag(n), mag(d), &r);
	return (int64_t)(n < 0 ? (uint64_t)0 - r : r);
}

/* 32 bits by 32: the common case, without 64-bit steps. */
static uint32_t
udivmodsi4(uint32_t n, uint32_t d, uint32_t *rem)
{
	uint32_t q = 0, r = 0;

	xt_div32_calls++;
	if (d == 0) {
		*rem = n;
		return ~(uint32_t)0;
	}
	for (int i = 31; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (uint32_t)1 << i;
		}
	}
	*rem = r;
	return q;
}

uint32_t
__udivsi3(uint32_t n, uint32_t d)
{
	uint32_t r;

	return udivmodsi4(n, d, &r);
}

uint32_t
__umodsi3(uint32_t n, uint32_t d)
{
	uint32_t r;

	(void)udivmodsi4(n, d, &r);
	return r;
}

int32_t
__divsi3(int32_t n, int32_t d)
{
	return (int32_t)__divdi3(n, d);
}

int32_t
__modsi3(int32_t n, int32_t d)
{
	return (int32_t)__moddi3(n, d);
}

/* 32 x 32 -> 64 from four 16 x 16 products: lx106 has a 32-bit MULL but
 * no MULUH (the S3's LX7 has both). */
static uint64_t
mul32x32(uint32_t a, uint32_t b)
{
	uint32_t a0 = a & 0xffff, a1 = a >> 16, b0 = b & 0xffff, b1 = b >> 16;
	uint32_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint32_t mid = (p00 >> 16) + (p01 & 0xffff) + (p10 & 0xffff);

	return (uint64_t)(p11 + (p01 >> 16) + (p10 >> 16) + (mid >> 16)) <<
	    32 | ((p00 & 0xffff) | mid << 16);
}

uint64_t
__muldi3(uint64_t a, uint64_t b)
{
	uint32_t alo = (uint32_t)a, ahi = (uint32_t)(a >> 32);
	uint32_t blo = (uint32_t)b, bhi = (uint32_t)(b >> 32);

	xt_mul64_calls++;
	return mul32x32(alo, blo) + ((uint64_t)(alo * bhi + ahi * blo) << 32);
}
