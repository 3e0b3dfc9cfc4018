//! The I/O traits other crates are written against, for hiver's streams and files: each
//! behind the cargo feature of its name.
//!
//! | feature | what |
//! |---|---|
//! | `futures-io` | `futures_io::{AsyncRead, AsyncBufRead, AsyncWrite}` for [`TcpStream`](crate::io::TcpStream), [`UnixStream`](crate::io::UnixStream), their halves and [`File`](crate::fs::File); `AsyncSeek` for `File` |
//! | `tokio-io` | `tokio::io::{AsyncRead, AsyncBufRead, AsyncWrite}` for the same types, `AsyncSeek` for `File` (tokio's traits only: no tokio runtime) |
//! | `hyper` | `HyperIo` (hyper 1.x's `rt::Read` and `rt::Write`), `HyperExecutor` (`rt::Executor`, spawning on hiver), `HyperTimer` (`rt::Timer`, hiver's timer wheel) |
//!
//! With them, crates built on these traits run on hiver unchanged: tokio-util's codecs,
//! futures' `AsyncReadExt`, hyper's HTTP/1 and HTTP/2 servers and clients.
//!
//! # How the polls map onto hiver's operations
//!
//! **Reads are cancel-safe by construction.** A `poll_read` that returns `Pending` leaves
//! its operation in the stream (on io_uring, the receive stays in flight, adopted by the
//! next poll, whatever buffer that poll brings); nothing is cancelled between polls, and
//! bytes beyond the buffer are kept for the next read. Dropping the stream, or switching
//! to the inherent `read` and dropping its future, cancels it as usual. `poll_read` and the
//! inherent `read` are one code path. `AsyncBufRead` serves from the same internal buffer
//! that keeps those bytes, so it adds no second buffer of its own.
//!
//! **Writes on io_uring are write-behind.** `poll_write` first settles the send an earlier
//! call queued (`Pending` while it is in flight: nothing of the new buffer is taken then),
//! then queues a send of a copy of the buffer and returns its length at once.
//! `poll_flush` waits for the queued send and reports its error; `poll_shutdown` /
//! `poll_close` flush, then shut the write side. So a trait user must flush (as the traits'
//! contract asks; hyper and the codecs do) to know the bytes were sent. On epoll and
//! kqueue, `poll_write` sends when the socket is writable, as the inherent `write` does.
//! The inherent `write` is unchanged: it returns once its send completed.
//!
//! **Files** read and write at the file position with the cursor calls' rules: a read
//! started by a poll stays in the file until a later poll (or any cursor call) settles
//! it, its bytes stashed if the caller went away; writes are write-behind as above.
//!
//! ```
//! # #[cfg(feature = "futures-io")]
//! # fn main() -> std::io::Result<()> {
//! # hiver_runtime::Runtime::new()?.block_on(async {
//! use futures_io::{AsyncRead, AsyncWrite};
//! use hiver_runtime::io::UnixStream;
//! use std::future::poll_fn;
//! use std::pin::Pin;
//!
//! let (mut a, mut b) = UnixStream::pair()?;
//! let n = poll_fn(|cx| Pin::new(&mut a).poll_write(cx, b"ping")).await?;
//! poll_fn(|cx| Pin::new(&mut a).poll_flush(cx)).await?;
//! let mut buf = [0u8; 4];
//! let m = poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut buf)).await?;
//! assert_eq!((n, &buf[..m]), (4, &b"ping"[..]));
//! # Ok::<_, std::io::Error>(()) })?
//! # }
//! # #[cfg(not(feature = "futures-io"))]
//! # fn main() {}
//! ```

use std::io;
use std::task::{Context, Poll};

use crate::bufs::{Dest, Src};

/// Calls `$m!([generics] Type)` for every type with a read side.
#[cfg(any(feature = "futures-io", feature = "tokio-io"))]
macro_rules! for_each_reader {
    ($m:ident) => {
        $m!([] crate::io::TcpStream);
        $m!([] crate::io::UnixStream);
        $m!(['a] crate::io::ReadHalf<'a>);
        $m!([S] crate::io::OwnedReadHalf<S>);
        $m!([] crate::fs::File);
    };
}

/// Calls `$m!([generics] Type)` for every type with a write side.
#[cfg(any(feature = "futures-io", feature = "tokio-io"))]
macro_rules! for_each_writer {
    ($m:ident) => {
        $m!([] crate::io::TcpStream);
        $m!([] crate::io::UnixStream);
        $m!(['a] crate::io::WriteHalf<'a>);
        $m!([S] crate::io::OwnedWriteHalf<S>);
        $m!([] crate::fs::File);
    };
}

#[cfg(feature = "futures-io")]
mod futures_io;
#[cfg(feature = "hyper")]
mod hyper_io;
#[cfg(feature = "hyper")]
mod hyper_rt;
mod poll;
#[cfg(feature = "tokio-io")]
mod tokio_io;

#[cfg(feature = "hyper")]
pub use hyper_io::HyperIo;
#[cfg(feature = "hyper")]
pub use hyper_rt::{HyperExecutor, HyperTimer};

/// A type's read side, as the trait impls poll it.
pub(crate) trait PollRead {
    /// Reads into `dest`; `Ok(0)` at the end.
    fn read_poll(
        &mut self,
        cx: &mut Context<'_>,
        dest: &mut Dest<'_, '_>,
    ) -> Poll<io::Result<usize>>;
}

/// A type's read side served from its internal buffer (`AsyncBufRead`).
#[cfg(any(feature = "futures-io", feature = "tokio-io"))]
pub(crate) trait PollBufRead {
    /// The buffered bytes, read if there are none; empty at the end.
    fn fill_buf_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>>;

    /// Marks `n` of them as read.
    fn consume_bytes(&mut self, n: usize);
}

/// A type's write side, as the trait impls poll it.
pub(crate) trait PollWrite {
    /// Writes some of `src` (write-behind on io_uring).
    fn write_poll(&mut self, cx: &mut Context<'_>, src: &Src<'_, '_>) -> Poll<io::Result<usize>>;

    /// Waits for what was written to be handed to the kernel; its error.
    fn flush_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Flushes, then shuts the write side (a file has none: a flush).
    fn shutdown_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}
