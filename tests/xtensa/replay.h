/*
 * The agent on a recorded sequence of region states (record_states.c):
 * the same code runs on the host and, built for Xtensa, under QEMU; both
 * hand every wire byte to out(), which must be equal byte for byte.
 *
 * The recording: "ACRS", region size, steps, counters (u32 LE each), then
 * per 1 ms step a u16 count of ranges, each a u32 offset, a u16 length
 * and its bytes: what core 1 changed in the region during that step
 * (step 0 is the whole initial region).
 */
#ifndef APPCORE_XT_REPLAY_H
#define APPCORE_XT_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct replay_result {
	uint32_t steps, polls;
	uint64_t samples;
	uint64_t bytes;
	uint64_t insns;		/* executed inside ac_agent_poll, all polls */
	uint32_t overhead;	/* of one measurement, subtracted from each */
	int error;		/* 0, or where the recording is bad */
};

/* A cycle counter, and the instructions a difference of it means. */
struct replay_clock {
	uint32_t (*read)(void);
	uint32_t (*insns)(uint32_t delta);
};

/* region: at least the recording's region size, 4-aligned. */
void replay_run(const uint8_t *rec, size_t len, uint8_t *region,
    size_t region_cap, void (*out)(const uint8_t *, size_t),
    const struct replay_clock *, struct replay_result *);

/* The naive sampler on the same states: one raw frame per step. */
void replay_naive(const uint8_t *rec, size_t len, uint8_t *region,
    size_t region_cap, const struct replay_clock *, struct replay_result *);

#endif
