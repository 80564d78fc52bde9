//! From a Rust panic to the panic record: the message formatted with
//! `core::fmt` and the panic's file:line, for a `#[panic_handler]`:
//!
//! ```ignore
//! #[panic_handler]
//! fn panic(info: &core::panic::PanicInfo) -> ! {
//!     if let Some(r) = unsafe { Region::attach(REGION_BASE as *mut u8) } {
//!         appcore_core1::record_panic(&r, info);
//!     }
//!     loop {}
//! }
//! ```

use core::fmt::Write;

use crate::layout::{Level, PanicReason, PANIC_FILE_LEN, PANIC_MSG_LEN};
use crate::region::{PanicInfo, Region};
use crate::text::{tail, FmtBuf};

/// The panic's message alone, cut to the record's field.
pub fn panic_message(info: &core::panic::PanicInfo<'_>) -> FmtBuf<{ PANIC_MSG_LEN - 1 }> {
    let mut m = FmtBuf::new();
    write_message(&mut m, info);
    m
}

#[cfg(panic_message)]
fn write_message<const N: usize>(m: &mut FmtBuf<N>, info: &core::panic::PanicInfo<'_>) {
    let _ = write!(m, "{}", info.message());
}

/// Before Rust 1.81 the message is reachable only through PanicInfo's
/// Display, "panicked at 'MESSAGE', FILE:LINE:COL": format that into a
/// larger buffer and keep the part between the quotes.
#[cfg(not(panic_message))]
fn write_message<const N: usize>(m: &mut FmtBuf<N>, info: &core::panic::PanicInfo<'_>) {
    let mut all = FmtBuf::<{ PANIC_MSG_LEN + 2 * PANIC_FILE_LEN + 256 }>::new();
    let _ = write!(all, "{}", info);
    let mut s = all.as_str();
    s = s.strip_prefix("panicked at '").unwrap_or(s);
    if let Some(loc) = info.location() {
        let mut end = FmtBuf::<{ 2 * PANIC_FILE_LEN + 256 }>::new();
        let _ = write!(end, "', {}", loc);
        s = s.strip_suffix(end.as_str()).unwrap_or(s);
    }
    let _ = m.write_str(s);
}

/// Writes a Rust panic into the region: an error log line "panicked at
/// FILE:LINE", then the panic record (reason Explicit, the message, the
/// file's last 39 bytes and the line) and state Panicked.  Registers are
/// left 0: the agent and the crash report fill in what core 0 can see.
pub fn record_panic(region: &Region<'_>, info: &core::panic::PanicInfo<'_>) {
    let msg = panic_message(info);
    let (file, line) = info.location().map_or(("", 0), |l| (l.file(), l.line()));
    let file = tail(file, PANIC_FILE_LEN - 1);
    crate::ac_log!(region, Level::Error, 0, "panicked at {}:{}", file, line);
    region.panic_record(&PanicInfo::new(PanicReason::Explicit, msg.as_bytes(), file.as_bytes(), line));
}
