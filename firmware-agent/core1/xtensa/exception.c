/* The core-1 runtime's C half (ac_rt.h). */
#include <stddef.h>
#include <stdint.h>

#include "ac_rt.h"

extern const uint8_t ac_rt_vector_base[];

static struct ac_rt_cfg rt;

static uint32_t
ccount(void)
{
	uint32_t v;

	__asm__ volatile ("rsr.ccount %0" : "=r"(v));
	return v;
}

#define TIMER0_INT	6	/* CCOMPARE0, level 1 (LX106) */

void
ac_rt_timer_init(void)
{
	__asm__ volatile ("wsr.vecbase %0; rsync" : :
	    "r"((uint32_t)(uintptr_t)ac_rt_vector_base) : "memory");
	__asm__ volatile ("wsr.intenable %0; rsync" : :
	    "r"(1u << TIMER0_INT) : "memory");
}

void
ac_rt_init(const struct ac_rt_cfg *cfg)
{
	rt = *cfg;
	ac_rt_timer_init();
}


/* Level 1 masked while the deadline is set and checked; WAITI 0 unmasks
 * and waits in one step, so the interrupt cannot slip in between. */
void
ac_rt_sleep_until(uint32_t when)
{
	uint32_t ps;

	__asm__ volatile ("rsil %0, 1" : "=r"(ps) : : "memory");
	__asm__ volatile ("wsr.ccompare0 %0; esync" : : "r"(when) :
	    "memory");
	if ((int32_t)(when - ccount()) > 0)
		__asm__ volatile ("waiti 0" : : : "memory");
	__asm__ volatile ("wsr.ps %0; rsync" : : "r"(ps) : "memory");
}

/* Out of exception mode with level-1 interrupts on, then asleep, waking
 * every 2^22 cycles (about 0.1 s at 40 MHz) and sleeping again: the
 * host's vCPU thread rests, and core 0 may reset core 1 meanwhile (its
 * new PC is taken at the next wake-up). */
void
ac_rt_halt(void)
{
	__asm__ volatile ("wsr.ps %0; rsync" : : "r"(0x20u) : "memory");
	for (;;)
		ac_rt_sleep_until(ccount() + (1u << 22));
}

/* Whether a is a return address: inside the text, just after a CALL0
 * (op0 5, n 0) or a CALLX0 (0xC0, s, 0) three bytes before it. */
static int
is_return_address(uint32_t a)
{
	const volatile uint8_t *c;

	if (a < rt.text_lo + 3 || a > rt.text_hi)
		return 0;
	c = (const volatile uint8_t *)(uintptr_t)(a - 3);
	if ((c[0] & 0x3f) == 0x05)
		return 1;
	return c[0] == 0xc0 && (c[1] & 0xf0) == 0 && c[2] == 0;
}

uint32_t
ac_rt_backtrace(const struct ac_rt_frame *f, uint32_t *bt, uint32_t max)
{
	uint32_t n = 0, sp = f->a[1];

	if (max == 0)
		return 0;
	bt[n++] = f->pc;
	if (n < max && is_return_address(f->a[0]))
		bt[n++] = f->a[0];
	/* Each caller's frame holds the return address its callee's call
	 * left in a0, saved by the callee's prologue: scan upwards. */
	if ((sp & 3) != 0 || sp >= rt.stack_top || rt.stack_top - sp > 65536)
		return n;
	for (uint32_t p = sp; p < rt.stack_top && n < max; p += 4) {
		uint32_t w = *(const volatile uint32_t *)(uintptr_t)p;

		if (is_return_address(w) && w != bt[n - 1])
			bt[n++] = w;
	}
	return n;
}

static const char *
cause_name(uint32_t c)
{
	static const char *const names[] = {
		"illegal instruction", "syscall", "instruction fetch error",
		"load/store error", "level-1 interrupt", "alloca",
		"integer divide by zero", "reserved", "privileged",
		"load/store alignment", "reserved", "reserved",
		"instruction PIF data error", "load/store PIF data error",
		"instruction PIF address error",
		"load/store PIF address error",
	};

	return c < sizeof(names) / sizeof(names[0]) ? names[c] : "exception";
}

void
ac_rt_exception(const struct ac_rt_frame *f)
{
	static uint32_t bt[AC_BT_MAX];
	struct ac_panic_info pi = {
		.reason = AC_PANIC_EXCEPTION,
		.msg = f->kind == AC_RT_DOUBLE ? "double exception" :
		    cause_name(f->exccause),
		.pc = f->pc, .sp = f->a[1], .ps = f->ps,
		.exccause = f->exccause, .excvaddr = f->excvaddr,
		.sar = f->sar,
		.ar = f->a,
	};

	pi.bt = bt;
	pi.bt_count = ac_rt_backtrace(f, bt, AC_BT_MAX);
	if (rt.region != NULL)
		ac_panic_record(rt.region, &pi);
	ac_rt_halt();
}
