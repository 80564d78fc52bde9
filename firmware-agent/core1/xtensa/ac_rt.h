/*
 * The core-1 runtime for bare-metal Xtensa programs (call0 ABI): vectors
 * at VECBASE, and a handler that turns any CPU exception into the panic
 * record of appcore/core1.h (EXCCAUSE, the faulting PC, EXCVADDR, PS, SAR,
 * a0-a15 and a backtrace), then halts core 1 for the agent on core 0.
 *
 * A program calls ac_rt_init() once, after ac_core1_init():
 *
 *	struct ac_region *r = ac_core1_init(base, size);
 *	ac_rt_init(&(struct ac_rt_cfg){ r, text_start, text_end, stack_top });
 *
 * Written for LX106 as QEMU runs it (-cpu lx106: user vector at VECBASE +
 * 0x50, kernel + 0x30, double + 0x70); an ESP32-S3 (LX7, windowed ABI)
 * needs window overflow and underflow vectors as well (docs/porting.md).
 */
#ifndef APPCORE_AC_RT_H
#define APPCORE_AC_RT_H

#include <stdint.h>

#include "appcore/core1.h"

struct ac_rt_cfg {
	struct ac_region *region;
	uint32_t text_lo, text_hi;	/* where return addresses may point */
	uint32_t stack_top;		/* one past core 1's stack */
};

/* What the vectors saved (vectors.S writes it; offsets fixed there). */
struct ac_rt_frame {
	uint32_t kind;			/* AC_RT_USER, ... */
	uint32_t a[16];
	uint32_t pc;			/* EPC1, or DEPC for a double exception */
	uint32_t ps, sar, exccause, excvaddr;
};

#define AC_RT_USER	1
#define AC_RT_KERNEL	2
#define AC_RT_DOUBLE	3

void ac_rt_init(const struct ac_rt_cfg *);
/* The calling CPU takes the runtime's vectors and its CCOMPARE0 timer
 * interrupt (ac_rt_init does it for core 1; core 0 may call it alone). */
void ac_rt_timer_init(void);
/* Sleeps (WAITI: QEMU's host thread sleeps too) until CCOUNT reaches
 * when, or returns at once if it has. */
void ac_rt_sleep_until(uint32_t when);
/* The exception handler's C half (called from vectors.S, never returns). */
void ac_rt_exception(const struct ac_rt_frame *) __attribute__((noreturn));
/* Core 1 stops for good: interrupts off, the CPU waiting. */
void ac_rt_halt(void) __attribute__((noreturn));
/* The return addresses of the call chain at a fault, innermost first:
 * pc, then a0 and what the stack holds that a call0/callx0 put there.
 * Returns how many (at most max). */
uint32_t ac_rt_backtrace(const struct ac_rt_frame *, uint32_t *bt,
    uint32_t max);

#endif
