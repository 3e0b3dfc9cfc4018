//! Provided-buffer rings (`IORING_REGISTER_PBUF_RING`): memory the kernel picks receive
//! buffers from, so that a read never names the caller's memory.
//!
//! The ring is an array of [`BufRingEntry`]; its tail is the `u16` at byte 14, aliasing
//! entry 0's reserved field, so entries are written field by field (never `resv`), then
//! the tail is release-stored (liburing `io_uring_buf_ring_add` / `_advance`).
//!
//! # Safety
//!
//! [`BufRingView`] writes entries at `tail & mask < entries` inside a region of
//! `entries * 16` bytes, 8-aligned, that its constructor's caller keeps alive. [`BufRing`]
//! owns two anonymous mappings (the ring and the buffers) and keeps them until it is
//! dropped, which the [`Ring`](super::Ring) does only after unregistering the group. A
//! buffer the kernel reported in a CQE is ours until recycled; we hand out slices of it
//! only then, and never of a buffer in the ring.
#![allow(unsafe_code)]

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use super::layout::{BufRingEntry, BUF_RING_TAIL_OFFSET};
use super::mmap::Mapping;

/// The application side of a buffer ring over some memory: add entries, publish the tail.
#[derive(Debug)]
pub struct BufRingView {
    base: NonNull<u8>,
    mask: u16,
    tail: u16,
}

// SAFETY: the view is the unique writer of its ring (constructor contract); moving it to
// another thread moves that role, and the tail word is written atomically.
unsafe impl Send for BufRingView {}

impl BufRingView {
    /// A view over `entries` entries at `base`, starting at tail 0.
    ///
    /// # Safety
    ///
    /// `base` must point to `entries * 16` writable bytes, 8-aligned, valid for the view's
    /// life; `entries` must be a power of two. Only this view (and the kernel, reading)
    /// may touch them.
    pub unsafe fn new(base: NonNull<u8>, entries: u16) -> BufRingView {
        debug_assert!(entries.is_power_of_two());
        BufRingView {
            base,
            mask: entries.wrapping_sub(1),
            tail: 0,
        }
    }

