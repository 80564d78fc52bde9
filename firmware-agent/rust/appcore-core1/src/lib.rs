//! appcore's core-1 contract for `no_std` Rust: the shared region that the
//! appcore agent on core 0 reads (counters, heartbeat, state, log ring,
//! panic record), written exactly as `firmware-agent/include/appcore/core1.h`
//! writes it, and a SEGGER RTT writer.
//!
//! ```ignore
//! let mut r = unsafe { Region::init_at(REGION_DEFAULT_BASE as *mut u8, REGION_DEFAULT_SIZE) }.unwrap();
//! r.register(0, "audio.frames", "frames", Kind::Counter, 0).unwrap();
//! r.set_running();
//! loop {
//!     r.add(0, 48);
//!     r.heartbeat();
//!     ac_log!(r, Level::Info, 0, "block {}", n);
//! }
//! ```
//!
//! The region has one writer: one execution context on core 1.  Every
//! `unsafe` of the crate is in `raw`.  docs/region.md describes the layout
//! and the memory ordering; docs/porting.md how a program uses this on an
//! ESP32-S3.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod layout;
mod panic;
mod raw;
mod region;
pub mod rtt;
mod text;

pub use layout::{Kind, Level, PanicReason, State, FLAG_SIGNED, REGION_DEFAULT_BASE, REGION_DEFAULT_SIZE, REGION_MIN_SIZE};
pub use panic::{panic_message, record_panic};
#[doc(hidden)]
pub use raw::rust_layout;
pub use region::{Error, PanicInfo, Region};
pub use rtt::{Channel, Mode, Rtt};
pub use text::FmtBuf;
