//! Strings into fixed fields: the C side's `ac__put_bytes`, and a
//! `core::fmt::Write` into a fixed buffer that cuts rather than fails.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

/// Copies `src` into `dst` up to its end or its first NUL, zero-fills the
/// rest, and returns how many bytes were copied (as `ac__put_bytes`).
pub(crate) fn put_bytes(dst: &[AtomicU8], src: &[u8]) -> usize {
    let n = src
        .iter()
        .take(dst.len())
        .position(|&b| b == 0)
        .unwrap_or_else(|| src.len().min(dst.len()));
    for (d, &b) in dst.iter().zip(&src[..n]) {
        d.store(b, Relaxed);
    }
    for d in &dst[n..] {
        d.store(0, Relaxed);
    }
    n
}

/// The last `cap` bytes of `s`, starting on a character boundary: the
/// informative end of a long path.
pub(crate) fn tail(s: &str, cap: usize) -> &str {
    let mut start = s.len().saturating_sub(cap);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// A `core::fmt::Write` into `N` bytes; what does not fit is dropped at a
/// character boundary and `truncated` says so.
pub struct FmtBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> FmtBuf<N> {
    pub const fn new() -> Self {
        FmtBuf { buf: [0; N], len: 0, truncated: false }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn as_str(&self) -> &str {
        // Only whole characters are ever appended.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<const N: usize> Default for FmtBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for FmtBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            self.truncated = true;
        }
        Ok(())
    }
}
