/*
 * Core 1 of the exception test: the core-1 runtime, a counter, and a call
 * chain three deep whose innermost function takes a real CPU exception,
 * chosen at build time (-DFAULT=...): an illegal instruction, an
 * unaligned load, or a load from an address nothing answers.
 */
#include <stdint.h>

#include "appcore/core1.h"
#include "ac_rt.h"

#define REGION_SIZE	0x8000u

extern uint8_t shared_region[];
extern uint8_t __text_start[], __text_end[];

void core1_main(void);
void fault_outer(uint32_t);
void fault_middle(uint32_t);
void fault_inner(uint32_t);

volatile uint32_t sink;
/* Where the faulting load reads: not known to the compiler, which would
 * otherwise split an unaligned load into byte loads. */
volatile uintptr_t fault_address =
#if FAULT == 2
    0x60000001u;
#else
    0x10000000u;
#endif

__attribute__((noinline)) void
fault_inner(uint32_t v)
{
	sink = v;
#if FAULT == 1			/* illegal instruction */
	__asm__ volatile ("movi a2, 0x1234; movi a3, 0x5678; ssai 13; ill" :
	    : : "a2", "a3");
#else				/* 2: unaligned; 3: nothing answers */
	sink = *(volatile uint32_t *)fault_address;
#endif
	sink = v + 1;
}

__attribute__((noinline)) void
fault_middle(uint32_t v)
{
	fault_inner(v * 3);
	sink = v;
}

__attribute__((noinline)) void
fault_outer(uint32_t v)
{
	fault_middle(v + 7);
	sink = v;
}

void
core1_main(void)
{
	struct ac_region *r = ac_core1_init(shared_region, REGION_SIZE);

	ac_rt_init(&(struct ac_rt_cfg){ r, (uint32_t)(uintptr_t)__text_start,
	    (uint32_t)(uintptr_t)__text_end,
	    (uint32_t)(uintptr_t)(shared_region + REGION_SIZE) });
	(void)ac_counter_register(r, 0, "loops", "", AC_KIND_COUNTER, 0);
	ac_set_running(r);
	for (uint32_t i = 0; i < 1000; i++) {
		ac_counter_add(r, 0, 1);
		ac_heartbeat(r);
	}
	fault_outer(5);
	ac_rt_halt();
}
