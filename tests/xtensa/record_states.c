/*
 * Records the region states of the simulator's audio workload (the
 * demo's core 1, firmware-agent/port/posix/sim_core1.c) for replay.h:
 * per 1 ms step, the ranges of the region that changed.
 * usage: record_states COUNTERS MILLISECONDS > recording
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcore/core1.h"
#include "sim.h"

#define SIZE	AC_REGION_DEFAULT_SIZE
#define GAP	8	/* equal bytes that do not end a range */

static _Alignas(64) uint8_t mem[SIZE];
static uint8_t before[SIZE];

static void
put_u32(uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, stdout);
}

static void
put_u16(uint32_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	fwrite(b, 1, 2, stdout);
}

/* The ranges where mem differs from before, at most 65535 bytes each. */
static void
put_step(void)
{
	uint32_t start[4096], len[4096], n = 0;

	for (uint32_t i = 0; i < SIZE && n < 4096;) {
		uint32_t j, same = 0;

		if (mem[i] == before[i]) {
			i++;
			continue;
		}
		for (j = i; j < SIZE && j - i < 65535 && same < GAP; j++)
			same = mem[j] == before[j] ? same + 1 : 0;
		start[n] = i;
		len[n++] = j - i - same;
		i = j;
	}
	put_u16(n);
	for (uint32_t k = 0; k < n; k++) {
		put_u32(start[k]);
		put_u16(len[k]);
		fwrite(mem + start[k], 1, len[k], stdout);
	}
	memcpy(before, mem, SIZE);
}

int
main(int argc, char **argv)
{
	struct sim_workload w;
	struct ac_region *r;
	uint32_t counters, ms;

	if (argc != 3 || (counters = (uint32_t)atoi(argv[1])) == 0 ||
	    counters > AC_MAX_COUNTERS || (ms = (uint32_t)atoi(argv[2])) == 0) {
		fprintf(stderr, "usage: record_states COUNTERS MILLISECONDS\n");
		return 2;
	}
	r = ac_core1_init(mem, SIZE);
	sim_workload_init(&w, r, counters, 1, 1);
	fwrite("ACRS", 1, 4, stdout);
	put_u32(SIZE);
	put_u32(ms);
	put_u32(counters);
	put_step();			/* step 0: all of it */
	for (uint32_t s = 1; s < ms; s++) {
		sim_workload_step(&w, r, (double)s / 1000.0);
		put_step();
	}
	return fflush(stdout) != 0;
}
