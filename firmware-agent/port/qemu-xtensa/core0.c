/*
 * Core 0 of the emulated board (docs/emulated-board.md): the agent's
 * portable core on CPU 0, as the ESP-IDF port runs it on the S3's core 0.
 * Its platform: time from CCOUNT, the link and the ground truth through
 * host file descriptors that QEMU's semihosting reads and writes (the
 * launcher, appcore-sim --core1 xtensa, opens them and names them in the
 * semihosting arguments), core 1 started through ac_boot_core1.
 *
 * Arguments (key=value): link=FD truth=FD ctl=FD counters=N rate=HZ
 * device=ID boot=HEX image=SHA256HEX mhz=N panic=MS
 * fault=illegal|unaligned|bus hang=MS seed=N restart=never|always
 * hwreq=FD hwans=FD.  A byte on ctl asks for a clean stop: the agent sends what it
 * holds, the truth is flushed, and the guest exits.
 */
#include <stdint.h>
#include <string.h>

#include "ac_rt.h"
#include "appcore/agent.h"
#include "appcore/core1.h"
#include "board.h"
#include "semihost.h"

extern uint32_t ac_boot_core1[2];

_Alignas(64) uint8_t board_region[BOARD_REGION_SIZE];

static struct ac_agent agent;
static int link_fd = -1, truth_fd = -1, ctl_fd = -1;
static int hw_req_fd = -1, hw_ans_fd = -1;	/* core 1's RUNSTALL/RESET */
static int slot_fds[4] = { -1, -1, -1, -1 };	/* slot A, B, record 0, 1 */
static uint32_t slot_size;
static uint32_t cycles_per_us = 40;

/* ---- time: CCOUNT, extended to 64 bits, in microseconds ---- */

static uint32_t last_ccount, rem_cycles;
static uint64_t now_us_acc;

static uint64_t
port_now_us(void *ctx)
{
	uint32_t c = xt_ccount(), delta = c - last_ccount;

	(void)ctx;
	last_ccount = c;
	rem_cycles += delta;		/* polled far more often than it wraps */
	now_us_acc += rem_cycles / cycles_per_us;
	rem_cycles %= cycles_per_us;
	return now_us_acc;
}

/* ---- the ground truth: each sample as the agent took it ---- */

static uint8_t truth_buf[8192];
static size_t truth_len;

static void
truth_flush(void)
{
	if (truth_len > 0 && truth_fd >= 0)
		(void)sh_write_all(truth_fd, truth_buf, truth_len);
	truth_len = 0;
}

/* The device time now, at once (u32 'ACC1', u64 t_us): the launcher
 * pairs it with its wall time on arrival; sent every 100 ms, the least
 * difference is the clock (what arrives late only looks later). */
static void
send_clock(void)
{
	uint64_t t = port_now_us(NULL);
	uint32_t rec[3] = { 0x31434341u, (uint32_t)t, (uint32_t)(t >> 32) };

	if (truth_fd >= 0)
		(void)sh_write_all(truth_fd, rec, sizeof(rec));
}

/* Little-endian records: u32 'ACT1', u32 n, u64 index, u64 t_us, n x u32. */
static void
port_on_sample(void *ctx, uint64_t index, uint64_t t, const uint32_t *v,
    uint32_t n)
{
	uint32_t head[6] = { 0x31544341u, n, (uint32_t)index,
	    (uint32_t)(index >> 32), (uint32_t)t, (uint32_t)(t >> 32) };
	size_t need = sizeof(head) + 4u * n;

	(void)ctx;
	if (truth_fd < 0)
		return;
	if (truth_len + need > sizeof(truth_buf))
		truth_flush();
	memcpy(truth_buf + truth_len, head, sizeof(head));
	memcpy(truth_buf + truth_len + sizeof(head), v, 4u * n);
	truth_len += need;
}

/*
 * Core 1's hardware controls.  On the S3 core 0 writes RUNSTALL and
 * RESETING and reads the ASSIST_DEBUG record; here the launcher does the
 * same to CPU 1 through QEMU's gdbstub: a request byte goes out, and the
 * answer is awaited without blocking the vCPU (QEMU must be able to stop
 * it meanwhile), for at most a second.
 */
