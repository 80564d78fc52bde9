//! The simulator's audio workload (firmware-agent/port/posix/sim_core1.c),
//! written in Rust against the crate: the same counters, names, kinds and
//! logs, one 1 ms block per step.  Only its failure is Rust's own: a real
//! `panic!` with a formatted message, which the panic handler records.

use appcore_core1::{ac_log, rtt_write, Channel, Kind, Level, Mode, Region, Rtt, FLAG_SIGNED};

extern "C" {
    fn sin(x: f64) -> f64; // the C library's: no_std core has none
}

fn sine(x: f64) -> f64 {
    // SAFETY: a pure libm function.
    unsafe { sin(x) }
}

const C_FRAMES: u32 = 0;
const C_BLOCKS: u32 = 1;
const C_UNDERRUNS: u32 = 2;
const C_OVERRUNS: u32 = 3;
const C_DSP_LOAD: u32 = 4;
const C_DSP_PEAK: u32 = 5;
const C_BUF_FILL: u32 = 6;
const C_DMA_IRQS: u32 = 7;
const C_I2C_ERRORS: u32 = 8;
const C_LOOPS: u32 = 9;
const C_STACK_FREE: u32 = 10;
const C_TEMP: u32 = 11;
const C_USB_PKTS: u32 = 12;
const C_SYNC_SLIPS: u32 = 13;
const C_BASE: u32 = 14;
const FRAMES_PER_BLOCK: u32 = 48;
const BUF_FRAMES: u32 = 240;

const BASE_COUNTERS: [(&str, &str, Kind); C_BASE as usize] = [
    ("audio.frames", "frames", Kind::Counter),
    ("audio.blocks", "blocks", Kind::Counter),
    ("audio.underruns", "events", Kind::Counter),
    ("audio.overruns", "events", Kind::Counter),
    ("dsp.load", "permil", Kind::Gauge),
    ("dsp.load_peak", "permil", Kind::Gauge),
    ("buf.fill", "frames", Kind::Gauge),
    ("i2s.dma_irqs", "irqs", Kind::Counter),
    ("codec.i2c_errors", "events", Kind::Counter),
    ("loop.iterations", "iters", Kind::Counter),
    ("stack.free", "bytes", Kind::Gauge),
    ("board.temp", "mC", Kind::Gauge),
    ("usb.packets", "packets", Kind::Counter),
    ("clock.sync_slips", "events", Kind::Counter),
];

/// Its RTT up-buffers: text lines, and defmt-like binary frames.
const RTT_CHANNELS: [Channel<'static>; 2] = [
    Channel { name: "Terminal", size: 1024, mode: Mode::Trim },
    Channel { name: "defmt", size: 512, mode: Mode::Skip },
];

pub struct Workload {
    r: Region<'static>,
    rtt: Option<Rtt<'static>>,
    rng: u64,
    counters: u32,
    nch: u32,
    peak: [i32; 128],
    fill: u32,
    fill_min: u32,
    fill_max: u32,
    load_max: u32,
    block: u64,
}

