//! The completion queue over a region: reap CQEs, decode them, and watch for overflow.
//!
//! The kernel contract: acquire-load the CQ tail before reading CQEs; release-store the
//! head after reading them, which hands their slots back to the kernel.
//!
//! # Safety
//!
//! A [`CompletionQueue`] holds a raw pointer into memory it does not own. The constructor's
//! contract keeps the region live for the queue's life; the layout was validated, so every
//! word and every CQE slot `index & mask < entries` is inside it. Slots in `[head, tail)`
//! were published by the kernel's release of the tail and are only read, never referenced.
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use super::layout::{cqe_flags, Cqe};
use super::region::{word, LayoutError, RingLayout};
use super::sq::RingCorrupt;

impl Cqe {
    /// The result as `io::Result`: the non-negative value, or the errno it encodes.
    ///
    /// A negative value outside `-4095..=-1` is not an errno; it is reported as
    /// `InvalidData` instead of being negated (which could overflow for `i32::MIN`).
    ///
    /// ```
    /// use hiver_sys::uring::Cqe;
    /// let ok = Cqe { user_data: 1, res: 5, flags: 0 };
    /// assert_eq!(ok.result().unwrap(), 5);
    /// let err = Cqe { user_data: 1, res: -125, flags: 0 };
    /// assert_eq!(err.result().unwrap_err().raw_os_error(), Some(125));
    /// ```
    ///
    /// # Errors
    ///
    /// The operation's errno, or `InvalidData` for an impossible result.
    pub fn result(&self) -> io::Result<u32> {
        match self.res {
            r if r >= 0 => Ok(r as u32),
            r @ -4095..=-1 => Err(io::Error::from_raw_os_error(-r)),
            r => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("io_uring completion with impossible result {r}"),
            )),
        }
    }

    /// Whether a multishot request will post more CQEs (`IORING_CQE_F_MORE`).
    pub fn more(&self) -> bool {
        self.flags & cqe_flags::MORE != 0
    }

    /// The provided-buffer id the kernel used, if any (`IORING_CQE_F_BUFFER`).
    pub fn buffer_id(&self) -> Option<u16> {
        (self.flags & cqe_flags::BUFFER != 0)
            .then_some((self.flags >> cqe_flags::BUFFER_SHIFT) as u16)
    }

    /// Whether this is a zero-copy send's buffer notification (`IORING_CQE_F_NOTIF`).
    pub fn is_notif(&self) -> bool {
        self.flags & cqe_flags::NOTIF != 0
    }

    /// Whether more data is queued on the socket (`IORING_CQE_F_SOCK_NONEMPTY`).
    pub fn sock_nonempty(&self) -> bool {
        self.flags & cqe_flags::SOCK_NONEMPTY != 0
    }
}

/// The application side of the CQ: the kernel produces, the ring's owner consumes.
///
/// ```
/// use hiver_sys::uring::sim::SimRing;
/// let mut ring = SimRing::new(4);
/// ring.kernel_post(&[(7, 0, 0)]);
/// let mut seen = Vec::new();
/// ring.cq.drain(|cqe| seen.push(cqe.user_data)).unwrap();
/// assert_eq!(seen, [7]);
/// ```
pub struct CompletionQueue {
    base: NonNull<u8>,
    head: u32,
    tail: u32,
    overflow: u32,
    flags: Option<u32>,
    cqes: u32,
    stride: usize,
    mask: u32,
    entries: u32,
    /// Our consumer index; the ring's head word is a published copy of it.
    local_head: u32,
    /// Filler entries (`IORING_CQE_F_SKIP`) passed over, for diagnostics.
    skipped: u64,
}

// SAFETY: the queue is the only consumer of its ring (the constructor's contract); moving
// it to another thread moves that role, and every shared word is accessed atomically.
unsafe impl Send for CompletionQueue {}