static int
hw_request(const uint8_t *req, size_t len, uint8_t *ans, size_t n)
{
	uint64_t until;
	size_t got = 0;

	if (hw_req_fd < 0 || hw_ans_fd < 0 || sh_write_all(hw_req_fd, req,
	    len) < 0)
		return -1;
	until = port_now_us(NULL) + 1000000;
	while (got < n && port_now_us(NULL) < until)
		if (sh_readable(hw_ans_fd))
			got += sh_read(hw_ans_fd, ans + got, n - got);
	return got == n && ans[0] == 'k' ? 0 : -1;
}

static int
port_core1_stall(void *ctx, uint32_t *pc, uint32_t *sp)
{
	uint8_t a[9];

	(void)ctx;
	if (hw_request((const uint8_t *)"s", 1, a, sizeof(a)) < 0)
		return -1;
	memcpy(pc, a + 1, 4);
	memcpy(sp, a + 5, 4);
	return 0;
}

/* What core 1 runs: the built-in program, or a slot's image. */
static uint32_t core1_entry;

/* The last slot switch, until the new run's first heartbeat, which goes
 * to the host's stderr with the time since core 1 was stopped
 * (docs/benchmarks.md). */
static struct {
	uint64_t stopped_us;		/* 0: none pending */
	uint32_t gen;			/* the run before */
	bool run_seen;
	uint32_t hb0;
} sw;

static void
say_first_beat(uint64_t us)
{
	static const char pre[] = "appcore-board: first heartbeat ",
	    post[] = " us after core 1 was stopped\n";
	char digits[20];
	int k = 0;

	do {
		digits[k++] = (char)('0' + us % 10);
		us /= 10;
	} while (us != 0 && k < (int)sizeof(digits));
	(void)sh_write_all(2, pre, sizeof(pre) - 1);
	while (k > 0)
		(void)sh_write_all(2, &digits[--k], 1);
	(void)sh_write_all(2, post, sizeof(post) - 1);
}

static void
watch_switch(uint64_t now)
{
	if (sw.stopped_us == 0 || !agent.region_ok ||
	    agent.generation == sw.gen)
		return;
	if (!sw.run_seen) {
		sw.run_seen = true;
		sw.hb0 = agent.last_hb;
	} else if (agent.last_hb != sw.hb0) {
		say_first_beat(now - sw.stopped_us);
		sw.stopped_us = 0;
	}
}

int
board_core1_hold(void)
{
	uint8_t a[9];

	return hw_request((const uint8_t *)"s", 1, a, sizeof(a));
}

int
board_core1_start_at(uint32_t entry)
{
	uint32_t stack = (uint32_t)(uintptr_t)(board_region +
	    BOARD_REGION_SIZE);
	uint8_t req[9] = { 'r' }, a[1];

	core1_entry = entry;
	memcpy(req + 1, &entry, 4);
	memcpy(req + 5, &stack, 4);
	return hw_request(req, sizeof(req), a, sizeof(a));
}

static int
port_core1_restart(void *ctx)
{
	(void)ctx;
	return board_core1_start_at(core1_entry);
}

/* Core 1 stopped, the slot's image copied where images run (or the
 * built-in program for the image the board was made with), core 1
 * started at its entry. */
static int
port_core1_switch(void *ctx, uint8_t slot, const struct ac_slot_info *s)
{
	uint32_t entry = s->size == 0 ? (uint32_t)(uintptr_t)core1_demo_main :
	    0;

	(void)ctx;
	if (board_core1_hold() < 0)
		return -1;
	sw.stopped_us = port_now_us(NULL);
	sw.gen = agent.generation;
	sw.run_seen = false;
	if (entry == 0 && (entry = board_slot_load(slot, s)) == 0)
		return -1;
	return board_core1_start_at(entry);
}

static struct ac_port port = {
	.now_us = port_now_us,
	.on_sample = port_on_sample,
};

/* ---- arguments ---- */

static uint64_t
parse_num(const char *s, int base)
{
	uint64_t v = 0;

	for (; *s != '\0'; s++) {
		uint32_t d = *s >= '0' && *s <= '9' ? (uint32_t)(*s - '0') :
		    *s >= 'a' && *s <= 'f' ? (uint32_t)(*s - 'a' + 10) : 99;

		if (d >= (uint32_t)base)
			break;
		v = v * (uint64_t)base + d;
	}
	return v;
}

