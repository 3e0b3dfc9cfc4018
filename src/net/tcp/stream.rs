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
/// ```
/// use hiver_runtime::io::{TcpListener, TcpStream};
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// // A server that answers one greeting.
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let server = hiver_runtime::spawn(async move {
///     let (mut peer, _) = listener.accept().await?;
///     let mut greeting = [0u8; 14];
///     peer.read_exact(&mut greeting).await?;
///     peer.write_all(b"Hello, client!").await
/// });
///
/// let mut stream = TcpStream::connect(addr).await?;
/// stream.write_all(b"Hello, server!").await?;
/// let mut buf = [0u8; 14];
/// stream.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"Hello, client!");
/// server.await.unwrap()?;
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
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let c = TcpStream::connect(l.local_addr()?).await?;
    /// assert_eq!(c.peer_addr()?, l.local_addr()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// c.write_all(b"hi").await?;
    /// let mut buf = [0u8; 8];
    /// let n = s.read(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(&self.sock, Dest::Slice(buf)).await
    }

    /// Reads into several buffers in order.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use std::io::IoSliceMut;
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// c.write_all(b"abcd").await?;
    /// let (mut x, mut y) = ([0u8; 1], [0u8; 3]);
    /// s.read_exact(&mut x).await?;
    /// let n = s.read_vectored(&mut [IoSliceMut::new(&mut y)]).await?;
    /// assert_eq!((&x, &y[..n]), (b"a", &b"bcd"[..n]));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.reader.read(&self.sock, Dest::Vectored(bufs)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first; otherwise as [`read`](Self::read).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// c.write_all(b"ab").await?;
    /// c.write_all(b"cd").await?;
    /// let mut buf = [0u8; 4];
    /// s.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"abcd");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.reader.read_exact(&self.sock, buf).await
    }

    /// Writes some of `buf`; returns how many bytes were written.
    ///
    /// # Errors
    ///
    /// The socket's error: `BrokenPipe` or `ConnectionReset` when the peer is gone (never a
    /// `SIGPIPE`).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// assert_eq!(c.write(b"hi").await?, 2);
    /// let mut buf = [0u8; 2];
    /// s.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Slice(buf)).await
    }

    /// Writes several buffers in order; returns how many bytes were written.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use std::io::IoSlice;
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// let n = c.write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")]).await?;
    /// let mut buf = [0u8; 4];
    /// s.read_exact(&mut buf[..n]).await?;
    /// assert_eq!(&buf[..n], &b"abcd"[..n]);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Vectored(bufs)).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); `WriteZero` if the socket takes no bytes.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// c.write_all(b"all of it").await?;
    /// let mut buf = [0u8; 9];
    /// s.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"all of it");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// let (n, buf) = c.write_owned(b"hi".to_vec()).await;
    /// assert_eq!((n?, &buf[..]), (2, &b"hi"[..]));
    /// let mut got = [0u8; 2];
    /// s.read_exact(&mut got).await?;
    /// assert_eq!(&got, b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::Shutdown;
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// c.write_all(b"done").await?;
    /// c.shutdown(Shutdown::Write)?;
    /// let mut buf = [0u8; 4];
    /// s.read_exact(&mut buf).await?;
    /// assert_eq!(s.read(&mut buf).await?, 0, "end of stream");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.writer.shutdown(&self.sock, how)
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` when the connection is gone.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let c = TcpStream::connect(l.local_addr()?).await?;
    /// let (s, _) = l.accept().await?;
    /// assert_eq!(c.peer_addr()?, l.local_addr()?);
    /// assert_eq!(s.peer_addr()?, c.local_addr()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let c = TcpStream::connect(l.local_addr()?).await?;
    /// let (s, _) = l.accept().await?;
    /// assert!(c.local_addr()?.ip().is_loopback());
    /// assert_eq!(s.local_addr()?, l.local_addr()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// `setsockopt`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let c = TcpStream::connect(l.local_addr()?).await?;
    /// c.set_nodelay(true)?;
    /// assert!(c.nodelay()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_tcp_nodelay(self.sock.fd(), on)?)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// `getsockopt`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let c = TcpStream::connect(l.local_addr()?).await?;
    /// assert!(!c.nodelay()?, "Nagle's algorithm is on by default");
    /// c.set_nodelay(true)?;
    /// assert!(c.nodelay()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(rustix::net::sockopt::tcp_nodelay(self.sock.fd())?)
    }

    /// Borrowed halves, usable at once from one task (for instance in `select!`).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// let (mut rd, mut wr) = c.split();
    /// wr.write_all(b"x").await?;
    /// s.write_all(b"y").await?;
    /// let mut buf = [0u8; 1];
    /// rd.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"y");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        ReadHalf::new(&self.sock, &mut self.reader, &mut self.writer)
    }

    /// Owned halves, which can move to different tasks; [`OwnedReadHalf::reunite`] puts
    /// them back together.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let c = TcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// let (_rd, mut wr) = c.into_split();
    /// let writer = hiver_runtime::spawn(async move { wr.write_all(b"from a task").await });
    /// let mut buf = [0u8; 11];
    /// s.read_exact(&mut buf).await?;
    /// writer.await.expect("writer task")?;
    /// assert_eq!(&buf, b"from a task");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
