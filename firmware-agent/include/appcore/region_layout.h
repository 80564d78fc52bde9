/*
 * The shared-region layout as lists, for tables generated from region.h
 * rather than typed again: every struct (S) and field (F), and every
 * constant (C) a writer of the region must agree on.  Users define S, F and
 * C and expand the lists: tests/xtensa/layout.c (host against Xtensa) and
 * firmware-agent/rust/appcore-core1/layout/gen_layout.c (C against the Rust
 * crate).  A field added to region.h belongs here too; region.h's static
 * assertions pin the values, these lists only name them.
 */
#ifndef APPCORE_REGION_LAYOUT_H
#define APPCORE_REGION_LAYOUT_H

#include "region.h"

#define AC_REGION_LAYOUT(S, F) \
	S(ac_header) \
	F(ac_header, magic) \
	F(ac_header, layout_version) \
	F(ac_header, header_size) \
	F(ac_header, region_size) \
	F(ac_header, generation) \
	F(ac_header, core1_off) \
	F(ac_header, counters_off) \
	F(ac_header, desc_off) \
	F(ac_header, panic_off) \
	F(ac_header, log_off) \
	F(ac_header, user_off) \
	F(ac_header, user_size) \
	F(ac_header, max_counters) \
	F(ac_header, log_slots) \
	F(ac_header, reserved) \
	S(ac_core1_block) \
	F(ac_core1_block, state) \
	F(ac_core1_block, heartbeat) \
	F(ac_core1_block, counters_used) \
	F(ac_core1_block, desc_seq) \
	F(ac_core1_block, log_head) \
	F(ac_core1_block, reserved) \
	S(ac_counter_desc) \
	F(ac_counter_desc, name) \
	F(ac_counter_desc, unit) \
	F(ac_counter_desc, kind) \
	F(ac_counter_desc, flags) \
	F(ac_counter_desc, reserved0) \
	F(ac_counter_desc, reserved1) \
	S(ac_panic_record) \
	F(ac_panic_record, seq) \
	F(ac_panic_record, reason) \
	F(ac_panic_record, pc) \
	F(ac_panic_record, sp) \
	F(ac_panic_record, ps) \
	F(ac_panic_record, exccause) \
	F(ac_panic_record, excvaddr) \
	F(ac_panic_record, line) \
	F(ac_panic_record, bt_count) \
	F(ac_panic_record, sar) \
	F(ac_panic_record, ar) \
	F(ac_panic_record, bt) \
	F(ac_panic_record, file) \
	F(ac_panic_record, msg) \
	S(ac_log_slot) \
	F(ac_log_slot, seq) \
	F(ac_log_slot, stamp) \
	F(ac_log_slot, level) \
	F(ac_log_slot, len) \
	F(ac_log_slot, reserved) \
	F(ac_log_slot, text) \
	S(ac_region) \
	F(ac_region, hdr) \
	F(ac_region, core1) \
	F(ac_region, counters) \
	F(ac_region, desc) \
	F(ac_region, panic) \
	F(ac_region, log)

#define AC_REGION_CONSTANTS(C) \
	C(AC_REGION_MAGIC) \
	C(AC_LAYOUT_VERSION) \
	C(AC_REGION_DEFAULT_BASE) \
	C(AC_REGION_DEFAULT_SIZE) \
	C(AC_MAX_COUNTERS) \
	C(AC_NAME_LEN) \
	C(AC_UNIT_LEN) \
	C(AC_LOG_SLOTS) \
	C(AC_LOG_TEXT_LEN) \
	C(AC_BT_MAX) \
	C(AC_PANIC_FILE_LEN) \
	C(AC_PANIC_MSG_LEN) \
	C(AC_REGION_MIN_SIZE) \
	C(AC_STATE_OFF) \
	C(AC_STATE_BOOTING) \
	C(AC_STATE_RUNNING) \
	C(AC_STATE_PANICKED) \
	C(AC_STATE_HUNG) \
	C(AC_STATE_STOPPED) \
	C(AC_STATE_CORRUPT) \
	C(AC_STATE_COUNT) \
	C(AC_KIND_UNUSED) \
	C(AC_KIND_COUNTER) \
	C(AC_KIND_GAUGE) \
	C(AC_KIND_COUNT) \
	C(AC_FLAG_SIGNED) \
	C(AC_FLAGS_KNOWN) \
	C(AC_PANIC_NONE) \
	C(AC_PANIC_EXPLICIT) \
	C(AC_PANIC_ASSERT) \
	C(AC_PANIC_EXCEPTION) \
	C(AC_PANIC_STACK_OVERFLOW) \
	C(AC_PANIC_HANG) \
	C(AC_PANIC_COUNT) \
	C(AC_LOG_ERROR) \
	C(AC_LOG_WARN) \
	C(AC_LOG_INFO) \
	C(AC_LOG_DEBUG)

#endif /* APPCORE_REGION_LAYOUT_H */
