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
//! | method | if its future is dropped |
//! |---|---|
//! | `TcpListener::accept`, `UnixListener::accept` | no connection is lost: one accepted meanwhile is returned by the next call |
//! | `TcpStream::read`, `UnixStream::read` (and `read_vectored`, halves) | no byte is lost: bytes received meanwhile are returned by the next read |
//! | `read_exact` | bytes already copied into the buffer are lost to the caller (as tokio's) |
//! | `TcpStream::write`, `UnixStream::write` | a write that started its send still sends all of it (io_uring; `flush` reports its outcome); on epoll it sent nothing or completed |
//! | `write_all` | a prefix of the buffer may have been sent (as tokio's) |
//! | `UdpSocket::recv_from`, `UnixDatagram::recv_from`, `recv` | no datagram is lost: one received meanwhile is returned by the next call |
//! | `send_to`, `send` (datagrams) | the datagram may or may not have been sent |
//! | `TcpStream::connect`, `UnixStream::connect` | the connection attempt is cancelled and its socket closed |

pub use crate::net::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use crate::net::tcp::listener::TcpListener;
pub use crate::net::tcp::stream::TcpStream;
pub use crate::net::udp::UdpSocket;
pub use crate::net::unix::datagram::UnixDatagram;
pub use crate::net::unix::listener::UnixListener;
pub use crate::net::unix::stream::UnixStream;
pub use std::net::Shutdown;
