//! A `TcpStream` split into a read half and a write half, borrowed or owned.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use super::stream::{read_exact, shutdown, TcpStream};
use crate::net::socket::Socket;
use crate::net::stream::{Dest, Reader, Src, Writer};

/// The read half of [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    sock: &'a Socket,
    reader: &'a mut Reader,
}

/// The write half of [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a> {
    sock: &'a Arc<Socket>,
    writer: &'a mut Writer,
}

impl<'a> ReadHalf<'a> {
    pub(crate) fn new(s: &'a mut TcpStream) -> (ReadHalf<'a>, WriteHalf<'a>) {
        (
            ReadHalf {
                sock: &s.sock,
                reader: &mut s.reader,
            },
            WriteHalf {
                sock: &s.sock,
                writer: &mut s.writer,
            },
        )
    }

    /// As [`TcpStream::read`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(self.sock, Dest::Slice(buf)).await
    }

    /// As [`TcpStream::read_vectored`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    pub async fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.reader.read(self.sock, Dest::Vectored(bufs)).await
    }

    /// As [`TcpStream::read_exact`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_exact`].
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        read_exact(self.reader, self.sock, buf).await
    }
}

impl WriteHalf<'_> {
    /// As [`TcpStream::write`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(self.sock, Src::Slice(buf)).await
    }

    /// As [`TcpStream::write_vectored`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write(self.sock, Src::Vectored(bufs)).await
    }

    /// As [`TcpStream::write_all`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all`].
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(self.sock, buf).await
    }

    /// As [`TcpStream::flush`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::flush`].
    pub async fn flush(&mut self) -> io::Result<()> {
        self.writer.flush(self.sock).await
    }

    /// Shuts down the write side.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::shutdown`].
    pub fn shutdown(&self) -> io::Result<()> {
        shutdown(self.sock, self.writer, Shutdown::Write)
    }
}

/// The read half of [`TcpStream::into_split`]; it can move to another task.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// use hiver_runtime::io::{TcpListener, TcpStream};
/// let l = TcpListener::bind("127.0.0.1:0").await?;
/// let c = TcpStream::connect(l.local_addr()?).await?;
/// let (mut rd, mut wr) = c.into_split();
/// let (mut s, _) = l.accept().await?;
/// wr.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// s.read_exact(&mut buf).await?;
/// s.write_all(&buf).await?;
/// rd.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// let _stream = rd.reunite(wr).expect("same stream");
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    sock: Arc<Socket>,
    reader: Reader,
}

/// The write half of [`TcpStream::into_split`]. Dropping it shuts the write side down
/// (the peer reads end of stream), as tokio's does.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    sock: Arc<Socket>,
    writer: Writer,
    shutdown_on_drop: bool,
}

/// [`OwnedReadHalf::reunite`] was given halves of two different streams; both are returned.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl std::error::Error for ReuniteError {}

impl OwnedReadHalf {
    pub(crate) fn new(s: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                sock: s.sock.clone(),
                reader: s.reader,
            },
            OwnedWriteHalf {
                sock: s.sock,
                writer: s.writer,
                shutdown_on_drop: true,
            },
        )
    }

    /// As [`TcpStream::read`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(&self.sock, Dest::Slice(buf)).await
    }

    /// As [`TcpStream::read_vectored`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    pub async fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.reader.read(&self.sock, Dest::Vectored(bufs)).await
    }

    /// As [`TcpStream::read_exact`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_exact`].
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        read_exact(&mut self.reader, &self.sock, buf).await
    }

    /// As [`TcpStream::read_owned`].
    pub async fn read_owned(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.reader.read_owned(&self.sock, buf).await
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.peer_addr()
    }

    /// Puts the halves back together.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] (with both halves) if they come from different streams.
    // The halves themselves are the error (as tokio's `reunite`): nothing to box.
    #[allow(clippy::result_large_err)]
    pub fn reunite(self, mut w: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.sock, &w.sock) {
            return Err(ReuniteError(self, w));
        }
        w.shutdown_on_drop = false;
        let writer = std::mem::take(&mut w.writer);
        drop(w);
        Ok(TcpStream {
            sock: self.sock,
            reader: self.reader,
            writer,
        })
    }
}

impl OwnedWriteHalf {
    /// As [`TcpStream::write`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Slice(buf)).await
    }

    /// As [`TcpStream::write_vectored`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Vectored(bufs)).await
    }

    /// As [`TcpStream::write_all`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all`].
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(&self.sock, buf).await
    }

    /// As [`TcpStream::write_owned`].
    pub async fn write_owned(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.writer.write_owned(&self.sock, buf).await
    }

    /// As [`TcpStream::flush`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::flush`].
    pub async fn flush(&mut self) -> io::Result<()> {
        self.writer.flush(&self.sock).await
    }

    /// Shuts down the write side (after what was written).
    ///
    /// # Errors
    ///
    /// As [`TcpStream::shutdown`].
    pub fn shutdown(&self) -> io::Result<()> {
        shutdown(&self.sock, &self.writer, Shutdown::Write)
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // NotConnected when the peer is gone already: nothing left to shut.
            let _ = shutdown(&self.sock, &self.writer, Shutdown::Write);
        }
    }
}
