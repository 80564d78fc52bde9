/*
 * The simulated core 1: a bare-metal audio loop that publishes its state
 * only through the core-1 API, exactly as firmware on the real core does.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "appcore/core1.h"
#include "sim.h"
#ifdef APPCORE_HAVE_RUST
#include "appcore_core1_host.h"
#endif

enum {
	C_FRAMES, C_BLOCKS, C_UNDERRUNS, C_OVERRUNS, C_DSP_LOAD, C_DSP_PEAK,
	C_BUF_FILL, C_DMA_IRQS, C_I2C_ERRORS, C_LOOPS, C_STACK_FREE, C_TEMP,
	C_USB_PKTS, C_SYNC_SLIPS, C_BASE
};

static const struct {
	const char *name, *unit;
	enum ac_counter_kind kind;
} base_counters[C_BASE] = {
	[C_FRAMES] = { "audio.frames", "frames", AC_KIND_COUNTER },
	[C_BLOCKS] = { "audio.blocks", "blocks", AC_KIND_COUNTER },
	[C_UNDERRUNS] = { "audio.underruns", "events", AC_KIND_COUNTER },
	[C_OVERRUNS] = { "audio.overruns", "events", AC_KIND_COUNTER },
	[C_DSP_LOAD] = { "dsp.load", "permil", AC_KIND_GAUGE },
	[C_DSP_PEAK] = { "dsp.load_peak", "permil", AC_KIND_GAUGE },
	[C_BUF_FILL] = { "buf.fill", "frames", AC_KIND_GAUGE },
	[C_DMA_IRQS] = { "i2s.dma_irqs", "irqs", AC_KIND_COUNTER },
	[C_I2C_ERRORS] = { "codec.i2c_errors", "events", AC_KIND_COUNTER },
	[C_LOOPS] = { "loop.iterations", "iters", AC_KIND_COUNTER },
	[C_STACK_FREE] = { "stack.free", "bytes", AC_KIND_GAUGE },
	[C_TEMP] = { "board.temp", "mC", AC_KIND_GAUGE },
	[C_USB_PKTS] = { "usb.packets", "packets", AC_KIND_COUNTER },
	[C_SYNC_SLIPS] = { "clock.sync_slips", "events", AC_KIND_COUNTER },
};

uint64_t
sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
sim_counter_name(uint32_t idx, char *name, size_t cap)
{
	if (idx < C_BASE)
		snprintf(name, cap, "%s", base_counters[idx].name);
	else
		snprintf(name, cap, "ch%u.%s", (idx - C_BASE) / 2,
		    (idx - C_BASE) % 2 == 0 ? "peak" : "clips");
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static uint32_t
rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)((rng_next(s) >> 32) % n);
}

static void
register_counters(struct ac_region *r, uint32_t n)
{
	char name[AC_NAME_LEN];

	for (uint32_t i = 0; i < n; i++) {
		if (i < C_BASE) {
			(void)ac_counter_register(r, i, base_counters[i].name,
			    base_counters[i].unit, base_counters[i].kind, 0);
			continue;
		}
		sim_counter_name(i, name, sizeof(name));
		if ((i - C_BASE) % 2 == 0)
			(void)ac_counter_register(r, i, name, "cB",
			    AC_KIND_GAUGE, AC_FLAG_SIGNED);
		else
			(void)ac_counter_register(r, i, name, "clips",
			    AC_KIND_COUNTER, 0);
	}
}

static void
sleep_until(uint64_t t_ns)
{
	struct timespec ts = { (time_t)(t_ns / 1000000000u),
	    (long)(t_ns % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

static bool
due(double at, uint64_t t0, uint64_t now)
{
	return at >= 0 && (double)(now - t0) / 1e9 >= at;
}

/* Core 1 after a panic or in a hang: alive, silent, until reset. */
static void
park(struct sim_core1 *c)
{
	while (!atomic_load(&c->stop))
		sleep_until(sim_now_ns() + 1000000u);
}

