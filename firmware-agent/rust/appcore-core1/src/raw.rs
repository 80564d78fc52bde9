//! Every unsafe operation of the crate, and only here: turning an address
//! into the region, and the layout table the layout test reads.  Everything
//! else goes through shared references to atomics; the public `unsafe fn`s
//! elsewhere only pass their caller's promise on to these.

use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::addr_of;
use core::sync::atomic::{AtomicU32, AtomicU8};

use crate::layout::*;

/// The region's fixed part at `base`.
///
/// # Safety
/// `base` must point to at least `REGION_MIN_SIZE` bytes, 4-byte aligned,
/// valid for the lifetime `'a`, that nothing else in this program accesses
/// except through this crate (core 0 reading it is fine: every field is an
/// atomic).
pub(crate) unsafe fn region_at<'a>(base: *mut u8) -> &'a RegionFixed {
    debug_assert!(base as usize % align_of::<RegionFixed>() == 0);
    // SAFETY: the caller's promise.
    unsafe { &*(base as *const RegionFixed) }
}

/// The fixed part as words, to lay it out afresh.
pub(crate) fn words(r: &RegionFixed) -> &[AtomicU32] {
    const N: usize = size_of::<RegionFixed>() / 4;
    // SAFETY: RegionFixed is repr(C), 4-aligned, a multiple of 4 bytes and
    // made only of atomics, so it is N AtomicU32 as well; the lifetime is
    // the reference's.
    unsafe { core::slice::from_raw_parts(r as *const RegionFixed as *const AtomicU32, N) }
}

macro_rules! field {
    ($t:ty, $cname:literal, $f:ident) => {{
        let m = MaybeUninit::<$t>::uninit();
        let base = m.as_ptr();
        // SAFETY: addr_of! takes the field's address without reading it.
        let f = unsafe { addr_of!((*base).$f) };
        (
            concat!($cname, ".", stringify!($f)),
            f as *const u8 as usize - base as *const u8 as usize,
            size_of_pointee(f),
        )
    }};
}

macro_rules! strukt {
    ($t:ty, $cname:literal) => {
        ($cname, usize::MAX, size_of::<$t>())
    };
}

fn size_of_pointee<T>(_: *const T) -> usize {
    size_of::<T>()
}

/// The Rust side's layout, named as the C header names it: (struct or
/// struct.field, offset or usize::MAX for a struct, size).
#[doc(hidden)]
pub fn rust_layout() -> [(&'static str, usize, usize); 59] {
    [
        strukt!(Header, "ac_header"),
        field!(Header, "ac_header", magic),
        field!(Header, "ac_header", layout_version),
        field!(Header, "ac_header", header_size),
        field!(Header, "ac_header", region_size),
        field!(Header, "ac_header", generation),
        field!(Header, "ac_header", core1_off),
        field!(Header, "ac_header", counters_off),
        field!(Header, "ac_header", desc_off),
        field!(Header, "ac_header", panic_off),
        field!(Header, "ac_header", log_off),
        field!(Header, "ac_header", user_off),
        field!(Header, "ac_header", user_size),
        field!(Header, "ac_header", max_counters),
        field!(Header, "ac_header", log_slots),
        field!(Header, "ac_header", reserved),
        strukt!(Core1Block, "ac_core1_block"),
        field!(Core1Block, "ac_core1_block", state),
        field!(Core1Block, "ac_core1_block", heartbeat),
        field!(Core1Block, "ac_core1_block", counters_used),
        field!(Core1Block, "ac_core1_block", desc_seq),
        field!(Core1Block, "ac_core1_block", log_head),
        field!(Core1Block, "ac_core1_block", reserved),
        strukt!(CounterDesc, "ac_counter_desc"),
        field!(CounterDesc, "ac_counter_desc", name),
        field!(CounterDesc, "ac_counter_desc", unit),
        field!(CounterDesc, "ac_counter_desc", kind),
        field!(CounterDesc, "ac_counter_desc", flags),
        field!(CounterDesc, "ac_counter_desc", reserved0),
        field!(CounterDesc, "ac_counter_desc", reserved1),
        strukt!(PanicRecord, "ac_panic_record"),
        field!(PanicRecord, "ac_panic_record", seq),
        field!(PanicRecord, "ac_panic_record", reason),
        field!(PanicRecord, "ac_panic_record", pc),
        field!(PanicRecord, "ac_panic_record", sp),
        field!(PanicRecord, "ac_panic_record", ps),
        field!(PanicRecord, "ac_panic_record", exccause),
        field!(PanicRecord, "ac_panic_record", excvaddr),
        field!(PanicRecord, "ac_panic_record", line),
        field!(PanicRecord, "ac_panic_record", bt_count),
        field!(PanicRecord, "ac_panic_record", sar),
        field!(PanicRecord, "ac_panic_record", ar),
        field!(PanicRecord, "ac_panic_record", bt),
        field!(PanicRecord, "ac_panic_record", file),
        field!(PanicRecord, "ac_panic_record", msg),
        strukt!(LogSlot, "ac_log_slot"),
        field!(LogSlot, "ac_log_slot", seq),
        field!(LogSlot, "ac_log_slot", stamp),
        field!(LogSlot, "ac_log_slot", level),
        field!(LogSlot, "ac_log_slot", len),
        field!(LogSlot, "ac_log_slot", reserved),
        field!(LogSlot, "ac_log_slot", text),
        strukt!(RegionFixed, "ac_region"),
        field!(RegionFixed, "ac_region", hdr),
        field!(RegionFixed, "ac_region", core1),
        field!(RegionFixed, "ac_region", counters),
        field!(RegionFixed, "ac_region", desc),
        field!(RegionFixed, "ac_region", panic),
        field!(RegionFixed, "ac_region", log),
    ]
}

/// An area of core-1 RAM as words and as bytes, for the RTT writer: the
/// control block's words and the buffers' bytes are never the same
/// location, so each location is only ever accessed at one size.
pub(crate) fn area_views(area: &mut [u32]) -> (&[AtomicU32], &[AtomicU8]) {
    // SAFETY: the exclusive borrow of `area` becomes these two shared
    // views of atomics for its lifetime.
    unsafe { area_views_at(area.as_mut_ptr() as *mut u8, area.len() * 4) }
}

/// `area_views` of memory laid out earlier, at an address.
///
/// # Safety
/// `base` is 4-aligned, `len` bytes valid for `'a`, and only accessed
/// through atomics (by this crate and by core 0).
pub(crate) unsafe fn area_views_at<'a>(base: *mut u8, len: usize) -> (&'a [AtomicU32], &'a [AtomicU8]) {
    // SAFETY: the caller's promise.
    unsafe {
        (
            core::slice::from_raw_parts(base as *const AtomicU32, len / 4),
            core::slice::from_raw_parts(base as *const AtomicU8, len),
        )
    }
}
