//! A SEGGER RTT writer: a control block, its names and its up-buffers laid
//! out in an area of core-1 RAM exactly as `appcore/rtt_write.h` lays them
//! out (the conformance test compares the bytes), so a core-1 program can
//! log through RTT and the appcore agent on core 0 streams it to the host
//! as a J-Link would (docs/rtt.md).
//!
//! ```ignore
//! static mut RTT_AREA: [u32; 512] = [0; 512];
//! let area = unsafe { &mut *core::ptr::addr_of_mut!(RTT_AREA) };
//! let addr = area.as_ptr() as u32; // the board: the address itself
//! let rtt = Rtt::init(area, addr, &[Channel { name: "Terminal", size: 1024, mode: Mode::Trim }])?;
//! rtt_write!(rtt, 0, "block {}\n", n);
//! ```

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::sync::atomic::{fence, AtomicU32, AtomicU8, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};

use crate::raw;
use crate::text::FmtBuf;

pub const ID: &[u8; 10] = b"SEGGER RTT";
pub const ID_LEN: usize = 16;
pub const HDR: usize = 24;
pub const DESC: usize = 24;
pub const MAX_BUFFERS: usize = 16;

/// Descriptor words: name, buffer, size, wr_off, rd_off, flags.
pub const D_NAME: usize = 0;
pub const D_BUFFER: usize = 1;
pub const D_SIZE: usize = 2;
pub const D_WR: usize = 3;
pub const D_RD: usize = 4;
pub const D_FLAGS: usize = 5;

/// What a write that does not fit does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Mode {
    /// Dropped whole.
    Skip = 0,
    /// What fits is written.
    Trim = 1,
    /// The writer waits for the reader.
    Block = 2,
}

/// An up-buffer (core 1 to the host): its name, bytes (it holds one
/// less) and mode.
#[derive(Clone, Copy, Debug)]
pub struct Channel<'n> {
    pub name: &'n str,
    pub size: u32,
    pub mode: Mode,
}

/// The control block does not fit in the area, or 0 or more than 16
/// channels were asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoesNotFit;

/// RTT up-buffers in an area; one writer per channel.
pub struct Rtt<'a> {
    words: &'a [AtomicU32],
    bytes: &'a [AtomicU8],
    addr: u32,
    nup: usize,
    _single_writer: PhantomData<Cell<()>>,
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

