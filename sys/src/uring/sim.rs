//! A stand-in for the kernel over plain memory: the same [`SubmissionQueue`] and
//! [`CompletionQueue`] code, with this module playing the kernel's side of each ring.
//!
//! Used by unit tests, miri, the fuzz targets and their corpus replay. It makes no syscall.
//! The kernel side follows the same protocol as Linux: it acquire-loads the SQ tail, copies
//! SQEs out, release-stores the SQ head; it writes CQEs, then release-stores the CQ tail;
//! with the CQ full it keeps completions in a backlog and sets `IORING_SQ_CQ_OVERFLOW`,
//! as a kernel with `IORING_FEAT_NODROP` does.
//!
//! # Safety
//!
//! The regions are heap buffers owned by the [`SimRing`] next to the views built on them;
//! the views never outlive them (same struct, dropped together) and the heap memory does
//! not move when the struct does. Kernel-side accesses use the same atomic words and raw
//! slot reads/writes as the views, at validated offsets.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use super::cq::CompletionQueue;
use super::layout::{sq_ring_flags, Cqe, Sqe};
use super::region::{word, HeapRegion, RingLayout};
use super::sq::SubmissionQueue;

/// Rings over plain memory, with the kernel's side played by methods.
pub struct SimRing {
    /// The application's submission queue.
    pub sq: SubmissionQueue,
    /// The application's completion queue.
    pub cq: CompletionQueue,
    layout: RingLayout,
    sq_region: HeapRegion,
    cq_region: HeapRegion,
    sqe_region: HeapRegion,
    backlog: VecDeque<Cqe>,
}

impl SimRing {
    /// A ring of `entries` SQEs and `2 * entries` CQEs, indices starting at 0.
    pub fn new(entries: u32) -> SimRing {
        SimRing::with_start(entries, 0)
    }

    /// As [`new`](Self::new), with every ring index starting at `start` (to exercise
    /// wrap-around of the `u32` counters).
    ///
    /// # Panics
    ///
    /// If `entries` is not a power of two of at most 2^15.
    pub fn with_start(entries: u32, start: u32) -> SimRing {
        assert!(
            entries.is_power_of_two() && entries <= 1 << 15,
            "bad sim entries {entries}"
        );
        let layout = RingLayout::typical(entries);
        SimRing::with_layout(layout, start).expect("the typical layout is valid")
    }

    /// Rings with an arbitrary layout, as a kernel might report it.
    ///
    /// # Errors
    ///
    /// The views' [`LayoutError`](super::LayoutError) when the layout is inconsistent.
    pub fn with_layout(layout: RingLayout, start: u32) -> Result<SimRing, super::LayoutError> {
        layout.validate_sq(layout.sq_ring_len(), layout.sqes_len())?;
        layout.validate_cq(layout.cq_ring_len())?;
        let sq_region = HeapRegion::new(layout.sq_ring_len());
        let cq_region = HeapRegion::new(layout.cq_ring_len());
        let sqe_region = HeapRegion::new(layout.sqes_len());
        let (sqb, cqb) = (sq_region.base(), cq_region.base());
        // SAFETY: validated offsets inside freshly allocated, 8-aligned regions that no
        // view uses yet.
        unsafe {
            word(sqb, layout.sq.ring_mask)
                .store(layout.sq_entries.wrapping_sub(1), Ordering::Relaxed);
            word(sqb, layout.sq.ring_entries).store(layout.sq_entries, Ordering::Relaxed);
            word(sqb, layout.sq.head).store(start, Ordering::Relaxed);
            word(sqb, layout.sq.tail).store(start, Ordering::Relaxed);
            word(cqb, layout.cq.ring_mask)
                .store(layout.cq_entries.wrapping_sub(1), Ordering::Relaxed);
            word(cqb, layout.cq.ring_entries).store(layout.cq_entries, Ordering::Relaxed);
            word(cqb, layout.cq.head).store(start, Ordering::Relaxed);
            word(cqb, layout.cq.tail).store(start, Ordering::Relaxed);
        }
        let (sq_len, cq_len, sqes_len) = (sq_region.len(), cq_region.len(), sqe_region.len());
        let sqes = sqe_region.as_sqes();
        // The regions live in `Self` beside the views and only they and this kernel touch them.
        // SAFETY: the regions are 8-aligned, sized as `layout` says, and outlive the views.
        let sq = unsafe { SubmissionQueue::new(sqb, sq_len, sqes, sqes_len, &layout)? };
        // SAFETY: as above.
        let cq = unsafe { CompletionQueue::new(cqb, cq_len, &layout)? };
        Ok(SimRing {
            sq,
            cq,
            layout,
            sq_region,
            cq_region,
            sqe_region,
            backlog: VecDeque::new(),
        })
    }