static void
apply_arg(const char *a, struct ac_agent_cfg *cfg)
{
	const char *v = strchr(a, '=');
	size_t k = v != NULL ? (size_t)(v - a) : 0;

	if (v++ == NULL)
		return;
#define KEY(s) (k == sizeof(s) - 1 && memcmp(a, s, k) == 0)
	if (KEY("link"))
		link_fd = (int)parse_num(v, 10);
	else if (KEY("truth"))
		truth_fd = (int)parse_num(v, 10);
	else if (KEY("ctl"))
		ctl_fd = (int)parse_num(v, 10);
	else if (KEY("hwreq"))
		hw_req_fd = (int)parse_num(v, 10);
	else if (KEY("hwans"))
		hw_ans_fd = (int)parse_num(v, 10);
	else if (KEY("slota") || KEY("slotb") || KEY("rec0") || KEY("rec1"))
		slot_fds[a[0] == 's' ? a[4] - 'a' : 2 + a[3] - '0'] =
		    (int)parse_num(v, 10);
	else if (KEY("slotsize"))
		slot_size = (uint32_t)parse_num(v, 10);
	else if (KEY("counters"))
		board_boot.cfg.counters = (uint32_t)parse_num(v, 10);
	else if (KEY("rate"))
		cfg->rate_hz = (uint32_t)parse_num(v, 10);
	else if (KEY("boot"))
		cfg->boot_id = parse_num(v, 16);
	else if (KEY("mhz"))
		cycles_per_us = (uint32_t)parse_num(v, 10);
	else if (KEY("restart"))
		cfg->restart = strcmp(v, "always") == 0 ? AC_RESTART_ALWAYS :
		    AC_RESTART_NEVER;
	else if (KEY("panic"))
		board_boot.cfg.panic_after_ms = (uint32_t)parse_num(v, 10);
	else if (KEY("hang"))
		board_boot.cfg.hang_after_ms = (uint32_t)parse_num(v, 10);
	else if (KEY("seed"))
		board_boot.cfg.seed = (uint32_t)parse_num(v, 10);
	else if (KEY("rtt") && strcmp(v, "0") == 0)
		cfg->rtt_size = 0;		/* the agent looks for no RTT */
	else if (KEY("fault"))
		board_boot.cfg.fault = strcmp(v, "unaligned") == 0 ?
		    FAULT_UNALIGNED : strcmp(v, "bus") == 0 ? FAULT_BUS :
		    FAULT_ILLEGAL;
	else if (KEY("image") && strlen(v) == 64)
		for (int i = 0; i < 32; i++) {
			char byte[3] = { v[2 * i], v[2 * i + 1], '\0' };

			cfg->image_hash[i] = (uint8_t)parse_num(byte, 16);
		}
	else if (KEY("device")) {
		size_t n = strlen(v);

		cfg->device_id_len = (uint8_t)(n < AC_DEVICE_ID_MAX ? n :
		    AC_DEVICE_ID_MAX);
		memcpy(cfg->device_id, v, cfg->device_id_len);
	}
#undef KEY
}

static void
read_args(struct ac_agent_cfg *cfg)
{
	static uint32_t buf[1024];
	int32_t argc = sh_call(SH_SYS_ARGC, 0, 0, 0);
	int32_t size = sh_call(SH_SYS_ARGV_SZ, 0, 0, 0);

	if (argc <= 0 || size <= 0 || (size_t)size > sizeof(buf))
		return;
	(void)sh_call(SH_SYS_ARGV, (int32_t)(uintptr_t)buf, 0, 0);
	for (int32_t i = 0; i < argc; i++)
		apply_arg((const char *)(uintptr_t)buf[i], cfg);
}

/* Until the agent's next deadline (now_us time).  QEMU wakes a sleeping
 * vCPU a few ms late at times (measured: a sample tick in ten missed at
 * 1 kHz), so core 0 sleeps only while the deadline is over 3 ms away,
 * waking 2 ms early, and spins through the rest, as a busy core 0 would. */
static void
sleep_until_us(uint64_t t)
{
	uint64_t now = port_now_us(NULL);

	if (t > now + 3000)
		ac_rt_sleep_until(last_ccount + (uint32_t)(t - now - 2000) *
		    cycles_per_us);
}

/* ---- the link ---- */

