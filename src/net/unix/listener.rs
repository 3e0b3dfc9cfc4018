//! `UnixListener`: bind to a path, accept.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use rustix::net::{AddressFamily, SocketType};

use super::addr;
use super::stream::UnixStream;
use crate::net::listener::Listener;
use crate::net::socket::{with_context, Socket};

/// A Unix-domain stream socket listening for connections.
///
/// On io_uring, one multishot accept keeps taking connections into the listener's queue
/// while anyone accepts: `accept` is cancel-safe on every driver, as
/// [`TcpListener::accept`](crate::io::TcpListener::accept) is. The socket file stays when
/// the listener is dropped (as std's): remove it to bind the path again.
///
/// ```
/// use hiver_runtime::io::{UnixListener, UnixStream};
/// use hiver_runtime::{spawn, Runtime};
///
/// let dir = std::env::temp_dir().join(format!("hiver-doc-listener-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("echo.sock");
/// # let _ = std::fs::remove_file(&path);
/// let mut runtime = Runtime::new()?;
/// runtime.block_on(async {
///     let listener = UnixListener::bind(&path).await?;
///     let server = spawn(async move {
///         let (mut stream, _peer) = listener.accept().await?;
///         let mut buf = [0u8; 1024];
///         let n = stream.read(&mut buf).await?;
///         stream.write_all(&buf[..n]).await
///     });
///     let mut client = UnixStream::connect(&path).await?;
///     client.write_all(b"hello").await?;
///     let mut buf = [0u8; 5];
///     client.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     server.await.expect("server task")
/// })??;
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    inner: Listener,
}

impl UnixListener {
    /// Binds to `path` and listens. On Linux, a path starting with a NUL byte names the
    /// abstract namespace (no file is made).
    ///
    /// # Errors
    ///
    /// `AddrInUse` when `path` exists (a socket file left by an earlier listener
    /// included); `NotFound` when its directory does not exist; `InvalidInput` for an
    /// empty path, one with a NUL byte, or one longer than a socket address holds (107
    /// bytes on Linux, 103 on the BSDs and macOS). Each message names the path.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::UnixListener;
    /// let path = std::env::temp_dir().join(format!("hiver-doc-bind-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).await?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// let again = UnixListener::bind(&path).await.unwrap_err();
    /// assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);
    /// std::fs::remove_file(&path)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let name = addr::encode(path, "bind")?;
        let sock = Socket::new_in(AddressFamily::UNIX, SocketType::STREAM)?;
        rustix::net::bind(sock.fd(), &name)
            .map_err(|e| with_context(e, format_args!("bind {}", path.display())))?;
        Ok(UnixListener {
            inner: Listener::listen(sock)?,
        })
    }

    /// Accepts a connection: the stream and the peer's address (unnamed unless the peer
    /// bound its socket). Cancel-safe: a dropped `accept` loses no connection.
    ///
    /// # Errors
    ///
    /// The kernel's accept error (`EMFILE` when out of descriptors, ...); the next call
    /// tries again.
    ///
    /// ```
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use hiver_runtime::io::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("hiver-doc-accept-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).await?;
    /// let client = UnixStream::connect(&path).await?;
    /// let (server, peer) = listener.accept().await?;
    /// assert!(peer.is_unnamed(), "the client did not bind");
    /// assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop((client, server));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (sock, given) = self.inner.accept().await?;
        let peer = addr::accepted(&sock, given)?;
        Ok((UnixStream::from_socket(sock), peer))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")]
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// use std::os::linux::net::SocketAddrExt;
    /// use hiver_runtime::io::UnixListener;
    /// let name = format!("\0hiver-doc-abstract-{}", std::process::id());
    /// let listener = UnixListener::bind(&name).await?;
    /// assert_eq!(listener.local_addr()?.as_abstract_name(), Some(&name.as_bytes()[1..]));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        addr::local(&self.inner.sock)
    }
}

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
