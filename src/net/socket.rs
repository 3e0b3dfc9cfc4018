//! A socket as every driver sees it: its fd, its registration with a readiness driver
//! (made on first use), and the cap on operations in flight on it.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
#[cfg(target_os = "linux")]
use std::os::fd::RawFd;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
#[cfg(target_os = "linux")]
use std::sync::Arc;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use rustix::net::{AddressFamily, SendFlags, SocketAddrAny, SocketFlags, SocketType};

use crate::driver::readiness::{Direction, Registration, ScheduledIo};
#[cfg(target_os = "linux")]
use crate::driver::uring::limit::{max_ops_per_fd, OpLimit, Permit};
use crate::driver::{self, IoPath};
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::sync::wait_set::Waiter;

/// A socket owned by the runtime.
pub(crate) struct Socket {
    fd: Option<OwnedFd>,
    registration: OnceLock<Registration>,
    nonblocking: AtomicBool,
    #[cfg(target_os = "linux")]
    pub(crate) limit: Arc<OpLimit>,
    /// A write-side shutdown waits for the send in flight (io_uring's queued writes).
    #[cfg(target_os = "linux")]
    pub(crate) shutdown_after_send: AtomicBool,
}

impl Socket {
    /// Wraps `fd`, which is non-blocking iff `nonblocking`.
    pub(crate) fn from_fd(fd: OwnedFd, nonblocking: bool) -> Socket {
        Socket {
            fd: Some(fd),
            registration: OnceLock::new(),
            nonblocking: AtomicBool::new(nonblocking),
            #[cfg(target_os = "linux")]
            limit: Arc::new(OpLimit::new()),
            #[cfg(target_os = "linux")]
            shutdown_after_send: AtomicBool::new(false),
        }
    }

    /// A new socket for `addr`'s family, in the mode the current thread's driver wants.
    pub(crate) fn new(addr: &SocketAddr, ty: SocketType) -> io::Result<Socket> {
        let family = if addr.is_ipv4() {
            AddressFamily::INET
        } else {
            AddressFamily::INET6
        };
        Socket::new_in(family, ty)
    }

    /// A new socket of `family`, in the mode the current thread's driver wants.
    pub(crate) fn new_in(family: AddressFamily, ty: SocketType) -> io::Result<Socket> {
        let nonblocking = driver::current_path()? == IoPath::Readiness;
        let fd = new_fd(family, ty, nonblocking)?;
        Ok(Socket::from_fd(fd, nonblocking))
    }

    /// Two sockets connected to each other (`socketpair`, Unix domain), in the mode the
    /// current thread's driver wants.
    pub(crate) fn new_pair(ty: SocketType) -> io::Result<(Socket, Socket)> {
        let nonblocking = driver::current_path()? == IoPath::Readiness;
        let (a, b) = new_pair_fds(ty, nonblocking)?;
        Ok((
            Socket::from_fd(a, nonblocking),
            Socket::from_fd(b, nonblocking),
        ))
    }

