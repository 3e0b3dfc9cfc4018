//! A datagram socket of any family, as `UdpSocket` and `UnixDatagram` share it: send a
//! datagram, receive one with its source, on every driver.
//!
//! `recv_from` is cancel-safe: on io_uring a receive already in the kernel when its future
//! is dropped completes into the socket's `kept` queue, and the next `recv_from` returns
//! that datagram first.
//!
//! **Unix-domain sends on io_uring.** Linux copies a Unix datagram before it finds the
//! receiver's queue full and answers `EAGAIN`; the ring then retries the send with the data
//! already consumed, and an empty datagram goes out in its place (seen on 6.18). So these
//! sends go to the ring with `MSG_DONTWAIT` (a full queue is an `EAGAIN` completion,
//! nothing sent), and the rare one that would block is made as a blocking `send` on the
//! blocking pool, where the kernel waits for room correctly.

use std::io;
use std::net::Shutdown;
#[cfg(target_os = "linux")]
use std::task::Poll;

use hiver_sys::sockaddr::SockAddrBuf;
use rustix::io::Errno;
use rustix::net::{RecvFlags, SocketAddrAny};

use crate::driver::readiness::Direction;
use crate::driver::{current_path, IoPath};
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::net::socket::{Socket, SEND_FLAGS};

#[cfg(target_os = "linux")]
use crate::channel::{unbounded, Receiver, Sender};
#[cfg(target_os = "linux")]
use crate::driver::uring::ops::{self, Kept};

/// A datagram socket: its fd, and the datagrams received for dropped `recv_from` calls.
pub(crate) struct Datagram {
    pub(crate) sock: Socket,
    #[cfg(target_os = "linux")]
    kept: (Sender<Kept>, Receiver<Kept>),
    /// Shut for reading: a non-blocking receive with nothing queued is then the end (0
    /// bytes), as a blocking one and io_uring's are; the kernel answers it `EAGAIN`.
    read_shut: AtomicBool,
    /// A Unix-domain socket: its sends on io_uring must not wait in the ring (module docs).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    unix: bool,
}

impl Datagram {
    /// An IP (UDP) datagram socket.
    pub(crate) fn new(sock: Socket) -> Datagram {
        Datagram::with_family(sock, false)
    }

    /// A Unix-domain datagram socket.
    pub(crate) fn new_unix(sock: Socket) -> Datagram {
        Datagram::with_family(sock, true)
    }

    fn with_family(sock: Socket, unix: bool) -> Datagram {
        Datagram {
            sock,
            #[cfg(target_os = "linux")]
            kept: unbounded(),
            read_shut: AtomicBool::new(false),
            unix,
        }
    }

