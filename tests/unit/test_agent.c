/*
 * The agent core against a fake platform: a settable clock, a region in a
 * plain buffer written through the core-1 API, and the real host session
 * decoding what the agent sends.
 */
#include <inttypes.h>
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "check.h"
#include "session.h"

#define REGION_SIZE	(32 * 1024)

static _Alignas(64) uint8_t region_mem[REGION_SIZE];
static uint64_t fake_now;
static int restarts;
static uint64_t truth_n;

static uint64_t
fake_now_us(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int
fake_restart(void *ctx)
{
	(void)ctx;
	restarts++;
	return 0;
}

static void
fake_on_sample(void *ctx, uint64_t index, uint64_t t, const uint32_t *v,
    uint32_t n)
{
	(void)ctx; (void)index; (void)t; (void)v; (void)n;
	truth_n++;
}

static int stalls;

/* The ASSIST_DEBUG record of a core 1 stuck in a wait loop. */
static int
fake_stall(void *ctx, uint32_t *pc, uint32_t *sp)
{
	(void)ctx;
	stalls++;
	*pc = 0x42003a10;
	*sp = 0x3fce94f0;
	return 0;
}

static const struct ac_port port = {
	.now_us = fake_now_us, .core1_restart = fake_restart,
	.core1_stall = fake_stall, .on_sample = fake_on_sample,
};

/* ---- what the host saw ---- */

struct seen {
	int hellos, descs, states, crashes, logs, replies, stats, mems;
	uint64_t samples;
	uint32_t last_vals[AC_MAX_COUNTERS];
	uint64_t last_t;
	struct ac_msg_state state;
	struct ac_msg_crash crash;
	struct ac_msg_log log[64];
	struct ac_msg_reply reply;
	struct ac_msg_stats st;
	uint8_t mem[REGION_SIZE];
	uint32_t mem_bytes;
	int events[SE_COUNT];
	uint64_t event_count[SE_COUNT];
};

static struct seen S;
static struct session host;
static struct ac_agent agent;
static struct ac_region *r;

static void cb_hello(void *a, struct session *s) { (void)a; (void)s; S.hellos++; }
static void cb_desc(void *a, struct session *s) { (void)a; (void)s; S.descs++; }

static void
cb_sample(void *a, uint64_t index, uint64_t t, const uint32_t *v, uint32_t n)
{
	(void)a; (void)index;
	S.samples++;
	S.last_t = t;
	memcpy(S.last_vals, v, n * 4);
}

static void cb_state(void *a, const struct ac_msg_state *m)
{ (void)a; S.states++; S.state = *m; }
static void cb_crash(void *a, const struct ac_msg_crash *m)
{ (void)a; S.crashes++; S.crash = *m; }
static void cb_log(void *a, const struct ac_msg_log *m)
{ (void)a; if (S.logs < 64) S.log[S.logs] = *m; S.logs++; }
static void cb_reply(void *a, const struct ac_msg_reply *m)
{ (void)a; S.replies++; S.reply = *m; }
static void cb_stats(void *a, const struct ac_msg_stats *m)
{ (void)a; S.stats++; S.st = *m; }

static void
cb_mem(void *a, const struct ac_msg_mem *m)
{
	(void)a;
	S.mems++;
	if (m->offset + m->len <= sizeof(S.mem))
		memcpy(S.mem + m->offset, m->data, m->len);
	S.mem_bytes += m->len;
}

static void
cb_event(void *a, enum session_event e, uint64_t n, const char *why)
{
	(void)a; (void)why;
	S.events[e]++;
	S.event_count[e] += n;
}

static const struct session_cb cbs = {
	.hello = cb_hello, .desc = cb_desc, .sample = cb_sample,
	.state = cb_state, .crash = cb_crash, .log = cb_log,
	.reply = cb_reply, .stats = cb_stats, .mem = cb_mem,
	.event = cb_event,
};

/* Moves everything queued by the agent to the host. */
static void
pump(void)
{
	const uint8_t *p;
	size_t n;

	while ((p = ac_agent_tx_peek(&agent, &n)) != NULL) {
		session_feed(&host, p, n);
		ac_agent_tx_consume(&agent, n);
	}
}

/* Runs the agent until `until`, as a port would; core 1 ticks every ms. */
static void
run_until(uint64_t until, bool heartbeat, bool drain)
{
	while (fake_now < until) {
		uint64_t next = ac_agent_poll(&agent);

		if (drain)
			pump();
		if (next > until)
			next = until;
		while (fake_now < next) {
			fake_now += 1000;
			if (heartbeat && fake_now % 1000 == 0) {
				ac_counter_add(r, 0, 48);
				ac_counter_set(r, 1, (uint32_t)(fake_now / 1000 % 97));
				ac_heartbeat(r);
			}
		}
	}
	(void)ac_agent_poll(&agent);
	if (drain)
		pump();
}

static void
command(uint8_t cmd, uint32_t arg0, uint32_t arg1)
{
	struct ac_msg_cmd c = { .cmd = cmd, .arg0 = arg0, .arg1 = arg1 };
	uint8_t buf[64];
	size_t n = session_cmd(&host, &c, buf, sizeof(buf));

	ac_agent_rx(&agent, buf, n);
	pump();
}

static void
setup(uint32_t rate)
{
	struct ac_agent_cfg cfg;

	memset(region_mem, 0, sizeof(region_mem));
	memset(&S, 0, sizeof(S));
	fake_now = 5000000;
	restarts = 0;
	truth_n = 0;
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = rate;
	memcpy(cfg.device_id, "unit", 4);
	cfg.device_id_len = 4;
	cfg.boot_id = 42;
	session_init(&host, &cbs, NULL);
	if (ac_agent_init(&agent, &cfg, &port, region_mem, REGION_SIZE) != 0)
		abort();
	pump();
	r = ac_core1_init(region_mem, REGION_SIZE);
	(void)ac_counter_register(r, 0, "audio.frames", "frames",
	    AC_KIND_COUNTER, 0);
	(void)ac_counter_register(r, 1, "dsp.load", "permil", AC_KIND_GAUGE, 0);
	(void)ac_counter_register(r, 2, "level", "cB", AC_KIND_GAUGE,
	    AC_FLAG_SIGNED);
	ac_set_running(r);
}

static void
test_basics(void)
{
	setup(100);
	CHECK(S.hellos == 1 && host.hello.counters_used == 0 &&
	    host.hello.core1_state == AC_STATE_OFF,
	    "HELLO at start, before core 1 initialised the region");
	run_until(fake_now + 1000000, true, true);
	/* The first HELLO announced an empty set; then the real one. */
	CHECK(S.descs == 2 && host.ndesc == 3 &&
	    strcmp(host.ctr[0].name, "audio.frames") == 0 &&
	    host.ctr[0].kind == AC_KIND_COUNTER &&
	    host.ctr[2].flags == AC_FLAG_SIGNED &&
	    strcmp(host.ctr[1].unit, "permil") == 0,
	    "descriptors announced once: %u counters", host.ndesc);
	CHECK(S.samples >= 99 && S.samples <= 101 && S.samples == truth_n,
	    "100 Hz for 1 s: %" PRIu64 " samples, all produced ones arrived",
	    S.samples);
	CHECK(S.last_vals[0] == AC_LOAD(&r->counters[0]),
	    "last sample equals the counter: %u", S.last_vals[0]);
	CHECK(S.states >= 1 && S.state.state == AC_STATE_RUNNING,
	    "STATE running reported");
	CHECK(host.st.crc_errors == 0 && host.st.frames_lost == 0 &&
	    host.st.samples_lost == 0, "clean link: no loss seen");
	/* A host that asks again gets HELLO and the descriptors again. */
	command(AC_CMD_HELLO, 0, 0);
	CHECK(S.hellos == 2 && host.hello.counters_used == 3 &&
	    host.hello.core1_state == AC_STATE_RUNNING &&
	    S.reply.status == AC_ST_OK, "HELLO on request, with 3 counters");
}

static void
test_rates(void)
{
	static const uint32_t rates[] = { 1, 10, 100, 1000 };

	for (size_t i = 0; i < 4; i++) {
		setup(rates[i]);
		run_until(fake_now + 2000000, true, true);
		ac_agent_flush(&agent);
		pump();
		CHECK(S.samples + 2 >= 2 * rates[i] &&
		    S.samples <= 2 * rates[i] + 1 && S.samples == truth_n &&
		    host.st.samples_lost == 0,
		    "%u Hz for 2 s: %" PRIu64 " samples", rates[i], S.samples);
	}
}

static void
test_hang(void)
{
	setup(100);
	run_until(fake_now + 500000, true, true);
	run_until(fake_now + 1500000, false, true);
	CHECK(S.state.state == AC_STATE_HUNG && S.state.prev ==
	    AC_STATE_RUNNING && S.state.detail >= 1000,
	    "heartbeat silent 1.5 s => hung (silent %u ms)", S.state.detail);
	CHECK(stalls == 1 && S.crashes == 1 && S.crash.reason == AC_PANIC_HANG &&
	    S.crash.pc == 0x42003a10 && S.crash.sp == 0x3fce94f0 &&
	    strncmp(S.crash.msg, "heartbeat silent 1", 18) == 0 &&
	    strstr(S.crash.msg, " ms; core 1 stalled") != NULL,
	    "a hang: core 1 stalled once, a CRASH of reason hang with its "
	    "PC/SP (%s)", S.crash.msg);
	{
		uint64_t first = S.crash.t_us;

		command(AC_CMD_HELLO, 0, 0);
		CHECK(S.crashes == 2 && S.crash.t_us == first &&
		    S.crash.reason == AC_PANIC_HANG,
		    "after HELLO the hang goes again, same time");
	}
	run_until(fake_now + 100000, true, true);
	CHECK(S.state.state == AC_STATE_RUNNING &&
	    S.state.prev == AC_STATE_HUNG, "heartbeat back => running");
}

static void
test_panic(void)
{
	static const uint32_t bt[3] = { 0x42000100, 0x42000200, 0x42000300 };
	uint32_t ar[16];
	struct ac_panic_info pi = {
		.reason = AC_PANIC_EXCEPTION, .file = "main.rs", .line = 42,
		.msg = "LoadProhibited", .pc = 0x42001234, .sp = 0x3fce0000,
		.exccause = 28, .excvaddr = 4, .ar = ar, .bt = bt,
		.bt_count = 3,
	};

	for (int i = 0; i < 16; i++)
		ar[i] = 0x1000u + (uint32_t)i;
	setup(100);
	run_until(fake_now + 200000, true, true);
	ac_panic_record(r, &pi);
	run_until(fake_now + 100000, false, true);
	CHECK(S.crashes == 1 && S.crash.reason == AC_PANIC_EXCEPTION &&
	    S.crash.pc == 0x42001234 && S.crash.sp == 0x3fce0000 &&
	    S.crash.exccause == 28 && S.crash.line == 42 &&
	    strcmp(S.crash.file, "main.rs") == 0 &&
	    strcmp(S.crash.msg, "LoadProhibited") == 0 &&
	    S.crash.bt_count == 3 && S.crash.bt[2] == 0x42000300 &&
	    S.crash.ar[15] == 0x100f, "panic record delivered as CRASH");
	CHECK(S.state.state == AC_STATE_PANICKED, "STATE panicked");
	run_until(fake_now + 2000000, false, true);
	CHECK(S.crashes == 1, "the same panic is reported once");
	CHECK(S.state.state == AC_STATE_PANICKED,
	    "a panicked core is not also reported hung");
	{
		uint64_t first = S.crash.t_us;

		/* A host that says hello may have missed it: it goes again,
		 * once, with the time it was first seen. */
		command(AC_CMD_HELLO, 0, 0);
		run_until(fake_now + 500000, false, true);
		CHECK(S.crashes == 2 && S.crash.t_us == first &&
		    S.crash.pc == 0x42001234, "after HELLO the panic record "
		    "is sent again with its first time");
		run_until(fake_now + 1000000, false, true);
		CHECK(S.crashes == 2, "and only once per HELLO");
	}
}

static void
test_logs(void)
{
	char text[64];

	setup(100);
	run_until(fake_now + 100000, true, true);
	S.logs = 0;
	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "line %d", i);
		ac_log(r, AC_LOG_INFO, (uint32_t)i, text);
	}
	run_until(fake_now + 20000, true, true);
	CHECK(S.logs == 5 && strcmp(S.log[4].text, "line 4") == 0 &&
	    S.log[4].stamp == 4 && S.log[0].lost_before == 0,
	    "five log lines in order");
	S.logs = 0;
	for (int i = 0; i < 300; i++) {
		snprintf(text, sizeof(text), "burst %d", i);
		ac_log(r, AC_LOG_WARN, (uint32_t)i, text);
	}
	run_until(fake_now + 200000, true, true);
	CHECK(S.logs == AC_LOG_SLOTS && S.log[0].lost_before == 300 -
	    AC_LOG_SLOTS && strcmp(S.log[0].text, "burst 172") == 0,
	    "ring overrun: %d delivered, first says %u lost", S.logs,
	    S.log[0].lost_before);
	run_until(fake_now + 1100000, true, true);
	CHECK(S.st.log_lost == 300 - AC_LOG_SLOTS, "STATS counts %" PRIu64
	    " lost log records", S.st.log_lost);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	S.logs = 0;
	ac_log(r, AC_LOG_ERROR, 0, text);
	run_until(fake_now + 20000, true, true);
	CHECK(S.logs == 1 && strlen(S.log[0].text) == AC_LOG_TEXT_LEN,
	    "a long line is cut to %u bytes", AC_LOG_TEXT_LEN);
}

