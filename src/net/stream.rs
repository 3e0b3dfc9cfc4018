//! Reading and writing a stream socket on every driver: the two halves' state
//! ([`Reader`], [`Writer`]) and their operation futures.
//!
//! **Cancel safety of `read`.** On a readiness driver a dropped read did nothing. On
//! io_uring the receive may already be in the kernel: dropping the future asks for its
//! cancellation but keeps the operation in the [`Reader`]; the next read adopts it, so bytes
//! the kernel delivered before the cancel won are returned then (what does not fit the
//! next caller's buffer waits in the reader's stash). Nothing is lost, and the kernel only
//! ever writes into driver-owned memory.
//!
//! **Writes.** On io_uring the bytes are copied into the send, so the kernel never reads the
//! caller's memory. A write whose future is dropped after it queued its send still sends
//! all of it (see [`Writer`]); one dropped before sent nothing. `write_all` dropped midway
//! has sent a prefix (as tokio's), so it is not cancel-safe.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use rustix::net::RecvFlags;

use super::socket::{Socket, SEND_FLAGS};
pub(crate) use crate::bufs::{Dest, Src};
use crate::driver::readiness::Direction;
use crate::driver::{current_path, IoPath};
use crate::sync::wait_set::Waiter;

#[cfg(target_os = "linux")]
use crate::driver::uring::{
    buf::{send_bufs, BUF_LEN},
    limit::poll_stream_permit,
    ops::{self, Recv, Send, UringOp},
};
#[cfg(target_os = "linux")]
use crate::loom::sync::atomic::Ordering;

/// The largest receive of a stream in a bulk transfer (io_uring; the largest buffer the
/// per-thread pool keeps).
#[cfg(target_os = "linux")]
const BULK_MAX: usize = 64 * 1024;

/// The most bytes one io_uring send copies and submits.
#[cfg(target_os = "linux")]
const MAX_SEND: usize = 256 * 1024;

impl Dest<'_, '_> {
    fn recv_now(&mut self, sock: &Socket) -> io::Result<usize> {
        let recv = |b: &mut [u8]| -> io::Result<usize> {
            rustix::net::recv(sock.fd(), b, RecvFlags::empty())
                .map(|(n, _)| n)
                .map_err(Into::into)
        };
        match self {
            Dest::Slice(b) => recv(b),
            Dest::Vectored(bs) => rustix::io::readv(sock.fd(), bs).map_err(Into::into),
            Dest::Sink(s) => s.read_with(&mut |b| recv(b)),
        }
    }
}

/// The read side of a stream: an adopted receive still in flight, and bytes received
/// beyond what a caller asked for.
#[derive(Default)]
pub(crate) struct Reader {
    #[cfg(target_os = "linux")]
    pending: Option<UringOp<Recv>>,
    /// The last receive filled a whole provided buffer (io_uring): the stream is in a bulk
    /// transfer, and a large read gets one receive of its own size.
    #[cfg(target_os = "linux")]
    bulk: bool,
    stash: Vec<u8>,
    stash_pos: usize,
    waiter: Waiter,
    #[cfg(target_os = "linux")]
    limit_waiter: Waiter,
}

impl Reader {
    fn take_stash(&mut self, dest: &mut Dest<'_, '_>) -> Option<usize> {
        if self.stash_pos >= self.stash.len() {
            return None;
        }
        let n = dest.fill(&self.stash[self.stash_pos..]);
        self.stash_pos += n;
        if self.stash_pos == self.stash.len() {
            self.stash.clear();
            self.stash_pos = 0;
        }
        Some(n)
    }

    #[cfg(target_os = "linux")]
    fn keep(&mut self, rest: &[u8]) {
        if !rest.is_empty() {
            self.stash.extend_from_slice(rest);
        }
    }

    /// Reads into `dest`.
    pub(crate) fn read<'a, 'b>(
        &'a mut self,
        sock: &'a Socket,
        dest: Dest<'a, 'b>,
    ) -> ReadFuture<'a, 'b> {
        ReadFuture {
            sock,
            reader: self,
            dest,
        }
    }

