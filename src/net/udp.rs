//! `UdpSocket`: datagrams on every driver.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use hiver_sys::sockaddr::SockAddrBuf;
use rustix::net::SocketType;

use crate::net::datagram::Datagram;
use crate::net::socket::{each_addr, resolve, with_context, Socket};

/// A UDP socket.
///
/// A datagram longer than the buffer given to `recv_from` is truncated, as the OS does.
/// `recv_from` is cancel-safe: a datagram the kernel delivered for a dropped call is
/// returned by the next one.
///
/// ```
/// use hiver_runtime::io::UdpSocket;
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let socket = UdpSocket::bind("127.0.0.1:0").await?;
/// let me = socket.local_addr()?;
/// socket.send_to(b"Hello, UDP!", me).await?; // to itself
/// let mut buf = [0u8; 1024];
/// let (n, from) = socket.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"Hello, UDP!"[..], me));
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    inner: Datagram,
}

impl UdpSocket {
    /// Binds to `addr` (each resolved address in turn).
    ///
    /// # Errors
    ///
    /// Resolution failures; the last address's socket or bind error.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let a = hiver_runtime::io::UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = hiver_runtime::io::UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"ping", b.local_addr()?).await?;
    /// let mut buf = [0u8; 16];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |a| async move {
            let sock = Socket::new(&a, SocketType::DGRAM)?;
            rustix::net::bind(sock.fd(), &a)
                .map_err(|e| with_context(e, format_args!("bind {a}")))?;
            Ok(UdpSocket {
                inner: Datagram::new(sock),
            })
        })
        .await
    }

    /// Sets the default peer: `send` goes there, and only its datagrams are received.
    ///
    /// # Errors
    ///
    /// Resolution failures; the last address's `connect` error.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(b.local_addr()?).await?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| async move { self.inner.connect(&a.into()) }).await
    }

    /// Sends `buf` as one datagram to `target` (its first resolved address).
    ///
    /// # Errors
    ///
    /// Resolution failures; the kernel's (`EMSGSIZE` for a datagram too long, ...).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_eq!(a.send_to(b"ping", b.local_addr()?).await?, 4);
    /// let mut buf = [0u8; 8];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = resolve(target)?[0];
        self.inner.send(buf, Some(&addr.into())).await
    }

    /// Sends `buf` to the connected peer.
    ///
    /// # Errors
    ///
    /// Without [`connect`](Self::connect), the kernel's `EDESTADDRREQ` ("destination
    /// address required"); the kernel's error otherwise.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(b.local_addr()?).await?;
    /// assert_eq!(a.send(b"ping").await?, 4);
    /// let mut buf = [0u8; 8];
    /// assert_eq!(b.recv_from(&mut buf).await?, (4, a.local_addr()?));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.send(buf, None).await
    }

    /// Receives one datagram into `buf`: its length (at most `buf.len()`: the rest of a
    /// longer datagram is discarded) and its source.
    ///
    /// # Errors
    ///
    /// The kernel's (`ConnectionRefused` after an ICMP port-unreachable on a connected
    /// socket, ...).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"longer than four", b.local_addr()?).await?;
    /// let mut buf = [0u8; 4];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"long"[..], a.local_addr()?), "truncated");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.inner.recv_from(buf).await?;
        Ok((n, ip_source(&addr)?))
    }

    /// Receives one datagram from the connected peer into `buf`.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// b.connect(a.local_addr()?).await?;
    /// a.send_to(b"hi", b.local_addr()?).await?;
    /// let mut buf = [0u8; 8];
    /// let n = b.recv(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let sock = hiver_runtime::io::UdpSocket::bind("127.0.0.1:0").await?;
    /// let addr = sock.local_addr()?;
    /// assert!(addr.ip().is_loopback());
    /// assert_ne!(addr.port(), 0, "the port the kernel chose");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.sock.local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](Self::connect).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// let err = a.peer_addr().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
    /// a.connect(b.local_addr()?).await?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.sock.peer_addr()
    }

    /// Allows sending to broadcast addresses (`SO_BROADCAST`).
    ///
    /// # Errors
    ///
    /// `setsockopt`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let sock = hiver_runtime::io::UdpSocket::bind("127.0.0.1:0").await?;
    /// sock.set_broadcast(true)?;
    /// sock.set_broadcast(false)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_socket_broadcast(
            self.inner.sock.fd(),
            on,
        )?)
    }
}

/// A datagram's source as std's address.
fn ip_source(addr: &SockAddrBuf) -> io::Result<SocketAddr> {
    addr.to_std().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "datagram without an IPv4/IPv6 source address",
        )
    })
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
