//! One file operation, on whichever path the current thread takes: a ring operation on
//! io_uring (when the kernel has the opcode), a job on the blocking pool otherwise (epoll,
//! kqueue, or an io_uring kernel without that opcode).
//!
//! Reads and writes are [`Op`]s: futures of `(result, buffer)` that own their buffer for
//! as long as the kernel or the pool job may touch it. Dropping one while it runs cancels a
//! ring read, leaves a ring write running (a write once submitted is never cancelled), and
//! detaches a pool job, which finishes and has its result dropped.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::fd::FileFd;
pub(crate) use crate::bufs::{give, take};
use crate::driver::{current_path, IoPath};
use crate::task::{JoinError, JoinHandle};

#[cfg(target_os = "linux")]
use crate::driver::uring::{
    file_ops::{self, Rw},
    op::Completion,
    ops::{self, UringOp, UringPayload},
    UringDriver,
};

/// The most bytes one call copies through a buffer of its own (the borrowed forms): a
/// larger request is a short count, as tokio's 2 MiB cap makes it. The owned forms have no
/// such cap (the kernel's own is `MAX_RW_COUNT`, just under 2 GiB).
pub(crate) const MAX_COPY: usize = 2 * 1024 * 1024;

/// The operations, named apart from any platform's opcodes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Open,
    Read,
    Write,
    Fsync,
    Statx,
    Ftruncate,
    Unlink,
    Rename,
    Mkdir,
}

#[cfg(target_os = "linux")]
impl Kind {
    fn opcode(self) -> u8 {
        use hiver_sys::uring::opcode;
        match self {
            Kind::Open => opcode::OPENAT,
            Kind::Read => opcode::READ,
            Kind::Write => opcode::WRITE,
            Kind::Fsync => opcode::FSYNC,
            Kind::Statx => opcode::STATX,
            Kind::Ftruncate => opcode::FTRUNCATE,
            Kind::Unlink => opcode::UNLINKAT,
            Kind::Rename => opcode::RENAMEAT,
            Kind::Mkdir => opcode::MKDIRAT,
        }
    }
}

/// Where an operation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// On this thread's ring.
    #[cfg(target_os = "linux")]
    Ring,
    /// On the blocking pool.
    Pool,
}

/// Where `kind` runs on this thread: the ring if it is io_uring and the kernel has the
/// opcode, else the pool. An error outside a runtime.
pub(crate) fn route(kind: Kind) -> io::Result<Route> {
    match current_path()? {
        #[cfg(target_os = "linux")]
        IoPath::Uring => {
            let supported = crate::driver::with_uring(|d| d.supports(kind.opcode()));
            Ok(if supported == Some(true) {
                Route::Ring
            } else {
                Route::Pool
            })
        }
        IoPath::Readiness => {
            let _ = kind;
            Ok(Route::Pool)
        }
    }
}

/// Runs `f` on the blocking pool.
pub(crate) async fn pool<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    crate::spawn_blocking(f).await.map_err(joined)?
}

fn joined(e: JoinError) -> io::Error {
    io::Error::other(format!("file operation on the blocking pool failed: {e}"))
}

/// Submits the ring operation `start` builds and waits for its completion. Dropping the
/// future drops the handle: the operation is cancelled unless it asked to keep running,
/// and its memory stays with the driver until its final CQE.
#[cfg(target_os = "linux")]
pub(crate) async fn ring<T: UringPayload>(
    start: impl FnOnce(&mut UringDriver) -> io::Result<UringOp<T>>,
) -> io::Result<(Completion, UringOp<T>)> {
    let op = crate::driver::uring_io(start)?;
    let done = std::future::poll_fn(|cx| op.poll(cx)).await;
    Ok((done, op))
}

/// As [`ring`], for an operation with no output but its status.
#[cfg(target_os = "linux")]
pub(crate) async fn ring_status<T: UringPayload>(
    start: impl FnOnce(&mut UringDriver) -> io::Result<UringOp<T>>,
) -> io::Result<()> {
    let (done, _) = ring(start).await?;
    ops::result(done).map(drop)
}

/// What a read or write ends with: its result and its buffer (a read's bytes appended).
pub(crate) type Done = (io::Result<usize>, Vec<u8>);

