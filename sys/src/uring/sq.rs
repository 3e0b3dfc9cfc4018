//! The submission queue over a region: push SQEs, publish the tail, read the kernel's flags.
//!
//! The kernel contract (Linux `io_uring/io_uring.c`, header comment; liburing `queue.c`):
//! write SQEs, then release-store the tail; acquire-load the head before reusing a slot;
//! with SQPOLL, a full fence between the tail store and the `NEED_WAKEUP` check.
//!
//! # Safety
//!
//! A [`SubmissionQueue`] holds raw pointers into memory it does not own. Its constructor's
//! contract makes the memory live and exclusively ours (bar the kernel) for as long as the
//! queue exists; the layout was validated, so every word offset and every slot index
//! `index & mask < entries` stays inside the regions. Slots in `[head, tail)` belong to the
//! kernel and are never written; the tail never passes `head + entries`.
#![allow(unsafe_code)]

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};

use super::layout::{sq_ring_flags, Sqe};
use super::region::{word, LayoutError, RingLayout};

/// The kernel's view of the ring contradicts ours (its head ran ahead of our tail, or
/// fell further behind than the ring holds). Nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingCorrupt {
    /// Which ring: `"SQ"` or `"CQ"`.
    pub ring: &'static str,
    /// The kernel-written index that made no sense.
    pub kernel: u32,
    /// The index we own.
    pub ours: u32,
}

impl fmt::Display for RingCorrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "io_uring {} ring corrupt: kernel index {} against ours {}",
            self.ring, self.kernel, self.ours
        )
    }
}

impl std::error::Error for RingCorrupt {}

