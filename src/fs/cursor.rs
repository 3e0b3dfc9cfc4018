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

    /// Finishes what a dropped call left: stashes a read's bytes, completes a write.
    async fn settle(&mut self, fd: &Arc<FileFd>) -> io::Result<()> {
        while let Some((write, (r, buf))) = poll_fn(|cx| self.poll_left(cx)).await {
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
        Ok(())
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

    /// Reads at most `max` (> 0) bytes at the position: the stash first, else one read.
    pub(crate) async fn read_vec(&mut self, fd: &Arc<FileFd>, max: usize) -> io::Result<Vec<u8>> {
        self.settle(fd).await?;
        let rest = self.stashed();
        if rest > 0 {
            let k = rest.min(max);
            let mut v = take(k);
            v.extend_from_slice(&self.stash[self.taken..self.taken + k]);
            self.taken += k;
            return Ok(v);
        }
        let op = op::read(fd, take(max), max, None).map_err(|(e, _)| e)?;
        self.left = Some(Left::Read(op));
        let guard = StopRead(self);
        match poll_fn(|cx| guard.0.poll_left(cx)).await {
            Some((_, (r, buf))) => r.map(|_| buf),
            None => Ok(Vec::new()),
        }
    }

    /// Reads into `dst` at the position.
    pub(crate) async fn read(&mut self, fd: &Arc<FileFd>, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        let v = self.read_vec(fd, dst.len().min(MAX_COPY)).await?;
        dst[..v.len()].copy_from_slice(&v);
        let n = v.len();
        give(v);
        Ok(n)
    }

    /// Writes `src` at the position (at most `MAX_COPY` bytes of it, all of those).
    pub(crate) async fn write(&mut self, fd: &Arc<FileFd>, src: &[u8]) -> io::Result<usize> {
        if src.is_empty() {
            return Ok(0);
        }
        self.settle(fd).await?;
        self.unread(fd)?;
        let n = src.len().min(MAX_COPY);
        let mut v = take(n);
        v.extend_from_slice(&src[..n]);
        let op = op::write(fd, v, None).map_err(|(e, _)| e)?;
        self.left = Some(Left::Write(op));
        self.settle(fd).await?;
        Ok(n)
    }

    /// Moves the position (over the stash, which the kernel's position is past).
    pub(crate) async fn seek(&mut self, fd: &Arc<FileFd>, pos: SeekFrom) -> io::Result<u64> {
        self.settle(fd).await?;
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
