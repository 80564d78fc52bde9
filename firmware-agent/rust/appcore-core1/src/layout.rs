//! The shared region, layout version 1, as `#[repr(C)]` structs: the same
//! fields, in the same order and with the same sizes as
//! `firmware-agent/include/appcore/region.h`.  Every field is an atomic
//! (same size and alignment as the plain integer), so a shared reference to
//! the region is sound while core 0 reads it, and every access is a
//! single-copy-atomic load or store, as `AC_LOAD`/`AC_STORE` are in C.
//!
//! `tests/layout.rs` compares every offset, size and constant here with
//! values generated out of the C header at build time.

use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU8};

pub const REGION_MAGIC: u32 = 0x5231_4341; // "AC1R" in memory
pub const LAYOUT_VERSION: u32 = 1;
pub const REGION_DEFAULT_BASE: u32 = 0x3FCC_9710;
pub const REGION_DEFAULT_SIZE: u32 = 0x2_0000;

pub const MAX_COUNTERS: u32 = 128;
pub const NAME_LEN: usize = 32; // including the NUL
pub const UNIT_LEN: usize = 8; // including the NUL
pub const LOG_SLOTS: u32 = 128; // power of two
pub const LOG_TEXT_LEN: usize = 52; // not NUL-terminated when full
pub const BT_MAX: u32 = 32;
pub const PANIC_FILE_LEN: usize = 40;
pub const PANIC_MSG_LEN: usize = 112;
pub const REGION_MIN_SIZE: u32 = core::mem::size_of::<RegionFixed>() as u32;

pub const FLAG_SIGNED: u8 = 0x01;
pub const FLAGS_KNOWN: u8 = FLAG_SIGNED;

/// `enum ac_core1_state`; core 1 itself only claims Booting, Running and
/// Panicked, the others are the agent's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum State {
    Off = 0,
    Booting = 1,
    Running = 2,
    Panicked = 3,
    Hung = 4,
    Stopped = 5,
    Corrupt = 6,
}
pub const STATE_COUNT: u32 = 7;

/// `enum ac_counter_kind` (Unused is a free descriptor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Monotonic, wraps at 2^32.
    Counter = 1,
    /// Any value.
    Gauge = 2,
}
pub const KIND_UNUSED: u8 = 0;
pub const KIND_COUNT: u8 = 3;

/// `enum ac_panic_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PanicReason {
    None = 0,
    Explicit = 1,
    Assert = 2,
    Exception = 3,
    StackOverflow = 4,
    /// The agent's, recorded on core 1's behalf.
    Hang = 5,
}
pub const PANIC_COUNT: u32 = 6;

/// `enum ac_log_level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

/// `struct ac_header`: written once by `Region::init`, magic last.
#[repr(C)]
pub struct Header {
    pub magic: AtomicU32,
    pub layout_version: AtomicU16,
    pub header_size: AtomicU16,
    pub region_size: AtomicU32,
    pub generation: AtomicU32,
    pub core1_off: AtomicU32,
    pub counters_off: AtomicU32,
    pub desc_off: AtomicU32,
    pub panic_off: AtomicU32,
    pub log_off: AtomicU32,
    pub user_off: AtomicU32,
    pub user_size: AtomicU32,
    pub max_counters: AtomicU16,
    pub log_slots: AtomicU16,
    pub reserved: [AtomicU32; 4],
}

/// `struct ac_core1_block`: liveness and the sequence words.
#[repr(C)]
pub struct Core1Block {
    pub state: AtomicU32,
    pub heartbeat: AtomicU32,
    pub counters_used: AtomicU32,
    pub desc_seq: AtomicU32,
    pub log_head: AtomicU32,
    pub reserved: [AtomicU32; 11],
}

/// `struct ac_counter_desc`, under `Core1Block::desc_seq`.
#[repr(C)]
pub struct CounterDesc {
    pub name: [AtomicU8; NAME_LEN],
    pub unit: [AtomicU8; UNIT_LEN],
    pub kind: AtomicU8,
    pub flags: AtomicU8,
    pub reserved0: AtomicU16,
    pub reserved1: AtomicU32,
}

/// `struct ac_panic_record`, under its own `seq`.
#[repr(C)]
pub struct PanicRecord {
    pub seq: AtomicU32,
    pub reason: AtomicU32,
    pub pc: AtomicU32,
    pub sp: AtomicU32,
    pub ps: AtomicU32,
    pub exccause: AtomicU32,
    pub excvaddr: AtomicU32,
    pub line: AtomicU32,
    pub bt_count: AtomicU32,
    pub sar: AtomicU32,
    pub ar: [AtomicU32; 16],
    pub bt: [AtomicU32; BT_MAX as usize],
    pub file: [AtomicU8; PANIC_FILE_LEN],
    pub msg: [AtomicU8; PANIC_MSG_LEN],
}

/// `struct ac_log_slot`: record n in slot n % LOG_SLOTS, seq 2n+1 while
/// written, 2n+2 once complete.
#[repr(C)]
pub struct LogSlot {
    pub seq: AtomicU32,
    pub stamp: AtomicU32,
    pub level: AtomicU8,
    pub len: AtomicU8,
    pub reserved: AtomicU16,
    pub text: [AtomicU8; LOG_TEXT_LEN],
}

/// `struct ac_region`: the fixed part; the user area follows.
#[repr(C)]
pub struct RegionFixed {
    pub hdr: Header,
    pub core1: Core1Block,
    pub counters: [AtomicU32; MAX_COUNTERS as usize],
    pub desc: [CounterDesc; MAX_COUNTERS as usize],
    pub panic: PanicRecord,
    pub log: [LogSlot; LOG_SLOTS as usize],
}

// The sizes region.h pins, pinned here too: a change breaks the build.
const _: () = assert!(core::mem::size_of::<Header>() == 64);
const _: () = assert!(core::mem::size_of::<Core1Block>() == 64);
const _: () = assert!(core::mem::size_of::<CounterDesc>() == 48);
const _: () = assert!(core::mem::size_of::<PanicRecord>() == 384);
const _: () = assert!(core::mem::size_of::<LogSlot>() == 64);
const _: () = assert!(core::mem::size_of::<RegionFixed>() == 15360);
const _: () = assert!(core::mem::align_of::<RegionFixed>() == 4);
const _: () = assert!(LOG_SLOTS & (LOG_SLOTS - 1) == 0);

/// Where each part starts, as the header publishes it.
pub const CORE1_OFF: u32 = core::mem::size_of::<Header>() as u32;
pub const COUNTERS_OFF: u32 = CORE1_OFF + core::mem::size_of::<Core1Block>() as u32;
pub const DESC_OFF: u32 = COUNTERS_OFF + 4 * MAX_COUNTERS;
pub const PANIC_OFF: u32 = DESC_OFF + core::mem::size_of::<CounterDesc>() as u32 * MAX_COUNTERS;
pub const LOG_OFF: u32 = PANIC_OFF + core::mem::size_of::<PanicRecord>() as u32;
const _: () = assert!(LOG_OFF + core::mem::size_of::<LogSlot>() as u32 * LOG_SLOTS == REGION_MIN_SIZE);
