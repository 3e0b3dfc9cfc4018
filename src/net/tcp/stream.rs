//! `TcpStream`: connect, read, write, and the owned-buffer forms.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use rustix::net::SocketType;

use crate::net::socket::{each_addr, with_context, Socket};
use crate::net::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::stream::{Dest, Reader, Src, Writer};

/// A TCP connection.
///
/// Every method is inherent (no trait to import) and works on every driver. `read` is
/// cancel-safe: see the crate's cancel-safety notes; `write_all` is not.
///
/// ```no_run
/// use hiver_runtime::io::TcpStream;
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let mut stream = TcpStream::connect("127.0.0.1:8080").await?;
/// stream.write_all(b"Hello, server!").await?;
/// let mut buf = [0u8; 1024];
/// let n = stream.read(&mut buf).await?;
/// println!("Server response: {}", String::from_utf8_lossy(&buf[..n]));
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    pub(crate) sock: Arc<Socket>,
    pub(crate) reader: Reader,
    pub(crate) writer: Writer,
}

impl TcpStream {
    pub(crate) fn from_socket(sock: Socket) -> TcpStream {
        TcpStream {
            sock: Arc::new(sock),
            reader: Reader::default(),
            writer: Writer::default(),
        }
    }

    /// Connects to `addr` (each resolved address in turn).
    ///
    /// # Errors
    ///
    /// Resolution failures; the last address's error (`ConnectionRefused` for a closed
    /// port).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_one).await
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let sock = Socket::new(&addr, SocketType::STREAM)?;
        sock.connect(&addr.into())
            .await
            .map_err(|e| with_context(e, format_args!("connect {addr}")))?;
        Ok(TcpStream::from_socket(sock))
    }

    /// Reads into `buf`; `Ok(0)` at end of stream (or for an empty `buf`).
    ///
    /// Cancel-safe: if the future is dropped, no byte is lost; bytes the kernel had
    /// already received for it are returned by the next read.
    ///
    /// # Errors
    ///
    /// The socket's error (`ConnectionReset`, ...).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(&self.sock, Dest::Slice(buf)).await
    }

    /// Reads into several buffers in order.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.reader.read(&self.sock, Dest::Vectored(bufs)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first; otherwise as [`read`](Self::read).
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.reader.read_exact(&self.sock, buf).await
    }

    /// Writes some of `buf`; returns how many bytes were written.
    ///
    /// # Errors
    ///
    /// The socket's error: `BrokenPipe` or `ConnectionReset` when the peer is gone (never a
    /// `SIGPIPE`).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Slice(buf)).await
    }

    /// Writes several buffers in order; returns how many bytes were written.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Vectored(bufs)).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); `WriteZero` if the socket takes no bytes.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(&self.sock, buf).await
    }

    /// Waits until everything written was handed to the kernel: on io_uring, the send of
    /// a write whose future was dropped after it started; otherwise there is nothing to
    /// wait for (every completed write was) and this returns at once.
    ///
    /// # Errors
    ///
    /// The error of such a send (`BrokenPipe`, `ConnectionReset`, ...).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// c.write_all(b"bye").await?;
    /// c.flush().await?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        self.writer.flush(&self.sock).await
    }

    /// Reads into `buf`'s spare capacity, the buffer given and returned: on io_uring the
    /// kernel writes into it directly (no copy). Returns the bytes read and the buffer
    /// with its length grown by them.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// c.write_all(b"hi").await?;
    /// let (n, buf) = s.read_owned(Vec::with_capacity(16)).await;
    /// assert_eq!(&buf[..n?], b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_owned(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.reader.read_owned(&self.sock, buf).await
    }

    /// Writes from `buf`, given and returned: on io_uring the kernel reads it directly.
    /// Returns the bytes written (possibly fewer than `buf.len()`) and the buffer.
    pub async fn write_owned(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.writer.write_owned(&self.sock, buf).await
    }

    /// Shuts down the read side, the write side, or both (the peer reads end of stream
    /// after a write shutdown, which comes after every byte written before it, even on
    /// io_uring where the last send may still be in flight).
    ///
    /// # Errors
    ///
    /// `shutdown`'s (`NotConnected`, ...).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.writer.shutdown(&self.sock, how)
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` when the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// `setsockopt`'s.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_tcp_nodelay(self.sock.fd(), on)?)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// `getsockopt`'s.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(rustix::net::sockopt::tcp_nodelay(self.sock.fd())?)
    }

    /// Borrowed halves, usable at once from one task (for instance in `select!`).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        ReadHalf::new(&self.sock, &mut self.reader, &mut self.writer)
    }

    /// Owned halves, which can move to different tasks; [`OwnedReadHalf::reunite`] puts
    /// them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        OwnedReadHalf::new(self.sock, self.reader, self.writer)
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
