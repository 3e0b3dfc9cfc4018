//! The file operations submitted to the ring: open, read, write, fsync, statx, ftruncate,
//! and the path operations (unlink, rename, mkdir). Each keeps in its cell what the kernel
//! reads or writes (path strings, the data buffer, the statx buffer) and, for an operation
//! on an open file, a reference that keeps the file's descriptor open until the final CQE
//! ([`Keep`]): a descriptor is never closed, and its number reused, under an operation
//! still queued or running.
//!
//! # Safety
//!
//! As in `ops.rs`: each SQE is built from pointers into the payload of a cell that the
//! in-flight table keeps until the final CQE, and the payload sits inside an `Arc`, so the
//! pointers stay valid wherever the handle goes. A read names the spare capacity of its
//! payload's buffer, which nothing else touches until the completion says how many bytes
//! the kernel wrote. An open's result is a descriptor that exactly one side owns: the
//! handle once it took it ([`take_fd`]), or the payload's `release` when nobody will.
#![allow(unsafe_code)]

use std::any::Any;
use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use hiver_sys::uring::{at_flags, fsync_flags, op as sqe, statx_mask, Statx};

use super::op::{Completion, Payload};
use super::ops::{result, UringOp, UringPayload};
#[cfg(debug_assertions)]
use super::sanitize::Regions;
use super::UringDriver;

/// What keeps a file's descriptor open while an operation on it is in flight.
pub(crate) type Keep = Arc<dyn Any + Send + Sync>;

/// A read or a write on a file: its buffer, and the file kept open.
pub(crate) struct Rw {
    buf: Vec<u8>,
    reading: bool,
    _keep: Keep,
}

impl Payload for Rw {
    fn release(&mut self, _: Completion) {}
}
impl UringPayload for Rw {
    #[cfg(debug_assertions)]
    fn regions(&self, regions: &mut Regions) {
        regions.add_vec(&self.buf);
    }
}

impl Drop for Rw {
    fn drop(&mut self) {
        super::buf::send_bufs::give(std::mem::take(&mut self.buf));
    }
}

impl Rw {
    /// After the completion `r`: the buffer, with the bytes a read got now part of it
    /// (an error instead if the kernel claimed more than the buffer's room).
    pub(crate) fn finish(&mut self, r: io::Result<usize>) -> (io::Result<usize>, Vec<u8>) {
        let r = match r {
            Ok(n) if self.reading => super::ops::filled(&mut self.buf, n).map(|()| n),
            r => r,
        };
        (r, std::mem::take(&mut self.buf))
    }
}

/// Reads at most `len` bytes of `fd` at `offset` (`u64::MAX`: at the file position, which
/// then moves) into `buf`'s spare capacity.
pub(crate) fn read(
    driver: &mut UringDriver,
    fd: RawFd,
    keep: Keep,
    buf: Vec<u8>,
    len: usize,
    offset: u64,
) -> io::Result<UringOp<Rw>> {
    let payload = Rw {
        buf,
        reading: true,
        _keep: keep,
    };
    // SAFETY: the SQE names the spare capacity of the payload's buffer (at most `len` of
    // it).
    unsafe {
        UringOp::start(driver, payload, None, |p| {
            let spare = p.buf.spare_capacity_mut();
            let len = len.min(spare.len());
            sqe::read(fd, spare.as_mut_ptr().cast(), len, offset)
        })
    }
}

/// Writes all of `buf` to `fd` at `offset` (`u64::MAX`: at the file position). Once
/// submitted it is not cancelled: dropping the handle leaves it running.
pub(crate) fn write(
    driver: &mut UringDriver,
    fd: RawFd,
    keep: Keep,
    buf: Vec<u8>,
    offset: u64,
) -> io::Result<UringOp<Rw>> {
    let payload = Rw {
        buf,
        reading: false,
        _keep: keep,
    };
    // SAFETY: the SQE names the payload's buffer.
    let mut op = unsafe {
        UringOp::start(driver, payload, None, |p| {
            sqe::write(fd, p.buf.as_ptr(), p.buf.len(), offset)
        })
    }?;
    op.keep_running();
    Ok(op)
}

/// An operation on paths: open, unlink, mkdir, rename.
pub(crate) struct Paths {
    path: CString,
    to: Option<CString>,
    /// An open whose descriptor nobody has taken yet.
    opens: bool,
}

