/*
 * Conformance of the Rust crate (appcore-core1) with core1.h: the same
 * script of core-1 API calls, once through core1.h into one buffer and
 * once through the crate (its C ABI in libappcore_core1_host.a) into
 * another, must leave the two regions byte-identical after every step.
 * (tests/unit/test_region.c built against the crate - test rust-region -
 * has the real agent read what Rust writes while it writes.)
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "appcore/core1.h"
#include "appcore_core1_host.h"
#include "check.h"

#define SIZE	(32 * 1024)

static _Alignas(64) uint8_t mem_c[SIZE], mem_rust[SIZE];
static int steps, differ;

/* One call on both sides, then the regions compared byte for byte. */
#define BOTH(c_call, rust_call) do {					\
	int rc_c_ = (c_call), rc_r_ = (rust_call);			\
	steps++;							\
	CHECK_QUIET(rc_c_ == rc_r_ && memcmp(mem_c, mem_rust, SIZE) == 0, \
	    differ, "step %d (%s): C %d, Rust %d, regions %s", steps,	\
	    #c_call, rc_c_, rc_r_, memcmp(mem_c, mem_rust, SIZE) == 0 ? \
	    "equal" : "differ");					\
} while (0)
#define VOID(call)	((call), 0)

static int
init_c(uint32_t size)
{
	return ac_core1_init(mem_c, size) != NULL;
}

static int
init_rust(uint32_t size)
{
	return acr_core1_init(mem_rust, size) != NULL;
}

static void
registers(void)
{
	char name[48], unit[16];

	for (uint32_t i = 0; i < AC_MAX_COUNTERS; i++) {
		/* Names and units from 1 to 47 and 15 bytes: some cut. */
		memset(name, 'a' + (char)(i % 26), sizeof(name));
		name[1 + i % 47] = '\0';
		memset(unit, 'u', sizeof(unit));
		unit[i % 16] = '\0';
		enum ac_counter_kind k = i % 3 == 0 ? AC_KIND_GAUGE :
		    AC_KIND_COUNTER;
		uint8_t f = i % 5 == 0 ? AC_FLAG_SIGNED : 0;

		BOTH(ac_counter_register((struct ac_region *)mem_c, i, name,
		    unit, k, f), acr_counter_register(mem_rust, i, name, unit,
		    k, f));
	}
	/* Refused alike: index, kind, empty name, flags. */
	BOTH(ac_counter_register((struct ac_region *)mem_c, 200, "x", "",
	    AC_KIND_GAUGE, 0), acr_counter_register(mem_rust, 200, "x", "",
	    AC_KIND_GAUGE, 0));
	BOTH(ac_counter_register((struct ac_region *)mem_c, 1, "x", "",
	    AC_KIND_UNUSED, 0), acr_counter_register(mem_rust, 1, "x", "",
	    AC_KIND_UNUSED, 0));
	BOTH(ac_counter_register((struct ac_region *)mem_c, 1, "", "",
	    AC_KIND_GAUGE, 0), acr_counter_register(mem_rust, 1, "", "",
	    AC_KIND_GAUGE, 0));
	BOTH(ac_counter_register((struct ac_region *)mem_c, 1, "x", "",
	    AC_KIND_GAUGE, 2), acr_counter_register(mem_rust, 1, "x", "",
	    AC_KIND_GAUGE, 2));
}

static void
counters(void)
{
	struct ac_region *r = (struct ac_region *)mem_c;

	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t idx = (i * 37) % (AC_MAX_COUNTERS + 3);
		uint32_t v = i * 0x9E3779B9u;

		if (i % 2)
			BOTH(VOID(ac_counter_add(r, idx, v)),
			    VOID(acr_counter_add(mem_rust, idx, v)));
		else
			BOTH(VOID(ac_counter_set(r, idx, v)),
			    VOID(acr_counter_set(mem_rust, idx, v)));
		if (i % 7 == 0)
			BOTH(VOID(ac_heartbeat(r)),
			    VOID(acr_heartbeat(mem_rust)));
	}
	BOTH(VOID(ac_set_running(r)), VOID(acr_set_running(mem_rust)));
}