impl CompletionQueue {
    /// Builds the view over a CQ ring region.
    ///
    /// # Safety
    ///
    /// `cq_ring` must point to `cq_len` bytes, 8-aligned, readable and writable, valid for
    /// the life of the returned queue, and consumed by no one else.
    ///
    /// # Errors
    ///
    /// [`LayoutError`] when the layout does not fit the region or the ring's own words
    /// disagree with it.
    pub unsafe fn new(
        cq_ring: NonNull<u8>,
        cq_len: usize,
        layout: &RingLayout,
    ) -> Result<CompletionQueue, LayoutError> {
        layout.validate_cq(cq_len)?;
        let off = &layout.cq;
        // SAFETY: the offsets were validated against cq_len and the caller keeps the
        // region alive and 8-aligned.
        let (mask, entries, head) = unsafe {
            (
                word(cq_ring, off.ring_mask).load(Ordering::Relaxed),
                word(cq_ring, off.ring_entries).load(Ordering::Relaxed),
                word(cq_ring, off.head).load(Ordering::Relaxed),
            )
        };
        if entries != layout.cq_entries || mask != entries.wrapping_sub(1) {
            return Err(LayoutError(format!(
                "CQ ring says {entries} entries with mask {mask:#x}, setup said {}",
                layout.cq_entries
            )));
        }
        Ok(CompletionQueue {
            base: cq_ring,
            head: off.head,
            tail: off.tail,
            overflow: off.overflow,
            flags: off.flags,
            cqes: off.cqes,
            stride: layout.cqe_size as usize,
            mask,
            entries,
            local_head: head,
            skipped: 0,
        })
    }

    fn word(&self, off: u32) -> &AtomicU32 {
        // SAFETY: `off` is one of the offsets validated in `new`; the region outlives self.
        unsafe { word(self.base, off) }
    }

    /// Number of slots.
    pub fn capacity(&self) -> u32 {
        self.entries
    }

    /// CQEs ready to be read.
    ///
    /// # Errors
    ///
    /// [`RingCorrupt`] when the kernel's tail is more than the ring's size ahead of our
    /// head (or behind it): nothing is read then.
    pub fn ready(&self) -> Result<u32, RingCorrupt> {
        // Acquire: pairs with the kernel's release of the tail after it wrote the CQEs;
        // the entries below the tail are complete once we see it (liburing
        // `io_uring_cq_ready` / `__io_uring_peek_cqe`).
        let tail = self.word(self.tail).load(Ordering::Acquire);
        let n = tail.wrapping_sub(self.local_head);
        if n > self.entries {
            return Err(RingCorrupt {
                ring: "CQ",
                kernel: tail,
                ours: self.local_head,
            });
        }
        Ok(n)
    }

    fn read_slot(&self, index: u32) -> Cqe {
        let off = self.cqes as usize + (index & self.mask) as usize * self.stride;
        // The slot lies below the tail we acquired: the kernel finished writing it and will
        // not rewrite it before we release the head past it. Raw read: no reference formed.
        // SAFETY: index & mask < entries; validate_cq() checked the array fits the region.
        unsafe { self.base.as_ptr().add(off).cast::<Cqe>().read() }
    }

    /// Reads every ready CQE in order, handing each to `f`, then releases their slots to the
    /// kernel with one store. Filler entries (`IORING_CQE_F_SKIP`) are passed over.
    ///
    /// A pass reads at most `capacity()` entries, so it always ends. If `f` panics, the
    /// entries already handed out are still released: none is ever seen twice.
    ///
    /// # Errors
    ///
    /// As [`ready`](Self::ready); nothing is consumed then.
    pub fn drain(&mut self, mut f: impl FnMut(Cqe)) -> Result<u32, RingCorrupt> {
        let n = self.ready()?;
        let mut guard = HeadGuard { cq: self, taken: 0 };
        while guard.taken < n {
            let cqe = guard
                .cq
                .read_slot(guard.cq.local_head.wrapping_add(guard.taken));
            guard.taken += 1;
            if cqe.flags & cqe_flags::SKIP != 0 {
                guard.cq.skipped += 1;
                continue;
            }
            f(cqe);
        }
        Ok(n)
    }

    /// Reads and consumes the next CQE, if any (one release store per call: prefer
    /// [`drain`](Self::drain) for batches).
    ///
    /// # Errors
    ///
    /// As [`ready`](Self::ready).
    pub fn pop(&mut self) -> Result<Option<Cqe>, RingCorrupt> {
        loop {
            if self.ready()? == 0 {
                return Ok(None);
            }
            let cqe = self.read_slot(self.local_head);
            self.advance(1);
            if cqe.flags & cqe_flags::SKIP == 0 {
                return Ok(Some(cqe));
            }
            self.skipped += 1;
        }
    }

    fn advance(&mut self, n: u32) {
        self.local_head = self.local_head.wrapping_add(n);
        // Release: our reads of the consumed CQEs happen before the kernel may reuse their
        // slots (liburing `io_uring_cq_advance`: smp_store_release).
        self.word(self.head)
            .store(self.local_head, Ordering::Release);
    }