static void
do_panic(struct sim_core1 *c, struct ac_region *r)
{
	/* Code addresses, except the last: a windowed-ABI return address as
	 * a stack walk finds it in a0 (call8: 0b10 in bits 31:30, 3 bytes
	 * past the call at 0x42000a10), as core-1 code may report it. */
	static const uint32_t bt[] = { 0x42002a1cu, 0x42001f40u, 0x420011b8u,
	    0x42000c64u, 0x82000a13u };
	uint32_t ar[16];
	struct ac_panic_info pi = {
		.reason = AC_PANIC_ASSERT,
		.file = "dsp/mixer.c",
		.line = 217,
		.msg = "assert failed: fill <= BUF_FRAMES",
		.pc = 0x42002a31u,
		.sp = AC_REGION_DEFAULT_BASE + c->size - 0x1a0u,
		.ps = 0x00060f30u,
		.exccause = 0,
		.excvaddr = 0,
		.ar = ar,
		.bt = bt,
		.bt_count = sizeof(bt) / sizeof(bt[0]),
	};

	for (uint32_t i = 0; i < 16; i++)
		ar[i] = 0x3fcc0000u + i * 0x111u;
	ar[1] = pi.sp;
	ac_log(r, AC_LOG_ERROR, 0, "panic: assert failed in dsp/mixer.c:217");
	ac_panic_record(r, &pi);
	park(c);
}

/* A wild pointer: garbage over the header, the core-1 block and counters. */
static void
do_corrupt(struct ac_region *r, uint64_t *rng)
{
	uint8_t *p = (uint8_t *)r;

	for (uint32_t i = 0; i < 256; i++)
		AC_STORE(&p[i], (uint8_t)rng_next(rng));
}

void
sim_workload_init(struct sim_workload *w, struct ac_region *r,
    uint32_t counters, uint64_t seed, int run)
{
	char line[AC_LOG_TEXT_LEN + 1];

	memset(w, 0, sizeof(*w));
	w->rng = (seed ^ (uint64_t)run * 0x9E3779B97F4A7C15ull) | 1;
	w->counters = counters;
	w->nch = counters > C_BASE ? (counters - C_BASE + 1) / 2 : 0;
	w->fill = 128;
	w->fill_min = 256;
	register_counters(r, counters);
	snprintf(line, sizeof(line), "core1 up: run %d, %u counters", run,
	    counters);
	ac_log(r, AC_LOG_INFO, 0, line);
	ac_set_running(r);
}

