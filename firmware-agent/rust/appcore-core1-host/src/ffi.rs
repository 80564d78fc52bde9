//! The crate's API behind the C ABI of core1.h, one function each, for the
//! conformance test; and the workload's entry points for appcore-sim.  The
//! FFI's unsafe (C pointers and strings) is kept in this module.

use appcore_core1::{Channel, Kind, Level, Mode, PanicInfo, PanicReason, Region, Rtt};

use crate::workload::Workload;

/// `struct ac_panic_info` of core1.h.
#[repr(C)]
pub struct AcPanicInfo {
    reason: u32,
    file: *const u8,
    line: u32,
    msg: *const u8,
    pc: u32,
    sp: u32,
    ps: u32,
    exccause: u32,
    excvaddr: u32,
    sar: u32,
    ar: *const u32,
    bt: *const u32,
    bt_count: u32,
}

/// A C string as bytes (without its NUL); empty for NULL.
///
/// # Safety
/// `s` is NULL or a NUL-terminated string that outlives `'a`.
unsafe fn c_str<'a>(s: *const u8) -> &'a [u8] {
    if s.is_null() {
        return &[];
    }
    let mut n = 0;
    // SAFETY: the caller's promise: a NUL comes before the end.
    unsafe {
        while *s.add(n) != 0 {
            n += 1;
        }
        core::slice::from_raw_parts(s, n)
    }
}

fn region(base: *mut u8) -> Option<Region<'static>> {
    // SAFETY: the C caller passes a region it laid out and writes only
    // through these functions, from one thread.
    unsafe { Region::attach(base) }
}

fn kind(k: u32) -> Option<Kind> {
    match k {
        1 => Some(Kind::Counter),
        2 => Some(Kind::Gauge),
        _ => None,
    }
}

fn level(l: u32) -> Level {
    match l {
        1 => Level::Error,
        2 => Level::Warn,
        3 => Level::Info,
        _ => Level::Debug,
    }
}

fn reason(r: u32) -> PanicReason {
    match r {
        0 => PanicReason::None,
        2 => PanicReason::Assert,
        3 => PanicReason::Exception,
        4 => PanicReason::StackOverflow,
        5 => PanicReason::Hang,
        _ => PanicReason::Explicit,
    }
}

/// `ac_core1_init`.
#[no_mangle]
pub extern "C" fn acr_core1_init(base: *mut u8, size: u32) -> *mut u8 {
    // SAFETY: as region().
    match unsafe { Region::init_at(base, size) } {
        Ok(_) => base,
        Err(_) => core::ptr::null_mut(),
    }
}

/// `ac_counter_register`.
///
/// # Safety
/// `name` and `unit` are NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn acr_counter_register(base: *mut u8, idx: u32, name: *const u8, unit: *const u8, k: u32, flags: u8) -> i32 {
    // SAFETY: the caller's promise.
    let (name, unit) = unsafe { (c_str(name), c_str(unit)) };
    match (region(base), kind(k), core::str::from_utf8(name), core::str::from_utf8(unit)) {
        (Some(mut r), Some(k), Ok(name), Ok(unit)) => r.register(idx, name, unit, k, flags).map_or(-1, |_| 0),
        _ => -1,
    }
}

#[no_mangle]
pub extern "C" fn acr_counter_add(base: *mut u8, idx: u32, delta: u32) {
    if let Some(r) = region(base) {
        r.add(idx, delta);
    }
}

#[no_mangle]
pub extern "C" fn acr_counter_set(base: *mut u8, idx: u32, value: u32) {
    if let Some(r) = region(base) {
        r.set(idx, value);
    }
}

#[no_mangle]
pub extern "C" fn acr_heartbeat(base: *mut u8) {
    if let Some(r) = region(base) {
        r.heartbeat();
    }
}

#[no_mangle]
pub extern "C" fn acr_set_running(base: *mut u8) {
    if let Some(r) = region(base) {
        r.set_running();
    }
}

/// `ac_log`; the text through `core::fmt` (`log_fmt`), as Rust code logs.
///
/// # Safety
/// `text` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn acr_log(base: *mut u8, lvl: u32, stamp: u32, text: *const u8) {
    // SAFETY: the caller's promise.
    let text = unsafe { c_str(text) };
    if let (Some(r), Ok(t)) = (region(base), core::str::from_utf8(text)) {
        appcore_core1::ac_log!(r, level(lvl), stamp, "{}", t);
    }
}

/// `ac_panic_record`.
///
/// # Safety
/// `pi` points to a valid `struct ac_panic_info`.
#[no_mangle]
pub unsafe extern "C" fn acr_panic_record(base: *mut u8, pi: *const AcPanicInfo) {
    // SAFETY: the caller's promise, and the C struct's own: ar is 16 words
    // or NULL, bt is bt_count words or NULL.
    let (p, file, msg, ar, bt) = unsafe {
        let p = &*pi;
        let ar = if p.ar.is_null() { None } else { Some(&*(p.ar as *const [u32; 16])) };
        let bt = if p.bt.is_null() { &[][..] } else { core::slice::from_raw_parts(p.bt, p.bt_count as usize) };
        (p, c_str(p.file), c_str(p.msg), ar, bt)
    };
    let r = match region(base) {
        Some(r) => r,
        None => return,
    };
    r.panic_record(&PanicInfo {
        reason: reason(p.reason),
        file,
        line: p.line,
        msg,
        pc: p.pc,
        sp: p.sp,
        ps: p.ps,
        exccause: p.exccause,
        excvaddr: p.excvaddr,
        sar: p.sar,
        ar,
        bt,
    });
}

