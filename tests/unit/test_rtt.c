/*
 * SEGGER RTT through the real agent into the host's session: control
 * blocks written by the C helper (appcore/rtt_write.h) and by the Rust
 * crate (appcore_core1::Rtt, when built with cargo), read from an area
 * allocated to its exact size (ASan: a read outside it is an error).
 * Text and binary channels, wrap-around, a full buffer in skip, trim and
 * block mode, and control blocks that lie: refused, never followed.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "appcore/rtt_write.h"
#include "check.h"
#include "session.h"
#ifdef APPCORE_HAVE_RUST
#include "appcore_core1_host.h"
#endif

#define AREA_ADDR	0x3FC90000u
#define AREA_SIZE	4096u
#define REGION_SIZE	(32 * 1024)

/* ---- the writers ---- */

struct writer {
	const char *name;
	int (*init)(void *area, const struct ac_rtt_chan *up, uint32_t nup);
	uint32_t (*write)(void *area, uint32_t ch, const void *p, uint32_t n);
};

static struct ac_rtt_writer c_writer;

static int
c_init(void *area, const struct ac_rtt_chan *up, uint32_t nup)
{
	return ac_rtt_init(&c_writer, area, AREA_ADDR, AREA_SIZE, up, nup);
}

static uint32_t
c_write(void *area, uint32_t ch, const void *p, uint32_t n)
{
	(void)area;
	return ac_rtt_write(&c_writer, ch, p, n);
}

#ifdef APPCORE_HAVE_RUST
static int
rust_init(void *area, const struct ac_rtt_chan *up, uint32_t nup)
{
	return acr_rtt_init(area, AREA_ADDR, AREA_SIZE, up, nup);
}

static uint32_t
rust_write(void *area, uint32_t ch, const void *p, uint32_t n)
{
	return acr_rtt_write(area, AREA_ADDR, AREA_SIZE, ch, p, n);
}
#endif

static const struct writer writers[] = {
	{ "C helper", c_init, c_write },
#ifdef APPCORE_HAVE_RUST
	{ "Rust crate", rust_init, rust_write },
#endif
};

/* ---- the agent and the host ---- */

static uint64_t now_us = 1000000;
static _Alignas(64) uint8_t region[REGION_SIZE];
static uint8_t *area;			/* malloc'd, exactly AREA_SIZE */
static struct ac_agent agent;
static struct session host;

static struct {
	uint8_t bytes[AC_RTT_MAX_BUFFERS][16384];
	uint32_t len[AC_RTT_MAX_BUFFERS];
	uint32_t binary_chunks[AC_RTT_MAX_BUFFERS];
	int found, refused, channels;
	struct ac_msg_rtt last_refused, chan[AC_RTT_MAX_BUFFERS];
} got;