/* One 1 ms audio block at time t (seconds since start). */
void
sim_workload_step(struct sim_workload *w, struct ac_region *r, double t)
{
	uint64_t *rng = &w->rng;
	uint64_t block = w->block++;
	uint32_t n = w->counters, load;
	char line[AC_LOG_TEXT_LEN + 1];

	load = (uint32_t)(450.0 + 150.0 * sin(t * 2 * M_PI / 7.0)) +
	    rng_below(rng, 31) - 15;
	ac_counter_add(r, C_FRAMES, SIM_FRAMES_PER_BLOCK);
	ac_counter_add(r, C_BLOCKS, 1);
	ac_counter_add(r, C_DMA_IRQS, 2);
	ac_counter_set(r, C_DSP_LOAD, load);
	if (block % 100 == 0 || load > w->load_max)
		w->load_max = load;
	ac_counter_set(r, C_DSP_PEAK, w->load_max);
	ac_counter_add(r, C_LOOPS, (1000 - load) * 3 / 2);
	w->fill = w->fill + rng_below(rng, 7) - 3;
	if (w->fill < 16 || w->fill > 240)
		w->fill = 128;
	w->fill_min = w->fill < w->fill_min ? w->fill : w->fill_min;
	w->fill_max = w->fill > w->fill_max ? w->fill : w->fill_max;
	ac_counter_set(r, C_BUF_FILL, w->fill);
	ac_counter_set(r, C_STACK_FREE, 3072 - w->load_max / 4 * 4);
	if (block % 100 == 0)
		ac_counter_set(r, C_TEMP, 45000 +
		    (uint32_t)(2000.0 * sin(t / 60.0)) + rng_below(rng, 50));
	if (block % 8 == 0)
		ac_counter_add(r, C_USB_PKTS, 8);
	if (rng_below(rng, 30000) == 0) {
		ac_counter_add(r, C_UNDERRUNS, 1);
		snprintf(line, sizeof(line), "underrun at block %llu",
		    (unsigned long long)block);
		ac_log(r, AC_LOG_WARN, (uint32_t)block, line);
	}
	if (rng_below(rng, 100000) == 0)
		ac_counter_add(r, C_OVERRUNS, 1);
	if (rng_below(rng, 200000) == 0)
		ac_counter_add(r, C_I2C_ERRORS, 1);
	if (rng_below(rng, 500000) == 0)
		ac_counter_add(r, C_SYNC_SLIPS, 1);
	/* Level meters: instant attack, 1.5 dB per 10 ms release. */
	if (block % 10 == 0)
		for (uint32_t ch = 0; ch < w->nch; ch++) {
			int32_t sig = -200 + (int32_t)(120.0 *
			    sin(t * (0.7 + 0.13 * ch))) +
			    (int32_t)rng_below(rng, 80) - 40;
			uint32_t gi = C_BASE + 2 * ch;

			w->peak[ch] = sig > w->peak[ch] - 15 ? sig :
			    w->peak[ch] - 15;
			if (w->peak[ch] > 0)
				w->peak[ch] = 0;
			ac_counter_set(r, gi, (uint32_t)w->peak[ch]);
			if (gi + 1 < n && sig > -90 && rng_below(rng, 50) == 0)
				ac_counter_add(r, gi + 1, 1);
		}
	if (block % 5000 == 4999) {
		snprintf(line, sizeof(line), "buf fill min %u max %u",
		    w->fill_min, w->fill_max);
		ac_log(r, AC_LOG_INFO, (uint32_t)block, line);
		w->fill_min = 256;
		w->fill_max = 0;
	}
	ac_heartbeat(r);
}

/*
 * The code core 1 runs: the C workload above, or the same workload written
 * in Rust against the appcore-core1 crate (--core1 rust), whose panics are
 * Rust panics recorded by its #[panic_handler].
 */
struct core1_run {
	struct sim_core1 *c;
	struct ac_region *r;
	struct sim_workload w;		/* C */
	_Alignas(16) unsigned char rust[2048];	/* Rust: its own state */
	uint64_t rng;			/* the corruption's, either way */
};

#ifdef APPCORE_HAVE_RUST
static _Thread_local struct sim_core1 *parked_core;

/* After a Rust panic: parked until reset, then the thread ends here (the
 * panic handler's frames never return). */
static _Noreturn void
rust_parked(void)
{
	park(parked_core);
	pthread_exit(NULL);
}
#endif

static bool
run_start(struct core1_run *k)
{
	struct sim_core1 *c = k->c;
	int run = atomic_load(&c->runs);

	k->rng = (c->seed ^ (uint64_t)run * 0x9E3779B97F4A7C15ull) | 1;
#ifdef APPCORE_HAVE_RUST
	if (c->rust) {
		parked_core = c;
		k->r = c->mem;
		return acr_workload_init(k->rust, sizeof(k->rust), c->mem,
		    c->size, c->core1_addr, c->counters, c->seed, run,
		    rust_parked) == 0;
	}
#endif
	if ((k->r = ac_core1_init(c->mem, c->size)) == NULL)
		return false;
	sim_workload_init(&k->w, k->r, c->counters, c->seed, run);
	return true;
}

