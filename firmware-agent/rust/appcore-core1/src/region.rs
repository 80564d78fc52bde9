//! The core-1 API, as `core1.h` has it, store for store.  One writer: a
//! `Region` is `Send` but not `Sync`, so it lives in one execution context
//! (the main loop).

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::sync::atomic::{fence, AtomicU32, Ordering::Relaxed, Ordering::Release};

use crate::layout::*;
use crate::raw;
use crate::text::{put_bytes, FmtBuf};

/// Why a call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The region is too small, misaligned or at address 0.
    Placement,
    /// The counter index is not below `MAX_COUNTERS`.
    Index,
    /// The counter name is empty.
    Name,
    /// Flags outside `FLAGS_KNOWN`.
    Flags,
}

/// What a panic record holds (`struct ac_panic_info`).
#[derive(Clone, Copy, Debug)]
pub struct PanicInfo<'a> {
    pub reason: PanicReason,
    pub file: &'a [u8],
    pub line: u32,
    pub msg: &'a [u8],
    pub pc: u32,
    pub sp: u32,
    pub ps: u32,
    pub exccause: u32,
    pub excvaddr: u32,
    pub sar: u32,
    /// a0..a15 of the faulting window, when known.
    pub ar: Option<&'a [u32; 16]>,
    /// Return addresses; more than `BT_MAX` are cut.
    pub bt: &'a [u32],
}

impl<'a> PanicInfo<'a> {
    /// A record with only a reason, a message and where: no registers.
    pub fn new(reason: PanicReason, msg: &'a [u8], file: &'a [u8], line: u32) -> Self {
        PanicInfo {
            reason,
            file,
            line,
            msg,
            pc: 0,
            sp: 0,
            ps: 0,
            exccause: 0,
            excvaddr: 0,
            sar: 0,
            ar: None,
            bt: &[],
        }
    }
}

/// The shared region, attached.
pub struct Region<'a> {
    r: &'a RegionFixed,
    size: u32,
    _single_writer: PhantomData<Cell<()>>,
}

fn put_field(dst: &[core::sync::atomic::AtomicU8], src: &[u8]) -> usize {
    // The last byte stays the terminating NUL, as in core1.h.
    let (body, nul) = dst.split_at(dst.len() - 1);
    let n = put_bytes(body, src);
    nul[0].store(0, Relaxed);
    n
}

fn bump(a: &AtomicU32, by: u32) {
    a.store(a.load(Relaxed).wrapping_add(by), Relaxed);
}

impl<'a> Region<'a> {
    /// Lays out a fresh region in `mem` (`ac_core1_init`): the generation
    /// survives a restart, magic is stored last.
    pub fn init(mem: &'a mut [u32]) -> Result<Region<'a>, Error> {
        let bytes = mem.len().saturating_mul(4).min(u32::MAX as usize) as u32;
        // SAFETY: the exclusive borrow of `mem` is the region's for 'a.
        unsafe { Self::init_at(mem.as_mut_ptr() as *mut u8, bytes) }
    }

    /// `init` at a fixed address, as on the board (`REGION_DEFAULT_BASE`).
    ///
    /// # Safety
    /// `base` .. `base + size` must be memory that only this region handle
    /// writes for `'a` (core 0 reads it).
    pub unsafe fn init_at(base: *mut u8, size: u32) -> Result<Region<'a>, Error> {
        if base.is_null() || base as usize & 3 != 0 || size < REGION_MIN_SIZE {
            return Err(Error::Placement);
        }
        // SAFETY: the caller's promise, checked for placement above.
        let r = unsafe { raw::region_at(base) };
        let gen = if r.hdr.magic.load(Relaxed) == REGION_MAGIC {
            r.hdr.generation.load(Relaxed).wrapping_add(1)
        } else {
            1
        };
        r.hdr.magic.store(0, Relaxed);
        fence(Release);
        for w in &raw::words(r)[1..] {
            w.store(0, Relaxed);
        }
        let h = &r.hdr;
        h.layout_version.store(LAYOUT_VERSION as u16, Relaxed);
        h.header_size.store(core::mem::size_of::<Header>() as u16, Relaxed);
        h.region_size.store(size, Relaxed);
        h.generation.store(gen, Relaxed);
        h.core1_off.store(CORE1_OFF, Relaxed);
        h.counters_off.store(COUNTERS_OFF, Relaxed);
        h.desc_off.store(DESC_OFF, Relaxed);
        h.panic_off.store(PANIC_OFF, Relaxed);
        h.log_off.store(LOG_OFF, Relaxed);
        h.user_off.store(REGION_MIN_SIZE, Relaxed);
        h.user_size.store(size - REGION_MIN_SIZE, Relaxed);
        h.max_counters.store(MAX_COUNTERS as u16, Relaxed);
        h.log_slots.store(LOG_SLOTS as u16, Relaxed);
        r.core1.state.store(State::Booting as u32, Relaxed);
        fence(Release);
        h.magic.store(REGION_MAGIC, Relaxed);
        Ok(Region { r, size, _single_writer: PhantomData })
    }

