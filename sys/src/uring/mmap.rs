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
        // SAFETY: the range is the one mmap returned, unmapped only here, and every view
        // into it was dropped before (owners order their fields so).
        let r = unsafe { mm::munmap(self.ptr.as_ptr().cast(), self.len) };
        debug_assert!(r.is_ok(), "munmap of a ring mapping failed: {r:?}");
    }
}

/// Wraps an error with the setup step that failed, keeping its kind and errno visible.
pub(crate) fn step_error(e: io::Error, step: &str) -> io::Error {
    io::Error::new(e.kind(), format!("io_uring: {step} failed: {e}"))
}
