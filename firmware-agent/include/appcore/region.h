/*
 * The shared-region contract between core 1 (bare metal, the producer) and
 * core 0 (the appcore agent, the consumer).
 *
 * Layout version 1.  Every multi-byte field is little-endian (both Xtensa
 * cores and every supported host are), naturally aligned, and its offset is
 * pinned by a static assertion below: a change that moves a field breaks the
 * build, not a board in the field.  See docs/region.md for the memory
 * ordering argument.
 *
 * Ownership: core 1 writes everything here except the fields marked
 * "agent".  Core 0 only reads, so core 1 never waits for core 0 and is never
 * halted by it.
 */
#ifndef APPCORE_REGION_H
#define APPCORE_REGION_H

#include <stddef.h>
#include <stdint.h>

#define AC_REGION_MAGIC		0x52314341u	/* "AC1R" in memory */
#define AC_LAYOUT_VERSION	1u
#define AC_REGION_DEFAULT_BASE	0x3FCC9710u
#define AC_REGION_DEFAULT_SIZE	0x20000u	/* 128 KiB */

#define AC_MAX_COUNTERS		128u
#define AC_NAME_LEN		32u	/* including the NUL */
#define AC_UNIT_LEN		8u	/* including the NUL */
#define AC_LOG_SLOTS		128u	/* power of two */
#define AC_LOG_TEXT_LEN		52u	/* not NUL-terminated when full */
#define AC_BT_MAX		32u
#define AC_PANIC_FILE_LEN	40u
#define AC_PANIC_MSG_LEN	112u

enum ac_core1_state {
	AC_STATE_OFF = 0,	/* region not initialised */
	AC_STATE_BOOTING = 1,	/* core 1 initialised the region */
	AC_STATE_RUNNING = 2,	/* core 1 entered its main loop */
	AC_STATE_PANICKED = 3,	/* core 1 wrote a panic record */
	AC_STATE_HUNG = 4,	/* agent: heartbeat silent past the timeout */
	AC_STATE_STOPPED = 5,	/* agent: core 1 stalled or held in reset */
	AC_STATE_CORRUPT = 6,	/* agent: the region header is not valid */
	AC_STATE_COUNT
};

enum ac_counter_kind {
	AC_KIND_UNUSED = 0,
	AC_KIND_COUNTER = 1,	/* monotonic, wraps at 2^32 */
	AC_KIND_GAUGE = 2,	/* any value */
	AC_KIND_COUNT
};

/* ac_counter_desc.flags */
#define AC_FLAG_SIGNED		0x01u	/* value is a two's-complement int32 */
#define AC_FLAGS_KNOWN		AC_FLAG_SIGNED

enum ac_panic_reason {
	AC_PANIC_NONE = 0,
	AC_PANIC_EXPLICIT = 1,
	AC_PANIC_ASSERT = 2,
	AC_PANIC_EXCEPTION = 3,
	AC_PANIC_STACK_OVERFLOW = 4,
	AC_PANIC_HANG = 5,	/* agent: recorded on core 1's behalf */
	AC_PANIC_COUNT
};

enum ac_log_level {
	AC_LOG_ERROR = 1,
	AC_LOG_WARN = 2,
	AC_LOG_INFO = 3,
	AC_LOG_DEBUG = 4
};

/* Offset 0: written once by ac_core1_init(), magic last. */
struct ac_header {
	uint32_t magic;
	uint16_t layout_version;
	uint16_t header_size;
	uint32_t region_size;
	uint32_t generation;	/* +1 at every core-1 init */
	uint32_t core1_off;
	uint32_t counters_off;
	uint32_t desc_off;
	uint32_t panic_off;
	uint32_t log_off;
	uint32_t user_off;
	uint32_t user_size;
	uint16_t max_counters;
	uint16_t log_slots;
	uint32_t reserved[4];
};

/* Core-1 liveness and the sequence words that guard the other parts. */
struct ac_core1_block {
	uint32_t state;		/* enum ac_core1_state, core-1 values only */
	uint32_t heartbeat;	/* incremented by core 1's main loop */
	uint32_t counters_used;	/* 1 + highest registered counter index */
	uint32_t desc_seq;	/* sequence lock over the descriptor table */
	uint32_t log_head;	/* log records ever written */
	uint32_t reserved[11];
};

struct ac_counter_desc {
	char name[AC_NAME_LEN];
	char unit[AC_UNIT_LEN];
	uint8_t kind;		/* enum ac_counter_kind */
	uint8_t flags;
	uint16_t reserved0;
	uint32_t reserved1;
};

/* Published under `seq`: odd while core 1 writes it, even when complete. */
struct ac_panic_record {
	uint32_t seq;
	uint32_t reason;	/* enum ac_panic_reason */
	uint32_t pc;
	uint32_t sp;
	uint32_t ps;
	uint32_t exccause;
	uint32_t excvaddr;
	uint32_t line;
	uint32_t bt_count;
	uint32_t sar;		/* shift amount register; 0 when not known */
	uint32_t ar[16];	/* a0..a15 of the faulting window */
	uint32_t bt[AC_BT_MAX];
	char file[AC_PANIC_FILE_LEN];
	char msg[AC_PANIC_MSG_LEN];
};

/* Record n lives in slot n % AC_LOG_SLOTS; seq is 2n+1 while it is being
 * written and 2n+2 once complete, so a reader can tell a torn, a stale and
 * an overwritten slot apart. */
