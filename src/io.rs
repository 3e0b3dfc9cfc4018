//! Network I/O, the guide's `hiver_runtime::io`: [`TcpListener`], [`TcpStream`] and
//! [`UdpSocket`]; and the Unix-domain [`UnixListener`], [`UnixStream`] and
//! [`UnixDatagram`], with the same methods (paths for addresses, std's
//! [`std::os::unix::net::SocketAddr`] for what the kernel reports). Both stream types split
//! into the same borrowed and owned halves. Everything works on every driver.
//!
//! Methods are inherent: `stream.read(&mut buf).await` needs no trait import.
//!
//! # Cancel safety
//!
//! Every read and accept is cancel-safe, including under io_uring: see
//! [`docs::cancel_safety`](crate::docs::cancel_safety) for the table, method by method.

pub use crate::net::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use crate::net::tcp::listener::TcpListener;
pub use crate::net::tcp::stream::TcpStream;
pub use crate::net::udp::UdpSocket;
pub use crate::net::unix::datagram::UnixDatagram;
pub use crate::net::unix::listener::UnixListener;
pub use crate::net::unix::stream::UnixStream;
pub use std::net::Shutdown;