    /// A region some earlier code laid out, for a panic handler that has no
    /// other way to reach it.  `None` when the header is not valid.
    ///
    /// # Safety
    /// As `init_at`; and no other `Region` of the same memory may be used
    /// from now on (the region has a single writer).
    pub unsafe fn attach(base: *mut u8) -> Option<Region<'a>> {
        if base.is_null() || base as usize & 3 != 0 {
            return None;
        }
        // SAFETY: the caller's promise.
        let r = unsafe { raw::region_at(base) };
        if r.hdr.magic.load(Relaxed) != REGION_MAGIC
            || r.hdr.layout_version.load(Relaxed) as u32 != LAYOUT_VERSION
        {
            return None;
        }
        let size = r.hdr.region_size.load(Relaxed);
        Some(Region { r, size, _single_writer: PhantomData })
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    pub fn generation(&self) -> u32 {
        self.r.hdr.generation.load(Relaxed)
    }

    /// The address core 0 knows the region by (its base).
    pub fn base(&self) -> *const u8 {
        self.r as *const RegionFixed as *const u8
    }

    /// Names counter `idx` (`ac_counter_register`); names and units are
    /// cut to fit.  `flags`: `FLAG_SIGNED` for a gauge that goes below 0.
    pub fn register(&mut self, idx: u32, name: &str, unit: &str, kind: Kind, flags: u8) -> Result<(), Error> {
        if idx >= MAX_COUNTERS {
            return Err(Error::Index);
        }
        if name.is_empty() || name.as_bytes()[0] == 0 {
            return Err(Error::Name);
        }
        if flags & !FLAGS_KNOWN != 0 {
            return Err(Error::Flags);
        }
        let c = &self.r.core1;
        let d = &self.r.desc[idx as usize];
        let seq = c.desc_seq.load(Relaxed);
        c.desc_seq.store(seq.wrapping_add(1), Relaxed);
        fence(Release);
        put_field(&d.name, name.as_bytes());
        put_field(&d.unit, unit.as_bytes());
        d.kind.store(kind as u8, Relaxed);
        d.flags.store(flags, Relaxed);
        self.r.counters[idx as usize].store(0, Relaxed);
        if idx + 1 > c.counters_used.load(Relaxed) {
            c.counters_used.store(idx + 1, Relaxed);
        }
        fence(Release);
        c.desc_seq.store(seq.wrapping_add(2), Relaxed);
        Ok(())
    }

    /// Adds to a counter, wrapping at 2^32; an index out of range is
    /// ignored (`ac_counter_add`).
    pub fn add(&self, idx: u32, delta: u32) {
        if let Some(c) = self.r.counters.get(idx as usize) {
            bump(c, delta);
        }
    }

    /// Sets a counter or gauge (`ac_counter_set`).
    pub fn set(&self, idx: u32, value: u32) {
        if let Some(c) = self.r.counters.get(idx as usize) {
            c.store(value, Relaxed);
        }
    }

