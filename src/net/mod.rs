//! Sockets on every driver, public as [`crate::io`] (the guide's path): TCP, UDP and Unix
//! domain. What the families share (a listener's accept, a datagram socket's send and
//! receive, a stream's reader, writer and halves) is written once, over `Socket`.
//!
//! One type per socket kind works on whichever driver the current thread runs: on io_uring
//! every accept, connect, receive and send is a ring operation (receives land in a
//! provided-buffer ring and are copied out, so the kernel never writes into the caller's
//! memory); on epoll and kqueue the socket is non-blocking and registered edge-triggered
//! with the driver of the thread that first uses it.

pub(crate) mod datagram;
pub(crate) mod listener;
pub(crate) mod socket;
pub(crate) mod split;
pub(crate) mod stream;
pub(crate) mod tcp;
pub(crate) mod udp;
pub(crate) mod unix;
