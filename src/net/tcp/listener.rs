//! `TcpListener`: bind, accept.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use rustix::net::SocketType;

use super::stream::TcpStream;
use crate::net::listener::Listener;
use crate::net::socket::{each_addr, to_std, with_context, Socket};

/// A TCP socket listening for connections.
///
/// On io_uring, one multishot accept keeps taking connections into the listener's queue
/// while anyone accepts: a connection accepted for an `accept` future that was dropped is
/// returned by the next `accept` (cancel-safe, as on the readiness drivers).
///
/// ```
/// use hiver_runtime::io::{TcpListener, TcpStream};
/// use hiver_runtime::{spawn, Runtime};
/// let mut runtime = Runtime::new()?;
/// runtime.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?; // any free port
///     let addr = listener.local_addr()?;
///     // An echo server: a task per connection.
///     spawn(async move {
///         while let Ok((mut stream, _peer)) = listener.accept().await {
///             spawn(async move {
///                 let mut buf = [0u8; 1024];
///                 loop {
///                     let n = stream.read(&mut buf).await?;
///                     if n == 0 { break; }
///                     stream.write_all(&buf[..n]).await?;
///                 }
///                 Ok::<_, std::io::Error>(())
///             });
///         }
///     });
///
///     let mut client = TcpStream::connect(addr).await?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     client.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<_, std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    inner: Listener,
}

impl TcpListener {
    /// Binds to `addr` (each resolved address in turn) and listens, with `SO_REUSEADDR`.
    ///
    /// # Errors
    ///
    /// Resolution failures, and the last address's socket, bind or listen error.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let listener = hiver_runtime::io::TcpListener::bind("127.0.0.1:0").await?;
    /// assert_ne!(listener.local_addr()?.port(), 0);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move { TcpListener::bind_one(a, false) }).await
    }

    /// Binds with `SO_REUSEPORT` as well, so that several listeners (one per worker) share
    /// the address and the kernel spreads connections among them.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::TcpListener;
    /// let a = TcpListener::bind_reuseport("127.0.0.1:0").await?;
    /// let b = TcpListener::bind_reuseport(a.local_addr()?).await?;
    /// assert_eq!(a.local_addr()?, b.local_addr()?);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move { TcpListener::bind_one(a, true) }).await
    }

    fn bind_one(addr: SocketAddr, reuseport: bool) -> io::Result<TcpListener> {
        let sock = Socket::new(&addr, SocketType::STREAM)?;
        rustix::net::sockopt::set_socket_reuseaddr(sock.fd(), true)?;
        if reuseport {
            rustix::net::sockopt::set_socket_reuseport(sock.fd(), true)?;
        }
        rustix::net::bind(sock.fd(), &addr)
            .map_err(|e| with_context(e, format_args!("bind {addr}")))?;
        Ok(TcpListener {
            inner: Listener::listen(sock)?,
        })
    }

    /// Accepts a connection: the stream and the peer's address. Cancel-safe: a dropped
    /// `accept` loses no connection.
    ///
    /// # Errors
    ///
    /// The kernel's accept error (`EMFILE` when out of descriptors, ...); the next call
    /// tries again.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0").await?;
    /// let c = TcpStream::connect(l.local_addr()?).await?;
    /// let (s, peer) = l.accept().await?;
    /// assert_eq!(peer, c.local_addr()?);
    /// assert_eq!(s.peer_addr()?, peer);
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (sock, addr) = self.inner.accept().await?;
        let addr = match addr {
            Some(a) => to_std(a)?,
            None => sock.peer_addr()?,
        };
        Ok((TcpStream::from_socket(sock), addr))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let l = hiver_runtime::io::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = l.local_addr()?;
    /// assert!(addr.ip().is_loopback());
    /// assert_ne!(addr.port(), 0, "the port the kernel chose");
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.sock.local_addr()
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
