//! Where the rings live: the layout the kernel reports at setup, checked before any word
//! of it is touched.
//!
//! The SQ and CQ logic ([`SubmissionQueue`](super::SubmissionQueue),
//! [`CompletionQueue`](super::CompletionQueue)) takes a region base and a [`RingLayout`],
//! never a kernel handle, so the same code runs over the kernel's mapping and over a plain
//! buffer standing in for it (the tests, miri and the fuzz targets do the latter).
//!
//! # Safety
//!
//! [`word`] hands out a `&AtomicU32` for a byte offset inside a region. It relies on the
//! offset having been checked by [`RingLayout::validate`] (4-aligned, inside the region) and
//! on the region outliving the view that holds it.
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;

use super::layout::{Cqe, Sqe};

/// Byte offsets of the SQ ring's words inside the SQ region (`struct io_sqring_offsets`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SqOffsets {
    /// Consumer index, written by the kernel.
    pub head: u32,
    /// Producer index, written by the application.
    pub tail: u32,
    /// `entries - 1`.
    pub ring_mask: u32,
    /// Number of entries.
    pub ring_entries: u32,
    /// `IORING_SQ_*` flags, written by the kernel.
    pub flags: u32,
    /// SQEs the kernel dropped as invalid.
    pub dropped: u32,
    /// The index array, or `None` with `IORING_SETUP_NO_SQARRAY`.
    pub array: Option<u32>,
}

/// Byte offsets of the CQ ring's words inside the CQ region (`struct io_cqring_offsets`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CqOffsets {
    /// Consumer index, written by the application.
    pub head: u32,
    /// Producer index, written by the kernel.
    pub tail: u32,
    /// `entries - 1`.
    pub ring_mask: u32,
    /// Number of entries.
    pub ring_entries: u32,
    /// Completions the kernel really dropped.
    pub overflow: u32,
    /// Start of the CQE array.
    pub cqes: u32,
    /// `IORING_CQ_*` flags, or `None` on kernels without them.
    pub flags: Option<u32>,
}

/// The shape of a ring: entry counts, CQE size and where each shared word lives.
///
/// ```
/// use hiver_sys::uring::RingLayout;
/// let layout = RingLayout::typical(8);
/// assert_eq!(layout.cq_entries, 16);
/// layout.validate(layout.sq_ring_len(), layout.cq_ring_len(), layout.sqes_len()).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingLayout {
    /// SQ entries (a power of two).
    pub sq_entries: u32,
    /// CQ entries (a power of two, at least `sq_entries`).
    pub cq_entries: u32,
    /// Size of one CQE: 16, or 32 with `IORING_SETUP_CQE32`.
    pub cqe_size: u32,
    /// SQ ring offsets.
    pub sq: SqOffsets,
    /// CQ ring offsets.
    pub cq: CqOffsets,
}

/// A layout or a ring word that cannot be trusted: reported, never acted upon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutError(pub(crate) String);

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "io_uring ring layout rejected: {}", self.0)
    }
}

impl std::error::Error for LayoutError {}

impl From<LayoutError> for io::Error {
    fn from(e: LayoutError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), LayoutError> {
    if ok {
        Ok(())
    } else {
        Err(LayoutError(what()))
    }
}

fn check_word(name: &str, off: u32, region_len: usize) -> Result<(), LayoutError> {
    check(off % 4 == 0, || {
        format!("{name} offset {off} is not 4-aligned")
    })?;
    check(off as usize + 4 <= region_len, || {
        format!("{name} offset {off} is outside its {region_len}-byte region")
    })
}

impl RingLayout {
    /// The layout Linux 6.x reports for `entries` SQ entries (CQ twice as large), with the
    /// index array: what the tests and fuzz seeds start from.
    pub fn typical(entries: u32) -> RingLayout {
        let array = 64 + entries.max(1) * 2 * 16;
        RingLayout {
            sq_entries: entries,
            cq_entries: entries.saturating_mul(2),
            cqe_size: 16,
            sq: SqOffsets {
                head: 0,
                tail: 4,
                ring_mask: 16,
                ring_entries: 24,
                flags: 36,
                dropped: 32,
                array: Some(array),
            },
            cq: CqOffsets {
                head: 8,
                tail: 12,
                ring_mask: 20,
                ring_entries: 28,
                overflow: 44,
                cqes: 64,
                flags: Some(40),
            },
        }
    }

