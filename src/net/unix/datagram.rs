//! `UnixDatagram`: Unix-domain datagrams on every driver, on the machinery UDP uses.

use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use rustix::net::{AddressFamily, SocketType};

use super::addr;
use crate::net::datagram::Datagram;
use crate::net::socket::{with_context, Socket};

/// A Unix-domain datagram socket.
///
/// It has [`UdpSocket`](crate::io::UdpSocket)'s methods, with paths for addresses. A
/// datagram longer than the buffer given to `recv_from` is truncated, as the OS does.
/// `recv_from` is cancel-safe: a datagram the kernel delivered for a dropped call is
/// returned by the next one.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// use hiver_runtime::io::UnixDatagram;
/// let dir = std::env::temp_dir().join(format!("hiver-doc-dgram-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let (a_path, b_path) = (dir.join("a.sock"), dir.join("b.sock"));
/// # let _ = (std::fs::remove_file(&a_path), std::fs::remove_file(&b_path));
/// let a = UnixDatagram::bind(&a_path).await?;
/// let b = UnixDatagram::bind(&b_path).await?;
/// a.send_to(b"Hello, datagram!", &b_path).await?;
/// let mut buf = [0u8; 1024];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!(&buf[..n], b"Hello, datagram!");
/// assert_eq!(from.as_pathname(), Some(a_path.as_path()));
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    inner: Datagram,
}

impl UnixDatagram {
    fn new() -> io::Result<UnixDatagram> {
        let sock = Socket::new_in(AddressFamily::UNIX, SocketType::DGRAM)?;
        Ok(UnixDatagram {
            inner: Datagram::new_unix(sock),
        })
    }

