//! `UnixStream`: connect to a path (or make a connected pair), read, write, and the
//! owned-buffer forms, on the stream machinery TCP uses.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustix::net::{AddressFamily, SocketType};

use super::addr;
use crate::net::socket::{with_context, Socket};
use crate::net::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::stream::{Dest, Reader, Src, Writer};

/// A Unix-domain stream connection.
///
/// It has [`TcpStream`](crate::io::TcpStream)'s methods, with the same cancel safety:
/// `read` loses no byte if its future is dropped, `write_all` may have written a prefix.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// use hiver_runtime::io::UnixStream;
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"Hello, peer!").await?;
/// let mut buf = [0u8; 1024];
/// let n = b.read(&mut buf).await?;
/// assert_eq!(&buf[..n], b"Hello, peer!");
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    pub(crate) sock: Arc<Socket>,
    pub(crate) reader: Reader,
    pub(crate) writer: Writer,
}

impl UnixStream {
    pub(crate) fn from_socket(sock: Socket) -> UnixStream {
        UnixStream {
            sock: Arc::new(sock),
            reader: Reader::default(),
            writer: Writer::default(),
        }
    }

    /// Connects to the listener at `path` (on Linux, a path starting with a NUL byte names
    /// the abstract namespace).
    ///
    /// # Errors
    ///
    /// `NotFound` when nothing is at `path`; `ConnectionRefused` when nobody listens
    /// there (a socket file left behind); `InvalidInput` for a path no socket address
    /// holds (see [`UnixListener::bind`](crate::io::UnixListener::bind)). When the
    /// listener's backlog is full, io_uring waits for room, while epoll fails with
    /// `WouldBlock` and kqueue with the kernel's error (`ConnectionRefused` on the BSDs):
    /// a Unix-domain connect has no event to wait for there. Each message names the path.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let err = UnixStream::connect("/nonexistent/hiver.sock").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().contains("/nonexistent/hiver.sock"));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let name = addr::encode(path, "connect")?;
        let sock = Socket::new_in(AddressFamily::UNIX, SocketType::STREAM)?;
        sock.connect(&name)
            .await
            .map_err(|e| with_context(e, format_args!("connect {}", path.display())))?;
        Ok(UnixStream::from_socket(sock))
    }

    /// Two streams connected to each other (`socketpair`), unnamed. Must be called inside
    /// the runtime (the sockets are made for its driver).
    ///
    /// # Errors
    ///
    /// `socketpair`'s (`EMFILE`, ...); outside a runtime, an error saying so.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, b) = UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// assert!(b.peer_addr()?.is_unnamed());
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::new_pair(SocketType::STREAM)?;
        Ok((UnixStream::from_socket(a), UnixStream::from_socket(b)))
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
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// a.write_all(b"abc").await?;
    /// drop(a);
    /// let mut buf = [0u8; 8];
    /// let n = b.read(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"abc");
    /// assert_eq!(b.read(&mut buf).await?, 0, "end of stream");
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
    /// use std::io::{IoSlice, IoSliceMut};
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// a.write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")]).await?;
    /// let (mut x, mut y) = ([0u8; 1], [0u8; 3]);
    /// let n = b.read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]).await?;
    /// assert_eq!((n, &x, &y), (4, b"a", b"bcd"));
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
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// a.write_all(b"12").await?;
    /// drop(a);
    /// let mut buf = [0u8; 3];
    /// let err = b.read_exact(&mut buf).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
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
    /// The socket's error: `BrokenPipe` when the peer is gone or shut for reading (never a
    /// `SIGPIPE`).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{Shutdown, UnixStream};
    /// let (mut a, b) = UnixStream::pair()?;
    /// assert_eq!(a.write(b"hi").await?, 2);
    /// b.shutdown(Shutdown::Read)?;
    /// let err = a.write_all(b"anyone?").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Slice(buf)).await
    }

    /// Writes several buffers in order; returns how many bytes were written (see
    /// [`read_vectored`](Self::read_vectored) for an example).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use std::io::IoSlice;
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let n = a.write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")]).await?;
    /// let mut buf = [0u8; 4];
    /// b.read_exact(&mut buf[..n]).await?;
    /// assert_eq!(&buf[..n], &b"abcd"[..n]);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write(&self.sock, Src::Vectored(bufs)).await
    }

    /// Writes all of `buf` (see [`read`](Self::read) for an example).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); `WriteZero` if the socket takes no bytes.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// a.write_all(b"all of it").await?;
    /// let mut buf = [0u8; 9];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"all of it");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(&self.sock, buf).await
    }

    /// Waits until everything written was handed to the kernel, as
    /// [`TcpStream::flush`](crate::io::TcpStream::flush).
    ///
    /// # Errors
    ///
    /// The error of a send that failed meanwhile (`BrokenPipe`, ...).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (mut a, _b) = hiver_runtime::io::UnixStream::pair()?;
    /// a.write_all(b"bye").await?;
    /// a.flush().await?;
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
    /// let (mut a, mut b) = hiver_runtime::io::UnixStream::pair()?;
    /// let (n, buf) = a.write_owned(b"hi".to_vec()).await;
    /// assert_eq!((n?, &buf[..]), (2, &b"hi"[..]));
    /// let (n, buf) = b.read_owned(Vec::with_capacity(16)).await;
    /// assert_eq!(&buf[..n?], b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_owned(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.reader.read_owned(&self.sock, buf).await
    }

    /// Writes from `buf`, given and returned: on io_uring the kernel reads it directly.
    /// Returns the bytes written (possibly fewer than `buf.len()`) and the buffer (see
    /// [`read_owned`](Self::read_owned) for an example).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let (n, buf) = a.write_owned(b"owned".to_vec()).await;
    /// assert_eq!((n?, &buf[..]), (5, &b"owned"[..]));
    /// let mut got = [0u8; 5];
    /// b.read_exact(&mut got).await?;
    /// assert_eq!(&got, b"owned");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_owned(&mut self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.writer.write_owned(&self.sock, buf).await
    }

    /// Shuts down the read side, the write side, or both (the peer reads end of stream
    /// after a write shutdown, which comes after every byte written before it).
    ///
    /// # Errors
    ///
    /// `shutdown`'s (`NotConnected`, ...).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{Shutdown, UnixStream};
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// a.write_all(b"done").await?;
    /// a.shutdown(Shutdown::Write)?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(b.read(&mut buf).await?, 4);
    /// assert_eq!(b.read(&mut buf).await?, 0);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.writer.shutdown(&self.sock, how)
    }

    /// The peer's address: unnamed unless the peer bound its socket (a listener's path for
    /// a stream from [`connect`](Self::connect)). See [`pair`](Self::pair) and
    /// [`UnixListener::accept`](crate::io::UnixListener::accept) for examples.
    ///
    /// # Errors
    ///
    /// `getpeername`'s (`NotConnected`, ...).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("hiver-doc-speer-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).await?;
    /// let c = UnixStream::connect(&path).await?;
    /// let (s, _) = listener.accept().await?;
    /// assert_eq!(c.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// assert!(s.peer_addr()?.is_unnamed());
    /// std::fs::remove_file(&path)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        addr::peer(&self.sock)
    }

    /// The local address: unnamed for a stream from [`connect`](Self::connect) or
    /// [`pair`](Self::pair) (see its example); the listener's path for an accepted one.
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("hiver-doc-slocal-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).await?;
    /// let c = UnixStream::connect(&path).await?;
    /// let (s, _) = listener.accept().await?;
    /// assert!(c.local_addr()?.is_unnamed());
    /// assert_eq!(s.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        addr::local(&self.sock)
    }

    /// Borrowed halves, usable at once from one task (for instance in `select!`).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (mut a, mut b) = hiver_runtime::io::UnixStream::pair()?;
    /// let (mut rd, mut wr) = a.split();
    /// wr.write_all(b"x").await?;
    /// b.write_all(b"y").await?;
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
    /// use hiver_runtime::spawn;
    /// let (a, mut b) = hiver_runtime::io::UnixStream::pair()?;
    /// let (mut rd, mut wr) = a.into_split();
    /// let writer = spawn(async move { wr.write_all(b"from a task").await.map(|()| wr) });
    /// let mut buf = [0u8; 11];
    /// b.read_exact(&mut buf).await?;
    /// let wr = writer.await.expect("writer task")?;
    /// b.write_all(b"!").await?;
    /// rd.read_exact(&mut buf[..1]).await?;
    /// let _a = rd.reunite(wr).expect("same stream");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>) {
        OwnedReadHalf::new(self.sock, self.reader, self.writer)
    }
}

