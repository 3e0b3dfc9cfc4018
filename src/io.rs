//! Network I/O, the guide's `hiver_runtime::io`: [`TcpListener`], [`TcpStream`] (with its
//! borrowed and owned halves) and [`UdpSocket`], on every driver.
//!
//! Methods are inherent: `stream.read(&mut buf).await` needs no trait import.
//!
//! # Cancel safety
//!
//! Every read and accept is cancel-safe, including under io_uring: see
//! [`docs::cancel_safety`](crate::docs::cancel_safety) for the table, method by method.

pub use crate::net::tcp::listener::TcpListener;
pub use crate::net::tcp::split::{
    OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf,
};
pub use crate::net::tcp::stream::TcpStream;
pub use crate::net::udp::UdpSocket;
pub use std::net::Shutdown;