static void
run_step(struct core1_run *k, double t)
{
#ifdef APPCORE_HAVE_RUST
	if (k->c->rust) {
		acr_workload_step(k->rust, t);
		return;
	}
#endif
	sim_workload_step(&k->w, k->r, t);
}

static void
run_panic(struct core1_run *k)
{
#ifdef APPCORE_HAVE_RUST
	if (k->c->rust)
		acr_workload_panic(k->rust);
#endif
	do_panic(k->c, k->r);
}

/* Spinning in codec_wait_ready() on its own frame, after a last word. */
static void
run_hang(struct core1_run *k)
{
	struct sim_core1 *c = k->c;

#ifdef APPCORE_HAVE_RUST
	if (c->rust)
		acr_workload_hang(k->rust);
	else
#endif
		ac_log(k->r, AC_LOG_WARN, (uint32_t)k->w.block,
		    "waiting for codec ready...");
	atomic_store(&c->pc, SIM_HANG_PC);
	atomic_store(&c->sp, AC_REGION_DEFAULT_BASE + c->size - 0x220u);
	park(c);
}

/* An image that fails as its behaviour says; true once core 1 parked. */
static bool
image_fails(struct core1_run *k, uint64_t run_t0, uint64_t now)
{
	if (k->c->behaviour == SIM_PANIC && now - run_t0 >= 50000000u) {
		run_panic(k);
		return true;
	}
	if (k->c->behaviour == SIM_HANG && now - run_t0 >= 300000000u) {
		run_hang(k);
		return true;
	}
	return false;
}

/* The injections of the command line; true once core 1 parked. */
static bool
injected_fails(struct core1_run *k, uint64_t run_t0, uint64_t now)
{
	struct sim_core1 *c = k->c;

	if (due(c->panic_at, c->panic_each_run ? run_t0 : c->t0_ns, now)) {
		if (!c->panic_each_run)
			c->panic_at = SIM_NEVER;
		run_panic(k);
		return true;
	}
	if (due(c->hang_at, c->t0_ns, now)) {
		c->hang_at = SIM_NEVER;
		run_hang(k);
		return true;
	}
	if (due(c->corrupt_at, c->t0_ns, now)) {
		c->corrupt_at = SIM_NEVER;
		do_corrupt(k->r, &k->rng);
	}
	return false;
}

static void *
core1_main(void *arg)
{
	struct sim_core1 *c = arg;
	struct core1_run k = { .c = c };
	uint64_t next, run_t0;

	if (c->behaviour == SIM_SILENT) {
		park(c);		/* never gets as far as its region */
		return NULL;
	}
	if (!run_start(&k))
		return NULL;
	next = sim_now_ns();
	run_t0 = next;
	if (c->behaviour == SIM_NO_HEARTBEAT) {
		park(c);		/* running, as far as its region says */
		return NULL;
	}
	while (!atomic_load(&c->stop)) {
		uint64_t now = sim_now_ns();

		if (image_fails(&k, run_t0, now) ||
		    injected_fails(&k, run_t0, now))
			break;
		run_step(&k, (double)(now - c->t0_ns) / 1e9);
		next += SIM_BLOCK_US * 1000u;
		if (next < now)
			next = now;	/* the host was busy: do not catch up */
		sleep_until(next);
	}
	return NULL;
}

int
sim_core1_start(struct sim_core1 *c)
{
	int err;

	atomic_store(&c->stop, false);
	atomic_store(&c->pc, 0);
	atomic_store(&c->sp, 0);
	atomic_store(&c->stalled, false);
	atomic_fetch_add(&c->runs, 1);
	if ((err = pthread_create(&c->th, NULL, core1_main, c)) != 0) {
		errno = err;
		return -1;
	}
	c->running = true;
	return 0;
}

void
sim_core1_stop(struct sim_core1 *c)
{
	if (!c->running)
		return;
	atomic_store(&c->stop, true);
	pthread_join(c->th, NULL);
	c->running = false;
}