    /// Bytes the SQ ring spans: up to the end of the index array (or of the last word).
    pub fn sq_ring_len(&self) -> usize {
        let words = [
            self.sq.head,
            self.sq.tail,
            self.sq.ring_mask,
            self.sq.ring_entries,
        ]
        .into_iter()
        .chain([self.sq.flags, self.sq.dropped])
        .map(|o| o as usize + 4)
        .max()
        .unwrap_or(0);
        match self.sq.array {
            Some(a) => words.max(a as usize + self.sq_entries as usize * 4),
            None => words,
        }
    }

    /// Bytes the CQ ring spans: up to the end of the CQE array.
    pub fn cq_ring_len(&self) -> usize {
        self.cq.cqes as usize + self.cq_entries as usize * self.cqe_size as usize
    }

    /// Bytes of the SQE array.
    pub fn sqes_len(&self) -> usize {
        self.sq_entries as usize * std::mem::size_of::<Sqe>()
    }

    /// Checks that every word and array fits its region and is aligned, and that the entry
    /// counts are sane, before any view is built on the layout.
    ///
    /// # Errors
    ///
    /// A [`LayoutError`] naming the first thing that does not hold.
    pub fn validate(
        &self,
        sq_len: usize,
        cq_len: usize,
        sqes_len: usize,
    ) -> Result<(), LayoutError> {
        check(self.cq_entries >= self.sq_entries, || {
            format!(
                "cq_entries {} < sq_entries {}",
                self.cq_entries, self.sq_entries
            )
        })?;
        self.validate_sq(sq_len, sqes_len)?;
        self.validate_cq(cq_len)
    }

    /// The SQ half of [`validate`](Self::validate).
    ///
    /// # Errors
    ///
    /// A [`LayoutError`] naming the first thing that does not hold.
    pub fn validate_sq(&self, sq_len: usize, sqes_len: usize) -> Result<(), LayoutError> {
        let n = self.sq_entries;
        check(n.is_power_of_two(), || {
            format!("sq_entries = {n} is not a power of two")
        })?;
        let sq = &self.sq;
        for (name, off) in [
            ("sq.head", sq.head),
            ("sq.tail", sq.tail),
            ("sq.ring_mask", sq.ring_mask),
            ("sq.ring_entries", sq.ring_entries),
            ("sq.flags", sq.flags),
            ("sq.dropped", sq.dropped),
        ] {
            check_word(name, off, sq_len)?;
        }
        if let Some(array) = sq.array {
            check_word("sq.array", array, sq_len)?;
            let end = u64::from(array) + u64::from(n) * 4;
            check(end <= sq_len as u64, || {
                format!("SQ index array ends at {end}, past {sq_len}")
            })?;
        }
        let need = u64::from(n) * std::mem::size_of::<Sqe>() as u64;
        check(need <= sqes_len as u64, || {
            format!("SQE array needs {need} bytes, has {sqes_len}")
        })
    }