static void
logs(void)
{
	struct ac_region *r = (struct ac_region *)mem_c;
	char text[80];

	/* 300 records: the ring wraps twice; lengths 0 to 79 (ASCII: the
	 * crate cuts formatted text on a character boundary, C on a byte). */
	for (uint32_t i = 0; i < 300; i++) {
		memset(text, '0' + (char)(i % 10), sizeof(text));
		text[i % 80] = '\0';
		enum ac_log_level l = (enum ac_log_level)(1 + i % 4);

		BOTH(VOID(ac_log(r, l, i * 1000, text)),
		    VOID(acr_log(mem_rust, l, i * 1000, text)));
	}
}

static void
panics(void)
{
	struct ac_region *r = (struct ac_region *)mem_c;
	uint32_t ar[16], bt[AC_BT_MAX + 8];
	char file[64], msg[160];

	for (uint32_t i = 0; i < 16; i++)
		ar[i] = 0x3fcc0000u + i;
	for (uint32_t i = 0; i < AC_BT_MAX + 8; i++)
		bt[i] = 0x42000000u + 4 * i;
	memset(file, 'f', sizeof(file) - 1);
	file[sizeof(file) - 1] = '\0';
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	struct ac_panic_info full = { .reason = AC_PANIC_EXCEPTION,
	    .file = file, .line = 217, .msg = msg, .pc = 1, .sp = 2, .ps = 3,
	    .exccause = 28, .excvaddr = 5, .sar = 6, .ar = ar, .bt = bt,
	    .bt_count = AC_BT_MAX + 8 };
	struct ac_panic_info bare = { .reason = AC_PANIC_ASSERT,
	    .file = "main.rs", .line = 9, .msg = "x", .bt_count = 4 };

	BOTH(VOID(ac_panic_record(r, &full)),
	    VOID(acr_panic_record(mem_rust, &full)));
	BOTH(VOID(ac_panic_record(r, &bare)),
	    VOID(acr_panic_record(mem_rust, &bare)));
}

int
main(void)
{
	/* Both buffers start with different garbage: init must clear it. */
	memset(mem_c, 0xa5, sizeof(mem_c));
	memset(mem_rust, 0x5a, sizeof(mem_rust));
	CHECK(init_c(AC_REGION_MIN_SIZE - 4) == 0 &&
	    init_rust(AC_REGION_MIN_SIZE - 4) == 0,
	    "a region too small is refused by both");
	CHECK(acr_core1_init(mem_rust + 2, SIZE - 4) == NULL,
	    "a misaligned region is refused");
	CHECK(init_c(SIZE) && init_rust(SIZE) &&
	    memcmp(mem_c, mem_rust, AC_REGION_MIN_SIZE) == 0,
	    "fresh regions: the fixed part identical");
	/* The user area is core 1's: nobody clears it.  Make it equal. */
	memset(mem_c + AC_REGION_MIN_SIZE, 0, SIZE - AC_REGION_MIN_SIZE);
	memset(mem_rust + AC_REGION_MIN_SIZE, 0, SIZE - AC_REGION_MIN_SIZE);
	BOTH(init_c(SIZE), init_rust(SIZE));	/* generation 2 */
	registers();
	counters();
	logs();
	panics();
	BOTH(init_c(SIZE - 64), init_rust(SIZE - 64));	/* a restart */
	CHECK(differ == 0, "%d steps of the core-1 API through core1.h and "
	    "through the Rust crate: regions byte-identical after each (%d "
	    "differ)", steps, differ);
	CHECK(((struct ac_region *)mem_rust)->hdr.generation == 3 &&
	    ((struct ac_region *)mem_rust)->core1.log_head == 0,
	    "the restart kept only the generation (3)");
	return check_done();
}