    /// Writes an entry at the local tail; it is visible once [`publish`](Self::publish)ed.
    pub fn push(&mut self, addr: u64, len: u32, bid: u16) {
        let slot = usize::from(self.tail & self.mask);
        let e = self
            .base
            .as_ptr()
            .wrapping_add(slot * std::mem::size_of::<BufRingEntry>())
            .cast::<BufRingEntry>();
        // SAFETY: slot < entries, inside the region (constructor contract). Field writes
        // only: `resv` of entry 0 is the shared tail word and must not be written here.
        unsafe {
            (&raw mut (*e).addr).write(addr);
            (&raw mut (*e).len).write(len);
            (&raw mut (*e).bid).write(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes every pushed entry visible to the kernel.
    pub fn publish(&self) {
        // SAFETY: byte 14 of the region is the 2-aligned tail word (the region is
        // 8-aligned and at least one entry long); the kernel only reads it.
        let tail = unsafe {
            AtomicU16::from_ptr(self.base.as_ptr().add(BUF_RING_TAIL_OFFSET).cast::<u16>())
        };
        // Release: the entry writes above must be visible before the kernel sees the new
        // tail (liburing `io_uring_buf_ring_advance`: io_uring_smp_store_release).
        tail.store(self.tail, Ordering::Release);
    }

    /// The local tail.
    pub fn tail(&self) -> u16 {
        self.tail
    }
}

/// A registered buffer ring and the buffers it lends to the kernel.
///
/// Every buffer starts in the ring. A completion with
/// [`Cqe::buffer_id`](super::Cqe::buffer_id) hands one to the application: read it with
/// [`take`](Self::take), give it back with [`recycle`](Self::recycle).
#[derive(Debug)]
pub struct BufRing {
    view: BufRingView,
    bgid: u16,
    entries: u16,
    buf_len: u32,
    in_ring: Vec<bool>,
    bufs: Mapping,
    _ring: Mapping,
}

impl BufRing {
    pub(crate) fn new(bgid: u16, entries: u16, buf_len: u32) -> io::Result<BufRing> {
        if !entries.is_power_of_two() || entries > 1 << 15 || buf_len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("io_uring: a buffer ring needs a power-of-two count <= 32768 and non-empty buffers, got {entries} x {buf_len}"),
            ));
        }
        let ring = Mapping::anonymous(
            usize::from(entries) * std::mem::size_of::<BufRingEntry>(),
            "buffer ring",
        )?;
        let total = usize::from(entries)
            .checked_mul(buf_len as usize)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "io_uring: buffer ring too large",
                )
            })?;
        let bufs = Mapping::anonymous(total, "provided buffers")?;
        // SAFETY: the ring mapping holds exactly `entries` entries, page-aligned, and lives
        // in `self` as long as the view.
        let view = unsafe { BufRingView::new(ring.ptr(), entries) };
        Ok(BufRing {
            view,
            bgid,
            entries,
            buf_len,
            in_ring: vec![false; usize::from(entries)],
            bufs,
            _ring: ring,
        })
    }

    /// A buffer ring with every buffer in it, registered with no kernel: for harnesses
    /// (fuzz targets, tests) that play the kernel's side of completions by hand.
    ///
    /// # Errors
    ///
    /// As a registered ring's: a bad count or size, or the mappings' errors.
    ///
    /// ```
    /// let mut br = hiver_sys::uring::BufRing::unregistered(0, 4, 64)?;
    /// assert_eq!(br.available(), 4);
    /// assert_eq!(br.take(2, 10)?.len(), 10);
    /// assert!(br.take(2, 10).is_err(), "a buffer is lent once");
    /// br.recycle(2)?;
    /// assert_eq!(br.available(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unregistered(bgid: u16, entries: u16, buf_len: u32) -> io::Result<BufRing> {
        let mut ring = BufRing::new(bgid, entries, buf_len)?;
        ring.provide_all();
        Ok(ring)
    }

    pub(crate) fn ring_addr(&self) -> *mut u8 {
        self._ring.ptr().as_ptr()
    }

    pub(crate) fn provide_all(&mut self) {
        for bid in 0..self.entries {
            self.add(bid);
        }
        self.view.publish();
    }

    fn add(&mut self, bid: u16) {
        let addr = self.bufs.ptr().as_ptr() as u64 + u64::from(bid) * u64::from(self.buf_len);
        self.view.push(addr, self.buf_len, bid);
        self.in_ring[usize::from(bid)] = true;
    }

    /// The buffer group id.
    pub fn group(&self) -> u16 {
        self.bgid
    }

    /// Size of each buffer.
    pub fn buf_len(&self) -> u32 {
        self.buf_len
    }

    /// Buffers currently in the ring, available to the kernel.
    pub fn available(&self) -> usize {
        self.in_ring.iter().filter(|&&b| b).count()
    }

    /// Takes buffer `bid`, which a completion reported holding `len` bytes, and returns
    /// those bytes. The buffer stays the application's until [`recycle`](Self::recycle)d.
    ///
    /// # Errors
    ///
    /// `InvalidData` when `bid` is out of range, already taken, or `len` exceeds the buffer
    /// (a completion that does not match what was lent).
    pub fn take(&mut self, bid: u16, len: u32) -> io::Result<&[u8]> {
        let i = usize::from(bid);
        if i >= self.in_ring.len() || !self.in_ring[i] || len > self.buf_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("io_uring: completion names buffer {bid} of group {} with {len} bytes, which was not lent", self.bgid),
            ));
        }
        self.in_ring[i] = false;
        let start = i * self.buf_len as usize;
        // The kernel reported the buffer used and no longer touches it (it is out of the
        // ring until recycled); the slice borrows `self`, so recycle() cannot run meanwhile.
        let base = self.bufs.ptr().as_ptr();
        // SAFETY: the buffer lies inside the mapping and nobody writes it (above).
        let bytes = unsafe { std::slice::from_raw_parts(base.add(start), len as usize) };
        Ok(bytes)
    }

    /// Hands buffer `bid` back to the kernel.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `bid` is out of range or already in the ring (adding it twice
    /// would let the kernel fill it twice at once).
    pub fn recycle(&mut self, bid: u16) -> io::Result<()> {
        let i = usize::from(bid);
        if i >= self.in_ring.len() || self.in_ring[i] {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "io_uring: buffer {bid} of group {} is not out of the ring",
                    self.bgid
                ),
            ));
        }
        self.add(bid);
        self.view.publish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uring::HeapRegion;

    #[test]
    fn entries_never_touch_the_tail_word() {
        let mem = HeapRegion::new(4 * 16);
        // SAFETY: the region holds 4 entries, is 8-aligned and lives for the test.
        let mut v = unsafe { BufRingView::new(mem.base(), 4) };
        for round in 0..3u16 {
            for bid in 0..4u16 {
                v.push(0x1000 * u64::from(bid), 64, bid);
                v.publish();
                let tail = u16::from_ne_bytes([mem_byte(&mem, 14), mem_byte(&mem, 15)]);
                assert_eq!(
                    tail,
                    round * 4 + bid + 1,
                    "the tail word holds the published tail"
                );
            }
        }
        assert_eq!(v.tail(), 12);
    }

    fn mem_byte(mem: &HeapRegion, i: usize) -> u8 {
        // SAFETY: i < the region's length; no view is writing concurrently.
        unsafe { *mem.base().as_ptr().add(i) }
    }
}