    /// The CQ half of [`validate`](Self::validate).
    ///
    /// # Errors
    ///
    /// A [`LayoutError`] naming the first thing that does not hold.
    pub fn validate_cq(&self, cq_len: usize) -> Result<(), LayoutError> {
        let n = self.cq_entries;
        check(n.is_power_of_two(), || {
            format!("cq_entries = {n} is not a power of two")
        })?;
        check(self.cqe_size == 16 || self.cqe_size == 32, || {
            format!("CQE size {} is neither 16 nor 32", self.cqe_size)
        })?;
        let cq = &self.cq;
        for (name, off) in [
            ("cq.head", cq.head),
            ("cq.tail", cq.tail),
            ("cq.ring_mask", cq.ring_mask),
            ("cq.ring_entries", cq.ring_entries),
            ("cq.overflow", cq.overflow),
        ] {
            check_word(name, off, cq_len)?;
        }
        if let Some(flags) = cq.flags {
            check_word("cq.flags", flags, cq_len)?;
        }
        check(cq.cqes % 8 == 0, || {
            format!("CQE array offset {} is not 8-aligned", cq.cqes)
        })?;
        let end = u64::from(cq.cqes) + u64::from(n) * u64::from(self.cqe_size);
        check(end <= cq_len as u64, || {
            format!("CQE array ends at {end}, past {cq_len}")
        })
    }
}

/// The atomic word at byte `off` of the region starting at `base`.
///
/// # Safety
///
/// `off` must have passed [`RingLayout::validate`] for this region (4-aligned, inside it),
/// `base` must be 4-aligned, and the region must stay mapped for `'a`. Every access to the
/// word, by this process or the kernel, must be atomic.
pub(crate) unsafe fn word<'a>(base: NonNull<u8>, off: u32) -> &'a AtomicU32 {
    // SAFETY: the caller guarantees the offset is inside the live region and aligned, so
    // the pointer is valid for an AtomicU32 for 'a, and all accesses to it are atomic.
    unsafe { AtomicU32::from_ptr(base.as_ptr().add(off as usize).cast::<u32>()) }
}

/// Plain memory standing in for the kernel's three mappings, 8-aligned.
///
/// Used by the tests, miri and the fuzz targets: the same queue code runs over it. The
/// memory is allocated once and only ever reached through the one raw pointer kept here, so
/// the pointers handed out stay valid together (no reborrow invalidates another).
pub struct HeapRegion {
    ptr: NonNull<u64>,
    words: usize,
}

// SAFETY: the region uniquely owns its allocation; it is plain memory.
unsafe impl Send for HeapRegion {}

impl HeapRegion {
    /// A zeroed region of at least `len` bytes.
    pub fn new(len: usize) -> HeapRegion {
        let words = len.div_ceil(8).max(1);
        let boxed: Box<[u64]> = vec![0u64; words].into_boxed_slice();
        let ptr = NonNull::from(Box::leak(boxed)).cast::<u64>();
        HeapRegion { ptr, words }
    }

    /// The region's length in bytes.
    pub fn len(&self) -> usize {
        self.words * 8
    }

    /// Whether the region is empty (never: it has at least one word).
    pub fn is_empty(&self) -> bool {
        self.words == 0
    }

    /// The region's base.
    pub fn base(&self) -> NonNull<u8> {
        self.ptr.cast::<u8>()
    }

    /// The region as SQEs.
    pub fn as_sqes(&self) -> NonNull<Sqe> {
        self.ptr.cast::<Sqe>()
    }

    /// The region as CQEs starting at byte `off` (8-aligned).
    pub fn cqe_ptr(&self, off: usize) -> *mut Cqe {
        self.base().as_ptr().wrapping_add(off).cast::<Cqe>()
    }
}

impl Drop for HeapRegion {
    fn drop(&mut self) {
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.words);
        // SAFETY: `ptr`/`words` describe the boxed slice leaked in `new`, freed only here.
        drop(unsafe { Box::from_raw(slice) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_layout_validates() {
        for entries in [1, 2, 8, 4096] {
            let l = RingLayout::typical(entries);
            l.validate(l.sq_ring_len(), l.cq_ring_len(), l.sqes_len())
                .unwrap();
        }
    }

    #[test]
    fn rejects_bad_layouts() {
        let good = RingLayout::typical(8);
        let lens = (good.sq_ring_len(), good.cq_ring_len(), good.sqes_len());
        let mut l = good;
        l.sq_entries = 6;
        assert!(l
            .validate(lens.0, lens.1, lens.2)
            .unwrap_err()
            .0
            .contains("power of two"));
        let mut l = good;
        l.sq.tail = 2;
        assert!(l
            .validate(lens.0, lens.1, lens.2)
            .unwrap_err()
            .0
            .contains("4-aligned"));
        let mut l = good;
        l.cq.cqes = 1 << 20;
        assert!(l.validate(lens.0, lens.1, lens.2).is_err());
        let mut l = good;
        l.cq_entries = 4;
        assert!(l
            .validate(lens.0, lens.1, lens.2)
            .unwrap_err()
            .0
            .contains("cq_entries"));
        assert!(good.validate(lens.0, lens.1, lens.2 - 64).is_err());
        assert!(good.validate(lens.0 - 4, lens.1, lens.2).is_err());
        let mut l = good;
        l.cqe_size = 24;
        assert!(l.validate(lens.0, lens.1, lens.2).is_err());
    }
}