    /// Reads into `buf`'s spare capacity (the owned-buffer form). On io_uring, with nothing
    /// adopted or stashed, the kernel receives straight into `buf`.
    pub(crate) async fn read_owned(
        &mut self,
        sock: &Socket,
        mut buf: Vec<u8>,
    ) -> (io::Result<usize>, Vec<u8>) {
        if buf.capacity() == buf.len() {
            return (Ok(0), buf);
        }
        #[cfg(target_os = "linux")]
        if self.pending.is_none()
            && self.stashed() == 0
            && matches!(current_path(), Ok(IoPath::Uring))
        {
            return OwnedRead {
                sock,
                reader: self,
                buf: Some(buf),
            }
            .await;
        }
        let len = buf.len();
        buf.resize(buf.capacity(), 0);
        let r = self.read(sock, Dest::Slice(&mut buf[len..])).await;
        buf.truncate(len + r.as_ref().map_or(0, |n| *n));
        (r, buf)
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
    pub(crate) async fn read_exact(&mut self, sock: &Socket, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.read(sock, Dest::Slice(buf)).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended before the buffer was filled",
                ));
            }
            buf = &mut buf[n..];
        }
        Ok(())
    }

    /// Bytes kept for the next read (received for a dropped read).
    pub(crate) fn stashed(&self) -> usize {
        self.stash.len() - self.stash_pos
    }
}

/// The future of [`Reader::read`]: [`Reader::poll_read`], and a cancel of the receive in
/// flight when it is dropped.
pub(crate) struct ReadFuture<'a, 'b> {
    sock: &'a Socket,
    reader: &'a mut Reader,
    dest: Dest<'a, 'b>,
}

impl Future for ReadFuture<'_, '_> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.reader.poll_read(this.sock, &mut this.dest, cx)
    }
}

impl Reader {
    /// Reads into `dest`: the stash first, then the receive in flight (adopted), else a
    /// new one (io_uring), or a `recv` when the socket is readable (readiness drivers).
    ///
    /// Returning `Pending` cancels nothing: the receive stays in the reader, and the next
    /// poll (with any buffer) or read adopts it; what it brings beyond the buffer given
    /// then is stashed. This is what the I/O trait impls call, poll after poll; the
    /// `read` future adds a cancel when it is dropped.
    pub(crate) fn poll_read(
        &mut self,
        sock: &Socket,
        dest: &mut Dest<'_, '_>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        ready!(crate::task::coop::poll_proceed(cx));
        if dest.len() == 0 {
            return Poll::Ready(Ok(0));
        }
        if let Some(n) = self.take_stash(dest) {
            return Poll::Ready(Ok(n));
        }
        match current_path() {
            Err(e) => Poll::Ready(Err(e)),
            #[cfg(target_os = "linux")]
            Ok(IoPath::Uring) => self.poll_uring(sock, dest, cx),
            Ok(IoPath::Readiness) => {
                let want = dest.recv_room();
                sock.poll_stream_io(Direction::Read, &mut self.waiter, cx, want, || {
                    dest.recv_now(sock)
                })
            }
        }
    }