    /// Connects to `addr` (any family): a ring operation on io_uring; on a readiness driver
    /// a non-blocking `connect`, waiting for writability when it is in progress (TCP). A
    /// Unix-domain connect completes at once, or fails (`EAGAIN` on Linux when the
    /// listener's backlog is full: no event would say when there is room).
    pub(crate) async fn connect(&self, addr: &SocketAddrAny) -> io::Result<()> {
        match driver::current_path()? {
            #[cfg(target_os = "linux")]
            IoPath::Uring => {
                use crate::driver::uring::ops;
                let (fd, addr) = (self.raw(), hiver_sys::sockaddr::SockAddrBuf::from_any(addr));
                let op = crate::driver::uring_io(|d| ops::connect(d, fd, addr, None))?;
                let done = std::future::poll_fn(|cx| op.poll(cx)).await;
                ops::result(done).map(drop)
            }
            IoPath::Readiness => match rustix::net::connect(self.fd(), addr) {
                Ok(()) => Ok(()),
                Err(rustix::io::Errno::INPROGRESS) => {
                    self.ready_io(Direction::Write, || {
                        if let Some(e) = self.take_error()? {
                            return Err(e);
                        }
                        match rustix::net::getpeername(self.fd()) {
                            Ok(_) => Ok(()),
                            Err(rustix::io::Errno::NOTCONN) => {
                                Err(io::ErrorKind::WouldBlock.into())
                            }
                            Err(e) => Err(e.into()),
                        }
                    })
                    .await
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_ref().expect("fd present until drop").as_fd()
    }

    #[cfg(target_os = "linux")]
    pub(crate) fn raw(&self) -> RawFd {
        self.fd().as_raw_fd()
    }

    /// The readiness registration, made with the current thread's driver on first use;
    /// the socket is switched to non-blocking mode first if it is not.
    pub(crate) fn scheduled_io(&self) -> io::Result<&ScheduledIo> {
        if let Some(r) = self.registration.get() {
            return Ok(&r.io);
        }
        if !self.nonblocking.load(Ordering::Relaxed) {
            rustix::io::ioctl_fionbio(self.fd(), true)?;
            self.nonblocking.store(true, Ordering::Relaxed);
        }
        let reg = driver::with_current(|d| match d.as_readiness() {
            Some(r) => r.register(self.fd()),
            None => Err(io::Error::other(
                "socket used on an io_uring thread after a readiness thread",
            )),
        })??;
        // Two threads registering at once: the loser's registration is dropped, and its
        // poller entry removed before anyone waits on it.
        if let Err(reg) = self.registration.set(reg) {
            reg.deregister(self.fd());
        }
        Ok(&self.registration.get().expect("set above").io)
    }

    /// Switches the socket to blocking mode for io_uring (a non-blocking socket makes some
    /// kernels answer `EAGAIN` instead of waiting).
    #[cfg(target_os = "linux")]
    pub(crate) fn make_blocking(&self) -> io::Result<()> {
        if self.nonblocking.swap(false, Ordering::Relaxed) {
            rustix::io::ioctl_fionbio(self.fd(), false)?;
        }
        Ok(())
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for `dir` readiness
    /// between tries.
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_ready_op(dir, waiter, cx, op, |_| false)
    }

    /// As [`poll_io`](Self::poll_io) for a stream's read or write of `want` bytes: a
    /// transfer shorter than asked means the socket's buffer ran empty (or full), so the
    /// readiness is dropped at once (as mio does) instead of being found out by one more
    /// syscall answering `EAGAIN`. An event that came meanwhile keeps it (the tick).
    pub(crate) fn poll_stream_io(
        &self,
        dir: Direction,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
        want: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_ready_op(dir, waiter, cx, op, |&n| n > 0 && n < want)
    }

    /// The readiness loop of both: `drained` says whether a result used up the readiness.
    fn poll_ready_op<R>(
        &self,
        dir: Direction,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let io = match self.scheduled_io() {
            Ok(io) => io,
            Err(e) => return Poll::Ready(Err(e)),
        };
        loop {
            let ready = match io.poll_ready(dir, waiter, cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => io.clear(dir, ready),
                Ok(r) => {
                    if drained(&r) {
                        io.clear_drained(dir, ready);
                    }
                    return Poll::Ready(Ok(r));
                }
                r => return Poll::Ready(r),
            }
        }
    }

    /// Runs `op` until it does not return `WouldBlock` (readiness drivers), with a waiter
    /// of its own: any number of these may wait on one socket at once.
    pub(crate) async fn ready_io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        struct Leave<'a>(&'a Socket, Direction, Waiter);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.leave(self.1, &mut self.2);
            }
        }
        let mut guard = Leave(self, dir, Waiter::default());
        std::future::poll_fn(|cx| self.poll_io(dir, &mut guard.2, cx, &mut op)).await
    }

    /// A place under this socket's `max_ops_per_fd` (io_uring operations).
    #[cfg(target_os = "linux")]
    pub(crate) async fn permit(&self) -> Permit {
        struct Cancel<'a>(&'a OpLimit, Waiter);
        impl Drop for Cancel<'_> {
            fn drop(&mut self) {
                self.0.cancel(&mut self.1);
            }
        }
        let max = max_ops_per_fd();
        let mut guard = Cancel(&self.limit, Waiter::default());
        std::future::poll_fn(|cx| self.limit.poll_acquire(max, &mut guard.1, cx)).await
    }

    /// Leaves the waiters of `dir` (a future waiting on it was dropped).
    pub(crate) fn leave(&self, dir: Direction, waiter: &mut Waiter) {
        if let Some(r) = self.registration.get() {
            r.io.leave(dir, waiter);
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        to_std(self.local_name()?)
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self.peer_name()? {
            Some(a) => to_std(a),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "socket has no peer address",
            )),
        }
    }

    /// `getsockname(2)`, any family.
    pub(crate) fn local_name(&self) -> io::Result<SocketAddrAny> {
        Ok(rustix::net::getsockname(self.fd())?)
    }

    /// `getpeername(2)`, any family: `None` when the kernel reports no address (an
    /// unnamed Unix-domain peer on some kernels); `NotConnected` without a peer.
    pub(crate) fn peer_name(&self) -> io::Result<Option<SocketAddrAny>> {
        Ok(rustix::net::getpeername(self.fd())?)
    }

    /// `shutdown(2)`.
    pub(crate) fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        let how = match how {
            std::net::Shutdown::Read => rustix::net::Shutdown::Read,
            std::net::Shutdown::Write => rustix::net::Shutdown::Write,
            std::net::Shutdown::Both => rustix::net::Shutdown::Both,
        };
        Ok(rustix::net::shutdown(self.fd(), how)?)
    }

    /// The pending socket error (`SO_ERROR`), taken.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(rustix::net::sockopt::socket_error(self.fd())?
            .err()
            .map(io::Error::from))
    }
}