impl Workload {
    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, n).
    fn below(&mut self, n: u32) -> u32 {
        ((self.next() >> 32) % n as u64) as u32
    }

    fn register(&mut self) {
        for i in 0..self.counters {
            if i < C_BASE {
                let (n, u, k) = BASE_COUNTERS[i as usize];
                let _ = self.r.register(i, n, u, k, 0);
                continue;
            }
            let mut name = appcore_core1::FmtBuf::<32>::new();
            let ch = (i - C_BASE) / 2;
            let gauge = (i - C_BASE) % 2 == 0;
            let _ = core::fmt::write(&mut name, format_args!("ch{}.{}", ch, if gauge { "peak" } else { "clips" }));
            let _ = if gauge {
                self.r.register(i, name.as_str(), "cB", Kind::Gauge, FLAG_SIGNED)
            } else {
                self.r.register(i, name.as_str(), "clips", Kind::Counter, 0)
            };
        }
    }

    /// Registers the counters, says so in the log, and runs.
    /// `rtt_area` at core-1 address `rtt_addr` gets an RTT control block.
    pub fn start(r: Region<'static>, rtt_area: &'static mut [u32], rtt_addr: u32, counters: u32, seed: u64, run: i32) -> Workload {
        let mut w = Workload {
            r,
            rtt: Rtt::init(rtt_area, rtt_addr, &RTT_CHANNELS).ok(),
            rng: (seed ^ (run as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1,
            counters: counters.min(128),
            nch: if counters > C_BASE { (counters.min(128) - C_BASE + 1) / 2 } else { 0 },
            peak: [0; 128],
            fill: 128,
            fill_min: 256,
            fill_max: 0,
            load_max: 0,
            block: 0,
        };
        w.register();
        ac_log!(w.r, Level::Info, 0, "core1 up (rust): run {}, {} counters", run, w.counters);
        w.r.set_running();
        w
    }

    /// One 1 ms audio block at `t` seconds since the start.
    pub fn step(&mut self, t: f64) {
        let block = self.block;
        self.block += 1;
        let load = (450.0 + 150.0 * sine(t * 2.0 * core::f64::consts::PI / 7.0)) as u32 + self.below(31) - 15;
        let r = &self.r;
        r.add(C_FRAMES, FRAMES_PER_BLOCK);
        r.add(C_BLOCKS, 1);
        r.add(C_DMA_IRQS, 2);
        r.set(C_DSP_LOAD, load);
        if block % 100 == 0 || load > self.load_max {
            self.load_max = load;
        }
        r.set(C_DSP_PEAK, self.load_max);
        r.add(C_LOOPS, (1000 - load) * 3 / 2);
        self.fill = (self.fill + self.below(7)).wrapping_sub(3);
        if self.fill < 16 || self.fill > BUF_FRAMES {
            self.fill = 128;
        }
        self.fill_min = self.fill_min.min(self.fill);
        self.fill_max = self.fill_max.max(self.fill);
        let r = &self.r;
        r.set(C_BUF_FILL, self.fill);
        r.set(C_STACK_FREE, 3072 - self.load_max / 4 * 4);
        if block % 100 == 0 {
            let temp = 45000i64 + (2000.0 * sine(t / 60.0)) as i64 + self.below(50) as i64;
            self.r.set(C_TEMP, temp as u32);
        }
        if block % 8 == 0 {
            self.r.add(C_USB_PKTS, 8);
        }
        if self.below(30000) == 0 {
            self.r.add(C_UNDERRUNS, 1);
            ac_log!(self.r, Level::Warn, block as u32, "underrun at block {}", block);
        }
        if self.below(100_000) == 0 {
            self.r.add(C_OVERRUNS, 1);
        }
        if self.below(200_000) == 0 {
            self.r.add(C_I2C_ERRORS, 1);
        }
        if self.below(500_000) == 0 {
            self.r.add(C_SYNC_SLIPS, 1);
        }
        if block % 10 == 0 {
            self.meters(t);
        }
        if block % 1000 == 0 {
            self.rtt_report(block, load);
        }
        if block % 5000 == 4999 {
            ac_log!(self.r, Level::Info, block as u32, "buf fill min {} max {}", self.fill_min, self.fill_max);
            self.fill_min = 256;
            self.fill_max = 0;
        }
        self.r.heartbeat();
    }

    /// Once a second through RTT, as an RTT-only program would: a text
    /// line, and a binary frame (a tag byte, the block and the load,
    /// little-endian) on the defmt channel.
    fn rtt_report(&self, block: u64, load: u32) {
        if let Some(rtt) = &self.rtt {
            rtt_write!(rtt, 0, "rtt: block {} dsp.load {} permil\n", block, load);
            let b = (block as u32).to_le_bytes();
            let l = (load as u16).to_le_bytes();
            rtt.write(1, &[0x01, b[0], b[1], b[2], b[3], l[0], l[1]]);
        }
    }

    /// Level meters: instant attack, 1.5 dB per 10 ms release.
    fn meters(&mut self, t: f64) {
        for ch in 0..self.nch {
            let sig = -200 + (120.0 * sine(t * (0.7 + 0.13 * ch as f64))) as i32 + self.below(80) as i32 - 40;
            let gi = C_BASE + 2 * ch;
            let p = &mut self.peak[ch as usize];
            *p = if sig > *p - 15 { sig } else { *p - 15 };
            if *p > 0 {
                *p = 0;
            }
            let p = *p;
            self.r.set_signed(gi, p);
            if gi + 1 < self.counters && sig > -90 && self.below(50) == 0 {
                self.r.add(gi + 1, 1);
            }
        }
    }

    /// The buffer overruns its bound: a Rust panic, recorded by the panic
    /// handler with this message and this file:line.
    pub fn overrun(&mut self) -> ! {
        let fill = self.fill + BUF_FRAMES;
        panic!("buffer overrun: fill {} > {} frames at block {}", fill, BUF_FRAMES, self.block); // appcore-test: rust panic line
    }

    pub fn last_words_before_hang(&mut self) {
        ac_log!(self.r, Level::Warn, self.block as u32, "waiting for codec ready...");
    }
}