impl OwnedReadHalf<UnixStream> {
    /// The peer's address (as [`UnixStream::peer_addr`], which has an example).
    ///
    /// # Errors
    ///
    /// As [`UnixStream::peer_addr`].
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (a, _b) = hiver_runtime::io::UnixStream::pair()?;
    /// let (rd, _wr) = a.into_split();
    /// assert!(rd.peer_addr()?.is_unnamed());
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        addr::peer(&self.sock)
    }

    /// Puts the halves back together (see [`UnixStream::into_split`] for an example).
    ///
    /// # Errors
    ///
    /// [`ReuniteError`](crate::io::ReuniteError) (with both halves) if they come from
    /// different streams.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixStream;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let (rd, wr) = a.into_split();
    /// let mut a = rd.reunite(wr).expect("halves of one stream");
    /// a.write_all(b"whole").await?;
    /// let mut buf = [0u8; 5];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"whole");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // The halves themselves are the error (as tokio's `reunite`): nothing to box.
    #[allow(clippy::result_large_err)]
    pub fn reunite(
        self,
        w: OwnedWriteHalf<UnixStream>,
    ) -> Result<UnixStream, crate::io::ReuniteError<UnixStream>> {
        let (sock, reader, writer) = self.reunite_parts(w)?;
        Ok(UnixStream {
            sock,
            reader,
            writer,
        })
    }
}

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