static void
link_send(void)
{
	const uint8_t *p;
	size_t n;

	while ((p = ac_agent_tx_peek(&agent, &n)) != NULL) {
		size_t w = link_fd >= 0 ? sh_write_some(link_fd, p, n) : n;

		ac_agent_tx_consume(&agent, w);
		if (w < n)
			break;		/* the host is not reading: later */
	}
}

static void
link_receive(void)
{
	uint8_t buf[256];
	size_t n;

	while (link_fd >= 0 && sh_readable(link_fd) &&
	    (n = sh_read(link_fd, buf, sizeof(buf))) > 0)
		ac_agent_rx(&agent, buf, n);
}

/* The launcher asked for a stop: what the agent holds goes out (for at
 * most 200 ms of a full link), then the truth, then exit. */
static int
stop_cleanly(void)
{
	uint64_t until;

	ac_agent_flush(&agent);
	until = port_now_us(NULL) + 200000;
	while (ac_agent_tx_peek(&agent, &(size_t){ 0 }) != NULL &&
	    port_now_us(NULL) < until)
		link_send();
	truth_flush();
	return 0;
}

int main(void);

int
main(void)
{
	struct ac_agent_cfg cfg;
	uint64_t next = 0, next_io = 0, next_clock = 0;

	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = 1000;
	memcpy(cfg.device_id, "qemu-xtensa", 11);
	cfg.device_id_len = 11;
	cfg.boot_id = 1;
	cfg.region_base = (uint32_t)(uintptr_t)board_region;
	/* SEGGER RTT: core 1's part of the region, after its fixed part. */
	cfg.rtt_mem = board_region + AC_REGION_MIN_SIZE;
	cfg.rtt_addr = (uint32_t)(uintptr_t)cfg.rtt_mem;
	cfg.rtt_size = BOARD_REGION_SIZE - AC_REGION_MIN_SIZE;
	board_boot.cfg.counters = 16;
	board_boot.cfg.fault = FAULT_ILLEGAL;
	board_boot.cfg.seed = 1;
	read_args(&cfg);
	if (hw_req_fd >= 0 && hw_ans_fd >= 0) {
		port.core1_stall = port_core1_stall;
		port.core1_restart = port_core1_restart;
		/* Switching slots stops and starts core 1: only with the
		 * hardware controls. */
		board_slots_init(&port, slot_fds, slot_size);
		if (port.slot_size != 0)
			port.core1_switch = port_core1_switch;
	}
	board_boot.region = (uint32_t)(uintptr_t)board_region;
	if (board_boot.cfg.counters == 0 ||
	    board_boot.cfg.counters > AC_MAX_COUNTERS)
		board_boot.cfg.counters = 16;
	board_boot.cfg.cycles_per_ms = cycles_per_us * 1000;
	last_ccount = xt_ccount();
	ac_rt_timer_init();
	/* Core 1 lays the region out itself; the agent reports OFF until
	 * it does. */
	memset(board_region, 0, sizeof(struct ac_header));
	if (ac_agent_init(&agent, &cfg, &port, board_region,
	    BOARD_REGION_SIZE) != 0)
		return 2;
	core1_entry = (uint32_t)(uintptr_t)core1_demo_main;
	{	/* The slot the record names, when it holds an image. */
		uint8_t slot;
		const struct ac_slot_info *s = ac_agent_core1_slot(&agent,
		    &slot);
		uint32_t e = s != NULL && s->size != 0 ?
		    board_slot_load(slot, s) : 0;

		if (e != 0)
			core1_entry = e;
	}
	ac_boot_core1[1] = (uint32_t)(uintptr_t)(board_region +
	    BOARD_REGION_SIZE);
	__asm__ volatile ("memw" : : : "memory");
	ac_boot_core1[0] = core1_entry;
	for (;;) {
		uint64_t now = port_now_us(NULL);

		if (now >= next) {
			next = ac_agent_poll(&agent);
			watch_switch(now);
			link_send();
		}
		if (now >= next_io) {		/* the host, once a ms */
			if (ctl_fd >= 0 && sh_readable(ctl_fd))
				return stop_cleanly();
			if (now >= next_clock) {
				truth_flush();	/* in order, then at once */
				send_clock();
				next_clock = now + 100000;
			}
			link_receive();
			link_send();
			if (truth_len > sizeof(truth_buf) / 2 ||
			    now >= next_io + 20000)
				truth_flush();
			next_io = now + 1000;
		}
		sleep_until_us(next < next_io ? next : next_io);
	}
}