    /// Bytes to read without waiting, received (up to `max`) if none are stashed:
    /// `AsyncBufRead::poll_fill_buf` over the stash. Empty at end of stream.
    #[cfg(any(feature = "futures-io", feature = "tokio-io"))]
    pub(crate) fn poll_fill_buf(
        &mut self,
        sock: &Socket,
        max: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<&[u8]>> {
        if self.stashed() == 0 {
            // The stash is empty: it becomes the sink of one read. A receive adopted from
            // a larger read may bring more than `max`: the rest, kept meanwhile in the
            // (new) stash, goes after it.
            let mut stash = std::mem::take(&mut self.stash);
            stash.clear();
            self.stash_pos = 0;
            let mut sink = crate::bufs::VecSink {
                vec: &mut stash,
                room: max,
            };
            let r = self.poll_read(sock, &mut Dest::Sink(&mut sink), cx);
            let rest = std::mem::replace(&mut self.stash, stash);
            self.stash.extend_from_slice(&rest);
            if let Err(e) = ready!(r) {
                return Poll::Ready(Err(e));
            }
        }
        Poll::Ready(Ok(&self.stash[self.stash_pos..]))
    }

    /// Marks `n` bytes of [`poll_fill_buf`](Self::poll_fill_buf)'s as read.
    #[cfg(any(feature = "futures-io", feature = "tokio-io"))]
    pub(crate) fn consume(&mut self, n: usize) {
        self.stash_pos = (self.stash_pos + n).min(self.stash.len());
        if self.stash_pos == self.stash.len() {
            self.stash.clear();
            self.stash_pos = 0;
        }
    }

    /// Leaves the wait sets a poll registered in (its caller went away).
    pub(crate) fn leave(&mut self, sock: &Socket) {
        sock.leave(Direction::Read, &mut self.waiter);
        #[cfg(target_os = "linux")]
        sock.limit.cancel(&mut self.limit_waiter);
    }
}

#[cfg(target_os = "linux")]
impl Reader {
    fn poll_uring(
        &mut self,
        sock: &Socket,
        dest: &mut Dest<'_, '_>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let Some(op) = &self.pending else {
                let permit = ready!(poll_stream_permit(&sock.limit, &mut self.limit_waiter, cx));
                let (fd, max) = (sock.raw(), dest.len());
                let started = if self.bulk && max > BUF_LEN as usize {
                    // Mid bulk transfer, a large read: one receive into a buffer of the
                    // operation's own (up to BULK_MAX) rather than one 8 KiB provided
                    // buffer per receive; an idle stream still pins no memory.
                    let buf = send_bufs::take(max.min(BULK_MAX));
                    crate::driver::uring_io(|d| ops::recv_into(d, fd, buf, permit))
                } else {
                    crate::driver::uring_io(|d| ops::recv_provided(d, fd, max, permit))
                };
                match started {
                    Ok(op) => self.pending = Some(op),
                    Err(e) => return Poll::Ready(Err(e)),
                }
                continue;
            };
            let done = ready!(op.poll(cx));
            let op = self.pending.take().expect("polled above");
            match ops::result(done) {
                Ok(n) => return Poll::Ready(self.deliver(&op, n, dest)),
                Err(e) => match e.raw_os_error().map(rustix::io::Errno::from_raw_os_error) {
                    // Cancelled for a dropped read before any byte came: start afresh.
                    Some(rustix::io::Errno::CANCELED | rustix::io::Errno::INTR) => {}
                    // The pool ran dry: this receive brings its own buffer.
                    Some(rustix::io::Errno::NOBUFS) => {
                        crate::driver::with_uring(|d| d.pool().0.starved += 1);
                        let permit =
                            ready!(poll_stream_permit(&sock.limit, &mut self.limit_waiter, cx));
                        let fd = sock.raw();
                        let buf = Vec::with_capacity(dest.len().min(BUF_LEN as usize));
                        match crate::driver::uring_io(|d| ops::recv_into(d, fd, buf, permit)) {
                            Ok(op) => self.pending = Some(op),
                            Err(e) => return Poll::Ready(Err(e)),
                        }
                    }
                    // A non-blocking socket: the ring wants a blocking one.
                    Some(rustix::io::Errno::AGAIN) => {
                        if let Err(e) = sock.make_blocking() {
                            return Poll::Ready(Err(e));
                        }
                    }
                    _ => return Poll::Ready(Err(e)),
                },
            }
        }
    }

    /// Copies a completed receive's `n` bytes out; what does not fit is stashed.
    fn deliver(
        &mut self,
        op: &UringOp<Recv>,
        n: usize,
        dest: &mut Dest<'_, '_>,
    ) -> io::Result<usize> {
        op.with_payload(|p| {
            let bytes: &[u8] = if let Some(lent) = &p.lent {
                lent.bytes()
            } else if p.was_provided() && n > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "io_uring receive completed without its buffer",
                ));
            } else {
                let start = p.own.len();
                p.set_own_len(n)?;
                &p.own[start..]
            };
            let copied = dest.fill(bytes);
            self.keep(&bytes[copied..]);
            self.bulk = n >= BUF_LEN as usize;
            if !p.was_provided() {
                // The receive's own buffer goes back to the thread's pool.
                send_bufs::give(std::mem::take(&mut p.own));
            }
            Ok(copied)
        })
    }

    /// Asks the kernel to stop the receive in flight, if any (it stays adopted).
    fn cancel_pending(&self) {
        if let Some(op) = &self.pending {
            if !op.is_complete() {
                op.cancel();
            }
        }
    }
}

