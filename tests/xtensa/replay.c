/* The agent on a recorded sequence of region states (replay.h). */
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "replay.h"

static uint64_t replay_now;

static uint64_t
replay_clock(void *ctx)
{
	(void)ctx;
	return replay_now;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Applies one step's ranges; the position after them, or 0 if bad. */
static size_t
apply_step(const uint8_t *rec, size_t len, size_t pos, uint8_t *region,
    uint32_t size)
{
	uint32_t nr;

	if (pos + 2 > len)
		return 0;
	nr = (uint32_t)rec[pos] | (uint32_t)rec[pos + 1] << 8;
	pos += 2;
	while (nr-- > 0) {
		uint32_t off, n;

		if (pos + 6 > len)
			return 0;
		off = get_u32(rec + pos);
		n = (uint32_t)rec[pos + 4] | (uint32_t)rec[pos + 5] << 8;
		pos += 6;
		if (off > size || n > size - off || n > len - pos)
			return 0;
		memcpy(region + off, rec + pos, n);
		pos += n;
	}
	return pos;
}

static void
drain(struct ac_agent *a, void (*out)(const uint8_t *, size_t),
    struct replay_result *res)
{
	const uint8_t *p;
	size_t n;

	while ((p = ac_agent_tx_peek(a, &n)) != NULL) {
		out(p, n);
		res->bytes += n;
		ac_agent_tx_consume(a, n);
	}
}

void
replay_run(const uint8_t *rec, size_t len, uint8_t *region,
    size_t region_cap, void (*out)(const uint8_t *, size_t),
    const struct replay_clock *clk, struct replay_result *res)
{
	static struct ac_agent agent;
	static const struct ac_port port = { .now_us = replay_clock };
	struct ac_agent_cfg cfg;
	uint32_t size, steps;
	uint64_t next = 0;
	size_t pos = 16;

	memset(res, 0, sizeof(*res));
	if (len < 16 || memcmp(rec, "ACRS", 4) != 0 ||
	    (size = get_u32(rec + 4)) > region_cap) {
		res->error = 1;
		return;
	}
	steps = get_u32(rec + 8);
	memset(region, 0, size);
	if ((pos = apply_step(rec, len, pos, region, size)) == 0) {
		res->error = 2;
		return;
	}
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = 1000;
	memcpy(cfg.device_id, "xtensa", 6);
	cfg.device_id_len = 6;
	cfg.boot_id = 0x5e1ec7ed;
	replay_now = 1000000;
	if (ac_agent_init(&agent, &cfg, &port, region, size) != 0) {
		res->error = 3;
		return;
	}
	{			/* what measuring costs by itself */
		uint32_t c0 = clk->read();

		res->overhead = clk->insns(clk->read() - c0);
	}
	for (uint32_t s = 1; s < steps; s++) {
		if ((pos = apply_step(rec, len, pos, region, size)) == 0) {
			res->error = 4;
			return;
		}
		replay_now += 1000;
		while (replay_now >= next) {
			uint32_t c0 = clk->read();

			next = ac_agent_poll(&agent);
			res->insns += clk->insns(clk->read() - c0) -
			    res->overhead;
			res->polls++;
			drain(&agent, out, res);
		}
		res->steps = s;
	}
	ac_agent_flush(&agent);
	drain(&agent, out, res);
	res->samples = agent.st.samples;
}

/* bench/bench_agent.c's baseline: every sample its raw 32-bit values in
 * a COBS + CRC-32C frame of its own, no delta coding. */
__attribute__((noinline)) static size_t
naive_poll(const struct ac_region *r, uint32_t ncols, uint64_t t,
    uint32_t seq)
{
	static uint8_t payload[8 + 4 * AC_MAX_COUNTERS];
	static uint8_t frame[AC_FRAME_MAX_ENC];

	memcpy(payload, &t, 8);
	for (uint32_t i = 0; i < ncols; i++) {
		uint32_t v = AC_LOAD(&r->counters[i]);

		memcpy(payload + 8 + 4 * i, &v, 4);
	}
	return ac_frame_encode(frame, sizeof(frame), AC_MSG_SAMPLES, seq,
	    payload, 8 + 4 * ncols);
}

void
replay_naive(const uint8_t *rec, size_t len, uint8_t *region,
    size_t region_cap, const struct replay_clock *clk,
    struct replay_result *res)
{
	uint32_t size, steps, ncols;
	size_t pos = 16;
	uint64_t t = 1000000;

	memset(res, 0, sizeof(*res));
	if (len < 16 || memcmp(rec, "ACRS", 4) != 0 ||
	    (size = get_u32(rec + 4)) > region_cap ||
	    (ncols = get_u32(rec + 12)) > AC_MAX_COUNTERS) {
		res->error = 1;
		return;
	}
	steps = get_u32(rec + 8);
	memset(region, 0, size);
	{
		uint32_t c0 = clk->read();

		res->overhead = clk->insns(clk->read() - c0);
	}
	for (uint32_t s = 0; s < steps; s++) {
		uint32_t c0;

		if ((pos = apply_step(rec, len, pos, region, size)) == 0) {
			res->error = 4;
			return;
		}
		t += 1000;
		c0 = clk->read();
		res->bytes += naive_poll((const struct ac_region *)(void *)
		    region, ncols, t, s);
		res->insns += clk->insns(clk->read() - c0) - res->overhead;
		res->polls++;
		res->samples++;
		res->steps = s;
	}
}
