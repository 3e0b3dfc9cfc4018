//! Network I/O, the guide's `hiver_runtime::io`: [`TcpListener`], [`TcpStream`] (with its
//! borrowed and owned halves) and [`UdpSocket`], on every driver.
//!
//! Methods are inherent: `stream.read(&mut buf).await` needs no trait import.
//!
//! # Cancel safety
//!
//! | method | if its future is dropped |
//! |---|---|
//! | `TcpListener::accept` | no connection is lost: one accepted meanwhile is returned by the next call |
//! | `TcpStream::read` (and `read_vectored`, halves) | no byte is lost: bytes received meanwhile are returned by the next read |
//! | `TcpStream::read_exact` | bytes already copied into the buffer are lost to the caller (as tokio's) |
//! | `TcpStream::write` | a write that started its send still sends all of it (io_uring; `flush` reports its outcome); on epoll it sent nothing or completed |
//! | `TcpStream::write_all` | a prefix of the buffer may have been sent (as tokio's) |
//! | `UdpSocket::recv_from`, `recv` | no datagram is lost: one received meanwhile is returned by the next call |
//! | `UdpSocket::send_to`, `send` | the datagram may or may not have been sent |
//! | `TcpStream::connect` | the connection attempt is cancelled and its socket closed |

pub use crate::net::tcp::listener::TcpListener;
pub use crate::net::tcp::split::{
    OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf,
};
pub use crate::net::tcp::stream::TcpStream;
pub use crate::net::udp::UdpSocket;
pub use std::net::Shutdown;