struct ac_log_slot {
	uint32_t seq;
	uint32_t stamp;		/* core-1 time stamp, free format */
	uint8_t level;		/* enum ac_log_level */
	uint8_t len;
	uint16_t reserved;
	char text[AC_LOG_TEXT_LEN];
};

/* The fixed part of the region; the user area follows up to region_size. */
struct ac_region {
	struct ac_header hdr;
	struct ac_core1_block core1;
	uint32_t counters[AC_MAX_COUNTERS];
	struct ac_counter_desc desc[AC_MAX_COUNTERS];
	struct ac_panic_record panic;
	struct ac_log_slot log[AC_LOG_SLOTS];
};

#define AC_REGION_MIN_SIZE	((uint32_t)sizeof(struct ac_region))

/* The layout, pinned.  tests/xtensa compares these with the Xtensa build. */
_Static_assert(sizeof(struct ac_header) == 64, "header size");
_Static_assert(offsetof(struct ac_header, magic) == 0, "magic");
_Static_assert(offsetof(struct ac_header, layout_version) == 4, "version");
_Static_assert(offsetof(struct ac_header, header_size) == 6, "hsize");
_Static_assert(offsetof(struct ac_header, region_size) == 8, "rsize");
_Static_assert(offsetof(struct ac_header, generation) == 12, "gen");
_Static_assert(offsetof(struct ac_header, core1_off) == 16, "core1_off");
_Static_assert(offsetof(struct ac_header, counters_off) == 20, "ctr_off");
_Static_assert(offsetof(struct ac_header, desc_off) == 24, "desc_off");
_Static_assert(offsetof(struct ac_header, panic_off) == 28, "panic_off");
_Static_assert(offsetof(struct ac_header, log_off) == 32, "log_off");
_Static_assert(offsetof(struct ac_header, user_off) == 36, "user_off");
_Static_assert(offsetof(struct ac_header, user_size) == 40, "user_size");
_Static_assert(offsetof(struct ac_header, max_counters) == 44, "maxctr");
_Static_assert(offsetof(struct ac_header, log_slots) == 46, "logslots");

_Static_assert(sizeof(struct ac_core1_block) == 64, "core1 size");
_Static_assert(offsetof(struct ac_core1_block, state) == 0, "state");
_Static_assert(offsetof(struct ac_core1_block, heartbeat) == 4, "hb");
_Static_assert(offsetof(struct ac_core1_block, counters_used) == 8, "used");
_Static_assert(offsetof(struct ac_core1_block, desc_seq) == 12, "dseq");
_Static_assert(offsetof(struct ac_core1_block, log_head) == 16, "lhead");

_Static_assert(sizeof(struct ac_counter_desc) == 48, "desc size");
_Static_assert(offsetof(struct ac_counter_desc, unit) == 32, "unit");
_Static_assert(offsetof(struct ac_counter_desc, kind) == 40, "kind");

_Static_assert(sizeof(struct ac_panic_record) == 384, "panic size");
_Static_assert(offsetof(struct ac_panic_record, reason) == 4, "reason");
_Static_assert(offsetof(struct ac_panic_record, pc) == 8, "pc");
_Static_assert(offsetof(struct ac_panic_record, sp) == 12, "sp");
_Static_assert(offsetof(struct ac_panic_record, line) == 28, "line");
_Static_assert(offsetof(struct ac_panic_record, bt_count) == 32, "btc");
_Static_assert(offsetof(struct ac_panic_record, ar) == 40, "ar");
_Static_assert(offsetof(struct ac_panic_record, bt) == 104, "bt");
_Static_assert(offsetof(struct ac_panic_record, file) == 232, "file");
_Static_assert(offsetof(struct ac_panic_record, msg) == 272, "msg");

_Static_assert(sizeof(struct ac_log_slot) == 64, "log slot size");
_Static_assert(offsetof(struct ac_log_slot, stamp) == 4, "stamp");
_Static_assert(offsetof(struct ac_log_slot, level) == 8, "level");
_Static_assert(offsetof(struct ac_log_slot, len) == 9, "len");
_Static_assert(offsetof(struct ac_log_slot, text) == 12, "text");
_Static_assert((AC_LOG_SLOTS & (AC_LOG_SLOTS - 1)) == 0, "log slots pow2");

_Static_assert(offsetof(struct ac_region, core1) == 64, "core1 off");
_Static_assert(offsetof(struct ac_region, counters) == 128, "ctr off");
_Static_assert(offsetof(struct ac_region, desc) == 640, "desc off");
_Static_assert(offsetof(struct ac_region, panic) == 6784, "panic off");
_Static_assert(offsetof(struct ac_region, log) == 7168, "log off");
_Static_assert(sizeof(struct ac_region) == 15360, "fixed part size");
_Static_assert(AC_STATE_COUNT == 7 && AC_KIND_COUNT == 3 &&
    AC_PANIC_COUNT == 6, "enums are part of the layout");

/*
 * Relaxed single-word accesses and fences.  Aligned 32-bit loads and stores
 * are single-copy atomic on Xtensa and on every host; the builtins keep the
 * compiler from tearing, merging or caching them, and the fences emit
 * `memw` on Xtensa.
 */
#define AC_LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define AC_STORE(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define AC_FENCE_REL()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define AC_FENCE_ACQ()		__atomic_thread_fence(__ATOMIC_ACQUIRE)

#endif /* APPCORE_REGION_H */
