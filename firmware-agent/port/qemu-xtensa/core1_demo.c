/*
 * The demo's core-1 program, for Xtensa (the audio workload of the
 * simulator, firmware-agent/port/posix/sim_core1.c, in integers: Debian's
 * lx106 libgcc has no soft float): 1 ms blocks paced by CCOUNT, each
 * publishing counters, a heartbeat, and now and then a log line, through
 * appcore/core1.h.  On request it takes a real CPU exception, three calls
 * deep, or hangs with its heartbeat stopped.  Once a second it also logs
 * through SEGGER RTT (appcore/rtt_write.h), a control block at the start
 * of the region's user area that the agent on core 0 finds and streams.
 */
#include <stdint.h>

#include "ac_rt.h"
#include "appcore/core1.h"
#include "appcore/rtt_write.h"
#include "board.h"

extern uint8_t __text_start[], __text_end[];

/* Its first log line says which program this is. */
#ifndef DEMO_HELLO
#define DEMO_HELLO	"core1 up (xtensa)"
#endif

void demo_fault(uint32_t);
void demo_mixer(uint32_t);
void demo_process(uint32_t);

volatile uint32_t demo_sink;
/* Where a faulting load reads, unknown to the compiler (which would split
 * an unaligned load into byte loads). */
volatile uintptr_t demo_bad_address;

static uint32_t
ccount(void)
{
	uint32_t v;

	__asm__ volatile ("rsr.ccount %0" : "=r"(v));
	return v;
}

__attribute__((noinline)) void
demo_fault(uint32_t kind)
{
	demo_sink = kind;
	__asm__ volatile ("ssai 11");	/* a SAR the crash must show */
	if (kind == FAULT_ILLEGAL)
		__asm__ volatile ("ill");
	demo_bad_address = kind == FAULT_UNALIGNED ? board_boot.region + 1 :
	    0x10000000u;
	demo_sink = *(volatile uint32_t *)demo_bad_address;
}

__attribute__((noinline)) void
demo_mixer(uint32_t kind)
{
	demo_fault(kind);
	demo_sink = kind + 1;
}

__attribute__((noinline)) void
demo_process(uint32_t kind)
{
	demo_mixer(kind);
	demo_sink = kind + 2;
}

static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static void
register_counters(struct ac_region *r, uint32_t n)
{
	static const char *const names[] = { "blocks", "frames", "load_permille",
	    "fill", "peak" };
	char name[AC_NAME_LEN];

	for (uint32_t i = 0; i < n; i++) {
		if (i < 5) {
			(void)ac_counter_register(r, i, names[i], "",
			    i < 2 ? AC_KIND_COUNTER : AC_KIND_GAUGE, 0);
			continue;
		}
		name[0] = 'c';
		name[1] = 'h';
		name[2] = (char)('0' + i / 10);
		name[3] = (char)('0' + i % 10);
		name[4] = '\0';
		(void)ac_counter_register(r, i, name, "", AC_KIND_GAUGE, 0);
	}
}

#define RTT_AREA	1024u

static struct ac_rtt_writer rtt;

static void
rtt_start(uint8_t *region)
{
	static const struct ac_rtt_chan up[] = {
		{ "Terminal", 512, AC_RTT_MODE_TRIM },
	};
	uint8_t *area = region + AC_REGION_MIN_SIZE;

	(void)ac_rtt_init(&rtt, area, (uint32_t)(uintptr_t)area, RTT_AREA, up,
	    1);
}

/* "core1 rtt: block N\n" through RTT channel 0. */
static void
rtt_block(uint32_t block)
{
	static const char head[] = "core1 rtt: block ";
	char line[sizeof(head) + 12], digits[10];
	uint32_t n = 0, k = 0;

	for (; head[n] != '\0'; n++)
		line[n] = head[n];
	do
		digits[k++] = (char)('0' + block % 10);
	while ((block /= 10) != 0);
	while (k > 0)
		line[n++] = digits[--k];
	line[n++] = '\n';
	(void)ac_rtt_write(&rtt, 0, line, n);
}

static void
one_block(struct ac_region *r, uint32_t n, uint32_t block, uint32_t *rng)
{
	ac_counter_add(r, 0, 1);
	if (n > 1)
		ac_counter_add(r, 1, 48);
	if (n > 2)
		ac_counter_set(r, 2, 300 + lcg(rng) % 400);
	if (n > 3)
		ac_counter_set(r, 3, (block * 7) % 512);
	/* Channel peaks: each moves a little every 8 ms, as levels do. */
	for (uint32_t i = 4 + block % 8; i < n; i += 8) {
		uint32_t v = r->counters[i] + lcg(rng) % 65 + 32768 - 32;

		ac_counter_set(r, i, v % 32768);
	}
	ac_heartbeat(r);
	if (block % 5000 == 0)
		ac_log(r, AC_LOG_INFO, block, "core1: 5 s of blocks");
	if (block % 1000 == 0)
		rtt_block(block);
}

void
core1_demo_main(void)
{
	const uint32_t n = board_boot.cfg.counters;
	const uint32_t per_ms = board_boot.cfg.cycles_per_ms;
	uint8_t *region = (uint8_t *)(uintptr_t)board_boot.region;
	struct ac_region *r = ac_core1_init(region, BOARD_REGION_SIZE);
	uint32_t rng = board_boot.cfg.seed, next = ccount() + per_ms;

	ac_rt_init(&(struct ac_rt_cfg){ r, (uint32_t)(uintptr_t)__text_start,
	    (uint32_t)(uintptr_t)__text_end,
	    (uint32_t)(uintptr_t)(region + BOARD_REGION_SIZE) });
	register_counters(r, n);
	rtt_start(region);
	ac_log(r, AC_LOG_INFO, 0, DEMO_HELLO);
	ac_set_running(r);
	for (uint32_t block = 1;; block++) {
		while ((int32_t)(ccount() - next) < 0)
			ac_rt_sleep_until(next);
		next += per_ms;
		one_block(r, n, block, &rng);
		if (board_boot.cfg.panic_after_ms != 0 &&
		    block >= board_boot.cfg.panic_after_ms)
			demo_process(board_boot.cfg.fault);
#ifdef DEMO_PANIC_AFTER_MS	/* a program that fails on its own */
		if (block >= DEMO_PANIC_AFTER_MS)
			demo_process(FAULT_ILLEGAL);
#endif
		if (board_boot.cfg.hang_after_ms != 0 &&
		    block >= board_boot.cfg.hang_after_ms)
			for (;;)
				demo_sink++;
	}
}