    /// `shutdown(2)`; remembers a read shutdown (see `read_shut`).
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Write {
            self.read_shut.store(true, Ordering::Relaxed);
        }
        self.sock.shutdown(how)
    }

    /// Sends `buf` as one datagram to `addr`, or to the connected peer when `None`.
    pub(crate) async fn send(&self, buf: &[u8], addr: Option<&SocketAddrAny>) -> io::Result<usize> {
        crate::task::coop::proceed().await;
        match current_path()? {
            #[cfg(target_os = "linux")]
            IoPath::Uring => {
                let permit = self.sock.permit().await;
                let (fd, name) = (self.sock.raw(), addr.map(SockAddrBuf::from_any));
                let op = crate::driver::uring_io(|d| {
                    ops::send_msg(d, fd, buf.to_vec(), name, self.unix, Some(permit))
                })?;
                let done = std::future::poll_fn(|cx| op.poll(cx)).await;
                match ops::result(done) {
                    Err(e)
                        if self.unix && e.raw_os_error() == Some(Errno::AGAIN.raw_os_error()) =>
                    {
                        drop(op);
                        self.send_blocking(buf, addr).await
                    }
                    r => r,
                }
            }
            IoPath::Readiness => {
                self.sock
                    .ready_io(Direction::Write, || {
                        match addr {
                            Some(a) => rustix::net::sendto(self.sock.fd(), buf, SEND_FLAGS, a),
                            None => rustix::net::send(self.sock.fd(), buf, SEND_FLAGS),
                        }
                        .map_err(Into::into)
                    })
                    .await
            }
        }
    }

    /// A send that would block, made as a blocking call on the blocking pool (io_uring,
    /// Unix domain: see the module docs). The call has its own descriptor (a `dup`), so a
    /// dropped future leaves it to finish: the datagram may or may not be sent then.
    #[cfg(target_os = "linux")]
    async fn send_blocking(&self, buf: &[u8], addr: Option<&SocketAddrAny>) -> io::Result<usize> {
        // A socket first used by a readiness thread is non-blocking: the call must wait.
        self.sock.make_blocking()?;
        let fd = self.sock.fd().try_clone_to_owned()?;
        let (data, addr) = (buf.to_vec(), addr.cloned());
        let sent = crate::runtime::spawn_blocking(move || match &addr {
            Some(a) => rustix::net::sendto(&fd, &data, SEND_FLAGS, a),
            None => rustix::net::send(&fd, &data, SEND_FLAGS),
        });
        match sent.await {
            Ok(r) => r.map_err(Into::into),
            Err(e) => Err(io::Error::other(format!("blocking send: {e}"))),
        }
    }

    /// Receives one datagram into `buf`: its length (at most `buf.len()`: the rest of a
    /// longer datagram is discarded) and its source (length 0 when the kernel gave none:
    /// an unnamed Unix-domain sender).
    pub(crate) async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SockAddrBuf)> {
        crate::task::coop::proceed().await;
        match current_path()? {
            #[cfg(target_os = "linux")]
            IoPath::Uring => self.recv_uring(buf).await,
            IoPath::Readiness => {
                let (n, addr) = self
                    .sock
                    .ready_io(Direction::Read, || {
                        match rustix::net::recvfrom(self.sock.fd(), &mut *buf, RecvFlags::empty()) {
                            Ok((n, _, a)) => Ok((n, a)),
                            Err(Errno::AGAIN) if self.read_shut.load(Ordering::Relaxed) => {
                                Ok((0, None))
                            }
                            Err(e) => Err(e.into()),
                        }
                    })
                    .await?;
                let addr = addr.map_or_else(SockAddrBuf::none, |a| SockAddrBuf::from_any(&a));
                Ok((n, addr))
            }
        }
    }

    #[cfg(target_os = "linux")]
    async fn recv_uring(&self, buf: &mut [u8]) -> io::Result<(usize, SockAddrBuf)> {
        if let Some(r) = self.take_kept(buf) {
            return Ok(r);
        }
        let permit = self.sock.permit().await;
        if let Some(r) = self.take_kept(buf) {
            return Ok(r);
        }
        let fd = self.sock.raw();
        let keep = self.kept.0.clone();
        let op = crate::driver::uring_io(|d| ops::recv_msg(d, fd, buf.len(), keep, Some(permit)))?;
        // Wait for our receive or for a datagram that a dropped call's receive got
        // meanwhile, whichever comes first. The older one goes first: a kept datagram wins,
        // and our own (if it came too) is then kept in turn when `op` is dropped untaken.
        let mut kept = std::pin::pin!(self.kept.1.recv());
        let mine = std::future::poll_fn(|cx| {
            if let Poll::Ready(Ok(k)) = std::future::Future::poll(kept.as_mut(), cx) {
                return Poll::Ready(Err(k));
            }
            op.poll(cx).map(Ok)
        })
        .await;
        let done = match mine {
            Err(k) => return Ok(deliver_kept(k, buf)),
            Ok(done) => done,
        };
        if let Some(r) = self.take_kept(buf) {
            return Ok(r);
        }
        let n = ops::result(done)?;
        Ok(op.with_payload(|m| {
            m.taken();
            m.finish_recv(n);
            let n = n.min(buf.len()).min(m.data.len());
            buf[..n].copy_from_slice(&m.data[..n]);
            (n, m.addr.clone())
        }))
    }

    #[cfg(target_os = "linux")]
    fn take_kept(&self, buf: &mut [u8]) -> Option<(usize, SockAddrBuf)> {
        self.kept.1.try_recv().ok().map(|k| deliver_kept(k, buf))
    }

    /// Connects to `addr`: `send` goes there, and only its datagrams are received.
    pub(crate) fn connect(&self, addr: &SocketAddrAny) -> io::Result<()> {
        Ok(rustix::net::connect(self.sock.fd(), addr)?)
    }
}

/// Copies a kept datagram out (truncated to `buf`, as the OS would have).
#[cfg(target_os = "linux")]
fn deliver_kept(k: Kept, buf: &mut [u8]) -> (usize, SockAddrBuf) {
    let (data, addr, _) = k;
    let n = data.len().min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    (n, addr)
}