    fn sq_word(&mut self, off: u32) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: offsets come from the validated layout; the region lives in self.
        unsafe { word(self.sq_region.base(), off) }
    }

    fn cq_word(&mut self, off: u32) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: offsets come from the validated layout; the region lives in self.
        unsafe { word(self.cq_region.base(), off) }
    }

    /// Kernel side: consumes up to `max` published SQEs, in order.
    pub fn kernel_consume(&mut self, max: u32) -> Vec<Sqe> {
        let l = self.layout;
        let tail = self.sq_word(l.sq.tail).load(Ordering::Acquire);
        let head = self.sq_word(l.sq.head).load(Ordering::Relaxed);
        let n = tail.wrapping_sub(head).min(max).min(l.sq_entries);
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            let slot = head.wrapping_add(i) & (l.sq_entries - 1);
            let index = match l.sq.array {
                Some(a) => self.sq_word(a + slot * 4).load(Ordering::Relaxed),
                None => slot,
            };
            assert!(index < l.sq_entries, "SQ index array holds {index}");
            let p = self
                .sqe_region
                .as_sqes()
                .as_ptr()
                .wrapping_add(index as usize);
            // SAFETY: index < entries, inside the SQE region; the slot was published by
            // the Release tail store we acquired.
            out.push(unsafe { p.read() });
        }
        self.sq_word(l.sq.head)
            .store(head.wrapping_add(n), Ordering::Release);
        out
    }

    /// Kernel side: posts `(user_data, res, flags)` completions; what does not fit in the
    /// CQ goes to the overflow backlog and sets `IORING_SQ_CQ_OVERFLOW`.
    pub fn kernel_post(&mut self, cqes: &[(u64, i32, u32)]) {
        for &(user_data, res, flags) in cqes {
            self.backlog.push_back(Cqe {
                user_data,
                res,
                flags,
            });
        }
        self.kernel_flush_overflow();
    }

    /// Kernel side: moves backlog entries into free CQ slots, as `GETEVENTS` does; returns
    /// how many remain in the backlog.
    pub fn kernel_flush_overflow(&mut self) -> usize {
        let l = self.layout;
        let head = self.cq_word(l.cq.head).load(Ordering::Acquire);
        let mut tail = self.cq_word(l.cq.tail).load(Ordering::Relaxed);
        while tail.wrapping_sub(head) < l.cq_entries {
            let Some(cqe) = self.backlog.pop_front() else {
                break;
            };
            let off =
                l.cq.cqes as usize + (tail & (l.cq_entries - 1)) as usize * l.cqe_size as usize;
            let p = self.cq_region.cqe_ptr(off);
            // SAFETY: the slot is inside the validated CQE array and outside [head, tail),
            // so the consumer does not read it until the tail store below.
            unsafe { p.write(cqe) };
            tail = tail.wrapping_add(1);
        }
        self.cq_word(l.cq.tail).store(tail, Ordering::Release);
        let left = self.backlog.len();
        let flags = self.sq_word(l.sq.flags).load(Ordering::Relaxed);
        let flags = if left > 0 {
            flags | sq_ring_flags::CQ_OVERFLOW
        } else {
            flags & !sq_ring_flags::CQ_OVERFLOW
        };
        self.sq_word(l.sq.flags).store(flags, Ordering::Relaxed);
        left
    }

    /// Completions waiting in the simulated kernel's backlog.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// Hostile kernel: overwrites the SQ head.
    pub fn set_sq_head(&mut self, v: u32) {
        let off = self.layout.sq.head;
        self.sq_word(off).store(v, Ordering::Release);
    }

    /// Hostile kernel: overwrites the CQ tail.
    pub fn set_cq_tail(&mut self, v: u32) {
        let off = self.layout.cq.tail;
        self.cq_word(off).store(v, Ordering::Release);
    }

    /// Kernel side: sets the SQ flags word.
    pub fn set_sq_flags(&mut self, v: u32) {
        let off = self.layout.sq.flags;
        self.sq_word(off).store(v, Ordering::Relaxed);
    }

    /// Hostile kernel: writes raw bytes into CQ slot `slot` (masked) without publishing.
    pub fn write_cq_slot(&mut self, slot: u32, cqe: Cqe) {
        let l = self.layout;
        let off = l.cq.cqes as usize + (slot & (l.cq_entries - 1)) as usize * l.cqe_size as usize;
        let p = self.cq_region.cqe_ptr(off);
        // SAFETY: inside the validated CQE array; the harness runs single-threaded, so no
        // read of this slot is in progress.
        unsafe { p.write(cqe) };
    }

    /// The CQ head as the kernel sees it.
    pub fn cq_head(&mut self) -> u32 {
        let off = self.layout.cq.head;
        self.cq_word(off).load(Ordering::Acquire)
    }

    /// The CQ tail as the kernel wrote it.
    pub fn cq_tail(&mut self) -> u32 {
        let off = self.layout.cq.tail;
        self.cq_word(off).load(Ordering::Relaxed)
    }

    /// The ring's layout.
    pub fn layout(&self) -> &RingLayout {
        &self.layout
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uring::op;

    #[test]
    fn overflow_backlog_loses_nothing() {
        let mut ring = SimRing::new(2); // CQ of 4
        let posts: Vec<(u64, i32, u32)> = (0..10).map(|i| (i, 0, 0)).collect();
        ring.kernel_post(&posts);
        assert!(ring.sq.cq_needs_flush());
        let mut seen = Vec::new();
        while seen.len() < 10 {
            ring.cq.drain(|c| seen.push(c.user_data)).unwrap();
            ring.kernel_flush_overflow();
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert!(!ring.sq.cq_needs_flush());
    }

    #[test]
    fn no_sqarray_layout_works() {
        let mut layout = RingLayout::typical(4);
        layout.sq.array = None;
        let mut ring = SimRing::with_layout(layout, 7).unwrap();
        // SAFETY: a NOP carries no pointer and the simulated kernel dereferences nothing.
        unsafe { ring.sq.push(&op::nop().user_data(3)) }.unwrap();
        ring.sq.flush().unwrap();
        assert_eq!(ring.kernel_consume(1)[0].user_data, 3);
    }
}
