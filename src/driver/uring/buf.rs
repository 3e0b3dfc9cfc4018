//! Driver-owned receive memory: one provided-buffer ring per worker, set up on the first
//! receive (an idle runtime pays nothing), and the handle a completion lends a buffer through.
//!
//! A receive names no memory of the caller: the kernel picks a buffer of the ring when data
//! arrives, the completion says which, and the handle copies the bytes out. A buffer comes
//! back to the ring through `Returns`, a bitmap any thread may set (the reader may run on
//! another thread than the ring's owner); the owner recycles the returned buffers before it
//! next enters the kernel. Buffers still lent when the ring goes away are leaked with their
//! memory rather than freed under a reader.
//!
//! # Safety
//!
//! A `Lent` points into the ring's buffer memory at a buffer the kernel filled and will not
//! touch again until it is recycled, and it is recycled only after the `Lent` is dropped
//! (its bit in `Returns` is set in `Drop`). The memory is unmapped only when no buffer is
//! lent (`BufPool::close` leaks it otherwise).
#![allow(unsafe_code)]

use std::sync::Arc;

use hiver_sys::uring::Ring;

use super::CqeRing;

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Buffer group id of the receive pool.
pub(crate) const GROUP: u16 = 0;
/// Buffers in a worker's ring.
pub(crate) const COUNT: u16 = 256;
/// Size of each buffer: a receive never asks for more.
pub(crate) const BUF_LEN: u32 = 8 * 1024;

/// Buffers given back by readers, to recycle on the owner's thread.
pub(crate) struct Returns {
    words: Box<[AtomicU64]>,
    any: AtomicBool,
}

impl Returns {
    fn new(count: u16) -> Returns {
        Returns {
            words: (0..usize::from(count).div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            any: AtomicBool::new(false),
        }
    }

    fn give_back(&self, bid: u16) {
        let (w, b) = (usize::from(bid) / 64, bid % 64);
        // Release: the reader's copy out of the buffer happens before its reuse.
        self.words[w].fetch_or(1 << b, Ordering::Release);
        self.any.store(true, Ordering::Release);
    }

    /// Takes every returned buffer id.
    fn drain(&self, mut f: impl FnMut(u16)) {
        if !self.any.swap(false, Ordering::Acquire) {
            return;
        }
        for (w, word) in self.words.iter().enumerate() {
            // Acquire: pairs with give_back's Release.
            let mut bits = word.swap(0, Ordering::Acquire);
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                f((w * 64) as u16 + b as u16);
            }
        }
    }
}

/// A buffer the kernel filled, lent to a reader until dropped.
pub(crate) struct Lent {
    ptr: *const u8,
    len: usize,
    bid: u16,
    returns: Arc<Returns>,
}

// SAFETY: the bytes are plain memory nobody writes while lent (module docs); giving the
// buffer back is an atomic bit set, valid from any thread.
unsafe impl Send for Lent {}

impl Lent {
    /// The buffer's id in the ring.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn bid(&self) -> u16 {
        self.bid
    }

    /// The received bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: ptr..ptr+len lies in a filled buffer that stays mapped and untouched
        // while lent (module docs).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.returns.give_back(self.bid);
    }
}

impl std::fmt::Debug for Lent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lent")
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

/// A worker's receive pool.
pub(crate) struct BufPool {
    state: PoolState,
    /// Buffers in the ring: [`COUNT`], or fewer in unit tests that exhaust it.
    count: u16,
    returns: Arc<Returns>,
    lent: usize,
    /// Receives that found the ring empty (`ENOBUFS`) and fell back to their own buffer.
    pub(crate) starved: u64,
}

enum PoolState {
    /// Not set up yet.
    Lazy,
    Ready,
    /// The kernel refused a buffer ring (before 5.19): receives use their own buffers.
    Refused,
}

impl BufPool {
    pub(crate) fn new() -> BufPool {
        BufPool::with_count(COUNT)
    }

    /// A pool of `count` buffers (a power of two, at most [`COUNT`]).
    pub(crate) fn with_count(count: u16) -> BufPool {
        debug_assert!(count.is_power_of_two() && count <= COUNT);
        BufPool {
            state: PoolState::Lazy,
            count,
            returns: Arc::new(Returns::new(count)),
            lent: 0,
            starved: 0,
        }
    }

