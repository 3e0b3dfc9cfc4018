//! A listening socket of any family, as `TcpListener` and `UnixListener` share it: listen,
//! and accept on every driver.
//!
//! On io_uring, one multishot accept keeps taking connections into the listener's queue
//! while anyone accepts: a connection accepted for an `accept` future that was dropped is
//! returned by the next `accept` (cancel-safe, as on the readiness drivers).

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::OwnedFd;
#[cfg(target_os = "linux")]
use std::sync::Arc;

use rustix::net::SocketAddrAny;

use crate::driver::readiness::Direction;
use crate::driver::{current_path, IoPath};
use crate::net::socket::{accept_nonblocking, Socket};

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

/// A listening socket and, on io_uring, the queue its multishot accept fills.
pub(crate) struct Listener {
    pub(crate) sock: Socket,
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

/// A connection `accept` took: its socket, and the peer's address when the kernel gave it
/// with the connection (the readiness drivers; io_uring's multishot accept does not).
pub(crate) type Accepted = (Socket, Option<SocketAddrAny>);

impl Listener {
    /// Listens on `sock`, which is bound.
    pub(crate) fn listen(sock: Socket) -> io::Result<Listener> {
        rustix::net::listen(sock.fd(), BACKLOG)?;
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
        Ok(Listener {
            sock,
            #[cfg(target_os = "linux")]
            queue,
        })
    }

    /// Accepts a connection. Cancel-safe: a dropped `accept` loses no connection.
    pub(crate) async fn accept(&self) -> io::Result<Accepted> {
        crate::task::coop::proceed().await;
        match current_path()? {
            #[cfg(target_os = "linux")]
            IoPath::Uring => Ok((Socket::from_fd(self.accept_uring().await?, false), None)),
            IoPath::Readiness => {
                let (fd, addr) = self
                    .sock
                    .ready_io(Direction::Read, || accept_nonblocking(self.sock.fd()))
                    .await?;
                Ok((Socket::from_fd(fd, true), addr))
            }
        }
    }

    #[cfg(target_os = "linux")]
    async fn accept_uring(&self) -> io::Result<OwnedFd> {
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
                Ok(Some(fd)) => return Ok(fd),
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
        let armed = crate::driver::uring_io(|u| {
            ops::accept_multishot(u, fd, entry).map(|ud| (u.remote().clone(), ud))
        });
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
}

/// Stops the multishot accept; the readiness drivers keep no queue (the kernel's backlog
/// is the queue).
#[cfg(target_os = "linux")]
impl Drop for Listener {
    fn drop(&mut self) {
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