#[cfg(target_os = "linux")]
impl crate::driver::uring::ops::AfterSend for Socket {
    fn after_send(&self) {
        if self.shutdown_after_send.swap(false, Ordering::SeqCst) {
            if let Err(e) = self.shutdown(std::net::Shutdown::Write) {
                tracing::debug!(error = %e, "deferred write shutdown failed");
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let Some(fd) = self.fd.take() else { return };
        if let Some(r) = self.registration.get() {
            r.deregister(fd.as_fd());
        }
        #[cfg(target_os = "linux")]
        {
            // On io_uring, close through the ring: after any operation on this fd still
            // waiting in the SQ, so the number is not reused under it.
            if let Some(fd) = driver::with_uring(|d| d.close(fd)).and_then(Result::err) {
                drop(fd);
            }
            return;
        }
        #[allow(unreachable_code)]
        drop(fd);
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("fd", &self.fd.as_ref().map(AsRawFd::as_raw_fd))
            .finish_non_exhaustive()
    }
}

/// Flags of every send: `MSG_NOSIGNAL` (a send to a closed peer is `EPIPE`, never
/// `SIGPIPE`); Apple has no such flag, and its sockets get `SO_NOSIGPIPE` instead.
#[cfg(not(target_vendor = "apple"))]
pub(crate) const SEND_FLAGS: SendFlags = SendFlags::NOSIGNAL;
/// Flags of every send (Apple: `SO_NOSIGPIPE` is set on each socket instead).
#[cfg(target_vendor = "apple")]
pub(crate) const SEND_FLAGS: SendFlags = SendFlags::empty();

/// A new close-on-exec socket, non-blocking if asked.
fn new_fd(family: AddressFamily, ty: SocketType, nonblocking: bool) -> io::Result<OwnedFd> {
    #[cfg(not(target_vendor = "apple"))]
    {
        let mut flags = SocketFlags::CLOEXEC;
        if nonblocking {
            flags |= SocketFlags::NONBLOCK;
        }
        Ok(rustix::net::socket_with(family, ty, flags, None)?)
    }
    #[cfg(target_vendor = "apple")]
    {
        let fd = rustix::net::socket_with(family, ty, SocketFlags::empty(), None)?;
        apple_setup(&fd, nonblocking)?;
        Ok(fd)
    }
}

/// Two connected close-on-exec Unix-domain sockets, non-blocking if asked.
fn new_pair_fds(ty: SocketType, nonblocking: bool) -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(not(target_vendor = "apple"))]
    {
        let mut flags = SocketFlags::CLOEXEC;
        if nonblocking {
            flags |= SocketFlags::NONBLOCK;
        }
        Ok(rustix::net::socketpair(
            AddressFamily::UNIX,
            ty,
            flags,
            None,
        )?)
    }
    #[cfg(target_vendor = "apple")]
    {
        let (a, b) = rustix::net::socketpair(AddressFamily::UNIX, ty, SocketFlags::empty(), None)?;
        apple_setup(&a, nonblocking)?;
        apple_setup(&b, nonblocking)?;
        Ok((a, b))
    }
}

/// Apple sockets: close-on-exec, non-blocking and no-SIGPIPE by separate calls.
#[cfg(target_vendor = "apple")]
fn apple_setup(fd: &OwnedFd, nonblocking: bool) -> io::Result<()> {
    rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC)?;
    if nonblocking {
        rustix::io::ioctl_fionbio(fd, true)?;
    }
    rustix::net::sockopt::set_socket_nosigpipe(fd, true)?;
    Ok(())
}

/// Accepts a connection on a non-blocking listener: a close-on-exec, non-blocking socket
/// and the peer's address.
pub(crate) fn accept_nonblocking(
    listener: BorrowedFd<'_>,
) -> io::Result<(OwnedFd, Option<SocketAddrAny>)> {
    #[cfg(not(target_vendor = "apple"))]
    {
        Ok(rustix::net::acceptfrom_with(
            listener,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        )?)
    }
    #[cfg(target_vendor = "apple")]
    {
        let (fd, addr) = rustix::net::acceptfrom(listener)?;
        apple_setup(&fd, true)?;
        Ok((fd, addr))
    }
}

/// `e` with `what` (the call and its address) before the reason, its kind kept.
pub(crate) fn with_context(e: impl Into<io::Error>, what: impl std::fmt::Display) -> io::Error {
    let e = e.into();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// `SocketAddrAny` to std's address; an error for a family that is not IP.
pub(crate) fn to_std(a: SocketAddrAny) -> io::Result<SocketAddr> {
    SocketAddr::try_from(a).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "socket address is not an IPv4/IPv6 address",
        )
    })
}

/// Resolves `addr` (std's resolver: names are looked up with a blocking call, literal
/// addresses are parsed without one).
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

/// Tries `f` on each address in turn: the first success, or the last error.
pub(crate) async fn each_addr<T, F, Fut>(addr: impl ToSocketAddrs, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr)? {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}
