//! The fence allocator: every allocation gets pages of its own, and a freed allocation's
//! pages are made `PROT_NONE` (and their memory given back with `MADV_DONTNEED`), never
//! reused and never unmapped. A kernel write into a driver buffer after it was freed then
//! fails (`-EFAULT` in the operation's CQE) instead of landing in whatever took its place.
//!
//! The pages come from one big reservation (mapped `MAP_NORESERVE`, nothing committed until
//! touched), handed out by a bump pointer: consecutive freed allocations merge into one
//! `PROT_NONE` mapping, so the process's mapping count stays near twice the live
//! allocations, far below `vm.max_map_count`. The address space only grows: keep the test
//! bounded.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The allocator (install it as the `#[global_allocator]`).
pub(crate) struct Fence;

const PAGE: usize = 4096;
/// Address space reserved up front (halved until the kernel grants it).
const RESERVE: usize = 1 << 40;

/// 0: not mapped yet; 1: being mapped; else the reservation's start.
static BASE: AtomicUsize = AtomicUsize::new(0);
static SIZE: AtomicUsize = AtomicUsize::new(0);
/// The next free offset in the reservation.
static NEXT: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static FREES: AtomicU64 = AtomicU64::new(0);
/// `mprotect`/`madvise` calls that failed: a free that is not fenced.
static FAILURES: AtomicU64 = AtomicU64::new(0);

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

fn base() -> usize {
    let b = BASE.load(Ordering::Acquire);
    if b > 1 {
        return b;
    }
    if BASE
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Acquire)
        .is_ok()
    {
        let mut size = RESERVE;
        let p = loop {
            // SAFETY: a fresh anonymous mapping, touching nothing of ours.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    size,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                break p as usize;
            }
            size /= 2;
            if size < 1 << 30 {
                // No allocation can be served: nothing else to do this early.
                std::process::abort();
            }
        };
        SIZE.store(size, Ordering::Relaxed);
        BASE.store(p, Ordering::Release);
        return p;
    }
    loop {
        let b = BASE.load(Ordering::Acquire);
        if b > 1 {
            return b;
        }
        std::hint::spin_loop();
    }
}

// SAFETY: every allocation is a fresh, never reused range of the reservation, aligned as
// asked (page-aligned, or more), at least `size` bytes long; dealloc only protects it.
unsafe impl GlobalAlloc for Fence {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = base();
        let align = layout.align().max(PAGE);
        let size = round_up(layout.size().max(1), PAGE);
        let span = size + (align - PAGE);
        let off = NEXT.fetch_add(span, Ordering::Relaxed);
        if off
            .checked_add(span)
            .is_none_or(|end| end > SIZE.load(Ordering::Relaxed))
        {
            return std::ptr::null_mut();
        }
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        round_up(base + off, align) as *mut u8
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Never-used pages of an anonymous mapping are zero.
        // SAFETY: forwarded.
        unsafe { self.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        FREES.fetch_add(1, Ordering::Relaxed);
        let len = round_up(layout.size().max(1), PAGE);
        // Protect first, then drop the contents: a write between the two would otherwise
        // bring a page back silently.
        // SAFETY: these pages are this allocation's alone and nobody may use them now.
        let rc = unsafe { libc::mprotect(ptr.cast(), len, libc::PROT_NONE) };
        if rc != 0 {
            FAILURES.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // SAFETY: as above; the range stays mapped (PROT_NONE), only its memory goes.
        if unsafe { libc::madvise(ptr.cast(), len, libc::MADV_DONTNEED) } != 0 {
            FAILURES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the allocator did so far.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stats {
    pub(crate) allocs: u64,
    pub(crate) frees: u64,
    /// Frees that could not be fenced (`mprotect` or `madvise` failed).
    pub(crate) failures: u64,
    /// Address space handed out, in MiB.
    pub(crate) used_mib: usize,
}

pub(crate) fn stats() -> Stats {
    Stats {
        allocs: ALLOCS.load(Ordering::Relaxed),
        frees: FREES.load(Ordering::Relaxed),
        failures: FAILURES.load(Ordering::Relaxed),
        used_mib: NEXT.load(Ordering::Relaxed) >> 20,
    }
}

/// Whether `addr` lies in the fence's reservation (an allocation it served).
pub(crate) fn serves(addr: usize) -> bool {
    let base = BASE.load(Ordering::Acquire);
    base > 1 && addr >= base && addr < base + SIZE.load(Ordering::Relaxed)
}