    /// Binds to `path` (on Linux, a path starting with a NUL byte names the abstract
    /// namespace).
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind`](crate::io::UnixListener::bind): `AddrInUse` when `path`
    /// exists, `InvalidInput` for a path no socket address holds, ...
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("hiver-doc-dbind-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let sock = UnixDatagram::bind(&path).await?;
    /// assert_eq!(sock.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let name = addr::encode(path, "bind")?;
        let sock = UnixDatagram::new()?;
        rustix::net::bind(sock.inner.sock.fd(), &name)
            .map_err(|e| with_context(e, format_args!("bind {}", path.display())))?;
        Ok(sock)
    }

    /// A socket bound to no name: it can send (to a path, or to the peer after
    /// [`connect`](Self::connect)), and receive only from a connected peer, since nobody
    /// can address it otherwise.
    ///
    /// # Errors
    ///
    /// `socket`'s (`EMFILE`, ...); outside a runtime, an error saying so.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("hiver-doc-unbound-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).await?;
    /// let client = UnixDatagram::unbound()?;
    /// client.send_to(b"who am I?", &path).await?;
    /// let mut buf = [0u8; 16];
    /// let (_, from) = server.recv_from(&mut buf).await?;
    /// assert!(from.is_unnamed());
    /// std::fs::remove_file(&path)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::new()
    }

    /// Two sockets connected to each other (`socketpair`), unnamed.
    ///
    /// # Errors
    ///
    /// `socketpair`'s; outside a runtime, an error saying so.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (a, b) = hiver_runtime::io::UnixDatagram::pair()?;
    /// a.send(b"one").await?;
    /// a.send(b"two").await?;
    /// let mut buf = [0u8; 8];
    /// let n = b.recv(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"one", "datagrams keep their boundaries");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::new_pair(SocketType::DGRAM)?;
        Ok((
            UnixDatagram {
                inner: Datagram::new_unix(a),
            },
            UnixDatagram {
                inner: Datagram::new_unix(b),
            },
        ))
    }

    /// Sets the default peer: `send` goes there, and only its datagrams are received.
    ///
    /// # Errors
    ///
    /// `NotFound` when nothing is at `path`; `ConnectionRefused` when no socket is bound
    /// there; `InvalidInput` for a path no socket address holds. Each message names the
    /// path.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("hiver-doc-dconn-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).await?;
    /// let client = UnixDatagram::unbound()?;
    /// client.connect(&path).await?;
    /// assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// client.send(b"ping").await?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(server.recv(&mut buf).await?, 4);
    /// std::fs::remove_file(&path)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        self.inner
            .connect(&addr::encode(path, "connect")?)
            .map_err(|e| with_context(e, format_args!("connect {}", path.display())))
    }

    /// Sends `buf` as one datagram to the socket bound at `path` (see the type's example).
    /// When the receiver's queue is full (`net.unix.max_dgram_qlen` datagrams on Linux),
    /// the send waits for room; on io_uring that wait is a blocking send on the runtime's
    /// blocking pool, since the ring's own retry of such a send loses its data on Linux.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect) for `path`; the kernel's (`EMSGSIZE` for a datagram
    /// longer than the socket's buffer, ...).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("hiver-doc-dsendto-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).await?;
    /// let client = UnixDatagram::unbound()?;
    /// assert_eq!(client.send_to(b"ping", &path).await?, 4);
    /// let mut buf = [0u8; 8];
    /// assert_eq!(server.recv(&mut buf).await?, 4);
    /// std::fs::remove_file(&path)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner
            .send(buf, Some(&addr::encode(path, "send_to")?))
            .await
            .map_err(|e| with_context(e, format_args!("send_to {}", path.display())))
    }

    /// Sends `buf` to the connected peer (see [`pair`](Self::pair) and
    /// [`connect`](Self::connect) for examples).
    ///
    /// # Errors
    ///
    /// Without [`connect`](Self::connect), the kernel's `ENOTCONN`; `ConnectionRefused`
    /// when the peer is gone; the kernel's error otherwise.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixDatagram;
    /// let (a, b) = UnixDatagram::pair()?;
    /// assert_eq!(a.send(b"hi").await?, 2);
    /// let mut buf = [0u8; 8];
    /// assert_eq!(b.recv(&mut buf).await?, 2);
    /// let err = UnixDatagram::unbound()?.send(b"to whom?").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.send(buf, None).await
    }

    /// Receives one datagram into `buf`: its length (at most `buf.len()`: the rest of a
    /// longer datagram is discarded) and its source (unnamed when the sender did not
    /// bind). See the type's example.
    ///
    /// # Errors
    ///
    /// The kernel's; `InvalidData` for a source address std's type cannot hold (a path of
    /// full length, bound by another program).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (a, b) = hiver_runtime::io::UnixDatagram::pair()?;
    /// a.send(b"truncated").await?;
    /// let mut buf = [0u8; 5];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"trunc");
    /// assert!(from.is_unnamed());
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.inner.recv_from(buf).await?;
        Ok((n, addr::decode(&from)?))
    }

    /// Receives one datagram into `buf` (see [`pair`](Self::pair) for an example).
    ///
    /// # Errors
    ///
    /// The kernel's.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let (a, b) = hiver_runtime::io::UnixDatagram::pair()?;
    /// b.send(b"hi").await?;
    /// let mut buf = [0u8; 8];
    /// let n = a.recv(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv_from(buf).await.map(|(n, _)| n)
    }

    /// The local address (unnamed for [`unbound`](Self::unbound) and
    /// [`pair`](Self::pair) sockets; see [`bind`](Self::bind) for an example).
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixDatagram;
    /// assert!(UnixDatagram::unbound()?.local_addr()?.is_unnamed());
    /// let (a, _b) = UnixDatagram::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        addr::local(&self.inner.sock)
    }

    /// The connected peer's address (see [`connect`](Self::connect) for an example).
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](Self::connect).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixDatagram;
    /// let (a, _b) = UnixDatagram::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// let err = UnixDatagram::unbound()?.peer_addr().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        addr::peer(&self.inner.sock)
    }

    /// Shuts down the read side, the write side, or both. On a socket shut for reading, a
    /// receive returns the datagrams already queued, then 0 bytes (a waiting one too),
    /// on every driver; a send on one shut for writing is `BrokenPipe`.
    ///
    /// # Errors
    ///
    /// `shutdown`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{Shutdown, UnixDatagram};
    /// let (a, _b) = UnixDatagram::pair()?;
    /// a.shutdown(Shutdown::Write)?;
    /// let err = a.send(b"late").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

impl std::fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
