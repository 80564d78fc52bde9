//! The safe API's behaviour, as tests/unit/test_region.c checks core1.h's.
//! (That the C agent reads what this crate writes, byte for byte as C
//! writes it, is tests/unit/test_region.c built against the crate.)
use appcore_core1::layout::*;
use appcore_core1::{ac_log, Error, PanicInfo, Region};
use core::sync::atomic::Ordering::Relaxed;

const WORDS: usize = 64 * 1024 / 4;

fn bytes(a: &[core::sync::atomic::AtomicU8]) -> Vec<u8> {
    a.iter().map(|b| b.load(Relaxed)).take_while(|&b| b != 0).collect()
}

fn fixed(r: &Region<'_>) -> &'static RegionFixed {
    unsafe { &*(r.base() as *const RegionFixed) }
}

#[test]
fn placement_is_checked() {
    let mut small = vec![0u32; REGION_MIN_SIZE as usize / 4 - 1];
    assert_eq!(Region::init(&mut small).err(), Some(Error::Placement));
    let mut mem = vec![0u32; WORDS];
    let base = mem.as_mut_ptr() as *mut u8;
    assert_eq!(unsafe { Region::init_at(base.wrapping_add(2), 60000) }.err(), Some(Error::Placement));
    assert!(unsafe { Region::attach(base) }.is_none(), "no header yet");
}

#[test]
fn a_fresh_region_and_its_generation() {
    let mut mem = vec![0u32; WORDS];
    let base = mem.as_mut_ptr() as *mut u8;
    let r = unsafe { Region::init_at(base, 65536) }.unwrap();
    let f = fixed(&r);
    assert_eq!(f.hdr.magic.load(Relaxed), REGION_MAGIC);
    assert_eq!(f.hdr.user_size.load(Relaxed), 65536 - REGION_MIN_SIZE);
    assert_eq!(f.core1.state.load(Relaxed), State::Booting as u32);
    assert_eq!(r.generation(), 1);
    let r = unsafe { Region::init_at(base, 65536) }.unwrap();
    assert_eq!(r.generation(), 2, "re-init bumps the generation");
    let a = unsafe { Region::attach(base) }.unwrap();
    assert_eq!((a.generation(), a.size()), (2, 65536));
}

#[test]
fn counters_are_registered_cut_and_wrap() {
    let mut mem = vec![0u32; WORDS];
    let mut r = Region::init(&mut mem).unwrap();
    assert_eq!(r.register(MAX_COUNTERS, "x", "", Kind::Gauge, 0), Err(Error::Index));
    assert_eq!(r.register(0, "", "", Kind::Gauge, 0), Err(Error::Name));
    assert_eq!(r.register(0, "\0x", "", Kind::Gauge, 0), Err(Error::Name));
    assert_eq!(r.register(0, "x", "", Kind::Gauge, 0x80), Err(Error::Flags));
    let long = "n".repeat(63);
    r.register(9, &long, "toolongunit", Kind::Counter, 0).unwrap();
    let f = fixed(&r);
    assert_eq!(bytes(&f.desc[9].name).len(), NAME_LEN - 1);
    assert_eq!(bytes(&f.desc[9].unit), b"toolong");
    assert_eq!(f.core1.counters_used.load(Relaxed), 10);
    assert_eq!(f.core1.desc_seq.load(Relaxed), 2);
    r.add(9, u32::MAX);
    r.add(9, 2);
    assert_eq!(f.counters[9].load(Relaxed), 1, "counters wrap at 2^32");
    r.add(MAX_COUNTERS + 5, 1);
    r.set_signed(3, -5);
    assert_eq!(f.counters[3].load(Relaxed), (-5i32) as u32);
}

#[test]
fn logs_are_cut_on_a_character_boundary() {
    let mut mem = vec![0u32; WORDS];
    let r = Region::init(&mut mem).unwrap();
    // 50 ASCII bytes and a 3-byte character that does not fit in 52.
    ac_log!(r, Level::Warn, 7, "{}{}", "a".repeat(50), "\u{20ac}");
    let f = fixed(&r);
    assert_eq!(f.log[0].len.load(Relaxed), 50);
    assert_eq!(f.log[0].seq.load(Relaxed), 2);
    assert_eq!(f.log[0].stamp.load(Relaxed), 7);
    for n in 1..=200u32 {
        r.log(Level::Info, n, "x");
    }
    assert_eq!(f.core1.log_head.load(Relaxed), 201);
    assert_eq!(f.log[(200 % LOG_SLOTS) as usize].seq.load(Relaxed), 2 * 200 + 2);
}

#[test]
fn a_panic_record_is_cut_to_its_fields() {
    let mut mem = vec![0u32; WORDS];
    let r = Region::init(&mut mem).unwrap();
    let bt: Vec<u32> = (1..=40).collect();
    let ar = [7u32; 16];
    let mut pi = PanicInfo::new(PanicReason::Assert, &[b'm'; 200], b"src/main.rs", 42);
    pi.bt = &bt;
    pi.ar = Some(&ar);
    r.panic_record(&pi);
    let p = &fixed(&r).panic;
    assert_eq!(p.seq.load(Relaxed), 2);
    assert_eq!(p.bt_count.load(Relaxed), BT_MAX);
    assert_eq!(p.bt[31].load(Relaxed), 32);
    assert_eq!(p.ar[15].load(Relaxed), 7);
    assert_eq!(bytes(&p.msg).len(), PANIC_MSG_LEN - 1);
    assert_eq!(bytes(&p.file), b"src/main.rs");
    assert_eq!(fixed(&r).core1.state.load(Relaxed), State::Panicked as u32);
}