impl Payload for Paths {
    fn release(&mut self, done: Completion) {
        if let (true, Ok(fd)) = (self.opens, result(done)) {
            // SAFETY: the open returned this descriptor for us and the handle never took
            // it (`opens` is still set): closing it here is its only use.
            drop(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
    }
}
impl UringPayload for Paths {
    #[cfg(debug_assertions)]
    fn regions(&self, regions: &mut Regions) {
        for s in std::iter::once(&self.path).chain(&self.to) {
            let bytes = s.as_bytes_with_nul();
            regions.add(bytes.as_ptr(), bytes.len());
        }
    }
}

fn paths(path: CString, to: Option<CString>, opens: bool) -> Paths {
    Paths { path, to, opens }
}

/// Opens `path` with `O_*` `flags` and permission bits `mode` (for a file it creates).
pub(crate) fn open(
    driver: &mut UringDriver,
    path: CString,
    flags: u32,
    mode: u32,
) -> io::Result<UringOp<Paths>> {
    // SAFETY: the SQE names the path inside the payload.
    unsafe {
        UringOp::start(driver, paths(path, None, true), None, |p| {
            sqe::openat(at_flags::FDCWD, p.path.as_ptr(), flags, mode)
        })
    }
}

/// The descriptor an open returned, now the caller's.
pub(crate) fn take_fd(op: &UringOp<Paths>, done: Completion) -> io::Result<OwnedFd> {
    let fd = result(done)?;
    op.with_payload(|p| p.opens = false);
    // SAFETY: the kernel opened this descriptor for this operation, and `opens` is now
    // clear, so `release` will not close it: the OwnedFd is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Removes the file `path` (`dir`: the empty directory).
pub(crate) fn unlink(
    driver: &mut UringDriver,
    path: CString,
    dir: bool,
) -> io::Result<UringOp<Paths>> {
    let flags = if dir { at_flags::REMOVEDIR } else { 0 };
    // SAFETY: the SQE names the path inside the payload.
    unsafe {
        UringOp::start(driver, paths(path, None, false), None, |p| {
            sqe::unlinkat(at_flags::FDCWD, p.path.as_ptr(), flags)
        })
    }
}

/// Creates the directory `path` with permission bits `mode`.
pub(crate) fn mkdir(
    driver: &mut UringDriver,
    path: CString,
    mode: u32,
) -> io::Result<UringOp<Paths>> {
    // SAFETY: the SQE names the path inside the payload.
    unsafe {
        UringOp::start(driver, paths(path, None, false), None, |p| {
            sqe::mkdirat(at_flags::FDCWD, p.path.as_ptr(), mode)
        })
    }
}

/// Renames `from` to `to`, replacing `to` if it exists.
pub(crate) fn rename(
    driver: &mut UringDriver,
    from: CString,
    to: CString,
) -> io::Result<UringOp<Paths>> {
    // SAFETY: the SQE names both paths inside the payload.
    unsafe {
        UringOp::start(driver, paths(from, Some(to), false), None, |p| {
            let to = p.to.as_deref().unwrap_or(c"");
            sqe::renameat(
                at_flags::FDCWD,
                p.path.as_ptr(),
                at_flags::FDCWD,
                to.as_ptr(),
                0,
            )
        })
    }
}

/// A statx: its path and the buffer the kernel fills.
pub(crate) struct Stat {
    path: CString,
    buf: Statx,
    _keep: Option<Keep>,
}

impl Payload for Stat {
    fn release(&mut self, _: Completion) {}
}
impl UringPayload for Stat {
    #[cfg(debug_assertions)]
    fn regions(&self, regions: &mut Regions) {
        let bytes = self.path.as_bytes_with_nul();
        regions.add(bytes.as_ptr(), bytes.len());
    }
}

impl Stat {
    /// After a successful completion: what the kernel wrote.
    pub(crate) fn statx(&self) -> &Statx {
        &self.buf
    }
}

/// The fields every statx asks for.
const STATX_MASK: u32 = statx_mask::BASIC_STATS | statx_mask::BTIME;

/// Describes the open file `fd`.
pub(crate) fn stat_fd(
    driver: &mut UringDriver,
    fd: RawFd,
    keep: Keep,
) -> io::Result<UringOp<Stat>> {
    stat(
        driver,
        fd,
        CString::default(),
        at_flags::EMPTY_PATH,
        Some(keep),
    )
}

/// Describes `path` (`follow`: the file a final symlink points to, else the link).
pub(crate) fn stat_path(
    driver: &mut UringDriver,
    path: CString,
    follow: bool,
) -> io::Result<UringOp<Stat>> {
    let flags = if follow {
        0
    } else {
        at_flags::SYMLINK_NOFOLLOW
    };
    stat(driver, at_flags::FDCWD, path, flags, None)
}

fn stat(
    driver: &mut UringDriver,
    dfd: RawFd,
    path: CString,
    flags: u32,
    keep: Option<Keep>,
) -> io::Result<UringOp<Stat>> {
    let payload = Stat {
        path,
        buf: Statx::default(),
        _keep: keep,
    };
    // SAFETY: the SQE names the path and the statx buffer, both inside the payload.
    unsafe {
        UringOp::start(driver, payload, None, |p| {
            sqe::statx(dfd, p.path.as_ptr(), flags, STATX_MASK, &mut p.buf)
        })
    }
}

/// An operation on an open file that names no memory (fsync, ftruncate).
pub(crate) struct OnFd {
    _keep: Keep,
}

impl Payload for OnFd {
    fn release(&mut self, _: Completion) {}
}
impl UringPayload for OnFd {}

/// Flushes `fd` to its device (`data_only`: `fdatasync`).
pub(crate) fn fsync(
    driver: &mut UringDriver,
    fd: RawFd,
    keep: Keep,
    data_only: bool,
) -> io::Result<UringOp<OnFd>> {
    let flags = if data_only { fsync_flags::DATASYNC } else { 0 };
    // SAFETY: an fsync names no memory.
    unsafe {
        UringOp::start(driver, OnFd { _keep: keep }, None, |_| {
            sqe::fsync(fd, flags)
        })
    }
}

/// Truncates or extends `fd` to `len` bytes (`IORING_OP_FTRUNCATE`, Linux 6.9).
pub(crate) fn ftruncate(
    driver: &mut UringDriver,
    fd: RawFd,
    keep: Keep,
    len: u64,
) -> io::Result<UringOp<OnFd>> {
    // SAFETY: an ftruncate names no memory.
    unsafe {
        UringOp::start(driver, OnFd { _keep: keep }, None, |_| {
            sqe::ftruncate(fd, len)
        })
    }
}

/// Closes `fd` through this thread's ring, after whatever is queued before it; with no
/// ring here (or an SQ that refuses it), a plain close.
pub(crate) fn close(fd: OwnedFd) {
    // When there is no ring, the closure and the fd in it are dropped: the plain close.
    drop(crate::driver::with_uring(|d| d.close(fd)));
}