static void
test_commands(void)
{
	setup(100);
	run_until(fake_now + 100000, true, true);
	command(AC_CMD_PING, 0xabcdef, 0);
	CHECK(S.reply.cmd == AC_CMD_PING && S.reply.status == AC_ST_OK &&
	    S.reply.value == 0xabcdef, "ping echoes its nonce");
	command(AC_CMD_SET_RATE, 0, 0);
	CHECK(S.reply.status == AC_ST_OUT_OF_RANGE && S.reply.value == 100,
	    "rate 0 refused, rate stays 100");
	command(AC_CMD_SET_RATE, 1001, 0);
	CHECK(S.reply.status == AC_ST_OUT_OF_RANGE, "rate 1001 refused");
	command(AC_CMD_SET_RATE, 500, 0);
	S.samples = 0;
	run_until(fake_now + 1000000, true, true);
	CHECK(S.reply.status == AC_ST_OK && S.samples >= 499 &&
	    S.samples <= 501 && host.st.samples_lost == 0,
	    "rate 500 applied: %" PRIu64 " samples in 1 s", S.samples);

	command(AC_CMD_READ_MEM, 100, 3000);
	CHECK(S.reply.status == AC_ST_OK, "read 3000 bytes at 100 accepted");
	command(AC_CMD_READ_MEM, 0, 10);
	CHECK(S.reply.status == AC_ST_BUSY, "a second read while one runs: "
	    "busy");
	run_until(fake_now + 50000, false, true);
	CHECK(S.mem_bytes == 3000 &&
	    memcmp(S.mem + 100, region_mem + 100, 3000) == 0,
	    "memory read delivered in %d chunks", S.mems);
	command(AC_CMD_READ_MEM, REGION_SIZE - 10, 11);
	CHECK(S.reply.status == AC_ST_OUT_OF_RANGE, "read past the region "
	    "refused");
	command(AC_CMD_READ_MEM, UINT32_MAX, 2);
	CHECK(S.reply.status == AC_ST_OUT_OF_RANGE, "read at 2^32-1 refused");
	command(AC_CMD_READ_MEM, 0, 0);
	CHECK(S.reply.status == AC_ST_OUT_OF_RANGE, "empty read refused");
	S.mem_bytes = 0;
	command(AC_CMD_SNAPSHOT, 0, 0);
	run_until(fake_now + 200000, false, true);
	CHECK(S.reply.status == AC_ST_OK && S.mem_bytes == REGION_SIZE &&
	    memcmp(S.mem, region_mem, REGION_SIZE) == 0,
	    "snapshot of the whole %u-byte region, bytes equal", REGION_SIZE);
	command(AC_CMD_RESTART_CORE1, 0, 0);
	CHECK(S.reply.status == AC_ST_OK && restarts == 1,
	    "restart reaches the port");
	{
		uint8_t payload[8] = { 7, 99 }, frame[32];
		size_t n = ac_frame_encode(frame, sizeof(frame), AC_MSG_CMD, 1,
		    payload, 2);

		ac_agent_rx(&agent, frame, n);
		pump();
		CHECK(S.reply.req_id == 7 && S.reply.status ==
		    AC_ST_UNKNOWN_CMD, "unknown command answered");
	}
	{
		uint8_t junk[300];
		uint64_t before = agent.st.rx_errors;

		for (int i = 0; i < 300; i++)
			junk[i] = (uint8_t)(i * 38 + 1);	/* odd: never 0 */
		junk[150] = 0;
		junk[299] = 0;
		ac_agent_rx(&agent, junk, sizeof(junk));
		CHECK(agent.st.rx_errors == before + 2,
		    "garbage from the host is counted, not obeyed");
	}
}

