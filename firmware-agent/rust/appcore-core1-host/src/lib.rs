//! A Rust core 1 for appcore-sim, linked in as a static library: the
//! simulator's audio workload written against the `appcore-core1` crate
//! (`appcore-sim --core1 rust`), its `#[panic_handler]` as a board would
//! have it, and the crate's API behind the C ABI of `core1.h`
//! (`acr_*`), so that tests/unit/test_region.c can run the same calls on
//! both and the real agent can read what Rust wrote.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

mod ffi;
mod workload;

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use appcore_core1::Region;

/// The region the panic handler writes into (core 1's one region), and
/// what it calls once the record is out: the simulator parks the thread
/// there as a board would spin.
static PANIC_REGION: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static PARK: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn set_panic_target(region: *mut u8, park: Option<extern "C" fn() -> !>) {
    PANIC_REGION.store(region, Ordering::Release);
    PARK.store(park.map_or(0, |f| f as usize), Ordering::Release);
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let base = PANIC_REGION.load(Ordering::Acquire);
    if !base.is_null() {
        // SAFETY: the workload that set it is the region's only writer and
        // it has stopped writing: it is the code that panicked.
        if let Some(r) = unsafe { Region::attach(base) } {
            appcore_core1::record_panic(&r, info);
        }
    }
    ffi::park(PARK.load(Ordering::Acquire))
}

/// The prebuilt `core` of a panic=unwind toolchain names an unwinding
/// personality routine even when this library aborts on panic; nothing
/// unwinds through it, so reaching it is a bug: abort.  (A board's build
/// with its own core does not need it.)
#[no_mangle]
pub extern "C" fn rust_eh_personality() {
    extern "C" {
        fn abort() -> !;
    }
    // SAFETY: the C library's abort.
    unsafe { abort() }
}
