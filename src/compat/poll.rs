//! [`PollRead`], [`PollBufRead`] and [`PollWrite`] for the streams, their halves and
//! `File`: each a call of the poll function the inherent methods' futures use too.

use std::io;
use std::task::{Context, Poll};

#[cfg(any(feature = "futures-io", feature = "tokio-io"))]
use super::PollBufRead;
use super::{PollRead, PollWrite};
use crate::bufs::{Dest, Src};
use crate::fs::File;
use crate::io::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpStream, UnixStream, WriteHalf};

/// What `poll_fill_buf` reads at most from a socket: one provided buffer's worth.
#[cfg(any(feature = "futures-io", feature = "tokio-io"))]
const SOCKET_FILL: usize = 8 * 1024;

/// What `poll_fill_buf` reads at most from a file.
#[cfg(any(feature = "futures-io", feature = "tokio-io"))]
const FILE_FILL: usize = 64 * 1024;

macro_rules! socket_read {
    ($([$($g:tt)*] $ty:ty),* $(,)?) => {$(
        impl<$($g)*> PollRead for $ty {
            fn read_poll(
                &mut self,
                cx: &mut Context<'_>,
                dest: &mut Dest<'_, '_>,
            ) -> Poll<io::Result<usize>> {
                self.reader.poll_read(&self.sock, dest, cx)
            }
        }

        #[cfg(any(feature = "futures-io", feature = "tokio-io"))]
        impl<$($g)*> PollBufRead for $ty {
            fn fill_buf_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
                self.reader.poll_fill_buf(&self.sock, SOCKET_FILL, cx)
            }

            fn consume_bytes(&mut self, n: usize) {
                self.reader.consume(n)
            }
        }
    )*};
}

socket_read!([] TcpStream, [] UnixStream, ['a] ReadHalf<'a>, [S] OwnedReadHalf<S>);

macro_rules! socket_write {
    ($([$($g:tt)*] $ty:ty),* $(,)?) => {$(
        impl<$($g)*> PollWrite for $ty {
            fn write_poll(
                &mut self,
                cx: &mut Context<'_>,
                src: &Src<'_, '_>,
            ) -> Poll<io::Result<usize>> {
                self.writer.poll_write(&self.sock, src, cx)
            }

            fn flush_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.writer.poll_flush(&self.sock, cx)
            }

            fn shutdown_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.writer.poll_shutdown(&self.sock, cx)
            }
        }
    )*};
}

socket_write!([] TcpStream, [] UnixStream, ['a] WriteHalf<'a>, [S] OwnedWriteHalf<S>);

impl PollRead for File {
    fn read_poll(
        &mut self,
        cx: &mut Context<'_>,
        dest: &mut Dest<'_, '_>,
    ) -> Poll<io::Result<usize>> {
        self.cursor.poll_read(&self.fd, dest, cx)
    }
}

#[cfg(any(feature = "futures-io", feature = "tokio-io"))]
impl PollBufRead for File {
    fn fill_buf_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.cursor.poll_fill_buf(&self.fd, FILE_FILL, cx)
    }

    fn consume_bytes(&mut self, n: usize) {
        self.cursor.consume(n)
    }
}

impl PollWrite for File {
    fn write_poll(&mut self, cx: &mut Context<'_>, src: &Src<'_, '_>) -> Poll<io::Result<usize>> {
        self.cursor.poll_write(&self.fd, src, cx)
    }

    fn flush_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.cursor.poll_settle(&self.fd, cx)
    }

    fn shutdown_poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.cursor.poll_settle(&self.fd, cx)
    }
}
