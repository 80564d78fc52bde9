/*
 * The emulated board (docs/emulated-board.md): QEMU's Xtensa with two
 * CPUs; CPU 0 runs the agent (core0.c), CPU 1 the core-1 program
 * (core1_demo.c).  What core 0 tells core 1 before releasing it.
 */
#ifndef APPCORE_QEMU_BOARD_H
#define APPCORE_QEMU_BOARD_H

#include <stdint.h>

#define BOARD_REGION_SIZE	0x20000u	/* as the S3's default */

enum board_fault { FAULT_NONE, FAULT_ILLEGAL, FAULT_UNALIGNED, FAULT_BUS };

struct board_core1_cfg {
	uint32_t counters;
	uint32_t cycles_per_ms;		/* CCOUNT ticks */
	uint32_t panic_after_ms;	/* 0: never */
	uint32_t fault;			/* enum board_fault */
	uint32_t hang_after_ms;		/* 0: never */
	uint32_t seed;
};

extern volatile struct board_core1_cfg board_core1_cfg;
extern uint8_t board_region[BOARD_REGION_SIZE];

void core1_demo_main(void);

#endif
