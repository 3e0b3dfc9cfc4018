//! The cursor calls of a [`File`](super::File) (`read`, `write`, `seek`, ...): they use and
//! move the kernel's file position, as std's do, so append mode and files shared with std
//! behave alike.
//!
//! **Cancel safety** is the sockets' rule. A cursor operation whose future is dropped
//! stays with the file ([`Cursor::left`]) and the next cursor call settles it first:
//! - a read's bytes (the kernel moved the position past them) go to the stash, which the
//!   next reads return: no byte is lost; on io_uring the read is also asked to stop;
//! - a write, once submitted, is never cancelled: it completes (its rest is written if the
//!   kernel took only part), and the next cursor call or [`flush`](super::File::flush)
//!   reports its error. Writes stay in order.
//!
//! A write or seek after bytes were stashed first moves the position back over them.

use std::future::{poll_fn, Future};
use std::io::{self, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::fd::FileFd;
use super::op::{self, give, take, Done, Op, MAX_COPY};
use crate::bufs::{Dest, Src};

/// An operation whose future was dropped.
#[derive(Debug)]
enum Left {
    Read(Op),
    Write(Op),
}

/// A file's cursor state: what a dropped call left, and bytes read for nobody yet.
#[derive(Default)]
pub(crate) struct Cursor {
    left: Option<Left>,
    stash: Vec<u8>,
    taken: usize,
    /// A seek tokio's `AsyncSeek::start_seek` asked for, done by `poll_complete`.
    #[cfg(feature = "tokio-io")]
    pub(crate) seek: Option<SeekFrom>,
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("left", &self.left)
            .field("stashed", &self.stashed())
            .finish()
    }
}

/// Cancels a read left in flight when the call that started it is dropped.
struct StopRead<'a>(&'a mut Cursor);

impl Drop for StopRead<'_> {
    fn drop(&mut self) {
        if let Some(Left::Read(op)) = &self.0.left {
            op.cancel();
        }
    }
}

impl Cursor {
    /// The left operation's end, taken out of the cursor: `None` if there is none.
    fn poll_left(&mut self, cx: &mut Context<'_>) -> Poll<Option<(bool, Done)>> {
        let (write, op) = match &mut self.left {
            None => return Poll::Ready(None),
            Some(Left::Read(op)) => (false, op),
            Some(Left::Write(op)) => (true, op),
        };
        let done = ready!(Pin::new(op).poll(cx));
        self.left = None;
        Poll::Ready(Some((write, done)))
    }

    /// Finishes what a dropped call (or a poll) left: stashes a read's bytes, completes a
    /// write (its error).
    pub(crate) fn poll_settle(
        &mut self,
        fd: &Arc<FileFd>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while let Some((write, (r, buf))) = ready!(self.poll_left(cx)) {
            if write {
                self.after_write(fd, r, buf)?;
            } else if matches!(r, Ok(n) if n > 0) {
                // Nothing is stashed while a read is in flight: reads take the stash first.
                give(std::mem::replace(&mut self.stash, buf));
                self.taken = 0;
            } else {
                // A read that failed or was cancelled moved nothing: the next read meets
                // its error again, if it lasts.
                give(buf);
            }
        }
        Poll::Ready(Ok(()))
    }

    async fn settle(&mut self, fd: &Arc<FileFd>) -> io::Result<()> {
        poll_fn(|cx| self.poll_settle(fd, cx)).await
    }