    /// A signed gauge's value (two's complement, as `FLAG_SIGNED` says).
    pub fn set_signed(&self, idx: u32, value: i32) {
        self.set(idx, value as u32);
    }

    pub fn heartbeat(&self) {
        bump(&self.r.core1.heartbeat, 1);
    }

    /// Core 1 entered its main loop (`ac_set_running`).
    pub fn set_running(&self) {
        fence(Release);
        self.r.core1.state.store(State::Running as u32, Relaxed);
    }

    /// One log record (`ac_log`): up to `LOG_TEXT_LEN` bytes of `text`.
    pub fn log(&self, level: Level, stamp: u32, text: &str) {
        self.log_bytes(level, stamp, text.as_bytes());
    }

    /// A log record formatted with `core::fmt`, cut at `LOG_TEXT_LEN`
    /// bytes (on a character boundary); see the `ac_log!` macro.
    pub fn log_fmt(&self, level: Level, stamp: u32, args: fmt::Arguments<'_>) {
        let mut b = FmtBuf::<LOG_TEXT_LEN>::new();
        let _ = fmt::write(&mut b, args);
        self.log_bytes(level, stamp, b.as_bytes());
    }

    fn log_bytes(&self, level: Level, stamp: u32, text: &[u8]) {
        let c = &self.r.core1;
        let n = c.log_head.load(Relaxed);
        let s = &self.r.log[(n & (LOG_SLOTS - 1)) as usize];
        s.seq.store(n.wrapping_mul(2).wrapping_add(1), Relaxed);
        fence(Release);
        s.stamp.store(stamp, Relaxed);
        s.level.store(level as u8, Relaxed);
        let len = put_bytes(&s.text, text);
        s.len.store(len as u8, Relaxed);
        fence(Release);
        s.seq.store(n.wrapping_mul(2).wrapping_add(2), Relaxed);
        c.log_head.store(n.wrapping_add(1), Relaxed);
    }

    /// Publishes the panic record and sets state Panicked
    /// (`ac_panic_record`).  Then stop touching the region: spin, or wait
    /// for core 0 to reset core 1.
    pub fn panic_record(&self, pi: &PanicInfo<'_>) {
        let p = &self.r.panic;
        let mut seq = p.seq.load(Relaxed);
        let nbt = pi.bt.len().min(BT_MAX as usize);
        if seq & 1 != 0 {
            seq = seq.wrapping_add(1);
        }
        p.seq.store(seq.wrapping_add(1), Relaxed);
        fence(Release);
        p.reason.store(pi.reason as u32, Relaxed);
        p.pc.store(pi.pc, Relaxed);
        p.sp.store(pi.sp, Relaxed);
        p.ps.store(pi.ps, Relaxed);
        p.exccause.store(pi.exccause, Relaxed);
        p.excvaddr.store(pi.excvaddr, Relaxed);
        p.sar.store(pi.sar, Relaxed);
        p.line.store(pi.line, Relaxed);
        p.bt_count.store(nbt as u32, Relaxed);
        for (i, a) in p.ar.iter().enumerate() {
            a.store(pi.ar.map_or(0, |ar| ar[i]), Relaxed);
        }
        for (i, b) in p.bt.iter().enumerate() {
            b.store(if i < nbt { pi.bt[i] } else { 0 }, Relaxed);
        }
        put_field(&p.file, pi.file);
        put_field(&p.msg, pi.msg);
        fence(Release);
        p.seq.store(seq.wrapping_add(2), Relaxed);
        self.r.core1.state.store(State::Panicked as u32, Relaxed);
    }
}

/// Logs a record formatted with `core::fmt`:
/// `ac_log!(region, Level::Warn, stamp, "underrun at block {}", n)`.
#[macro_export]
macro_rules! ac_log {
    ($region:expr, $level:expr, $stamp:expr, $($arg:tt)+) => {
        $region.log_fmt($level, $stamp, ::core::format_args!($($arg)+))
    };
}
