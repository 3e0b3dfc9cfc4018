//! `futures_io::{AsyncRead, AsyncBufRead, AsyncWrite}` for the streams, their halves and
//! `File`, and `AsyncSeek` for `File` (feature `futures-io`).

use std::io::{self, IoSlice, IoSliceMut, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use super::{PollBufRead, PollRead, PollWrite};
use crate::bufs::{Dest, Src};

macro_rules! read_impl {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().read_poll(cx, &mut Dest::Slice(buf))
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().read_poll(cx, &mut Dest::Vectored(bufs))
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

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().flush_poll(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().shutdown_poll(cx)
            }
        }
    };
}

for_each_writer!(write_impl);

impl AsyncSeek for crate::fs::File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        ready!(this.cursor.poll_settle(&this.fd, cx))?;
        Poll::Ready(this.cursor.seek_settled(&this.fd, pos))
    }
}
