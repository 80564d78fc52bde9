/*
 * ELF core files of core-1 crashes, as ESP-IDF's espcoredump writes them,
 * so that Xtensa GDB opens them beside the core-1 ELF: ET_CORE, EM_XTENSA,
 * one PT_NOTE with an NT_PRSTATUS in the 129-word Xtensa gregset layout,
 * and one PT_LOAD per captured region at its real address.
 * docs/crash-dumps.md gives the layout and its sources.
 */
#ifndef APPCORE_COREDUMP_H
#define APPCORE_COREDUMP_H

#include <stddef.h>
#include <stdint.h>

struct core_regs {
	uint32_t pc, ps, sar, lbeg, lend, lcount;
	uint32_t windowstart, windowbase;
	uint32_t ar[64];		/* physical registers */
	uint32_t signal;		/* pr_cursig */
};

struct core_region {
	uint32_t addr;
	const uint8_t *data;
	uint32_t size;
};

#define CORE_PRSTATUS_SIZE	(72 + 129 * 4)	/* 588 */

/* A malloc'd ELF core file of *len bytes, or NULL (out of memory). */
uint8_t *coredump_elf(const struct core_regs *, const struct core_region *,
    int nregions, size_t *len);

#endif
