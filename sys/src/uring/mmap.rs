//! The only `mmap`/`munmap` calls of the crate: ring mappings and anonymous pages.
//!
//! # Safety
//!
//! A [`Mapping`] owns the address range `ptr..ptr+len` that one successful `mmap` returned
//! and unmaps exactly that range once, on drop. Whoever builds views on a mapping must drop
//! them first: the [`Ring`](super::Ring) orders its fields so that it does.
#![allow(unsafe_code)]
#![allow(clippy::disallowed_methods)] // this module is where mmap and munmap are allowed.

use std::io;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use rustix::mm::{self, MapFlags, ProtFlags};

/// A region mapped into this process, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a Mapping is the unique owner of its address range; the range itself is plain
// memory that any thread may access (through the atomic views built on it).
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of the io_uring instance `fd` at `offset` (`IORING_OFF_*`), shared
    /// and populated, and excludes it from children after `fork` (liburing
    /// `io_uring_ring_dontfork`).
    pub(crate) fn ring(
        fd: BorrowedFd<'_>,
        len: usize,
        offset: u64,
        what: &str,
    ) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping chosen by the kernel (null hint) cannot alias any Rust
        // object; `fd` is a live io_uring fd and `offset` one of its documented regions.
        let ptr = unsafe {
            mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED | MapFlags::POPULATE,
                fd,
                offset,
            )
        }
        .map_err(|e| {
            step_error(
                e.into(),
                &format!("mmap of the {what} ({len} bytes at {offset:#x})"),
            )
        })?;
        let map = Mapping::from_raw(ptr, len);
        map.dont_fork()?;
        Ok(map)
    }

    /// Maps `len` zeroed, page-aligned bytes of anonymous private memory.
    pub(crate) fn anonymous(len: usize, what: &str) -> io::Result<Mapping> {
        // SAFETY: a fresh anonymous mapping chosen by the kernel aliases nothing.
        let ptr = unsafe {
            mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }
        .map_err(|e| {
            step_error(
                e.into(),
                &format!("anonymous mmap of {len} bytes for the {what}"),
            )
        })?;
        let map = Mapping::from_raw(ptr, len);
        map.dont_fork()?;
        Ok(map)
    }

    fn from_raw(ptr: *mut std::ffi::c_void, len: usize) -> Mapping {
        tsan::mapped();
        Mapping {
            // mmap never returns null on success (MAP_FIXED is not used).
            ptr: NonNull::new(ptr.cast::<u8>()).unwrap_or(NonNull::dangling()),
            len,
        }
    }

    fn dont_fork(&self) -> io::Result<()> {
        // SAFETY: the range is exactly one live mapping of ours; madvise changes no byte.
        unsafe {
            mm::madvise(
                self.ptr.as_ptr().cast(),
                self.len,
                mm::Advice::LinuxDontFork,
            )
        }
        .map_err(|e| step_error(e.into(), "madvise(MADV_DONTFORK) of a ring mapping"))
    }

    /// The first byte.
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        tsan::unmapping();
        // SAFETY: the range is the one mmap returned, unmapped only here, and every view
        // into it was dropped before (owners order their fields so).
        let r = unsafe { mm::munmap(self.ptr.as_ptr().cast(), self.len) };
        debug_assert!(r.is_ok(), "munmap of a ring mapping failed: {r:?}");
    }
}

/// ThreadSanitizer annotations for the raw `mmap`/`munmap` syscalls.
///
/// TSan learns about mappings through its libc interceptors, which rustix's raw syscalls
/// bypass: when a ring is unmapped and a later ring is mapped at the same address by
/// another thread, TSan still holds the old ring's writes in its shadow memory and reports
/// the new owner's first SQE write as a race. The kernel orders the two (the `munmap`
/// returned before the `mmap` could hand the range out again); these calls tell TSan so,
/// through one process-wide synchronisation address. Built only with `--cfg hiver_tsan`
/// (the `.ci/run tsan` stage); elsewhere they are empty.
mod tsan {
    #[cfg(hiver_tsan)]
    static UNMAP_SYNC: u8 = 0;

    #[cfg(hiver_tsan)]
    unsafe extern "C" {
        fn __tsan_acquire(addr: *mut std::ffi::c_void);
        fn __tsan_release(addr: *mut std::ffi::c_void);
    }

    /// Called before `munmap`: everything this thread wrote into the mapping happens
    /// before any later mapping of the range.
    pub(super) fn unmapping() {
        #[cfg(hiver_tsan)]
        // SAFETY: the TSan runtime is linked in whenever `hiver_tsan` is set (the CI stage
        // sets it only with `-Zsanitizer=thread`); the address is a live static that TSan
        // uses as a key and never dereferences as data.
        unsafe {
            __tsan_release(std::ptr::addr_of!(UNMAP_SYNC).cast_mut().cast())
        };
    }

    /// Called after `mmap` succeeded: the new range starts after every earlier unmap.
    pub(super) fn mapped() {
        #[cfg(hiver_tsan)]
        // SAFETY: as in `unmapping`.
        unsafe {
            __tsan_acquire(std::ptr::addr_of!(UNMAP_SYNC).cast_mut().cast())
        };
    }
}

/// Wraps an error with the setup step that failed, keeping its kind and errno visible.
pub(crate) fn step_error(e: io::Error, step: &str) -> io::Error {
    io::Error::new(e.kind(), format!("io_uring: {step} failed: {e}"))
}
