//! io_uring mapped by hand: setup, the three shared regions, SQ/CQ access, enter, probe,
//! provided-buffer rings and registered files.
//!
//! ```no_run
//! use hiver_sys::uring::{op, Ring, SetupOptions};
//! # fn main() -> std::io::Result<()> {
//! let mut ring = Ring::new(8, &SetupOptions::default())?;
//! // SAFETY: a NOP carries no pointer.
//! unsafe { ring.push(&op::nop().user_data(42))? };
//! ring.submit_and_wait(1)?;
//! let mut got = Vec::new();
//! ring.reap(|cqe| got.push(cqe.user_data))?;
//! assert_eq!(got, [42]);
//! # Ok(()) }
//! ```
//!
//! # Safety
//!
//! The modules that touch shared memory ([`region`](self::RingLayout), `sq`, `cq`, `mmap`,
//! `buf_ring`, `sim`) state their own invariants. [`Ring`] ties them together: its views
//! are built on mappings it owns, declared so that views drop before mappings and mappings
//! before the fd; every SQE reaching the kernel went through the `unsafe`
//! [`Ring::push`], whose caller vouches for the memory it names.
#![allow(unsafe_code)]

mod buf_ring;
mod cq;
mod enter;
#[doc(hidden)]
pub mod harness;
mod layout;
mod mmap;
pub mod op;
mod probe;
mod region;
mod register;
mod setup;
pub mod sim;
mod sq;

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::io_uring::{io_uring_params, IORING_OFF_CQ_RING, IORING_OFF_SQES, IORING_OFF_SQ_RING};

pub use buf_ring::{BufRing, BufRingView};
pub use cq::CompletionQueue;
pub use enter::{enter_decision, EnterDecision};
pub use layout::{at_flags, fsync_flags, statx_mask, Statx, StatxTimestamp};
pub use layout::{
    cancel_flags, cqe_flags, enter_flags, features, ioprio_flags, opcode, poll_flags, setup_flags,
    sq_ring_flags, sqe_flags, timeout_flags, BufRingEntry, Cqe, KernelTimespec, ProbeHeader,
    ProbeOp, Sqe, BUF_RING_TAIL_OFFSET, FILE_INDEX_ALLOC, MAX_RW_COUNT, MSG_DATA, OP_SUPPORTED,
};
pub use probe::Probe;
pub use region::{CqOffsets, HeapRegion, LayoutError, RingLayout, SqOffsets};
pub use setup::{round_entries, SetupOptions, MAX_ENTRIES};
pub use sq::{PushError, RingCorrupt, SubmissionQueue};

use mmap::Mapping;

/// An io_uring instance: the fd, its mapped rings, and what setup settled on.
///
/// Field order is drop order: the queue views, then the buffer rings, then the mappings,
/// then the fd.
pub struct Ring {
    sq: SubmissionQueue,
    cq: CompletionQueue,
    buf_rings: Vec<BufRing>,
    _sqes: Mapping,
    _cq_map: Option<Mapping>,
    _sq_map: Mapping,
    features: u32,
    flags: u32,
    cq_entries: u32,
    entries: u32,
    registered_index: Option<u32>,
    enters: u64,
    overflow_flushes: u64,
    fd: OwnedFd,
}

impl Ring {
    /// Sets up a ring of `entries` SQ entries (rounded up to a power of two, clamped to
    /// [`MAX_ENTRIES`]) and maps it.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for 0 entries; otherwise the failing step (`io_uring_setup` with the
    /// flags tried, `mmap` of which region, ...) with the kernel's errno and a hint: `EPERM`
    /// (seccomp, `kernel.io_uring_disabled`), `ENOSYS` (no io_uring), `ENOMEM`, `EMFILE`.
    pub fn new(entries: u32, opts: &SetupOptions) -> io::Result<Ring> {
        let entries = round_entries(entries)?;
        let (fd, params) = setup::setup(entries, opts)?;
        let layout = layout_of(&params);
        let (sq_len, cq_len) = (layout.sq_ring_len(), layout.cq_ring_len());
        let single = params.features.bits() & features::SINGLE_MMAP != 0;
        let sq_map_len = if single { sq_len.max(cq_len) } else { sq_len };
        let sq_map = Mapping::ring(fd.as_fd(), sq_map_len, IORING_OFF_SQ_RING, "SQ ring")?;
        let cq_map = if single {
            None
        } else {
            Some(Mapping::ring(
                fd.as_fd(),
                cq_len,
                IORING_OFF_CQ_RING,
                "CQ ring",
            )?)
        };
        let sqes = Mapping::ring(fd.as_fd(), layout.sqes_len(), IORING_OFF_SQES, "SQE array")?;
        let cq_region = cq_map.as_ref().unwrap_or(&sq_map);
        // SAFETY: the mappings are live, page-aligned, sized as the kernel reported, owned
        // by the Ring next to the views, and dropped after them (field order).
        let sq = unsafe {
            SubmissionQueue::new(
                sq_map.ptr(),
                sq_map.len(),
                sqes.ptr().cast(),
                sqes.len(),
                &layout,
            )
        }?;
        // SAFETY: as above, for the CQ region (the SQ mapping on single-mmap kernels).
        let cq = unsafe { CompletionQueue::new(cq_region.ptr(), cq_region.len(), &layout) }?;
        let mut ring = Ring {
            sq,
            cq,
            buf_rings: Vec::new(),
            _sqes: sqes,
            _cq_map: cq_map,
            _sq_map: sq_map,
            features: params.features.bits(),
            flags: params.flags.bits(),
            cq_entries: params.cq_entries,
            entries,
            registered_index: None,
            enters: 0,
            overflow_flushes: 0,
            fd,
        };
        if opts.register_ring_fd {
            ring.registered_index = ring.register_ring_fd().ok();
        }
        Ok(ring)
    }