static void
test_backpressure(void)
{
	setup(1000);
	run_until(fake_now + 100000, true, true);
	/* The host stops reading for 10 s: the queue fills, frames drop. */
	run_until(fake_now + 10000000, true, false);
	run_until(fake_now + 2000000, true, true);
	ac_agent_flush(&agent);
	pump();
	CHECK(agent.st.samples_dropped > 0 && agent.st.frames_dropped > 0,
	    "queue full: %" PRIu64 " samples dropped, counted",
	    agent.st.samples_dropped);
	CHECK(host.st.samples_lost == agent.st.samples_dropped &&
	    S.samples + host.st.samples_lost == truth_n,
	    "host accounts exactly for the drops: %" PRIu64 " lost + %"
	    PRIu64 " received = %" PRIu64 " produced", host.st.samples_lost,
	    S.samples, truth_n);
	CHECK(host.st.frames_lost == agent.st.frames_dropped,
	    "sequence gaps equal dropped frames (%" PRIu64 ")",
	    host.st.frames_lost);
	CHECK(S.last_vals[0] == AC_LOAD(&r->counters[0]),
	    "values exact again after recovery");
}

static void
test_corrupt(void)
{
	setup(100);
	run_until(fake_now + 100000, true, true);
	AC_STORE(&r->hdr.magic, 0x12345678u);
	run_until(fake_now + 100000, true, true);
	CHECK(S.state.state == AC_STATE_CORRUPT, "bad magic => corrupt");
	r = ac_core1_init(region_mem, REGION_SIZE);
	(void)ac_counter_register(r, 0, "x", "", AC_KIND_COUNTER, 0);
	ac_set_running(r);
	S.samples = 0;
	run_until(fake_now + 500000, true, true);
	CHECK(S.state.state == AC_STATE_RUNNING && S.state.generation == 1 &&
	    S.samples >= 49 && host.ndesc == 1,
	    "re-initialised region => running, new descriptors, sampling");
}