/// The thread parks (the simulator's callback never returns), or spins as
/// a board's core 1 would.
pub(crate) fn park(f: usize) -> ! {
    if f != 0 {
        // SAFETY: only set_panic_target stores it, from an
        // extern "C" fn() -> !.
        let f: extern "C" fn() -> ! = unsafe { core::mem::transmute(f) };
        f()
    }
    loop {
        core::hint::spin_loop();
    }
}

// ---- the workload, for appcore-sim ----

/// Bytes of the user area the workload's RTT control block and buffers use.
const RTT_AREA: u32 = 4096;

/// Lays out the region at `mem` and starts the workload in `state`
/// (`cap` bytes, 8-aligned, owned by the caller until the next init).
/// Returns 0, or -1 when `cap` is too small or the region cannot be laid
/// out.  After a panic the thread calls `park`.
///
/// # Safety
/// `state` is `cap` writable bytes; `mem` is the region, written only by
/// this workload from now on.
#[no_mangle]
pub unsafe extern "C" fn acr_workload_init(state: *mut u8, cap: usize, mem: *mut u8, size: u32, core1_addr: u32, counters: u32, seed: u64, run: i32, park: Option<extern "C" fn() -> !>) -> i32 {
    let fixed = appcore_core1::REGION_MIN_SIZE;
    if cap < core::mem::size_of::<Workload>() || state as usize % core::mem::align_of::<Workload>() != 0 || size < fixed + RTT_AREA {
        return -1;
    }
    // SAFETY: the caller's promise.
    let region = match unsafe { Region::init_at(mem, size) } {
        Ok(r) => r,
        Err(_) => return -1,
    };
    crate::set_panic_target(mem, park);
    // SAFETY: the user area's first RTT_AREA bytes, past the fixed part
    // the region handle covers: this workload's alone.
    let area = unsafe { core::slice::from_raw_parts_mut(mem.add(fixed as usize) as *mut u32, RTT_AREA as usize / 4) };
    let w = Workload::start(region, area, core1_addr + fixed, counters, seed, run);
    // SAFETY: checked size and alignment above.
    unsafe { (state as *mut Workload).write(w) };
    0
}

/// # Safety
/// `state` was set up by `acr_workload_init`.
unsafe fn workload<'a>(state: *mut u8) -> &'a mut Workload {
    // SAFETY: the caller's promise.
    unsafe { &mut *(state as *mut Workload) }
}

/// One 1 ms block at `t` seconds since the simulator started.
///
/// # Safety
/// As `workload`.
#[no_mangle]
pub unsafe extern "C" fn acr_workload_step(state: *mut u8, t: f64) {
    // SAFETY: the caller's promise.
    unsafe { workload(state) }.step(t);
}

/// The workload fails an assertion: a Rust panic.
///
/// # Safety
/// As `workload`.
#[no_mangle]
pub unsafe extern "C" fn acr_workload_panic(state: *mut u8) -> ! {
    // SAFETY: the caller's promise.
    unsafe { workload(state) }.overrun()
}

/// The workload is about to hang: its last words.
///
/// # Safety
/// As `workload`.
#[no_mangle]
pub unsafe extern "C" fn acr_workload_hang(state: *mut u8) {
    // SAFETY: the caller's promise.
    unsafe { workload(state) }.last_words_before_hang();
}

/// Bytes of workload state, for the caller's buffer.
#[no_mangle]
pub extern "C" fn acr_workload_size() -> usize {
    core::mem::size_of::<Workload>()
}


// ---- RTT, for the conformance test ----

/// `struct ac_rtt_chan` of rtt_write.h.
#[repr(C)]
pub struct AcRttChan {
    name: *const u8,
    size: u32,
    mode: u8,
}

/// `ac_rtt_init` through the crate: the same area layout.
///
/// # Safety
/// `area` is `area_size` writable bytes, 4-aligned; `up` is `nup`
/// channels whose names are C strings.
#[no_mangle]
pub unsafe extern "C" fn acr_rtt_init(area: *mut u8, area_addr: u32, area_size: u32, up: *const AcRttChan, nup: u32) -> i32 {
    if area.is_null() || area as usize & 3 != 0 || up.is_null() || nup as usize > appcore_core1::rtt::MAX_BUFFERS {
        return -1;
    }
    let mut names: [&str; 16] = [""; 16];
    let mut chans = [Channel { name: "", size: 0, mode: Mode::Skip }; 16];
    // SAFETY: the caller's promise.
    let (area, up) = unsafe {
        (
            core::slice::from_raw_parts_mut(area as *mut u32, area_size as usize / 4),
            core::slice::from_raw_parts(up, nup as usize),
        )
    };
    for (i, c) in up.iter().enumerate() {
        // SAFETY: the caller's promise.
        names[i] = core::str::from_utf8(unsafe { c_str(c.name) }).unwrap_or("");
        let mode = match c.mode {
            1 => Mode::Trim,
            2 => Mode::Block,
            _ => Mode::Skip,
        };
        chans[i] = Channel { name: names[i], size: c.size, mode };
    }
    Rtt::init(area, area_addr, &chans[..nup as usize]).map_or(-1, |_| 0)
}

/// `ac_rtt_write` through the crate.
///
/// # Safety
/// `area` holds a control block `acr_rtt_init` laid out, `area_size`
/// bytes; `p` is `n` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn acr_rtt_write(area: *mut u8, area_addr: u32, area_size: u32, ch: u32, p: *const u8, n: u32) -> u32 {
    // SAFETY: the caller's promise.
    let rtt = match unsafe { Rtt::attach(area, area_size as usize, area_addr) } {
        Some(r) => r,
        None => return 0,
    };
    // SAFETY: the caller's promise.
    let data = unsafe { core::slice::from_raw_parts(p, n as usize) };
    rtt.write(ch as usize, data) as u32
}