impl<'a> Rtt<'a> {
    /// Lays out the control block (`up` channels and one unused down
    /// channel), the names and the buffers in `area`, whose address is
    /// `area_addr` for core 1 and core 0; the id is written last.
    pub fn init(area: &'a mut [u32], area_addr: u32, up: &[Channel<'_>]) -> Result<Rtt<'a>, DoesNotFit> {
        if up.is_empty() || up.len() > MAX_BUFFERS {
            return Err(DoesNotFit);
        }
        let (words, bytes) = raw::area_views(area);
        let rtt = Rtt { words, bytes, addr: area_addr, nup: up.len(), _single_writer: PhantomData };
        for b in &bytes[..ID_LEN] {
            b.store(0, Relaxed);
        }
        let mut pos = HDR + (up.len() + 1) * DESC;
        for (ch, c) in up.iter().enumerate() {
            let name = c.name.as_bytes();
            let n = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            let buf = align4(pos + n + 1);
            if buf as u64 + c.size as u64 > bytes.len() as u64 {
                return Err(DoesNotFit);
            }
            for (i, &b) in name[..n].iter().chain(core::iter::once(&0)).enumerate() {
                bytes[pos + i].store(b, Relaxed);
            }
            rtt.desc(ch, D_NAME).store(area_addr.wrapping_add(pos as u32), Relaxed);
            rtt.desc(ch, D_BUFFER).store(area_addr.wrapping_add(buf as u32), Relaxed);
            rtt.desc(ch, D_SIZE).store(c.size, Relaxed);
            rtt.desc(ch, D_WR).store(0, Relaxed);
            rtt.desc(ch, D_RD).store(0, Relaxed);
            rtt.desc(ch, D_FLAGS).store(c.mode as u32, Relaxed);
            pos = align4(buf + c.size as usize);
        }
        for w in 0..6 {
            rtt.desc(up.len(), w).store(0, Relaxed);
        }
        words[4].store(up.len() as u32, Relaxed);
        words[5].store(1, Relaxed);
        fence(Release);
        for i in (0..ID_LEN).rev() {
            bytes[i].store(if i < ID.len() { ID[i] } else { 0 }, Relaxed);
        }
        Ok(rtt)
    }

    /// The writer of a control block laid out earlier at `base` (`len`
    /// bytes, core-1 address `area_addr`); `None` without a valid one.
    ///
    /// # Safety
    /// `base` is 4-aligned and `len` bytes valid for `'a`, written only
    /// through this crate (and rd_off by core 0).
    pub unsafe fn attach(base: *mut u8, len: usize, area_addr: u32) -> Option<Rtt<'a>> {
        if base.is_null() || base as usize & 3 != 0 || len < HDR + DESC {
            return None;
        }
        // SAFETY: the caller's promise.
        let (words, bytes) = unsafe { raw::area_views_at(base, len) };
        let id_ok = (0..ID_LEN).all(|i| bytes[i].load(Relaxed) == if i < ID.len() { ID[i] } else { 0 });
        let nup = words[4].load(Relaxed) as usize;
        if !id_ok || nup == 0 || nup > MAX_BUFFERS || HDR + (nup + 1) * DESC > len {
            return None;
        }
        Some(Rtt { words, bytes, addr: area_addr, nup, _single_writer: PhantomData })
    }

    fn desc(&self, ch: usize, w: usize) -> &AtomicU32 {
        &self.words[(HDR + ch * DESC) / 4 + w]
    }

    fn free(&self, ch: usize, size: u32, wr: u32) -> u32 {
        let rd = self.desc(ch, D_RD).load(Relaxed);
        if rd > wr {
            rd - wr - 1
        } else {
            size - 1 - wr + rd
        }
    }

    /// Writes `data` to up-buffer `ch` as its mode says; returns the bytes
    /// written (0 for an unknown channel, or a skipped write).
    pub fn write(&self, ch: usize, data: &[u8]) -> usize {
        if ch >= self.nup {
            return 0;
        }
        let size = self.desc(ch, D_SIZE).load(Relaxed);
        let mut wr = self.desc(ch, D_WR).load(Relaxed);
        let mode = self.desc(ch, D_FLAGS).load(Relaxed) & 3;
        let off = self.desc(ch, D_BUFFER).load(Relaxed).wrapping_sub(self.addr) as usize;
        // A buffer this writer did not lay out is not written.
        if size < 2 || wr >= size || off.checked_add(size as usize).map_or(true, |e| e > self.bytes.len()) {
            return 0;
        }
        if mode == Mode::Skip as u32 && (self.free(ch, size, wr) as usize) < data.len() {
            return 0;
        }
        let mut done = 0;
        while done < data.len() {
            let mut room = self.free(ch, size, wr).min(size - 1);
            if room == 0 {
                if mode != Mode::Block as u32 {
                    break;
                }
                core::hint::spin_loop();
                continue;
            }
            fence(Acquire); // the reader is done with the bytes
            while room > 0 && done < data.len() {
                self.bytes[off + wr as usize].store(data[done], Relaxed);
                wr = if wr + 1 == size { 0 } else { wr + 1 };
                room -= 1;
                done += 1;
            }
            fence(Release);
            self.desc(ch, D_WR).store(wr, Relaxed);
        }
        done
    }

    /// Formats into up to 256 bytes and writes them; see `rtt_write!`.
    pub fn write_fmt(&self, ch: usize, args: fmt::Arguments<'_>) -> usize {
        let mut b = FmtBuf::<256>::new();
        let _ = fmt::write(&mut b, args);
        self.write(ch, b.as_bytes())
    }
}

/// `rtt_write!(rtt, channel, "format {}\n", x)`: formatted with
/// `core::fmt` into an RTT up-buffer.
#[macro_export]
macro_rules! rtt_write {
    ($rtt:expr, $ch:expr, $($arg:tt)+) => {
        $rtt.write_fmt($ch, ::core::format_args!($($arg)+))
    };
}