impl From<RingCorrupt> for std::io::Error {
    fn from(e: RingCorrupt) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

/// Why a push did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// Every slot holds an SQE the kernel has not consumed: submit, then retry.
    Full,
    /// See [`RingCorrupt`].
    Corrupt(RingCorrupt),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full => f.write_str("io_uring submission queue is full"),
            PushError::Corrupt(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for PushError {}

/// The application side of the SQ: one producer (the ring's owner), the kernel consuming.
///
/// ```
/// use hiver_sys::uring::{op, sim::SimRing};
/// let mut ring = SimRing::new(4);
/// // SAFETY: a NOP carries no pointer.
/// unsafe { ring.sq.push(&op::nop().user_data(1)) }.unwrap();
/// assert_eq!(ring.sq.flush().unwrap(), 1);
/// ```
pub struct SubmissionQueue {
    base: NonNull<u8>,
    sqes: NonNull<Sqe>,
    head: u32,
    tail: u32,
    flags: u32,
    dropped: u32,
    mask: u32,
    entries: u32,
    /// Next slot to fill; slots in `[published, sqe_tail)` are written but not yet visible.
    sqe_tail: u32,
    /// The tail last stored into the ring.
    published: u32,
}

// SAFETY: the queue is a unique handle to its slots (the constructor's contract); moving it
// to another thread moves that ownership, and every shared word is accessed atomically.
unsafe impl Send for SubmissionQueue {}

impl SubmissionQueue {
    /// Builds the view over an SQ ring region and an SQE array.
    ///
    /// Reads the ring's mask and entry words and checks them against `layout`; with an
    /// index array, fills it with the identity so that slot `i` submits SQE `i`.
    ///
    /// # Safety
    ///
    /// `sq_ring` must point to `sq_len` bytes and `sqes` to `sqes_len` bytes, both 8-aligned,
    /// readable and writable, and both must stay valid for the life of the returned queue.
    /// No one but this queue and the kernel (or a stand-in for it) may access them.
    ///
    /// # Errors
    ///
    /// [`LayoutError`] when the layout does not fit the regions or the ring's own words
    /// disagree with it.
    pub unsafe fn new(
        sq_ring: NonNull<u8>,
        sq_len: usize,
        sqes: NonNull<Sqe>,
        sqes_len: usize,
        layout: &RingLayout,
    ) -> Result<SubmissionQueue, LayoutError> {
        layout.validate_sq(sq_len, sqes_len)?;
        let off = &layout.sq;
        // SAFETY: the offsets were validated against sq_len and the caller keeps the
        // region alive and 8-aligned.
        let (mask, entries, tail) = unsafe {
            (
                word(sq_ring, off.ring_mask).load(Ordering::Relaxed),
                word(sq_ring, off.ring_entries).load(Ordering::Relaxed),
                word(sq_ring, off.tail).load(Ordering::Relaxed),
            )
        };
        if entries != layout.sq_entries || mask != entries.wrapping_sub(1) {
            return Err(LayoutError(format!(
                "SQ ring says {entries} entries with mask {mask:#x}, setup said {}",
                layout.sq_entries
            )));
        }
        if let Some(array) = off.array {
            for i in 0..entries {
                // The kernel reads the array only during enter, not during construction.
                // SAFETY: validate() checked array + entries * 4 <= sq_len.
                unsafe { word(sq_ring, array + i * 4).store(i, Ordering::Relaxed) };
            }
        }
        Ok(SubmissionQueue {
            base: sq_ring,
            sqes,
            head: off.head,
            tail: off.tail,
            flags: off.flags,
            dropped: off.dropped,
            mask,
            entries,
            sqe_tail: tail,
            published: tail,
        })
    }

    fn word(&self, off: u32) -> &AtomicU32 {
        // SAFETY: `off` is one of the offsets validated in `new`, and the region outlives
        // `self` (constructor contract).
        unsafe { word(self.base, off) }
    }

    /// Number of slots.
    pub fn capacity(&self) -> u32 {
        self.entries
    }

    /// The kernel's consumer index.
    pub fn kernel_head(&self) -> u32 {
        // Acquire: pairs with the kernel's release of the head after it copied the SQEs
        // out; only then may we overwrite their slots (liburing `io_uring_load_sq_head`).
        self.word(self.head).load(Ordering::Acquire)
    }

    /// SQEs pushed and not yet consumed by the kernel, checked against corruption.
    ///
    /// # Errors
    ///
    /// [`RingCorrupt`] when the kernel's head is ahead of our published tail or more than
    /// the ring's size behind our tail.
    pub fn len(&self) -> Result<u32, RingCorrupt> {
        let head = self.kernel_head();
        let in_kernel = self.published.wrapping_sub(head);
        let used = self.sqe_tail.wrapping_sub(head);
        if in_kernel > self.entries || used > self.entries {
            return Err(RingCorrupt {
                ring: "SQ",
                kernel: head,
                ours: self.sqe_tail,
            });
        }
        Ok(used)
    }

    /// Whether no SQE is pending (pushed or published) in the ring.
    ///
    /// # Errors
    ///
    /// As [`len`](Self::len).
    pub fn is_empty(&self) -> Result<bool, RingCorrupt> {
        self.len().map(|n| n == 0)
    }

    /// Free slots.
    ///
    /// # Errors
    ///
    /// As [`len`](Self::len).
    pub fn space_left(&self) -> Result<u32, RingCorrupt> {
        self.len().map(|used| self.entries - used)
    }

    /// SQEs pushed since the last [`flush`](Self::flush).
    pub fn unpublished(&self) -> u32 {
        self.sqe_tail.wrapping_sub(self.published)
    }

    /// Copies `sqe` into the next free slot. It becomes visible to the kernel at the next
    /// [`flush`](Self::flush).
    ///
    /// # Safety
    ///
    /// Once submitted, the kernel acts on the SQE: every pointer in it (buffers, iovecs,
    /// addresses, timespecs, msghdrs) must be valid for the access the opcode makes and stay
    /// so until the operation's final completion has been reaped (for pointers the kernel
    /// copies at submission, until the submitting `io_uring_enter` returns), buffers it
    /// writes must not be read or written by anyone else meanwhile, and any fd must be one
    /// the caller may operate on.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] when no slot is free, [`PushError::Corrupt`] as [`len`](Self::len).
    pub unsafe fn push(&mut self, sqe: &Sqe) -> Result<(), PushError> {
        // SAFETY: forwarded: the caller upholds push()'s contract for this SQE.
        unsafe { self.push_batch(std::slice::from_ref(sqe)) }
    }

    /// Copies all of `sqes` into consecutive slots, or none of them.
    ///
    /// # Safety
    ///
    /// As [`push`](Self::push), for every SQE.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push); `Full` when fewer than `sqes.len()` slots are free.
    pub unsafe fn push_batch(&mut self, sqes: &[Sqe]) -> Result<(), PushError> {
        let free = self.space_left().map_err(PushError::Corrupt)?;
        if sqes.len() > free as usize {
            return Err(PushError::Full);
        }
        for sqe in sqes {
            let slot = (self.sqe_tail & self.mask) as usize;
            // The slot is outside [head, tail) because space_left() > 0: the kernel is not
            // reading it. Raw write: no reference to shared memory is formed.
            // SAFETY: slot < entries and the SQE array holds `entries` SQEs (validated).
            unsafe { self.sqes.as_ptr().add(slot).write(*sqe) };
            self.sqe_tail = self.sqe_tail.wrapping_add(1);
        }
        Ok(())
    }

    /// Publishes every pushed SQE and returns how many the kernel has yet to consume:
    /// the `to_submit` of the next `io_uring_enter`.
    ///
    /// # Errors
    ///
    /// As [`len`](Self::len).
    pub fn flush(&mut self) -> Result<u32, RingCorrupt> {
        if self.sqe_tail != self.published {
            // Release: the SQE bytes written above must be visible before the kernel sees
            // the new tail (kernel header comment; liburing `__io_uring_flush_sq` uses a
            // release store under SQPOLL, and a plain one is a data race in Rust's model).
            self.word(self.tail).store(self.sqe_tail, Ordering::Release);
            self.published = self.sqe_tail;
        }
        self.len()
    }

    /// The `IORING_SQ_*` flags word.
    pub fn flags(&self) -> u32 {
        // Relaxed: a hint read (liburing READ_ONCE); what it announces is then fetched
        // through io_uring_enter, which orders everything itself.
        self.word(self.flags).load(Ordering::Relaxed)
    }

    /// Whether an SQPOLL thread went to sleep and needs `IORING_ENTER_SQ_WAKEUP`.
    pub fn need_wakeup(&self) -> bool {
        // SeqCst fence: the tail store of flush() must be ordered before this read, or the
        // kernel thread could go to sleep having missed the new tail while we read a stale
        // "awake" (liburing `sq_ring_needs_enter`: io_uring_smp_mb()).
        fence(Ordering::SeqCst);
        self.flags() & sq_ring_flags::NEED_WAKEUP != 0
    }

    /// Whether completions wait in the kernel's overflow list or task work is pending:
    /// then `io_uring_enter` with `GETEVENTS` is needed to see them.
    pub fn cq_needs_flush(&self) -> bool {
        self.flags() & (sq_ring_flags::CQ_OVERFLOW | sq_ring_flags::TASKRUN) != 0
    }

    /// SQEs the kernel dropped as invalid (diagnostic).
    pub fn dropped(&self) -> u32 {
        // Relaxed: a counter for diagnostics only.
        self.word(self.dropped).load(Ordering::Relaxed)
    }
}

impl fmt::Debug for SubmissionQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmissionQueue")
            .field("entries", &self.entries)
            .field("sqe_tail", &self.sqe_tail)
            .field("published", &self.published)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use crate::uring::op;
    use crate::uring::sim::SimRing;

    use super::*;

    fn nop1(sq: &mut SubmissionQueue, sqe: &Sqe) -> Result<(), PushError> {
        nops(sq, std::slice::from_ref(sqe))
    }

    fn nops(sq: &mut SubmissionQueue, sqes: &[Sqe]) -> Result<(), PushError> {
        assert!(
            sqes.iter().all(|s| s.addr == 0),
            "test SQEs carry no pointer"
        );
        // SAFETY: checked above: the SQEs point at nothing, and the simulated kernel never
        // dereferences anything anyway.
        unsafe { sq.push_batch(sqes) }
    }

    #[test]
    fn push_until_full_then_consume() {
        let mut ring = SimRing::new(4);
        for i in 0..4 {
            nop1(&mut ring.sq, &op::nop().user_data(i)).unwrap();
        }
        assert_eq!(nop1(&mut ring.sq, &op::nop()), Err(PushError::Full));
        assert_eq!(ring.sq.flush().unwrap(), 4);
        let got: Vec<u64> = ring.kernel_consume(2).iter().map(|s| s.user_data).collect();
        assert_eq!(got, [0, 1]);
        assert_eq!(ring.sq.space_left().unwrap(), 2);
        nops(
            &mut ring.sq,
            &[op::nop().user_data(4), op::nop().user_data(5)],
        )
        .unwrap();
        assert_eq!(nops(&mut ring.sq, &[op::nop()]), Err(PushError::Full));
        ring.sq.flush().unwrap();
        let got: Vec<u64> = ring.kernel_consume(8).iter().map(|s| s.user_data).collect();
        assert_eq!(got, [2, 3, 4, 5]);
    }

    #[test]
    fn unpublished_sqes_are_invisible() {
        let mut ring = SimRing::new(4);
        nop1(&mut ring.sq, &op::nop().user_data(9)).unwrap();
        assert_eq!(ring.sq.unpublished(), 1);
        assert!(ring.kernel_consume(4).is_empty());
        ring.sq.flush().unwrap();
        assert_eq!(ring.kernel_consume(4)[0].user_data, 9);
    }

    #[test]
    fn hostile_head_is_reported() {
        let mut ring = SimRing::new(4);
        nop1(&mut ring.sq, &op::nop()).unwrap();
        ring.sq.flush().unwrap();
        ring.set_sq_head(5); // ahead of our tail of 1
        assert!(matches!(
            nop1(&mut ring.sq, &op::nop()),
            Err(PushError::Corrupt(_))
        ));
        assert!(ring.sq.flush().is_err());
        ring.set_sq_head(0);
        nop1(&mut ring.sq, &op::nop()).unwrap();
    }

    #[test]
    fn indices_wrap_around_u32() {
        let mut ring = SimRing::with_start(4, u32::MAX - 2);
        for round in 0..5u64 {
            nops(
                &mut ring.sq,
                &[op::nop().user_data(round), op::nop().user_data(round + 100)],
            )
            .unwrap();
            ring.sq.flush().unwrap();
            let got: Vec<u64> = ring.kernel_consume(2).iter().map(|s| s.user_data).collect();
            assert_eq!(got, [round, round + 100]);
        }
    }

    #[test]
    fn flags_are_read() {
        let mut ring = SimRing::new(2);
        assert!(!ring.sq.need_wakeup() && !ring.sq.cq_needs_flush());
        ring.set_sq_flags(sq_ring_flags::NEED_WAKEUP);
        assert!(ring.sq.need_wakeup());
        ring.set_sq_flags(sq_ring_flags::CQ_OVERFLOW);
        assert!(ring.sq.cq_needs_flush() && !ring.sq.need_wakeup());
    }
}
