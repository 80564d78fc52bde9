/*
 * The agent on the demo workload under a fake clock: wire bytes per
 * counter-sample, and (under callgrind) instructions per sample.
 *
 * usage: bench_agent RATE_HZ COUNTERS SECONDS [agent|naive]
 *
 * "naive" is the baseline for the same run: every sample sent as its raw
 * 32-bit values in its own COBS + CRC-32C frame, no delta coding.
 * Deterministic: the same arguments give the same bytes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "sim.h"

#define REGION_SIZE	AC_REGION_DEFAULT_SIZE

static _Alignas(64) uint8_t mem[REGION_SIZE];
static uint64_t now_us;

static uint64_t
clock_us(void *ctx)
{
	(void)ctx;
	return now_us;
}

/* The baseline sampler; its own function so callgrind can count it. */
__attribute__((noinline)) void naive_poll(const struct ac_region *r,
    uint32_t ncols, uint64_t t, uint32_t seq, uint64_t *bytes);

__attribute__((noinline)) void
naive_poll(const struct ac_region *r, uint32_t ncols, uint64_t t,
    uint32_t seq, uint64_t *bytes)
{
	uint8_t payload[8 + 4 * AC_MAX_COUNTERS], frame[AC_FRAME_MAX_ENC];
	size_t n;

	memcpy(payload, &t, 8);
	for (uint32_t i = 0; i < ncols; i++) {
		uint32_t v = AC_LOAD(&r->counters[i]);

		memcpy(payload + 8 + 4 * i, &v, 4);
	}
	n = ac_frame_encode(frame, sizeof(frame), AC_MSG_SAMPLES, seq,
	    payload, 8 + 4 * ncols);
	*bytes += n;
}

int
main(int argc, char **argv)
{
	static struct ac_agent agent;
	static const struct ac_port port = { .now_us = clock_us };
	struct ac_agent_cfg cfg;
	struct sim_workload w;
	struct ac_region *r;
	uint32_t rate, counters, secs;
	bool naive;
	uint64_t bytes = 0, next = 0, samples = 0, naive_next = 0;
	uint32_t seq = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_agent RATE COUNTERS SECONDS "
		    "agent|naive\n");
		return 2;
	}
	rate = (uint32_t)atoi(argv[1]);
	counters = (uint32_t)atoi(argv[2]);
	secs = (uint32_t)atoi(argv[3]);
	naive = strcmp(argv[4], "naive") == 0;
	r = ac_core1_init(mem, REGION_SIZE);
	sim_workload_init(&w, r, counters, 1, 1);
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = rate;
	if (!naive && ac_agent_init(&agent, &cfg, &port, mem, REGION_SIZE)) {
		fprintf(stderr, "bench_agent: bad configuration\n");
		return 2;
	}
	for (uint64_t block = 0; block < (uint64_t)secs * 1000; block++) {
		sim_workload_step(&w, r, (double)block / 1000.0);
		now_us += 1000;
		if (naive) {
			while (now_us >= naive_next) {
				naive_poll(r, counters, now_us, seq++, &bytes);
				naive_next += 1000000u / rate;
				samples++;
			}
			continue;
		}
		while (now_us >= next) {
			const uint8_t *p;
			size_t n;

			next = ac_agent_poll(&agent);
			while ((p = ac_agent_tx_peek(&agent, &n)) != NULL) {
				bytes += n;
				ac_agent_tx_consume(&agent, n);
			}
		}
	}
	if (!naive)
		samples = agent.st.samples;
	printf("%s rate %u counters %u seconds %u samples %" PRIu64
	    " bytes %" PRIu64 " bytes_per_counter_sample %.3f"
	    " bytes_per_second %.0f dropped %" PRIu64 "\n",
	    naive ? "naive" : "agent", rate, counters, secs, samples, bytes,
	    (double)bytes / ((double)samples * counters),
	    (double)bytes / secs, naive ? 0 : agent.st.samples_dropped);
	return 0;
}
