/*
 * Fuzz target for SEGGER RTT: core-1 memory as hostile as core 1 can make
 * it, read by the real agent, its messages through the host's session.
 * The input is a program over an area allocated to its exact size (an
 * access outside it is an AddressSanitizer error): a legitimate writer
 * (appcore/rtt_write.h) lays out three channels and writes to them, core 1
 * scribbles words and bytes anywhere in the area (counts, addresses,
 * sizes, offsets, names, the id), lays the block out again, the host stops
 * and resumes reading the link, and the agent polls.  After every step:
 *   - every agent message decodes (the session counts none malformed),
 *     DATA on a channel below 16 with 1..256 bytes;
 *   - the agent wrote nothing in the area but rd_off words of the
 *     control block it follows;
 *   - while core 1 has not scribbled since it last laid the block out,
 *     nothing is refused and each channel's bytes at the host are a
 *     prefix of what the writer wrote: nothing invented, lost in the
 *     middle, reordered or repeated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "appcore/rtt_write.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AREA_ADDR	0x3FCD0000u
#define AREA_SIZE	1024u
#define REGION_SIZE	AC_REGION_MIN_SIZE
#define STREAM_MAX	8192u

static _Alignas(64) uint8_t region[REGION_SIZE];
static uint8_t *area;
static struct ac_agent agent;
static struct session host;
static struct ac_rtt_writer w;
static uint64_t now_us;
static bool reading, clean;
static uint8_t written[3][STREAM_MAX], got[3][STREAM_MAX];
static uint32_t nwritten[3], ngot[3];
static int refused;

static const struct ac_rtt_chan chans[3] = {
	{ "Terminal", 64, AC_RTT_MODE_TRIM },
	{ "defmt", 32, AC_RTT_MODE_SKIP },
	{ "x", 16, AC_RTT_MODE_TRIM },
};

static void
on_rtt(void *arg, const struct ac_msg_rtt *m)
{
	(void)arg;
	if (m->kind == AC_RTT_REFUSED)
		refused++;
	if (m->kind != AC_RTT_DATA)
		return;
	if (m->channel >= AC_RTT_MAX_BUFFERS || m->len < 1 ||
	    m->len > AC_RTT_CHUNK)
		abort();
	if (m->channel < 3 && ngot[m->channel] + m->len <= STREAM_MAX) {
		memcpy(got[m->channel] + ngot[m->channel], m->data, m->len);
		ngot[m->channel] += m->len;
	}
}

static uint64_t
clock_us(void *ctx)
{
	(void)ctx;
	return now_us;
}

static const struct session_cb cb = { .rtt = on_rtt };
static const struct ac_port port = { .now_us = clock_us };

static void
drain(void)
{
	const uint8_t *p;
	size_t n;

	while (reading && (p = ac_agent_tx_peek(&agent, &n)) != NULL) {
		session_feed(&host, p, n);
		ac_agent_tx_consume(&agent, n);
	}
}

/* The only words the agent may write: rd_off of the block it follows. */
static bool
agent_may_write(uint32_t off)
{
	uint32_t d = off - agent.rtt.cb - AC_RTT_HDR;

	return off >= agent.rtt.cb + AC_RTT_HDR && d / AC_RTT_DESC <
	    AC_RTT_MAX_BUFFERS && d % AC_RTT_DESC / 4 == AC_RTT_D_RD;
}

static void
poll_checked(uint64_t step_us)
{
	static uint8_t before[AREA_SIZE];

	memcpy(before, area, AREA_SIZE);
	now_us += step_us;
	(void)ac_agent_poll(&agent);
	for (uint32_t i = 0; i < AREA_SIZE; i++)
		if (area[i] != before[i] && !agent_may_write(i & ~3u))
			abort();
	drain();
	if (host.st.malformed != 0)
		abort();
	if (clean) {
		if (refused != 0)
			abort();
		for (int c = 0; c < 3; c++)
			if (ngot[c] > nwritten[c] ||
			    memcmp(got[c], written[c], ngot[c]) != 0)
				abort();
	}
}

static void
lay_out(void)
{
	drain();
	/* Bytes still queued belong to the old layout. */
	clean = ac_agent_tx_peek(&agent, &(size_t){ 0 }) == NULL;
	memset(nwritten, 0, sizeof(nwritten));
	memset(ngot, 0, sizeof(ngot));
	refused = 0;
	if (ac_rtt_init(&w, area, AREA_ADDR, AREA_SIZE, chans, 3) != 0)
		abort();
}

static void
start(void)
{
	struct ac_agent_cfg cfg;

	free(area);
	area = calloc(1, AREA_SIZE);
	if (area == NULL)
		abort();
	(void)ac_core1_init(region, REGION_SIZE);
	ac_agent_cfg_defaults(&cfg);
	cfg.rtt_mem = area;
	cfg.rtt_addr = AREA_ADDR;
	cfg.rtt_size = AREA_SIZE;
	now_us = 1000000;
	session_init(&host, &cb, NULL);
	if (ac_agent_init(&agent, &cfg, &port, region, REGION_SIZE) != 0)
		abort();
	reading = true;
	lay_out();
	clean = true;
}

static uint32_t
take(const uint8_t **p, size_t *n, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes && *n > 0; i++, (*p)++, (*n)--)
		v |= (uint32_t)**p << (8 * i);
	return v;
}

static void
write_op(const uint8_t **p, size_t *n)
{
	uint32_t c = take(p, n, 1) % 3, len = take(p, n, 1) % 48;
	uint8_t buf[48];
	uint32_t k;

	for (k = 0; k < len && *n > 0; k++)
		buf[k] = (uint8_t)take(p, n, 1);
	/* A scribbled mode of "block" would wait here for ever: nobody
	 * polls the agent while this writes. */
	if ((ac_rtt__desc(&w, c)[AC_RTT_D_FLAGS] & 3u) == AC_RTT_MODE_BLOCK)
		return;
	k = ac_rtt_write(&w, c, buf, k);
	if (nwritten[c] + k <= STREAM_MAX)
		memcpy(written[c] + nwritten[c], buf, k);
	nwritten[c] += k;
}

/* Core 1 scribbles: a word (often one that matters), or a byte. */
static void
scribble(const uint8_t **p, size_t *n, bool word)
{
	uint32_t off = take(p, n, 2) % AREA_SIZE, v = take(p, n, word ? 4 : 1);

	if (word) {
		off &= ~3u;
		/* Half the time a field of the block: counts, descriptors. */
		if (off & 0x200)
			off = 16 + off % (AC_RTT_HDR - 16 + 4 * AC_RTT_DESC) / 4 *
			    4;
		memcpy(area + off, &v, 4);
	} else {
		area[off] = (uint8_t)v;
	}
	clean = false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t n = size;
	int steps = 0;

	start();
	while (n > 0 && steps++ < 400) {
		switch (take(&p, &n, 1) % 8) {
		case 0:
		case 1:
			write_op(&p, &n);
			break;
		case 2:
			scribble(&p, &n, true);
			break;
		case 3:
			scribble(&p, &n, false);
			break;
		case 4:
			lay_out();
			break;
		case 5:
			reading = !reading;
			break;
		case 6:
			poll_checked(1100000);	/* a search again */
			break;
		default:
			poll_checked(10000);
			break;
		}
	}
	reading = true;
	poll_checked(10000);
	return 0;
}