    /// SQ entries after rounding.
    pub fn entries(&self) -> u32 {
        self.entries
    }

    /// CQ entries the kernel chose.
    pub fn cq_entries(&self) -> u32 {
        self.cq_entries
    }

    /// `IORING_FEAT_*` bits the kernel reported (see [`features`]).
    pub fn features(&self) -> u32 {
        self.features
    }

    /// `IORING_SETUP_*` bits the ring was created with after the ladder (see
    /// [`setup_flags`]).
    pub fn setup_flags(&self) -> u32 {
        self.flags
    }

    /// Whether the ring fd is registered (enter skips the fd lookup).
    pub fn is_ring_fd_registered(&self) -> bool {
        self.registered_index.is_some()
    }

    /// How many `io_uring_enter` calls this ring has made.
    pub fn enter_count(&self) -> u64 {
        self.enters
    }

    /// How many times this ring found the CQ overflowing (`IORING_SQ_CQ_OVERFLOW`: the
    /// kernel held completions the full CQ could not take) and entered to flush them. With
    /// `IORING_FEAT_NODROP` nothing is lost: this counts backlog flushes, not lost
    /// completions ([`CompletionQueue::overflow`] counts those).
    pub fn overflow_flushes(&self) -> u64 {
        self.overflow_flushes
    }

    /// The submission queue.
    pub fn sq(&mut self) -> &mut SubmissionQueue {
        &mut self.sq
    }

    /// The completion queue.
    pub fn cq(&mut self) -> &mut CompletionQueue {
        &mut self.cq
    }

    /// Pushes one SQE (see [`SubmissionQueue::push`]); a full SQ is reported as
    /// `WouldBlock`: submit, then retry.
    ///
    /// # Safety
    ///
    /// As [`SubmissionQueue::push`].
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the SQ is full, `InvalidData` when the ring is corrupt.
    pub unsafe fn push(&mut self, sqe: &Sqe) -> io::Result<()> {
        // SAFETY: forwarded: the caller upholds push()'s contract.
        match unsafe { self.sq.push(sqe) } {
            Ok(()) => Ok(()),
            Err(PushError::Full) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "io_uring submission queue is full: submit, then push again",
            )),
            Err(PushError::Corrupt(c)) => Err(c.into()),
        }
    }

    /// Hands every ready completion to `f`, flushing the kernel's overflow backlog (and
    /// pending task work) with `GETEVENTS` whenever the SQ flags ask for it, until the CQ is
    /// empty and nothing waits in the kernel: no completion is lost to a full CQ.
    ///
    /// # Errors
    ///
    /// A corrupt ring, or the flushing `io_uring_enter` failing.
    pub fn reap(&mut self, mut f: impl FnMut(Cqe)) -> io::Result<u32> {
        let mut total = self.cq.drain(&mut f)?;
        while self.sq.cq_needs_flush() {
            self.note_overflow(self.sq.flags());
            self.enter_getevents_nowait()?;
            let n = self.cq.drain(&mut f)?;
            total += n;
            if n == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// Counts a flush of the kernel's CQ backlog when the SQ flags word announces one.
    fn note_overflow(&mut self, sq_flags: u32) {
        if sq_flags & sq_ring_flags::CQ_OVERFLOW != 0 {
            self.overflow_flushes += 1;
        }
    }

    /// The provided-buffer ring of group `bgid`, if one was set up.
    pub fn buf_ring(&mut self, bgid: u16) -> Option<&mut BufRing> {
        self.buf_rings.iter_mut().find(|b| b.group() == bgid)
    }
}

fn layout_of(p: &io_uring_params) -> RingLayout {
    let no_array = p.flags.bits() & setup_flags::NO_SQARRAY != 0;
    RingLayout {
        sq_entries: p.sq_entries,
        cq_entries: p.cq_entries,
        cqe_size: if p.flags.bits() & setup_flags::CQE32 != 0 {
            32
        } else {
            16
        },
        sq: SqOffsets {
            head: p.sq_off.head,
            tail: p.sq_off.tail,
            ring_mask: p.sq_off.ring_mask,
            ring_entries: p.sq_off.ring_entries,
            flags: p.sq_off.flags,
            dropped: p.sq_off.dropped,
            array: (!no_array).then_some(p.sq_off.array),
        },
        cq: CqOffsets {
            head: p.cq_off.head,
            tail: p.cq_off.tail,
            ring_mask: p.cq_off.ring_mask,
            ring_entries: p.cq_off.ring_entries,
            overflow: p.cq_off.overflow,
            cqes: p.cq_off.cqes,
            flags: (p.cq_off.flags != 0).then_some(p.cq_off.flags),
        },
    }
}

impl AsFd for Ring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Ring {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // The kernel must stop handing out provided buffers before their memory goes.
        // If the kernel refuses to let go, leak the memory rather than free it under it.
        for b in std::mem::take(&mut self.buf_rings) {
            if self.unregister_buf_ring(b.group()).is_err() {
                std::mem::forget(b);
            }
        }
        if let Some(index) = self.registered_index.take() {
            let _ = self.unregister_ring_fd(index);
        }
    }
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("fd", &self.fd.as_raw_fd())
            .field("entries", &self.entries)
            .field("cq_entries", &self.cq_entries)
            .field("setup_flags", &format_args!("{:#x}", self.setup_flags()))
            .field("features", &format_args!("{:#x}", self.features()))
            .finish_non_exhaustive()
    }
}