static void
on_rtt(void *arg, const struct ac_msg_rtt *m)
{
	(void)arg;
	switch (m->kind) {
	case AC_RTT_DATA:
		if (got.len[m->channel] + m->len <= sizeof(got.bytes[0])) {
			memcpy(got.bytes[m->channel] + got.len[m->channel],
			    m->data, m->len);
			got.len[m->channel] += m->len;
		}
		got.binary_chunks[m->channel] +=
		    (m->flags & AC_RTT_BINARY) != 0;
		break;
	case AC_RTT_FOUND:
		got.found++;
		break;
	case AC_RTT_CHANNEL:
		got.channels++;
		got.chan[m->channel] = *m;
		break;
	case AC_RTT_REFUSED:
		got.refused++;
		got.last_refused = *m;
		break;
	default:
		break;
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

/* One agent poll 10 ms later, its frames into the host. */
static void
pump(void)
{
	const uint8_t *p;
	size_t n;

	now_us += 10000;
	(void)ac_agent_poll(&agent);
	while ((p = ac_agent_tx_peek(&agent, &n)) != NULL) {
		session_feed(&host, p, n);
		ac_agent_tx_consume(&agent, n);
	}
}

static void
pumps(int n)
{
	while (n-- > 0)
		pump();
}

/* A fresh agent on a fresh area, the control block at `at`. */
static void
start(void)
{
	struct ac_agent_cfg cfg;

	free(area);
	area = calloc(1, AREA_SIZE);
	memset(&got, 0, sizeof(got));
	(void)ac_core1_init(region, REGION_SIZE);
	ac_agent_cfg_defaults(&cfg);
	cfg.rtt_mem = area;
	cfg.rtt_addr = AREA_ADDR;
	cfg.rtt_size = AREA_SIZE;
	session_init(&host, &cb, NULL);
	if (ac_agent_init(&agent, &cfg, &port, region, REGION_SIZE) != 0)
		abort();
}

static uint32_t
desc(uint32_t ch, uint32_t w)
{
	return ((uint32_t *)(void *)(area + AC_RTT_HDR))[ch * 6 + w];
}

static void
set_desc(uint32_t ch, uint32_t w, uint32_t v)
{
	((uint32_t *)(void *)(area + AC_RTT_HDR))[ch * 6 + w] = v;
}

static const struct ac_rtt_chan chans[] = {
	{ "Terminal", 64, AC_RTT_MODE_TRIM },
	{ "defmt", 64, AC_RTT_MODE_SKIP },
	{ "Block", 64, AC_RTT_MODE_BLOCK },
};

/* ---- the cases ---- */

static void
test_text_and_binary(const struct writer *w)
{
	static const uint8_t frame[] = { 0x01, 0x00, 0xff, 0x7f, 0x03 };

	start();
	CHECK(w->init(area, chans, 3) == 0, "%s: control block laid out",
	    w->name);
	pumps(2);
	CHECK(got.found == 1 && got.channels == 3 &&
	    strcmp(got.chan[0].name, "Terminal") == 0 &&
	    strcmp(got.chan[1].name, "defmt") == 0 &&
	    (got.chan[1].flags & AC_RTT_BINARY) != 0 &&
	    got.chan[0].addr == desc(0, AC_RTT_D_BUFFER) &&
	    got.chan[0].size == 64,
	    "%s: found, three channels announced with names, addresses and "
	    "sizes; \"defmt\" as binary", w->name);
	CHECK(w->write(area, 0, "hello, rtt\n", 11) == 11 &&
	    w->write(area, 1, frame, sizeof(frame)) == sizeof(frame),
	    "%s: written", w->name);
	pumps(1);
	CHECK(got.len[0] == 11 && memcmp(got.bytes[0], "hello, rtt\n", 11) == 0
	    && got.binary_chunks[0] == 0, "%s: the text line arrives as text",
	    w->name);
	CHECK(got.len[1] == sizeof(frame) &&
	    memcmp(got.bytes[1], frame, sizeof(frame)) == 0 &&
	    got.binary_chunks[1] == 1, "%s: the defmt bytes arrive as bytes, "
	    "flagged binary", w->name);
	CHECK(desc(0, AC_RTT_D_RD) == 11 && desc(1, AC_RTT_D_RD) == 5,
	    "%s: the agent advanced both read offsets as a probe would",
	    w->name);
}

static void
test_wrap(const struct writer *w)
{
	uint8_t want[3000];
	uint32_t sent = 0;

	start();
	(void)w->init(area, chans, 3);
	for (uint32_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)('a' + i % 26);
	while (sent < sizeof(want)) {
		uint32_t n = sizeof(want) - sent < 37 ? sizeof(want) - sent : 37;

		sent += w->write(area, 0, want + sent, n);
		pump();
	}
	pumps(2);
	CHECK(got.len[0] == sizeof(want) &&
	    memcmp(got.bytes[0], want, sizeof(want)) == 0,
	    "%s: 3000 bytes through a 64-byte buffer, wrapping 47 times, "
	    "arrive in order (%u)", w->name, got.len[0]);
}

static void
test_full(const struct writer *w)
{
	uint8_t x[40];

	start();
	(void)w->init(area, chans, 3);
	memset(x, 'x', sizeof(x));
	/* Nobody reads: the agent is not polled. */
	CHECK(w->write(area, 1, x, 40) == 40 && w->write(area, 1, x, 40) == 0,
	    "%s: skip mode: a write that does not fit is dropped whole",
	    w->name);
	CHECK(w->write(area, 0, x, 40) == 40 && w->write(area, 0, x, 40) == 23,
	    "%s: trim mode: what fits is written (63 of a 64-byte buffer)",
	    w->name);
	pumps(2);
	CHECK(got.len[1] == 40 && got.len[0] == 63, "%s: the host gets "
	    "exactly what was written (%u, %u)", w->name, got.len[1],
	    got.len[0]);
}

/* Block mode: the writer waits for the agent, nothing is lost. */
struct blocker {
	const struct writer *w;
	uint8_t data[5000];
	atomic_uint written;
};

static void *
block_writer(void *arg)
{
	struct blocker *b = arg;
	uint32_t done = 0;

	while (done < sizeof(b->data)) {
		uint32_t n = sizeof(b->data) - done < 100 ? sizeof(b->data) -
		    done : 100;

		done += b->w->write(area, 2, b->data + done, n);
		atomic_store(&b->written, done);
	}
	return NULL;
}

static void
test_block(const struct writer *w)
{
	static struct blocker b;
	pthread_t th;
	int polls = 0;

	start();
	(void)w->init(area, chans, 3);
	b.w = w;
	atomic_store(&b.written, 0);
	for (uint32_t i = 0; i < sizeof(b.data); i++)
		b.data[i] = (uint8_t)(i * 7 + i / 256);
	pthread_create(&th, NULL, block_writer, &b);
	while (got.len[2] < sizeof(b.data) && polls++ < 2000000)
		pump();
	pthread_join(th, NULL);
	CHECK(atomic_load(&b.written) == sizeof(b.data) &&
	    got.len[2] == sizeof(b.data) &&
	    memcmp(got.bytes[2], b.data, sizeof(b.data)) == 0,
	    "%s: block mode: 5000 bytes through a 64-byte buffer, the writer "
	    "waiting on the agent, all in order", w->name);
}

static void
refused_case(const char *what, void (*lie)(void), uint8_t why)
{
	start();
	(void)c_init(area, chans, 3);
	(void)c_write(area, 0, "0123", 4);
	(void)c_write(area, 1, "4567", 4);
	lie();
	pumps(3);
	now_us += 3000000;		/* three more searches */
	pumps(400);
	CHECK(got.refused == 1 && got.last_refused.why == why &&
	    got.found == 0 && got.len[0] == 0 && got.len[1] == 0,
	    "%s: refused once (%s), never followed (%d refusals, %u bytes)",
	    what, ac_rtt_why_name(why), got.refused, got.len[0]);
}

static void lie_counts(void) { ((uint32_t *)(void *)area)[4] = 1000; }
static void lie_negative(void) { ((uint32_t *)(void *)area)[5] = 0x80000000u; }
static void lie_outside(void) { set_desc(1, AC_RTT_D_BUFFER, 0x3FC00000u); }
static void lie_past_end(void)
{
	set_desc(0, AC_RTT_D_BUFFER, AREA_ADDR + AREA_SIZE - 16);
	set_desc(0, AC_RTT_D_SIZE, 64);
}
static void lie_wrap(void)
{
	set_desc(0, AC_RTT_D_BUFFER, AREA_ADDR + 512);
	set_desc(0, AC_RTT_D_SIZE, 0xFFFFFFF0u);	/* wraps past 2^32 */
}
static void lie_offset(void) { set_desc(2, AC_RTT_D_WR, 64); }
static void lie_tiny(void) { set_desc(0, AC_RTT_D_SIZE, 1); }

/* The last descriptors would run past the range's end. */
static void
lie_block(void)
{
	uint8_t id[AC_RTT_HDR];

	memcpy(id, area, sizeof(id));
	memcpy(area + AREA_SIZE - 32, id, 16);
	memset(area, 0, 16);
	((uint32_t *)(void *)(area + AREA_SIZE - 32))[4] = 2;
	((uint32_t *)(void *)(area + AREA_SIZE - 32))[5] = 0;
}

static void
test_lies(void)
{
	refused_case("1000 up-buffers", lie_counts, AC_RTT_WHY_COUNTS);
	refused_case("a negative down-buffer count", lie_negative,
	    AC_RTT_WHY_COUNTS);
	refused_case("a buffer outside the range", lie_outside,
	    AC_RTT_WHY_BUFFER);
	refused_case("a buffer past the range's end", lie_past_end,
	    AC_RTT_WHY_BUFFER);
	refused_case("a size that wraps 2^32", lie_wrap, AC_RTT_WHY_BUFFER);
	refused_case("a write offset past its buffer", lie_offset,
	    AC_RTT_WHY_OFFSET);
	refused_case("a 1-byte buffer", lie_tiny, AC_RTT_WHY_BUFFER);
	refused_case("descriptors past the range's end", lie_block,
	    AC_RTT_WHY_BLOCK);
}

/* Followed, then core 1 scribbles on a descriptor. */
static void
test_scribble(void)
{
	start();
	(void)c_init(area, chans, 3);
	(void)c_write(area, 0, "before\n", 7);
	pumps(2);
	set_desc(0, AC_RTT_D_BUFFER, 0x40000000u);
	(void)c_write(area, 1, "zz", 2);
	pumps(2);
	CHECK(got.found == 1 && got.len[0] == 7 && got.refused == 1 &&
	    got.last_refused.addr == 0x40000000u && got.len[1] == 0,
	    "a descriptor scribbled over while followed: refused, streaming "
	    "stops");
	set_desc(0, AC_RTT_D_BUFFER, AREA_ADDR + 0x100);
	memset(area, 0, AREA_SIZE);
	(void)c_init(area, chans, 3);
	(void)c_write(area, 1, "ok", 2);
	now_us += 1100000;
	pumps(3);
	CHECK(got.found == 2 && got.len[1] == 2,
	    "core 1 lays it out again: found again a second later, streaming "
	    "again");
}

/* A name in flash (outside the range) is not read. */
static void
test_name_outside(void)
{
	start();
	(void)c_init(area, chans, 3);
	set_desc(0, AC_RTT_D_NAME, 0x3C000000u);
	pumps(2);
	CHECK(got.found == 1 && got.refused == 0 &&
	    got.chan[0].name[0] == '\0' &&
	    strcmp(got.chan[1].name, "defmt") == 0,
	    "a name outside the range: the channel is followed, unnamed");
}

#ifdef APPCORE_HAVE_RUST
/* The crate lays out the same bytes as the C helper. */
static void
test_same_layout(void)
{
	uint8_t *a = calloc(1, AREA_SIZE), *b = calloc(1, AREA_SIZE);
	struct ac_rtt_writer w;

	(void)ac_rtt_init(&w, a, AREA_ADDR, AREA_SIZE, chans, 3);
	(void)acr_rtt_init(b, AREA_ADDR, AREA_SIZE, chans, 3);
	(void)ac_rtt_write(&w, 0, "same bytes\n", 11);
	(void)acr_rtt_write(b, AREA_ADDR, AREA_SIZE, 0, "same bytes\n", 11);
	CHECK(memcmp(a, b, AREA_SIZE) == 0, "the Rust crate and the C helper "
	    "lay out and write byte-identical areas");
	CHECK(acr_rtt_init(b, AREA_ADDR, 200, chans, 3) < 0 &&
	    ac_rtt_init(&w, a, AREA_ADDR, 200, chans, 3) < 0,
	    "both refuse an area too small");
	free(a);
	free(b);
}
#endif

int
main(void)
{
	for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
		test_text_and_binary(&writers[i]);
		test_wrap(&writers[i]);
		test_full(&writers[i]);
		test_block(&writers[i]);
	}
	test_lies();
	test_scribble();
	test_name_outside();
#ifdef APPCORE_HAVE_RUST
	test_same_layout();
#endif
	free(area);
	return check_done();
}
