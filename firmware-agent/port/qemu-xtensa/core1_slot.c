/*
 * The demo's core-1 program as a slot image of its own (docs/updates.md):
 * linked to run at BOARD_IMAGE_BASE with the image header first, started
 * by core 0 at core1_slot_entry with a1 at the top of its stack.  It
 * clears its .bss and runs the same workload as the built-in program,
 * which core 0 describes in the boot block (board.h).
 */
#include <stdint.h>

#include "board.h"

extern uint32_t __bss_start[], __bss_end[];

void core1_slot_entry(void);

void
core1_slot_entry(void)
{
	for (volatile uint32_t *p = __bss_start; p < __bss_end; p++)
		*p = 0;
	core1_demo_main();
}
