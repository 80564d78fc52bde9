//! Every offset, size and constant of the crate against the C header's,
//! from values build.rs generated out of region.h with the C compiler.
#![cfg(c_layout)]

use appcore_core1::layout::*;
use appcore_core1::rtt;

include!(concat!(env!("OUT_DIR"), "/c_layout.rs"));

fn rust_constant(name: &str) -> Option<u64> {
    Some(match name {
        "AC_REGION_MAGIC" => REGION_MAGIC as u64,
        "AC_LAYOUT_VERSION" => LAYOUT_VERSION as u64,
        "AC_REGION_DEFAULT_BASE" => REGION_DEFAULT_BASE as u64,
        "AC_REGION_DEFAULT_SIZE" => REGION_DEFAULT_SIZE as u64,
        "AC_MAX_COUNTERS" => MAX_COUNTERS as u64,
        "AC_NAME_LEN" => NAME_LEN as u64,
        "AC_UNIT_LEN" => UNIT_LEN as u64,
        "AC_LOG_SLOTS" => LOG_SLOTS as u64,
        "AC_LOG_TEXT_LEN" => LOG_TEXT_LEN as u64,
        "AC_BT_MAX" => BT_MAX as u64,
        "AC_PANIC_FILE_LEN" => PANIC_FILE_LEN as u64,
        "AC_PANIC_MSG_LEN" => PANIC_MSG_LEN as u64,
        "AC_REGION_MIN_SIZE" => REGION_MIN_SIZE as u64,
        "AC_STATE_OFF" => State::Off as u64,
        "AC_STATE_BOOTING" => State::Booting as u64,
        "AC_STATE_RUNNING" => State::Running as u64,
        "AC_STATE_PANICKED" => State::Panicked as u64,
        "AC_STATE_HUNG" => State::Hung as u64,
        "AC_STATE_STOPPED" => State::Stopped as u64,
        "AC_STATE_CORRUPT" => State::Corrupt as u64,
        "AC_STATE_COUNT" => STATE_COUNT as u64,
        "AC_KIND_UNUSED" => KIND_UNUSED as u64,
        "AC_KIND_COUNTER" => Kind::Counter as u64,
        "AC_KIND_GAUGE" => Kind::Gauge as u64,
        "AC_KIND_COUNT" => KIND_COUNT as u64,
        "AC_FLAG_SIGNED" => FLAG_SIGNED as u64,
        "AC_FLAGS_KNOWN" => FLAGS_KNOWN as u64,
        "AC_PANIC_NONE" => PanicReason::None as u64,
        "AC_PANIC_EXPLICIT" => PanicReason::Explicit as u64,
        "AC_PANIC_ASSERT" => PanicReason::Assert as u64,
        "AC_PANIC_EXCEPTION" => PanicReason::Exception as u64,
        "AC_PANIC_STACK_OVERFLOW" => PanicReason::StackOverflow as u64,
        "AC_PANIC_HANG" => PanicReason::Hang as u64,
        "AC_PANIC_COUNT" => PANIC_COUNT as u64,
        "AC_LOG_ERROR" => Level::Error as u64,
        "AC_LOG_WARN" => Level::Warn as u64,
        "AC_LOG_INFO" => Level::Info as u64,
        "AC_LOG_DEBUG" => Level::Debug as u64,
        "AC_RTT_ID_LEN" => rtt::ID_LEN as u64,
        "AC_RTT_HDR" => rtt::HDR as u64,
        "AC_RTT_DESC" => rtt::DESC as u64,
        "AC_RTT_MAX_BUFFERS" => rtt::MAX_BUFFERS as u64,
        "AC_RTT_MODE_SKIP" => rtt::Mode::Skip as u64,
        "AC_RTT_MODE_TRIM" => rtt::Mode::Trim as u64,
        "AC_RTT_MODE_BLOCK" => rtt::Mode::Block as u64,
        "AC_RTT_D_NAME" => rtt::D_NAME as u64,
        "AC_RTT_D_BUFFER" => rtt::D_BUFFER as u64,
        "AC_RTT_D_SIZE" => rtt::D_SIZE as u64,
        "AC_RTT_D_WR" => rtt::D_WR as u64,
        "AC_RTT_D_RD" => rtt::D_RD as u64,
        "AC_RTT_D_FLAGS" => rtt::D_FLAGS as u64,
        _ => return None,
    })
}

#[test]
fn every_offset_and_size_equals_the_c_headers() {
    let rust = appcore_core1::rust_layout();
    assert!(C_LAYOUT.len() > 50, "the generated table is the whole layout");
    for &(name, off, size) in C_LAYOUT {
        let r = rust.iter().find(|e| e.0 == name).unwrap_or_else(|| panic!("{} has no Rust counterpart", name));
        assert_eq!((r.1, r.2), (off, size), "{}: Rust (offset, size) against C", name);
    }
    for r in rust.iter() {
        assert!(C_LAYOUT.iter().any(|c| c.0 == r.0), "{} is not in the C header", r.0);
    }
}

#[test]
fn every_constant_equals_the_c_headers() {
    assert!(C_CONSTANTS.len() > 50);
    for &(name, value) in C_CONSTANTS {
        let r = rust_constant(name).unwrap_or_else(|| panic!("{} has no Rust counterpart", name));
        assert_eq!(r, value, "{}", name);
    }
}

#[test]
fn the_header_publishes_the_offsets_of_the_parts() {
    let at = |n: &str| C_LAYOUT.iter().find(|e| e.0 == n).unwrap().1 as u32;
    assert_eq!(CORE1_OFF, at("ac_region.core1"));
    assert_eq!(COUNTERS_OFF, at("ac_region.counters"));
    assert_eq!(DESC_OFF, at("ac_region.desc"));
    assert_eq!(PANIC_OFF, at("ac_region.panic"));
    assert_eq!(LOG_OFF, at("ac_region.log"));
}