/* A host meeting a newer agent says so instead of misreading it. */
static void
test_versions(void)
{
	struct ac_msg_hello h;
	uint8_t payload[AC_WIRE_MAX_PAYLOAD], frame[AC_FRAME_MAX_ENC];
	struct ac_wr w;
	size_t n;
	static char why[256];

	memset(&S, 0, sizeof(S));
	memset(&h, 0, sizeof(h));
	h.proto_version = AC_PROTO_VERSION;
	h.layout_version = AC_LAYOUT_VERSION + 1;
	strcpy(h.agent_version, "9.0");
	h.device_id_len = 1;
	h.rate_hz = 100;
	session_init(&host, &cbs, NULL);
	ac_wr_init(&w, payload, sizeof(payload));
	(void)ac_hello_encode(&w, &h);
	n = ac_frame_encode(frame, sizeof(frame), AC_MSG_HELLO, 0, payload,
	    w.len);
	session_feed(&host, frame, n);
	snprintf(why, sizeof(why), "%s", host.why);
	CHECK(S.events[SE_VERSION] == 1 && S.hellos == 0 &&
	    strstr(why, "layout 2") != NULL &&
	    strstr(why, "upgrade appcore on the host") != NULL,
	    "newer layout refused: %s", why);
	payload[0] = AC_PROTO_VERSION + 1;
	n = ac_frame_encode(frame, sizeof(frame), AC_MSG_HELLO, 1, payload,
	    w.len);
	session_feed(&host, frame, n);
	CHECK(S.events[SE_VERSION] == 2 && S.hellos == 0 &&
	    strstr(host.why, "protocol version 3") != NULL,
	    "newer protocol refused: %s", host.why);
	/* Until a HELLO it understands arrives, nothing else is taken. */
	{
		struct ac_msg_log lg = { .level = AC_LOG_INFO, .record = 1 };

		strcpy(lg.text, "x");
		ac_wr_init(&w, payload, sizeof(payload));
		(void)ac_log_encode(&w, &lg);
		n = ac_frame_encode(frame, sizeof(frame), AC_MSG_LOG, 2,
		    payload, w.len);
		session_feed(&host, frame, n);
		CHECK(S.logs == 0, "frames of an incompatible agent ignored");
	}
}

int
main(void)
{
	test_versions();
	test_basics();
	test_rates();
	test_hang();
	test_panic();
	test_logs();
	test_commands();
	test_backpressure();
	test_corrupt();
	return check_done();
}