    /// A write's end: done, or its rest queued again, or its error.
    fn after_write(
        &mut self,
        fd: &Arc<FileFd>,
        r: io::Result<usize>,
        mut buf: Vec<u8>,
    ) -> io::Result<()> {
        match r {
            Ok(n) if n >= buf.len() => {
                give(buf);
                return Ok(());
            }
            Ok(0) => {
                give(buf);
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the file accepted no bytes",
                ));
            }
            Ok(n) => drop(buf.drain(..n)),
            // Interrupted before any byte: the same write again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                give(buf);
                return Err(e);
            }
        }
        let op = op::write(fd, buf, None).map_err(|(e, _)| e)?;
        self.left = Some(Left::Write(op));
        Ok(())
    }

    /// Bytes stashed and not yet returned.
    fn stashed(&self) -> usize {
        self.stash.len() - self.taken
    }

    /// Moves the file position back over the stashed bytes (before a write or a seek),
    /// and forgets them.
    fn unread(&mut self, fd: &FileFd) -> io::Result<()> {
        let back = self.stashed();
        if back > 0 {
            let back = i64::try_from(back).map_err(io::Error::other)?;
            (&mut fd.file()).seek(SeekFrom::Current(-back))?;
        }
        self.stash.clear();
        self.taken = 0;
        Ok(())
    }

    /// Makes sure bytes are stashed, reading at most `max` (> 0) at the position if none
    /// are: `false` at end of file. The read stays in the cursor while this returns
    /// `Pending` (no cancel: the I/O trait impls poll it again); it is settled first if a
    /// dropped call left it, and a write left is completed first.
    fn poll_stash(
        &mut self,
        fd: &Arc<FileFd>,
        max: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<bool>> {
        loop {
            if self.stashed() > 0 {
                return Poll::Ready(Ok(true));
            }
            match ready!(self.poll_left(cx)) {
                Some((true, (r, buf))) => self.after_write(fd, r, buf)?,
                Some((false, (r, buf))) => match r {
                    Ok(0) => {
                        give(buf);
                        return Poll::Ready(Ok(false));
                    }
                    Ok(_) => {
                        give(std::mem::replace(&mut self.stash, buf));
                        self.taken = 0;
                    }
                    // Stopped for a dropped call before it read anything: read again.
                    Err(e) if is_cancel(&e) => give(buf),
                    Err(e) => {
                        give(buf);
                        return Poll::Ready(Err(e));
                    }
                },
                None => {
                    let max = max.min(MAX_COPY);
                    let op = op::read(fd, take(max), max, None).map_err(|(e, _)| e)?;
                    self.left = Some(Left::Read(op));
                }
            }
        }
    }

    /// Reads into `dest` at the position: the stash first, else one read (see
    /// [`poll_stash`](Self::poll_stash)); `Ok(0)` at end of file.
    pub(crate) fn poll_read(
        &mut self,
        fd: &Arc<FileFd>,
        dest: &mut Dest<'_, '_>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        if dest.len() == 0 || !ready!(self.poll_stash(fd, dest.len(), cx))? {
            return Poll::Ready(Ok(0));
        }
        let n = dest.fill(&self.stash[self.taken..]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }

    /// The stashed bytes, read (at most `max`) if there are none: empty at end of file.
    #[cfg(any(feature = "futures-io", feature = "tokio-io"))]
    pub(crate) fn poll_fill_buf(
        &mut self,
        fd: &Arc<FileFd>,
        max: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<&[u8]>> {
        if !ready!(self.poll_stash(fd, max, cx))? {
            return Poll::Ready(Ok(&[]));
        }
        Poll::Ready(Ok(&self.stash[self.taken..]))
    }

    /// Marks `n` stashed bytes as read.
    pub(crate) fn consume(&mut self, n: usize) {
        self.taken = (self.taken + n).min(self.stash.len());
    }

    /// Reads into `dest` at the position; a read in flight when the future is dropped is
    /// asked to stop and stays in the cursor (its bytes, if it got some, are stashed).
    pub(crate) async fn read_into(
        &mut self,
        fd: &Arc<FileFd>,
        mut dest: Dest<'_, '_>,
    ) -> io::Result<usize> {
        let guard = StopRead(self);
        poll_fn(|cx| guard.0.poll_read(fd, &mut dest, cx)).await
    }

    /// Reads into `dst` at the position.
    pub(crate) async fn read(&mut self, fd: &Arc<FileFd>, dst: &mut [u8]) -> io::Result<usize> {
        self.read_into(fd, Dest::Slice(dst)).await
    }

    /// Writes some of `src` at the position: write-behind, for the I/O trait impls. What a
    /// dropped call or a poll left is settled first (`Pending` while a write is in flight:
    /// nothing of `src` is taken then); the file position is moved back over stashed
    /// bytes; then a write of a copy of `src` (at most `MAX_COPY` bytes) is started and its
    /// length returned at once. The next call (or [`poll_settle`](Self::poll_settle))
    /// completes it and reports its error.
    pub(crate) fn poll_write(
        &mut self,
        fd: &Arc<FileFd>,
        src: &Src<'_, '_>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        if src.len() == 0 {
            return Poll::Ready(Ok(0));
        }
        ready!(self.poll_settle(fd, cx))?;
        self.unread(fd)?;
        let v = src.gather(MAX_COPY);
        let n = v.len();
        let op = op::write(fd, v, None).map_err(|(e, _)| e)?;
        self.left = Some(Left::Write(op));
        Poll::Ready(Ok(n))
    }

    /// Writes `src` at the position (at most `MAX_COPY` bytes of it, all of those).
    pub(crate) async fn write(&mut self, fd: &Arc<FileFd>, src: &[u8]) -> io::Result<usize> {
        let src = Src::Slice(src);
        let n = poll_fn(|cx| self.poll_write(fd, &src, cx)).await?;
        self.settle(fd).await?;
        Ok(n)
    }

    /// Moves the position (over the stash, which the kernel's position is past).
    pub(crate) async fn seek(&mut self, fd: &Arc<FileFd>, pos: SeekFrom) -> io::Result<u64> {
        self.settle(fd).await?;
        self.seek_settled(fd, pos)
    }

    /// Moves the position, with nothing left in flight.
    pub(crate) fn seek_settled(&mut self, fd: &FileFd, pos: SeekFrom) -> io::Result<u64> {
        let pos = match pos {
            SeekFrom::Current(d) => {
                let back = i64::try_from(self.stashed()).map_err(io::Error::other)?;
                SeekFrom::Current(d.checked_sub(back).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "seek offset out of range")
                })?)
            }
            other => other,
        };
        self.stash.clear();
        self.taken = 0;
        (&mut fd.file()).seek(pos)
    }

    /// Waits for a write a dropped call left; its error.
    pub(crate) async fn flush(&mut self, fd: &Arc<FileFd>) -> io::Result<()> {
        self.settle(fd).await
    }
}

/// Whether `e` is a read stopped by a cancel (or a signal) before it read anything.
fn is_cancel(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
        || e.raw_os_error() == Some(rustix::io::Errno::CANCELED.raw_os_error())
}