/// A read or write in flight.
pub(crate) enum Op {
    #[cfg(target_os = "linux")]
    Ring(UringOp<Rw>),
    Pool(JoinHandle<Done>),
}

impl Op {
    /// Asks a ring read to stop (its future was dropped but the operation is kept).
    pub(crate) fn cancel(&self) {
        #[cfg(target_os = "linux")]
        if let Op::Ring(op) = self {
            if !op.is_complete() {
                op.cancel();
            }
        }
    }
}

impl Future for Op {
    type Output = Done;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Done> {
        match self.get_mut() {
            #[cfg(target_os = "linux")]
            Op::Ring(op) => {
                let r = ops::result(ready!(op.poll(cx)));
                Poll::Ready(op.with_payload(|p| p.finish(r)))
            }
            Op::Pool(job) => Poll::Ready(
                ready!(Pin::new(job).poll(cx)).unwrap_or_else(|e| (Err(joined(e)), Vec::new())),
            ),
        }
    }
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            #[cfg(target_os = "linux")]
            Op::Ring(op) => op.fmt(f),
            Op::Pool(job) => job.fmt(f),
        }
    }
}

/// An operation that could not start: the error, and the buffer back when it was not
/// consumed (a ring submission that failed took it with it: an empty one then).
pub(crate) type NotStarted = (io::Error, Vec<u8>);

/// Reads at most `len` bytes of `fd` into `buf`'s spare capacity (`len` at most that),
/// at `at` or (`None`) at the file position, which then moves.
pub(crate) fn read(
    fd: &Arc<FileFd>,
    buf: Vec<u8>,
    len: usize,
    at: Option<u64>,
) -> Result<Op, NotStarted> {
    let route = match route(Kind::Read) {
        Ok(r) => r,
        Err(e) => return Err((e, buf)),
    };
    match route {
        #[cfg(target_os = "linux")]
        Route::Ring => {
            let (raw, keep) = (fd.raw(), fd.clone());
            let off = at.unwrap_or(u64::MAX);
            crate::driver::uring_io(|d| file_ops::read(d, raw, keep, buf, len, off))
                .map(Op::Ring)
                .map_err(|e| (e, Vec::new()))
        }
        Route::Pool => {
            let fd = fd.clone();
            let job = crate::spawn_blocking(move || read_blocking(fd.file(), buf, len, at));
            Ok(Op::Pool(job))
        }
    }
}

/// Writes `buf` to `fd` at `at` or (`None`) at the file position (the end, in append
/// mode); the count may be short.
pub(crate) fn write(fd: &Arc<FileFd>, buf: Vec<u8>, at: Option<u64>) -> Result<Op, NotStarted> {
    let route = match route(Kind::Write) {
        Ok(r) => r,
        Err(e) => return Err((e, buf)),
    };
    match route {
        #[cfg(target_os = "linux")]
        Route::Ring => {
            let (raw, keep) = (fd.raw(), fd.clone());
            let off = at.unwrap_or(u64::MAX);
            crate::driver::uring_io(|d| file_ops::write(d, raw, keep, buf, off))
                .map(Op::Ring)
                .map_err(|e| (e, Vec::new()))
        }
        Route::Pool => {
            let fd = fd.clone();
            let job = crate::spawn_blocking(move || write_blocking(fd.file(), buf, at));
            Ok(Op::Pool(job))
        }
    }
}

fn read_blocking(mut file: &std::fs::File, mut buf: Vec<u8>, len: usize, at: Option<u64>) -> Done {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let start = buf.len();
    buf.resize(start + len, 0);
    let r = match at {
        Some(off) => file.read_at(&mut buf[start..], off),
        None => file.read(&mut buf[start..]),
    };
    buf.truncate(start + r.as_ref().map_or(0, |n| *n));
    (r, buf)
}

fn write_blocking(mut file: &std::fs::File, buf: Vec<u8>, at: Option<u64>) -> Done {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let r = match at {
        Some(off) => file.write_at(&buf, off),
        None => file.write(&buf),
    };
    (r, buf)
}

/// `offset` if the kernel can take it as a position (`off_t` is signed).
pub(crate) fn position(offset: u64) -> io::Result<u64> {
    if i64::try_from(offset).is_ok() {
        Ok(offset)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file offset {offset} is beyond the largest position, i64::MAX"),
        ))
    }
}
