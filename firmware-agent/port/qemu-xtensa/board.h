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

/*
 * What core 0 hands core 1, at a fixed address, so that a core-1 program
 * in a slot image (linked on its own) finds it as the built-in one does.
 */
struct board_boot {
	struct board_core1_cfg cfg;
	uint32_t region;		/* the shared region's address */
};
#define BOARD_BOOT_ADDR		0x63FFF000u
#define board_boot		(*(volatile struct board_boot *)BOARD_BOOT_ADDR)

/* Where a slot's image runs: core 0 copies it here before starting core
 * 1 (the stand-in for the S3's MMU mapping of the slot at 0x42400000). */
#define BOARD_IMAGE_BASE	0x64000000u
#define BOARD_IMAGE_MAX		0x100000u

extern uint8_t board_region[BOARD_REGION_SIZE];

void core1_demo_main(void);

/* core0.c: core 1's hardware controls, through the launcher. */
int board_core1_hold(void);			/* RUNSTALL */
int board_core1_start_at(uint32_t entry);	/* reset, run from entry */

/* slots.c: the image slots as host files (semihosting). */
struct ac_port;
void board_slots_init(struct ac_port *, const int fds[4], uint32_t size);
/* The entry a slot's image starts at, once copied to BOARD_IMAGE_BASE;
 * 0 when it cannot be loaded. */
struct ac_slot_info;
uint32_t board_slot_load(uint8_t slot, const struct ac_slot_info *);

#endif
