//! `TcpListener`: bind, accept.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
#[cfg(target_os = "linux")]
use std::sync::Arc;

use rustix::net::SocketType;

use super::stream::TcpStream;
use crate::driver::readiness::Direction;
use crate::driver::{current_path, IoPath};
use crate::net::socket::{accept_nonblocking, each_addr, to_std, Socket};

#[cfg(target_os = "linux")]
use crate::channel::{unbounded, Receiver, Sender};
#[cfg(target_os = "linux")]
use crate::driver::uring::{
    accept::{AcceptEvent, MultishotAccept},
    op::Multishot,
    ops, Remote,
};

/// Connections waiting in the kernel before `accept` takes them.
const BACKLOG: i32 = 1024;

/// A TCP socket listening for connections.
///
/// On io_uring, one multishot accept keeps taking connections into the listener's queue
/// while anyone accepts: a connection accepted for an `accept` future that was dropped is
/// returned by the next `accept` (cancel-safe, as on the readiness drivers).
///
/// ```no_run
/// use hiver_runtime::{Runtime, io::TcpListener, spawn};
/// let mut runtime = Runtime::new()?;
/// runtime.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:8080").await?;
///     loop {
///         let (mut stream, addr) = listener.accept().await?;
///         spawn(async move {
///             let mut buf = [0u8; 1024];
///             loop {
///                 let n = stream.read(&mut buf).await?;
///                 if n == 0 { break; }
///                 stream.write_all(&buf[..n]).await?;
///             }
///             Ok::<_, std::io::Error>(())
///         });
///     }
///     # #[allow(unreachable_code)]
///     # Ok::<_, std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    sock: Socket,
    #[cfg(target_os = "linux")]
    queue: AcceptQueue,
}

#[cfg(target_os = "linux")]
struct AcceptQueue {
    events: Receiver<AcceptEvent>,
    sender: Sender<AcceptEvent>,
    armed: Arc<Multishot>,
    /// Where the multishot is armed (to cancel it when the listener goes).
    at: std::sync::Mutex<Option<(Arc<Remote>, u64)>>,
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
            .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("bind {addr}: {e}")))?;
        rustix::net::listen(sock.fd(), BACKLOG)?;
        Ok(TcpListener::from_socket(sock))
    }

    fn from_socket(sock: Socket) -> TcpListener {
        #[cfg(target_os = "linux")]
        let queue = {
            let (sender, events) = unbounded();
            AcceptQueue {
                events,
                sender,
                armed: Arc::new(Multishot::new()),
                at: std::sync::Mutex::new(None),
            }
        };
        TcpListener {
            sock,
            #[cfg(target_os = "linux")]
            queue,
        }
    }

    /// Accepts a connection: the stream and the peer's address. Cancel-safe: a dropped
    /// `accept` loses no connection.
    ///
    /// # Errors
    ///
    /// The kernel's accept error (`EMFILE` when out of descriptors, ...); the next call
    /// tries again.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        crate::task::coop::proceed().await;
        match current_path()? {
            #[cfg(target_os = "linux")]
            IoPath::Uring => self.accept_uring().await,
            IoPath::Readiness => {
                let (fd, addr) = self
                    .sock
                    .ready_io(Direction::Read, || accept_nonblocking(self.sock.fd()))
                    .await?;
                let sock = Socket::from_fd(fd, true);
                let addr = match addr {
                    Some(a) => to_std(a)?,
                    None => sock.peer_addr()?,
                };
                Ok((TcpStream::from_socket(sock), addr))
            }
        }
    }

    #[cfg(target_os = "linux")]
    async fn accept_uring(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let q = &self.queue;
        loop {
            let event = match q.events.try_recv() {
                Ok(ev) => ev,
                Err(_) => {
                    self.arm()?;
                    match q.events.recv().await {
                        Ok(ev) => ev,
                        Err(_) => return Err(io::Error::other("listener queue closed")),
                    }
                }
            };
            match event {
                Ok(Some(fd)) => {
                    let sock = Socket::from_fd(fd, false);
                    let addr = sock.peer_addr()?;
                    return Ok((TcpStream::from_socket(sock), addr));
                }
                // The multishot ended: arm it again and wait.
                Ok(None) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Arms the multishot accept on this thread's ring unless it is armed somewhere.
    #[cfg(target_os = "linux")]
    fn arm(&self) -> io::Result<()> {
        let q = &self.queue;
        if !q.armed.try_arm() {
            return Ok(());
        }
        let entry = Arc::new(MultishotAccept {
            events: q.sender.clone(),
            armed: q.armed.clone(),
        });
        let fd = self.sock.raw();
        let armed = crate::driver::with_current(|d| match d.as_uring() {
            Some(u) => ops::accept_multishot(u, fd, entry).map(|ud| (u.remote().clone(), ud)),
            None => Err(io::Error::other("not an io_uring thread")),
        })
        .and_then(|r| r);
        match armed {
            Ok(at) => {
                *q.at.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
                Ok(())
            }
            Err(e) => {
                q.armed.ended();
                Err(e)
            }
        }
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        {
            let at = self
                .queue
                .at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some((remote, user_data)) = at {
                if self.queue.armed.is_armed() {
                    remote.cancel_from_anywhere(user_data);
                }
            }
            // Connections queued and not accepted are closed with the queue.
            self.queue.events.close();
        }
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
