/*
 * Every offset and size of the shared-region layout, as a table in its own
 * section.  tests/xtensa/check.sh compiles this file for the host and for
 * Xtensa and requires the two sections to be byte-identical.
 * Generated from region.h's structs; keep in step with it.
 */
#include <stddef.h>
#include <stdint.h>

#include "appcore/region.h"

#define F(t, f) { offsetof(struct t, f), sizeof(((struct t *)0)->f) }
#define S(t) { 0xffffffffu, sizeof(struct t) }

struct ac_layout_entry {
	uint32_t off;
	uint32_t size;
};

extern const struct ac_layout_entry ac_layout[];
__attribute__((used, section(".appcore_layout")))
const struct ac_layout_entry ac_layout[] = {
	S(ac_header),
	F(ac_header, magic),
	F(ac_header, layout_version),
	F(ac_header, header_size),
	F(ac_header, region_size),
	F(ac_header, generation),
	F(ac_header, core1_off),
	F(ac_header, counters_off),
	F(ac_header, desc_off),
	F(ac_header, panic_off),
	F(ac_header, log_off),
	F(ac_header, user_off),
	F(ac_header, user_size),
	F(ac_header, max_counters),
	F(ac_header, log_slots),
	F(ac_header, reserved),
	S(ac_core1_block),
	F(ac_core1_block, state),
	F(ac_core1_block, heartbeat),
	F(ac_core1_block, counters_used),
	F(ac_core1_block, desc_seq),
	F(ac_core1_block, log_head),
	F(ac_core1_block, reserved),
	S(ac_counter_desc),
	F(ac_counter_desc, name),
	F(ac_counter_desc, unit),
	F(ac_counter_desc, kind),
	F(ac_counter_desc, flags),
	F(ac_counter_desc, reserved0),
	F(ac_counter_desc, reserved1),
	S(ac_panic_record),
	F(ac_panic_record, seq),
	F(ac_panic_record, reason),
	F(ac_panic_record, pc),
	F(ac_panic_record, sp),
	F(ac_panic_record, ps),
	F(ac_panic_record, exccause),
	F(ac_panic_record, excvaddr),
	F(ac_panic_record, line),
	F(ac_panic_record, bt_count),
	F(ac_panic_record, sar),
	F(ac_panic_record, ar),
	F(ac_panic_record, bt),
	F(ac_panic_record, file),
	F(ac_panic_record, msg),
	S(ac_log_slot),
	F(ac_log_slot, seq),
	F(ac_log_slot, stamp),
	F(ac_log_slot, level),
	F(ac_log_slot, len),
	F(ac_log_slot, reserved),
	F(ac_log_slot, text),
	S(ac_region),
	F(ac_region, hdr),
	F(ac_region, core1),
	F(ac_region, counters),
	F(ac_region, desc),
	F(ac_region, panic),
	F(ac_region, log),
	{ AC_REGION_MAGIC, AC_LAYOUT_VERSION },
	{ AC_MAX_COUNTERS, AC_LOG_SLOTS },
	{ AC_STATE_COUNT, AC_PANIC_COUNT },
};