    /// Completions the kernel had to drop (`cq.overflow`): non-zero only when the kernel
    /// lacked `IORING_FEAT_NODROP` or ran out of memory for its backlog.
    pub fn overflow(&self) -> u32 {
        // Relaxed: a diagnostic counter.
        self.word(self.overflow).load(Ordering::Relaxed)
    }

    /// The `IORING_CQ_*` flags word, when the kernel has one.
    pub fn flags(&self) -> Option<u32> {
        // Relaxed: only we write it (WRITE_ONCE in liburing); the kernel reads it as a hint.
        self.flags.map(|off| self.word(off).load(Ordering::Relaxed))
    }

    /// Filler entries passed over so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// Publishes the head past the entries taken, even when the consumer panics.
struct HeadGuard<'a> {
    cq: &'a mut CompletionQueue,
    taken: u32,
}

impl Drop for HeadGuard<'_> {
    fn drop(&mut self) {
        if self.taken > 0 {
            self.cq.advance(self.taken);
        }
    }
}

impl fmt::Debug for CompletionQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionQueue")
            .field("entries", &self.entries)
            .field("head", &self.local_head)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use crate::uring::sim::SimRing;

    use super::*;

    fn drained(ring: &mut SimRing) -> Vec<(u64, i32)> {
        let mut v = Vec::new();
        ring.cq.drain(|c| v.push((c.user_data, c.res))).unwrap();
        v
    }

    #[test]
    fn drain_reads_in_order_and_releases() {
        let mut ring = SimRing::new(2); // CQ of 4
        ring.kernel_post(&[(1, 10, 0), (2, -11, 0), (3, 0, 0)]);
        assert_eq!(ring.cq.ready().unwrap(), 3);
        assert_eq!(drained(&mut ring), [(1, 10), (2, -11), (3, 0)]);
        assert_eq!(ring.cq.ready().unwrap(), 0);
        assert_eq!(ring.cq_head(), 3);
        ring.kernel_post(&[(4, 0, 0), (5, 0, 0), (6, 0, 0), (7, 0, 0)]);
        assert_eq!(drained(&mut ring).len(), 4);
    }

    #[test]
    fn pop_one_at_a_time() {
        let mut ring = SimRing::new(2);
        ring.kernel_post(&[(1, 0, 0), (2, 0, 0)]);
        assert_eq!(ring.cq.pop().unwrap().unwrap().user_data, 1);
        assert_eq!(ring.cq_head(), 1);
        assert_eq!(ring.cq.pop().unwrap().unwrap().user_data, 2);
        assert_eq!(ring.cq.pop().unwrap(), None);
    }

    #[test]
    fn skip_entries_are_passed_over() {
        let mut ring = SimRing::new(2);
        ring.kernel_post(&[(1, 0, cqe_flags::SKIP), (2, 0, 0)]);
        assert_eq!(drained(&mut ring), [(2, 0)]);
        assert_eq!(ring.cq.skipped(), 1);
        ring.kernel_post(&[(3, 0, cqe_flags::SKIP), (4, 0, 0)]);
        assert_eq!(ring.cq.pop().unwrap().unwrap().user_data, 4);
    }

    #[test]
    fn hostile_tail_is_reported_and_nothing_read() {
        let mut ring = SimRing::new(2);
        ring.set_cq_tail(100);
        assert!(ring.cq.ready().is_err());
        assert!(ring
            .cq
            .drain(|_| panic!("read from a corrupt ring"))
            .is_err());
        assert_eq!(ring.cq_head(), 0);
    }

    #[test]
    fn panicking_consumer_never_sees_a_cqe_twice() {
        let mut ring = SimRing::new(2);
        ring.kernel_post(&[(1, 0, 0), (2, 0, 0), (3, 0, 0)]);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ring.cq.drain(|c| assert_ne!(c.user_data, 2)).unwrap();
        }));
        assert!(r.is_err());
        assert_eq!(drained(&mut ring), [(3, 0)]);
    }

    #[test]
    fn decoding() {
        let c = Cqe {
            user_data: 0,
            res: 3,
            flags: cqe_flags::BUFFER | cqe_flags::MORE | (7 << 16),
        };
        assert_eq!(c.buffer_id(), Some(7));
        assert!(c.more() && !c.is_notif() && !c.sock_nonempty());
        let c = Cqe {
            user_data: 0,
            res: i32::MIN,
            flags: cqe_flags::NOTIF,
        };
        assert_eq!(c.result().unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert!(c.is_notif() && c.buffer_id().is_none());
    }
}
