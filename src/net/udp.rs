//! `UdpSocket`: datagrams on every driver.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
#[cfg(target_os = "linux")]
use std::task::Poll;

use rustix::net::{RecvFlags, SocketType};

use crate::driver::readiness::Direction;
use crate::driver::{current_path, IoPath};
use crate::net::socket::{each_addr, resolve, to_std, Socket, SEND_FLAGS};

#[cfg(target_os = "linux")]
use crate::channel::{unbounded, Receiver, Sender};
#[cfg(target_os = "linux")]
use crate::driver::uring::ops::{self, Kept};

/// A UDP socket.
///
/// A datagram longer than the buffer given to `recv_from` is truncated, as the OS does.
/// `recv_from` is cancel-safe: a datagram the kernel delivered for a dropped call is
/// returned by the next one.
///
/// ```no_run
/// use hiver_runtime::io::UdpSocket;
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let socket = UdpSocket::bind("127.0.0.1:0").await?;
/// socket.send_to(b"Hello, UDP!", "127.0.0.1:8080").await?;
/// let mut buf = [0u8; 1024];
/// let (n, addr) = socket.recv_from(&mut buf).await?;
/// println!("Received from {}: {}", addr, String::from_utf8_lossy(&buf[..n]));
/// # Ok::<_, std::io::Error>(()) })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    sock: Socket,
    #[cfg(target_os = "linux")]
    kept: (Sender<Kept>, Receiver<Kept>),
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
                .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("bind {a}: {e}")))?;
            Ok(UdpSocket {
                sock,
                #[cfg(target_os = "linux")]
                kept: unbounded(),
            })
        })
        .await
    }

    /// Sets the default peer: `send` goes there, and only its datagrams are received.
    ///
    /// # Errors
    ///
    /// Resolution failures; the last address's `connect` error.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| async move {
            Ok(rustix::net::connect(self.sock.fd(), &a)?)
        })
        .await
    }

    /// Sends `buf` as one datagram to `target` (its first resolved address).
    ///
    /// # Errors
    ///
    /// Resolution failures; the kernel's (`EMSGSIZE` for a datagram too long, ...).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = resolve(target)?[0];
        self.send_inner(buf, Some(addr)).await
    }

    /// Sends `buf` to the connected peer.
    ///
    /// # Errors
    ///
    /// Without [`connect`](Self::connect), the kernel's `EDESTADDRREQ` ("destination
    /// address required"); the kernel's error otherwise.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.send_inner(buf, None).await
    }

    async fn send_inner(&self, buf: &[u8], addr: Option<SocketAddr>) -> io::Result<usize> {
        crate::task::coop::proceed().await;
        match current_path()? {
            #[cfg(target_os = "linux")]
            IoPath::Uring => {
                let permit = self.sock.permit().await;
                let fd = self.sock.raw();
                let op = crate::driver::uring_io(|d| {
                    ops::send_msg(d, fd, buf.to_vec(), addr.as_ref(), Some(permit))
                })?;
                let done = std::future::poll_fn(|cx| op.poll(cx)).await;
                ops::result(done)
            }
            IoPath::Readiness => {
                self.sock
                    .ready_io(Direction::Write, || {
                        match &addr {
                            Some(a) => rustix::net::sendto(self.sock.fd(), buf, SEND_FLAGS, a),
                            None => rustix::net::send(self.sock.fd(), buf, SEND_FLAGS),
                        }
                        .map_err(Into::into)
                    })
                    .await
            }
        }
    }

    /// Receives one datagram into `buf`: its length (at most `buf.len()`: the rest of a
    /// longer datagram is discarded) and its source.
    ///
    /// # Errors
    ///
    /// The kernel's (`ConnectionRefused` after an ICMP port-unreachable on a connected
    /// socket, ...).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        crate::task::coop::proceed().await;
        match current_path()? {
            #[cfg(target_os = "linux")]
            IoPath::Uring => {
                if let Some(r) = self.take_kept(buf) {
                    return r;
                }
                let permit = self.sock.permit().await;
                if let Some(r) = self.take_kept(buf) {
                    return r;
                }
                let fd = self.sock.raw();
                let keep = self.kept.0.clone();
                let op = crate::driver::uring_io(|d| {
                    ops::recv_msg(d, fd, buf.len(), keep, Some(permit))
                })?;
                // Wait for our receive or for a datagram that a dropped call's receive got
                // meanwhile, whichever comes first. The older one goes first: a kept
                // datagram wins, and our own (if it came too) is then kept in turn when
                // `op` is dropped untaken.
                let mut kept = std::pin::pin!(self.kept.1.recv());
                let mine = std::future::poll_fn(|cx| {
                    if let Poll::Ready(Ok(k)) = std::future::Future::poll(kept.as_mut(), cx) {
                        return Poll::Ready(Err(k));
                    }
                    op.poll(cx).map(Ok)
                })
                .await;
                let done = match mine {
                    Err(k) => return deliver_kept(k, buf),
                    Ok(done) => done,
                };
                if let Some(r) = self.take_kept(buf) {
                    return r;
                }
                let n = ops::result(done)?;
                op.with_payload(|m| {
                    m.taken();
                    m.finish_recv(n);
                    let n = n.min(buf.len()).min(m.data.len());
                    buf[..n].copy_from_slice(&m.data[..n]);
                    let addr = m.addr.to_std().ok_or_else(no_source)?;
                    Ok((n, addr))
                })
            }
            IoPath::Readiness => {
                let (n, addr) = self
                    .sock
                    .ready_io(Direction::Read, || {
                        rustix::net::recvfrom(self.sock.fd(), &mut *buf, RecvFlags::empty())
                            .map(|(n, _, a)| (n, a))
                            .map_err(Into::into)
                    })
                    .await?;
                Ok((n, to_std(addr.ok_or_else(no_source)?)?))
            }
        }
    }

    /// Receives one datagram from the connected peer into `buf`.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    #[cfg(target_os = "linux")]
    fn take_kept(&self, buf: &mut [u8]) -> Option<io::Result<(usize, SocketAddr)>> {
        self.kept.1.try_recv().ok().map(|k| deliver_kept(k, buf))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname`'s.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](Self::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.peer_addr()
    }

    /// Allows sending to broadcast addresses (`SO_BROADCAST`).
    ///
    /// # Errors
    ///
    /// `setsockopt`'s.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_socket_broadcast(
            self.sock.fd(),
            on,
        )?)
    }
}

/// Copies a kept datagram out (truncated to `buf`, as the OS would have).
#[cfg(target_os = "linux")]
fn deliver_kept(k: Kept, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    let (data, addr, _) = k;
    let n = data.len().min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    addr.map(|a| (n, a)).ok_or_else(no_source)
}

fn no_source() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "datagram without an IPv4/IPv6 source address",
    )
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