impl Drop for ReadFuture<'_, '_> {
    fn drop(&mut self) {
        // A receive still in flight stays with the reader (the next read adopts it); ask
        // the kernel to stop it.
        #[cfg(target_os = "linux")]
        self.reader.cancel_pending();
        self.reader.leave(self.sock);
    }
}

/// A zero-copy owned read on io_uring: the receive goes into the caller's buffer, and stays
/// with the reader if the future is dropped (the next read adopts it).
#[cfg(target_os = "linux")]
struct OwnedRead<'a> {
    sock: &'a Socket,
    reader: &'a mut Reader,
    buf: Option<Vec<u8>>,
}

#[cfg(target_os = "linux")]
impl Future for OwnedRead<'_> {
    type Output = (io::Result<usize>, Vec<u8>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let Some(op) = &this.reader.pending else {
                let permit =
                    match poll_stream_permit(&this.sock.limit, &mut this.reader.limit_waiter, cx) {
                        Poll::Ready(p) => p,
                        Poll::Pending => return Poll::Pending,
                    };
                let buf = this.buf.take().expect("buffer held until submitted");
                let fd = this.sock.raw();
                match crate::driver::uring_io(|d| ops::recv_into(d, fd, buf, permit)) {
                    Ok(op) => this.reader.pending = Some(op),
                    // The buffer went with the failed operation.
                    Err(e) => return Poll::Ready((Err(e), Vec::new())),
                }
                continue;
            };
            let done = match op.poll(cx) {
                Poll::Ready(d) => d,
                Poll::Pending => return Poll::Pending,
            };
            let op = this.reader.pending.take().expect("polled above");
            let r = ops::result(done);
            return Poll::Ready(op.with_payload(|p| {
                let r = r.and_then(|n| p.set_own_len(n).map(|()| n));
                (r, std::mem::take(&mut p.own))
            }));
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for OwnedRead<'_> {
    fn drop(&mut self) {
        self.reader.cancel_pending();
        self.sock.limit.cancel(&mut self.reader.limit_waiter);
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("stashed", &self.stashed())
            .finish_non_exhaustive()
    }
}

/// The write side of a stream.
///
/// On io_uring a write copies its bytes into a send (`MSG_WAITALL`: the kernel retries it
/// until every byte went), queues it, and waits for it. A send once queued is never
/// cancelled: if the write's future is dropped first, the send still completes, and the
/// next write (or [`flush`](Writer::flush)) waits for it and reports its error, so sends
/// stay in order, one in flight per stream.
#[derive(Default)]
pub(crate) struct Writer {
    waiter: Waiter,
    #[cfg(target_os = "linux")]
    limit_waiter: Waiter,
    /// The send an earlier write queued.
    #[cfg(target_os = "linux")]
    behind: Option<UringOp<Send>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Writer");
        #[cfg(target_os = "linux")]
        d.field("send_in_flight", &self.behind.is_some());
        d.finish_non_exhaustive()
    }
}

impl Src<'_, '_> {
    fn send_now(&self, sock: &Socket) -> io::Result<usize> {
        match self {
            Src::Slice(b) => rustix::net::send(sock.fd(), b, SEND_FLAGS),
            Src::Vectored(bs) => rustix::net::sendmsg(
                sock.fd(),
                bs,
                &mut rustix::net::SendAncillaryBuffer::default(),
                SEND_FLAGS,
            ),
        }
        .map_err(Into::into)
    }
}

impl Writer {
    /// Writes some of `src`.
    pub(crate) fn write<'a, 'b>(
        &'a mut self,
        sock: &'a Arc<Socket>,
        src: Src<'a, 'b>,
    ) -> WriteFuture<'a, 'b> {
        WriteFuture {
            sock,
            writer: self,
            src,
            #[cfg(target_os = "linux")]
            queued: None,
        }
    }

