//! `tokio::io::{AsyncRead, AsyncBufRead, AsyncWrite}` for the streams, their halves and
//! `File`, and `AsyncSeek` for `File` (feature `tokio-io`). tokio's `ReadBuf` may be
//! uninitialized: it is filled by copy (`put_slice`), so no `unsafe` is needed.

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

use super::{PollBufRead, PollRead, PollWrite};
use crate::bufs::{Dest, ReadSink, Src};

/// tokio's `ReadBuf` as a read destination.
struct TokioSink<'r, 'b>(&'r mut ReadBuf<'b>);

impl ReadSink for TokioSink<'_, '_> {
    fn remaining(&self) -> usize {
        self.0.remaining()
    }

    fn put(&mut self, src: &[u8]) -> usize {
        let n = src.len().min(self.0.remaining());
        self.0.put_slice(&src[..n]);
        n
    }

    fn read_room(&self) -> usize {
        if self.lends() {
            self.0.remaining()
        } else {
            crate::bufs::scratch_room(self.0.remaining())
        }
    }

    fn read_with(
        &mut self,
        read: &mut dyn FnMut(&mut [u8]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if !self.lends() {
            let room = self.0.remaining();
            return crate::bufs::read_through_scratch(self, room, read);
        }
        let n = read(self.0.initialize_unfilled())?;
        self.0.advance(n);
        Ok(n)
    }
}

impl TokioSink<'_, '_> {
    /// Whether its room is initialized, so lent as it is; otherwise reading through the
    /// scratch buffer (a copy of what came) costs less than zeroing the room for a few
    /// bytes.
    fn lends(&self) -> bool {
        self.0.initialized().len() == self.0.capacity()
    }
}

macro_rules! read_impl {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let sink = &mut TokioSink(buf);
                self.get_mut().read_poll(cx, &mut Dest::Sink(sink)).map_ok(drop)
            }
        }

        impl<$($g)*> AsyncBufRead for $ty {
            fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
                self.get_mut().fill_buf_poll(cx)
            }

            fn consume(self: Pin<&mut Self>, amt: usize) {
                self.get_mut().consume_bytes(amt)
            }
        }
    };
}

for_each_reader!(read_impl);

macro_rules! write_impl {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().write_poll(cx, &Src::Slice(buf))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().write_poll(cx, &Src::Vectored(bufs))
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().flush_poll(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().shutdown_poll(cx)
            }
        }
    };
}

for_each_writer!(write_impl);

impl AsyncSeek for crate::fs::File {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let seek = &mut self.get_mut().cursor.seek;
        if seek.is_some() {
            return Err(io::Error::other(
                "a seek is in progress: call poll_complete before start_seek",
            ));
        }
        *seek = Some(pos);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        ready!(this.cursor.poll_settle(&this.fd, cx))?;
        // Without a seek started, the position (as tokio's own `File` answers).
        let pos = this.cursor.seek.take().unwrap_or(SeekFrom::Current(0));
        Poll::Ready(this.cursor.seek_settled(&this.fd, pos))
    }
}