    /// A pool whose buffer ring is already set up (the fuzz harness's, over a ring it
    /// registered with no kernel).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn ready() -> BufPool {
        BufPool {
            state: PoolState::Ready,
            ..BufPool::new()
        }
    }

    /// Buffers lent and not yet recycled.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn lent(&self) -> usize {
        self.lent
    }

    /// The group to receive from, setting the ring up on first use; `None` when the
    /// kernel has no buffer rings.
    pub(crate) fn group(&mut self, ring: &mut Ring) -> Option<u16> {
        match self.state {
            PoolState::Ready => Some(GROUP),
            PoolState::Refused => None,
            PoolState::Lazy => match ring.setup_buf_ring(GROUP, self.count, BUF_LEN) {
                Ok(_) => {
                    self.state = PoolState::Ready;
                    tracing::debug!(
                        buffers = self.count,
                        size = BUF_LEN,
                        "io_uring provided-buffer ring set up"
                    );
                    Some(GROUP)
                }
                Err(e) => {
                    tracing::debug!(error = %e, "no provided-buffer ring: receives use their own buffers");
                    self.state = PoolState::Refused;
                    None
                }
            },
        }
    }

    /// Buffers in the ring.
    pub(crate) fn count(&self) -> u16 {
        self.count
    }

    /// Whether the buffer ring is in use.
    pub(crate) fn is_ready(&self) -> bool {
        matches!(self.state, PoolState::Ready)
    }

    /// Lends buffer `bid` holding `len` bytes (a completion's). `None` if the kernel named
    /// a buffer that was not in the ring (logged; never trusted).
    pub(crate) fn lend(&mut self, ring: &mut dyn CqeRing, bid: u16, len: u32) -> Option<Lent> {
        let br = ring.buf_ring(GROUP)?;
        match br.take(bid, len) {
            Ok(bytes) => {
                self.lent += 1;
                Some(Lent {
                    ptr: bytes.as_ptr(),
                    len: bytes.len(),
                    bid,
                    returns: self.returns.clone(),
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "io_uring completion with a bad buffer id");
                None
            }
        }
    }

    /// Puts the buffers readers gave back into the ring.
    pub(crate) fn recycle(&mut self, ring: &mut dyn CqeRing) {
        let Some(br) = ring.buf_ring(GROUP) else {
            return;
        };
        let lent = &mut self.lent;
        self.returns.drain(|bid| match br.recycle(bid) {
            Ok(()) => *lent -= 1,
            Err(e) => tracing::error!(error = %e, "returned buffer not recyclable"),
        });
    }

    /// Before the ring goes: if readers still hold buffers, the memory must outlive them.
    pub(crate) fn close(&mut self, ring: &mut Ring) {
        self.recycle(ring);
        if self.lent > 0 && self.is_ready() {
            tracing::debug!(
                lent = self.lent,
                "buffers still lent at shutdown: their memory is leaked"
            );
            if let Err(e) = ring.leak_buf_ring(GROUP) {
                tracing::error!(error = %e, "could not release the buffer ring");
            }
        }
    }
}

/// Byte buffers of sends, reused per thread: a send copies the caller's bytes into one
/// and gives it back when the operation is freed, so that a steady stream of writes does
/// not allocate.
pub(crate) mod send_bufs {
    use std::cell::RefCell;

    /// Buffers kept per thread.
    const KEEP: usize = 16;
    /// Larger buffers are freed, not kept.
    const MAX_KEPT: usize = 64 * 1024;

    thread_local! {
        static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty buffer with room for `len` bytes.
    pub(crate) fn take(len: usize) -> Vec<u8> {
        let mut v = FREE
            .try_with(|f| f.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        v.clear();
        v.reserve(len);
        v
    }

    /// Keeps `v` for a later send on this thread (or frees it).
    pub(crate) fn give(v: Vec<u8>) {
        if v.capacity() == 0 || v.capacity() > MAX_KEPT {
            return;
        }
        let _ = FREE.try_with(|f| {
            let mut f = f.borrow_mut();
            if f.len() < KEEP {
                f.push(v);
            }
        });
    }
}