    /// Waits until every byte written was handed to the kernel; the error of a send that
    /// failed meanwhile.
    pub(crate) async fn flush(&mut self, sock: &Arc<Socket>) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush(sock, cx)).await
    }

    /// Writes some of `src`, for the I/O trait impls. On io_uring this is write-behind:
    /// the send an earlier call queued is settled first (`Pending` while it is in flight:
    /// nothing of `src` is taken then), then a copy of `src` (at most 256 KiB) is queued
    /// and its length returned at once; [`poll_flush`](Self::poll_flush) waits for it and
    /// reports its error. On a readiness driver, a `send` when the socket is writable.
    pub(crate) fn poll_write(
        &mut self,
        sock: &Arc<Socket>,
        src: &Src<'_, '_>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        ready!(crate::task::coop::poll_proceed(cx));
        if src.len() == 0 {
            return Poll::Ready(Ok(0));
        }
        match current_path() {
            Err(e) => Poll::Ready(Err(e)),
            #[cfg(target_os = "linux")]
            Ok(IoPath::Uring) => self.poll_queue(sock, src, cx),
            Ok(IoPath::Readiness) => {
                let want = src.len();
                sock.poll_stream_io(Direction::Write, &mut self.waiter, cx, want, || {
                    src.send_now(sock)
                })
            }
        }
    }

    /// Waits for the send an earlier write queued (io_uring); its error. Nothing to wait
    /// for on a readiness driver: every write that returned was sent.
    pub(crate) fn poll_flush(
        &mut self,
        sock: &Arc<Socket>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        #[cfg(target_os = "linux")]
        return self.poll_settle(sock, cx);
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (sock, cx);
            Poll::Ready(Ok(()))
        }
    }

    /// Flushes, then shuts the write side down (the peer reads end of stream).
    #[cfg(any(feature = "futures-io", feature = "tokio-io", feature = "hyper"))]
    pub(crate) fn poll_shutdown(
        &mut self,
        sock: &Arc<Socket>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(sock, cx))?;
        Poll::Ready(self.shutdown_write(sock))
    }

    /// Leaves the wait sets a poll registered in (its caller went away).
    pub(crate) fn leave(&mut self, sock: &Socket) {
        sock.leave(Direction::Write, &mut self.waiter);
        #[cfg(target_os = "linux")]
        sock.limit.cancel(&mut self.limit_waiter);
    }

    /// `shutdown` of a stream: the write side after what was written (see
    /// [`shutdown_write`](Self::shutdown_write)), the read side at once.
    pub(crate) fn shutdown(&self, sock: &Socket, how: std::net::Shutdown) -> io::Result<()> {
        use std::net::Shutdown;
        match how {
            Shutdown::Read => sock.shutdown(Shutdown::Read),
            Shutdown::Write => self.shutdown_write(sock),
            Shutdown::Both => {
                self.shutdown_write(sock)?;
                sock.shutdown(Shutdown::Read)
            }
        }
    }

    /// Shuts the write side down after what was written: at once, or when the send in
    /// flight ends.
    pub(crate) fn shutdown_write(&self, sock: &Socket) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(op) = &self.behind {
            if !op.is_complete() {
                sock.shutdown_after_send.store(true, Ordering::SeqCst);
                // The send's end runs the shutdown, unless it ended meanwhile: then
                // whichever side takes the flag does it.
                if !op.is_complete() || !sock.shutdown_after_send.swap(false, Ordering::SeqCst) {
                    return Ok(());
                }
            }
        }
        sock.shutdown(std::net::Shutdown::Write)
    }

    /// Writes from `buf`, given and returned (the owned-buffer form): on io_uring the kernel
    /// sends straight from it, and the call waits for the send.
    pub(crate) async fn write_owned(
        &mut self,
        sock: &Arc<Socket>,
        buf: Vec<u8>,
    ) -> (io::Result<usize>, Vec<u8>) {
        if buf.is_empty() {
            return (Ok(0), buf);
        }
        #[cfg(target_os = "linux")]
        if matches!(current_path(), Ok(IoPath::Uring)) {
            if let Err(e) = self.flush(sock).await {
                return (Err(e), buf);
            }
            let permit = std::future::poll_fn(|cx| {
                poll_stream_permit(&sock.limit, &mut self.limit_waiter, cx)
            })
            .await;
            let fd = sock.raw();
            let op = match crate::driver::uring_io(|d| ops::send(d, fd, buf, None, permit)) {
                Ok(op) => op,
                Err(e) => return (Err(e), Vec::new()),
            };
            let done = std::future::poll_fn(|cx| op.poll(cx)).await;
            let buf = op.with_payload(|p| std::mem::take(&mut p.data));
            return (ops::result(done), buf);
        }
        let r = self.write(sock, Src::Slice(&buf)).await;
        (r, buf)
    }

    /// Writes all of `buf`.
    pub(crate) async fn write_all(&mut self, sock: &Arc<Socket>, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(sock, Src::Slice(buf)).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the socket accepted no bytes",
                ));
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Waits for the send an earlier write queued; sends what the kernel left of it.
    #[cfg(target_os = "linux")]
    fn poll_settle(&mut self, sock: &Arc<Socket>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let Some(op) = &self.behind else {
                return Poll::Ready(Ok(()));
            };
            let done = match op.poll(cx) {
                Poll::Ready(d) => d,
                Poll::Pending => return Poll::Pending,
            };
            let op = self.behind.take().expect("polled above");
            let (rest, again) = match ops::result(done) {
                Ok(n) => {
                    let rest = op.with_payload(|p| p.data.split_off(n.min(p.data.len())));
                    if rest.is_empty() {
                        continue;
                    }
                    (rest, false)
                }
                // A non-blocking socket: the ring wants a blocking one; send it again.
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::AGAIN.raw_os_error()) => {
                    (op.with_payload(|p| std::mem::take(&mut p.data)), true)
                }
                Err(e) => return Poll::Ready(Err(e)),
            };
            if again {
                if let Err(e) = sock.make_blocking() {
                    return Poll::Ready(Err(e));
                }
            }
            // Interrupted short of the end (a signal): queue the rest.
            if let Err(e) = self.queue(sock, rest, None) {
                return Poll::Ready(Err(e));
            }
        }
    }

    /// Settles the previous send, then queues a copy of (a prefix of) `src`; its length.
    #[cfg(target_os = "linux")]
    fn poll_queue(
        &mut self,
        sock: &Arc<Socket>,
        src: &Src<'_, '_>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_settle(sock, cx))?;
        let permit = ready!(poll_stream_permit(&sock.limit, &mut self.limit_waiter, cx));
        let data = src.gather(MAX_SEND);
        let n = data.len();
        self.queue(sock, data, permit)?;
        Poll::Ready(Ok(n))
    }

    /// Queues a send of `data` that nobody waits for.
    #[cfg(target_os = "linux")]
    fn queue(
        &mut self,
        sock: &Arc<Socket>,
        data: Vec<u8>,
        permit: Option<crate::driver::uring::limit::Permit>,
    ) -> io::Result<()> {
        let fd = sock.raw();
        let after: Arc<dyn ops::AfterSend> = sock.clone();
        let mut op = crate::driver::uring_io(|d| ops::send(d, fd, data, Some(after), permit))?;
        op.keep_running();
        self.behind = Some(op);
        Ok(())
    }
}

/// The future of [`Writer::write`]: [`Writer::poll_write`], then (io_uring) the wait for
/// the send it queued, so that a write that returned was handed to the kernel.
pub(crate) struct WriteFuture<'a, 'b> {
    sock: &'a Arc<Socket>,
    writer: &'a mut Writer,
    src: Src<'a, 'b>,
    /// Bytes this write queued (io_uring), once it did.
    #[cfg(target_os = "linux")]
    queued: Option<usize>,
}

impl Future for WriteFuture<'_, '_> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        #[cfg(target_os = "linux")]
        if let Some(n) = this.queued {
            return this.writer.poll_settle(this.sock, cx).map_ok(|()| n);
        }
        let n = ready!(this.writer.poll_write(this.sock, &this.src, cx))?;
        #[cfg(target_os = "linux")]
        if this.writer.behind.is_some() {
            // Queued (io_uring): wait for it.
            this.queued = Some(n);
            return this.writer.poll_settle(this.sock, cx).map_ok(|()| n);
        }
        Poll::Ready(Ok(n))
    }
}

impl Drop for WriteFuture<'_, '_> {
    fn drop(&mut self) {
        self.writer.leave(self.sock);
    }
}
